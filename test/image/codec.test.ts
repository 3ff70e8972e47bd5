import { describe, expect, it, vi } from 'vitest';
import { ArgumentError, ImageError } from '../../src/errors.js';
import { setDecoderModule, withCodec } from '../../src/image/codec.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';
import { kernelsModule } from '../helpers/wasm.js';

type Crc = { crc32(p: number, n: number): number };

describe('the image decoders\' wasm instance', () => {
  it('turns a trap into an ImageError and starts the next call on a fresh instance', () => {
    setDecoderModule(kernelsModule());
    const before = withCodec('test', (mem) => mem.exports);
    // A read past the end of memory traps.
    expectSqueezeError(thrown(() => withCodec('PNG', (mem) => (mem.exports as unknown as Crc).crc32(mem.exports.memory.buffer.byteLength - 4, 64))), ImageError, 'E_IMAGE_DECODE', /PNG data is corrupt/);
    expect(withCodec('test', (mem) => mem.exports)).not.toBe(before);
  });

  it('keeps its instance between images, but not one grown past 32 MiB', () => {
    setDecoderModule(kernelsModule());
    const first = withCodec('test', (mem) => (mem.alloc(1 << 20), mem.exports));
    expect(withCodec('test', (mem) => mem.exports)).toBe(first);
    withCodec('test', (mem) => mem.alloc(40 << 20));
    const after = withCodec('test', (mem) => mem.exports);
    expect(after).not.toBe(first);
    expect(after.memory.buffer.byteLength).toBeLessThan(32 << 20);
  });

  it('hands out aligned memory from the start on every call, and copies bytes in', () => {
    setDecoderModule(kernelsModule());
    withCodec('test', (mem) => {
      const a = mem.put(Uint8Array.of(1, 2, 3));
      const b = mem.alloc(5);
      expect(a % 16).toBe(0);
      expect(b % 16).toBe(0);
      expect(b).toBeGreaterThanOrEqual(a + 3);
      expect(Array.from(mem.u8(a, 3))).toEqual([1, 2, 3]);
      const crc = (mem.exports as unknown as Crc).crc32(a, 3) >>> 0;
      expect(crc).toBe(0x55bc801d);
    });
    const again = withCodec('test', (mem) => mem.alloc(1));
    expect(again).toBe(withCodec('test', (mem) => mem.alloc(1)));
  });

  it('without a kernels module, says how to provide one', async () => {
    vi.resetModules();
    const fresh = await import('../../src/image/codec.js');
    // A fresh copy of the module graph: its own ArgumentError class, so compare by name and code.
    const e = thrown(() => fresh.withCodec('JPEG', () => 0)) as { constructor: { name: string }; code: string; message: string };
    expect([e.constructor.name, e.code]).toEqual([ArgumentError.name, 'E_NO_DECODER']);
    expect(e.message).toMatch(/setDecoderModule/);
  });
});

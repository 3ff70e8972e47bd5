import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/model/crc32.js';
import { JS_SCAN } from '../../src/model/scan.js';
import { wasmScan } from '../../src/wasm/scan.js';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

describe('weight scans in wasm', () => {
  it('give the CRC-32 of the standard check string and of the empty string', async () => {
    const scan = wasmScan(await freshKernels());
    expect(scan.crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
    expect(scan.crc32(new Uint8Array(0))).toBe(0);
  });

  it('sum |w| exactly beyond 32 bits (a 17 M-weight row of -128), as the overflow check of the loader needs', async () => {
    const scan = wasmScan(await freshKernels());
    const w = new Int8Array(17_000_000).fill(-128);
    w[5] = 127;
    const want = 128 * (17_000_000 - 1) + 127;
    expect(want).toBeGreaterThan(2 ** 31);
    expect(Array.from(scan.absSums(w, 1))).toEqual([want]);
    expect(Array.from(JS_SCAN.absSums(w, 1))).toEqual([want]);
  });

  it('agree with the TypeScript scans on random data of every length and alignment', async () => {
    const scan = wasmScan(await freshKernels());
    const r = rng(11);
    for (let trial = 0; trial < 200; trial++) {
      const channels = randInt(r, 1, 9);
      const per = randInt(r, 1, 70);
      const offset = randInt(r, 0, 15);
      // Mostly zeros in some trials, the extremes -128 and 127 in all.
      const zeros = r() < 0.5 ? 0.8 : 0.1;
      const buffer = new Int8Array(offset + channels * per);
      const w = buffer.subarray(offset);
      for (let i = 0; i < w.length; i++) w[i] = r() < zeros ? 0 : r() < 0.1 ? (r() < 0.5 ? -128 : 127) : randInt(r, -127, 127);
      expect(Array.from(scan.absSums(w, channels))).toEqual(Array.from(JS_SCAN.absSums(w, channels)));
      expect(scan.nonzeros(w)).toBe(JS_SCAN.nonzeros(w));
      const bytes = new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
      expect(scan.crc32(bytes)).toBe(crc32(bytes));
    }
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readNpy, readNpyU8 } from './npy.js';

function npy(descr: string, shape: string, data: Uint8Array, fortran = 'False'): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 255, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}

describe('readNpy', () => {
  it('reads float32 C-order arrays of any rank', () => {
    const values = Float32Array.from([1.5, -2, 3.25, 0, 1e-8, 7]);
    const bytes = new Uint8Array(values.buffer);
    expect(readNpy(npy('<f4', '(2, 3)', bytes))).toEqual({ shape: [2, 3], data: values });
    expect(readNpy(npy('<f4', '(6,)', bytes)).shape).toEqual([6]);
    expect(readNpy(npy('<f4', '()', bytes.subarray(0, 4)))).toEqual({ shape: [], data: Float32Array.from([1.5]) });
  });

  it('refuses other types, Fortran order, bad magic and wrong lengths', () => {
    const four = new Uint8Array(16);
    expect(() => readNpy(npy('<f8', '(2,)', four))).toThrow(/float32/);
    expect(() => readNpy(npy('>f4', '(4,)', four))).toThrow(/little-endian/);
    expect(() => readNpy(npy('<f4', '(2, 2)', four, 'True'))).toThrow(/C-order/);
    expect(() => readNpy(npy('<f4', '(5,)', four))).toThrow(/20 data bytes/);
    expect(() => readNpy(new Uint8Array(20))).toThrow(/magic/);
  });

  it('reads uint8 pixels and refuses other types', () => {
    const px = Uint8Array.from([0, 255, 7, 128, 3, 9]);
    expect(readNpyU8(npy('|u1', '(1, 2, 3)', px))).toEqual({ shape: [1, 2, 3], data: px });
    expect(() => readNpyU8(npy('<f4', '(1,)', new Uint8Array(4)))).toThrow(/uint8/);
    expect(() => readNpyU8(npy('|u1', '(7,)', px))).toThrow(/7 data bytes/);
  });

  it('reads the squeezenet1.1 reference pair', () => {
    const input = readNpy(readFileSync(new URL('../fixtures/reference/input_0.npy', import.meta.url)));
    const output = readNpy(readFileSync(new URL('../fixtures/reference/output_0.npy', import.meta.url)));
    expect(input.shape).toEqual([1, 3, 224, 224]);
    expect(output.shape).toEqual([1, 1000]);
    expect(input.data.every(Number.isFinite)).toBe(true);
  });
});

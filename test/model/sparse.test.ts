import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.js';
import type { DType, Tensor } from '../../src/model/format.js';
import { decodeBitmask, encodeBitmask } from '../../src/model/sparse.js';
import { rng } from '../helpers/wasm.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

/** `n` random elements of `dtype`, each nonzero with probability `density`. */
function randomData(dtype: DType, n: number, density: number, r: () => number): Tensor['data'] {
  const value = (): number => (r() < density ? (dtype === 'f32' ? r() * 2 - 1 || 0.5 : (dtype === 'i8' ? 1 : 1e6) * (r() < 0.5 ? -1 : 1) * (1 + Math.floor(r() * 100))) : 0);
  const values = Array.from({ length: n }, value);
  return dtype === 'f32' ? Float32Array.from(values) : dtype === 'i8' ? Int8Array.from(values) : Int32Array.from(values);
}

const bytesOf = (d: Tensor['data']): Uint8Array => new Uint8Array(d.buffer, d.byteOffset, d.byteLength);

function rejects(blob: Uint8Array, dtype: DType, n: number, message: RegExp): void {
  expectSqueezeError(thrown(() => decodeBitmask(blob, dtype, n, 'tensor "t"')), ModelFormatError, 'E_MODEL_ENCODING', message);
}

describe('bitmask tensor encoding', () => {
  const r = rng(12);
  const sizes = [1, 7, 8, 9, 63, 64, 65, 1001];
  const densities = [0, 0.05, 0.33, 0.9, 1];

  it.each(['f32', 'i8', 'i32'] as const)('round-trips %s tensors of odd sizes, all-zero to all-nonzero, bit for bit', (dtype) => {
    for (const n of sizes) {
      for (const density of densities) {
        const data = randomData(dtype, n, density, r);
        const blob = encodeBitmask(data);
        const stored = Array.from(data).filter((v) => v !== 0).length;
        expect(blob.length).toBe(Math.ceil(n / 8) + stored * data.BYTES_PER_ELEMENT);
        const back = decodeBitmask(blob, dtype, n, 'tensor "t"');
        expect(back.constructor).toBe(data.constructor);
        expect(bytesOf(back)).toEqual(bytesOf(data));
      }
    }
  });

  it('stores every element whose bits are not all zero: -0.0 and denormals survive', () => {
    const data = Float32Array.of(0, -0, 1e-45, 0, -1e-40, 0, 0, 0, 3.5);
    const back = decodeBitmask(encodeBitmask(data), 'f32', data.length, 'tensor "t"');
    expect(bytesOf(back)).toEqual(bytesOf(data));
    expect(Object.is(back[1], -0)).toBe(true);
  });

  it('lays out the mask least significant bit first, then the values in order', () => {
    expect([...encodeBitmask(Int8Array.of(0, 5, 0, 0, 0, 0, 0, 0, -3))]).toEqual([0b10, 0b1, 5, 0xfd]);
  });

  it('rejects a blob cut short or padded anywhere', () => {
    const data = randomData('i32', 37, 0.5, r);
    const blob = encodeBitmask(data);
    for (let cut = 0; cut < blob.length; cut++) rejects(blob.subarray(0, cut), 'i32', 37, /bitmask|blob/);
    const padded = new Uint8Array(blob.length + 4);
    padded.set(blob);
    rejects(padded, 'i32', 37, /marks \d+ stored elements but the blob holds/);
    rejects(padded.subarray(0, blob.length + 1), 'i32', 37, /not a 5-byte bitmask of 37 elements followed by whole i32 values/);
  });

  it('rejects a mask whose set bits do not match the values, or that marks elements past the end', () => {
    const data = randomData('f32', 21, 0.5, r);
    const blob = encodeBitmask(data);
    const flipped = blob.slice();
    flipped[1] ^= 0x04;
    rejects(flipped, 'f32', 21, /marks \d+ stored elements but the blob holds \d+/);
    const past = blob.slice();
    past[2] |= 0x80; // element 23 of 21
    rejects(past, 'f32', 21, /past the tensor's 21/);
  });
});

import { describe, expect, it } from 'vitest';
import { callKernel } from '../../src/wasm/kernels.js';
import { compareVariants as compare, freshKernels, poolParams, windowArgs, randInt } from '../helpers/wasm.js';

describe('uint8 and int16 pooling kernels: SIMD equals scalar reference bit for bit', () => {
  it('max pool', async () => {
    await compare(21, 'u8', (k, r, inp, out, v) => {
      const p = poolParams(r);
      callKernel(k, v === 'simd' ? 'u8_maxpool_simd' : 'u8_maxpool_ref', { ...windowArgs(p, 1), inp, out });
      return (p.OH * p.OW * p.outStride) / 4;
    });
  });
  it('max pool over int16 (the whole int16 range, negative values included)', async () => {
    await compare(26, 'u8', (k, r, inp, out, v) => {
      const p = poolParams(r);
      callKernel(k, v === 'simd' ? 'i16_maxpool_simd' : 'i16_maxpool_ref', { ...windowArgs(p, 2), inp, out });
      return (p.OH * p.OW * p.outStride) / 2;
    });
  });
  it('average pool with rounding, count_include_pad, a zero point and TFLite ties', async () => {
    await compare(22, 'u8', (k, r, inp, out, v) => {
      const p = poolParams(r);
      const countPad = randInt(r, 0, 1);
      const zp = randInt(r, 0, 255);
      const tfl = randInt(r, 0, 1);
      callKernel(k, v === 'simd' ? 'u8_avgpool_simd' : 'u8_avgpool_ref', { ...windowArgs(p, 1), inp, out, pb: p.pb, pr: p.pr, countPad, zp, tfl });
      return (p.OH * p.OW * p.outStride) / 4;
    });
  });
  it('global sum minus zero point (int32 out)', async () => {
    await compare(23, 'u8', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 300), stride = C + randInt(r, 0, 9), zp = randInt(r, 0, 255);
      callKernel(k, v === 'simd' ? 'u8_global_sum_simd' : 'u8_global_sum_ref', { inp, P, C, inStride: stride, zp, out });
      return C * 4;
    });
  });
  it('global sum of int16 values (|q| <= 4095)', async () => {
    await compare(25, 'u8', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 300), stride = (C + randInt(r, 0, 9)) * 2;
      // int16 values derived from the random bytes, the same for both variants.
      const n = 128 << 10;
      const src = new Uint16Array(k.memory.buffer, inp, n);
      const x = new Int16Array(k.memory.buffer, inp + (256 << 10), n);
      for (let i = 0; i < n; i++) x[i] = (src[i] % 8191) - 4095;
      callKernel(k, v === 'simd' ? 'i16_global_sum_simd' : 'i16_global_sum_ref', { inp: inp + (256 << 10), P, C, inStride: stride, out });
      return C * 4;
    });
  });
  it('strided copy with and without a clamp', async () => {
    await compare(24, 'u8', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200);
      const inStride = C + randInt(r, 0, 9), outStride = C + randInt(r, 0, 9);
      callKernel(k, v === 'simd' ? 'u8_copy_simd' : 'u8_copy_ref', { inp, P, C, inStride, out, outStride, lo: randInt(r, 0, 1) * randInt(r, 0, 255) });
      return P * outStride;
    });
  });
  it('strided int16 copy with and without a clamp', async () => {
    await compare(27, 'u8', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200);
      const inStride = (C + randInt(r, 0, 9)) * 2, outStride = (C + randInt(r, 0, 9)) * 2;
      callKernel(k, v === 'simd' ? 'i16_copy_simd' : 'i16_copy_ref', { inp, P, C, inStride, out, outStride, lo: randInt(r, 0, 1) ? 0 : -32768 });
      return P * outStride;
    });
  });
});

describe('int16 max pool and copy', () => {
  it('keep negative maxima and clamp only when asked', async () => {
    const k = await freshKernels(1 << 20);
    const base = k.heap_base();
    // One channel, a 2x2 image, one 2x2 window: the max of four negative values is negative.
    new Int16Array(k.memory.buffer, base, 4).set([-4095, -7, -300, -32768]);
    for (const v of ['simd', 'ref'] as const) {
      callKernel(k, v === 'simd' ? 'i16_maxpool_simd' : 'i16_maxpool_ref', { inp: base, H: 2, W: 2, C: 1, inStride: 2, out: base + 64, OH: 1, OW: 1, outStride: 2, kh: 2, kw: 2, sh: 1, sw: 1, pt: 0, pl: 0 });
      expect(new Int16Array(k.memory.buffer, base + 64, 1)[0]).toBe(-7);
      callKernel(k, v === 'simd' ? 'i16_copy_simd' : 'i16_copy_ref', { inp: base, P: 4, C: 1, inStride: 2, out: base + 128, outStride: 2, lo: -32768 });
      expect([...new Int16Array(k.memory.buffer, base + 128, 4)]).toEqual([-4095, -7, -300, -32768]);
      callKernel(k, v === 'simd' ? 'i16_copy_simd' : 'i16_copy_ref', { inp: base, P: 4, C: 1, inStride: 2, out: base + 128, outStride: 2, lo: 0 });
      expect([...new Int16Array(k.memory.buffer, base + 128, 4)]).toEqual([0, 0, 0, 0]);
    }
  });
});

describe('u8_avgpool rounding', () => {
  it('is exactly floor(sum / n + 1/2), or with tfl TFLite\'s int8 rounding (half away from zero of the sum of q - 128), for window sizes up to 256 pixels', async () => {
    const k = await freshKernels(1 << 20);
    const base = k.heap_base();
    const mem = k.memory.buffer;
    // A 1 x n row of one channel averaged by one 1 x n window: sweep n and the byte values.
    for (let n = 1; n <= 256; n += n < 16 ? 1 : 17) {
      for (const fill of [0, 1, 127, 128, 254, 255]) {
        for (let extra = 0; extra < Math.min(n, 5); extra++) {
          const row = new Uint8Array(mem, base, n).fill(fill);
          for (let i = 0; i < extra; i++) row[i] = Math.min(255, fill + 1);
          const sum = row.reduce((s, v) => s + v, 0);
          const s = sum - 128 * n;
          const tflite = 128 + Math.sign(s) * Math.floor((2 * Math.abs(s) + n) / (2 * n));
          for (const [tfl, expected] of [[0, Math.floor((2 * sum + n) / (2 * n))], [1, tflite]]) {
            for (const f of [k.u8_avgpool_simd, k.u8_avgpool_ref]) {
              f(base, 1, n, 1, 1, base + 4096, 1, 1, 1, 1, n, 1, 1, 0, 0, 0, 0, 0, 0, tfl);
              expect(new Uint8Array(mem, base + 4096, 1)[0]).toBe(expected);
            }
          }
        }
      }
    }
  });
});

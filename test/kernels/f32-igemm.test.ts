import { callKernel } from '../../src/wasm/kernels.js';
import { describe, expect, it } from 'vitest';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

// The SIMD micro-kernel and its scalar reference sum in the same order, so they must agree bit for bit.
describe('f32_igemm_4x8_simd', () => {
  it('equals the scalar reference on random shapes, tails, padding taps and clamps', async () => {
    const k = await freshKernels(8 << 20);
    const r = rng(1);
    for (let trial = 0; trial < 60; trial++) {
      const M = randInt(r, 1, 23);
      const N = randInt(r, 1, 37);
      const taps = randInt(r, 1, 9);
      const K = randInt(r, 1, 41);
      const outStride = (N + randInt(r, 0, 5)) * 4;
      // Unclamped, ReLU, ReLU6-style upper bound, or both.
      const lo = r() < 0.5 ? -Infinity : 0;
      const hi = r() < 0.5 ? Infinity : Math.fround(r());
      const f32 = new Float32Array(k.memory.buffer);
      const u32 = new Uint32Array(k.memory.buffer);
      let top = k.heap_base();
      const take = (bytes: number): number => {
        const p = top;
        top += Math.ceil(bytes / 64) * 64;
        return p;
      };
      const act = take(64 * K * 4);
      const zeros = take(K * 4);
      const blocks = Math.ceil(N / 8);
      const w = take(blocks * (8 + taps * K * 8) * 4);
      const ind = take(Math.ceil(M / 4) * taps * 16);
      const outA = take(M * outStride + 64);
      const outB = take(M * outStride + 64);
      for (let i = 0; i < 64 * K; i++) f32[act / 4 + i] = r() * 2 - 1;
      f32.fill(0, zeros / 4, zeros / 4 + K);
      for (let i = 0; i < blocks * (8 + taps * K * 8); i++) f32[w / 4 + i] = r() * 2 - 1;
      for (let i = 0; i < Math.ceil(M / 4) * taps * 4; i++) {
        u32[ind / 4 + i] = r() < 0.15 ? zeros : act + randInt(r, 0, 63 - 1) * K * 4;
      }
      f32.fill(NaN, outA / 4, (outA + M * outStride) / 4);
      f32.fill(NaN, outB / 4, (outB + M * outStride) / 4);
      const args = { M, N, taps, K, indirection: ind, weights: w, outStride, lo, hi };
      callKernel(k, 'f32_igemm_4x8_simd', { ...args, out: outA });
      callKernel(k, 'f32_igemm_ref', { ...args, out: outB });
      const a = new Float32Array(k.memory.buffer, outA, (M * outStride) / 4);
      const b = new Float32Array(k.memory.buffer, outB, (M * outStride) / 4);
      // Same bits everywhere, including the untouched NaN gaps between pixels of a strided output.
      expect(new Uint32Array(a.buffer, a.byteOffset, a.length)).toEqual(new Uint32Array(b.buffer, b.byteOffset, b.length));
      for (let p = 0; p < M; p++) for (let n = 0; n < N; n++) expect(Number.isNaN(a[(p * outStride) / 4 + n])).toBe(false);
    }
  });
});

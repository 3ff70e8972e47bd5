import { describe, expect, it } from 'vitest';
import { packSparseWeights } from '../../src/runtime/ops/sparse.js';
import { callKernel, type KernelExports } from '../../src/wasm/kernels.js';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

/** A random pruned 1x1 conv: weights [N][C] with each row's density drawn from `density`. */
function problem(r: () => number, density: () => number) {
  const H = randInt(r, 1, 7), W = randInt(r, 1, 9), C = randInt(r, 1, 45), N = randInt(r, 1, 37);
  const w = new Int8Array(N * C);
  for (let n = 0; n < N; n++) {
    const d = density();
    for (let c = 0; c < C; c++) if (r() < d) w[n * C + c] = randInt(r, 1, 127) * (r() < 0.5 ? -1 : 1);
  }
  const bias = Int32Array.from({ length: N }, () => randInt(r, -200000, 200000));
  const mult = Int32Array.from({ length: N }, () => randInt(r, 1 << 24, 2 ** 31 - 1));
  return { H, W, C, N, w, bias, mult };
}

/** Packs the same conv for i8_igemm (taps 1, K = C, zero point folded into the bias), as the planner does. */
function packDense(k: KernelExports, at: number, p: ReturnType<typeof problem>, zIn: number): void {
  const { C, N, w, bias, mult } = p;
  const pairs = (C + 1) >> 1;
  const blockBytes = 64 + pairs * 32;
  const view = new DataView(k.memory.buffer);
  new Uint8Array(k.memory.buffer, at, Math.ceil(N / 8) * blockBytes).fill(0);
  for (let n = 0; n < N; n++) {
    const block = at + Math.floor(n / 8) * blockBytes;
    const lane = n % 8;
    let sum = 0;
    for (let c = 0; c < C; c++) {
      sum += w[n * C + c];
      view.setInt16(block + 64 + (c >> 1) * 32 + (lane >> 2) * 16 + (lane & 3) * 4 + (c & 1) * 2, w[n * C + c], true);
    }
    view.setInt32(block + lane * 4, bias[n] - zIn * sum, true);
    view.setInt32(block + 32 + lane * 4, mult[n], true);
  }
}

/** Random requantization parameters for u8 or int16 (`i16Out`) outputs. */
function requantParams(r: () => number, i16Out: boolean) {
  const shift = randInt(r, 28, 44);
  const zOut = i16Out ? 0 : randInt(r, 0, 255);
  const [qmin, qmax] = i16Out
    ? [randInt(r, 0, 1) * randInt(r, -4095, 0), 4095 - randInt(r, 0, 1) * randInt(r, 0, 2000)]
    : [randInt(r, 0, 1) * randInt(r, 0, 128), 255 - randInt(r, 0, 1) * randInt(r, 0, 100)];
  return { shift, zOut, qmin, qmax, i16Out };
}

/** Fills `n` input elements at `at`: bytes 0..255, or int16 within the 13 bits int16 activations use. */
function fillInput(k: KernelExports, r: () => number, at: number, n: number, i16In: boolean): void {
  if (i16In) new Int16Array(k.memory.buffer, at, n).forEach((_, i, a) => (a[i] = randInt(r, -4095, 4095)));
  else new Uint8Array(k.memory.buffer, at, n).forEach((_, i, a) => (a[i] = randInt(r, 0, 255)));
}

const densities: [string, (r: () => number) => () => number][] = [
  ['random per row, some rows empty', (r) => () => (r() < 0.15 ? 0 : r())],
  ['all dense', () => () => 1],
  ['all zero', () => () => 0],
];

describe.each(densities)('u8/i16_spmm_16x1c2 (%s)', (_name, density) => {
  it.each([false, true])('equals the scalar reference bit for bit, int16 input %s, u8 and i16 outputs, strided output with gaps', async (i16In) => {
    const k = await freshKernels(8 << 20);
    const r = rng(i16In ? 71 : 72);
    const base = k.heap_base();
    const inp = base, weights = base + (1 << 18), scratch = base + (1 << 20), outs = [base + (2 << 20), base + (3 << 20)];
    for (let trial = 0; trial < 60; trial++) {
      const p = problem(r, density(r));
      const i16Out = trial % 2 === 1;
      const elem = i16In ? 2 : 1;
      const inStride = (p.C + randInt(r, 0, 3)) * elem;
      const outStride = (p.N + randInt(r, 0, 5)) << (i16Out ? 1 : 0);
      const outRowStride = p.W * outStride + randInt(r, 0, 2) * outStride;
      const zIn = i16In ? 0 : randInt(r, 0, 255);
      const q = requantParams(r, i16Out);
      // Slack past the last pixel: the transpose reads up to 7 channels beyond C.
      fillInput(k, r, inp, p.H * p.W * (inStride / elem) + 8, i16In);
      packSparseWeights(k.memory.buffer, weights, p.w, p.N, p.C, p.bias, p.mult);
      for (const [i, out] of outs.entries()) {
        new Uint8Array(k.memory.buffer, out, p.H * outRowStride + 64).fill(0xa5);
        const kernel = i16In ? (i === 0 ? 'i16_spmm_16x1c2_simd' : 'i16_spmm_ref') : i === 0 ? 'u8_spmm_16x1c2_simd' : 'u8_spmm_ref';
        callKernel(k, kernel, { H: p.H, W: p.W, C: p.C, inp, inStride, zIn, N: p.N, weights, out, outStride, outRowStride, ...q, scratch });
      }
      const [a, b] = outs.map((o) => new Uint8Array(k.memory.buffer, o, p.H * outRowStride + 64));
      expect(a).toEqual(b);
    }
  });

  it.each([false, true])('gives the dense kernel (u8_igemm_ref) output bytes, int16 input %s', async (i16In) => {
    const k = await freshKernels(8 << 20);
    const r = rng(i16In ? 81 : 82);
    const base = k.heap_base();
    const inp = base, ind = base + (1 << 18), sparseW = base + (1 << 19), denseW = base + (1 << 20), scratch = base + (3 << 19);
    const outs = [base + (2 << 20), base + (3 << 20)];
    for (let trial = 0; trial < 40; trial++) {
      const p = problem(r, density(r));
      const i16Out = trial % 2 === 1;
      const M = p.H * p.W;
      const elem = i16In ? 2 : 1;
      const outStride = p.N << (i16Out ? 1 : 0);
      const zIn = i16In ? 0 : randInt(r, 0, 255);
      const q = requantParams(r, i16Out);
      fillInput(k, r, inp, M * p.C + 8, i16In);
      packSparseWeights(k.memory.buffer, sparseW, p.w, p.N, p.C, p.bias, p.mult);
      packDense(k, denseW, p, zIn);
      const pointers = new Uint32Array(k.memory.buffer, ind, Math.ceil(M / 4) * 4);
      pointers.forEach((_, i) => (pointers[i] = inp + Math.min(i, M - 1) * p.C * elem));
      for (const out of outs) new Uint8Array(k.memory.buffer, out, M * outStride).fill(0xa5);
      const sparse = i16In ? 'i16_spmm_16x1c2_simd' : 'u8_spmm_16x1c2_simd';
      const dense = i16In ? 'i16_igemm_ref' : 'u8_igemm_ref';
      callKernel(k, sparse, { H: p.H, W: p.W, C: p.C, inp, inStride: p.C * elem, zIn, N: p.N, weights: sparseW, out: outs[0], outStride, outRowStride: p.W * outStride, ...q, scratch });
      callKernel(k, dense, { M, N: p.N, taps: 1, K: p.C, indirection: ind, weights: denseW, out: outs[1], outStride, ...q, rounding: 0 });
      const [a, b] = outs.map((o) => new Uint8Array(k.memory.buffer, o, M * outStride));
      expect(a).toEqual(b);
    }
  });
});

import { describe, expect, it } from 'vitest';
import { callKernel, type KernelExports } from '../../src/wasm/kernels.js';
import { multiplyByQuantizedMultiplier } from '../../src/model/tflite-arithmetic.js';
import { tflRoundingWords } from '../../src/runtime/ops/igemm.js';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

/** Lays out one i8_igemm problem in memory: random bytes, indirection, packed int16 weights. */
function layout(k: KernelExports, r: () => number, M: number, N: number, taps: number, K: number, outStride: number) {
  const pairs = (K + 1) >> 1;
  const blockBytes = 64 + taps * pairs * 32;
  let top = k.heap_base();
  const take = (bytes: number): number => {
    const p = top;
    top += Math.ceil(bytes / 64) * 64;
    return p;
  };
  const act = take(64 * K + 16);
  const ind = take(Math.ceil(M / 4) * taps * 16);
  const w = take(Math.ceil(N / 8) * blockBytes);
  const outs = [take(M * outStride + 64), take(M * outStride + 64)];
  const mem = k.memory.buffer;
  const u8 = new Uint8Array(mem), u32 = new Uint32Array(mem), i32 = new Int32Array(mem), i16 = new Int16Array(mem);
  for (let i = 0; i < 64 * K + 16; i++) u8[act + i] = randInt(r, 0, 255);
  for (let i = 0; i < Math.ceil(M / 4) * taps * 4; i++) u32[ind / 4 + i] = act + randInt(r, 0, 63) * K;
  for (let b = 0; b < Math.ceil(N / 8); b++) {
    const o = w + b * blockBytes;
    for (let l = 0; l < 8; l++) {
      i32[o / 4 + l] = randInt(r, -200000, 200000);
      i32[o / 4 + 8 + l] = randInt(r, 1 << 24, 2 ** 31 - 1);
    }
    for (let i = 0; i < taps * pairs * 16; i++) i16[(o + 64) / 2 + i] = randInt(r, -127, 127);
  }
  return { ind, w, outs };
}

describe('u8_igemm_4x8c2_simd', () => {
  it('equals the scalar reference bit for bit on random shapes, odd K, channel and row tails, u8 and i16 outputs', async () => {
    const k = await freshKernels(8 << 20);
    const r = rng(31);
    for (let trial = 0; trial < 200; trial++) {
      const i16Out = trial % 2 === 1;
      const M = randInt(r, 1, 23), N = randInt(r, 1, 37), taps = randInt(r, 1, 9), K = randInt(r, 1, 41);
      const outStride = (N + randInt(r, 0, 7)) << (i16Out ? 1 : 0);
      const { ind, w, outs } = layout(k, r, M, N, taps, K, outStride);
      const shift = randInt(r, 28, 44), zOut = i16Out ? 0 : randInt(r, 0, 255);
      const [qmin, qmax] = i16Out
        ? [randInt(r, 0, 1) * randInt(r, -4095, 0), 4095 - randInt(r, 0, 1) * randInt(r, 0, 2000)]
        : [randInt(r, 0, 1) * randInt(r, 0, 128), 255 - randInt(r, 0, 1) * randInt(r, 0, 100)];
      for (const [i, out] of outs.entries()) {
        new Uint8Array(k.memory.buffer, out, M * outStride).fill(0xa5);
        callKernel(k, i === 0 ? 'u8_igemm_4x8c2_simd' : 'u8_igemm_ref', { M, N, taps, K, indirection: ind, weights: w, out, outStride, shift, zOut, qmin, qmax, i16Out, rounding: 0 });
      }
      const [a, b] = outs.map((o) => new Uint8Array(k.memory.buffer, o, M * outStride));
      expect(a).toEqual(b);
    }
  });
});

/** The requantization the format specifies, in exact BigInt arithmetic. */
function requant(acc: number, mult: number, shift: number, z: number, qmin: number, qmax: number): number {
  const v = Number((BigInt(acc) * BigInt(mult) + (1n << BigInt(shift - 1))) >> BigInt(shift));
  return Math.min(Math.max(z + v, qmin), qmax);
}

describe('requantization edge cases (both variants)', () => {
  // One output of one input byte: acc = bias + a * w, so every case is chosen exactly.
  const cases: [string, number, number, number, number, number, number, number, number][] = [
    // name, bias, a, w, mult, shift, z, qmin, qmax
    ['tie rounds up (+1.5 -> 2)', 1, 1, 2, 1, 1, 0, 0, 255],
    ['negative tie rounds up (-1.5 -> -1)', -5, 1, 2, 1, 1, 10, 0, 255],
    ['negative result clamps at qmin (ReLU)', -100000, 0, 0, 1 << 30, 31, 7, 7, 255],
    ['saturates at 255', 10000000, 255, 127, 2 ** 31 - 1, 31, 0, 0, 255],
    ['saturates at qmax', 1000, 0, 0, 1 << 30, 31, 100, 0, 200],
    ['shift 1, smallest', 7, 3, -2, 3, 1, 128, 0, 255],
    ['shift 62, largest', 2 ** 30, 255, 127, 2 ** 31 - 1, 62, 3, 0, 255],
    ['large accumulator, large multiplier', 2 ** 29, 255, 127, 2 ** 31 - 1, 33, 0, 0, 255],
    ['zero point shifts the result', 1000, 10, 10, 1 << 30, 31, 200, 0, 255],
  ];
  it.each(cases)('%s', async (_name, bias, a, wv, mult, shift, z, qmin, qmax) => {
    const k = await freshKernels(1 << 20);
    const base = k.heap_base();
    const act = base, ind = base + 64, w = base + 128, out = base + 512;
    const mem = k.memory.buffer;
    new Uint8Array(mem, act, 2).set([a, 0]);
    new Uint32Array(mem, ind, 4).fill(act);
    new Uint8Array(mem, w, 96).fill(0);
    new Int32Array(mem, w, 16).set([bias, 0, 0, 0, 0, 0, 0, 0, mult]);
    new Int16Array(mem, w + 64, 2).set([wv, 0]);
    const expected = requant(bias + a * wv, mult, shift, z, qmin, qmax);
    for (const name of ['u8_igemm_4x8c2_simd', 'u8_igemm_ref'] as const) {
      new Uint8Array(mem, out, 1).fill(0xa5);
      callKernel(k, name, { M: 1, N: 1, taps: 1, K: 1, indirection: ind, weights: w, out, outStride: 1, shift, zOut: z, qmin, qmax, i16Out: false, rounding: 0 });
      expect(new Uint8Array(mem, out, 1)[0]).toBe(expected);
    }
  });
});

/** TFLite's rounding constants for right shifts `rs` at `at` (the layout the planner writes). */
function putRounding(k: KernelExports, at: number, rs: number[]): void {
  const words = tflRoundingWords(rs);
  new Int32Array(k.memory.buffer, at, words.length).set(words);
}

describe('u8_igemm_4x8c2_simd with TensorFlow Lite\'s requantization (rounding != 0)', () => {
  it('equals its scalar reference bit for bit on random shapes and per-channel shifts', async () => {
    const k = await freshKernels(8 << 20);
    const r = rng(37);
    const rq = k.heap_base() + (6 << 20);
    for (let trial = 0; trial < 200; trial++) {
      const M = randInt(r, 1, 23), N = randInt(r, 1, 37), taps = randInt(r, 1, 9), K = randInt(r, 1, 41);
      const outStride = N + randInt(r, 0, 7);
      const { ind, w, outs } = layout(k, r, M, N, taps, K, outStride);
      putRounding(k, rq, Array.from({ length: N }, () => randInt(r, 0, 1) * randInt(r, 0, 30)));
      const zOut = randInt(r, 0, 255);
      const [qmin, qmax] = [randInt(r, 0, 1) * randInt(r, 0, 128), 255 - randInt(r, 0, 1) * randInt(r, 0, 100)];
      for (const [i, out] of outs.entries()) {
        new Uint8Array(k.memory.buffer, out, M * outStride).fill(0xa5);
        callKernel(k, i === 0 ? 'u8_igemm_4x8c2_simd' : 'u8_igemm_ref', { M, N, taps, K, indirection: ind, weights: w, out, outStride, rounding: rq, shift: 0, zOut, qmin, qmax, i16Out: false });
      }
      const [a, b] = outs.map((o) => new Uint8Array(k.memory.buffer, o, M * outStride));
      expect(a).toEqual(b);
    }
  });

  // One output of one input byte: acc = bias + a * w; each kernel against TFLite's arithmetic (src/model/tflite-arithmetic.ts).
  const cases: [string, number, number, number][] = [
    // name, acc, mult, r
    ['high multiply: a positive half rounds up', 3, 1 << 30, 0],
    ['high multiply: a negative half rounds up (-1.5 -> -1)', -3, 1 << 30, 0],
    ['shift: a positive half rounds away from zero', 6, 1 << 30, 2],
    ['shift: a negative half rounds away from zero', -6, 1 << 30, 2],
    ['double rounding differs from one (17.49995 -> 18)', 19443, 1979262391, 10],
    ['shift 30, large accumulator', 2 ** 30 - 1, 2 ** 31 - 1, 30],
    ['negative large accumulator', -(2 ** 30) + 1, 2 ** 31 - 1, 7],
    ['zero multiplier', -777, 0, 0],
    ['small negative rounds to zero', -1, 1 << 30, 3],
  ];
  it.each(cases)('%s', async (_name, acc, mult, rShift) => {
    const k = await freshKernels(1 << 20);
    const base = k.heap_base();
    const act = base, ind = base + 64, w = base + 128, out = base + 512, rq = base + 1024;
    const u8 = new Uint8Array(k.memory.buffer), i32 = new Int32Array(k.memory.buffer);
    u8[act] = 0;
    for (let i = 0; i < 4; i++) i32[ind / 4 + i] = act;
    new Uint8Array(k.memory.buffer, w, 64 + 32).fill(0);
    i32[w / 4] = acc;
    i32[w / 4 + 8] = mult;
    putRounding(k, rq, [rShift]);
    const expected = Math.min(Math.max(128 + multiplyByQuantizedMultiplier(acc, mult, -rShift), 0), 255);
    for (const kernel of ['u8_igemm_4x8c2_simd', 'u8_igemm_ref'] as const) {
      u8[out] = 0xa5;
      callKernel(k, kernel, { M: 1, N: 1, taps: 1, K: 1, indirection: ind, weights: w, out, outStride: 1, rounding: rq, shift: 0, zOut: 128, qmin: 0, qmax: 255, i16Out: false });
      expect(u8[out], kernel).toBe(expected);
    }
  });
});

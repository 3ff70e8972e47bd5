import { describe, expect, it } from 'vitest';
import {
  addInt8, addInt8Params, fullyConnectedOutputScale, fullyConnectedRequantizeInt8, meanInt8, meanInt8Params,
} from '../../src/model/tflite-arithmetic.js';
import { callKernel } from '../../src/wasm/kernels.js';
import { compareVariants as compare, freshKernels, randInt, rng } from '../helpers/wasm.js';

// The kernels of .tflite imports that are not variants of an existing kernel: each SIMD kernel
// against its scalar reference on random shapes, and both against TFLite's arithmetic as
// src/model/tflite-arithmetic.ts states it (itself checked against TFLite's interpreter).

/** uint8 storage of TFLite's int8 values. */
const u8 = (q: number): number => q + 128;

describe('u8_fc_tfl (TFLite FULLY_CONNECTED, requantized in double)', () => {
  it('SIMD equals the scalar reference on random sizes', async () => {
    await compare(41, 'u8', (k, r, inp, out, v) => {
      const K = randInt(r, 1, 300), N = randInt(r, 1, 40), K8 = Math.ceil(K / 8) * 8;
      const at = inp + (600 << 10), mem = k.memory.buffer;
      const w = new Int16Array(mem, at, N * K8).fill(0);
      for (let n = 0; n < N; n++) for (let i = 0; i < K; i++) w[n * K8 + i] = randInt(r, -127, 127);
      const bias = at + N * K8 * 2, scale = bias + 64 * 8;
      new Int32Array(mem, bias, N).forEach((_, i, a) => (a[i] = randInt(r, -50000, 50000)));
      new Float64Array(mem, scale, N).forEach((_, i, a) => (a[i] = r() * 1e-3));
      callKernel(k, v === 'simd' ? 'u8_fc_tfl_simd' : 'u8_fc_tfl_ref', { x: inp, K, w: at, bias, scale, N, zOut: randInt(r, 0, 255), qmin: randInt(r, 0, 100), qmax: 255, out });
      return N;
    });
  });

  it('computes TFLite\'s output for a hand-built layer, ties included', async () => {
    const k = await freshKernels();
    const base = k.heap_base(), mem = k.memory.buffer;
    const r = rng(43);
    const [K, N, zIn, zOut] = [13, 9, u8(-5), u8(3)];
    const [sIn, sOut] = [0.05, 0.125];
    const wScales = Array.from({ length: N }, (_, n) => (n === 0 ? 0.5 : 0.001 + r() * 0.01));
    const x = Array.from({ length: K }, () => randInt(r, 0, 255));
    const w = Array.from({ length: N * K }, () => randInt(r, -127, 127));
    const bias = Array.from({ length: N }, () => randInt(r, -2000, 2000));
    const [xs, ws, bs, ss, out] = [base, base + 64, base + 1024, base + 1088, base + 1216];
    new Uint8Array(mem, xs, K).set(x);
    const rows = new Int16Array(mem, ws, N * 16).fill(0);
    const folded = new Int32Array(mem, bs, N), scales = new Float64Array(mem, ss, N);
    for (let n = 0; n < N; n++) {
      let sum = 0;
      for (let i = 0; i < K; i++) sum += rows[n * 16 + i] = w[n * K + i];
      folded[n] = bias[n] - zIn * sum;
      scales[n] = fullyConnectedOutputScale(sIn, wScales[n], sOut);
    }
    const expected = Array.from({ length: N }, (_, n) => {
      const acc = bias[n] + x.reduce((s, v, i) => s + w[n * K + i] * (v - zIn), 0);
      return u8(fullyConnectedRequantizeInt8(acc, scales[n], zOut - 128));
    });
    for (const kernel of ['u8_fc_tfl_simd', 'u8_fc_tfl_ref'] as const) {
      callKernel(k, kernel, { x: xs, K, w: ws, bias: bs, scale: ss, N, zOut, qmin: 0, qmax: 255, out });
      expect([...new Uint8Array(mem, out, N)], kernel).toEqual(expected);
    }
  });
});

describe('u8_global_mean (TFLite MEAN over height and width)', () => {
  it('SIMD equals the scalar reference on random sizes and shifts', async () => {
    await compare(45, 'u8', (k, r, inp, out, v) => {
      const P = randInt(r, 1, 200), C = randInt(r, 1, 70);
      const p = meanInt8Params(0.01 + r(), 0.01 + r(), P);
      callKernel(k, v === 'simd' ? 'u8_global_mean_simd' : 'u8_global_mean_ref', {
        inp, P, C, inStride: C + randInt(r, 0, 5), zp: randInt(r, 0, 255), mult: p.multiplier, left: Math.max(p.shift, 0), right: Math.max(-p.shift, 0), zOut: randInt(r, 0, 255), out,
      });
      return C;
    });
  });

  it('computes TFLite\'s mean, equal scales and not', async () => {
    const k = await freshKernels();
    const base = k.heap_base(), mem = k.memory.buffer;
    const r = rng(47);
    for (const [sIn, sOut, P] of [[0.03, 0.03, 169], [0.03, 0.011, 49], [0.2, 0.9, 6]]) {
      const C = 11, zp = randInt(r, 0, 255), zOut = randInt(r, 0, 255);
      const x = new Uint8Array(mem, base, P * C);
      x.forEach((_, i) => (x[i] = randInt(r, 0, 255)));
      const p = meanInt8Params(sIn, sOut, P);
      const expected = Array.from({ length: C }, (_, c) => {
        let sum = 0;
        for (let i = 0; i < P; i++) sum += x[i * C + c] - 128;
        return u8(meanInt8(sum, P, zp - 128, zOut - 128, p));
      });
      for (const kernel of ['u8_global_mean_simd', 'u8_global_mean_ref'] as const) {
        callKernel(k, kernel, { inp: base, P, C, inStride: C, zp, mult: p.multiplier, left: Math.max(p.shift, 0), right: Math.max(-p.shift, 0), zOut, out: base + 65536 });
        expect([...new Uint8Array(mem, base + 65536, C)], `${kernel} ${sIn}/${sOut} over ${P}`).toEqual(expected);
      }
    }
  });
});

describe('u8_add_tfl (TFLite ADD)', () => {
  it('computes TFLite\'s add on every pair of one value against a sweep', async () => {
    const k = await freshKernels();
    const base = k.heap_base(), mem = k.memory.buffer;
    for (const [sa, sb, sOut] of [[0.02, 0.05, 0.06], [0.1, 0.1, 0.2], [0.3, 0.01, 0.25]]) {
      const p = addInt8Params(sa, sb, sOut);
      const [za, zb, zOut] = [u8(-7), u8(12), u8(-20)];
      new Uint8Array(mem, base, 512).forEach((_, i, all) => (all[i] = i < 256 ? i : 511 - i));
      const expected = Array.from({ length: 256 }, (_, i) => u8(addInt8(i - 128, 127 - i, za - 128, zb - 128, zOut - 128, p)));
      for (const kernel of ['u8_add_tfl_simd', 'u8_add_tfl_ref'] as const) {
        callKernel(k, kernel, {
          a: base, aStride: 256, za, ma: p.input1.multiplier, ra: -p.input1.shift, b: base + 256, bStride: 256, zb, mb: p.input2.multiplier, rb: -p.input2.shift,
          P: 1, C: 256, out: base + 1024, outStride: 256, mOut: p.output.multiplier, rOut: -p.output.shift, zOut, qmin: 0, qmax: 255,
        });
        expect([...new Uint8Array(mem, base + 1024, 256)], `${kernel} ${sa} + ${sb} -> ${sOut}`).toEqual(expected);
      }
    }
  });
});

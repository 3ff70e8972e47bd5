import { describe, expect, it } from 'vitest';
import { callKernel } from '../../src/wasm/kernels.js';
import { compareVariants as compare, freshKernels, randInt, rng } from '../helpers/wasm.js';

/** Random add geometry: pixels, odd channel counts, strided inputs and output (in elements). */
function geometry(r: () => number) {
  const C = randInt(r, 1, 70), P = randInt(r, 1, 150);
  return { C, P, aStride: C + randInt(r, 0, 9), bStride: C + randInt(r, 0, 9), outStride: C + randInt(r, 0, 9) };
}

/** int8 add parameters as the quantizer makes them: scale ratios from 1/1000 to 4, so shifts land on both sides of 32. */
function requant(r: () => number) {
  const real = [0.001 + 4 * r() ** 3, 0.001 + 4 * r() ** 3];
  const shift = Math.floor(Math.log2((2 ** 31 - 1) / Math.max(...real)));
  const [ma, mb] = real.map((m) => Math.round(m * 2 ** shift));
  return { ma, mb, shift, za: randInt(r, 0, 255), zb: randInt(r, 0, 255), zOut: randInt(r, 0, 255) };
}

describe('add kernels: SIMD equals scalar reference bit for bit', () => {
  it('f32, with and without ReLU', async () => {
    await compare(31, 'f32', (k, r, inp, out, v) => {
      const g = geometry(r);
      callKernel(k, v === 'simd' ? 'f32_add_simd' : 'f32_add_ref', { a: inp, aStride: g.aStride * 4, b: inp + (512 << 10), bStride: g.bStride * 4, P: g.P, C: g.C, out, outStride: g.outStride * 4, relu: randInt(r, 0, 1) });
      return g.P * g.outStride * 4;
    });
  });

  it('TFLite int8 add over uint8 storage: multipliers in [2^30, 2^31), right shifts 0..30, with and without ReLU', async () => {
    await compare(35, 'u8', (k, r, inp, out, v) => {
      const g = geometry(r);
      const m = () => randInt(r, 2 ** 30, 2 ** 31 - 1);
      const [za, zb, zOut] = [randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255)];
      callKernel(k, v === 'simd' ? 'u8_add_tfl_simd' : 'u8_add_tfl_ref', {
        a: inp, aStride: g.aStride, za, ma: m(), ra: randInt(r, 0, 3), b: inp + (512 << 10), bStride: g.bStride, zb, mb: m(), rb: randInt(r, 0, 3),
        P: g.P, C: g.C, out, outStride: g.outStride, mOut: m(), rOut: randInt(r, 14, 24), zOut, qmin: randInt(r, 0, 1) ? zOut : 0, qmax: 255,
      });
      return g.P * g.outStride;
    });
  });

  it('uint8 with two input scales and zero points, with and without ReLU, uint8 or int16 out', async () => {
    await compare(32, 'u8', (k, r, inp, out, v) => {
      const g = geometry(r);
      const q = requant(r);
      const i16Out = randInt(r, 0, 1) === 1;
      const zOut = i16Out ? 0 : q.zOut;
      const qmin = randInt(r, 0, 1) ? zOut : i16Out ? -4095 : 0;
      callKernel(k, v === 'simd' ? 'u8_add_simd' : 'u8_add_ref', {
        a: inp, aStride: g.aStride, za: q.za, ma: q.ma, b: inp + (512 << 10), bStride: g.bStride, zb: q.zb, mb: q.mb,
        P: g.P, C: g.C, out, outStride: g.outStride * 2, shift: q.shift, zOut, qmin, qmax: i16Out ? 4095 : 255, i16Out,
      });
      return g.P * g.outStride * 2;
    });
  });

  it('int16 inputs (|q| <= 4095, zero point 0), uint8 or int16 out', async () => {
    await compare(34, 'u8', (k, r, inp, out, v) => {
      const g = geometry(r);
      const q = requant(r);
      // int16 values in -4095..4095 derived from the random bytes (both variants derive the same).
      const n = 64 << 10;
      const src = new Uint16Array(k.memory.buffer, inp, n);
      const x = new Int16Array(k.memory.buffer, inp + (256 << 10), n);
      for (let i = 0; i < n; i++) x[i] = (src[i] % 8191) - 4095;
      const i16Out = randInt(r, 0, 1) === 1;
      const zOut = i16Out ? 0 : q.zOut;
      const qmin = randInt(r, 0, 1) ? zOut : i16Out ? -4095 : 0;
      const a = inp + (256 << 10), b = a + (64 << 10);
      callKernel(k, v === 'simd' ? 'i16_add_simd' : 'i16_add_ref', {
        a, aStride: g.aStride * 2, za: 0, ma: q.ma, b, bStride: g.bStride * 2, zb: 0, mb: q.mb,
        P: g.P, C: g.C, out, outStride: g.outStride * 2, shift: q.shift, zOut, qmin, qmax: i16Out ? 4095 : 255, i16Out,
      });
      return g.P * g.outStride * 2;
    });
  });
});

describe('u8_add arithmetic', () => {
  it('is zOut + round_half_up((ma (qa - za) + mb (qb - zb)) / 2^shift), clamped, for every input pair of random layers', async () => {
    const k = await freshKernels(1 << 20);
    const base = k.heap_base();
    const mem = k.memory.buffer;
    // Every (qa, qb) pair as a 256-channel row of 256 pixels: a[p][c] = p, b[p][c] = c.
    const a = new Uint8Array(mem, base, 65536);
    const b = new Uint8Array(mem, base + 65536, 65536);
    for (let p = 0; p < 256; p++) for (let c = 0; c < 256; c++) [a[p * 256 + c], b[p * 256 + c]] = [p, c];
    const r = rng(33);
    for (let trial = 0; trial < 6; trial++) {
      const q = requant(r);
      const relu = trial % 2;
      for (const name of ['u8_add_simd', 'u8_add_ref'] as const) {
        callKernel(k, name, {
          a: base, aStride: 256, za: q.za, ma: q.ma, b: base + 65536, bStride: 256, zb: q.zb, mb: q.mb,
          P: 256, C: 256, out: base + 131072, outStride: 256, shift: q.shift, zOut: q.zOut, qmin: relu * q.zOut, qmax: 255, i16Out: false,
        });
        const out = new Uint8Array(mem, base + 131072, 65536);
        for (let qa = 0; qa < 256; qa += 5) {
          for (let qb = 0; qb < 256; qb += 3) {
            const sum = BigInt(q.ma) * BigInt(qa - q.za) + BigInt(q.mb) * BigInt(qb - q.zb);
            const scaled = Number((sum + (1n << BigInt(q.shift - 1))) >> BigInt(q.shift));
            expect(out[qa * 256 + qb]).toBe(Math.min(255, Math.max(relu * q.zOut, q.zOut + scaled)));
          }
        }
      }
    }
  });
});

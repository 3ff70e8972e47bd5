import { describe, expect, it } from 'vitest';
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
      (v === 'simd' ? k.f32_add_simd : k.f32_add_ref)(inp, g.aStride * 4, inp + (512 << 10), g.bStride * 4, g.P, g.C, out, g.outStride * 4, randInt(r, 0, 1));
      return g.P * g.outStride * 4;
    });
  });

  it('uint8 with two input scales and zero points, with and without ReLU, uint8 or int16 out', async () => {
    await compare(32, 'u8', (k, r, inp, out, v) => {
      const g = geometry(r);
      const q = requant(r);
      const wide = randInt(r, 0, 1);
      const zOut = wide ? 0 : q.zOut;
      const qmin = randInt(r, 0, 1) ? zOut : wide ? -4095 : 0;
      (v === 'simd' ? k.u8_add_simd : k.u8_add_ref)(inp, g.aStride, q.za, q.ma, inp + (512 << 10), g.bStride, q.zb, q.mb, g.P, g.C, out, g.outStride * 2, q.shift, zOut, qmin, wide ? 4095 : 255, wide);
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
      const wide = randInt(r, 0, 1);
      const zOut = wide ? 0 : q.zOut;
      const qmin = randInt(r, 0, 1) ? zOut : wide ? -4095 : 0;
      const a = inp + (256 << 10), b = a + (64 << 10);
      (v === 'simd' ? k.i16_add_simd : k.i16_add_ref)(a, g.aStride * 2, 0, q.ma, b, g.bStride * 2, 0, q.mb, g.P, g.C, out, g.outStride * 2, q.shift, zOut, qmin, wide ? 4095 : 255, wide);
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
      for (const f of [k.u8_add_simd, k.u8_add_ref]) {
        f(base, 256, q.za, q.ma, base + 65536, 256, q.zb, q.mb, 256, 256, base + 131072, 256, q.shift, q.zOut, relu * q.zOut, 255, 0);
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

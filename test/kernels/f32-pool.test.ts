import { describe, expect, it } from 'vitest';
import { windowOutputSize } from '../../src/model/graph.js';
import type { KernelExports } from '../../src/wasm/kernels.js';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

/** Fills a random strided input, runs `simd` and `ref` into two NaN-filled outputs, and compares bits. */
async function compare(
  seed: number,
  call: (k: KernelExports, r: () => number, inp: number, out: number, variant: 'simd' | 'ref') => number,
): Promise<void> {
  const k = await freshKernels(4 << 20);
  const r = rng(seed);
  for (let trial = 0; trial < 40; trial++) {
    const base = k.heap_base();
    const inp = base;
    const outs = [base + (1 << 20), base + (2 << 20)];
    const f32 = new Float32Array(k.memory.buffer);
    for (let i = 0; i < (1 << 20) / 4; i++) f32[inp / 4 + i] = r() * 200 - 100;
    let n = 0;
    for (const [i, out] of outs.entries()) {
      f32.fill(NaN, out / 4, out / 4 + (1 << 18));
      // The same seed gives both variants the same random parameters.
      n = call(k, rng(seed * 1000 + trial), inp, out, i === 0 ? 'simd' : 'ref');
    }
    const a = new Uint32Array(k.memory.buffer, outs[0], n);
    const b = new Uint32Array(k.memory.buffer, outs[1], n);
    expect(a).toEqual(b);
  }
}

function poolParams(r: () => number) {
  const C = randInt(r, 1, 23);
  const inStride = (C + randInt(r, 0, 5)) * 4;
  const outStride = (C + randInt(r, 0, 5)) * 4;
  const kh = randInt(r, 1, 4), kw = randInt(r, 1, 4);
  const sh = randInt(r, 1, 3), sw = randInt(r, 1, 3);
  const pt = randInt(r, 0, kh - 1), pl = randInt(r, 0, kw - 1), pb = randInt(r, 0, kh - 1), pr = randInt(r, 0, kw - 1);
  const H = randInt(r, kh, 19), W = randInt(r, kw, 19);
  const ceil = r() < 0.5;
  const OH = windowOutputSize(H, kh, sh, pt, pb, ceil), OW = windowOutputSize(W, kw, sw, pl, pr, ceil);
  return { C, inStride, outStride, kh, kw, sh, sw, pt, pl, pb, pr, H, W, OH, OW };
}

describe('f32 pooling kernels: SIMD equals scalar reference bit for bit', () => {
  it('max pool (ceil windows, padding, odd channels, strided views)', async () => {
    await compare(11, (k, r, inp, out, v) => {
      const p = poolParams(r);
      (v === 'simd' ? k.f32_maxpool_simd : k.f32_maxpool_ref)(inp, p.H, p.W, p.C, p.inStride, out, p.OH, p.OW, p.outStride, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl);
      return (p.OH * p.OW * p.outStride) / 4;
    });
  });
  it('average pool with and without count_include_pad', async () => {
    await compare(12, (k, r, inp, out, v) => {
      const p = poolParams(r);
      const countPad = randInt(r, 0, 1);
      (v === 'simd' ? k.f32_avgpool_simd : k.f32_avgpool_ref)(inp, p.H, p.W, p.C, p.inStride, out, p.OH, p.OW, p.outStride, p.kh, p.kw, p.sh, p.sw, p.pt, p.pl, p.pb, p.pr, countPad);
      return (p.OH * p.OW * p.outStride) / 4;
    });
  });
  it('global average pool', async () => {
    await compare(13, (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200), stride = (C + randInt(r, 0, 9)) * 4;
      (v === 'simd' ? k.f32_global_avgpool_simd : k.f32_global_avgpool_ref)(inp, P, C, stride, out);
      return C;
    });
  });
  it('strided copy with and without ReLU', async () => {
    await compare(14, (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200);
      const inStride = (C + randInt(r, 0, 9)) * 4, outStride = (C + randInt(r, 0, 9)) * 4;
      (v === 'simd' ? k.f32_copy_simd : k.f32_copy_ref)(inp, P, C, inStride, out, outStride, randInt(r, 0, 1));
      return (P * outStride) / 4;
    });
  });
});

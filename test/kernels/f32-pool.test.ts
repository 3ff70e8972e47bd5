import { describe, it } from 'vitest';
import { callKernel } from '../../src/wasm/kernels.js';
import { compareVariants as compare, poolParams, windowArgs, randInt } from '../helpers/wasm.js';

describe('f32 pooling kernels: SIMD equals scalar reference bit for bit', () => {
  it('max pool (ceil windows, padding, odd channels, strided views)', async () => {
    await compare(11, 'f32', (k, r, inp, out, v) => {
      const p = poolParams(r);
      callKernel(k, v === 'simd' ? 'f32_maxpool_simd' : 'f32_maxpool_ref', { ...windowArgs(p), inp, out });
      return p.OH * p.OW * p.outStride;
    });
  });
  it('average pool with and without count_include_pad', async () => {
    await compare(12, 'f32', (k, r, inp, out, v) => {
      const p = poolParams(r);
      const countPad = randInt(r, 0, 1);
      callKernel(k, v === 'simd' ? 'f32_avgpool_simd' : 'f32_avgpool_ref', { ...windowArgs(p), inp, out, pb: p.pb, pr: p.pr, countPad });
      return p.OH * p.OW * p.outStride;
    });
  });
  it('global average pool', async () => {
    await compare(13, 'f32', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200), stride = (C + randInt(r, 0, 9)) * 4;
      callKernel(k, v === 'simd' ? 'f32_global_avgpool_simd' : 'f32_global_avgpool_ref', { inp, P, C, inStride: stride, out });
      return C * 4;
    });
  });
  it('strided copy with and without ReLU', async () => {
    await compare(14, 'f32', (k, r, inp, out, v) => {
      const C = randInt(r, 1, 70), P = randInt(r, 1, 200);
      const inStride = (C + randInt(r, 0, 9)) * 4, outStride = (C + randInt(r, 0, 9)) * 4;
      callKernel(k, v === 'simd' ? 'f32_copy_simd' : 'f32_copy_ref', { inp, P, C, inStride, out, outStride, relu: randInt(r, 0, 1) });
      return P * outStride;
    });
  });
});

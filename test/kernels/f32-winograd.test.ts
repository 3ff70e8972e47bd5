import { describe, expect, it } from 'vitest';
import { callKernel, type KernelExports } from '../../src/wasm/kernels.js';
import { freshKernels, randInt, rng } from '../helpers/wasm.js';

/**
 * Winograd F(4x4, 3x3) against the direct convolution: the largest difference, relative to the
 * output's range, allowed between the two kernels and between Winograd and the float64 result.
 * The transforms scale values by up to 5 (B) and 8 (A) and cancel them again, so Winograd's
 * rounding error is several times the direct kernel's: on these shapes 4.9e-6 of the range
 * against float64 (direct: 8.4e-7), and 5.1e-6 between the two.
 */
const TOLERANCE = 1e-5;

/** A random 3x3 stride-1 pad-1 conv: shapes, strided views, clamp, data. */
function randomConv(r: () => number) {
  const H = randInt(r, 1, 19), W = randInt(r, 1, 19);
  const C = randInt(r, 1, 37), N = randInt(r, 1, 29);
  const inStride = (C + randInt(r, 0, 5)) * 4;
  const outStride = (N + randInt(r, 0, 5)) * 4;
  // Unclamped, ReLU, ReLU6-style upper bound, or both.
  const lo = r() < 0.5 ? -Infinity : 0;
  const hi = r() < 0.5 ? Infinity : Math.fround(r());
  const x = Float32Array.from({ length: H * W * C }, () => r() * 2 - 1);
  const w = Float32Array.from({ length: N * C * 9 }, () => (r() * 2 - 1) / Math.sqrt(C * 9));
  const bias = r() < 0.8 ? Float32Array.from({ length: N }, () => r() * 0.2 - 0.1) : undefined;
  return { H, W, C, N, inStride, outStride, lo, hi, x, w, bias };
}

type Conv = ReturnType<typeof randomConv>;

/** Bump allocator over a kernels instance's memory, 64-byte aligned. */
function allocator(k: KernelExports) {
  let top = k.heap_base();
  return (bytes: number): number => {
    const p = top;
    top += Math.ceil((bytes + 16) / 64) * 64;
    return p;
  };
}

/** Writes `data` (pixels of `c` floats) at `ptr` with `stride` bytes between pixels; the gaps get garbage. */
function putPixels(k: KernelExports, ptr: number, data: Float32Array, c: number, stride: number): void {
  const f32 = new Float32Array(k.memory.buffer);
  const pixels = data.length / c;
  f32.fill(1e30, ptr / 4, ptr / 4 + (pixels * stride) / 4 + 4);
  for (let p = 0; p < pixels; p++) f32.set(data.subarray(p * c, (p + 1) * c), (ptr + p * stride) / 4);
}

/** The conv on the Winograd kernel `kernel`; returns the output's bytes, gaps included (NaN where untouched). */
function winograd(k: KernelExports, take: (b: number) => number, conv: Conv, kernel: 'f32_winograd3x3_simd' | 'f32_winograd3x3_ref'): Float32Array {
  const { H, W, C, N, inStride, outStride, lo, hi } = conv;
  const Cs = (C + 3) & ~3;
  const inp = take(H * W * inStride);
  putPixels(k, inp, conv.x, C, inStride);
  const pad = take(Cs * 4);
  new Float32Array(k.memory.buffer, pad, Cs).fill(0);
  const blockFloats = 8 + 36 * C * 8;
  const weights = take(Math.ceil(N / 8) * blockFloats * 4);
  const [pw, pb] = [take(conv.w.byteLength), conv.bias ? take(conv.bias.byteLength) : 0];
  new Float32Array(k.memory.buffer, pw, conv.w.length).set(conv.w);
  if (conv.bias) new Float32Array(k.memory.buffer, pb, N).set(conv.bias);
  callKernel(k, 'f32_pack_winograd', { w: pw, N, C, bias: pb, out: weights, blockFloats });
  const V = take(callKernel(k, 'f32_winograd3x3_scratch_v', { C }));
  const M = take(callKernel(k, 'f32_winograd3x3_scratch_m', {}));
  const out = take(H * W * outStride);
  new Float32Array(k.memory.buffer, out, (H * W * outStride) / 4).fill(NaN);
  callKernel(k, kernel, { H, W, C, inp, inStride, pad, N, weights, out, outStride, lo, hi, V, M });
  return new Float32Array(k.memory.buffer.slice(out, out + H * W * outStride));
}

/** The conv on the direct kernel, f32_igemm_4x8 (9 taps of C channels); its output's bytes. */
function direct(k: KernelExports, take: (b: number) => number, conv: Conv): Float32Array {
  const { H, W, C, N, inStride, outStride, lo, hi } = conv;
  const x = take(H * W * inStride);
  putPixels(k, x, conv.x, C, inStride);
  const pad = take(C * 4);
  new Float32Array(k.memory.buffer, pad, C).fill(0);
  const M = H * W;
  const indirection = take(Math.ceil(M / 4) * 9 * 16);
  callKernel(k, 'fill_indirection', { out: indirection, mr: 4, M, taps: 9, mergeRows: 0, kw: 3, outW: W, sh: 1, sw: 1, pt: 1, pl: 1, x, inH: H, inW: W, inStride, pad });
  const blockFloats = 8 + 9 * C * 8;
  const weights = take(Math.ceil(N / 8) * blockFloats * 4);
  const offsets = Int32Array.from({ length: C * 9 }, (_, i) => 8 + ((i % 9) * C + Math.floor(i / 9)) * 8);
  const [pw, pb, po] = [take(conv.w.byteLength), conv.bias ? take(conv.bias.byteLength) : 0, take(offsets.byteLength)];
  new Float32Array(k.memory.buffer, pw, conv.w.length).set(conv.w);
  if (conv.bias) new Float32Array(k.memory.buffer, pb, N).set(conv.bias);
  new Int32Array(k.memory.buffer, po, offsets.length).set(offsets);
  callKernel(k, 'f32_pack_igemm', { w: pw, N, per: C * 9, offsets: po, bias: pb, out: weights, blockFloats });
  const out = take(M * outStride);
  callKernel(k, 'f32_igemm_4x8_simd', { M, N, taps: 9, K: C, indirection, weights, out, outStride, lo, hi });
  return new Float32Array(k.memory.buffer.slice(out, out + M * outStride));
}

/** The conv in float64, NHWC [H * W][N], clamped. */
function exact(conv: Conv): Float64Array {
  const { H, W, C, N, lo, hi, x, w, bias } = conv;
  const y = new Float64Array(H * W * N);
  for (let oy = 0; oy < H; oy++) {
    for (let ox = 0; ox < W; ox++) {
      for (let n = 0; n < N; n++) {
        let acc = bias ? bias[n] : 0;
        for (let ky = 0; ky < 3; ky++) {
          for (let kx = 0; kx < 3; kx++) {
            const iy = oy + ky - 1, ix = ox + kx - 1;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
            for (let c = 0; c < C; c++) acc += x[(iy * W + ix) * C + c] * w[((n * C + c) * 3 + ky) * 3 + kx];
          }
        }
        y[(oy * W + ox) * N + n] = Math.min(Math.max(acc, lo), hi);
      }
    }
  }
  return y;
}

/** A strided output's N channels of each pixel, packed [H * W][N]. */
function pixelsOf(out: Float32Array, conv: Conv): Float32Array {
  const packed = new Float32Array(conv.H * conv.W * conv.N);
  for (let p = 0; p < conv.H * conv.W; p++) packed.set(out.subarray((p * conv.outStride) / 4, (p * conv.outStride) / 4 + conv.N), p * conv.N);
  return packed;
}

/** Largest |got - want| over the output pixels, relative to want's range (at least 1). */
function relativeError(got: Float32Array, want: Float64Array, conv: Conv): number {
  let range = 0, err = 0;
  let min = Infinity, max = -Infinity;
  for (const v of want) [min, max] = [Math.min(min, v), Math.max(max, v)];
  range = Math.max(1, max - min);
  for (let p = 0; p < conv.H * conv.W; p++) {
    for (let n = 0; n < conv.N; n++) err = Math.max(err, Math.abs(got[(p * conv.outStride) / 4 + n] - want[p * conv.N + n]));
  }
  return err / range;
}

describe('f32_winograd3x3_simd', () => {
  it('equals the scalar reference bit for bit on random shapes, channel tails, strided views and clamps', async () => {
    const r = rng(21);
    for (let trial = 0; trial < 40; trial++) {
      const k = await freshKernels(16 << 20);
      const take = allocator(k);
      const conv = randomConv(r);
      const a = winograd(k, take, conv, 'f32_winograd3x3_simd');
      const b = winograd(k, take, conv, 'f32_winograd3x3_ref');
      // Same bits everywhere, including the untouched NaN gaps between pixels of a strided output.
      expect(new Uint32Array(a.buffer)).toEqual(new Uint32Array(b.buffer));
      for (let p = 0; p < conv.H * conv.W; p++) for (let n = 0; n < conv.N; n++) expect(Number.isNaN(a[(p * conv.outStride) / 4 + n])).toBe(false);
    }
  });

  it(`agrees with the direct kernel (f32_igemm_4x8) within ${TOLERANCE} of the output range`, async () => {
    const r = rng(22);
    let worst = 0, worstDirect = 0, worstApart = 0;
    for (let trial = 0; trial < 40; trial++) {
      const k = await freshKernels(16 << 20);
      const take = allocator(k);
      const conv = randomConv(r);
      const want = exact(conv);
      const wino = winograd(k, take, conv, 'f32_winograd3x3_simd');
      const dir = direct(k, take, conv);
      worst = Math.max(worst, relativeError(wino, want, conv));
      worstDirect = Math.max(worstDirect, relativeError(dir, want, conv));
      worstApart = Math.max(worstApart, relativeError(wino, Float64Array.from(pixelsOf(dir, conv)), conv));
    }
    expect(worstApart).toBeLessThan(TOLERANCE);
    expect(worst).toBeLessThan(TOLERANCE);
    // A transform slip that still passes the tolerance shows as an error far above the direct one.
    expect(worst).toBeLessThan(10 * worstDirect);
    console.log(`f32 Winograd F(4x4, 3x3), of the output range: ${worst.toExponential(2)} from float64 (direct: ${worstDirect.toExponential(2)}), ${worstApart.toExponential(2)} from direct`);
  });
});

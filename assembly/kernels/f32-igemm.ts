// f32 indirect GEMM: the one convolution kernel of the float path (XNNPACK's f32-igemm idea).
//
//   out[p][n] = clamp(bias[n] + sum over t < taps, k < K of A(p, t)[k] * W[t][k][n], lo, hi)
//
// A(p, t) is a pointer read from the indirection buffer: for output pixel p and tap t it names K
// contiguous input floats (one input pixel's channels, or a whole kernel row when the planner
// merges kx taps), or a zero buffer where the window hangs over padding. One kernel thus covers
// 1x1, 3x3 pad 1, 3x3 / 7x7 stride 2 and any other shape, with no im2col copy and no branches
// for borders.
//
// Layouts (prepared once by the planner):
//   indirection: u32 [ceil(M / 4)][taps][4]; rows past M may point anywhere readable.
//   weights:     per block of 8 output channels: bias f32[8], then f32 [taps][K][8];
//                channels past N are zero.
//   out:         pixel p at out + p * outStride bytes, N contiguous floats.

export const F32_MR: i32 = 4;
export const F32_NR: i32 = 8;

// c + x * w. The relaxed build fuses it into one FMA where the CPU has one (a single rounding, so
// results differ from the plain build in the last bits, within the documented tolerance); the
// plain build keeps the separate multiply and add that the scalar reference rounds like.
// @ts-ignore: decorator
@inline
function madd(x: v128, w: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, w, c);
  return f32x4.add(c, f32x4.mul(x, w));
}

// @ts-ignore: decorator
@inline
function storeRow(dst: usize, lo: v128, hi: v128, n: i32): void {
  if (n >= 8) {
    v128.store(dst, lo);
    v128.store(dst, hi, 16);
    return;
  }
  let v = lo;
  let rest = n;
  if (rest >= 4) {
    v128.store(dst, lo);
    v = hi;
    dst += 16;
    rest -= 4;
  }
  if (rest > 0) v128.store32_lane(dst, v, 0);
  if (rest > 1) v128.store32_lane(dst, v, 1, 4);
  if (rest > 2) v128.store32_lane(dst, v, 2, 8);
}

/**
 * SIMD 4x8 micro-kernel over the whole output. The result is clamped to [lo, hi]: lo 0 is a fused
 * ReLU, hi a folded Clip (ReLU6); -Infinity and Infinity leave it unclamped.
 */
export function f32_igemm_4x8_simd(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32, lo: f32, hi: f32,
): void {
  const blockBytes = <usize>(8 + taps * K * 8) << 2;
  const clamp = lo > -Infinity || hi < Infinity;
  const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
  for (let nb = 0; nb < N; nb += 8) {
    const wBlock = weights + <usize>(nb >> 3) * blockBytes;
    const nLeft = N - nb;
    let ind = indirection;
    for (let p = 0; p < M; p += 4) {
      let c0lo = v128.load(wBlock), c0hi = v128.load(wBlock, 16);
      let c1lo = c0lo, c1hi = c0hi, c2lo = c0lo, c2hi = c0hi, c3lo = c0lo, c3hi = c0hi;
      let w = wBlock + 32;
      for (let t = 0; t < taps; t++) {
        let a0 = <usize>load<u32>(ind);
        let a1 = <usize>load<u32>(ind, 4);
        let a2 = <usize>load<u32>(ind, 8);
        let a3 = <usize>load<u32>(ind, 12);
        ind += 16;
        const aEnd = a0 + (<usize>K << 2);
        while (a0 < aEnd) {
          const wlo = v128.load(w);
          const whi = v128.load(w, 16);
          let x = v128.load32_splat(a0);
          c0lo = madd(x, wlo, c0lo);
          c0hi = madd(x, whi, c0hi);
          x = v128.load32_splat(a1);
          c1lo = madd(x, wlo, c1lo);
          c1hi = madd(x, whi, c1hi);
          x = v128.load32_splat(a2);
          c2lo = madd(x, wlo, c2lo);
          c2hi = madd(x, whi, c2hi);
          x = v128.load32_splat(a3);
          c3lo = madd(x, wlo, c3lo);
          c3hi = madd(x, whi, c3hi);
          a0 += 4; a1 += 4; a2 += 4; a3 += 4;
          w += 32;
        }
      }
      if (clamp) {
        c0lo = f32x4.min(f32x4.max(c0lo, lov), hiv); c0hi = f32x4.min(f32x4.max(c0hi, lov), hiv);
        c1lo = f32x4.min(f32x4.max(c1lo, lov), hiv); c1hi = f32x4.min(f32x4.max(c1hi, lov), hiv);
        c2lo = f32x4.min(f32x4.max(c2lo, lov), hiv); c2hi = f32x4.min(f32x4.max(c2hi, lov), hiv);
        c3lo = f32x4.min(f32x4.max(c3lo, lov), hiv); c3hi = f32x4.min(f32x4.max(c3hi, lov), hiv);
      }
      // Rows past M are clamped onto the last pixel; storing the highest row first lets the real
      // row's value land last, so the tail needs no branches.
      const o = out + (<usize>nb << 2);
      const last = M - 1;
      storeRow(o + <usize>min(p + 3, last) * outStride, c3lo, c3hi, nLeft);
      storeRow(o + <usize>min(p + 2, last) * outStride, c2lo, c2hi, nLeft);
      storeRow(o + <usize>min(p + 1, last) * outStride, c1lo, c1hi, nLeft);
      storeRow(o + <usize>p * outStride, c0lo, c0hi, nLeft);
    }
  }
}

/** Scalar reference: same layouts, same summation order per output, so results are bit-identical. */
export function f32_igemm_ref(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32, lo: f32, hi: f32,
): void {
  const blockBytes = <usize>(8 + taps * K * 8) << 2;
  for (let p = 0; p < M; p++) {
    const ind = indirection + (<usize>((p >> 2) * taps * 4 + (p & 3)) << 2);
    for (let n = 0; n < N; n++) {
      const wBlock = weights + <usize>(n >> 3) * blockBytes + (<usize>(n & 7) << 2);
      let acc = load<f32>(wBlock);
      for (let t = 0; t < taps; t++) {
        const a = <usize>load<u32>(ind + (<usize>t << 4));
        for (let k = 0; k < K; k++) {
          acc += load<f32>(a + (<usize>k << 2)) * load<f32>(wBlock + (<usize>(8 + (t * K + k) * 8) << 2));
        }
      }
      acc = min<f32>(max<f32>(acc, lo), hi);
      store<f32>(out + <usize>p * outStride + (<usize>n << 2), acc);
    }
  }
}

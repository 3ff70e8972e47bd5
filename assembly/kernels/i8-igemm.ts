import { pack, pack16, requantRound, requantScalar, requantTflScalar, storeRow, storeRow16, storeRowTfl } from './requant';

// Quantized indirect GEMM: the one convolution kernel of the integer path.
//
//   acc[p][n] = bias[n] + sum over t < taps, k < K of A(p, t)[k] * W[t][k][n]      (int32)
//   out[p][n] = clamp(zOut + ((acc * mult[n] + 2^(shift-1)) >> shift), qmin, qmax)  (uint8, int16 if `i16Out`)
//
// Activations are uint8 with a per-tensor zero point, or int16 with zero point 0 for the input and
// the tensors the quantizer makes i16 (docs/quantization.md); the planner folds the input zero point into
// bias (bias - zIn * sum_k W) and pads with bytes equal to zIn, so the inner loop multiplies raw
// bytes. Weights are int8, widened to int16 at load so the inner loop is one i32x4.dot_i16x8_s per
// 4 outputs x 2 k: each input pair (a[k], a[k+1]) is broadcast as [a0 a1 a0 a1 ...] and dotted
// with [w[k][n] w[k+1][n]] for 4 channels n. Requantization is integer-only: a per-channel
// multiplier and a per-layer shift, one rounding (half up), saturation to the clamp range.
//
// Layouts (prepared once by the planner):
//   indirection: u32 [ceil(M / 4)][taps][4] pointers to K input bytes (rows past M: anything readable).
//   weights:     per block of 8 output channels: bias i32[8], mult i32[8], then
//                i16 [taps][ceil(K / 2)][8][2]; k = K (odd K) and channels past N are zero.
//   out:         pixel p at out + p * outStride bytes, N contiguous bytes (int16 if `i16Out`).
// A(p, t) is read in pairs, so K odd reads one byte past each run: its weight is zero.
//
// With `rounding` != 0 (uint8 inputs only) the kernel requantizes the way TensorFlow Lite does
// (requant.ts, `requantTfl`), for imported .tflite models: per output channel a multiplier and a
// right shift r, given as `rounding`: i32 half[Np] (2^(r-1), or 0) then i32 pow[Np] (2^(30-r)), Np = N
// rounded up to 8; the packed block's `mult` holds TFLite's multipliers, `shift` and `i16Out` are
// unused, the output is uint8. One kernel with a branch per tile rather than a second copy of it.

/** Broadcasts the input pair (a[k], a[k+1]) to [a0 a1 a0 a1 ...] as int16 lanes. */
// @ts-ignore: decorator
@inline
function pair<T>(a: usize): v128 {
  if (sizeof<T>() == 1) return i16x8.extend_low_i8x16_u(v128.load16_splat(a));
  return v128.load32_splat(a);
}

/** SIMD 4x8 micro-kernel over uint8 inputs, pairs of k per i32x4.dot_i16x8_s. */
export function u8_igemm_4x8c2_simd(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize,
): void {
  igemm<u8>(M, N, taps, K, indirection, weights, out, outStride, shift, zOut, qmin, qmax, i16Out, rounding);
}

/**
 * The same over int16 inputs: a first layer may take the image quantized to 16 bits (finer than
 * the rounding of the resized pixels) at no extra cost, since the kernel multiplies in int16 anyway.
 */
export function i16_igemm_4x8c2_simd(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  igemm<i16>(M, N, taps, K, indirection, weights, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

// @ts-ignore: decorator
@inline
function igemm<T>(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize = 0,
): void {
  const step = <usize>(2 * sizeof<T>());
  const pairs = (K + 1) >> 1;
  const blockBytes = <usize>(64 + taps * pairs * 32);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zv = i32x4.splat(zOut);
  const lov = i16Out ? i16x8.splat(<i16>qmin) : i8x16.splat(<i8>qmin);
  const hiv = i16Out ? i16x8.splat(<i16>qmax) : i8x16.splat(<i8>qmax);
  for (let nb = 0; nb < N; nb += 8) {
    const wBlock = weights + <usize>(nb >> 3) * blockBytes;
    const nLeft = N - nb;
    let ind = indirection;
    for (let p = 0; p < M; p += 4) {
      let c0lo = v128.load(wBlock), c0hi = v128.load(wBlock, 16);
      let c1lo = c0lo, c1hi = c0hi, c2lo = c0lo, c2hi = c0hi, c3lo = c0lo, c3hi = c0hi;
      let w = wBlock + 64;
      for (let t = 0; t < taps; t++) {
        let a0 = <usize>load<u32>(ind);
        let a1 = <usize>load<u32>(ind, 4);
        let a2 = <usize>load<u32>(ind, 8);
        let a3 = <usize>load<u32>(ind, 12);
        ind += 16;
        const aEnd = a0 + <usize>pairs * step;
        while (a0 < aEnd) {
          const wlo = v128.load(w);
          const whi = v128.load(w, 16);
          let x = pair<T>(a0);
          c0lo = i32x4.add(c0lo, i32x4.dot_i16x8_s(x, wlo));
          c0hi = i32x4.add(c0hi, i32x4.dot_i16x8_s(x, whi));
          x = pair<T>(a1);
          c1lo = i32x4.add(c1lo, i32x4.dot_i16x8_s(x, wlo));
          c1hi = i32x4.add(c1hi, i32x4.dot_i16x8_s(x, whi));
          x = pair<T>(a2);
          c2lo = i32x4.add(c2lo, i32x4.dot_i16x8_s(x, wlo));
          c2hi = i32x4.add(c2hi, i32x4.dot_i16x8_s(x, whi));
          x = pair<T>(a3);
          c3lo = i32x4.add(c3lo, i32x4.dot_i16x8_s(x, wlo));
          c3hi = i32x4.add(c3hi, i32x4.dot_i16x8_s(x, whi));
          a0 += step; a1 += step; a2 += step; a3 += step;
          w += 32;
        }
      }
      const mlo = v128.load(wBlock, 32), mhi = v128.load(wBlock, 48);
      const o = out + (i16Out ? <usize>nb << 1 : <usize>nb);
      const last = M - 1;
      // Highest row first: rows past M clamp onto the last pixel and the real row is written last.
      const o3 = o + <usize>min(p + 3, last) * outStride, o2 = o + <usize>min(p + 2, last) * outStride;
      const o1 = o + <usize>min(p + 1, last) * outStride, o0 = o + <usize>p * outStride;
      if (rounding != 0) {
        const np = <usize>((N + 7) & ~7) << 2, at = rounding + (<usize>nb << 2);
        const hlo = v128.load(at), hhi = v128.load(at, 16), plo = v128.load(at + np), phi = v128.load(at + np, 16);
        storeRowTfl(o3, nLeft, c3lo, c3hi, mlo, mhi, hlo, hhi, plo, phi, zv, lov, hiv);
        storeRowTfl(o2, nLeft, c2lo, c2hi, mlo, mhi, hlo, hhi, plo, phi, zv, lov, hiv);
        storeRowTfl(o1, nLeft, c1lo, c1hi, mlo, mhi, hlo, hhi, plo, phi, zv, lov, hiv);
        storeRowTfl(o0, nLeft, c0lo, c0hi, mlo, mhi, hlo, hhi, plo, phi, zv, lov, hiv);
      } else if (i16Out) {
        storeRow16(o3, pack16(c3lo, c3hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow16(o2, pack16(c2lo, c2hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow16(o1, pack16(c1lo, c1hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow16(o0, pack16(c0lo, c0hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
      } else {
        storeRow(o3, pack(c3lo, c3hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow(o2, pack(c2lo, c2hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow(o1, pack(c1lo, c1hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
        storeRow(o0, pack(c0lo, c0hi, mlo, mhi, round, pre, post, zv, lov, hiv), nLeft);
      }
    }
  }
}

/**
 * Scalar reference: same layouts and the same integer arithmetic, so results are bit-identical;
 * with `rounding`, TFLite's rounding in the form TFLite states it, r read back from pow = 2^(30-r).
 */
export function u8_igemm_ref(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize,
): void {
  igemmRef<u8>(M, N, taps, K, indirection, weights, out, outStride, shift, zOut, qmin, qmax, i16Out, rounding);
}

/** Scalar reference of {@link i16_igemm_4x8c2_simd}. */
export function i16_igemm_ref(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  igemmRef<i16>(M, N, taps, K, indirection, weights, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

// @ts-ignore: decorator
@inline
function igemmRef<T>(
  M: i32, N: i32, taps: i32, K: i32,
  indirection: usize, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize = 0,
): void {
  const pairs = (K + 1) >> 1;
  const blockBytes = <usize>(64 + taps * pairs * 32);
  for (let p = 0; p < M; p++) {
    const ind = indirection + (<usize>((p >> 2) * taps * 4 + (p & 3)) << 2);
    for (let n = 0; n < N; n++) {
      const wBlock = weights + <usize>(n >> 3) * blockBytes;
      const lane = <usize>(n & 7);
      let acc = load<i32>(wBlock + (lane << 2));
      for (let t = 0; t < taps; t++) {
        const a = <usize>load<u32>(ind + (<usize>t << 4));
        for (let k = 0; k < pairs * 2; k++) {
          // Pair j of output n sits at [t][j][n][2]: lanes 0..3 in the first 16 bytes, 4..7 in the next.
          const j = k >> 1;
          const wAt = wBlock + 64 + <usize>((t * pairs + j) * 32) + ((lane & 3) << 2) + ((lane >> 2) << 4) + (<usize>(k & 1) << 1);
          acc += <i32>load<T>(a + <usize>k * sizeof<T>()) * <i32>load<i16>(wAt);
        }
      }
      const mult = load<i32>(wBlock + 32 + (lane << 2));
      const np = <usize>((N + 7) & ~7) << 2;
      const scaled = rounding != 0 ? requantTflScalar(acc, mult, 30 - ctz(load<i32>(rounding + np + (<usize>n << 2)))) : requantScalar(acc, mult, shift);
      const q = min(max(zOut + scaled, qmin), qmax);
      if (i16Out) store<i16>(out + <usize>p * outStride + (<usize>n << 1), <i16>q);
      else store<u8>(out + <usize>p * outStride + <usize>n, <u8>q);
    }
  }
}

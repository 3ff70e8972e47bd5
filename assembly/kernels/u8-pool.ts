// Pooling and data movement on quantized (uint8, or int16 where the quantizer makes a tensor i16)
// NHWC activations.
//
// Max pooling, copies and ReLU need no arithmetic on the quantized values: they keep the input's
// scale and zero point (the format requires it), so max is an integer max and ReLU is a clamp at the
// zero point. Average pooling rounds with a fixed-point reciprocal; the global average pool feeds
// the float softmax at the end and so keeps the exact integer sum instead of rounding it (over
// uint8, or over int16 when the quantizer makes the pool's input i16).

import { halfOf, powOf, requantTfl, requantTflScalar } from './requant';
import { windowEnd, windowStart } from './window';

// Max pool and copies are the same loops over uint8 (16 lanes per vector) and int16 (8 lanes,
// activations the quantizer makes i16), instantiated per type: `sizeof<T>()` is a compile-time
// constant, so each export compiles to straight code for its type.

// @ts-ignore: decorator
@inline
function vmax<T>(a: v128, b: v128): v128 {
  return sizeof<T>() == 1 ? i8x16.max_u(a, b) : i16x8.max_s(a, b);
}

// @ts-ignore: decorator
@inline
function vsplat<T>(x: i32): v128 {
  return sizeof<T>() == 1 ? i8x16.splat(<i8>x) : i16x8.splat(<i16>x);
}

// The smallest value of T: where a max starts (windows are never empty, the planner checks) and a
// copy's clamp that clamps nothing.
// @ts-ignore: decorator
@inline
function floorOf<T>(): i32 {
  return sizeof<T>() == 1 ? 0 : i16.MIN_VALUE;
}

// @ts-ignore: decorator
@inline
function maxpool<T>(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  const lanes = 16 / <i32>sizeof<T>();
  const CV = C & ~(lanes - 1);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = windowStart(oy, sh, pt), y1 = windowEnd(oy, sh, pt, kh, H);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = windowStart(ox, sw, pl), x1 = windowEnd(ox, sw, pl, kw, W);
      const dst = out + <usize>(oy * OW + ox) * outStride;
      let c = 0;
      for (; c < CV; c += lanes) {
        const at = <usize>c * sizeof<T>();
        let m = vsplat<T>(floorOf<T>());
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) m = vmax<T>(m, v128.load(inp + <usize>(y * W + x) * inStride + at));
        }
        v128.store(dst + at, m);
      }
      for (; c < C; c++) {
        const at = <usize>c * sizeof<T>();
        let m = floorOf<T>();
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) m = max<i32>(m, <i32>load<T>(inp + <usize>(y * W + x) * inStride + at));
        }
        store<T>(dst + at, <T>m);
      }
    }
  }
}

// @ts-ignore: decorator
@inline
function maxpoolRef<T>(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let c = 0; c < C; c++) {
        const at = <usize>c * sizeof<T>();
        let m = floorOf<T>();
        for (let y = windowStart(oy, sh, pt); y < windowEnd(oy, sh, pt, kh, H); y++) {
          for (let x = windowStart(ox, sw, pl); x < windowEnd(ox, sw, pl, kw, W); x++) {
            m = max<i32>(m, <i32>load<T>(inp + <usize>(y * W + x) * inStride + at));
          }
        }
        store<T>(out + <usize>(oy * OW + ox) * outStride + at, <T>m);
      }
    }
  }
}

/** Max pool over uint8 values, 16 channels per vector. */
export function u8_maxpool_simd(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  maxpool<u8>(inp, H, W, C, inStride, out, OH, OW, outStride, kh, kw, sh, sw, pt, pl);
}

/** Scalar reference of {@link u8_maxpool_simd}. */
export function u8_maxpool_ref(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  maxpoolRef<u8>(inp, H, W, C, inStride, out, OH, OW, outStride, kh, kw, sh, sw, pt, pl);
}

/** {@link u8_maxpool_simd} over int16 values, 8 channels per vector. */
export function i16_maxpool_simd(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  maxpool<i16>(inp, H, W, C, inStride, out, OH, OW, outStride, kh, kw, sh, sw, pt, pl);
}

/** Scalar reference of {@link i16_maxpool_simd}. */
export function i16_maxpool_ref(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  maxpoolRef<i16>(inp, H, W, C, inStride, out, OH, OW, outStride, kh, kw, sh, sw, pt, pl);
}

// Average of n values: floor(S / n + 1/2) computed as (S * R + 2^30) >> 31 with R = ceil(2^31 / n).
// Rounding R up makes every tie land on the upper side, and the error (below 2^-13 for S < 2^18)
// is smaller than the distance 1/(2n) to any other rounding boundary, so this is exact for the
// windows the format allows (at most 256 pixels, so sums fit 16 bits).

// @ts-ignore: decorator
@inline
function recip(n: i32): u64 {
  return ((<u64>1 << 31) + <u64>n - 1) / <u64>n;
}

/** With `tfl`, sums below this (128 n, for even n) are lowered by one so that ties round down. */
// @ts-ignore: decorator
@inline
function tiesBelow(tfl: i32, n: i32): i32 {
  return tfl && (n & 1) == 0 ? 128 * n : 0;
}

/** TFLite's int8 average: s / n rounded half away from zero, in its integer-division form. */
function tflAverage(s: i32, n: i32): i32 {
  return s > 0 ? (s + n / 2) / n : (s - n / 2) / n;
}

// @ts-ignore: decorator
@inline
function divRound(s: v128, r: v128): v128 {
  const half = i64x2.splat(1 << 30);
  const lo = i64x2.shr_u(i64x2.add(i64x2.extmul_low_i32x4_u(s, r), half), 31);
  const hi = i64x2.shr_u(i64x2.add(i64x2.extmul_high_i32x4_u(s, r), half), 31);
  return i8x16.shuffle(lo, hi, 0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27);
}

/**
 * Average pool over uint8 values (same scale and zero point in and out). The divisor is the
 * number of covered pixels or, with `countPad`, the window clipped to the padded input, whose
 * padded positions count as the zero point `zp`. With `tfl`, ties round as TensorFlow Lite's int8
 * average pool does: it averages the int8 values (u - 128) and rounds half away from zero, so a
 * tie below 128 rounds down. Ties need an even n; there the sum is lowered by one first.
 */
export function u8_avgpool_simd(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countPad: i32, zp: i32, tfl: i32,
): void {
  const C8 = C & ~7;
  for (let oy = 0; oy < OH; oy++) {
    const y0 = windowStart(oy, sh, pt), y1 = windowEnd(oy, sh, pt, kh, H);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = windowStart(ox, sw, pl), x1 = windowEnd(ox, sw, pl, kw, W);
      const covered = (y1 - y0) * (x1 - x0);
      const n = countPad
        ? (min(oy * sh - pt + kh, H + pb) - (oy * sh - pt)) * (min(ox * sw - pl + kw, W + pr) - (ox * sw - pl))
        : covered;
      const r = i32x4.splat(<i32>recip(n));
      const padSum = i32x4.splat((n - covered) * zp);
      const below = tiesBelow(tfl, n);
      const bv = i32x4.splat(below);
      const dst = out + <usize>(oy * OW + ox) * outStride;
      let c = 0;
      for (; c < C8; c += 8) {
        let s = i16x8.splat(0);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s = i16x8.add(s, v128.load8x8_u(inp + <usize>(y * W + x) * inStride + <usize>c));
        }
        const slo = i32x4.add(i32x4.extend_low_i16x8_u(s), padSum), shi = i32x4.add(i32x4.extend_high_i16x8_u(s), padSum);
        const lo = divRound(i32x4.add(slo, i32x4.lt_s(slo, bv)), r);
        const hi = divRound(i32x4.add(shi, i32x4.lt_s(shi, bv)), r);
        const q = i16x8.narrow_i32x4_s(lo, hi);
        v128.store64_lane(dst + <usize>c, i8x16.narrow_i16x8_u(q, q), 0);
      }
      for (; c < C; c++) {
        let s: u64 = <u64>((n - covered) * zp);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s += load<u8>(inp + <usize>(y * W + x) * inStride + <usize>c);
        }
        if (s < <u64>below) s--;
        store<u8>(dst + <usize>c, <u8>((s * recip(n) + (1 << 30)) >> 31));
      }
    }
  }
}

/** Scalar reference of {@link u8_avgpool_simd}. */
export function u8_avgpool_ref(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countPad: i32, zp: i32, tfl: i32,
): void {
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const ys = oy * sh - pt, xs = ox * sw - pl;
      const y0 = max(ys, 0), y1 = min(ys + kh, H), x0 = max(xs, 0), x1 = min(xs + kw, W);
      const covered = (y1 - y0) * (x1 - x0);
      const n = countPad ? (min(ys + kh, H + pb) - ys) * (min(xs + kw, W + pr) - xs) : covered;
      for (let c = 0; c < C; c++) {
        let s: u64 = <u64>((n - covered) * zp);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s += load<u8>(inp + <usize>(y * W + x) * inStride + <usize>c);
        }
        // TFLite's own form: the int8 sum, rounded half away from zero by integer division.
        const q = tfl ? tflAverage(<i32>s - 128 * n, n) + 128 : <i32>((s * recip(n) + (1 << 30)) >> 31);
        store<u8>(out + <usize>(oy * OW + ox) * outStride + <usize>c, <u8>q);
      }
    }
  }
}

/**
 * Global average pool feeding the float output: out[c] = sum over P pixels of (q - zp) as int32,
 * exact. The caller multiplies by scale / P in float for the softmax.
 */
export function u8_global_sum_simd(inp: usize, P: i32, C: i32, inStride: i32, zp: i32, out: usize): void {
  globalSum(inp, P, C, inStride, zp, out, false, 0, 0, 0, 0);
}

/**
 * TensorFlow Lite's int8 MEAN over all pixels (a global average pool imported from a .tflite
 * model): the exact sum of (q - zp), shifted left by `left` and requantized the TFLite way with
 * `mult` and right shift `right` (requant.ts), which fold 1 / P into the input-to-output scale
 * ratio as TFLite does (docs/tflite.md), plus `zOut`, as uint8.
 */
export function u8_global_mean_simd(inp: usize, P: i32, C: i32, inStride: i32, zp: i32, mult: i32, left: i32, right: i32, zOut: i32, out: usize): void {
  globalSum(inp, P, C, inStride, zp, out, true, mult, left, right, zOut);
}

/** The sums of both, 8 channels at a time; `mean` (a constant at each call) picks the store. */
// @ts-ignore: decorator
@inline
function globalSum(inp: usize, P: i32, C: i32, inStride: i32, zp: i32, out: usize, mean: bool, mult: i32, left: i32, right: i32, zOut: i32): void {
  const C8 = C & ~7;
  const bias = i32x4.splat(-P * zp);
  const mv = i32x4.splat(mult), hv = halfOf(right), pv = powOf(right), zv = i32x4.splat(zOut);
  let c = 0;
  for (; c < C8; c += 8) {
    let lo = bias, hi = bias;
    for (let p = 0; p < P; p++) {
      const v = v128.load8x8_u(inp + <usize>p * inStride + <usize>c);
      lo = i32x4.add(lo, i32x4.extend_low_i16x8_u(v));
      hi = i32x4.add(hi, i32x4.extend_high_i16x8_u(v));
    }
    if (mean) {
      const q16 = i16x8.narrow_i32x4_s(requantTfl(i32x4.shl(lo, left), mv, hv, pv, zv), requantTfl(i32x4.shl(hi, left), mv, hv, pv, zv));
      v128.store64_lane(out + <usize>c, i8x16.narrow_i16x8_u(q16, q16), 0);
    } else {
      v128.store(out + (<usize>c << 2), lo);
      v128.store(out + (<usize>c << 2), hi, 16);
    }
  }
  for (; c < C; c++) {
    if (mean) store<u8>(out + <usize>c, <u8>meanOf(inp + <usize>c, P, inStride, zp, mult, left, right, zOut));
    else store<i32>(out + (<usize>c << 2), columnSum(inp + <usize>c, P, inStride, zp));
  }
}

/** Scalar reference of {@link u8_global_mean_simd}. */
export function u8_global_mean_ref(inp: usize, P: i32, C: i32, inStride: i32, zp: i32, mult: i32, left: i32, right: i32, zOut: i32, out: usize): void {
  for (let c = 0; c < C; c++) store<u8>(out + <usize>c, <u8>meanOf(inp + <usize>c, P, inStride, zp, mult, left, right, zOut));
}

// @ts-ignore: decorator
@inline
function meanOf(inp: usize, P: i32, inStride: i32, zp: i32, mult: i32, left: i32, right: i32, zOut: i32): i32 {
  return min(max(zOut + requantTflScalar(columnSum(inp, P, inStride, zp) << left, mult, right), 0), 255);
}

/** Sum over P pixels of one channel's (q - zp). */
// @ts-ignore: decorator
@inline
function columnSum(inp: usize, P: i32, inStride: i32, zp: i32): i32 {
  let s = -P * zp;
  for (let p = 0; p < P; p++) s += load<u8>(inp + <usize>p * inStride);
  return s;
}

/** Scalar reference of {@link u8_global_sum_simd}. */
export function u8_global_sum_ref(inp: usize, P: i32, C: i32, inStride: i32, zp: i32, out: usize): void {
  for (let c = 0; c < C; c++) store<i32>(out + (<usize>c << 2), columnSum(inp + <usize>c, P, inStride, zp));
}

/**
 * {@link u8_global_sum_simd} over int16 values (zero point 0): a classifier's per-pixel scores kept
 * in int16 before the pool. |q| <= 4095, so the sum is exact for up to 2^19 pixels (the loader checks).
 */
export function i16_global_sum_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize): void {
  const C8 = C & ~7;
  let c = 0;
  for (; c < C8; c += 8) {
    let lo = i32x4.splat(0), hi = i32x4.splat(0);
    for (let p = 0; p < P; p++) {
      const v = v128.load(inp + <usize>p * inStride + (<usize>c << 1));
      lo = i32x4.add(lo, i32x4.extend_low_i16x8_s(v));
      hi = i32x4.add(hi, i32x4.extend_high_i16x8_s(v));
    }
    v128.store(out + (<usize>c << 2), lo);
    v128.store(out + (<usize>c << 2), hi, 16);
  }
  for (; c < C; c++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += load<i16>(inp + <usize>p * inStride + (<usize>c << 1));
    store<i32>(out + (<usize>c << 2), s);
  }
}

/** Scalar reference of {@link i16_global_sum_simd}. */
export function i16_global_sum_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize): void {
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let p = 0; p < P; p++) s += load<i16>(inp + <usize>p * inStride + (<usize>c << 1));
    store<i32>(out + (<usize>c << 2), s);
  }
}

// @ts-ignore: decorator
@inline
function copy<T>(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  const lanes = 16 / <i32>sizeof<T>();
  const CV = C & ~(lanes - 1);
  const lov = vsplat<T>(lo);
  for (let p = 0; p < P; p++) {
    const src = inp + <usize>p * inStride, dst = out + <usize>p * outStride;
    let c = 0;
    for (; c < CV; c += lanes) {
      const at = <usize>c * sizeof<T>();
      v128.store(dst + at, vmax<T>(v128.load(src + at), lov));
    }
    for (; c < C; c++) {
      const at = <usize>c * sizeof<T>();
      store<T>(dst + at, <T>max<i32>(<i32>load<T>(src + at), lo));
    }
  }
}

// @ts-ignore: decorator
@inline
function copyRef<T>(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      const at = <usize>c * sizeof<T>();
      store<T>(out + <usize>p * outStride + at, <T>max<i32>(<i32>load<T>(inp + <usize>p * inStride + at), lo));
    }
  }
}

/**
 * Copies P pixels of C bytes between strided layouts, clamping below at `lo` (the zero point for
 * ReLU, 0 for a plain copy): a concat input that cannot be written in place, or a stand-alone ReLU.
 */
export function u8_copy_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  copy<u8>(inp, P, C, inStride, out, outStride, lo);
}

/** Scalar reference of {@link u8_copy_simd}. */
export function u8_copy_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  copyRef<u8>(inp, P, C, inStride, out, outStride, lo);
}

/** {@link u8_copy_simd} over int16 values (C channels of two bytes; -32768 for a plain copy). */
export function i16_copy_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  copy<i16>(inp, P, C, inStride, out, outStride, lo);
}

/** Scalar reference of {@link i16_copy_simd}. */
export function i16_copy_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, lo: i32): void {
  copyRef<i16>(inp, P, C, inStride, out, outStride, lo);
}

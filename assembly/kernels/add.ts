import { halfOf, powOf, requantRound, requantTfl, requantTflScalar, roundShift, roundShiftScalar } from './requant';

// Element-wise addition of two NHWC activations of the same shape: the residual connections of
// SqueezeNeXt-style networks. Inputs and output are addressed by pointer and pixel stride in
// bytes, like every other kernel, so any of them may be a channel slice of a wider tensor.
//
// int8: the two inputs have their own scales and zero points. Each is rescaled to the output
// scale and both are summed in one 64-bit fixed-point step, rounded once (half up):
//
//   q_out = clamp(zOut + ((m0 (q0 - z0) + m1 (q1 - z1) + 2^(shift-1)) >> shift), qmin, qmax)
//
// with m_i = round(s_i / s_out * 2^shift). This is TFLite's quantized Add (rescale both inputs to
// a common fixed-point scale, add, requantize) with the left shift folded into the multipliers and
// one rounding instead of three; the loader checks that the shifted sum fits int32. Inputs are
// both uint8 or both int16 (zero point 0, the quantizer's i16 tensors), the output either.

/** out = a + b, clamped at zero when `relu` != 0, 4 channels per vector. */
export function f32_add_simd(a: usize, aStride: i32, b: usize, bStride: i32, P: i32, C: i32, out: usize, outStride: i32, relu: i32): void {
  const C4 = C & ~3;
  const zero = f32x4.splat(0);
  for (let p = 0; p < P; p++) {
    const pa = a + <usize>p * aStride, pb = b + <usize>p * bStride, po = out + <usize>p * outStride;
    let c = 0;
    for (; c < C4; c += 4) {
      let v = f32x4.add(v128.load(pa + (<usize>c << 2)), v128.load(pb + (<usize>c << 2)));
      if (relu) v = f32x4.max(v, zero);
      v128.store(po + (<usize>c << 2), v);
    }
    for (; c < C; c++) {
      let v = load<f32>(pa + (<usize>c << 2)) + load<f32>(pb + (<usize>c << 2));
      if (relu) v = max<f32>(v, 0);
      store<f32>(po + (<usize>c << 2), v);
    }
  }
}

/** Scalar reference of {@link f32_add_simd}. */
export function f32_add_ref(a: usize, aStride: i32, b: usize, bStride: i32, P: i32, C: i32, out: usize, outStride: i32, relu: i32): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      let v = load<f32>(a + <usize>p * aStride + (<usize>c << 2)) + load<f32>(b + <usize>p * bStride + (<usize>c << 2));
      if (relu) v = max<f32>(v, 0);
      store<f32>(out + <usize>p * outStride + (<usize>c << 2), v);
    }
  }
}

/**
 * Quantized add over uint8 inputs (see above), 8 channels per step. The output is uint8, or int16
 * when `i16Out`; it is clamped to [qmin, qmax] (qmin is zOut with ReLU).
 */
export function u8_add_simd(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  add<u8>(a, aStride, za, ma, b, bStride, zb, mb, P, C, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

/** The same over int16 inputs (zero point 0): residual streams kept in int16. */
export function i16_add_simd(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  add<i16>(a, aStride, za, ma, b, bStride, zb, mb, P, C, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

/** Eight input values as int16 lanes. */
// @ts-ignore: decorator
@inline
function load8<T>(p: usize): v128 {
  if (sizeof<T>() == 1) return v128.load8x8_u(p);
  return v128.load(p);
}

// @ts-ignore: decorator
@inline
function add<T>(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  const inSize = <usize>sizeof<T>();
  const C8 = C & ~7;
  const zav = i16x8.splat(<i16>za), zbv = i16x8.splat(<i16>zb);
  const mav = i32x4.splat(ma), mbv = i32x4.splat(mb);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zv = i32x4.splat(zOut);
  const lov = i16Out ? i16x8.splat(<i16>qmin) : i8x16.splat(<i8>qmin);
  const hiv = i16Out ? i16x8.splat(<i16>qmax) : i8x16.splat(<i8>qmax);
  for (let p = 0; p < P; p++) {
    const pa = a + <usize>p * aStride, pb = b + <usize>p * bStride, po = out + <usize>p * outStride;
    let c = 0;
    for (; c < C8; c += 8) {
      // q - z fits int16 (-255..255, or the int16 values themselves); widened for the 64-bit products.
      const xa = i16x8.sub(load8<T>(pa + <usize>c * inSize), zav);
      const xb = i16x8.sub(load8<T>(pb + <usize>c * inSize), zbv);
      const alo = i32x4.extend_low_i16x8_s(xa), ahi = i32x4.extend_high_i16x8_s(xa);
      const blo = i32x4.extend_low_i16x8_s(xb), bhi = i32x4.extend_high_i16x8_s(xb);
      const lo = roundShift(
        i64x2.add(i64x2.extmul_low_i32x4_s(alo, mav), i64x2.extmul_low_i32x4_s(blo, mbv)),
        i64x2.add(i64x2.extmul_high_i32x4_s(alo, mav), i64x2.extmul_high_i32x4_s(blo, mbv)),
        round, pre, post, zv,
      );
      const hi = roundShift(
        i64x2.add(i64x2.extmul_low_i32x4_s(ahi, mav), i64x2.extmul_low_i32x4_s(bhi, mbv)),
        i64x2.add(i64x2.extmul_high_i32x4_s(ahi, mav), i64x2.extmul_high_i32x4_s(bhi, mbv)),
        round, pre, post, zv,
      );
      const s16 = i16x8.narrow_i32x4_s(lo, hi);
      if (i16Out) v128.store(po + (<usize>c << 1), i16x8.min_s(i16x8.max_s(s16, lov), hiv));
      else v128.store64_lane(po + <usize>c, i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(s16, s16), lov), hiv), 0);
    }
    for (; c < C; c++) addScalar<T>(pa, pb, po, c, za, ma, zb, mb, shift, zOut, qmin, qmax, i16Out);
  }
}

// @ts-ignore: decorator
@inline
function addRef<T>(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      addScalar<T>(a + <usize>p * aStride, b + <usize>p * bStride, out + <usize>p * outStride, c, za, ma, zb, mb, shift, zOut, qmin, qmax, i16Out);
    }
  }
}

/** Scalar reference of {@link u8_add_simd}. */
export function u8_add_ref(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  addRef<u8>(a, aStride, za, ma, b, bStride, zb, mb, P, C, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

/** Scalar reference of {@link i16_add_simd}. */
export function i16_add_ref(
  a: usize, aStride: i32, za: i32, ma: i32, b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool,
): void {
  addRef<i16>(a, aStride, za, ma, b, bStride, zb, mb, P, C, out, outStride, shift, zOut, qmin, qmax, i16Out);
}

// @ts-ignore: decorator
@inline
function addScalar<T>(pa: usize, pb: usize, po: usize, c: i32, za: i32, ma: i32, zb: i32, mb: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool): void {
  const at = <usize>c * sizeof<T>();
  const sum = <i64>(<i32>load<T>(pa + at) - za) * <i64>ma + <i64>(<i32>load<T>(pb + at) - zb) * <i64>mb;
  const q = min(max(zOut + roundShiftScalar(sum, shift), qmin), qmax);
  if (i16Out) store<i16>(po + (<usize>c << 1), <i16>q);
  else store<u8>(po + <usize>c, <u8>q);
}

// TensorFlow Lite's int8 Add, for imported .tflite models (bit-identical to its reference kernel):
// each input, minus its zero point, is shifted left by 20 bits and rescaled by its own multiplier
// and right shift; the sum is requantized by the output's, each step rounding the TFLite way
// (requant.ts, `requantTfl`). `ra`, `rb`, `rOut` are the right shifts (0..30), multipliers Q31.
// uint8 here is TFLite's int8 plus 128, zero points included.

/** TFLite's int8 add over uint8 storage, 4 channels per vector. */
export function u8_add_tfl_simd(
  a: usize, aStride: i32, za: i32, ma: i32, ra: i32, b: usize, bStride: i32, zb: i32, mb: i32, rb: i32,
  P: i32, C: i32, out: usize, outStride: i32, mOut: i32, rOut: i32, zOut: i32, qmin: i32, qmax: i32,
): void {
  const C4 = C & ~3;
  const zav = i32x4.splat(za), zbv = i32x4.splat(zb), zv = i32x4.splat(zOut), zero = i32x4.splat(0);
  const mav = i32x4.splat(ma), hav = halfOf(ra), pav = powOf(ra);
  const mbv = i32x4.splat(mb), hbv = halfOf(rb), pbv = powOf(rb);
  const mov = i32x4.splat(mOut), hov = halfOf(rOut), pov = powOf(rOut);
  const lov = i32x4.splat(qmin), hiv = i32x4.splat(qmax);
  for (let p = 0; p < P; p++) {
    const pa = a + <usize>p * aStride, pb = b + <usize>p * bStride, po = out + <usize>p * outStride;
    let c = 0;
    for (; c < C4; c += 4) {
      const xa = i32x4.shl(i32x4.sub(load4(pa + <usize>c), zav), 20);
      const xb = i32x4.shl(i32x4.sub(load4(pb + <usize>c), zbv), 20);
      const sum = i32x4.add(requantTfl(xa, mav, hav, pav, zero), requantTfl(xb, mbv, hbv, pbv, zero));
      const q = i32x4.min_s(i32x4.max_s(requantTfl(sum, mov, hov, pov, zv), lov), hiv);
      const q16 = i16x8.narrow_i32x4_s(q, q);
      v128.store32_lane(po + <usize>c, i8x16.narrow_i16x8_u(q16, q16), 0);
    }
    for (; c < C; c++) store<u8>(po + <usize>c, <u8>addTflScalar(load<u8>(pa + <usize>c), za, ma, ra, load<u8>(pb + <usize>c), zb, mb, rb, mOut, rOut, zOut, qmin, qmax));
  }
}

/** Scalar reference of {@link u8_add_tfl_simd}. */
export function u8_add_tfl_ref(
  a: usize, aStride: i32, za: i32, ma: i32, ra: i32, b: usize, bStride: i32, zb: i32, mb: i32, rb: i32,
  P: i32, C: i32, out: usize, outStride: i32, mOut: i32, rOut: i32, zOut: i32, qmin: i32, qmax: i32,
): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      const qa = load<u8>(a + <usize>p * aStride + <usize>c), qb = load<u8>(b + <usize>p * bStride + <usize>c);
      store<u8>(out + <usize>p * outStride + <usize>c, <u8>addTflScalar(qa, za, ma, ra, qb, zb, mb, rb, mOut, rOut, zOut, qmin, qmax));
    }
  }
}

// @ts-ignore: decorator
@inline
function addTflScalar(qa: i32, za: i32, ma: i32, ra: i32, qb: i32, zb: i32, mb: i32, rb: i32, mOut: i32, rOut: i32, zOut: i32, qmin: i32, qmax: i32): i32 {
  const sum = requantTflScalar((qa - za) << 20, ma, ra) + requantTflScalar((qb - zb) << 20, mb, rb);
  return min(max(zOut + requantTflScalar(sum, mOut, rOut), qmin), qmax);
}

/** Four uint8 values as int32 lanes. */
// @ts-ignore: decorator
@inline
function load4(p: usize): v128 {
  return i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p)));
}

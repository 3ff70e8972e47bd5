import { requantRound, roundShift, roundShiftScalar } from './requant';

// Element-wise addition of two NHWC activations of the same shape: the residual connections of
// SqueezeNeXt-style networks. Inputs and output are addressed by pointer and pixel stride in
// bytes, like every other kernel, so any of them may be a channel slice of a wider tensor.
//
// int8: the two inputs have their own scales and zero points. Each is rescaled to the output
// scale and both are summed in one 64-bit fixed-point step, rounded once (half up):
//
//   q_out = clamp(zOut + ((m0 (q0 - z0) + m1 (q1 - z1) + 2^(shift-1)) >> shift), qmin, 255)
//
// with m_i = round(s_i / s_out * 2^shift). This is TFLite's quantized Add (rescale both inputs to
// a common fixed-point scale, add, requantize) with the left shift folded into the multipliers and
// one rounding instead of three; the loader checks that the shifted sum fits int32.

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

/** uint8 add with per-input rescaling (see above), 8 channels per step. `qmin` is zOut with ReLU, else 0. */
export function u8_add_simd(
  a: usize, aStride: i32, za: i32, ma: i32,
  b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32,
): void {
  const C8 = C & ~7;
  const zav = i16x8.splat(<i16>za), zbv = i16x8.splat(<i16>zb);
  const mav = i32x4.splat(ma), mbv = i32x4.splat(mb);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zv = i32x4.splat(zOut);
  const lov = i8x16.splat(<i8>qmin);
  for (let p = 0; p < P; p++) {
    const pa = a + <usize>p * aStride, pb = b + <usize>p * bStride, po = out + <usize>p * outStride;
    let c = 0;
    for (; c < C8; c += 8) {
      // q - z fits int16 (-255..255); widened to int32 for the 64-bit products.
      const xa = i16x8.sub(v128.load8x8_u(pa + <usize>c), zav);
      const xb = i16x8.sub(v128.load8x8_u(pb + <usize>c), zbv);
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
      v128.store64_lane(po + <usize>c, i8x16.max_u(i8x16.narrow_i16x8_u(s16, s16), lov), 0);
    }
    for (; c < C; c++) store<u8>(po + <usize>c, addScalar(pa, pb, c, za, ma, zb, mb, shift, zOut, qmin));
  }
}

/** Scalar reference of {@link u8_add_simd}. */
export function u8_add_ref(
  a: usize, aStride: i32, za: i32, ma: i32,
  b: usize, bStride: i32, zb: i32, mb: i32,
  P: i32, C: i32, out: usize, outStride: i32, shift: i32, zOut: i32, qmin: i32,
): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      const q = addScalar(a + <usize>p * aStride, b + <usize>p * bStride, c, za, ma, zb, mb, shift, zOut, qmin);
      store<u8>(out + <usize>p * outStride + <usize>c, q);
    }
  }
}

// @ts-ignore: decorator
@inline
function addScalar(pa: usize, pb: usize, c: i32, za: i32, ma: i32, zb: i32, mb: i32, shift: i32, zOut: i32, qmin: i32): u8 {
  const sum = <i64>(<i32>load<u8>(pa + <usize>c) - za) * <i64>ma + <i64>(<i32>load<u8>(pb + <usize>c) - zb) * <i64>mb;
  return <u8>min(max(zOut + roundShiftScalar(sum, shift), qmin), 255);
}

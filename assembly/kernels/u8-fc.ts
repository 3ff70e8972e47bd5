// TensorFlow Lite's int8 FULLY_CONNECTED, for layers imported from .tflite models. Unlike its
// convolutions, TFLite 2.21's reference kernel requantizes in floating point: each output is
// round(acc * s[n]) with s[n] = inputScale * weightScale[n] / outputScale in double and halves
// rounded away from zero (std::round), plus the output zero point, clamped (docs/tflite.md).
//
// Layouts (prepared once by the planner):
//   x:     K uint8 inputs (TFLite's int8 plus 128), read 8 at a time: up to 7 bytes past K are read
//          and multiplied by zero weights.
//   w:     i16 [N][K8], K8 = K rounded up to 8, zero past K.
//   bias:  i32 [N], with the input zero point folded in (bias - zIn * sum_k w).
//   scale: f64 [N].

/** One output: TFLite's std::round of acc * scale, plus zOut, clamped to [qmin, qmax]. */
// @ts-ignore: decorator
@inline
function output(acc: i32, scale: f64, zOut: i32, qmin: i32, qmax: i32): u8 {
  const v = <f64>acc * scale;
  const t = trunc(v);
  const rest = v - t;
  const r = rest >= 0.5 ? t + 1 : rest <= -0.5 ? t - 1 : t;
  return <u8>min(max(<i32>r + zOut, qmin), qmax);
}

/** TFLite's int8 fully connected layer, 8 inputs per i32x4.dot_i16x8_s. */
export function u8_fc_tfl_simd(x: usize, K: i32, w: usize, bias: usize, scale: usize, N: i32, zOut: i32, qmin: i32, qmax: i32, out: usize): void {
  const K8 = (K + 7) & ~7;
  for (let n = 0; n < N; n++) {
    const row = w + (<usize>(n * K8) << 1);
    let acc = i32x4.splat(0);
    for (let k = 0; k < K8; k += 8) {
      acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(v128.load64_zero(x + <usize>k)), v128.load(row + (<usize>k << 1))));
    }
    const sum = load<i32>(bias + (<usize>n << 2)) + i32x4.extract_lane(acc, 0) + i32x4.extract_lane(acc, 1) + i32x4.extract_lane(acc, 2) + i32x4.extract_lane(acc, 3);
    store<u8>(out + <usize>n, output(sum, load<f64>(scale + (<usize>n << 3)), zOut, qmin, qmax));
  }
}

/** Scalar reference of {@link u8_fc_tfl_simd}. */
export function u8_fc_tfl_ref(x: usize, K: i32, w: usize, bias: usize, scale: usize, N: i32, zOut: i32, qmin: i32, qmax: i32, out: usize): void {
  const K8 = (K + 7) & ~7;
  for (let n = 0; n < N; n++) {
    let sum = load<i32>(bias + (<usize>n << 2));
    for (let k = 0; k < K; k++) sum += <i32>load<u8>(x + <usize>k) * <i32>load<i16>(w + (<usize>(n * K8 + k) << 1));
    store<u8>(out + <usize>n, output(sum, load<f64>(scale + (<usize>n << 3)), zOut, qmin, qmax));
  }
}

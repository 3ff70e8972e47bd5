// Pooling windows clipped to the input: with padding or ceil rounding a window may hang over an
// edge and then covers only the real pixels. Shared by the f32 and uint8 pools.

/** First input row (or column) of output position `o`'s window. */
// @ts-ignore: decorator
@inline
export function windowStart(o: i32, stride: i32, pad: i32): i32 {
  return max(o * stride - pad, 0);
}

/** One past the last input row (or column) of output position `o`'s window. */
// @ts-ignore: decorator
@inline
export function windowEnd(o: i32, stride: i32, pad: i32, k: i32, size: i32): i32 {
  return min(o * stride - pad + k, size);
}

// Fixed-point requantization shared by the int8 kernels (docs/quantization.md):
//
//   scaled = (acc * mult + 2^(shift-1)) >> shift      (64-bit product, one rounding, half up)
//
// x64 has no 64-bit arithmetic right shift below AVX-512 (V8 emulates i64x2.shr_s with several
// instructions), so the SIMD form takes the high 32 bits of each product with a shuffle and
// shifts those: floor(x / 2^s) = floor(floor(x / 2^32) / 2^(s-32)) for s >= 32, and for s < 32 the
// product is first shifted left by 32 - s, which cannot overflow because the loader guarantees
// |acc * mult| < 2^(31 + shift). Same result as the scalar form, fewer instructions.

/** Per-kernel constants: rounding term, left shift before and right shift after taking the high half. */
// @ts-ignore: decorator
@inline
export function requantRound(shift: i32): v128 {
  return i64x2.splat(<i64>1 << <i64>(shift - 1));
}

/** int32 lanes of `acc` scaled by `mult` (per lane) and `shift`, plus `zOut`. */
// @ts-ignore: decorator
@inline
export function requant(acc: v128, mult: v128, round: v128, pre: i32, post: i32, zOut: v128): v128 {
  const lo = i64x2.shl(i64x2.add(i64x2.extmul_low_i32x4_s(acc, mult), round), pre);
  const hi = i64x2.shl(i64x2.add(i64x2.extmul_high_i32x4_s(acc, mult), round), pre);
  return i32x4.add(i32x4.shr_s(i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31), post), zOut);
}

/** The scalar form, for the reference kernels. */
// @ts-ignore: decorator
@inline
export function requantScalar(acc: i32, mult: i32, shift: i32): i32 {
  return <i32>((<i64>acc * <i64>mult + (<i64>1 << <i64>(shift - 1))) >> <i64>shift);
}

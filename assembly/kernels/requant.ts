// Fixed-point requantization shared by the int8 kernels (docs/quantization.md):
//
//   scaled = (acc * mult + 2^(shift-1)) >> shift      (64-bit product, one rounding, half up)
//
// x64 has no 64-bit arithmetic right shift below AVX-512 (V8 emulates i64x2.shr_s with several
// instructions), so the SIMD form takes the high 32 bits of each product with a shuffle and
// shifts those: floor(x / 2^s) = floor(floor(x / 2^32) / 2^(s-32)) for s >= 32. For s > 32 the
// rounding term can be added after taking the high half, in 32 bits:
// floor((floor(P / 2^32) + 2^(s-33)) / 2^(s-32)) = floor((P + 2^(s-1)) / 2^s), since adding an
// integer commutes with the floor. Usual layers have s in 35..42, so that is the common path. For
// s <= 32 the rounded product is first shifted left by 32 - s, which cannot overflow because the
// loader guarantees |acc * mult| < 2^(31 + shift). Same result as the scalar form, fewer instructions.

/** Per-kernel rounding term: 2^(shift-33) in 32-bit lanes if shift > 32, else 2^(shift-1) in 64-bit lanes. */
// @ts-ignore: decorator
@inline
export function requantRound(shift: i32): v128 {
  return shift > 32 ? i32x4.splat(1 << (shift - 33)) : i64x2.splat(<i64>1 << <i64>(shift - 1));
}

/** int32 lanes of `acc` scaled by `mult` (per lane) and `shift`, plus `zOut`; pre = max(0, 32 - shift), post = max(0, shift - 32). */
// @ts-ignore: decorator
@inline
export function requant(acc: v128, mult: v128, round: v128, pre: i32, post: i32, zOut: v128): v128 {
  return roundShift(i64x2.extmul_low_i32x4_s(acc, mult), i64x2.extmul_high_i32x4_s(acc, mult), round, pre, post, zOut);
}

/**
 * The second half of {@link requant} on 64-bit lanes (lo: lanes 0 and 1, hi: lanes 2 and 3), for
 * kernels that form their own 64-bit sums: (x + 2^(shift-1)) >> shift, plus `zOut`, as int32 lanes.
 */
// @ts-ignore: decorator
@inline
export function roundShift(lo: v128, hi: v128, round: v128, pre: i32, post: i32, zOut: v128): v128 {
  if (post > 0) {
    const high = i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
    return i32x4.add(i32x4.shr_s(i32x4.add(high, round), post), zOut);
  }
  const rlo = i64x2.shl(i64x2.add(lo, round), pre);
  const rhi = i64x2.shl(i64x2.add(hi, round), pre);
  return i32x4.add(i8x16.shuffle(rlo, rhi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31), zOut);
}

/** The scalar form, for the reference kernels. */
// @ts-ignore: decorator
@inline
export function requantScalar(acc: i32, mult: i32, shift: i32): i32 {
  return roundShiftScalar(<i64>acc * <i64>mult, shift);
}

/** The scalar form of {@link roundShift}. */
// @ts-ignore: decorator
@inline
export function roundShiftScalar(x: i64, shift: i32): i32 {
  return <i32>((x + (<i64>1 << <i64>(shift - 1))) >> <i64>shift);
}

/** Stores the first min(n, 8) uint8 lanes of `v`. */
// @ts-ignore: decorator
@inline
export function storeRow(dst: usize, v: v128, n: i32): void {
  if (n >= 8) {
    v128.store64_lane(dst, v, 0);
    return;
  }
  let bytes = i64x2.extract_lane(v, 0);
  for (let i = 0; i < n; i++) {
    store<u8>(dst + <usize>i, <u8>bytes);
    bytes >>= 8;
  }
}

/** Stores the first min(n, 8) int16 lanes of `v`. */
// @ts-ignore: decorator
@inline
export function storeRow16(dst: usize, v: v128, n: i32): void {
  if (n >= 8) {
    v128.store(dst, v);
    return;
  }
  let bits = i64x2.extract_lane(v, 0);
  for (let i = 0; i < n; i++) {
    if (i == 4) bits = i64x2.extract_lane(v, 1);
    store<u16>(dst + (<usize>i << 1), <u16>bits);
    bits >>= 16;
  }
}

/** Eight int32 accumulators (`lo`, `hi`) requantized with per-lane multipliers and clamped to uint8 in [lov, hiv]. */
// @ts-ignore: decorator
@inline
export function pack(lo: v128, hi: v128, mlo: v128, mhi: v128, round: v128, pre: i32, post: i32, zv: v128, lov: v128, hiv: v128): v128 {
  const s16 = i16x8.narrow_i32x4_s(requant(lo, mlo, round, pre, post, zv), requant(hi, mhi, round, pre, post, zv));
  return i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(s16, s16), lov), hiv);
}

/** The same, clamped to int16. */
// @ts-ignore: decorator
@inline
export function pack16(lo: v128, hi: v128, mlo: v128, mhi: v128, round: v128, pre: i32, post: i32, zv: v128, lov: v128, hiv: v128): v128 {
  return i16x8.min_s(i16x8.max_s(i16x8.narrow_i32x4_s(requant(lo, mlo, round, pre, post, zv), requant(hi, mhi, round, pre, post, zv)), lov), hiv);
}

// TensorFlow Lite's requantization, for layers imported from .tflite models, whose outputs must
// be bit-identical to TFLite's reference kernels (docs/tflite.md). Its MultiplyByQuantizedMultiplier
// rounds twice, with a multiplier in [2^30, 2^31) and a right shift r per output channel:
//
//   y = SaturatingRoundingDoublingHighMul(acc, mult) = floor((acc * mult + 2^30) / 2^31)
//   z = RoundingDivideByPOT(y, r) = floor((y + 2^(r-1) - n) / 2^r)  (r >= 1);  y  (r = 0)
//
// the first half up (its nudge of 1 - 2^30 for negative products, then division towards zero, is
// that), the second half away from zero: n = 1 if y < 0, which is acc < 0 or y = 0, where both
// forms give 0. Wasm has no per-lane shift, so z divides by 2^r as a multiply by `pow` = 2^(30-r)
// and a common shift by 30; `half` is 2^(r-1), or 0 where r = 0 (and n is not subtracted then).
// The loader bounds |acc| below 2^30, so no step overflows.

/** int32 lanes of `acc` requantized the TFLite way with per-lane `mult`, `half` and `pow`, plus `zOut`. */
// @ts-ignore: decorator
@inline
export function requantTfl(acc: v128, mult: v128, half: v128, pow: v128, zOut: v128): v128 {
  const nudge = i64x2.splat(1 << 30);
  const plo = i64x2.shl(i64x2.add(i64x2.extmul_low_i32x4_s(acc, mult), nudge), 1);
  const phi = i64x2.shl(i64x2.add(i64x2.extmul_high_i32x4_s(acc, mult), nudge), 1);
  const y = highHalves(plo, phi);
  const neg = v128.and(i32x4.shr_s(acc, 31), i32x4.ne(half, i32x4.splat(0)));
  const u = i32x4.add(i32x4.add(y, half), neg);
  const z = highHalves(i64x2.shl(i64x2.extmul_low_i32x4_s(u, pow), 2), i64x2.shl(i64x2.extmul_high_i32x4_s(u, pow), 2));
  return i32x4.add(z, zOut);
}

/** `requantTfl`'s `half` for a right shift r: 2^(r-1), 0 if r = 0. */
// @ts-ignore: decorator
@inline
export function halfOf(r: i32): v128 {
  return i32x4.splat(r > 0 ? 1 << (r - 1) : 0);
}

/** `requantTfl`'s `pow` for a right shift r: 2^(30-r). */
// @ts-ignore: decorator
@inline
export function powOf(r: i32): v128 {
  return i32x4.splat(1 << (30 - r));
}

/** The high 32 bits of each 64-bit lane of `lo` (lanes 0, 1) and `hi` (lanes 2, 3). */
// @ts-ignore: decorator
@inline
function highHalves(lo: v128, hi: v128): v128 {
  return i8x16.shuffle(lo, hi, 4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31);
}

/**
 * Eight int32 accumulators requantized the TFLite way, clamped to uint8 in [lov, hiv] and stored
 * (the first min(n, 8)). Called, not inlined: once per row of a tile, it is not worth four copies.
 */
export function storeRowTfl(dst: usize, n: i32, lo: v128, hi: v128, mlo: v128, mhi: v128, hlo: v128, hhi: v128, plo: v128, phi: v128, zv: v128, lov: v128, hiv: v128): void {
  const s16 = i16x8.narrow_i32x4_s(requantTfl(lo, mlo, hlo, plo, zv), requantTfl(hi, mhi, hhi, phi, zv));
  storeRow(dst, i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(s16, s16), lov), hiv), n);
}

/**
 * The scalar form, written the way TFLite states it (SaturatingRoundingDoublingHighMul, then
 * RoundingDivideByPOT on the sign of its result) rather than as the SIMD form's floors: the
 * reference kernels check one formulation against the other.
 */
export function requantTflScalar(acc: i32, mult: i32, r: i32): i32 {
  const ab = <i64>acc * <i64>mult;
  const nudge: i64 = ab >= 0 ? 1 << 30 : 1 - (1 << 30);
  const y = <i32>((ab + nudge) / (<i64>1 << 31));
  const mask = (1 << r) - 1;
  const threshold = (mask >> 1) + (y < 0 ? 1 : 0);
  return (y >> r) + ((y & mask) > threshold ? 1 : 0);
}

// Operand memory of the roofline probes (probe.ts, probe-relaxed.ts; bench/roofline.ts times them).
//
// V8 hoists pure SIMD operations whose inputs do not change out of a loop, so a multiply of two
// register operands would run once, not once per iteration. Every probe therefore reads one
// operand per multiply from memory that stays in L1, as the kernels do; the other operand and the
// accumulators stay in registers.

/** 64 bytes: the operands held in registers. */
export const W: usize = 0;
/** Ring of 64 rows of 64 bytes (4 KB): the operand the register-blocked probes stream. */
export const RING: usize = 1024;
/** Kernel-shaped probes: 4 input rows, ROW bytes apart. */
export const A: usize = 8192;
export const ROW: usize = 256;
/** Kernel-shaped probes: the packed weights, up to 2 KB. */
export const WK: usize = 16384;
/** Kernel-shaped probes: input channels per pass (one tap of a layer with K = 64). */
export const K: i32 = 64;

/**
 * Fills the operand memory with floats in [1, 2): the f32 probes see neither denormals (slow on
 * x86) nor overflow, and the integer probes do not care which bits they multiply.
 */
export function init(): void {
  for (let i: usize = 0; i < (WK + 2048) >> 2; i++) store<f32>(i << 2, 1 + <f32>(i & 1023) / 1024);
}

/** Row `i` (mod 64) of the ring. */
// @ts-ignore: decorator
@inline
export function row(i: i32): usize {
  return RING + (<usize>(i & 63) << 6);
}

/** Sum of all lanes of 8 int32x4 accumulators, so no accumulator is dead code. */
// @ts-ignore: decorator
@inline
export function sumI32(a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, g: v128, h: v128): f64 {
  const s = i32x4.add(i32x4.add(i32x4.add(a, b), i32x4.add(c, d)), i32x4.add(i32x4.add(e, f), i32x4.add(g, h)));
  return <f64>(i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3));
}

/** Sum of all lanes of 8 f32x4 accumulators. */
// @ts-ignore: decorator
@inline
export function sumF32(a: v128, b: v128, c: v128, d: v128, e: v128, f: v128, g: v128, h: v128): f64 {
  const s = f32x4.add(f32x4.add(f32x4.add(a, b), f32x4.add(c, d)), f32x4.add(f32x4.add(e, f), f32x4.add(g, h)));
  return <f64>(f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

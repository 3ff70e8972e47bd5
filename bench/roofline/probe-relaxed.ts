// Roofline probes, relaxed SIMD (a module of its own: an engine without relaxed SIMD rejects the
// whole module). Same shape as the register-blocked probes in probe.ts: 4 or 2 streamed operands
// times 2 in registers, 8 or 4 accumulators. No kernel uses these instructions yet; the probes say
// what they would be worth on this machine.

import { W, row, sumF32, sumI32 } from './probe-common';

export { init } from './probe-common';

/** 8 x f32x4.relaxed_madd (an FMA where the CPU has one). */
export function madd_acc8(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = f32x4.relaxed_madd(x, w0, c0);
    c1 = f32x4.relaxed_madd(x, w1, c1);
    x = v128.load(r, 16);
    c2 = f32x4.relaxed_madd(x, w0, c2);
    c3 = f32x4.relaxed_madd(x, w1, c3);
    x = v128.load(r, 32);
    c4 = f32x4.relaxed_madd(x, w0, c4);
    c5 = f32x4.relaxed_madd(x, w1, c5);
    x = v128.load(r, 48);
    c6 = f32x4.relaxed_madd(x, w0, c6);
    c7 = f32x4.relaxed_madd(x, w1, c7);
  }
  return sumF32(c0, c1, c2, c3, c4, c5, c6, c7);
}

/** 4 x f32x4.relaxed_madd. */
export function madd_acc4(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = f32x4.relaxed_madd(x, w0, c0);
    c1 = f32x4.relaxed_madd(x, w1, c1);
    x = v128.load(r, 16);
    c2 = f32x4.relaxed_madd(x, w0, c2);
    c3 = f32x4.relaxed_madd(x, w1, c3);
  }
  const z = f32x4.splat(0);
  return sumF32(c0, c1, c2, c3, z, z, z, z);
}

/** 16 int8 MACs into 4 int32 lanes the two-step way: 8 int16 sums of 2 products, then pairs of those. */
// @ts-ignore: decorator
@inline
function dot16(c: v128, x: v128, w: v128): v128 {
  return i32x4.add(c, i32x4.extadd_pairwise_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(x, w)));
}

/** 8 x (i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s + i32x4.add). */
export function dot16_acc8(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = dot16(c0, x, w0);
    c1 = dot16(c1, x, w1);
    x = v128.load(r, 16);
    c2 = dot16(c2, x, w0);
    c3 = dot16(c3, x, w1);
    x = v128.load(r, 32);
    c4 = dot16(c4, x, w0);
    c5 = dot16(c5, x, w1);
    x = v128.load(r, 48);
    c6 = dot16(c6, x, w0);
    c7 = dot16(c7, x, w1);
  }
  return sumI32(c0, c1, c2, c3, c4, c5, c6, c7);
}

/** 4 x (i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s + i32x4.add). */
export function dot16_acc4(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = dot16(c0, x, w0);
    c1 = dot16(c1, x, w1);
    x = v128.load(r, 16);
    c2 = dot16(c2, x, w0);
    c3 = dot16(c3, x, w1);
  }
  const z = i32x4.splat(0);
  return sumI32(c0, c1, c2, c3, z, z, z, z);
}

/** 8 x i32x4.relaxed_dot_i8x16_i7x16_add_s (one VNNI instruction where V8 uses VNNI). */
export function dotadd_acc8(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c0);
    c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c1);
    x = v128.load(r, 16);
    c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c2);
    c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c3);
    x = v128.load(r, 32);
    c4 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c4);
    c5 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c5);
    x = v128.load(r, 48);
    c6 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c6);
    c7 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c7);
  }
  return sumI32(c0, c1, c2, c3, c4, c5, c6, c7);
}

/** 4 x i32x4.relaxed_dot_i8x16_i7x16_add_s. */
export function dotadd_acc4(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c0);
    c1 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c1);
    x = v128.load(r, 16);
    c2 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w0, c2);
    c3 = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, w1, c3);
  }
  const z = i32x4.splat(0);
  return sumI32(c0, c1, c2, c3, z, z, z, z);
}

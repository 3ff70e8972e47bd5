// Roofline probes, plain SIMD: the throughput of the instruction mixes the kernels use, with 8 and
// with 4 independent accumulators (with 4, an accumulate whose latency is more than 4 times its
// issue interval waits for its own previous result), and the kernels' inner loops themselves with
// their data in L1. Each probe runs `n` iterations and returns the sum of all its accumulators, so
// none is dead code. bench/roofline.ts builds this file and knows each iteration's MACs and
// instructions.

import { A, K, ROW, W, WK, row, sumF32, sumI32 } from './probe-common';

export { K, init } from './probe-common';

/** 8 x (i32x4.dot_i16x8_s + i32x4.add): 4 streamed operands x 2 in registers, as in i8-igemm. */
export function int8_acc8(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, w0));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, w1));
    x = v128.load(r, 16);
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, w0));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, w1));
    x = v128.load(r, 32);
    c4 = i32x4.add(c4, i32x4.dot_i16x8_s(x, w0));
    c5 = i32x4.add(c5, i32x4.dot_i16x8_s(x, w1));
    x = v128.load(r, 48);
    c6 = i32x4.add(c6, i32x4.dot_i16x8_s(x, w0));
    c7 = i32x4.add(c7, i32x4.dot_i16x8_s(x, w1));
  }
  return sumI32(c0, c1, c2, c3, c4, c5, c6, c7);
}

/** 4 x (i32x4.dot_i16x8_s + i32x4.add). */
export function int8_acc4(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = i32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = i32x4.add(c0, i32x4.dot_i16x8_s(x, w0));
    c1 = i32x4.add(c1, i32x4.dot_i16x8_s(x, w1));
    x = v128.load(r, 16);
    c2 = i32x4.add(c2, i32x4.dot_i16x8_s(x, w0));
    c3 = i32x4.add(c3, i32x4.dot_i16x8_s(x, w1));
  }
  const z = i32x4.splat(0);
  return sumI32(c0, c1, c2, c3, z, z, z, z);
}

/** 8 x (f32x4.mul + f32x4.add), as in f32-igemm (V8 does not fuse them into an FMA). */
export function f32_acc8(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = f32x4.add(c0, f32x4.mul(x, w0));
    c1 = f32x4.add(c1, f32x4.mul(x, w1));
    x = v128.load(r, 16);
    c2 = f32x4.add(c2, f32x4.mul(x, w0));
    c3 = f32x4.add(c3, f32x4.mul(x, w1));
    x = v128.load(r, 32);
    c4 = f32x4.add(c4, f32x4.mul(x, w0));
    c5 = f32x4.add(c5, f32x4.mul(x, w1));
    x = v128.load(r, 48);
    c6 = f32x4.add(c6, f32x4.mul(x, w0));
    c7 = f32x4.add(c7, f32x4.mul(x, w1));
  }
  return sumF32(c0, c1, c2, c3, c4, c5, c6, c7);
}

/** 4 x (f32x4.mul + f32x4.add). */
export function f32_acc4(n: i32): f64 {
  const w0 = v128.load(W), w1 = v128.load(W, 16);
  let c0 = f32x4.splat(0), c1 = c0, c2 = c0, c3 = c0;
  for (let i = 0; i < n; i++) {
    const r = row(i);
    let x = v128.load(r);
    c0 = f32x4.add(c0, f32x4.mul(x, w0));
    c1 = f32x4.add(c1, f32x4.mul(x, w1));
    x = v128.load(r, 16);
    c2 = f32x4.add(c2, f32x4.mul(x, w0));
    c3 = f32x4.add(c3, f32x4.mul(x, w1));
  }
  const z = f32x4.splat(0);
  return sumF32(c0, c1, c2, c3, z, z, z, z);
}

/** Broadcasts an input pair as int16 lanes, as i8-igemm's `pair<T>` does. */
// @ts-ignore: decorator
@inline
function pair<T>(a: usize): v128 {
  if (sizeof<T>() == 1) return i16x8.extend_low_i8x16_u(v128.load16_splat(a));
  return v128.load32_splat(a);
}

/**
 * The inner loop of u8_igemm_4x8c2_simd (T = u8) and of i16_igemm_4x8c2_simd and the
 * Winograd GEMM (T = i16), copied: per iteration one input pair of 4 pixels times 8 channels.
 * `n` passes over one tap of K channels.
 */
// @ts-ignore: decorator
@inline
function int8Kernel<T>(n: i32): f64 {
  const step = <usize>(2 * sizeof<T>());
  let c0lo = v128.load(W), c0hi = v128.load(W, 16);
  let c1lo = c0lo, c1hi = c0hi, c2lo = c0lo, c2hi = c0hi, c3lo = c0lo, c3hi = c0hi;
  for (let i = 0; i < n; i++) {
    let a0 = A, a1 = A + ROW, a2 = A + 2 * ROW, a3 = A + 3 * ROW;
    let w = WK;
    const aEnd = a0 + <usize>(K >> 1) * step;
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
  return sumI32(c0lo, c0hi, c1lo, c1hi, c2lo, c2hi, c3lo, c3hi);
}

/** u8_igemm_4x8c2_simd's inner loop over uint8 inputs (load16_splat + extend_low_i8x16_u). */
export function int8_kernel_u8(n: i32): f64 {
  return int8Kernel<u8>(n);
}

/** The inner loop over int16 inputs (load32_splat): i16_igemm_4x8c2_simd, Winograd's GEMM. */
export function int8_kernel_i16(n: i32): f64 {
  return int8Kernel<i16>(n);
}

/** f32_igemm_4x8_simd's inner loop, copied: `n` passes over one tap of K channels. */
export function f32_kernel(n: i32): f64 {
  let c0lo = v128.load(W), c0hi = v128.load(W, 16);
  let c1lo = c0lo, c1hi = c0hi, c2lo = c0lo, c2hi = c0hi, c3lo = c0lo, c3hi = c0hi;
  for (let i = 0; i < n; i++) {
    let a0 = A, a1 = A + ROW, a2 = A + 2 * ROW, a3 = A + 3 * ROW;
    let w = WK;
    const aEnd = a0 + (<usize>K << 2);
    while (a0 < aEnd) {
      const wlo = v128.load(w);
      const whi = v128.load(w, 16);
      let x = v128.load32_splat(a0);
      c0lo = f32x4.add(c0lo, f32x4.mul(x, wlo));
      c0hi = f32x4.add(c0hi, f32x4.mul(x, whi));
      x = v128.load32_splat(a1);
      c1lo = f32x4.add(c1lo, f32x4.mul(x, wlo));
      c1hi = f32x4.add(c1hi, f32x4.mul(x, whi));
      x = v128.load32_splat(a2);
      c2lo = f32x4.add(c2lo, f32x4.mul(x, wlo));
      c2hi = f32x4.add(c2hi, f32x4.mul(x, whi));
      x = v128.load32_splat(a3);
      c3lo = f32x4.add(c3lo, f32x4.mul(x, wlo));
      c3hi = f32x4.add(c3hi, f32x4.mul(x, whi));
      a0 += 4; a1 += 4; a2 += 4; a3 += 4;
      w += 32;
    }
  }
  return sumF32(c0lo, c0hi, c1lo, c1hi, c2lo, c2hi, c3lo, c3hi);
}

import { pack, pack16, requantRound, requantScalar, requantTflScalar, storeRow, storeRow16, storeRowTfl } from './requant';

// The int8 indirect GEMM on the relaxed dot product, i32x4.relaxed_dot_i8x16_i7x16_add_s: 16
// multiply-adds in one instruction, which V8 lowers to one vpdpbusd on x86 CPUs with AVX-VNNI and
// to one sdot on Arm CPUs with the dot-product extension. The instruction is exact on every engine
// only while its second operand is in 0..127, so activations arrive as 7-bit "planes":
//
//   v = q - zIn + zFold    (zFold: the value the planner folds into the bias; v >= 0)
//   v = 128 * hi + lo,     lo and hi in 0..127
//   acc[p][n] = bias'[n] + 128 * sum hi * w + sum lo * w      bias' = bias - zFold * sum(w)
//
// One plane (`planes` = 1) is an activation that is already in 0..127: a u7 tensor, read in place;
// or, where the engine's instruction is exact on 8 bits (the planner only asks for that after
// probing it), a u8 tensor: read in place where the engine reads the operand unsigned (x86
// vpdpbusd), or flipped by u8_flip8 (below) to q ^ 0x80, the signed byte q - 128, where it reads it
// signed (Arm sdot; V8's code before tier-up, pairs of widening multiplies summed in 16 bits, is
// exact on it too, since weights are in -127..127: a pair reaches 2 * 128 * 127 < 2^15). A flip
// inside the kernel would cost the 16th register of its tile: spills.
// Two planes come from a u8 or i16 tensor split by u8_split7 / i16_split7 (below): the same sum
// as the dot_i16x8 kernels compute, so the outputs are bit-identical to theirs. The hi pass runs
// first into the same accumulators, which are then shifted left by 7: wrapping int32 arithmetic is
// exact modulo 2^32, and the final sum (the real accumulator) fits int32 (the loader checks).
//
// Layouts (prepared once by the planner):
//   indirection: u32 [ceil(M / 6)][taps][6] pointers to K lo bytes (rows past M: the last row's);
//                the hi bytes of the same run are `hiOffset` bytes further.
//   weights:     per block of 8 output channels: bias' i32[8], mult i32[8], then
//                int8 [taps][ceil(K / 4)][8][4]; k past K and channels past N are zero.
//   out:         pixel p at out + p * outStride bytes, N contiguous bytes (int16 if `i16Out`).
// A run is read in groups of 4 bytes, so up to 3 bytes past its end: their weights are zero.

/** Output pixels per micro-kernel call: 6 x 2 accumulators, 2 weight vectors, 1 broadcast fit 15 xmm registers. */
export const P7_MR: i32 = 6;

/**
 * The SIMD micro-kernel: 6 pixels x 8 channels, 4 k per lane, one or two 7-bit planes, or one of
 * 8-bit bytes that the engine reads exactly: `signedBytes` (a flipped u8 plane) says how the
 * planner expects it to read them, which only the scalar reference needs to be told. With
 * `rounding` != 0, TensorFlow Lite's requantization, as in u8_igemm_4x8c2_simd (uint8 output).
 */
export function p7_igemm_6x8c4_relaxed(
  M: i32, N: i32, taps: i32, K: i32, indirection: usize, weights: usize, out: usize, outStride: i32,
  planes: i32, hiOffset: i32, signedBytes: bool, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize,
): void {
  if (ASC_FEATURE_RELAXED_SIMD) {
    igemm(M, N, taps, K, indirection, weights, out, outStride, planes, hiOffset, shift, zOut, qmin, qmax, i16Out, rounding);
  } else {
    unreachable();
  }
}

// @ts-ignore: decorator
@inline
function dot(w: v128, x: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.relaxed_dot_i8x16_i7x16_add_s(w, x, acc);
  return acc;
}

// @ts-ignore: decorator
@inline
function igemm(
  M: i32, N: i32, taps: i32, K: i32, indirection: usize, weights: usize, out: usize, outStride: i32,
  planes: i32, hiOffset: i32, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize,
): void {
  const run = <usize>(((K + 3) >> 2) << 2);
  const np = <usize>((N + 7) & ~7) << 2;
  const blockBytes = <usize>(64 + taps * <i32>run * 8);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zv = i32x4.splat(zOut);
  const lov = i16Out ? i16x8.splat(<i16>qmin) : i8x16.splat(<i8>qmin);
  const hiv = i16Out ? i16x8.splat(<i16>qmax) : i8x16.splat(<i8>qmax);
  const tapBytes = <usize>(taps * 24);
  for (let nb = 0; nb < N; nb += 8) {
    const wBlock = weights + <usize>(nb >> 3) * blockBytes;
    const nLeft = N - nb;
    let ip = indirection;
    for (let p = 0; p < M; p += 6) {
      let c0a = i32x4.splat(0), c0b = c0a, c1a = c0a, c1b = c0a, c2a = c0a, c2b = c0a;
      let c3a = c0a, c3b = c0a, c4a = c0a, c4b = c0a, c5a = c0a, c5b = c0a;
      // The hi plane first (when there is one), then the lo plane into the same accumulators.
      for (let pass = 0; pass < planes; pass++) {
        let off: usize = 0;
        if (pass + 1 < planes) {
          off = <usize>hiOffset;
        } else if (pass > 0) {
          c0a = i32x4.shl(c0a, 7); c0b = i32x4.shl(c0b, 7); c1a = i32x4.shl(c1a, 7); c1b = i32x4.shl(c1b, 7);
          c2a = i32x4.shl(c2a, 7); c2b = i32x4.shl(c2b, 7); c3a = i32x4.shl(c3a, 7); c3b = i32x4.shl(c3b, 7);
          c4a = i32x4.shl(c4a, 7); c4b = i32x4.shl(c4b, 7); c5a = i32x4.shl(c5a, 7); c5b = i32x4.shl(c5b, 7);
        }
        let w = wBlock + 64;
        let q = ip;
        const qEnd = ip + tapBytes;
        while (q < qEnd) {
          let a0 = <usize>load<u32>(q) + off, a1 = <usize>load<u32>(q, 4) + off, a2 = <usize>load<u32>(q, 8) + off;
          let a3 = <usize>load<u32>(q, 12) + off, a4 = <usize>load<u32>(q, 16) + off, a5 = <usize>load<u32>(q, 20) + off;
          q += 24;
          const aEnd = a0 + run;
          while (a0 < aEnd) {
            const w0 = v128.load(w), w1 = v128.load(w, 16);
            let x = v128.load32_splat(a0);
            c0a = dot(w0, x, c0a); c0b = dot(w1, x, c0b);
            x = v128.load32_splat(a1);
            c1a = dot(w0, x, c1a); c1b = dot(w1, x, c1b);
            x = v128.load32_splat(a2);
            c2a = dot(w0, x, c2a); c2b = dot(w1, x, c2b);
            x = v128.load32_splat(a3);
            c3a = dot(w0, x, c3a); c3b = dot(w1, x, c3b);
            x = v128.load32_splat(a4);
            c4a = dot(w0, x, c4a); c4b = dot(w1, x, c4b);
            x = v128.load32_splat(a5);
            c5a = dot(w0, x, c5a); c5b = dot(w1, x, c5b);
            a0 += 4; a1 += 4; a2 += 4; a3 += 4; a4 += 4; a5 += 4;
            w += 32;
          }
        }
      }
      ip += tapBytes;
      const ba = v128.load(wBlock), bb = v128.load(wBlock, 16);
      const ma = v128.load(wBlock, 32), mb = v128.load(wBlock, 48);
      const o = out + (i16Out ? <usize>nb << 1 : <usize>nb);
      const last = M - 1;
      if (rounding != 0) {
        // TFLite's requantization (i8-igemm.ts, `rounding`): per-channel constants, a call per row.
        const at = rounding + (<usize>nb << 2);
        const ha = v128.load(at), hb = v128.load(at, 16), pa = v128.load(at + np), pb = v128.load(at + np, 16);
        storeRowTfl(o + <usize>min(p + 5, last) * outStride, nLeft, i32x4.add(c5a, ba), i32x4.add(c5b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        storeRowTfl(o + <usize>min(p + 4, last) * outStride, nLeft, i32x4.add(c4a, ba), i32x4.add(c4b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        storeRowTfl(o + <usize>min(p + 3, last) * outStride, nLeft, i32x4.add(c3a, ba), i32x4.add(c3b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        storeRowTfl(o + <usize>min(p + 2, last) * outStride, nLeft, i32x4.add(c2a, ba), i32x4.add(c2b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        storeRowTfl(o + <usize>min(p + 1, last) * outStride, nLeft, i32x4.add(c1a, ba), i32x4.add(c1b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        storeRowTfl(o + <usize>p * outStride, nLeft, i32x4.add(c0a, ba), i32x4.add(c0b, bb), ma, mb, ha, hb, pa, pb, zv, lov, hiv);
        continue;
      }
      // Highest row first: rows past M clamp onto the last pixel and the real row is written last.
      storeTileRow(o + <usize>min(p + 5, last) * outStride, c5a, c5b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
      storeTileRow(o + <usize>min(p + 4, last) * outStride, c4a, c4b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
      storeTileRow(o + <usize>min(p + 3, last) * outStride, c3a, c3b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
      storeTileRow(o + <usize>min(p + 2, last) * outStride, c2a, c2b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
      storeTileRow(o + <usize>min(p + 1, last) * outStride, c1a, c1b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
      storeTileRow(o + <usize>p * outStride, c0a, c0b, ba, bb, ma, mb, round, pre, post, zv, lov, hiv, nLeft, i16Out);
    }
  }
}

/**
 * One output row of a tile: bias added, requantized, stored as uint8 or int16. It runs once per
 * 8 channels of a pixel where the dots run once per 4 k, so on layers with few k (conv1, the 1x1
 * expands) the epilogue is most of the time. Inlined, it made SqueezeNet 1.1 7 % faster (conv1
 * 30 %, Fire 2's expand 1x1 39 %; Node 24, AVX-VNNI) for 3.2 KB of code; inlining only the uint8
 * path, with the int16 one a call, lost the expands' gain.
 */
// @ts-ignore: decorator
@inline
function storeTileRow(
  o: usize, ca: v128, cb: v128, ba: v128, bb: v128, ma: v128, mb: v128, round: v128, pre: i32, post: i32, zv: v128, lov: v128, hiv: v128, n: i32, i16Out: bool,
): void {
  if (i16Out) storeRow16(o, pack16(i32x4.add(ca, ba), i32x4.add(cb, bb), ma, mb, round, pre, post, zv, lov, hiv), n);
  else storeRow(o, pack(i32x4.add(ca, ba), i32x4.add(cb, bb), ma, mb, round, pre, post, zv, lov, hiv), n);
}

/** Scalar reference of {@link p7_igemm_6x8c4_relaxed}: the same layouts and integer sums, in any build. */
export function p7_igemm_ref(
  M: i32, N: i32, taps: i32, K: i32, indirection: usize, weights: usize, out: usize, outStride: i32,
  planes: i32, hiOffset: i32, signedBytes: bool, shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, rounding: usize,
): void {
  const np = <usize>((N + 7) & ~7) << 2;
  const run = ((K + 3) >> 2) << 2;
  const blockBytes = <usize>(64 + taps * run * 8);
  for (let p = 0; p < M; p++) {
    const ind = indirection + (<usize>((p / 6) * taps * 6 + (p % 6)) << 2);
    for (let n = 0; n < N; n++) {
      const wBlock = weights + <usize>(n >> 3) * blockBytes;
      const lane = <usize>(n & 7);
      let acc = 0;
      for (let t = 0; t < taps; t++) {
        const a = <usize>load<u32>(ind + <usize>t * 24);
        for (let k = 0; k < run; k++) {
          // Weight k of output n sits at [t][k / 4][n][k % 4].
          const wv = <i32>load<i8>(wBlock + 64 + <usize>((t * (run >> 2) + (k >> 2)) * 32) + (lane << 2) + <usize>(k & 3));
          const lo = signedBytes ? <i32>load<i8>(a + <usize>k) : <i32>load<u8>(a + <usize>k);
          const v = lo + (planes == 2 ? <i32>load<u8>(a + <usize>hiOffset + <usize>k) << 7 : 0);
          acc += v * wv;
        }
      }
      acc += load<i32>(wBlock + (lane << 2));
      const mult = load<i32>(wBlock + 32 + (lane << 2));
      const scaled = rounding != 0 ? requantTflScalar(acc, mult, 30 - ctz(load<i32>(rounding + np + (<usize>n << 2)))) : requantScalar(acc, mult, shift);
      const q = min(max(zOut + scaled, qmin), qmax);
      if (i16Out) store<i16>(out + <usize>p * outStride + (<usize>n << 1), <i16>q);
      else store<u8>(out + <usize>p * outStride + <usize>n, <u8>q);
    }
  }
}

/**
 * Splits `P` pixels of `C` int16 channels (stride `inStride` bytes) into the two 7-bit planes
 * {@link p7_igemm_6x8c4_relaxed} reads: v = q + offset (the planner's zFold - zIn, making v >= 0
 * for 13-bit q) as lo = v & 127 at out + p * outStride + c and hi = v >> 7 `hiOffset` bytes
 * further; then a padding run of `padLen` bytes at `pad` (and its hi twin) whose value is `padValue`.
 */
export function i16_split7_simd(
  inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32, pad: usize, padLen: i32, padValue: i32,
): void {
  split7Simd<i16>(inp, P, C, inStride, out, outStride, hiOffset, offset);
  padRun(pad, padLen, padValue, hiOffset);
}

/** Scalar reference of {@link i16_split7_simd}. */
export function i16_split7_ref(
  inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32, pad: usize, padLen: i32, padValue: i32,
): void {
  split7Ref<i16>(inp, P, C, inStride, out, outStride, hiOffset, offset);
  padRun(pad, padLen, padValue, hiOffset);
}

/** {@link i16_split7_simd} over uint8 channels (v = q + offset, with offset 0: hi is 0 or 1). */
export function u8_split7_simd(
  inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32, pad: usize, padLen: i32, padValue: i32,
): void {
  split7Simd<u8>(inp, P, C, inStride, out, outStride, hiOffset, offset);
  padRun(pad, padLen, padValue, hiOffset);
}

/** Scalar reference of {@link u8_split7_simd}. */
export function u8_split7_ref(
  inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32, pad: usize, padLen: i32, padValue: i32,
): void {
  split7Ref<u8>(inp, P, C, inStride, out, outStride, hiOffset, offset);
  padRun(pad, padLen, padValue, hiOffset);
}

/**
 * Flips `P` pixels of `C` uint8 channels (stride `inStride` bytes) into the one plane
 * {@link p7_igemm_6x8c4_relaxed} reads on engines whose dot reads it signed: q ^ 0x80, the signed
 * byte q - 128, at out + p * outStride + c; then a padding run of `padLen` bytes `padValue` at `pad`.
 */
export function u8_flip8_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, pad: usize, padLen: i32, padValue: i32): void {
  const top = i8x16.splat(-128);
  const C16 = C & ~15;
  for (let p = 0; p < P; p++) {
    const src = inp + <usize>p * inStride, dst = out + <usize>p * outStride;
    let c = 0;
    for (; c < C16; c += 16) v128.store(dst + <usize>c, v128.xor(v128.load(src + <usize>c), top));
    for (; c < C; c++) store<u8>(dst + <usize>c, load<u8>(src + <usize>c) ^ 0x80);
  }
  memory.fill(pad, <u8>padValue, <usize>padLen);
}

/** Scalar reference of {@link u8_flip8_simd}. */
export function u8_flip8_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, pad: usize, padLen: i32, padValue: i32): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) store<u8>(out + <usize>p * outStride + <usize>c, load<u8>(inp + <usize>p * inStride + <usize>c) ^ 0x80);
  }
  memory.fill(pad, <u8>padValue, <usize>padLen);
}

/** The split of the channels of element type T (u8 or i16), eight at a time (widened to i16x8 either way). */
// @ts-ignore: decorator
@inline
function split7Simd<T>(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32): void {
  const off = i16x8.splat(<i16>offset), mask = i16x8.splat(127);
  const C8 = C & ~7;
  for (let p = 0; p < P; p++) {
    const src = inp + <usize>p * inStride, dst = out + <usize>p * outStride;
    let c = 0;
    for (; c < C8; c += 8) {
      const q = sizeof<T>() == 1 ? v128.load8x8_u(src + <usize>c) : v128.load(src + (<usize>c << 1));
      const v = i16x8.add(q, off);
      const b = i8x16.narrow_i16x8_u(v128.and(v, mask), i16x8.shr_u(v, 7));
      v128.store64_lane(dst + <usize>c, b, 0);
      v128.store64_lane(dst + <usize>hiOffset + <usize>c, b, 1);
    }
    for (; c < C; c++) split(<i32>load<T>(src + (<usize>c << alignof<T>())) + offset, dst + <usize>c, hiOffset);
  }
}

/** The scalar split of the channels of element type T. */
// @ts-ignore: decorator
@inline
function split7Ref<T>(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, hiOffset: i32, offset: i32): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) split(<i32>load<T>(inp + <usize>p * inStride + (<usize>c << alignof<T>())) + offset, out + <usize>p * outStride + <usize>c, hiOffset);
  }
}

// @ts-ignore: decorator
@inline
function padRun(pad: usize, padLen: i32, v: i32, hiOffset: i32): void {
  memory.fill(pad, <u8>(v & 127), <usize>padLen);
  memory.fill(pad + <usize>hiOffset, <u8>(v >> 7), <usize>padLen);
}

// @ts-ignore: decorator
@inline
function split(v: i32, at: usize, hiOffset: i32): void {
  store<u8>(at, <u8>(v & 127));
  store<u8>(at + <usize>hiOffset, <u8>(v >> 7));
}

/** 1 in the relaxed-SIMD build (where the relaxed kernels run), 0 in the plain one. */
export function relaxed_build(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

/**
 * Lane 0 of relaxed_dot_i8x16_i7x16_add_s(splat(a), splat(b), 0), with `b` outside 0..127 on
 * purpose: the result then tells how the engine lowers the instruction (src/runtime/probe.ts).
 * Computed `n` times, so that one call with a large `n` is enough work for V8 to optimize the
 * function (its baseline code may lower the instruction differently). 0 in the plain build.
 */
export function relaxed_dot_probe(a: i32, b: i32, n: i32): i32 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const x = i8x16.splat(<i8>a);
    let y = i8x16.splat(<i8>b);
    let r = i32x4.splat(0);
    for (let i = 0; i < n; i++) {
      // Eight dots per iteration: V8's budget for optimizing a function counts the code it runs.
      let s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, i32x4.splat(0));
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      s = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, s);
      r = i32x4.relaxed_dot_i8x16_i7x16_add_s(x, y, i32x4.splat(0));
      // Keeps the loop from being folded away: y is unchanged (the lanes of s are equal, their xor 0).
      y = v128.xor(y, i32x4.splat(i32x4.extract_lane(s, 0) ^ i32x4.extract_lane(s, 1)));
    }
    return i32x4.extract_lane(r, 0);
  }
  return 0;
}

import { requant, requantRound, requantScalar } from './requant';

// Sparse 1x1 stride-1 convolution for pruned int8 weights (SpMM, after XNNPACK's, on NHWC data).
//
//   acc[p][n] = bias[n] + sum over nonzero w[n][c] of (x[p][c] - zIn) * w[n][c]        (int32)
//   out[p][n] = clamp(zOut + ((acc * mult[n] + 2^(shift-1)) >> shift), qmin, qmax)     (as i8_igemm)
//
// The dense kernel folds zIn into the bias instead; both sums are exact in int32, so the output
// bytes are identical. Work goes in blocks of PB pixels. The block's input is transposed once to
// X [C rounded up to 8][PB] int16, channel-major with the zero point subtracted, so that a channel's
// PB values are two vectors. Then per output channel its nonzeros are taken two at a time: the two
// channels' rows of X are interleaved into [x(c1) x(c2)] pairs and dotted with [w1 w2] by
// i32x4.dot_i16x8_s, 4 pixels x 2 weights per instruction. Pairing each row's own nonzeros keeps
// every multiply useful; a fixed pairing of channels (no interleave) would run a pair with one
// nonzero at half rate, which at SqueezeNet 1.0's conv_final density (21 %) is 1.8x the pairs.
// uint8 results of 8 channels gather in a small tile and go out by an 8 x 16 byte transpose as one
// 8-byte run per pixel; int16 results (narrow layers, where this matters less) go per channel.
//
// Input pixel (y, x) of the H x W block is at inp + (y * W + x) * inStride, its output at
// out + y * outRowStride + x * outStride: a padded conv runs this on its interior.
//
// Weights (prepared once by the planner):
//   header: per block of 8 output channels, bias i32[8] (zero point not folded), mult i32[8]; this
//           is i8_igemm's block layout with K = 0, so that kernel writes a padded conv's border
//           (where acc = bias) from it.
//   rows:   per output channel, count i32, then count x { c1 u16, c2 u16, w1 i16, w2 i16 }; an odd
//           last nonzero is paired with itself at weight 0.

/**
 * Pixels per block: four i32x4 accumulators per output channel. 32 pixels (eight accumulators)
 * measured slower: register spills on x64, and more wasted lanes in a partial last block.
 */
const PB: i32 = 16;

/** Bytes of scratch the kernel needs for C input channels: X, the block's output addresses, the output tile. */
export function spmm_scratch(C: i32): i32 {
  return ((C + 7) & ~7) * PB * 2 + PB * 4 + 8 * PB;
}

/** The SIMD kernel over uint8 input. Scratch: {@link spmm_scratch} bytes. */
export function u8_spmm_16x1c2_simd(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, scratch: usize, i16Out: bool,
): void {
  spmm(H, W, C, inp, inStride, zIn, N, weights, out, outStride, outRowStride, shift, zOut, qmin, qmax, scratch, i16Out, false);
}

/** The same over int16 input. */
export function i16_spmm_16x1c2_simd(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, scratch: usize, i16Out: bool,
): void {
  spmm(H, W, C, inp, inStride, zIn, N, weights, out, outStride, outRowStride, shift, zOut, qmin, qmax, scratch, i16Out, true);
}

/** Channel c of the input pixel at `a`. */
// @ts-ignore: decorator
@inline
function input(a: usize, c: usize, i16In: bool): i32 {
  return i16In ? <i32>load<i16>(a + (c << 1)) : <i32>load<u8>(a + c);
}

/** 8 channels of input from `at`, minus the zero point, as int16 lanes. */
// @ts-ignore: decorator
@inline
function load8(at: usize, zv: v128, i16In: bool): v128 {
  return i16x8.sub(i16In ? v128.load(at) : v128.load8x8_u(at), zv);
}

/**
 * X[c][i] = x[i][c] - zIn for the block's `valid` pixels; later lanes keep stale values, never stored.
 * Eight pixels x eight channels at a time by an 8x8 int16 transpose, reading up to 7 channels past
 * C (rows of X that no weight names; buffers carry slack for such reads).
 */
function transpose(src: usize, valid: i32, C: i32, inStride: i32, zIn: i32, X: usize, i16In: bool): void {
  const zv = i16x8.splat(<i16>zIn);
  const row = <usize>(PB * 2);
  const full = valid & ~7;
  for (let i0 = 0; i0 < full; i0 += 8) {
    const s = src + <usize>(i0 * inStride);
    const is = <usize>inStride;
    for (let c = 0; c < C; c += 8) {
      const at = s + (<usize>c << <usize>i16In);
      const r0 = load8(at, zv, i16In), r1 = load8(at + is, zv, i16In), r2 = load8(at + 2 * is, zv, i16In), r3 = load8(at + 3 * is, zv, i16In);
      const r4 = load8(at + 4 * is, zv, i16In), r5 = load8(at + 5 * is, zv, i16In), r6 = load8(at + 6 * is, zv, i16In), r7 = load8(at + 7 * is, zv, i16In);
      const t0 = i16x8.shuffle(r0, r1, 0, 8, 1, 9, 2, 10, 3, 11), t1 = i16x8.shuffle(r0, r1, 4, 12, 5, 13, 6, 14, 7, 15);
      const t2 = i16x8.shuffle(r2, r3, 0, 8, 1, 9, 2, 10, 3, 11), t3 = i16x8.shuffle(r2, r3, 4, 12, 5, 13, 6, 14, 7, 15);
      const t4 = i16x8.shuffle(r4, r5, 0, 8, 1, 9, 2, 10, 3, 11), t5 = i16x8.shuffle(r4, r5, 4, 12, 5, 13, 6, 14, 7, 15);
      const t6 = i16x8.shuffle(r6, r7, 0, 8, 1, 9, 2, 10, 3, 11), t7 = i16x8.shuffle(r6, r7, 4, 12, 5, 13, 6, 14, 7, 15);
      const u0 = i32x4.shuffle(t0, t2, 0, 4, 1, 5), u1 = i32x4.shuffle(t0, t2, 2, 6, 3, 7);
      const u2 = i32x4.shuffle(t1, t3, 0, 4, 1, 5), u3 = i32x4.shuffle(t1, t3, 2, 6, 3, 7);
      const u4 = i32x4.shuffle(t4, t6, 0, 4, 1, 5), u5 = i32x4.shuffle(t4, t6, 2, 6, 3, 7);
      const u6 = i32x4.shuffle(t5, t7, 0, 4, 1, 5), u7 = i32x4.shuffle(t5, t7, 2, 6, 3, 7);
      const d = X + <usize>c * row + (<usize>i0 << 1);
      v128.store(d, i64x2.shuffle(u0, u4, 0, 2));
      v128.store(d + row, i64x2.shuffle(u0, u4, 1, 3));
      v128.store(d + 2 * row, i64x2.shuffle(u1, u5, 0, 2));
      v128.store(d + 3 * row, i64x2.shuffle(u1, u5, 1, 3));
      v128.store(d + 4 * row, i64x2.shuffle(u2, u6, 0, 2));
      v128.store(d + 5 * row, i64x2.shuffle(u2, u6, 1, 3));
      v128.store(d + 6 * row, i64x2.shuffle(u3, u7, 0, 2));
      v128.store(d + 7 * row, i64x2.shuffle(u3, u7, 1, 3));
    }
  }
  for (let i = full; i < valid; i++) {
    const s = src + <usize>(i * inStride);
    const d = X + (<usize>i << 1);
    for (let c = 0; c < C; c++) store<i16>(d + <usize>c * row, input(s, <usize>c, i16In) - zIn);
  }
}

/** acc + the pair's contribution for 4 pixels: [x(c1) x(c2)] interleaved from rows a and b, dotted with [w1 w2]. */
// @ts-ignore: decorator
@inline
function dotLo(acc: v128, a: v128, b: v128, w: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 0, 8, 1, 9, 2, 10, 3, 11), w));
}

// @ts-ignore: decorator
@inline
function dotHi(acc: v128, a: v128, b: v128, w: v128): v128 {
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.shuffle(a, b, 4, 12, 5, 13, 6, 14, 7, 15), w));
}

/** The kernel for both input types: only the transpose into X depends on it. */
function spmm(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, scratch: usize, i16Out: bool, i16In: bool,
): void {
  const M = H * W;
  const rows = weights + (<usize>((N + 7) >> 3) << 6);
  const addrs = scratch + <usize>(((C + 7) & ~7) * PB * 2);
  const tile = addrs + <usize>(PB * 4);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zv = i32x4.splat(zOut);
  const lov = i16Out ? i16x8.splat(<i16>qmin) : i8x16.splat(<i8>qmin);
  const hiv = i16Out ? i16x8.splat(<i16>qmax) : i8x16.splat(<i8>qmax);
  for (let p0 = 0; p0 < M; p0 += PB) {
    const valid = min(PB, M - p0);
    transpose(inp + <usize>(p0 * inStride), valid, C, inStride, zIn, scratch, i16In);
    // Lanes past the end repeat the last pixel's address; lanes are stored highest first, so the
    // real pixel is written last.
    for (let i = 0; i < PB; i++) {
      const p = p0 + min(i, valid - 1);
      const y = p / W;
      store<u32>(addrs + (<usize>i << 2), <u32>(out + <usize>(y * outRowStride + (p - y * W) * outStride)));
    }
    let e = rows;
    for (let n = 0; n < N; n++) {
      const head = weights + (<usize>(n >> 3) << 6) + (<usize>(n & 7) << 2);
      let acc0 = i32x4.splat(load<i32>(head));
      let acc1 = acc0, acc2 = acc0, acc3 = acc0;
      const end = e + 4 + (<usize>load<i32>(e) << 3);
      e += 4;
      while (e < end) {
        const cc = load<u32>(e);
        const w = v128.load32_splat(e, 4);
        const a = scratch + (<usize>(cc & 0xffff) << 5);
        const b = scratch + (<usize>(cc >> 16) << 5);
        let x = v128.load(a), y = v128.load(b);
        acc0 = dotLo(acc0, x, y, w);
        acc1 = dotHi(acc1, x, y, w);
        x = v128.load(a, 16); y = v128.load(b, 16);
        acc2 = dotLo(acc2, x, y, w);
        acc3 = dotHi(acc3, x, y, w);
        e += 8;
      }
      const mult = i32x4.splat(load<i32>(head, 32));
      const s0 = i16x8.narrow_i32x4_s(requant(acc0, mult, round, pre, post, zv), requant(acc1, mult, round, pre, post, zv));
      const s1 = i16x8.narrow_i32x4_s(requant(acc2, mult, round, pre, post, zv), requant(acc3, mult, round, pre, post, zv));
      if (i16Out) {
        const o = <usize>n << 1;
        scatter16(addrs + 32, o, i16x8.min_s(i16x8.max_s(s1, lov), hiv));
        scatter16(addrs, o, i16x8.min_s(i16x8.max_s(s0, lov), hiv));
      } else {
        // Eight channels collect in `tile`, [8][PB], and go out as one 8-byte run per pixel.
        const j = n & 7;
        v128.store(tile + (<usize>j << 4), i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(s0, s1), lov), hiv));
        if (j == 7) flush8(tile, addrs, <usize>(n - 7));
        else if (n == N - 1) flushTail(tile, addrs, <usize>(n - j), j + 1);
      }
    }
  }
}

/** Pixel i's output address (from the block's table) plus the channel offset `n`. */
// @ts-ignore: decorator
@inline
function at(addrs: usize, i: i32, n: usize): usize {
  return <usize>load<u32>(addrs + (<usize>i << 2)) + n;
}

/** Writes the tile [8 channels][16 pixels] as 8 channels per pixel, highest pixel first. */
function flush8(t: usize, addrs: usize, n: usize): void {
  const r0 = v128.load(t), r1 = v128.load(t, 16), r2 = v128.load(t, 32), r3 = v128.load(t, 48);
  const r4 = v128.load(t, 64), r5 = v128.load(t, 80), r6 = v128.load(t, 96), r7 = v128.load(t, 112);
  // Channel pairs, then quads, then all 8 side by side per pixel.
  const a0 = i8x16.shuffle(r0, r1, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a1 = i8x16.shuffle(r0, r1, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const a2 = i8x16.shuffle(r2, r3, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a3 = i8x16.shuffle(r2, r3, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const a4 = i8x16.shuffle(r4, r5, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a5 = i8x16.shuffle(r4, r5, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const a6 = i8x16.shuffle(r6, r7, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const a7 = i8x16.shuffle(r6, r7, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const b0 = i16x8.shuffle(a0, a2, 0, 8, 1, 9, 2, 10, 3, 11), b1 = i16x8.shuffle(a0, a2, 4, 12, 5, 13, 6, 14, 7, 15);
  const b2 = i16x8.shuffle(a1, a3, 0, 8, 1, 9, 2, 10, 3, 11), b3 = i16x8.shuffle(a1, a3, 4, 12, 5, 13, 6, 14, 7, 15);
  const b4 = i16x8.shuffle(a4, a6, 0, 8, 1, 9, 2, 10, 3, 11), b5 = i16x8.shuffle(a4, a6, 4, 12, 5, 13, 6, 14, 7, 15);
  const b6 = i16x8.shuffle(a5, a7, 0, 8, 1, 9, 2, 10, 3, 11), b7 = i16x8.shuffle(a5, a7, 4, 12, 5, 13, 6, 14, 7, 15);
  const d0 = i32x4.shuffle(b0, b4, 0, 4, 1, 5), d1 = i32x4.shuffle(b0, b4, 2, 6, 3, 7);
  const d2 = i32x4.shuffle(b1, b5, 0, 4, 1, 5), d3 = i32x4.shuffle(b1, b5, 2, 6, 3, 7);
  const d4 = i32x4.shuffle(b2, b6, 0, 4, 1, 5), d5 = i32x4.shuffle(b2, b6, 2, 6, 3, 7);
  const d6 = i32x4.shuffle(b3, b7, 0, 4, 1, 5), d7 = i32x4.shuffle(b3, b7, 2, 6, 3, 7);
  v128.store64_lane(at(addrs, 15, n), d7, 1);
  v128.store64_lane(at(addrs, 14, n), d7, 0);
  v128.store64_lane(at(addrs, 13, n), d6, 1);
  v128.store64_lane(at(addrs, 12, n), d6, 0);
  v128.store64_lane(at(addrs, 11, n), d5, 1);
  v128.store64_lane(at(addrs, 10, n), d5, 0);
  v128.store64_lane(at(addrs, 9, n), d4, 1);
  v128.store64_lane(at(addrs, 8, n), d4, 0);
  v128.store64_lane(at(addrs, 7, n), d3, 1);
  v128.store64_lane(at(addrs, 6, n), d3, 0);
  v128.store64_lane(at(addrs, 5, n), d2, 1);
  v128.store64_lane(at(addrs, 4, n), d2, 0);
  v128.store64_lane(at(addrs, 3, n), d1, 1);
  v128.store64_lane(at(addrs, 2, n), d1, 0);
  v128.store64_lane(at(addrs, 1, n), d0, 1);
  v128.store64_lane(at(addrs, 0, n), d0, 0);
}

/** Writes the first `count` (< 8) channels of the tile, highest pixel first. */
function flushTail(tile: usize, addrs: usize, n: usize, count: i32): void {
  for (let i = PB - 1; i >= 0; i--) {
    const o = at(addrs, i, n);
    for (let j = 0; j < count; j++) store<u8>(o + <usize>j, load<u8>(tile + <usize>(j * PB + i)));
  }
}

/** Stores int16 lane i of `v` at pixel i's address plus `n`, lane 7 first. */
// @ts-ignore: decorator
@inline
function scatter16(addrs: usize, n: usize, v: v128): void {
  v128.store16_lane(at(addrs, 7, n), v, 7);
  v128.store16_lane(at(addrs, 6, n), v, 6);
  v128.store16_lane(at(addrs, 5, n), v, 5);
  v128.store16_lane(at(addrs, 4, n), v, 4);
  v128.store16_lane(at(addrs, 3, n), v, 3);
  v128.store16_lane(at(addrs, 2, n), v, 2);
  v128.store16_lane(at(addrs, 1, n), v, 1);
  v128.store16_lane(at(addrs, 0, n), v, 0);
}

/** Scalar reference: same layouts and the same integer arithmetic, so results are bit-identical. */
export function u8_spmm_ref(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, scratch: usize, i16Out: bool,
): void {
  spmmRef(H, W, C, inp, inStride, zIn, N, weights, out, outStride, outRowStride, shift, zOut, qmin, qmax, i16Out, false);
}

/** Scalar reference of {@link i16_spmm_16x1c2_simd}. */
export function i16_spmm_ref(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, scratch: usize, i16Out: bool,
): void {
  spmmRef(H, W, C, inp, inStride, zIn, N, weights, out, outStride, outRowStride, shift, zOut, qmin, qmax, i16Out, true);
}

function spmmRef(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32,
  N: i32, weights: usize, out: usize, outStride: i32, outRowStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, i16Out: bool, i16In: bool,
): void {
  const rows = weights + (<usize>((N + 7) >> 3) << 6);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const a = inp + <usize>((y * W + x) * inStride);
      const o = out + <usize>(y * outRowStride + x * outStride);
      let e = rows;
      for (let n = 0; n < N; n++) {
        const head = weights + (<usize>(n >> 3) << 6) + (<usize>(n & 7) << 2);
        let acc = load<i32>(head);
        const count = load<i32>(e);
        e += 4;
        for (let j = 0; j < count; j++) {
          const c1 = <usize>load<u16>(e), c2 = <usize>load<u16>(e, 2);
          acc += (input(a, c1, i16In) - zIn) * <i32>load<i16>(e, 4);
          acc += (input(a, c2, i16In) - zIn) * <i32>load<i16>(e, 6);
          e += 8;
        }
        const q = min(max(zOut + requantScalar(acc, load<i32>(head, 32), shift), qmin), qmax);
        if (i16Out) store<i16>(o + (<usize>n << 1), <i16>q);
        else store<u8>(o + <usize>n, <u8>q);
      }
    }
  }
}

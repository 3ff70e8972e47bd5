import { requant, requantRound, requantScalar } from './requant';

// Quantized 3x3 stride-1 pad-1 convolution with Winograd F(2x2, 3x3), exact in integers.
//
// For a 4x4 input tile d (minus the zero point) and a 3x3 filter g, the 2x2 output is
//   Y = A^T [ U (.) V ] A / 4,   V = B^T d B,   U = G' g G'^T
// with G' = 2G integer, so U = 4 G g G^T and Y' = A^T [U (.) V] A is exactly 4x the direct
// convolution: the shift by 2 loses nothing and the result equals the direct kernel's bit for bit.
// |V| <= 4 * 255 (uint8 input) or 4 * 4095 (int16 input, which holds at most 13 bits) and
// |U| <= 9 * 127 fit int16, so the 16 element-wise products summed over channels are 16 int16 GEMMs
// on i32x4.dot_i16x8_s: 16 multiplies per 2x2 outputs instead of 36. From there to Y' everything
// is additions and multiplications that wrap mod 2^32, so Y' is exact whenever Y' itself fits
// int32, whatever intermediate sums do: the planner uses this kernel only where
// 4 * max|input| * sum|weights| < 2^31 for every output channel.
//
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G' = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]
//   A^T = [1 1 1 0; 0 1 -1 -1]
//
// Work goes in blocks of TB tiles: transform their inputs once into V [16][TB][Cp] (int16, Cp = C
// rounded up to 8), then per block of 8 output channels run the 16 GEMMs into M [16][TB][8] (int32)
// and transform, requantize and store the 2x2 outputs.
//
// Weights, per block of 8 output channels: bias i32[8] (not zero-point folded: V already has the
// zero point subtracted), multiplier i32[8], then U as i16 [16][Cp / 2][8][2].
// `pad` points to Cp input elements equal to the zero point (read where a tile leaves the image).
// Outputs are uint8, or int16 if `i16Out`.

const TB: i32 = 16;

/** Bytes of V scratch the kernel needs for C input channels. */
export function winograd3x3_scratch_v(C: i32): i32 {
  return 16 * TB * ((C + 7) & ~7) * 2;
}

/** Bytes of M scratch the kernel needs. */
export function winograd3x3_scratch_m(): i32 {
  return 16 * TB * 8 * 4;
}

/** Pointer to the input pixel (y, x), or to the zero-point row outside the image. */
// @ts-ignore: decorator
@inline
function pixel(inp: usize, H: i32, W: i32, inStride: i32, pad: usize, y: i32, x: i32): usize {
  return <u32>y < <u32>H && <u32>x < <u32>W ? inp + <usize>(y * W + x) * inStride : pad;
}

/** 8 channels of input from `at`, minus the zero point, as int16 lanes. */
// @ts-ignore: decorator
@inline
function load8<T>(at: usize, zv: v128): v128 {
  return i16x8.sub(sizeof<T>() == 1 ? v128.load8x8_u(at) : v128.load(at), zv);
}

/** V = B^T (d - z) B for one tile, 8 channels at a time, written to dst + ij * ijStride. */
// @ts-ignore: decorator
@inline
function inputTile<T>(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32, pad: usize, zv: v128,
  y0: i32, x0: i32, dst: usize, ijStride: usize,
): void {
  for (let c = 0; c < C; c += 8) {
    const cb = <usize>c;
    const cin = cb * sizeof<T>();
    // Row transform per column j: t0 = d0 - d2, t1 = d1 + d2, t2 = d2 - d1, t3 = d1 - d3.
    for (let j = 0; j < 4; j++) {
      const d0 = load8<T>(pixel(inp, H, W, inStride, pad, y0, x0 + j) + cin, zv);
      const d1 = load8<T>(pixel(inp, H, W, inStride, pad, y0 + 1, x0 + j) + cin, zv);
      const d2 = load8<T>(pixel(inp, H, W, inStride, pad, y0 + 2, x0 + j) + cin, zv);
      const d3 = load8<T>(pixel(inp, H, W, inStride, pad, y0 + 3, x0 + j) + cin, zv);
      // Stash t[i][j] in V's slots ij = i*4 + j; the column pass below reads them back.
      v128.store(dst + <usize>j * ijStride + (cb << 1), i16x8.sub(d0, d2));
      v128.store(dst + <usize>(4 + j) * ijStride + (cb << 1), i16x8.add(d1, d2));
      v128.store(dst + <usize>(8 + j) * ijStride + (cb << 1), i16x8.sub(d2, d1));
      v128.store(dst + <usize>(12 + j) * ijStride + (cb << 1), i16x8.sub(d1, d3));
    }
    // Column transform per row i of t.
    for (let i = 0; i < 4; i++) {
      const row = dst + <usize>(i * 4) * ijStride + (cb << 1);
      const t0 = v128.load(row), t1 = v128.load(row + ijStride), t2 = v128.load(row + 2 * ijStride), t3 = v128.load(row + 3 * ijStride);
      v128.store(row, i16x8.sub(t0, t2));
      v128.store(row + ijStride, i16x8.add(t1, t2));
      v128.store(row + 2 * ijStride, i16x8.sub(t2, t1));
      v128.store(row + 3 * ijStride, i16x8.sub(t1, t3));
    }
  }
}

/** The SIMD kernel over uint8 input. Scratch: V of {@link winograd3x3_scratch_v} bytes, M of {@link winograd3x3_scratch_m}. */
export function u8_winograd3x3_simd(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  winograd<u8>(H, W, C, inp, inStride, zIn, pad, N, weights, out, outStride, shift, zOut, qmin, qmax, V, M, i16Out);
}

/** The same over int16 input (zero point 0). */
export function i16_winograd3x3_simd(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  winograd<i16>(H, W, C, inp, inStride, zIn, pad, N, weights, out, outStride, shift, zOut, qmin, qmax, V, M, i16Out);
}

// @ts-ignore: decorator
@inline
function winograd<T>(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  const tilesW = (W + 1) >> 1;
  const tiles = tilesW * ((H + 1) >> 1);
  const Cp = (C + 7) & ~7;
  const pairs = Cp >> 1;
  const vRow = <usize>(Cp << 1);
  const ijStride = <usize>TB * vRow;
  const blockBytes = <usize>(64 + 16 * pairs * 32);
  const zv = i16x8.splat(<i16>zIn);
  const round = requantRound(shift);
  const pre = max(0, 32 - shift), post = max(0, shift - 32);
  const zOutV = i32x4.splat(zOut);
  const lov = i16Out ? i16x8.splat(<i16>qmin) : i8x16.splat(<i8>qmin);
  const hiv = i16Out ? i16x8.splat(<i16>qmax) : i8x16.splat(<i8>qmax);
  for (let t0 = 0; t0 < tiles; t0 += TB) {
    // The last block shrinks to the remaining tiles, rounded up to the micro-kernel's 4.
    const tb = min(TB, (tiles - t0 + 3) & ~3);
    for (let tt = 0; tt < tb; tt++) {
      // Tiles past the end repeat the last one; their outputs are not stored.
      const t = min(t0 + tt, tiles - 1);
      const ty = t / tilesW, tx = t - ty * tilesW;
      inputTile<T>(inp, H, W, C, inStride, pad, zv, 2 * ty - 1, 2 * tx - 1, V + <usize>tt * vRow, ijStride);
    }
    for (let nb = 0; nb < N; nb += 8) {
      const wBlock = weights + <usize>(nb >> 3) * blockBytes;
      for (let ij = 0; ij < 16; ij++) {
        const u0 = wBlock + 64 + <usize>(ij * pairs * 32);
        const vij = V + <usize>ij * ijStride;
        for (let tt = 0; tt < tb; tt += 4) {
          let a0 = vij + <usize>tt * vRow;
          let a1 = a0 + vRow, a2 = a1 + vRow, a3 = a2 + vRow;
          let c0lo = i32x4.splat(0), c0hi = c0lo, c1lo = c0lo, c1hi = c0lo, c2lo = c0lo, c2hi = c0lo, c3lo = c0lo, c3hi = c0lo;
          let u = u0;
          const aEnd = a0 + vRow;
          while (a0 < aEnd) {
            const wlo = v128.load(u);
            const whi = v128.load(u, 16);
            let x = v128.load32_splat(a0);
            c0lo = i32x4.add(c0lo, i32x4.dot_i16x8_s(x, wlo));
            c0hi = i32x4.add(c0hi, i32x4.dot_i16x8_s(x, whi));
            x = v128.load32_splat(a1);
            c1lo = i32x4.add(c1lo, i32x4.dot_i16x8_s(x, wlo));
            c1hi = i32x4.add(c1hi, i32x4.dot_i16x8_s(x, whi));
            x = v128.load32_splat(a2);
            c2lo = i32x4.add(c2lo, i32x4.dot_i16x8_s(x, wlo));
            c2hi = i32x4.add(c2hi, i32x4.dot_i16x8_s(x, whi));
            x = v128.load32_splat(a3);
            c3lo = i32x4.add(c3lo, i32x4.dot_i16x8_s(x, wlo));
            c3hi = i32x4.add(c3hi, i32x4.dot_i16x8_s(x, whi));
            a0 += 4; a1 += 4; a2 += 4; a3 += 4;
            u += 32;
          }
          const m = M + (<usize>(ij * TB + tt) << 5);
          v128.store(m, c0lo); v128.store(m, c0hi, 16);
          v128.store(m, c1lo, 32); v128.store(m, c1hi, 48);
          v128.store(m, c2lo, 64); v128.store(m, c2hi, 80);
          v128.store(m, c3lo, 96); v128.store(m, c3hi, 112);
        }
      }
      const mlo = v128.load(wBlock, 32), mhi = v128.load(wBlock, 48);
      const blo = v128.load(wBlock), bhi = v128.load(wBlock, 16);
      const nLeft = N - nb;
      for (let tt = 0; tt < tb && t0 + tt < tiles; tt++) {
        const t = t0 + tt;
        const ty = t / tilesW, tx = t - ty * tilesW;
        for (let half = 0; half < 2; half++) {
          const m = M + (<usize>tt << 5) + (<usize>half << 4);
          const mi = <usize>(TB << 5);
          // Row pass of A^T: s0_j = m0j + m1j + m2j, s1_j = m1j - m2j - m3j.
          let s00 = i32x4.add(i32x4.add(v128.load(m), v128.load(m + 4 * mi)), v128.load(m + 8 * mi));
          let s01 = i32x4.add(i32x4.add(v128.load(m + mi), v128.load(m + 5 * mi)), v128.load(m + 9 * mi));
          let s02 = i32x4.add(i32x4.add(v128.load(m + 2 * mi), v128.load(m + 6 * mi)), v128.load(m + 10 * mi));
          let s03 = i32x4.add(i32x4.add(v128.load(m + 3 * mi), v128.load(m + 7 * mi)), v128.load(m + 11 * mi));
          let s10 = i32x4.sub(i32x4.sub(v128.load(m + 4 * mi), v128.load(m + 8 * mi)), v128.load(m + 12 * mi));
          let s11 = i32x4.sub(i32x4.sub(v128.load(m + 5 * mi), v128.load(m + 9 * mi)), v128.load(m + 13 * mi));
          let s12 = i32x4.sub(i32x4.sub(v128.load(m + 6 * mi), v128.load(m + 10 * mi)), v128.load(m + 14 * mi));
          let s13 = i32x4.sub(i32x4.sub(v128.load(m + 7 * mi), v128.load(m + 11 * mi)), v128.load(m + 15 * mi));
          const b = half ? bhi : blo;
          const mult = half ? mhi : mlo;
          // Column pass, divide by 4 (exact), add the bias, requantize.
          const y00 = requant(i32x4.add(i32x4.shr_s(i32x4.add(i32x4.add(s00, s01), s02), 2), b), mult, round, pre, post, zOutV);
          const y01 = requant(i32x4.add(i32x4.shr_s(i32x4.sub(i32x4.sub(s01, s02), s03), 2), b), mult, round, pre, post, zOutV);
          const y10 = requant(i32x4.add(i32x4.shr_s(i32x4.add(i32x4.add(s10, s11), s12), 2), b), mult, round, pre, post, zOutV);
          const y11 = requant(i32x4.add(i32x4.shr_s(i32x4.sub(i32x4.sub(s11, s12), s13), 2), b), mult, round, pre, post, zOutV);
          // Narrow: four outputs x 4 channels, then scatter the 2x2 pixels.
          const p16a = i16x8.narrow_i32x4_s(y00, y01);
          const p16b = i16x8.narrow_i32x4_s(y10, y11);
          const oy = 2 * ty, ox = 2 * tx;
          const c = nb + (half << 2);
          const n = min(nLeft - (half << 2), 4);
          if (n <= 0) continue;
          if (i16Out) {
            const dst = out + (<usize>c << 1);
            const a = i16x8.min_s(i16x8.max_s(p16a, lov), hiv);
            const b = i16x8.min_s(i16x8.max_s(p16b, lov), hiv);
            storePixel16(dst + <usize>(oy * W + ox) * outStride, i64x2.extract_lane(a, 0), n);
            if (ox + 1 < W) storePixel16(dst + <usize>(oy * W + ox + 1) * outStride, i64x2.extract_lane(a, 1), n);
            if (oy + 1 < H) {
              storePixel16(dst + <usize>((oy + 1) * W + ox) * outStride, i64x2.extract_lane(b, 0), n);
              if (ox + 1 < W) storePixel16(dst + <usize>((oy + 1) * W + ox + 1) * outStride, i64x2.extract_lane(b, 1), n);
            }
            continue;
          }
          const bytes = i8x16.min_u(i8x16.max_u(i8x16.narrow_i16x8_u(p16a, p16b), lov), hiv);
          const dst = out + <usize>c;
          storePixel(dst + <usize>(oy * W + ox) * outStride, bytes, 0, n);
          if (ox + 1 < W) storePixel(dst + <usize>(oy * W + ox + 1) * outStride, bytes, 1, n);
          if (oy + 1 < H) {
            storePixel(dst + <usize>((oy + 1) * W + ox) * outStride, bytes, 2, n);
            if (ox + 1 < W) storePixel(dst + <usize>((oy + 1) * W + ox + 1) * outStride, bytes, 3, n);
          }
        }
      }
    }
  }
}

/** Stores 4-byte group `g` of `v` (one pixel's 4 channels), or its first n < 4 bytes. */
// @ts-ignore: decorator
@inline
function storePixel(dst: usize, v: v128, g: i32, n: i32): void {
  const word = g == 0 ? i32x4.extract_lane(v, 0) : g == 1 ? i32x4.extract_lane(v, 1) : g == 2 ? i32x4.extract_lane(v, 2) : i32x4.extract_lane(v, 3);
  if (n == 4) {
    store<u32>(dst, word);
    return;
  }
  for (let i = 0; i < n; i++) store<u8>(dst + <usize>i, <u8>(word >>> (i << 3)));
}

/** Stores one pixel's 4 int16 channels (`bits`), or the first n < 4. */
// @ts-ignore: decorator
@inline
function storePixel16(dst: usize, bits: i64, n: i32): void {
  if (n == 4) {
    store<i64>(dst, bits);
    return;
  }
  for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), <u16>(bits >>> (<i64>i << 4)));
}

const BT: usize = memory.data<i32>([1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1]);
const AT: usize = memory.data<i32>([1, 1, 1, 0, 0, 1, -1, -1]);

// @ts-ignore: decorator
@inline
function bt(i: i32, r: i32): i32 {
  return load<i32>(BT + (<usize>(i * 4 + r) << 2));
}

// @ts-ignore: decorator
@inline
function at(a: i32, i: i32): i32 {
  return load<i32>(AT + (<usize>(a * 4 + i) << 2));
}

/**
 * Scalar reference: the same transforms, products and rounding, element by element. Uses V as
 * [16][Cp] int32 for one tile and M as its 16 sums.
 */
export function u8_winograd3x3_ref(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  winogradRef<u8>(H, W, C, inp, inStride, zIn, pad, N, weights, out, outStride, shift, zOut, qmin, qmax, V, M, i16Out);
}

/** Scalar reference of {@link i16_winograd3x3_simd}. */
export function i16_winograd3x3_ref(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  winogradRef<i16>(H, W, C, inp, inStride, zIn, pad, N, weights, out, outStride, shift, zOut, qmin, qmax, V, M, i16Out);
}

// @ts-ignore: decorator
@inline
function winogradRef<T>(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, zIn: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32,
  shift: i32, zOut: i32, qmin: i32, qmax: i32, V: usize, M: usize, i16Out: bool,
): void {
  const tilesW = (W + 1) >> 1;
  const tiles = tilesW * ((H + 1) >> 1);
  const Cp = (C + 7) & ~7;
  const pairs = Cp >> 1;
  const blockBytes = <usize>(64 + 16 * pairs * 32);
  for (let t = 0; t < tiles; t++) {
    const ty = t / tilesW, tx = t - ty * tilesW;
    const y0 = 2 * ty - 1, x0 = 2 * tx - 1;
    for (let c = 0; c < Cp; c++) {
      for (let i = 0; i < 4; i++) {
        for (let j = 0; j < 4; j++) {
          let v = 0;
          for (let r = 0; r < 4; r++) {
            for (let s = 0; s < 4; s++) {
              const d = c < C ? <i32>load<T>(pixel(inp, H, W, inStride, pad, y0 + r, x0 + s) + <usize>c * sizeof<T>()) - zIn : 0;
              v += bt(i, r) * d * bt(j, s);
            }
          }
          store<i32>(V + (<usize>((i * 4 + j) * Cp + c) << 2), v);
        }
      }
    }
    for (let n = 0; n < N; n++) {
      const wBlock = weights + <usize>(n >> 3) * blockBytes;
      const lane = <usize>(n & 7);
      for (let ij = 0; ij < 16; ij++) {
        let m = 0;
        for (let c = 0; c < Cp; c++) {
          const u = load<i16>(wBlock + 64 + <usize>((ij * pairs + (c >> 1)) * 32) + ((lane & 3) << 2) + ((lane >> 2) << 4) + (<usize>(c & 1) << 1));
          m += <i32>u * load<i32>(V + (<usize>(ij * Cp + c) << 2));
        }
        store<i32>(M + (<usize>ij << 2), m);
      }
      const bias = load<i32>(wBlock + (lane << 2));
      const mult = load<i32>(wBlock + 32 + (lane << 2));
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          const oy = 2 * ty + a, ox = 2 * tx + b;
          if (oy >= H || ox >= W) continue;
          let y = 0;
          for (let i = 0; i < 4; i++) {
            for (let j = 0; j < 4; j++) y += at(a, i) * load<i32>(M + (<usize>(i * 4 + j) << 2)) * at(b, j);
          }
          const acc = (y >> 2) + bias;
          const scaled = requantScalar(acc, mult, shift);
          const q = min(max(zOut + scaled, qmin), qmax);
          if (i16Out) store<i16>(out + <usize>(oy * W + ox) * outStride + (<usize>n << 1), <i16>q);
          else store<u8>(out + <usize>(oy * W + ox) * outStride + <usize>n, <u8>q);
        }
      }
    }
  }
}

// f32 3x3 stride-1 pad-1 convolution as Winograd F(4x4, 3x3) (Lavin & Gray, 2015).
//
// A 6x6 input tile d gives a 4x4 output tile
//   Y = A^T [ U (.) V ] A,   V = B^T d B,   U = G g G^T  (g the 3x3 filter, done once at load)
// so 16 outputs of one (input, output) channel pair cost 36 multiplies instead of 144: summed over
// input channels, the 36 element-wise products are 36 independent GEMMs [tiles x C] x [C x N].
// Unlike the integer F(2x2) of i8-winograd.ts this is not exact: the transforms scale values by up
// to 5 (B) and 8 (A) and cancel them again, so the rounding error is 4-6x the direct convolution's
// (test/kernels/f32-winograd.test.ts; on SqueezeNet's outputs it stays below 1e-6 of their range).
//
//   B^T = [4  0 -5  0 1 0]   G = [ 1/4     0    0 ]   A^T = [1 1  1 1  1 0]
//         [0 -4 -4  1 1 0]       [-1/6 -1/6 -1/6 ]         [0 1 -1 2 -2 0]
//         [0  4 -4 -1 1 0]       [-1/6  1/6 -1/6 ]         [0 1  1 4  4 0]
//         [0 -2 -1  2 1 0]       [1/24 1/12  1/6 ]         [0 1 -1 8 -8 1]
//         [0  2 -1 -2 1 0]       [1/24 -1/12 1/6 ]
//         [0  4  0 -5 0 1]       [ 0     0    1  ]
//
// Why these: points 0, +-1, +-2 pair up, so a 6-to-4 (6-to-6) transform is 13 (19) adds and
// multiplies by constants. Points 0, +-1, 1/2, -2 are about 3x more accurate in a float32
// simulation but need some 40 % more transform work, which the accuracy here does not call for.
// F(6x6, 3x3) saves 9 % of the multiplies on 55x55 and 27x27 maps and none on 13x13 ones (whole
// tiles: 18x18 cover 13x13 as badly as 16x16), for larger transforms and 1.6x the error.
//
// Work goes in blocks of TB tiles: transform their inputs once into V, then per block of 8 output
// channels run the 36 GEMMs (a 4 tiles x 8 channels micro-kernel, like f32_igemm_4x8's) into M and
// transform, clamp and store the 4x4 outputs. The transforms work in place in V and M, one row or
// column of 6 at a time, so that they never hold more than a dozen vectors.
//
// Layouts (Cs = C rounded up to 4: the input transform runs 4 channels at a time):
//   input:   NHWC, pixel (y, x) at inp + (y * W + x) * inStride bytes; the kernel reads Cs floats
//            per pixel (the ones past C are transformed but never used).
//   pad:     Cs zero floats, read where a tile leaves the image.
//   V:       [36][TB][Cs] floats; M: [36][TB][8] floats.
//   weights: per block of 8 output channels: bias f32[8], then U as f32 [36][C][8]; channels past
//            N are zero (f32_pack_winograd writes it).
//   out:     NHWC, pixel p at out + p * outStride bytes, N contiguous floats.

/** Tiles per block: a multiple of the micro-kernel's 4. */
const TB: i32 = 16;

/** Bytes of V scratch the kernel needs for C input channels. */
export function f32_winograd3x3_scratch_v(C: i32): i32 {
  return 36 * TB * ((C + 3) & ~3) * 4;
}

/** Bytes of M scratch the kernel needs. */
export function f32_winograd3x3_scratch_m(): i32 {
  return 36 * TB * 8 * 4;
}

// c + x * w: the GEMM's multiply-add, fused into one FMA by the relaxed build (see f32-igemm.ts).
// @ts-ignore: decorator
@inline
function madd(x: v128, w: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, w, c);
  return f32x4.add(c, f32x4.mul(x, w));
}

/** Pointer to input pixel (y, x), or to the zero run outside the image. */
// @ts-ignore: decorator
@inline
function pixel(inp: usize, H: i32, W: i32, inStride: i32, pad: usize, y: i32, x: i32): usize {
  return <u32>y < <u32>H && <u32>x < <u32>W ? inp + <usize>(y * W + x) * inStride : pad;
}

/**
 * One row or column of B^T d B: (d0..d5) times B^T, stored at dst + i * stride. The scalar
 * reference's {@link btScalar} is the same expression tree.
 */
// @ts-ignore: decorator
@inline
function bt(d0: v128, d1: v128, d2: v128, d3: v128, d4: v128, d5: v128, dst: usize, stride: usize): void {
  const four = f32x4.splat(4), five = f32x4.splat(5);
  const t0 = f32x4.sub(d4, f32x4.mul(d2, four));
  const t1 = f32x4.sub(d3, f32x4.mul(d1, four));
  const t2 = f32x4.sub(d4, d2);
  const t3 = f32x4.sub(d3, d1);
  const t3x2 = f32x4.add(t3, t3);
  v128.store(dst, f32x4.add(f32x4.sub(d4, f32x4.mul(d2, five)), f32x4.mul(d0, four)));
  v128.store(dst + stride, f32x4.add(t0, t1));
  v128.store(dst + 2 * stride, f32x4.sub(t0, t1));
  v128.store(dst + 3 * stride, f32x4.add(t2, t3x2));
  v128.store(dst + 4 * stride, f32x4.sub(t2, t3x2));
  v128.store(dst + 5 * stride, f32x4.add(f32x4.sub(d5, f32x4.mul(d3, five)), f32x4.mul(d1, four)));
}

/** V = B^T d B of one tile with top-left input pixel (y0, x0), 4 channels at a time, at dst + ij * ijStride. */
// @ts-ignore: decorator
@inline
function inputTile(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32, pad: usize, y0: i32, x0: i32, dst: usize, ijStride: usize,
): void {
  const rowStride = ijStride * 6;
  // Column pass: column j of the tile times B^T, into slots (i, j).
  for (let j = 0; j < 6; j++) {
    const p0 = pixel(inp, H, W, inStride, pad, y0, x0 + j);
    const p1 = pixel(inp, H, W, inStride, pad, y0 + 1, x0 + j);
    const p2 = pixel(inp, H, W, inStride, pad, y0 + 2, x0 + j);
    const p3 = pixel(inp, H, W, inStride, pad, y0 + 3, x0 + j);
    const p4 = pixel(inp, H, W, inStride, pad, y0 + 4, x0 + j);
    const p5 = pixel(inp, H, W, inStride, pad, y0 + 5, x0 + j);
    const col = dst + <usize>j * ijStride;
    for (let c: usize = 0; c < <usize>C; c += 4) {
      const o = c << 2;
      bt(v128.load(p0 + o), v128.load(p1 + o), v128.load(p2 + o), v128.load(p3 + o), v128.load(p4 + o), v128.load(p5 + o), col + o, rowStride);
    }
  }
  // Row pass: each row i of that times B, in place.
  for (let i = 0; i < 6; i++) {
    const row = dst + <usize>i * rowStride;
    for (let c: usize = 0; c < <usize>C; c += 4) {
      const r = row + (c << 2);
      bt(v128.load(r), v128.load(r + ijStride), v128.load(r + 2 * ijStride), v128.load(r + 3 * ijStride), v128.load(r + 4 * ijStride), v128.load(r + 5 * ijStride), r, ijStride);
    }
  }
}

/** Stores the first n <= 4 lanes of v at dst. */
// @ts-ignore: decorator
@inline
function storeQuad(dst: usize, v: v128, n: i32): void {
  if (n >= 4) {
    v128.store(dst, v);
    return;
  }
  v128.store32_lane(dst, v, 0);
  if (n > 1) v128.store32_lane(dst, v, 1, 4);
  if (n > 2) v128.store32_lane(dst, v, 2, 8);
}

/**
 * Output transform of one tile's 4 channels at m (slots ij at m + ij * mStride): A^T M A (the
 * bias is already in M, see the GEMM), clamped, stored for the pixels inside the image.
 */
// @ts-ignore: decorator
@inline
function outputTile(
  m: usize, mStride: usize, clamp: bool, lov: v128, hiv: v128,
  dst: usize, W: i32, outStride: i32, rows: i32, cols: i32, n: i32,
): void {
  const two = f32x4.splat(2), four = f32x4.splat(4), eight = f32x4.splat(8);
  const rowStride = mStride * 6;
  // Column pass: column j of M times A^T, rows 0..3 written over rows 0..3 of that column.
  for (let j: usize = 0; j < 6; j++) {
    const c = m + j * mStride;
    const m0 = v128.load(c), m1 = v128.load(c + rowStride), m2 = v128.load(c + 2 * rowStride);
    const m3 = v128.load(c + 3 * rowStride), m4 = v128.load(c + 4 * rowStride), m5 = v128.load(c + 5 * rowStride);
    const a1 = f32x4.add(m1, m2), a2 = f32x4.sub(m1, m2), b1 = f32x4.add(m3, m4), b2 = f32x4.sub(m3, m4);
    v128.store(c, f32x4.add(f32x4.add(m0, a1), b1));
    v128.store(c + rowStride, f32x4.add(a2, f32x4.mul(b2, two)));
    v128.store(c + 2 * rowStride, f32x4.add(a1, f32x4.mul(b1, four)));
    v128.store(c + 3 * rowStride, f32x4.add(f32x4.add(a2, f32x4.mul(b2, eight)), m5));
  }
  // Row pass: row a of that times A, the clamp, four output pixels.
  for (let a = 0; a < rows; a++) {
    const r = m + <usize>a * rowStride;
    const m0 = v128.load(r), m1 = v128.load(r + mStride), m2 = v128.load(r + 2 * mStride);
    const m3 = v128.load(r + 3 * mStride), m4 = v128.load(r + 4 * mStride), m5 = v128.load(r + 5 * mStride);
    const a1 = f32x4.add(m1, m2), a2 = f32x4.sub(m1, m2), b1 = f32x4.add(m3, m4), b2 = f32x4.sub(m3, m4);
    let y0 = f32x4.add(f32x4.add(m0, a1), b1);
    let y1 = f32x4.add(a2, f32x4.mul(b2, two));
    let y2 = f32x4.add(a1, f32x4.mul(b1, four));
    let y3 = f32x4.add(f32x4.add(a2, f32x4.mul(b2, eight)), m5);
    if (clamp) {
      y0 = clampQuad(y0, lov, hiv);
      y1 = clampQuad(y1, lov, hiv);
      y2 = clampQuad(y2, lov, hiv);
      y3 = clampQuad(y3, lov, hiv);
    }
    const o = dst + <usize>(a * W) * outStride;
    storeQuad(o, y0, n);
    if (cols > 1) storeQuad(o + outStride, y1, n);
    if (cols > 2) storeQuad(o + 2 * outStride, y2, n);
    if (cols > 3) storeQuad(o + 3 * outStride, y3, n);
  }
}

/**
 * y clamped to [lo, hi] as y < lo ? lo : y, then hi < y ? hi : y: one maxps and one minps on x86,
 * where f32x4.min / max take seven instructions each (their NaN and signed-zero rules), which
 * here would cost more than the output transform itself. A NaN still passes through (and is then
 * caught as a non-finite output); a -0 stays -0 where min / max would give +0, the same value.
 */
// @ts-ignore: decorator
@inline
function clampQuad(y: v128, lov: v128, hiv: v128): v128 {
  return f32x4.pmin(f32x4.pmax(y, lov), hiv);
}

/**
 * The SIMD kernel. The result is clamped to [lo, hi] like f32_igemm_4x8's. Scratch: V of
 * {@link f32_winograd3x3_scratch_v} bytes, M of {@link f32_winograd3x3_scratch_m}.
 */
export function f32_winograd3x3_simd(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32, lo: f32, hi: f32, V: usize, M: usize,
): void {
  const tilesW = (W + 3) >> 2;
  const tiles = tilesW * ((H + 3) >> 2);
  const vRow = <usize>((C + 3) & ~3) << 2;
  const ijStride = <usize>TB * vRow;
  const mStride = <usize>(TB << 5);
  const blockBytes = <usize>(8 + 36 * C * 8) << 2;
  const clamp = lo > -Infinity || hi < Infinity;
  const lov = f32x4.splat(lo), hiv = f32x4.splat(hi);
  for (let t0 = 0; t0 < tiles; t0 += TB) {
    // The last block shrinks to the remaining tiles, rounded up to the micro-kernel's 4.
    const tb = min(TB, (tiles - t0 + 3) & ~3);
    for (let tt = 0; tt < tb; tt++) {
      // Tiles past the end repeat the last one; their outputs are not stored.
      const t = min(t0 + tt, tiles - 1);
      const ty = t / tilesW, tx = t - ty * tilesW;
      inputTile(inp, H, W, C, inStride, pad, 4 * ty - 1, 4 * tx - 1, V + <usize>tt * vRow, ijStride);
    }
    for (let nb = 0; nb < N; nb += 8) {
      const wBlock = weights + <usize>(nb >> 3) * blockBytes;
      const blo = v128.load(wBlock), bhi = v128.load(wBlock, 16), zero = f32x4.splat(0);
      for (let ij = 0; ij < 36; ij++) {
        const u0 = wBlock + 32 + (<usize>(ij * C) << 5);
        const vij = V + <usize>ij * ijStride;
        // Column 1 of A^T is all ones, so a value added to M[1][1] (ij 7) reaches every output
        // once: the bias goes there, as the accumulators' start, instead of 16 adds per tile.
        const slo = ij == 7 ? blo : zero, shi = ij == 7 ? bhi : zero;
        for (let tt = 0; tt < tb; tt += 4) {
          let a0 = vij + <usize>tt * vRow;
          let a1 = a0 + vRow, a2 = a1 + vRow, a3 = a2 + vRow;
          let c0lo = slo, c0hi = shi, c1lo = slo, c1hi = shi, c2lo = slo, c2hi = shi, c3lo = slo, c3hi = shi;
          let u = u0;
          const aEnd = a0 + (<usize>C << 2);
          while (a0 < aEnd) {
            const wlo = v128.load(u);
            const whi = v128.load(u, 16);
            let x = v128.load32_splat(a0);
            c0lo = madd(x, wlo, c0lo);
            c0hi = madd(x, whi, c0hi);
            x = v128.load32_splat(a1);
            c1lo = madd(x, wlo, c1lo);
            c1hi = madd(x, whi, c1hi);
            x = v128.load32_splat(a2);
            c2lo = madd(x, wlo, c2lo);
            c2hi = madd(x, whi, c2hi);
            x = v128.load32_splat(a3);
            c3lo = madd(x, wlo, c3lo);
            c3hi = madd(x, whi, c3hi);
            a0 += 4; a1 += 4; a2 += 4; a3 += 4;
            u += 32;
          }
          const m = M + <usize>ij * mStride + (<usize>tt << 5);
          v128.store(m, c0lo); v128.store(m, c0hi, 16);
          v128.store(m, c1lo, 32); v128.store(m, c1hi, 48);
          v128.store(m, c2lo, 64); v128.store(m, c2hi, 80);
          v128.store(m, c3lo, 96); v128.store(m, c3hi, 112);
        }
      }
      const nLeft = N - nb;
      for (let tt = 0; tt < tb && t0 + tt < tiles; tt++) {
        const t = t0 + tt;
        const ty = t / tilesW, tx = t - ty * tilesW;
        const oy = 4 * ty, ox = 4 * tx;
        const dst = out + <usize>(oy * W + ox) * outStride + (<usize>nb << 2);
        const rows = min(4, H - oy), cols = min(4, W - ox);
        // Channels nb..nb+3, then nb+4..nb+7 if any: one copy of the transform in the code.
        for (let half = 0; half < 8 && half < nLeft; half += 4) {
          outputTile(M + (<usize>(tt << 5) + <usize>(half << 2)), mStride, clamp, lov, hiv, dst + (<usize>half << 2), W, outStride, rows, cols, nLeft - half);
        }
      }
    }
  }
}

// The scalar reference's transforms: the same expression trees as bt and outputTile, on one float.

/** Element i of (d0..d5) times B^T. */
// @ts-ignore: decorator
@inline
function btScalar(i: i32, d0: f32, d1: f32, d2: f32, d3: f32, d4: f32, d5: f32): f32 {
  const t0 = d4 - d2 * <f32>4, t1 = d3 - d1 * <f32>4, t2 = d4 - d2, t3 = d3 - d1;
  const t3x2 = t3 + t3;
  if (i == 0) return (d4 - d2 * <f32>5) + d0 * <f32>4;
  if (i == 1) return t0 + t1;
  if (i == 2) return t0 - t1;
  if (i == 3) return t2 + t3x2;
  if (i == 4) return t2 - t3x2;
  return (d5 - d3 * <f32>5) + d1 * <f32>4;
}

/** Element a of (m0..m5) times A^T. */
// @ts-ignore: decorator
@inline
function atScalar(a: i32, m0: f32, m1: f32, m2: f32, m3: f32, m4: f32, m5: f32): f32 {
  const a1 = m1 + m2, a2 = m1 - m2, b1 = m3 + m4, b2 = m3 - m4;
  if (a == 0) return (m0 + a1) + b1;
  if (a == 1) return a2 + b2 * <f32>2;
  if (a == 2) return a1 + b1 * <f32>4;
  return (a2 + b2 * <f32>8) + m5;
}

// @ts-ignore: decorator
@inline
function f32at(p: usize, i: i32): f32 {
  return load<f32>(p + (<usize>i << 2));
}

/**
 * Scalar reference: the same transforms, products and order of summation, element by element, so
 * that in the plain build it computes the SIMD kernel's bits. Uses V as [36][C] floats for one
 * tile and M as [36] sums.
 */
export function f32_winograd3x3_ref(
  H: i32, W: i32, C: i32, inp: usize, inStride: i32, pad: usize,
  N: i32, weights: usize, out: usize, outStride: i32, lo: f32, hi: f32, V: usize, M: usize,
): void {
  const tilesW = (W + 3) >> 2;
  const tiles = tilesW * ((H + 3) >> 2);
  const blockBytes = <usize>(8 + 36 * C * 8) << 2;
  for (let t = 0; t < tiles; t++) {
    const ty = t / tilesW, tx = t - ty * tilesW;
    const y0 = 4 * ty - 1, x0 = 4 * tx - 1;
    for (let c = 0; c < C; c++) {
      // Column pass into V[i][j], then each row in place, as inputTile does.
      for (let j = 0; j < 6; j++) {
        const d0 = f32at(pixel(inp, H, W, inStride, pad, y0, x0 + j), c);
        const d1 = f32at(pixel(inp, H, W, inStride, pad, y0 + 1, x0 + j), c);
        const d2 = f32at(pixel(inp, H, W, inStride, pad, y0 + 2, x0 + j), c);
        const d3 = f32at(pixel(inp, H, W, inStride, pad, y0 + 3, x0 + j), c);
        const d4 = f32at(pixel(inp, H, W, inStride, pad, y0 + 4, x0 + j), c);
        const d5 = f32at(pixel(inp, H, W, inStride, pad, y0 + 5, x0 + j), c);
        for (let i = 0; i < 6; i++) store<f32>(V + (<usize>((i * 6 + j) * C + c) << 2), btScalar(i, d0, d1, d2, d3, d4, d5));
      }
      for (let i = 0; i < 6; i++) {
        const row = V + (<usize>(i * 6 * C + c) << 2);
        const cs = <usize>C << 2;
        const d0 = load<f32>(row), d1 = load<f32>(row + cs), d2 = load<f32>(row + 2 * cs);
        const d3 = load<f32>(row + 3 * cs), d4 = load<f32>(row + 4 * cs), d5 = load<f32>(row + 5 * cs);
        for (let j = 0; j < 6; j++) store<f32>(row + <usize>j * cs, btScalar(j, d0, d1, d2, d3, d4, d5));
      }
    }
    for (let n = 0; n < N; n++) {
      const wBlock = weights + <usize>(n >> 3) * blockBytes;
      const lane = <usize>(n & 7) << 2;
      const bias = load<f32>(wBlock + lane);
      for (let ij = 0; ij < 36; ij++) {
        let acc: f32 = ij == 7 ? bias : 0;
        for (let c = 0; c < C; c++) acc += f32at(V, ij * C + c) * load<f32>(wBlock + 32 + (<usize>(ij * C + c) << 5) + lane);
        store<f32>(M + (<usize>ij << 2), acc);
      }
      for (let j = 0; j < 6; j++) {
        const m0 = f32at(M, j), m1 = f32at(M, 6 + j), m2 = f32at(M, 12 + j), m3 = f32at(M, 18 + j), m4 = f32at(M, 24 + j), m5 = f32at(M, 30 + j);
        for (let a = 0; a < 4; a++) store<f32>(M + (<usize>(a * 6 + j) << 2), atScalar(a, m0, m1, m2, m3, m4, m5));
      }
      for (let a = 0; a < 4; a++) {
        const r = a * 6;
        const m0 = f32at(M, r), m1 = f32at(M, r + 1), m2 = f32at(M, r + 2), m3 = f32at(M, r + 3), m4 = f32at(M, r + 4), m5 = f32at(M, r + 5);
        for (let b = 0; b < 4; b++) {
          const oy = 4 * ty + a, ox = 4 * tx + b;
          if (oy >= H || ox >= W) continue;
          let y = atScalar(b, m0, m1, m2, m3, m4, m5);
          y = y < lo ? lo : y;
          y = hi < y ? hi : y;
          store<f32>(out + <usize>(oy * W + ox) * outStride + (<usize>n << 2), y);
        }
      }
    }
  }
}

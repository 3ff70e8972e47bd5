// The network's input from RGBA pixels: bilinear resize of the shorter side, centre crop,
// per-channel scale and bias, and for int8 models quantization. The arithmetic is
// src/image/preprocess.ts's, operation for operation in f64 (wasm has no fused multiply-add to
// change a rounding), so both give identical bits; that file is the reference the tests compare with.
//
// The host computes the two axes' sample tables: for output column x, byte offsets lo[x] and hi[x]
// of the two source columns (row offsets for rows) and the weight f[x] of hi (f64). A pixel's
// address is only ever the sum of a row offset and a column offset, so for a photo whose EXIF
// orientation swaps its sides the host hands a column table of stored-row offsets and a row table
// of stored-column offsets (and mirrored ones), and this computes the turned image, unchanged.

/**
 * Writes the H x W x 3 input at `out`: f32 (`kind` 0), or quantized as uint8 (1) / int16 (2) with
 * q = clamp(round(v / qScale) + zp, qlo, qhi), rounding halves away from zero, from the value v
 * already rounded to f32 as the float path stores it. `order` 0 reads RGB, 1 BGR.
 *
 * One output pixel per iteration: its four source pixels are loaded whole (RGBA, 4 bytes each),
 * reordered to the network's channel order, and the three channels (and alpha, unused) go through
 * the arithmetic as two f64x2 vectors, each lane exactly the scalar reference's operations.
 */
export function image_preprocess(
  rgba: usize, cols: usize, rows: usize, W: i32, H: i32, order: i32,
  s0: f64, s1: f64, s2: f64, b0: f64, b1: f64, b2: f64,
  out: usize, kind: i32, qScale: f64, zp: i32, qlo: i32, qhi: i32,
): void {
  // Tables: lo i32[n], hi i32[n], f f64[n], one after another (f 8-byte aligned by the host).
  const colHi = cols + (<usize>W << 2), colF = cols + (<usize>W << 3);
  const rowHi = rows + (<usize>H << 2), rowF = rows + (<usize>H << 3);
  // Byte shuffle of an RGBA pixel (widened to four i32) into channel order: RGB as is, or BGR.
  const swap = order ? i8x16(8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3, 12, 13, 14, 15) : i8x16(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const scale01 = f64x2(s0, s1), scale2 = f64x2(s2, 0);
  const bias01 = f64x2(b0, b1), bias2 = f64x2(b2, 0);
  const q = f64x2.splat(qScale), half = f64x2.splat(0.5), one = f64x2.splat(1);
  const lo = f64x2.splat(<f64>qlo), hi = f64x2.splat(<f64>qhi), zero = f64x2.splat(<f64>zp);
  let d = out;
  for (let y = 0; y < H; y++) {
    const r0 = rgba + <usize>load<i32>(rows + (<usize>y << 2));
    const r1 = rgba + <usize>load<i32>(rowHi + (<usize>y << 2));
    const fy = f64x2.splat(load<f64>(rowF + (<usize>y << 3)));
    for (let x = 0; x < W; x++) {
      const l = <usize>load<i32>(cols + (<usize>x << 2));
      const h = <usize>load<i32>(colHi + (<usize>x << 2));
      const fx = f64x2.splat(load<f64>(colF + (<usize>x << 3)));
      const a = pixel(r0 + l, swap), b = pixel(r0 + h, swap), c = pixel(r1 + l, swap), e = pixel(r1 + h, swap);
      const v01 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(lerp2(low(a), low(b), low(c), low(e), fx, fy), scale01), bias01));
      const v2 = f32x4.demote_f64x2_zero(f64x2.add(f64x2.mul(lerp2(high(a), high(b), high(c), high(e), fx, fy), scale2), bias2));
      if (kind == 0) {
        v128.store64_lane(d, v01, 0);
        store<f32>(d, f32x4.extract_lane(v2, 0), 8);
        d += 12;
      } else {
        const q01 = quantize(f64x2.promote_low_f32x4(v01), q, half, one, zero, lo, hi);
        const q2 = quantize(f64x2.promote_low_f32x4(v2), q, half, one, zero, lo, hi);
        if (kind == 1) {
          store<u8>(d, <u8>i32x4.extract_lane(q01, 0));
          store<u8>(d, <u8>i32x4.extract_lane(q01, 1), 1);
          store<u8>(d, <u8>i32x4.extract_lane(q2, 0), 2);
          d += 3;
        } else {
          store<i16>(d, <i16>i32x4.extract_lane(q01, 0));
          store<i16>(d, <i16>i32x4.extract_lane(q01, 1), 2);
          store<i16>(d, <i16>i32x4.extract_lane(q2, 0), 4);
          d += 6;
        }
      }
    }
  }
}

/** The RGBA pixel at `p` as four i32 lanes, in channel order (alpha last). */
@inline
function pixel(p: usize, swap: v128): v128 {
  return i8x16.swizzle(i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(p))), swap);
}

/** Lanes 0 and 1 as f64. */
@inline
function low(v: v128): v128 {
  return f64x2.convert_low_i32x4_u(v);
}

/** Lanes 2 and 3 as f64. */
@inline
function high(v: v128): v128 {
  return f64x2.convert_low_i32x4_u(i32x4.shuffle(v, v, 2, 3, 2, 3));
}

/** The reference's bilinear interpolation, per lane: across x first, then down y. */
@inline
function lerp2(a: v128, b: v128, c: v128, e: v128, fx: v128, fy: v128): v128 {
  const top = f64x2.add(a, f64x2.mul(f64x2.sub(b, a), fx));
  const bottom = f64x2.add(c, f64x2.mul(f64x2.sub(e, c), fx));
  return f64x2.add(top, f64x2.mul(f64x2.sub(bottom, top), fy));
}

/**
 * clamp(round(v / scale) + zp, lo, hi) per lane as i32 (lanes 0 and 1), rounding halves away from
 * zero exactly as JavaScript's Math.round does on |v / scale| (floor(x + 0.5) would round
 * 0.49999999999999994 to 1). Clamped before the conversion, which saturates anyway.
 */
@inline
function quantize(v: v128, scale: v128, half: v128, one: v128, zp: v128, lo: v128, hi: v128): v128 {
  const s = f64x2.div(v, scale);
  const m = f64x2.abs(s);
  const f = f64x2.floor(m);
  const up = f64x2.ge(f64x2.sub(m, f), half);
  const r = v128.bitselect(f64x2.add(f, one), f, up);
  const signed = v128.bitselect(f64x2.neg(r), r, f64x2.lt(s, f64x2.splat(0)));
  return i32x4.trunc_sat_f64x2_s_zero(f64x2.min(hi, f64x2.max(lo, f64x2.add(signed, zp))));
}

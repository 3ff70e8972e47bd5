// The network's input from RGBA pixels: bilinear resize of the shorter side, centre crop,
// per-channel scale and bias, and for int8 models quantization. The arithmetic is
// src/image/preprocess.ts's, operation for operation in f64 (wasm has no fused multiply-add to
// change a rounding), so both give identical bits; that file is the reference the tests compare with.
//
// The host computes the two axes' sample tables: for output column x, byte offsets lo[x] and hi[x]
// of the two source columns (row offsets for rows) and the weight f[x] of hi (f64).

@inline
function lerp2(a: usize, b: usize, c: usize, e: usize, fx: f64, fy: f64): f64 {
  const pa = <f64>load<u8>(a), pb = <f64>load<u8>(b), pc = <f64>load<u8>(c), pe = <f64>load<u8>(e);
  const top = pa + (pb - pa) * fx;
  const bottom = pc + (pe - pc) * fx;
  return top + (bottom - top) * fy;
}

/** JavaScript's Math.round (halves up), exact: floor(v + 0.5) would round 0.49999999999999994 to 1. */
@inline
function roundHalfUp(v: f64): f64 {
  const r = Math.floor(v);
  return v - r >= 0.5 ? r + 1 : r;
}

/**
 * Writes the H x W x 3 input at `out`: f32 (`kind` 0), or quantized as uint8 (1) / int16 (2) with
 * q = clamp(round(v / qScale) + zp, qlo, qhi), rounding halves away from zero, from the value v
 * already rounded to f32 as the float path stores it. `order` 0 reads RGB, 1 BGR.
 */
export function image_preprocess(
  rgba: usize, cols: usize, rows: usize, W: i32, H: i32, order: i32,
  s0: f64, s1: f64, s2: f64, b0: f64, b1: f64, b2: f64,
  out: usize, kind: i32, qScale: f64, zp: i32, qlo: i32, qhi: i32,
): void {
  // Tables: lo i32[n], hi i32[n], f f64[n], one after another (f 8-byte aligned by the host).
  const colHi = cols + (<usize>W << 2), colF = cols + (<usize>W << 3);
  const rowHi = rows + (<usize>H << 2), rowF = rows + (<usize>H << 3);
  const o0: usize = order ? 2 : 0, o2: usize = order ? 0 : 2;
  let d = out;
  for (let y = 0; y < H; y++) {
    const r0 = rgba + <usize>load<i32>(rows + (<usize>y << 2));
    const r1 = rgba + <usize>load<i32>(rowHi + (<usize>y << 2));
    const fy = load<f64>(rowF + (<usize>y << 3));
    for (let x = 0; x < W; x++) {
      const lo = <usize>load<i32>(cols + (<usize>x << 2));
      const hi = <usize>load<i32>(colHi + (<usize>x << 2));
      const fx = load<f64>(colF + (<usize>x << 3));
      const a = r0 + lo, b = r0 + hi, c = r1 + lo, e = r1 + hi;
      const v0 = <f32>(lerp2(a + o0, b + o0, c + o0, e + o0, fx, fy) * s0 + b0);
      const v1 = <f32>(lerp2(a + 1, b + 1, c + 1, e + 1, fx, fy) * s1 + b1);
      const v2 = <f32>(lerp2(a + o2, b + o2, c + o2, e + o2, fx, fy) * s2 + b2);
      if (kind == 0) {
        store<f32>(d, v0);
        store<f32>(d, v1, 4);
        store<f32>(d, v2, 8);
        d += 12;
      } else {
        const q0 = quantize(v0, qScale, zp, qlo, qhi), q1 = quantize(v1, qScale, zp, qlo, qhi), q2 = quantize(v2, qScale, zp, qlo, qhi);
        if (kind == 1) {
          store<u8>(d, <u8>q0);
          store<u8>(d, <u8>q1, 1);
          store<u8>(d, <u8>q2, 2);
          d += 3;
        } else {
          store<i16>(d, <i16>q0);
          store<i16>(d, <i16>q1, 2);
          store<i16>(d, <i16>q2, 4);
          d += 6;
        }
      }
    }
  }
}

@inline
function quantize(v: f32, scale: f64, zp: i32, lo: i32, hi: i32): i32 {
  const s = <f64>v / scale;
  const r = s < 0 ? -roundHalfUp(-s) : roundHalfUp(s);
  // Clamped before the conversion, which would trap outside the i32 range.
  return <i32>Math.min(<f64>hi, Math.max(<f64>lo, r + <f64>zp));
}

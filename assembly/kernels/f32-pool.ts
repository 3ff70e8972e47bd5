// f32 pooling and element-wise kernels over NHWC activations.
//
// Every activation is addressed by a base pointer and a pixel stride in bytes, so a kernel can
// read from or write into a channel slice of a wider (concatenated) tensor without copies.
// Windows are clipped to the input: with ceil rounding the last window may run past the edge and
// then covers only the real pixels, which is what max pooling with ceil_mode means.

import { windowEnd, windowStart } from './window';

/** Max pool, vectorised over channels. Windows must cover at least one input pixel (the planner guarantees it). */
export function f32_maxpool_simd(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  const C4 = C & ~3;
  for (let oy = 0; oy < OH; oy++) {
    const y0 = windowStart(oy, sh, pt), y1 = windowEnd(oy, sh, pt, kh, H);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = windowStart(ox, sw, pl), x1 = windowEnd(ox, sw, pl, kw, W);
      const dst = out + <usize>(oy * OW + ox) * outStride;
      const first = inp + <usize>(y0 * W + x0) * inStride;
      let c = 0;
      for (; c < C4; c += 4) {
        let m = v128.load(first + (<usize>c << 2));
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) {
            m = f32x4.max(m, v128.load(inp + <usize>(y * W + x) * inStride + (<usize>c << 2)));
          }
        }
        v128.store(dst + (<usize>c << 2), m);
      }
      for (; c < C; c++) {
        let m = load<f32>(first + (<usize>c << 2));
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) m = max<f32>(m, load<f32>(inp + <usize>(y * W + x) * inStride + (<usize>c << 2)));
        }
        store<f32>(dst + (<usize>c << 2), m);
      }
    }
  }
}

/** Scalar reference of {@link f32_maxpool_simd}. */
export function f32_maxpool_ref(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32,
): void {
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      for (let c = 0; c < C; c++) {
        let m = -Infinity as f32;
        for (let y = windowStart(oy, sh, pt); y < windowEnd(oy, sh, pt, kh, H); y++) {
          for (let x = windowStart(ox, sw, pl); x < windowEnd(ox, sw, pl, kw, W); x++) {
            m = max<f32>(m, load<f32>(inp + <usize>(y * W + x) * inStride + (<usize>c << 2)));
          }
        }
        store<f32>(out + <usize>(oy * OW + ox) * outStride + (<usize>c << 2), m);
      }
    }
  }
}

/**
 * Average pool. The divisor is the number of covered input pixels, or with `countPad` the window
 * clipped to the padded input (the ONNX count_include_pad / PyTorch rule).
 */
export function f32_avgpool_simd(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countPad: i32,
): void {
  const C4 = C & ~3;
  for (let oy = 0; oy < OH; oy++) {
    const y0 = windowStart(oy, sh, pt), y1 = windowEnd(oy, sh, pt, kh, H);
    for (let ox = 0; ox < OW; ox++) {
      const x0 = windowStart(ox, sw, pl), x1 = windowEnd(ox, sw, pl, kw, W);
      const n = countPad
        ? (min(oy * sh - pt + kh, H + pb) - (oy * sh - pt)) * (min(ox * sw - pl + kw, W + pr) - (ox * sw - pl))
        : (y1 - y0) * (x1 - x0);
      const div = f32x4.splat(<f32>n);
      const dst = out + <usize>(oy * OW + ox) * outStride;
      let c = 0;
      for (; c < C4; c += 4) {
        let s = f32x4.splat(0);
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s = f32x4.add(s, v128.load(inp + <usize>(y * W + x) * inStride + (<usize>c << 2)));
        }
        v128.store(dst + (<usize>c << 2), f32x4.div(s, div));
      }
      for (; c < C; c++) {
        let s: f32 = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s += load<f32>(inp + <usize>(y * W + x) * inStride + (<usize>c << 2));
        }
        store<f32>(dst + (<usize>c << 2), s / <f32>n);
      }
    }
  }
}

/** Scalar reference of {@link f32_avgpool_simd}. */
export function f32_avgpool_ref(
  inp: usize, H: i32, W: i32, C: i32, inStride: i32,
  out: usize, OH: i32, OW: i32, outStride: i32,
  kh: i32, kw: i32, sh: i32, sw: i32, pt: i32, pl: i32, pb: i32, pr: i32, countPad: i32,
): void {
  for (let oy = 0; oy < OH; oy++) {
    for (let ox = 0; ox < OW; ox++) {
      const ys = oy * sh - pt, xs = ox * sw - pl;
      const y0 = max(ys, 0), y1 = min(ys + kh, H), x0 = max(xs, 0), x1 = min(xs + kw, W);
      const n = countPad ? (min(ys + kh, H + pb) - ys) * (min(xs + kw, W + pr) - xs) : (y1 - y0) * (x1 - x0);
      for (let c = 0; c < C; c++) {
        let s: f32 = 0;
        for (let y = y0; y < y1; y++) {
          for (let x = x0; x < x1; x++) s += load<f32>(inp + <usize>(y * W + x) * inStride + (<usize>c << 2));
        }
        store<f32>(out + <usize>(oy * OW + ox) * outStride + (<usize>c << 2), s / <f32>n);
      }
    }
  }
}

/** Global average pool: out[c] = mean over all P pixels of channel c (sum in pixel order, then divide). */
export function f32_global_avgpool_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize): void {
  const C4 = C & ~3;
  const div = f32x4.splat(<f32>P);
  let c = 0;
  for (; c < C4; c += 4) {
    let s = f32x4.splat(0);
    for (let p = 0; p < P; p++) s = f32x4.add(s, v128.load(inp + <usize>p * inStride + (<usize>c << 2)));
    v128.store(out + (<usize>c << 2), f32x4.div(s, div));
  }
  for (; c < C; c++) {
    let s: f32 = 0;
    for (let p = 0; p < P; p++) s += load<f32>(inp + <usize>p * inStride + (<usize>c << 2));
    store<f32>(out + (<usize>c << 2), s / <f32>P);
  }
}

/** Scalar reference of {@link f32_global_avgpool_simd}. */
export function f32_global_avgpool_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize): void {
  for (let c = 0; c < C; c++) {
    let s: f32 = 0;
    for (let p = 0; p < P; p++) s += load<f32>(inp + <usize>p * inStride + (<usize>c << 2));
    store<f32>(out + (<usize>c << 2), s / <f32>P);
  }
}

/**
 * Copies P pixels of C channels between strided layouts, optionally applying ReLU: the fallback for
 * a concat input that cannot be written in place, and the stand-alone ReLU op.
 */
export function f32_copy_simd(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, relu: i32): void {
  const C4 = C & ~3;
  const zero = f32x4.splat(0);
  for (let p = 0; p < P; p++) {
    const src = inp + <usize>p * inStride, dst = out + <usize>p * outStride;
    let c = 0;
    for (; c < C4; c += 4) {
      const v = v128.load(src + (<usize>c << 2));
      v128.store(dst + (<usize>c << 2), relu ? f32x4.max(v, zero) : v);
    }
    for (; c < C; c++) {
      const v = load<f32>(src + (<usize>c << 2));
      store<f32>(dst + (<usize>c << 2), relu ? max<f32>(v, 0) : v);
    }
  }
}

/** Scalar reference of {@link f32_copy_simd}. */
export function f32_copy_ref(inp: usize, P: i32, C: i32, inStride: i32, out: usize, outStride: i32, relu: i32): void {
  for (let p = 0; p < P; p++) {
    for (let c = 0; c < C; c++) {
      const v = load<f32>(inp + <usize>p * inStride + (<usize>c << 2));
      store<f32>(out + <usize>p * outStride + (<usize>c << 2), relu ? max<f32>(v, 0) : v);
    }
  }
}

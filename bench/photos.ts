/**
 * Photos made from small images, for the benchmarks of large inputs (bench/decode.ts,
 * bench/photo-eval.ts): bilinear upscaling and a plain PNG writer.
 * @packageDocumentation
 */
import { deflateSync } from 'node:zlib';
import { crc32 } from '../src/model/crc32.js';

/** The source upscaled to `w` x `h` RGB by bilinear interpolation between pixel centres. */
export function upscale(src: { width: number; height: number; data: Uint8Array }, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h * 3);
  const taps = (n: number, size: number): { lo: Int32Array; hi: Int32Array; f: Float64Array } => {
    const t = { lo: new Int32Array(n), hi: new Int32Array(n), f: new Float64Array(n) };
    for (let i = 0; i < n; i++) {
      const v = Math.min(Math.max((i + 0.5) * (size / n) - 0.5, 0), size - 1);
      t.lo[i] = Math.floor(v);
      t.hi[i] = Math.min(t.lo[i] + 1, size - 1);
      t.f[i] = v - t.lo[i];
    }
    return t;
  };
  const xs = taps(w, src.width), ys = taps(h, src.height);
  const d = src.data, sw = src.width * 4;
  for (let y = 0, o = 0; y < h; y++) {
    const r0 = ys.lo[y] * sw, r1 = ys.hi[y] * sw, fy = ys.f[y];
    for (let x = 0; x < w; x++) {
      const a = 4 * xs.lo[x], b = 4 * xs.hi[x], fx = xs.f[x];
      for (let c = 0; c < 3; c++) {
        const top = d[r0 + a + c] + (d[r0 + b + c] - d[r0 + a + c]) * fx;
        const bottom = d[r1 + a + c] + (d[r1 + b + c] - d[r1 + a + c]) * fx;
        out[o++] = Math.round(top + (bottom - top) * fy);
      }
    }
  }
  return out;
}

/**
 * The source upscaled to `w` x `h` RGB with a Lanczos-3 filter (sinc(d) sinc(d / 3), |d| < 3,
 * weights normalised, edges clamped), separably: rows first, then columns. Sharper than bilinear,
 * as photo editors and PIL's LANCZOS upscale, so the upscaled image keeps the original's detail.
 */
export function upscaleLanczos3(src: { width: number; height: number; data: Uint8Array }, w: number, h: number): Uint8Array {
  const sinc = (x: number): number => (x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x));
  const taps = (n: number, size: number): { first: Int32Array; weights: Float64Array } => {
    const first = new Int32Array(n), weights = new Float64Array(n * 6);
    for (let i = 0; i < n; i++) {
      const centre = (i + 0.5) * (size / n) - 0.5;
      first[i] = Math.floor(centre) - 2;
      let sum = 0;
      for (let k = 0; k < 6; k++) sum += weights[i * 6 + k] = sinc(centre - (first[i] + k)) * sinc((centre - (first[i] + k)) / 3);
      for (let k = 0; k < 6; k++) weights[i * 6 + k] /= sum;
    }
    return { first, weights };
  };
  const xs = taps(w, src.width), ys = taps(h, src.height);
  const clamp = (v: number, n: number): number => Math.min(Math.max(v, 0), n - 1);
  const rows = new Float64Array(src.height * w * 3);
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let v = 0;
        for (let k = 0; k < 6; k++) v += xs.weights[x * 6 + k] * src.data[(y * src.width + clamp(xs.first[x] + k, src.width)) * 4 + c];
        rows[(y * w + x) * 3 + c] = v;
      }
    }
  }
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let i = 0; i < w * 3; i++) {
      let v = 0;
      for (let k = 0; k < 6; k++) v += ys.weights[y * 6 + k] * rows[clamp(ys.first[y] + k, src.height) * w * 3 + i];
      out[y * w * 3 + i] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return out;
}

/**
 * An 8-bit RGB PNG, every row with filter 0 (None). Not test/helpers' encodePngFile, which builds
 * a JS array per byte for its filter cases: too slow and large for 12 MP.
 */
export function png(rgb: Uint8Array, w: number, h: number): Uint8Array {
  const raw = new Uint8Array(h * (1 + w * 3));
  for (let y = 0; y < h; y++) raw.set(rgb.subarray(y * w * 3, (y + 1) * w * 3), y * (1 + w * 3) + 1);
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    body.copy(b, 4);
    b.writeUInt32BE(crc32(body), 8 + data.length);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const sig = Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', new Uint8Array(0))]);
}

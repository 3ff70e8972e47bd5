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

/** An 8-bit RGB PNG, every row with filter 0 (None). */
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

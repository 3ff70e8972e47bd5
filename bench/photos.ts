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
  const sx = src.width / w, sy = src.height / h;
  // The columns' source offsets and weights, once: per pixel, only the arithmetic is left.
  const x0s = new Int32Array(w), x1s = new Int32Array(w), wxs = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), src.width - 1);
    const x0 = Math.floor(fx);
    x0s[x] = x0 * 4;
    x1s[x] = Math.min(x0 + 1, src.width - 1) * 4;
    wxs[x] = fx - x0;
  }
  const s = src.data;
  for (let y = 0, d = 0; y < h; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), src.height - 1);
    const y0 = Math.floor(fy), wy = fy - y0;
    const r0 = y0 * src.width * 4, r1 = Math.min(y0 + 1, src.height - 1) * src.width * 4;
    for (let x = 0; x < w; x++) {
      const a = x0s[x], b = x1s[x], wx = wxs[x];
      for (let c = 0; c < 3; c++, d++) {
        const top = s[r0 + a + c] + (s[r0 + b + c] - s[r0 + a + c]) * wx;
        const bottom = s[r1 + a + c] + (s[r1 + b + c] - s[r1 + a + c]) * wx;
        out[d] = Math.round(top + (bottom - top) * wy);
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

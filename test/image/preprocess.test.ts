import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { preprocess, preprocessInto, quantize, toNCHW } from '../../src/image/preprocess.js';
import type { InputSpec } from '../../src/model/format.js';

/** Deterministic pseudo-random bytes (xorshift32). */
function randomImage(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < data.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    data[i] = s & 255;
  }
  return data;
}

/**
 * The definition, written out plainly: scale the whole image by s = resizeShorter / shorter side
 * (longer side rounded) with half-pixel bilinear interpolation in float64, then crop the centre,
 * then pick channels and normalise.
 */
function reference(rgba: Uint8Array, w: number, h: number, spec: InputSpec): Float64Array {
  const s = spec.resizeShorter / Math.min(w, h);
  const rw = Math.round(w * s);
  const rh = Math.round(h * s);
  const resized = new Float64Array(rw * rh * 3);
  const source = (d: number, inSize: number) => Math.min(Math.max((d + 0.5) / s - 0.5, 0), inSize - 1);
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const sy = source(y, h);
      const sx = source(x, w);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const y1 = Math.min(y0 + 1, h - 1);
      const x1 = Math.min(x0 + 1, w - 1);
      const wy = sy - y0;
      const wx = sx - x0;
      for (let c = 0; c < 3; c++) {
        const p = (yy: number, xx: number) => rgba[(yy * w + xx) * 4 + c];
        resized[(y * rw + x) * 3 + c] =
          (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
      }
    }
  }
  const top = Math.floor((rh - spec.height) / 2);
  const left = Math.floor((rw - spec.width) / 2);
  const rgbIndex = spec.channelOrder === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const out = new Float64Array(spec.height * spec.width * 3);
  for (let y = 0; y < spec.height; y++) {
    for (let x = 0; x < spec.width; x++) {
      for (let c = 0; c < 3; c++) {
        const pixel = resized[((top + y) * rw + left + x) * 3 + rgbIndex[c]];
        out[(y * spec.width + x) * 3 + c] = (pixel / spec.divisor - spec.mean[c]) / spec.std[c];
      }
    }
  }
  return out;
}

const IMAGENET_RGB: InputSpec = {
  name: 'data', height: 224, width: 224, channelOrder: 'RGB', resizeShorter: 256,
  divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
};
const CAFFE_BGR: InputSpec = {
  name: 'data', height: 227, width: 227, channelOrder: 'BGR', resizeShorter: 256,
  divisor: 1, mean: [104, 117, 123], std: [1, 1, 1],
};
/** Small, non-square and odd so that swapped axes or off-by-one crops show. */
const ODD_BGR: InputSpec = {
  name: 'data', height: 7, width: 5, channelOrder: 'BGR', resizeShorter: 9,
  divisor: 2, mean: [10, 20, 30], std: [3, 5, 7],
};

function check(width: number, height: number, spec: InputSpec, seed: number): void {
  const rgba = randomImage(width, height, seed);
  const out = new Float32Array(spec.height * spec.width * 3);
  preprocess(rgba, width, height, spec, out);
  const want = reference(rgba, width, height, spec);
  let worst = 0;
  for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i] - want[i]) / Math.max(1, Math.abs(want[i])));
  expect(worst).toBeLessThan(1e-5);
}

describe('preprocess', () => {
  const sizes: [string, number, number][] = [
    ['landscape', 500, 375],
    ['portrait', 333, 500],
    ['odd landscape', 301, 257],
    ['exactly 256', 256, 256],
    ['larger than 256, square', 300, 300],
    ['smaller than 256 (upscaled)', 131, 97],
    ['tiny 1xN', 1, 7],
    ['tiny Nx1', 9, 1],
    ['1x1', 1, 1],
  ];
  for (const spec of [IMAGENET_RGB, CAFFE_BGR, ODD_BGR]) {
    for (const [what, w, h] of sizes) {
      it(`matches the plain definition: ${what} ${w}x${h}, ${spec.channelOrder} ${spec.width}x${spec.height}/${spec.resizeShorter}`, () => {
        check(w, h, spec, w * 1000 + h);
      });
    }
  }

  it('is exact for a uniform image and maps channels in the requested order', () => {
    const rgba = new Uint8Array(40 * 30 * 4);
    for (let i = 0; i < rgba.length; i += 4) rgba.set([10, 20, 30, 0], i);
    const out = new Float32Array(5 * 7 * 3);
    preprocess(rgba, 40, 30, { ...ODD_BGR, divisor: 1, mean: [0, 0, 0], std: [1, 1, 1] }, out);
    for (let i = 0; i < out.length; i += 3) expect([out[i], out[i + 1], out[i + 2]]).toEqual([30, 20, 10]);
  });

  it('rounds the longer side: 3x2 scaled to a shorter side of 5 is 8x5, not 7x5', () => {
    const whole = { ...ODD_BGR, resizeShorter: 5, height: 5, width: 8 };
    expect(() => preprocess(randomImage(3, 2, 1), 3, 2, whole, new Float32Array(8 * 5 * 3))).not.toThrow();
    expect(() => preprocess(randomImage(3, 2, 1), 3, 2, { ...whole, width: 9 }, new Float32Array(9 * 5 * 3))).toThrow(/resized to 8x5/);
  });

  it('refuses arguments that do not fit', () => {
    const rgba = new Uint8Array(10 * 12 * 4);
    const out = new Float32Array(7 * 5 * 3);
    const call = (f: () => void) => expect(f).toThrow(ArgumentError);
    call(() => preprocess(rgba, 10, 11, ODD_BGR, out));
    call(() => preprocess(rgba, 0, 12, ODD_BGR, out));
    call(() => preprocess(rgba, 10.5, 12, ODD_BGR, out));
    call(() => preprocess(rgba, 10, 12, ODD_BGR, new Float32Array(7 * 5 * 3 + 1)));
    call(() => preprocess(rgba, 10, 12, { ...ODD_BGR, width: 0 }, new Float32Array(0)));
    call(() => preprocess(rgba, 10, 12, { ...ODD_BGR, resizeShorter: 4 }, out)); // resized 4x5 < crop 5x7
    call(() => preprocess(new Uint8ClampedArray(480) as unknown as Uint8Array, 10, 12, ODD_BGR, out));
    call(() => preprocess(rgba, 10, 12, { ...ODD_BGR, channelOrder: 'GBR' as 'RGB' }, out));
    call(() => preprocess(rgba, 10, 12, { ...ODD_BGR, std: [1, 0, 1] }, out));
    call(() => preprocess(rgba, 10, 12, { ...ODD_BGR, mean: [1, Number.NaN, 1] }, out));
    expect(() => preprocess(rgba, 10, 11, ODD_BGR, out)).toThrow(/480 bytes but a 10x11 RGBA image needs 440/);
  });
});

/** Index of the first element where `a` and `b` differ, -1 if none (toEqual on 150,000 elements takes seconds). */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

describe('preprocessInto (wasm)', () => {
  const cases: [number, number, InputSpec][] = [[500, 375, IMAGENET_RGB], [333, 500, CAFFE_BGR], [131, 97, IMAGENET_RGB], [9, 1, ODD_BGR], [1, 1, ODD_BGR]];
  // Scales chosen so that many values land exactly on a rounding half or beyond the clamps.
  const quants = [{ scale: 0.0078125, zeroPoint: 0 }, { scale: 1 / 64, zeroPoint: 114 }, { scale: 0.5, zeroPoint: 0 }];
  cases.forEach(([w, h, spec], n) => {
    it(`gives preprocess's bits, and quantize's after it: ${w}x${h}, ${spec.channelOrder} ${spec.width}x${spec.height}`, () => {
      const rgba = randomImage(w, h, 100 + n);
      const size = spec.height * spec.width * 3;
      const want = new Float32Array(size);
      preprocess(rgba, w, h, spec, want);
      const got = new Float32Array(size);
      preprocessInto(rgba, w, h, spec, got);
      expect(firstDifference(got, want)).toBe(-1);
      for (const q of quants) {
        for (const out of [new Uint8Array(size), new Int16Array(size)]) {
          const wantQ = out instanceof Uint8Array ? new Uint8Array(size) : new Int16Array(size);
          quantize(want, q, wantQ);
          preprocessInto(rgba, w, h, spec, out, q);
          expect(firstDifference(out, wantQ)).toBe(-1);
        }
      }
    });
  });

  it('refuses arguments that do not fit, and an integer input without its quantization', () => {
    const rgba = randomImage(4, 4, 1);
    expect(() => preprocessInto(rgba, 4, 4, ODD_BGR, new Float32Array(3))).toThrow(ArgumentError);
    expect(() => preprocessInto(rgba, 4, 5, ODD_BGR, new Float32Array(7 * 5 * 3))).toThrow(ArgumentError);
    expect(() => preprocessInto(rgba, 4, 4, ODD_BGR, new Uint8Array(7 * 5 * 3))).toThrow(/quantization/);
  });
});

describe('toNCHW', () => {
  it('moves the channel axis first', () => {
    const nhwc = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i);
    const nchw = toNCHW(nhwc, 2, 3);
    for (let c = 0; c < 3; c++) for (let p = 0; p < 6; p++) expect(nchw[c * 6 + p]).toBe(nhwc[p * 3 + c]);
    expect(() => toNCHW(nhwc, 3, 3)).toThrow(ArgumentError);
  });
});

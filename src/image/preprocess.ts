/**
 * Image to network input: resize the shorter side, centre crop, channel order, normalise — the
 * ImageNet evaluation pipeline the models were measured with (bench/ort-eval.ts checks it
 * against onnxruntime's reference accuracy).
 * @packageDocumentation
 */

import { ArgumentError } from '../errors.js';
import { I16_MAX, QUANT_RANGE, type InputSpec, type QuantParams } from '../model/format.js';
import { callKernel } from '../wasm/kernels.js';
import { withCodec } from './codec.js';
import { isOrientation, type Orientation } from './exif.js';

/**
 * Writes the network input for an RGBA image into `out`, in NHWC order:
 * `out[(y * input.width + x) * 3 + c]`, with c in `input.channelOrder`.
 *
 * The image is scaled by `s = resizeShorter / short side`: the shorter side becomes
 * `resizeShorter`, the longer `round(long * s)`, and both axes sample the source with bilinear
 * interpolation between pixel centres at `src = (dst + 0.5) / s - 0.5` (clamped to the image, no
 * antialiasing). Then the centre `input.height × input.width` (offset `floor((resized - crop) / 2)`)
 * is taken and each value becomes `(pixel / divisor - mean[c]) / std[c]`, in float64 without
 * rounding the resized pixels. This is the variant that reproduces onnxruntime's reference accuracy
 * for both bundled models exactly, given the reference's decoder (jpeg-js; `npm run eval:ort --
 * --jpeg-js`). Only the cropped pixels are computed and the alpha channel is ignored.
 *
 * With an `orientation` other than 1, all of this happens to the image as shown: the pixels turned
 * by the EXIF orientation (src/image/exif.ts), whose sides are swapped for 5 to 8. The turn is not
 * made: it only changes which stored pixels the sample tables point at, so the result is bit for bit
 * that of the turned image, at no cost.
 * @param rgba - 8-bit RGBA pixels, row-major, `width * height * 4` bytes.
 * @param out - Receives `input.height * input.width * 3` values.
 * @param orientation - How the stored pixels are turned to be shown (default 1: as stored).
 * @throws {@link ArgumentError} for sizes that do not match, an input spec whose crop is larger
 *   than the resized image, or an orientation that is not 1..8.
 */
export function preprocess(rgba: Uint8Array, width: number, height: number, input: InputSpec, out: Float32Array, orientation: Orientation = 1): void {
  checkArguments(rgba, width, height, input, out, [Float32Array], orientation);
  const { col, row, order, scale, bias } = sampling(width, height, input, orientation);
  const { height: H, width: W } = input;
  const [o0, o1, o2] = order === 'RGB' ? [0, 1, 2] : [2, 1, 0];
  const [s0, s1, s2] = scale;
  const [b0, b1, b2] = bias;

  for (let y = 0, d = 0; y < H; y++) {
    const r0 = row.lo[y];
    const r1 = row.hi[y];
    const fy = row.f[y];
    for (let x = 0; x < W; x++, d += 3) {
      const a = r0 + col.lo[x];
      const b = r0 + col.hi[x];
      const c = r1 + col.lo[x];
      const e = r1 + col.hi[x];
      const fx = col.f[x];
      out[d] = lerp2(rgba, a + o0, b + o0, c + o0, e + o0, fx, fy) * s0 + b0;
      out[d + 1] = lerp2(rgba, a + o1, b + o1, c + o1, e + o1, fx, fy) * s1 + b1;
      out[d + 2] = lerp2(rgba, a + o2, b + o2, c + o2, e + o2, fx, fy) * s2 + b2;
    }
  }
}

/**
 * {@link preprocess} in wasm (assembly/image/preprocess.ts, in the image decoders' instance), with
 * identical results, and for an int8 model the input's quantization folded in: each value, rounded
 * to f32 as {@link preprocess} stores it, becomes clamp(round(v / scale) + zeroPoint) in the range
 * of `out`'s type (int16: ±{@link I16_MAX}), rounding halves away from zero.
 * @param out - Receives `input.height * input.width * 3` values: f32, or quantized uint8 / int16 with `quant`.
 * @param orientation - As {@link preprocess}'s.
 * @throws {@link ArgumentError} as {@link preprocess}, or if `quant` is missing for an integer `out`.
 */
export function preprocessInto(
  rgba: Uint8Array, width: number, height: number, input: InputSpec, out: Float32Array | Uint8Array | Int16Array, quant?: InputQuant, orientation: Orientation = 1,
): void {
  checkArguments(rgba, width, height, input, out, [Float32Array, Uint8Array, Int16Array], orientation);
  const kind = out instanceof Float32Array ? 0 : out instanceof Uint8Array ? 1 : 2;
  if (kind !== 0 && !quant) throw new ArgumentError('E_ARGUMENT', 'preprocessInto: an integer input needs its quantization');
  const { col, row, order, scale, bias } = sampling(width, height, input, orientation);
  const { height: H, width: W } = input;
  const tables = (t: Sampling): Uint8Array => {
    // lo, hi (i32), then f (f64) 8-byte aligned: what image_preprocess reads.
    const n = t.lo.length;
    const bytes = new Uint8Array(((n * 8 + 7) & ~7) + n * 8);
    new Int32Array(bytes.buffer, 0, n).set(t.lo);
    new Int32Array(bytes.buffer, n * 4, n).set(t.hi);
    new Float64Array(bytes.buffer, (n * 8 + 7) & ~7, n).set(t.f);
    return bytes;
  };
  withCodec('image', (mem) => {
    const p = mem.put(rgba);
    const cols = mem.put(tables(col));
    const rows = mem.put(tables(row));
    const dst = mem.alloc(out.byteLength);
    const [lo, hi] = quantRange(out, quant);
    const [s0, s1, s2] = scale;
    const [b0, b1, b2] = bias;
    callKernel(mem.exports, 'image_preprocess', {
      rgba: p, cols, rows, W, H, order: order === 'RGB' ? 0 : 1, s0, s1, s2, b0, b1, b2, out: dst, kind, qScale: quant?.scale ?? 1, zp: quant?.zeroPoint ?? 0, qlo: lo, qhi: hi,
    });
    new Uint8Array(out.buffer, out.byteOffset, out.byteLength).set(mem.u8(dst, out.byteLength));
  });
}


/** Where one output axis samples the source: byte offsets of the two neighbours and the weight of the second. */
interface Sampling {
  lo: Int32Array;
  hi: Int32Array;
  f: Float64Array;
}

/**
 * For each orientation, whether the shown image's x runs down the stored rows (5 to 8, the sides
 * swap), and whether its x and its y run backwards along their stored axes. Shown pixel (x, y) of
 * orientation 6, for example, is stored pixel (y, storedHeight - 1 - x).
 */
const TURNS: Readonly<Record<Orientation, { swap: boolean; flipX: boolean; flipY: boolean }>> = {
  1: { swap: false, flipX: false, flipY: false },
  2: { swap: false, flipX: true, flipY: false },
  3: { swap: false, flipX: true, flipY: true },
  4: { swap: false, flipX: false, flipY: true },
  5: { swap: true, flipX: false, flipY: false },
  6: { swap: true, flipX: true, flipY: false },
  7: { swap: true, flipX: true, flipY: true },
  8: { swap: true, flipX: false, flipY: true },
};

/**
 * Both axes' sampling, and value = pixel * scale[c] + bias[c] per network channel c. The resize and
 * crop are those of the image as shown; the tables hold byte offsets into the stored pixels. The
 * kernels add a row's and a column's offset and never ask which is which, so for a swapped
 * orientation the column table steps along stored rows and the row table along stored columns, and
 * every output value is computed from the same four pixels and weights, in the same order, as
 * from the turned image: the same bits.
 */
function sampling(storedWidth: number, storedHeight: number, input: InputSpec, orientation: Orientation) {
  const { swap, flipX, flipY } = TURNS[orientation];
  const [width, height] = swap ? [storedHeight, storedWidth] : [storedWidth, storedHeight];
  const [xStride, yStride] = swap ? [storedWidth * 4, 4] : [4, storedWidth * 4];
  const { height: H, width: W, resizeShorter: S } = input;
  const short = Math.min(width, height);
  // Computed as S * long / short, not long * s, so that an exact half stays exact and rounds up.
  const rw = width <= height ? S : Math.round((S * width) / short);
  const rh = width <= height ? Math.round((S * height) / short) : S;
  if (rw < W || rh < H) {
    throw new ArgumentError(
      'E_ARGUMENT',
      `preprocess: a ${width}x${height} image${swap ? ' (as shown, turned by its orientation)' : ''} resized to ${rw}x${rh} is smaller than the ${W}x${H} crop (resizeShorter ${S})`,
    );
  }
  const col = axis(width, short / S, Math.floor((rw - W) / 2), W, xStride, flipX);
  const row = axis(height, short / S, Math.floor((rh - H) / 2), H, yStride, flipY);
  const scale = [0, 1, 2].map((c) => 1 / (input.divisor * input.std[c])) as [number, number, number];
  const bias = [0, 1, 2].map((c) => -input.mean[c] / input.std[c]) as [number, number, number];
  if (![...scale, ...bias].every(Number.isFinite)) {
    throw new ArgumentError('E_ARGUMENT', 'preprocess: input spec needs finite mean, std and divisor, with std and divisor non-zero');
  }
  return { col, row, order: input.channelOrder, scale, bias };
}

function lerp2(p: Uint8Array, a: number, b: number, c: number, e: number, fx: number, fy: number): number {
  const top = p[a] + (p[b] - p[a]) * fx;
  const bottom = p[c] + (p[e] - p[c]) * fx;
  return top + (bottom - top) * fy;
}

/**
 * For `count` output positions from `start` on an axis of `inSize` pixels sampled every `step` source
 * pixels: the offsets (source index × `stride`) of the two neighbouring source pixels and the weight
 * of the second. With `flip` the axis is stored backwards: source index i is at `inSize - 1 - i`.
 */
function axis(inSize: number, step: number, start: number, count: number, stride: number, flip: boolean): Sampling {
  const lo = new Int32Array(count);
  const hi = new Int32Array(count);
  const f = new Float64Array(count);
  const at = (i: number): number => (flip ? inSize - 1 - i : i) * stride;
  for (let i = 0; i < count; i++) {
    const src = Math.min(Math.max((start + i + 0.5) * step - 0.5, 0), inSize - 1);
    const i0 = Math.floor(src);
    lo[i] = at(i0);
    hi[i] = at(Math.min(i0 + 1, inSize - 1));
    f[i] = src - i0;
  }
  return { lo, hi, f };
}

function checkArguments(rgba: Uint8Array, width: number, height: number, input: InputSpec, out: unknown, types: readonly Function[], orientation: unknown): void {
  const fail = (msg: string): never => {
    throw new ArgumentError('E_ARGUMENT', `preprocess: ${msg}`);
  };
  const isSize = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!(rgba instanceof Uint8Array)) fail('rgba must be a Uint8Array');
  if (!isSize(width) || !isSize(height)) fail(`image size must be positive integers, got ${width}x${height}`);
  if (rgba.length !== width * height * 4) {
    fail(`rgba has ${rgba.length} bytes but a ${width}x${height} RGBA image needs ${width * height * 4}`);
  }
  if (!isSize(input.width) || !isSize(input.height) || !isSize(input.resizeShorter)) {
    fail(`input spec sizes must be positive integers, got ${input.width}x${input.height} resizeShorter ${input.resizeShorter}`);
  }
  if (input.channelOrder !== 'RGB' && input.channelOrder !== 'BGR') fail(`channelOrder must be 'RGB' or 'BGR', got ${String(input.channelOrder)}`);
  if (!isOrientation(orientation)) fail(`orientation must be an EXIF orientation, 1 to 8, got ${String(orientation)}`);
  if (!types.some((t) => out instanceof t) || (out as Float32Array).length !== input.height * input.width * 3) {
    fail(`out must be a ${types.map((t) => t.name).join(' or ')} of ${input.height}x${input.width}x3 = ${input.height * input.width * 3} values`);
  }
}

/**
 * Reorders a 3-channel NHWC image (as written by {@link preprocess}) to NCHW, the layout ONNX
 * runtimes take.
 */
export function toNCHW(nhwc: Float32Array, height: number, width: number): Float32Array {
  const n = height * width;
  if (nhwc.length !== n * 3) throw new ArgumentError('E_ARGUMENT', `toNCHW: expected ${n * 3} values for ${height}x${width}x3, got ${nhwc.length}`);
  const out = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    out[i] = nhwc[i * 3];
    out[n + i] = nhwc[i * 3 + 1];
    out[2 * n + i] = nhwc[i * 3 + 2];
  }
  return out;
}

/** {@link preprocess} into a new tensor in NCHW order: the input an ONNX runtime takes for the same network. */
export function preprocessNCHW(rgba: Uint8Array, width: number, height: number, input: InputSpec): Float32Array {
  const nhwc = new Float32Array(input.height * input.width * 3);
  preprocess(rgba, width, height, input, nhwc);
  return toNCHW(nhwc, input.height, input.width);
}

/** How an integer input is quantized: scale, zero point, and u7 where the bytes hold 0..127 only. */
export type InputQuant = { scale: number; zeroPoint: number; dtype?: QuantParams['dtype'] };

/** The values `out` may hold: `quant`'s type's range, else its array type's (uint8 0..255, int16 ±{@link I16_MAX}). */
function quantRange(out: Uint8Array | Int16Array | Float32Array, quant?: InputQuant): readonly [number, number] {
  return QUANT_RANGE[quant?.dtype ?? (out instanceof Uint8Array ? 'u8' : 'i16')];
}

/** q = clamp(round(x / scale) + zeroPoint) to the range of `q.dtype` or of `out` ({@link quantRange}), rounding half away from zero. */
export function quantize(x: Float32Array, q: InputQuant, out: Uint8Array | Int16Array): void {
  const [lo, hi] = quantRange(out, q);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] / q.scale;
    out[i] = Math.min(hi, Math.max(lo, (v < 0 ? -Math.round(-v) : Math.round(v)) + q.zeroPoint));
  }
}

/**
 * JPEG and PNG decoding to RGBA, in pure JavaScript so that it runs unchanged in Node, browsers and
 * Cloudflare Workers. The declared size is read from the header and checked against the limits
 * before a decoder runs, so an image that claims to be enormous is refused without allocating.
 * @packageDocumentation
 */

import decodeJpegJs from 'jpeg-js/lib/decoder.js';
import { decode as decodePng, type DecodedPng } from 'fast-png';
import { ArgumentError, ImageError, LimitError } from '../errors.js';

import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './limits.js';

export { DEFAULT_IMAGE_LIMITS, type ImageLimits };

/** A decoded image: 8-bit RGBA, row-major, `data.length === width * height * 4`. */
export interface DecodedImage {
  width: number;
  height: number;
  data: Uint8Array;
}

const SUPPORTED = 'supported formats are JPEG (baseline or progressive) and PNG';

/**
 * Decodes a JPEG or PNG image (recognised by its first bytes, not by a file name) to 8-bit RGBA.
 * Greyscale, palette, 16-bit and alpha PNGs are converted; alpha is passed through, not composited.
 * @param bytes - The whole file.
 * @param limits - Overrides of {@link DEFAULT_IMAGE_LIMITS}.
 * @throws {@link ImageError} `E_IMAGE_FORMAT` for empty input, other formats and unsupported variants
 *   (lossless, arithmetic-coded or 12-bit JPEG; interlaced PNG below 8 bits per sample);
 *   `E_IMAGE_DECODE` for truncated or corrupt files.
 * @throws {@link ArgumentError} if `bytes` is not a Uint8Array or a limit is not a positive number.
 * @throws {@link LimitError} `maxImageBytes` for a larger file, `maxImagePixels` / `maxImageSide` when the header declares a larger image.
 */
export function decodeImage(bytes: Uint8Array, limits: Partial<ImageLimits> = {}): DecodedImage {
  if (!(bytes instanceof Uint8Array)) {
    throw new ArgumentError('E_ARGUMENT', `decodeImage: expected the image file as a Uint8Array, got ${describe(bytes)}`);
  }
  const lim = resolveLimits(limits);
  if (bytes.length === 0) throw new ImageError('E_IMAGE_FORMAT', `the image is empty (0 bytes); ${SUPPORTED}`);
  if (bytes.length > lim.maxImageBytes) throw new LimitError('maxImageBytes', `the image file is ${bytes.length} bytes, more than maxImageBytes ${lim.maxImageBytes}`);
  if (isJpeg(bytes)) return decodeJpeg(bytes, lim);
  if (isPng(bytes)) return decodePngRgba(bytes, lim);
  throw new ImageError('E_IMAGE_FORMAT', `not a JPEG or PNG image (first bytes ${hex(bytes.subarray(0, 8))}); ${SUPPORTED}`);
}

function resolveLimits(limits: Partial<ImageLimits>): ImageLimits {
  const lim = {
    maxImageBytes: limits.maxImageBytes ?? DEFAULT_IMAGE_LIMITS.maxImageBytes,
    maxImagePixels: limits.maxImagePixels ?? DEFAULT_IMAGE_LIMITS.maxImagePixels,
    maxImageSide: limits.maxImageSide ?? DEFAULT_IMAGE_LIMITS.maxImageSide,
  };
  for (const key of ['maxImageBytes', 'maxImagePixels', 'maxImageSide'] as const) {
    if (!(typeof lim[key] === 'number' && lim[key] > 0)) {
      throw new ArgumentError('E_ARGUMENT', `image limit ${key} must be a positive number, got ${String(lim[key])}`);
    }
  }
  return lim;
}

function checkSize(format: string, width: number, height: number, lim: ImageLimits): void {
  if (width === 0 || height === 0) {
    throw new ImageError('E_IMAGE_DECODE', `${format} header declares an empty image (${width}x${height})`);
  }
  if (width > lim.maxImageSide || height > lim.maxImageSide) {
    throw new LimitError('maxImageSide', `${format} image is ${width}x${height}, larger than maxImageSide ${lim.maxImageSide}`);
  }
  if (width * height > lim.maxImagePixels) {
    throw new LimitError(
      'maxImagePixels',
      `${format} image is ${width}x${height} = ${width * height} pixels, more than maxImagePixels ${lim.maxImagePixels}`,
    );
  }
}

const isJpeg = (b: Uint8Array): boolean => b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const isPng = (b: Uint8Array): boolean => b.length >= 8 && PNG_SIGNATURE.every((v, i) => b[i] === v);

interface JpegFrame {
  width: number;
  height: number;
  components: number;
  /** Largest horizontal and vertical sampling factors: the MCU is 8·maxH × 8·maxV pixels. */
  maxH: number;
  maxV: number;
}

/** Walks the marker segments up to the start-of-frame and returns what it declares. */
function readJpegFrame(b: Uint8Array): JpegFrame {
  const truncated = (): never => {
    throw new ImageError('E_IMAGE_DECODE', 'JPEG is truncated before its frame header (SOF)');
  };
  let p = 2;
  for (;;) {
    if (p + 4 > b.length) truncated();
    if (b[p] !== 0xff) throw new ImageError('E_IMAGE_DECODE', `JPEG is corrupt: expected a marker at byte ${p}`);
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    const length = (b[p + 2] << 8) | b[p + 3];
    if (length < 2) throw new ImageError('E_IMAGE_DECODE', `JPEG is corrupt: segment at byte ${p} has length ${length}`);
    if (marker === 0xda) throw new ImageError('E_IMAGE_DECODE', 'JPEG is corrupt: image data (SOS) before the frame header (SOF)');
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (!isSof) {
      p += 2 + length;
      continue;
    }
    if (marker > 0xc2) {
      throw new ImageError(
        'E_IMAGE_FORMAT',
        `JPEG uses an unsupported coding (SOF marker 0x${marker.toString(16)}: lossless, hierarchical or arithmetic); ${SUPPORTED}`,
      );
    }
    if (p + 10 > b.length) truncated();
    const precision = b[p + 4];
    const height = (b[p + 5] << 8) | b[p + 6];
    const width = (b[p + 7] << 8) | b[p + 8];
    const components = b[p + 9];
    if (precision !== 8) throw new ImageError('E_IMAGE_FORMAT', `JPEG has ${precision}-bit samples; only 8-bit JPEGs are supported`);
    if (components !== 1 && components !== 3 && components !== 4) {
      throw new ImageError('E_IMAGE_DECODE', `JPEG declares ${components} colour components; expected 1, 3 or 4`);
    }
    if (p + 10 + 3 * components > b.length) truncated();
    let maxH = 1;
    let maxV = 1;
    for (let i = 0; i < components; i++) {
      const s = b[p + 11 + 3 * i];
      const h = s >> 4;
      const v = s & 15;
      if (h < 1 || h > 4 || v < 1 || v > 4) throw new ImageError('E_IMAGE_DECODE', `JPEG is corrupt: sampling factors ${h}x${v}`);
      maxH = Math.max(maxH, h);
      maxV = Math.max(maxV, v);
    }
    return { width, height, components, maxH, maxV };
  }
}

function decodeJpeg(bytes: Uint8Array, lim: ImageLimits): DecodedImage {
  const f = readJpegFrame(bytes);
  checkSize('JPEG', f.width, f.height, lim);
  // jpeg-js counts what it allocates against maxMemoryUsageInMB: per component 4 bytes of DCT
  // coefficients and 1 byte of samples per pixel of the MCU-padded frame, then the interleaved
  // samples and the RGBA output, plus tables (at most 4 bytes per byte of file). Budgeting exactly
  // that for the declared frame means a corrupt file cannot make it allocate more than a genuine one.
  const padded = Math.ceil(f.width / (8 * f.maxH)) * 8 * f.maxH * Math.ceil(f.height / (8 * f.maxV)) * 8 * f.maxV;
  const budget = padded * 5 * f.components + f.width * f.height * (f.components + 4) + 4 * bytes.length;
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = decodeJpegJs(bytes, {
      useTArray: true, // a Uint8Array instead of a Node Buffer, which browsers and Workers lack
      formatAsRGBA: true,
      // A backstop only (checkSize is the real check): one pixel of slack absorbs the rounding of / 1e6 * 1e6.
      maxResolutionInMP: (lim.maxImagePixels + 1) / 1e6,
      maxMemoryUsageInMB: Math.ceil(budget / 2 ** 20) + 1,
    });
  } catch (e) {
    throw new ImageError('E_IMAGE_DECODE', `JPEG is truncated or corrupt (jpeg-js: ${message(e)})`);
  }
  return { width: img.width, height: img.height, data: img.data };
}

const PNG_INDEXED = 3;

function decodePngRgba(bytes: Uint8Array, lim: ImageLimits): DecodedImage {
  // The first chunk must be IHDR: width, height (big-endian u32), bit depth, colour type,
  // compression, filter and interlace method.
  const ihdr = bytes.length >= 29 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
  if (!ihdr) throw new ImageError('E_IMAGE_DECODE', 'PNG is truncated or corrupt: it does not start with an IHDR chunk');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  checkSize('PNG', view.getUint32(16), view.getUint32(20), lim);
  const depth = bytes[24];
  const colourType = bytes[25];
  if (bytes[28] === 1 && depth < 8) {
    // fast-png 8 reads these as one byte per pixel and fails or returns garbage.
    throw new ImageError('E_IMAGE_FORMAT', `interlaced PNGs with ${depth}-bit samples are not supported; re-save without interlacing or at 8 bits`);
  }
  let png: DecodedPng;
  try {
    png = decodePng(bytes, { checkCrc: true });
  } catch (e) {
    throw new ImageError('E_IMAGE_DECODE', `PNG is truncated or corrupt (fast-png: ${message(e)})`);
  }
  return { width: png.width, height: png.height, data: pngToRgba(png, colourType === PNG_INDEXED) };
}

/** Expands every PNG colour type and bit depth to 8-bit RGBA. */
function pngToRgba(png: DecodedPng, indexed: boolean): Uint8Array {
  const { width, height, depth, channels, data } = png;
  const out = new Uint8Array(width * height * 4);
  // Only the colour type says whether pixels are indices: truecolour images may carry a suggested palette.
  if (indexed) {
    const pal = png.palette;
    if (!pal) throw new ImageError('E_IMAGE_DECODE', 'PNG is corrupt: a palette image without a palette (PLTE chunk)');
    for (let y = 0, o = 0; y < height; y++) {
      for (let x = 0; x < width; x++, o += 4) {
        const c = pal[depth === 8 ? data[y * width + x] : packedSample(data, width, depth, x, y)];
        if (c === undefined) throw new ImageError('E_IMAGE_DECODE', `PNG is corrupt: palette index out of range at (${x}, ${y})`);
        out[o] = c[0];
        out[o + 1] = c[1];
        out[o + 2] = c[2];
        out[o + 3] = c.length > 3 ? c[3] : 255;
      }
    }
    return out;
  }
  if (depth < 8) {
    const scale = 255 / ((1 << depth) - 1);
    for (let y = 0, o = 0; y < height; y++) {
      for (let x = 0; x < width; x++, o += 4) {
        out[o] = out[o + 1] = out[o + 2] = packedSample(data, width, depth, x, y) * scale;
        out[o + 3] = 255;
      }
    }
    return out;
  }
  const n = width * height;
  const to8 = depth === 16 ? (v: number) => (v * 255 + 32767) / 65535 : (v: number) => v;
  const colour = channels >= 3;
  const alpha = channels === 2 || channels === 4;
  for (let i = 0, s = 0, o = 0; i < n; i++, s += channels, o += 4) {
    out[o] = to8(data[s]);
    out[o + 1] = to8(data[colour ? s + 1 : s]);
    out[o + 2] = to8(data[colour ? s + 2 : s]);
    out[o + 3] = alpha ? to8(data[s + channels - 1]) : 255;
  }
  return out;
}

/** Sample (x, y) of a 1-channel image packed at 1, 2 or 4 bits per pixel, most significant bits first. */
function packedSample(data: ArrayLike<number>, width: number, depth: number, x: number, y: number): number {
  const bit = x * depth;
  const byte = data[y * Math.ceil((width * depth) / 8) + (bit >> 3)];
  return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

/** The decoder's message, with the underlying cause fast-png wraps some errors around. */
function message(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const text = e.message.replace(/:\s*$/, '');
  return e.cause === undefined ? text : `${text}: ${message(e.cause)}`;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}

function describe(v: unknown): string {
  return v === null ? 'null' : typeof v === 'object' ? (v.constructor?.name ?? 'object') : typeof v;
}

/**
 * JPEG and PNG decoding to RGBA in the kernels module (src/image/jpeg.ts, src/image/png.ts), so it
 * runs unchanged in Node, browsers and Cloudflare Workers with no decoder package. The declared
 * size is read from the header and checked against the limits before a decoder runs, so an image
 * that claims to be enormous is refused without allocating.
 * @packageDocumentation
 */

import { checkArguments } from '../arguments.js';
import { ArgumentError, ImageError, LimitError } from '../errors.js';
import { crc32 } from '../model/crc32.js';
import { corruptJpeg, decodeJpegData, scaledSide, type JpegComponent, type JpegFrame, type JpegLayout, type JpegScale, type JpegSegment } from './jpeg.js';

import { jpegOrientation, pngOrientation, type Orientation } from './exif.js';
import { DEFAULT_IMAGE_LIMITS, type DecodeOptions, type ImageLimits } from './limits.js';
import { corruptPng, decodePngData, decodePngReduced, reducedSide, type PngData } from './png.js';

export { DEFAULT_IMAGE_LIMITS, type DecodeOptions, type ImageLimits, type Orientation };

/**
 * A decoded image: 8-bit RGBA, row-major, `data.length === width * height * 4`; `width` and
 * `height` are the decoded size (a JPEG decoded at reduced scale, or a PNG reduced to block
 * averages, is smaller than its header says).
 */
export interface DecodedImage {
  /** Width of the pixels as stored (before {@link orientation} is applied). */
  width: number;
  height: number;
  /** The pixels as stored in the file: not turned by {@link orientation}. */
  data: Uint8Array;
  /**
   * The file's EXIF orientation (JPEG APP1 "Exif", PNG eXIf): how `data` is turned to show the photo
   * upright; 1 when the file has none or an invalid one. Classification applies it unless told to
   * ignore it (`orientation: 'ignore'`).
   */
  orientation: Orientation;
}

const SUPPORTED = 'supported formats are JPEG (baseline or progressive) and PNG';

/**
 * Decodes a JPEG or PNG image (recognised by its first bytes, not by a file name) to 8-bit RGBA.
 * Every PNG colour type, bit depth and interlacing is decoded: greyscale, palette, 16-bit and alpha
 * PNGs are converted; alpha is passed through, not composited.
 * JPEGs decode to the pixels of libjpeg-turbo's default decoder (djpeg, and so PIL and torchvision),
 * bit for bit: integer (ISLOW) IDCT, fancy upsampling, its fixed-point YCbCr. The exception is a
 * progressive JPEG whose refinement scans are missing (a file cut short), whose blocks libjpeg
 * smooths; CMYK and YCCK JPEGs, which djpeg does not convert to RGB, are rendered as R = C·K/255.
 * The pixels are returned as stored; the file's EXIF orientation is returned beside them
 * (`orientation`), for preprocessing to apply (src/image/exif.ts reads it, defensively).
 *
 * Hostile files cost about what a genuine file of their size and declared dimensions costs: the
 * structure is checked (PNG chunk CRCs before anything is inflated, JPEG segment lengths), a file
 * too short to hold the pixels it declares is refused before a decoder allocates for them, PNG
 * image data is inflated into a buffer of the size the header implies and refused at the first
 * byte past it, ancillary PNG chunks (compressed ICC profiles and text) are not inflated at all,
 * and a JPEG may have at most {@link MAX_JPEG_SCANS} scans. The limits apply to the size the file
 * declares, whatever the scale it is decoded at.
 * @param bytes - The whole file.
 * @param limits - Overrides of {@link DEFAULT_IMAGE_LIMITS}.
 * @param options - `minShortSide`: decode a large JPEG at reduced scale, a large PNG as a block average ({@link DecodeOptions}).
 * @example A JPEG for a classifier that resizes the shorter side to 256: a 4032x3024 photo decodes
 *   at 1/8, to 504x378.
 * ```ts
 * const image = decodeImage(bytes, {}, { minShortSide: 256 });
 * ```
 * @throws {@link ImageError} `E_IMAGE_FORMAT` for empty input, other formats and unsupported variants
 *   (lossless, arithmetic-coded or 12-bit JPEG; 4-component JPEG without an Adobe marker; more than
 *   {@link MAX_JPEG_SCANS} scans; unknown critical PNG chunks); `E_IMAGE_DECODE` for truncated or
 *   corrupt files (for PNG including a zlib stream whose Adler-32 checksum does not match).
 * @throws {@link ArgumentError} if `bytes` is not a Uint8Array, `limits` or `options` not an object, or a limit or `minShortSide` is not a positive number.
 * @throws {@link LimitError} `maxImageBytes` for a larger file, `maxImagePixels` / `maxImageSide` when the header declares a larger image.
 */
export function decodeImage(bytes: Uint8Array, limits: Partial<ImageLimits> = {}, options: DecodeOptions = {}): DecodedImage {
  checkArguments('decodeImage', { bytes: [bytes, 'bytes'], limits: [limits, 'object'], options: [options, 'object'] });
  const lim = resolveLimits(limits);
  const { minShortSide = Infinity } = options;
  if (!(typeof minShortSide === 'number' && minShortSide > 0)) {
    throw new ArgumentError('E_ARGUMENT', `decodeImage: minShortSide must be a positive number, got ${String(minShortSide)}`);
  }
  if (bytes.length === 0) throw new ImageError('E_IMAGE_FORMAT', `the image is empty (0 bytes); ${SUPPORTED}`);
  if (bytes.length > lim.maxImageBytes) throw new LimitError('maxImageBytes', `the image file is ${bytes.length} bytes, more than maxImageBytes ${lim.maxImageBytes}`);
  // The orientation is read after decoding, so only a file that decoded has its metadata read.
  if (isJpeg(bytes)) return { ...decodeJpeg(bytes, lim, minShortSide), orientation: jpegOrientation(bytes) ?? 1 };
  if (isPng(bytes)) return { ...decodePngRgba(bytes, lim, minShortSide), orientation: pngOrientation(bytes) ?? 1 };
  // None of the file's bytes: an "image" may be a link to a file whoever reads the error must not see.
  throw new ImageError('E_IMAGE_FORMAT', `not a JPEG or PNG image; ${SUPPORTED}`);
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

/**
 * Most scans a JPEG may have. Encoders write one to three for a baseline JPEG and about ten for a
 * progressive one; a decoder walks every block of the component in every scan (an end-of-band run
 * skips blocks one at a time), so without a bound a progressive file of a few kilobytes per scan
 * could keep it busy for minutes.
 */
export const MAX_JPEG_SCANS = 100;

/**
 * How many times over a JPEG's scans may walk its blocks. libjpeg's progressive script walks each
 * block about 5 times (a DC scan, AC bands, refinements); a file of many scans over a large frame
 * (100 scans of end-of-band runs declaring 40 MP fit in 81 KB) would otherwise cost seconds, with
 * the decode time bounded by the declared pixels times this.
 */
export const MAX_JPEG_VISITS = 20;

const isRst = (marker: number): boolean => marker >= 0xd0 && marker <= 0xd7;

/**
 * Walks every marker segment and scan up to the end of the image, checks that each segment is
 * exactly as long as its tables, and refuses the file before anything is allocated for the frame
 * if it declares a frame over the limits or is too short to hold the frame's blocks.
 */
function readJpeg(b: Uint8Array, lim: ImageLimits): JpegLayout {
  const truncated = (where: string): never => {
    throw new ImageError('E_IMAGE_DECODE', `JPEG is truncated ${where}`);
  };
  let frame: JpegFrame | undefined;
  let adobe = false;
  let adobeTransform: number | undefined;
  let jfif = false;
  const segments: JpegSegment[] = [];
  let scans = 0;
  let visits = 0;
  let scanBytes = 0;
  let p = 2;
  for (;;) {
    if (p + 2 > b.length) truncated(frame ? 'before its end-of-image marker' : 'before its frame header (SOF)');
    if (b[p] !== 0xff) corruptJpeg(`expected a marker at byte ${p}`);
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd9) break;
    if (p + 4 > b.length) truncated(`in the segment at byte ${p}`);
    const length = (b[p + 2] << 8) | b[p + 3];
    if (length < 2) corruptJpeg(`segment at byte ${p} has length ${length}`);
    const end = p + 2 + length;
    if (end > b.length) truncated(`in the segment at byte ${p}`);
    const seg = b.subarray(p + 4, end);
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (frame) corruptJpeg(`a second frame header (SOF) at byte ${p}`);
      frame = readSof(marker, seg);
      checkSize('JPEG', frame.width, frame.height, lim);
    } else if (marker === 0xc4) {
      checkTables(seg, p, 'DHT', (q) => 17 + seg.subarray(q + 1, q + 17).reduce((a, c) => a + c, 0));
      segments.push({ marker, data: p + 4, end, scanEnd: end });
    } else if (marker === 0xdb) {
      checkTables(seg, p, 'DQT', (q) => 1 + 64 * ((seg[q] >> 4) + 1));
      segments.push({ marker, data: p + 4, end, scanEnd: end });
    } else if (marker === 0xdd || marker === 0xdc) {
      if (length !== 4) corruptJpeg(`${marker === 0xdd ? 'DRI' : 'DNL'} segment at byte ${p} has length ${length}, not 4`);
      if (marker === 0xdd) segments.push({ marker, data: p + 4, end, scanEnd: end });
    } else if (marker === 0xda) {
      if (!frame) corruptJpeg('image data (SOS) before the frame header (SOF)');
      const ns = seg[0];
      if (ns < 1 || ns > 4 || length !== 6 + 2 * ns) corruptJpeg(`scan header (SOS) at byte ${p} has ${ns} components and length ${length}`);
      if (++scans > MAX_JPEG_SCANS) {
        throw new ImageError('E_IMAGE_FORMAT', `JPEG has more than ${MAX_JPEG_SCANS} scans (a progressive JPEG has about 10); re-save it`);
      }
      if ((visits += scanBlocks(frame, seg)) > MAX_JPEG_VISITS * frameBlocks(frame)) {
        throw new ImageError('E_IMAGE_FORMAT', `JPEG's scans walk its blocks more than ${MAX_JPEG_VISITS} times over (a progressive JPEG walks them about 5 times); re-save it`);
      }
      // Entropy-coded data runs to the next marker that is neither a stuffed 0xff nor a restart.
      // indexOf finds the 0xff bytes natively, far faster than a loop over every byte.
      // Each restart interval holds at least one block: more markers than blocks are padding that
      // would only cost time, and the markers carry no image data.
      const maxRestarts = frameBlocks(frame);
      let q = end;
      let restarts = 0;
      for (;;) {
        q = b.indexOf(0xff, q);
        if (q < 0 || q + 1 >= b.length) {
          q = Math.max(end, b.length - 1);
          break;
        }
        if (b[q + 1] !== 0 && !isRst(b[q + 1])) break;
        if (b[q + 1] !== 0 && ++restarts > maxRestarts) corruptJpeg(`its scan at byte ${p} has more restart markers than the ${maxRestarts} blocks of its frame`);
        q++;
      }
      scanBytes += q - end - 2 * restarts;
      segments.push({ marker, data: p + 4, end, scanEnd: q });
      p = q;
      continue;
    } else if (marker === 0xee) {
      if (!adobe && String.fromCharCode(...seg.subarray(0, 6)) === 'Adobe\0') {
        adobe = true;
        adobeTransform = seg.length >= 12 ? seg[11] : 0;
      }
    } else if (marker === 0xe0) {
      jfif ||= seg.length >= 14 && String.fromCharCode(...seg.subarray(0, 5)) === 'JFIF\0';
    } else if (!(marker >= 0xe0 && marker <= 0xef) && marker !== 0xfe) {
      corruptJpeg(`unexpected marker 0xff${marker.toString(16)} at byte ${p}`);
    }
    p = end;
  }
  if (!frame) return corruptJpeg('it has no frame header (SOF)');
  if (scans === 0) corruptJpeg('it has a frame header but no image data (SOS)');
  if (frame.components.length === 4 && !adobe) {
    throw new ImageError('E_IMAGE_FORMAT', 'JPEG has 4 colour components but no Adobe marker saying whether they are CMYK or YCCK; re-save it as RGB');
  }
  // Every block of every component is coded in some scan with at least one bit (a Huffman code
  // for its DC coefficient), so a file with fewer bits of image data than blocks is truncated.
  const blocks = frameBlocks(frame);
  if (scanBytes * 8 < blocks) {
    truncated(`or corrupt: its ${scanBytes} bytes of image data cannot hold the ${blocks} blocks of a ${frame.width}x${frame.height} frame`);
  }
  return { frame, segments, jfif, adobeTransform };
}

/** The 8x8 blocks of component `c` inside the image. */
function componentBlocks(frame: JpegFrame, c: JpegComponent): number {
  return Math.ceil((Math.ceil(frame.width / 8) * c.h) / frame.maxH) * Math.ceil((Math.ceil(frame.height / 8) * c.v) / frame.maxV);
}

/** The 8x8 blocks inside the image, summed over the frame's components. */
function frameBlocks(frame: JpegFrame): number {
  return frame.components.reduce((n, c) => n + componentBlocks(frame, c), 0);
}

/** The blocks a scan walks: those of each component it names (an unknown one is refused by the decoder). */
function scanBlocks(frame: JpegFrame, seg: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < seg[0]; i++) {
    const c = frame.components.find((k) => k.id === seg[1 + 2 * i]);
    if (c) n += componentBlocks(frame, c);
  }
  return n;
}

/** Reads a frame header (SOF) segment, refusing codings other than 8-bit Huffman-coded DCT, sequential or progressive. */
function readSof(marker: number, seg: Uint8Array): JpegFrame {
  if (marker > 0xc2) {
    throw new ImageError(
      'E_IMAGE_FORMAT',
      `JPEG uses an unsupported coding (SOF marker 0x${marker.toString(16)}: lossless, hierarchical or arithmetic); ${SUPPORTED}`,
    );
  }
  if (seg.length < 6) corruptJpeg(`frame header (SOF) of ${seg.length + 2} bytes`);
  const precision = seg[0];
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const count = seg[5];
  if (precision !== 8) throw new ImageError('E_IMAGE_FORMAT', `JPEG has ${precision}-bit samples; only 8-bit JPEGs are supported`);
  if (count !== 1 && count !== 3 && count !== 4) {
    throw new ImageError('E_IMAGE_DECODE', `JPEG declares ${count} colour components; expected 1, 3 or 4`);
  }
  if (seg.length !== 6 + 3 * count) corruptJpeg(`frame header (SOF) of ${seg.length + 2} bytes for ${count} components`);
  const components: JpegComponent[] = [];
  for (let i = 0; i < count; i++) {
    const s = seg[7 + 3 * i];
    const h = s >> 4;
    const v = s & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) corruptJpeg(`sampling factors ${h}x${v}`);
    const tq = seg[8 + 3 * i];
    if (tq > 3) corruptJpeg(`component ${i + 1} uses quantization table ${tq}`);
    components.push({ id: seg[6 + 3 * i], h, v, tq });
  }
  return {
    width,
    height,
    progressive: marker === 0xc2,
    components,
    maxH: Math.max(...components.map((c) => c.h)),
    maxV: Math.max(...components.map((c) => c.v)),
  };
}

/**
 * Checks that the tables of a DHT or DQT segment fill it exactly. Each table starts with a byte
 * holding its class (Huffman DC/AC) or precision (8/16-bit), 0 or 1, and its destination, 0..3;
 * `size(q)` is the size of the table starting at `q`.
 */
function checkTables(seg: Uint8Array, at: number, name: string, size: (q: number) => number): void {
  let q = 0;
  while (q < seg.length) {
    if (seg[q] >> 4 > 1 || (seg[q] & 15) > 3) corruptJpeg(`${name} segment at byte ${at} has table class/id 0x${seg[q].toString(16)}`);
    q += size(q);
  }
  if (q !== seg.length) corruptJpeg(`${name} segment at byte ${at} is ${seg.length + 2} bytes long but its tables are not`);
}

function decodeJpeg(bytes: Uint8Array, lim: ImageLimits, minShortSide: number): Omit<DecodedImage, 'orientation'> {
  const layout = readJpeg(bytes, lim);
  const { width, height } = layout.frame;
  const scale = jpegScale(width, height, minShortSide);
  return { width: scaledSide(width, scale), height: scaledSide(height, scale), data: decodeJpegData(bytes, layout, scale) };
}

/** The smallest scale (in eighths) at which a `width` x `height` JPEG's shorter side is at least `minShortSide`. */
function jpegScale(width: number, height: number, minShortSide: number): JpegScale {
  for (const scale of [1, 2, 4] as const) {
    if (Math.min(scaledSide(width, scale), scaledSide(height, scale)) >= minShortSide) return scale;
  }
  return 8;
}

const PNG_INDEXED = 3;

/** The bit depths each PNG colour type allows, and its samples per pixel. */
const PNG_COLOUR_TYPES: Readonly<Partial<Record<number, { depths: readonly number[]; channels: number }>>> = {
  0: { depths: [1, 2, 4, 8, 16], channels: 1 }, // greyscale
  2: { depths: [8, 16], channels: 3 }, // truecolour
  [PNG_INDEXED]: { depths: [1, 2, 4, 8], channels: 1 },
  4: { depths: [8, 16], channels: 2 }, // greyscale + alpha
  6: { depths: [8, 16], channels: 4 }, // truecolour + alpha
};

/** The seven Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/**
 * Deflate's largest expansion: a 258-byte match coded in two bits (one-bit length and distance
 * codes). Image data shorter than 1/1032 of what the header implies cannot be genuine.
 */
const MAX_DEFLATE_RATIO = 1032;

/** log2 of the largest block (8, 4 or 2 pixels a side) that leaves the shorter side of a `width` x `height` PNG at least `minShortSide`; 0 for none. */
function pngShift(width: number, height: number, minShortSide: number): number {
  for (const shift of [3, 2, 1]) {
    if (Math.min(reducedSide(width, shift), reducedSide(height, shift)) >= minShortSide) return shift;
  }
  return 0;
}

function decodePngRgba(bytes: Uint8Array, lim: ImageLimits, minShortSide: number): Omit<DecodedImage, 'orientation'> {
  // The first chunk must be IHDR: width, height (big-endian u32), bit depth, colour type,
  // compression, filter and interlace method.
  const ihdr = bytes.length >= 29 && String.fromCharCode(...bytes.subarray(12, 16)) === 'IHDR';
  if (!ihdr) corruptPng('it does not start with an IHDR chunk');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  checkSize('PNG', width, height, lim);
  const depth = bytes[24];
  const colourType = bytes[25];
  const interlaced = bytes[28] === 1;
  const type = PNG_COLOUR_TYPES[colourType];
  if (!type?.depths.includes(depth)) corruptPng(`colour type ${colourType} with ${depth}-bit samples`);
  if (bytes[26] !== 0 || bytes[27] !== 0 || bytes[28] > 1) corruptPng(`unknown compression, filter or interlace method (${bytes.subarray(26, 29).join(', ')})`);
  const indexed = colourType === PNG_INDEXED;
  const { idat, palette, colours } = readPngChunks(bytes, indexed);
  if (indexed && palette === undefined) throw new ImageError('E_IMAGE_DECODE', 'PNG is corrupt: a palette image without a palette (PLTE chunk)');
  // Each row of each pass is a filter byte and the row's samples, packed to whole bytes.
  const bitsPerPixel = depth * type.channels;
  const rowBytes = (w: number): number => 1 + Math.ceil((w * bitsPerPixel) / 8);
  const passes = interlaced ? ADAM7 : [[0, 0, 1, 1] as const];
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) expected += h * rowBytes(w);
  }
  const idatBytes = idat.bytes;
  if (expected > MAX_DEFLATE_RATIO * idatBytes) {
    corruptPng(`its ${idatBytes} bytes of image data cannot inflate to the ${expected} bytes its header implies`);
  }
  const layout = { width, height, depth, colourType, interlaced, palette: palette ?? new Uint8Array(0), colours, inflatedBytes: expected, scanlineBytes: rowBytes(width) - 1 };
  const shift = pngShift(width, height, minShortSide);
  if (shift === 0) return { width, height, data: decodePngData(idat, layout) };
  return { width: reducedSide(width, shift), height: reducedSide(height, shift), data: decodePngReduced(idat, layout, shift) };
}

/**
 * Walks the chunks, checking every CRC before anything is inflated, and returns the image data
 * (the IDAT chunks' data, in order) and the palette of a palette image: 256 RGBA entries, alpha
 * from the first tRNS chunk after the last PLTE chunk, 255 where it has no entry. A second IHDR
 * and unknown critical chunks are refused; ancillary chunks, including compressed ICC profiles
 * and text, are never inflated.
 */
function readPngChunks(b: Uint8Array, indexed: boolean): { idat: PngData; palette?: Uint8Array; colours: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const idat: PngData = { file: b, ranges: new Uint32Array(64), count: 0, bytes: 0 };
  let sawIdat = false;
  let palette: Uint8Array | undefined;
  let colours = 0;
  let alpha = false;
  for (let p = 8; ; ) {
    if (p + 12 > b.length) corruptPng(`it ends at byte ${b.length}, before its IEND chunk`);
    const length = view.getUint32(p);
    const end = p + 12 + length;
    if (end > b.length) corruptPng(`its ${chunkType(b, p)} chunk at byte ${p} runs past the end of the file`);
    if (crc32(b.subarray(p + 4, end - 4)) !== view.getUint32(end - 4)) corruptPng(`the CRC of the ${chunkType(b, p)} chunk at byte ${p} does not match`);
    // Image data first and without building strings: a file may hold millions of IDAT chunks.
    if (view.getUint32(p + 4) === IDAT && p !== 8) {
      addRange(idat, p + 8, end - 4);
      sawIdat = true;
      p = end;
      continue;
    }
    const type = chunkType(b, p);
    if (type === 'IHDR' ? p !== 8 || length !== 13 : p === 8) corruptPng(`the first chunk must be a 13-byte IHDR, and the only one (${type} at byte ${p})`);
    const data = b.subarray(p + 8, end - 4);
    if (indexed && type === 'PLTE') {
      if (length % 3 !== 0) corruptPng(`its PLTE chunk is ${length} bytes long, not a multiple of 3`);
      colours = length / 3;
      palette = new Uint8Array(1024).fill(255);
      for (let i = 0; i < Math.min(colours, 256); i++) palette.set(data.subarray(3 * i, 3 * i + 3), 4 * i);
      alpha = false;
    } else if (indexed && type === 'tRNS') {
      if (length > colours) corruptPng(`its tRNS chunk has ${length} alpha values for ${colours} palette colours`);
      if (palette && !alpha) for (let i = 0; i < Math.min(length, 256); i++) palette[4 * i + 3] = data[i];
      alpha = true;
    } else if (!(b[p + 4] & 0x20) && type !== 'IHDR' && type !== 'IEND' && type !== 'PLTE') {
      // An upper-case first letter marks a chunk a decoder must understand to show the image.
      throw new ImageError('E_IMAGE_FORMAT', `PNG has a critical chunk ${type} that this decoder does not know; ${SUPPORTED}`);
    }
    if (type === 'IEND') break;
    p = end;
  }
  if (!sawIdat) corruptPng('it has no image data (IDAT chunk)');
  return { idat, palette, colours };
}

/** "IDAT" read as a big-endian uint32. */
const IDAT = 0x49444154;

/** The type of the chunk at `p`: four ASCII letters, else the file is corrupt. */
function chunkType(b: Uint8Array, p: number): string {
  const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
  if (!/^[A-Za-z]{4}$/.test(type)) corruptPng(`no chunk type at byte ${p + 4}`);
  return type;
}

/** Appends the range [start, end) to `data`, unless it is empty. */
function addRange(data: PngData, start: number, end: number): void {
  if (end === start) return;
  if (2 * data.count + 2 > data.ranges.length) {
    const grown = new Uint32Array(2 * data.ranges.length);
    grown.set(data.ranges);
    data.ranges = grown;
  }
  data.ranges[2 * data.count] = start;
  data.ranges[2 * data.count + 1] = end;
  data.count++;
  data.bytes += end - start;
}

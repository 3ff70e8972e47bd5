/**
 * JPEG decoding in the kernels module (assembly/image/jpeg.ts). The host applies the marker
 * segments that decode.ts has walked and checked: it builds the Huffman and quantization tables,
 * lays out the coefficient and sample buffers, and runs each scan; the module does the per-bit and
 * per-pixel work, with libjpeg-turbo's arithmetic, so that pixels are those djpeg, PIL and
 * torchvision give.
 * @packageDocumentation
 */

import { ImageError } from '../errors.js';
import { callKernel } from '../wasm/kernels.js';
import { withCodec } from './codec.js';

/** A component of the frame, as its header (SOF) declares it. */
export interface JpegComponent {
  id: number;
  /** Horizontal and vertical sampling factors, 1..4. */
  h: number;
  v: number;
  /** Quantization table selector, 0..3. */
  tq: number;
}

export interface JpegFrame {
  width: number;
  height: number;
  progressive: boolean;
  components: JpegComponent[];
  /** Largest horizontal and vertical sampling factors: the MCU is 8·maxH × 8·maxV pixels. */
  maxH: number;
  maxV: number;
}

/** A table, restart interval or scan segment: its data runs from `data` to `end`; a scan's entropy-coded data from `end` to `scanEnd`. */
export interface JpegSegment {
  marker: number;
  data: number;
  end: number;
  scanEnd: number;
}

/** What decoding needs from a file whose structure has been checked. */
export interface JpegLayout {
  frame: JpegFrame;
  /** DHT, DQT, DRI and SOS segments, in file order. */
  segments: JpegSegment[];
  jfif: boolean;
  /** The Adobe (APP14) marker's colour transform, undefined without the marker. */
  adobeTransform: number | undefined;
}

// Colour spaces, as the module numbers them.
const GREY = 0;
const YCBCR = 1;
const RGB = 2;
const CMYK = 3;
const YCCK = 4;

// The module's status codes.
const BAD_HUFFMAN_TABLE = 1;

/** Zigzag order of DQT tables -> natural (row-major) order. */
const NATURAL = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28,
  35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/** Throws the ImageError of a JPEG whose data is wrong. */
export function corruptJpeg(why: string): never {
  throw new ImageError('E_IMAGE_DECODE', `JPEG is corrupt: ${why}`);
}

/**
 * libjpeg's reading of the colour space (jdapimin.c default_decompress_parms): three components are
 * YCbCr unless an Adobe marker without JFIF says RGB (transform 0) or, with neither marker, the
 * component ids are 'R', 'G', 'B'; four are CMYK, or YCCK if the Adobe transform is nonzero.
 */
function colourSpace(layout: JpegLayout): number {
  const { components } = layout.frame;
  if (components.length === 1) return GREY;
  if (components.length === 4) return layout.adobeTransform ? YCCK : CMYK;
  if (layout.jfif) return YCBCR;
  if (layout.adobeTransform !== undefined) return layout.adobeTransform === 0 ? RGB : YCBCR;
  return components.map((c) => c.id).join() === '82,71,66' ? RGB : YCBCR;
}

/** Sizes a JPEG decodes at: M/8 of its width and height, as `djpeg -scale M/8`. */
export type JpegScale = 1 | 2 | 4 | 8;

/** The width or height of a side of `size` pixels decoded at `scale`/8 (libjpeg's jdiv_round_up). */
export const scaledSide = (size: number, scale: JpegScale): number => Math.ceil((size * scale) / 8);

/**
 * Each block's IDCT output size (8, 4, 2 or 1 samples a side) for a component at `scale`: the
 * scale itself, doubled while the component is subsampled by 2 (jdmaster.c
 * jpeg_calc_output_dimensions), so that 4:2:0 chroma at 1/8 is decoded at 1/4 and needs no
 * upsampling.
 */
function idctSize(c: JpegComponent, frame: JpegFrame, scale: JpegScale): JpegScale {
  let size = scale;
  while (size < 8 && (frame.maxH * scale) % (c.h * size * 2) === 0 && (frame.maxV * scale) % (c.v * size * 2) === 0) size = (size * 2) as JpegScale;
  return size;
}

const IDCT = { 8: 'jpeg_idct', 4: 'jpeg_idct_4x4', 2: 'jpeg_idct_2x2', 1: 'jpeg_idct_1x1' } as const;

/**
 * Decodes the image data of a checked file to RGBA, at `scale`/8 of its size: `scaledSide(width,
 * scale)` x `scaledSide(height, scale)` pixels, those of `djpeg -scale M/8` (libjpeg's reduced
 * IDCTs; at 1/8 no fancy upsampling). At 1/8 a component keeps only its DC coefficients, and a
 * progressive file's AC scans of it are not decoded.
 * @throws {@link ImageError} `E_IMAGE_DECODE` for tables or scans that do not make sense: an
 *   undefined or invalid table, a scan of a component the frame lacks, an impossible progression, a
 *   code its Huffman table does not have.
 */
export function decodeJpegData(bytes: Uint8Array, layout: JpegLayout, scale: JpegScale = 8): Uint8Array {
  const { frame, segments } = layout;
  const { width, height, maxH, maxV } = frame;
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));
  const outWidth = scaledSide(width, scale);
  const outHeight = scaledSide(height, scale);
  return withCodec('JPEG', (mem) => {
    const wasm = mem.exports;
    const huffmanBytes = callKernel(wasm, 'jpeg_huffman_bytes', {});
    const rowBytes = callKernel(wasm, 'jpeg_row_bytes', { width: outWidth });
    const data = mem.put(bytes);
    const huffman = mem.alloc(8 * huffmanBytes);
    const source = mem.alloc(16 + 256);
    const params = mem.alloc(192);
    const components = frame.components.map((c) => {
      // Coefficients and samples cover whole MCUs; only blocks inside the image are coded in a
      // one-component scan, and only samples inside it are upsampled.
      const blocksX = mcusX * c.h;
      const blocksY = mcusY * c.v;
      const size = idctSize(c, frame, scale);
      const blockBytes = size === 1 ? 2 : 128;
      return {
        ...c,
        blocksX,
        blocksY,
        size,
        blockBytes,
        width: Math.ceil((width * c.h * size) / (maxH * 8)),
        height: Math.ceil((height * c.v * size) / (maxV * 8)),
        quant: mem.alloc(256),
        coefs: mem.alloc(blocksX * blocksY * blockBytes),
        samples: mem.alloc(blocksX * blocksY * size * size),
        latched: undefined as Int32Array | undefined,
      };
    });
    const rows = mem.alloc(4 * rowBytes);
    const out = mem.alloc(outWidth * outHeight * 4);
    const u8 = new Uint8Array(wasm.memory.buffer);
    const i32 = new Int32Array(wasm.memory.buffer);
    for (const c of components) u8.fill(0, c.coefs, c.coefs + c.blocksX * c.blocksY * c.blockBytes);

    const quantTables: (Int32Array | undefined)[] = [];
    const defined: boolean[] = [];
    let restartInterval = 0;
    scans: for (const { marker, data: at, end, scanEnd } of segments) {
      if (marker === 0xc4) {
        for (let q = at; q < end; ) {
          const cls = bytes[q] >> 4;
          const id = bytes[q] & 15;
          const size = 16 + bytes.subarray(q + 1, q + 17).reduce((a, n) => a + n, 0);
          if (size > 16 + 256) corruptJpeg(`Huffman table (DHT) at byte ${q} has more than 256 codes`);
          u8.set(bytes.subarray(q + 1, q + 1 + size), source);
          if (callKernel(wasm, 'jpeg_huffman_table', { table: huffman + (cls * 4 + id) * huffmanBytes, counts: source, isDc: cls === 0 }) === BAD_HUFFMAN_TABLE) {
            corruptJpeg(`Huffman table (DHT) at byte ${q} is not a valid code`);
          }
          defined[cls * 4 + id] = true;
          q += 1 + size;
        }
      } else if (marker === 0xdb) {
        for (let q = at; q < end; ) {
          const wide = bytes[q] >> 4 === 1;
          const table = new Int32Array(64);
          for (let k = 0; k < 64; k++) table[NATURAL[k]] = wide ? (bytes[q + 1 + 2 * k] << 8) | bytes[q + 2 + 2 * k] : bytes[q + 1 + k];
          quantTables[bytes[q] & 15] = table;
          q += wide ? 129 : 65;
        }
      } else if (marker === 0xdd) {
        restartInterval = (bytes[at] << 8) | bytes[at + 1];
      } else {
        const ns = bytes[at];
        const ss = bytes[at + 1 + 2 * ns];
        const se = bytes[at + 2 + 2 * ns];
        const ah = bytes[at + 3 + 2 * ns] >> 4;
        const al = bytes[at + 3 + 2 * ns] & 15;
        if (frame.progressive) {
          // jdphuff.c start_pass_phuff_decoder: a DC scan or one AC band of one component, and successive approximation one bit at a time.
          const bad = ss === 0 ? se !== 0 : se < ss || se > 63 || ns !== 1;
          if (bad || (ah !== 0 && al !== ah - 1) || al > 13) corruptJpeg(`scan at byte ${at - 4} has an invalid progression (Ss ${ss}, Se ${se}, Ah ${ah}, Al ${al})`);
        }
        const dcNeeded = !frame.progressive || (ss === 0 && ah === 0);
        const acNeeded = !frame.progressive || ss > 0;
        i32.set([data + end, data + scanEnd, ns, frame.progressive ? ss : 0, frame.progressive ? se : 63, ah, al, restartInterval, mcusX, mcusY, frame.progressive ? 1 : 0], params >> 2);
        const seen = new Set<number>();
        for (let i = 0; i < ns; i++) {
          const id = bytes[at + 1 + 2 * i];
          const c = components.find((comp) => comp.id === id);
          if (!c || seen.has(id)) corruptJpeg(`scan at byte ${at - 4} names component ${id} ${c ? 'twice' : 'that the frame does not have'}`);
          seen.add(id);
          const dc = bytes[at + 2 + 2 * i] >> 4;
          const ac = bytes[at + 2 + 2 * i] & 15;
          if ((dcNeeded && !defined[dc]) || (acNeeded && !defined[4 + ac])) corruptJpeg(`scan at byte ${at - 4} uses a Huffman table that is not defined`);
          // libjpeg takes each component's quantization table as it is at the component's first scan.
          c.latched ??= quantTables[c.tq] ?? corruptJpeg(`quantization table ${c.tq} is not defined before the first scan of component ${id}`);
          const one = ns === 1;
          const dcOnly = c.blockBytes === 2 ? 1 : 0;
          i32.set([c.coefs, c.blocksX, one ? 1 : c.h, one ? 1 : c.v, huffman + dc * huffmanBytes, huffman + (4 + ac) * huffmanBytes, dcOnly], (params + 64 + 32 * i) >> 2);
          if (one) i32.set([Math.ceil((width * c.h) / (maxH * 8)), Math.ceil((height * c.v) / (maxV * 8))], (params + 32) >> 2);
          // A progressive AC scan (always of one component) of a component kept as DC alone.
          if (frame.progressive && ss > 0 && dcOnly) continue scans;
        }
        if (callKernel(wasm, 'jpeg_decode_scan', { p: params }) !== 0) corruptJpeg(`the scan at byte ${at - 4} has a Huffman code that its table does not define`);
      }
    }

    const colour = colourSpace(layout);
    // jdsample.c: no fancy upsampling when the smallest IDCT is 1x1.
    const fancy = scale > 1 ? 1 : 0;
    i32.set([outWidth, outHeight, maxH, maxV, components.length, colour, out, rows, fancy], params >> 2);
    components.forEach((c, i) => {
      // A component no scan codes stays zero: mid grey, whatever its table.
      i32.set(c.latched ?? new Int32Array(64), c.quant >> 2);
      callKernel(wasm, IDCT[c.size], { coefs: c.coefs, quant: c.quant, out: c.samples, blocksX: c.blocksX, blocksY: c.blocksY });
      // Upsampling sees each component's samples per MCU: h and v times its IDCT size / the scale's.
      i32.set([c.samples, c.size * c.blocksX, (c.h * c.size) / scale, (c.v * c.size) / scale, c.width, c.height], (params + 64 + 32 * i) >> 2);
    });
    callKernel(wasm, 'jpeg_rgba', { p: params });
    return mem.u8(out, outWidth * outHeight * 4).slice();
  });
}

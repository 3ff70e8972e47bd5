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

/**
 * Decodes the image data of a checked file to RGBA.
 * @throws {@link ImageError} `E_IMAGE_DECODE` for tables or scans that do not make sense: an
 *   undefined or invalid table, a scan of a component the frame lacks, an impossible progression, a
 *   code its Huffman table does not have.
 */
export function decodeJpegData(bytes: Uint8Array, layout: JpegLayout): Uint8Array {
  const { frame, segments } = layout;
  const { width, height, maxH, maxV } = frame;
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));
  return withCodec('JPEG', (mem) => {
    const wasm = mem.exports;
    const huffmanBytes = callKernel(wasm, 'jpeg_huffman_bytes', {});
    const rowBytes = callKernel(wasm, 'jpeg_row_bytes', { width });
    const data = mem.put(bytes);
    const huffman = mem.alloc(8 * huffmanBytes);
    const source = mem.alloc(16 + 256);
    const params = mem.alloc(192);
    const components = frame.components.map((c) => {
      // Coefficients and samples cover whole MCUs; only blocks inside the image are coded in a
      // one-component scan, and only samples inside it are upsampled.
      const blocksX = mcusX * c.h;
      const blocksY = mcusY * c.v;
      return {
        ...c,
        blocksX,
        blocksY,
        width: Math.ceil((width * c.h) / maxH),
        height: Math.ceil((height * c.v) / maxV),
        quant: mem.alloc(256),
        coefs: mem.alloc(blocksX * blocksY * 128),
        samples: mem.alloc(blocksX * blocksY * 64),
        latched: undefined as Int32Array | undefined,
      };
    });
    const rows = mem.alloc(4 * rowBytes);
    const out = mem.alloc(width * height * 4);
    const u8 = new Uint8Array(wasm.memory.buffer);
    const i32 = new Int32Array(wasm.memory.buffer);
    for (const c of components) u8.fill(0, c.coefs, c.coefs + c.blocksX * c.blocksY * 128);

    const quantTables: (Int32Array | undefined)[] = [];
    const defined: boolean[] = [];
    let restartInterval = 0;
    for (const { marker, data: at, end, scanEnd } of segments) {
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
          i32.set([c.coefs, c.blocksX, one ? 1 : c.h, one ? 1 : c.v, huffman + dc * huffmanBytes, huffman + (4 + ac) * huffmanBytes], (params + 64 + 32 * i) >> 2);
          if (one) i32.set([Math.ceil(c.width / 8), Math.ceil(c.height / 8)], (params + 32) >> 2);
        }
        if (callKernel(wasm, 'jpeg_decode_scan', { p: params }) !== 0) corruptJpeg(`the scan at byte ${at - 4} has a Huffman code that its table does not define`);
      }
    }

    const colour = colourSpace(layout);
    i32.set([width, height, maxH, maxV, components.length, colour, out, rows], params >> 2);
    components.forEach((c, i) => {
      // A component no scan codes stays zero: mid grey, whatever its table.
      i32.set(c.latched ?? new Int32Array(64), c.quant >> 2);
      callKernel(wasm, 'jpeg_idct', { coefs: c.coefs, quant: c.quant, out: c.samples, blocksX: c.blocksX, blocksY: c.blocksY });
      i32.set([c.samples, 8 * c.blocksX, c.h, c.v, c.width, c.height], (params + 64 + 32 * i) >> 2);
    });
    callKernel(wasm, 'jpeg_rgba', { p: params });
    return mem.u8(out, width * height * 4).slice();
  });
}

/**
 * JPEG decoding in the kernels module (assembly/image/jpeg.ts). The host applies the marker
 * segments that decode.ts has walked and checked: it builds the Huffman and quantization tables,
 * lays out the coefficient and sample buffers, and runs each scan; the module does the per-bit and
 * per-pixel work, with libjpeg-turbo's arithmetic, so that pixels are those djpeg, PIL and
 * torchvision give.
 * @packageDocumentation
 */

import { ImageError } from '../errors.js';
import { callKernel, type KernelExports } from '../wasm/kernels.js';
import type { Scratch } from '../wasm/scratch.js';
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
 * Bytes a component keeps per block, by IDCT size: the 64 coefficients; at 1/4 the 25 that
 * jidctred.c's 2x2 IDCT reads and a bit per other coefficient saying whether it is nonzero (a
 * progressive refinement scan reads a bit for each nonzero one); at 1/8 the DC coefficient alone.
 * BLOCK_LAYOUT numbers these layouts for the module.
 */
const BLOCK_BYTES = { 8: 128, 4: 128, 2: 64, 1: 2 } as const;
const BLOCK_LAYOUT = { 8: 0, 4: 0, 2: 2, 1: 1 } as const;

/** A component as laid out in the decoder's memory. */
interface ComponentBuffers extends JpegComponent {
  /** Blocks per row and per column of whole MCUs. */
  blocksX: number;
  blocksY: number;
  /** IDCT output size (samples a block side) and bytes per stored block ({@link BLOCK_BYTES}). */
  size: JpegScale;
  blockBytes: number;
  /** Samples per row and rows that belong to the image. */
  width: number;
  height: number;
  quant: number;
  /** Coefficients: every block, or one MCU row's when the file streams. */
  coefs: number;
  samples: number;
  /** The quantization table, latched at the component's first scan. */
  latched: Int32Array | undefined;
}

/**
 * Whether the file's first scan is sequential and codes every component (the usual baseline file).
 * Such a file has no other scan (libjpeg refuses one after it), so it is decoded MCU row by MCU
 * row through a buffer of one row of coefficients; other files keep every block's coefficients
 * until their last scan.
 */
function streams(bytes: Uint8Array, layout: JpegLayout): boolean {
  const sos = layout.segments.find((s) => s.marker === 0xda);
  return !layout.frame.progressive && sos !== undefined && bytes[sos.data] === layout.frame.components.length;
}

/**
 * Decodes the image data of a checked file to RGBA, at `scale`/8 of its size: `scaledSide(width,
 * scale)` x `scaledSide(height, scale)` pixels, those of `djpeg -scale M/8` (libjpeg's reduced
 * IDCTs; at 1/8 no fancy upsampling). At 1/8 a component keeps only its DC coefficients, and a
 * progressive file's AC scans of it are not decoded. A sequential file whose one scan codes every
 * component holds one MCU row of coefficients at a time, whatever its size.
 * @throws {@link ImageError} `E_IMAGE_DECODE` for tables or scans that do not make sense: an
 *   undefined or invalid table, a scan of a component the frame lacks, an impossible progression, a
 *   code its Huffman table does not have, a scan after a sequential scan of every component.
 */
export function decodeJpegData(bytes: Uint8Array, layout: JpegLayout, scale: JpegScale = 8): Uint8Array {
  return withCodec('JPEG', (mem) => new JpegDecoding(mem, bytes, layout, scale).decode());
}

/** One image's decoding: the buffers in the codec's memory and the tables as the segments define them. */
class JpegDecoding {
  private readonly wasm: KernelExports;
  private readonly frame: JpegFrame;
  private readonly mcusX: number;
  private readonly mcusY: number;
  private readonly outWidth: number;
  private readonly outHeight: number;
  private readonly streaming: boolean;
  private readonly huffmanBytes: number;
  private readonly data: number;
  private readonly huffman: number;
  private readonly source: number;
  private readonly params: number;
  private readonly components: ComponentBuffers[];
  private readonly rows: number;
  private readonly out: number;
  private readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly quantTables: (Int32Array | undefined)[] = [];
  private readonly defined: boolean[] = [];
  private restartInterval = 0;
  /** Whether the streamed scan has been decoded: its components' samples are done. */
  private streamed = false;

  constructor(
    mem: Scratch,
    private readonly bytes: Uint8Array,
    private readonly layout: JpegLayout,
    private readonly scale: JpegScale,
  ) {
    const frame = (this.frame = layout.frame);
    const { width, height, maxH, maxV } = frame;
    this.wasm = mem.exports;
    this.mcusX = Math.ceil(width / (8 * maxH));
    this.mcusY = Math.ceil(height / (8 * maxV));
    this.outWidth = scaledSide(width, scale);
    this.outHeight = scaledSide(height, scale);
    this.streaming = streams(bytes, layout);
    this.huffmanBytes = callKernel(this.wasm, 'jpeg_huffman_bytes', {});
    this.data = mem.put(bytes);
    this.huffman = mem.alloc(8 * this.huffmanBytes);
    this.source = mem.alloc(16 + 256);
    this.params = mem.alloc(192);
    this.components = frame.components.map((c) => this.componentBuffers(mem, c));
    this.rows = mem.alloc(4 * callKernel(this.wasm, 'jpeg_row_bytes', { width: this.outWidth }));
    this.out = mem.alloc(this.outWidth * this.outHeight * 4);
    // Views after the last allocation, which may grow memory.
    this.u8 = new Uint8Array(this.wasm.memory.buffer);
    this.i32 = new Int32Array(this.wasm.memory.buffer);
    for (const c of this.components) this.u8.fill(0, c.coefs, c.coefs + this.coefBytes(c));
  }

  private componentBuffers(mem: Scratch, c: JpegComponent): ComponentBuffers {
    const { frame, scale } = this;
    // Coefficients and samples cover whole MCUs; only blocks inside the image are coded in a
    // one-component scan, and only samples inside it are upsampled.
    const blocksX = this.mcusX * c.h;
    const blocksY = this.mcusY * c.v;
    const size = idctSize(c, frame, scale);
    const blockBytes = BLOCK_BYTES[size];
    const coefRows = this.streaming ? c.v : blocksY;
    return {
      ...c,
      blocksX,
      blocksY,
      size,
      blockBytes,
      width: Math.ceil((frame.width * c.h * size) / (frame.maxH * 8)),
      height: Math.ceil((frame.height * c.v * size) / (frame.maxV * 8)),
      quant: mem.alloc(256),
      coefs: mem.alloc(blocksX * coefRows * blockBytes),
      samples: mem.alloc(blocksX * blocksY * size * size),
      latched: undefined,
    };
  }

  /** Bytes of a component's coefficient buffer. */
  private coefBytes(c: ComponentBuffers): number {
    return c.blocksX * (this.streaming ? c.v : c.blocksY) * c.blockBytes;
  }

  decode(): Uint8Array {
    for (const segment of this.layout.segments) {
      const { marker, data: at } = segment;
      if (marker === 0xc4) this.huffmanTables(segment);
      else if (marker === 0xdb) this.quantizationTables(segment);
      else if (marker === 0xdd) this.restartInterval = (this.bytes[at] << 8) | this.bytes[at + 1];
      else this.scan(segment);
    }
    return this.rgba();
  }

  private huffmanTables({ data: at, end }: JpegSegment): void {
    const { bytes, u8 } = this;
    for (let q = at; q < end; ) {
      const cls = bytes[q] >> 4;
      const id = bytes[q] & 15;
      const size = 16 + bytes.subarray(q + 1, q + 17).reduce((a, n) => a + n, 0);
      if (size > 16 + 256) corruptJpeg(`Huffman table (DHT) at byte ${q} has more than 256 codes`);
      u8.set(bytes.subarray(q + 1, q + 1 + size), this.source);
      const table = this.huffman + (cls * 4 + id) * this.huffmanBytes;
      if (callKernel(this.wasm, 'jpeg_huffman_table', { table, counts: this.source, isDc: cls === 0 }) === BAD_HUFFMAN_TABLE) {
        corruptJpeg(`Huffman table (DHT) at byte ${q} is not a valid code`);
      }
      this.defined[cls * 4 + id] = true;
      q += 1 + size;
    }
  }

  private quantizationTables({ data: at, end }: JpegSegment): void {
    const { bytes } = this;
    for (let q = at; q < end; ) {
      const wide = bytes[q] >> 4 === 1;
      const table = new Int32Array(64);
      for (let k = 0; k < 64; k++) table[NATURAL[k]] = wide ? (bytes[q + 1 + 2 * k] << 8) | bytes[q + 2 + 2 * k] : bytes[q + 1 + k];
      this.quantTables[bytes[q] & 15] = table;
      q += wide ? 129 : 65;
    }
  }

  /** Checks a scan's header, writes its parameters, and decodes it (unless it only codes what is not kept). */
  private scan({ data: at, end, scanEnd }: JpegSegment): void {
    const { bytes, frame, i32, params } = this;
    if (this.streamed) corruptJpeg(`scan at byte ${at - 4} follows a sequential scan of every component`);
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
    const p = frame.progressive;
    // The MCU rows to decode (at 36 and 40) are written by decodeRows.
    i32.set([this.data + end, this.data + scanEnd, ns, p ? ss : 0, p ? se : 63, ah, al, this.restartInterval, this.mcusX, 0, 0, p ? 1 : 0], params >> 2);
    const scanned = this.scanComponents(at, ss, ah);
    // A progressive AC scan (always of one component) of a component kept as DC alone.
    if (p && ss > 0 && scanned[0].size === 1) return;
    if (this.streaming) {
      this.decodeStreamed(at, scanned);
      return;
    }
    // A one-component scan's MCU is one block: its rows are the component's rows of blocks.
    const c = scanned[0];
    this.decodeRows(at, 0, ns === 1 ? Math.ceil((frame.height * c.v) / (frame.maxV * 8)) : this.mcusY);
  }

  /** The components a scan codes, each checked and its parameters written; latches their quantization tables. */
  private scanComponents(at: number, ss: number, ah: number): ComponentBuffers[] {
    const { bytes, frame, i32, params } = this;
    const { width, maxH } = frame;
    const ns = bytes[at];
    const dcNeeded = !frame.progressive || (ss === 0 && ah === 0);
    const acNeeded = !frame.progressive || ss > 0;
    const scanned: ComponentBuffers[] = [];
    for (let i = 0; i < ns; i++) {
      const id = bytes[at + 1 + 2 * i];
      const c = this.components.find((comp) => comp.id === id);
      if (!c || scanned.includes(c)) corruptJpeg(`scan at byte ${at - 4} names component ${id} ${c ? 'twice' : 'that the frame does not have'}`);
      scanned.push(c);
      const dc = bytes[at + 2 + 2 * i] >> 4;
      const ac = bytes[at + 2 + 2 * i] & 15;
      if ((dcNeeded && !this.defined[dc]) || (acNeeded && !this.defined[4 + ac])) corruptJpeg(`scan at byte ${at - 4} uses a Huffman table that is not defined`);
      // libjpeg takes each component's quantization table as it is at the component's first scan.
      c.latched ??= this.quantTables[c.tq] ?? corruptJpeg(`quantization table ${c.tq} is not defined before the first scan of component ${id}`);
      const one = ns === 1;
      const huffman = (table: number): number => this.huffman + table * this.huffmanBytes;
      i32.set([c.coefs, c.blocksX, one ? 1 : c.h, one ? 1 : c.v, huffman(dc), huffman(4 + ac), BLOCK_LAYOUT[c.size]], (params + 64 + 32 * i) >> 2);
      if (one) i32[(params + 32) >> 2] = Math.ceil((width * c.h) / (maxH * 8));
    }
    return scanned;
  }

  /** Decodes MCU rows `begin` .. `end` - 1 of the scan whose parameters are written, into coefficient buffers starting at row `begin`. */
  private decodeRows(at: number, begin: number, end: number): void {
    this.i32.set([begin, end], (this.params + 36) >> 2);
    if (callKernel(this.wasm, 'jpeg_decode_scan', { p: this.params }) !== 0) corruptJpeg(`the scan at byte ${at - 4} has a Huffman code that its table does not define`);
  }

  /**
   * Decodes the scan of every component one MCU row at a time: the row's coefficients into the
   * one-row buffers, then the IDCT into the sample planes, so no more coefficients are ever held.
   */
  private decodeStreamed(at: number, scanned: ComponentBuffers[]): void {
    for (const c of scanned) this.i32.set(c.latched!, c.quant >> 2);
    for (let row = 0; row < this.mcusY; row++) {
      // Blocks the data leaves uncoded (a scan cut short) are zero, as in a fresh buffer.
      if (row > 0) for (const c of scanned) this.u8.fill(0, c.coefs, c.coefs + this.coefBytes(c));
      this.decodeRows(at, row, row + 1);
      for (const c of scanned) {
        const out = c.samples + row * c.v * c.size * c.size * c.blocksX;
        callKernel(this.wasm, IDCT[c.size], { coefs: c.coefs, quant: c.quant, out, blocksX: c.blocksX, blocksY: c.v });
      }
    }
    this.streamed = true;
  }

  /** The IDCT of the components not streamed, then upsampling and colour conversion to RGBA. */
  private rgba(): Uint8Array {
    const { components, i32, params, scale, outWidth, outHeight } = this;
    const { maxH, maxV } = this.frame;
    // jdsample.c: no fancy upsampling when the smallest IDCT is 1x1.
    const fancy = scale > 1 ? 1 : 0;
    i32.set([outWidth, outHeight, maxH, maxV, components.length, colourSpace(this.layout), this.out, this.rows, fancy], params >> 2);
    components.forEach((c, i) => {
      if (!this.streamed) {
        // A component no scan codes stays zero: mid grey, whatever its table.
        i32.set(c.latched ?? new Int32Array(64), c.quant >> 2);
        callKernel(this.wasm, IDCT[c.size], { coefs: c.coefs, quant: c.quant, out: c.samples, blocksX: c.blocksX, blocksY: c.blocksY });
      }
      // Upsampling sees each component's samples per MCU: h and v times its IDCT size / the scale's.
      i32.set([c.samples, c.size * c.blocksX, (c.h * c.size) / scale, (c.v * c.size) / scale, c.width, c.height], (params + 64 + 32 * i) >> 2);
    });
    callKernel(this.wasm, 'jpeg_rgba', { p: params });
    return new Uint8Array(this.wasm.memory.buffer, this.out, outWidth * outHeight * 4).slice();
  }
}

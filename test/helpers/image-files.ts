/**
 * Writers of small JPEG and PNG files for decoder tests and the image fuzzer, with control over
 * what encoders usually decide for you: PNG colour type, bit depth, Adam7, row filters and chunk
 * layout; JPEG components, sampling factors, baseline or progressive scans, restart intervals and
 * the Adobe marker. Both read and write the layout the decoders parse (chunks, marker segments), so
 * tests can edit a file structurally and keep it well-formed where they want to.
 */
import { crc32, deflateSync } from 'node:zlib';

/** Concatenates byte arrays. */
export function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const be32 = (v: number): number[] => [(v >>> 24) & 255, (v >>> 16) & 255, (v >>> 8) & 255, v & 255];

// ---------------------------------------------------------------- PNG

export const PNG_SIGNATURE = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Samples per pixel of each PNG colour type. */
export const PNG_CHANNELS: Readonly<Record<number, number>> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** The bit depths the PNG specification allows for each colour type. */
export const PNG_DEPTHS: Readonly<Record<number, readonly number[]>> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

/** A PNG chunk: length, type, data and the CRC of type and data. */
export function pngChunk(type: string, data: ArrayLike<number> = []): Uint8Array {
  const body = concat(Array.from(type, (c) => c.charCodeAt(0)), data);
  return concat(be32(data.length), body, be32(crc32(body)));
}

/** A chunk's place in a PNG file: `start` is its length field, `end` is just past its CRC. */
export interface PngChunkAt {
  type: string;
  start: number;
  end: number;
}

/** The chunks of a PNG file, as far as their length fields stay inside it. */
export function pngChunks(png: Uint8Array): PngChunkAt[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const chunks: PngChunkAt[] = [];
  for (let p = 8; p + 12 <= png.length; ) {
    const end = p + 12 + view.getUint32(p);
    if (end > png.length) break;
    chunks.push({ type: String.fromCharCode(...png.subarray(p + 4, p + 8)), start: p, end });
    p = end;
  }
  return chunks;
}

/** Rewrites the CRC of the chunk at `start` after its type or data were edited in place. */
export function fixPngChunk(png: Uint8Array, start: number): void {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const end = start + 12 + view.getUint32(start);
  if (end <= png.length) view.setUint32(end - 4, crc32(png.subarray(start + 4, end - 4)));
}

/** An IHDR chunk (filter method 0). */
export function ihdr(width: number, height: number, depth: number, colourType: number, interlace = 0, compression = 0): Uint8Array {
  return pngChunk('IHDR', [...be32(width), ...be32(height), depth, colourType, compression, 0, interlace]);
}

/** What to write as a PNG. */
export interface PngSpec {
  width: number;
  height: number;
  colourType: number;
  depth: number;
  /** Row-major samples, PNG_CHANNELS[colourType] per pixel, each below 2 ** depth. */
  samples: ArrayLike<number>;
  interlace?: boolean;
  /** RGB entries of the PLTE chunk. */
  palette?: number[][];
  /** Data of a tRNS chunk. */
  trns?: number[];
  /** Filter type (0..4) of the n-th row written (counting rows of all Adam7 passes). Default: n % 5. */
  filter?: (row: number) => number;
  /** Chunks written between the header (and palette) and the image data. */
  extra?: Uint8Array[];
  /** Split the compressed data into IDAT chunks of this many bytes. */
  idatSize?: number;
}

/** The seven Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]] as const;

/** The filtered scanlines of `spec` (what IDAT holds once inflated). */
function pngScanlines(spec: PngSpec): Uint8Array {
  const { width, height, depth, samples } = spec;
  const channels = PNG_CHANNELS[spec.colourType];
  const bpp = Math.max(1, (channels * depth) >> 3);
  const out: number[] = [];
  let n = 0;
  for (const [x0, y0, dx, dy] of spec.interlace ? ADAM7 : [[0, 0, 1, 1] as const]) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w <= 0 || h <= 0) continue;
    let prev = new Uint8Array(Math.ceil((w * channels * depth) / 8));
    for (let j = 0; j < h; j++) {
      const row = new Uint8Array(prev.length);
      for (let i = 0, bit = 0; i < w; i++) {
        const s = ((y0 + j * dy) * width + x0 + i * dx) * channels;
        for (let c = 0; c < channels; c++, bit += depth) {
          const v = samples[s + c];
          if (depth === 16) row.set([v >> 8, v & 255], bit >> 3);
          else row[bit >> 3] |= v << (8 - depth - (bit & 7));
        }
      }
      const f = (spec.filter ?? ((k) => k % 5))(n++);
      out.push(f);
      for (let k = 0; k < row.length; k++) {
        const a = k >= bpp ? row[k - bpp] : 0;
        const b = prev[k];
        const c = k >= bpp ? prev[k - bpp] : 0;
        const p = a + b - c;
        const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
        const predictor = [0, a, b, (a + b) >> 1, paeth][f] ?? 0;
        out.push((row[k] - predictor) & 255);
      }
      prev = row;
    }
  }
  return Uint8Array.from(out);
}

/** A PNG file. */
export function encodePngFile(spec: PngSpec): Uint8Array {
  const zdata = deflateSync(pngScanlines(spec));
  const parts = [PNG_SIGNATURE, ihdr(spec.width, spec.height, spec.depth, spec.colourType, spec.interlace ? 1 : 0)];
  if (spec.palette) parts.push(pngChunk('PLTE', spec.palette.flat()));
  if (spec.trns) parts.push(pngChunk('tRNS', spec.trns));
  parts.push(...(spec.extra ?? []));
  const size = spec.idatSize ?? Math.max(1, zdata.length);
  for (let i = 0; i < zdata.length || i === 0; i += size) parts.push(pngChunk('IDAT', zdata.subarray(i, i + size)));
  parts.push(pngChunk('IEND'));
  return concat(...parts);
}

/** The RGBA pixels decodeImage must return for `spec`: samples scaled to 8 bits, palette applied, tRNS only for palettes. */
export function pngExpectedRgba(spec: PngSpec): Uint8Array {
  const channels = PNG_CHANNELS[spec.colourType];
  const n = spec.width * spec.height;
  const out = new Uint8Array(n * 4);
  const to8 = (v: number): number => (spec.depth === 16 ? Math.floor((v * 255 + 32767) / 65535) : Math.floor((v * 255) / ((1 << spec.depth) - 1)));
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: channels }, (_, c) => spec.samples[i * channels + c]);
    if (spec.colourType === 3) {
      out.set([...spec.palette![s[0]], spec.trns?.[s[0]] ?? 255], i * 4);
    } else {
      const grey = channels < 3;
      out.set([to8(s[0]), to8(grey ? s[0] : s[1]), to8(grey ? s[0] : s[2]), channels % 2 === 0 ? to8(s[channels - 1]) : 255], i * 4);
    }
  }
  return out;
}

// ---------------------------------------------------------------- JPEG

/** The natural (row-major) index of the k-th coefficient in zig-zag order. */
const ZIGZAG = [
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43,
  36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/** The luminance quantization table of the JPEG standard (Annex K), row-major. */
const LUMA_QUANT = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68,
  109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

// One DC and one AC Huffman table for every component, with fixed-length codes: 12 DC categories
// in 4 bits; every AC run/size symbol, EOB, EOBn (progressive end-of-band runs) and ZRL in 8 bits.
const DC_SYMBOLS = Array.from({ length: 12 }, (_, i) => i);
const AC_SYMBOLS = [...Array.from({ length: 15 }, (_, r) => r << 4), 0xf0, ...Array.from({ length: 160 }, (_, i) => ((i / 10) << 4) | ((i % 10) + 1))];
const AC_CODE = new Map(AC_SYMBOLS.map((s, i) => [s, i]));

/** What to write as a JPEG. */
export interface JpegSpec {
  width: number;
  height: number;
  /** RGB of pixel (x, y), 0..255. */
  rgb: (x: number, y: number) => [number, number, number];
  /** Sampling factors (h, v) per component: 1 (greyscale), 3 (YCbCr) or 4 (CMYK, with an Adobe marker) components. */
  sampling: [number, number][];
  progressive?: boolean;
  /** MCUs per restart interval (0: none). */
  restartInterval?: number;
  /** libjpeg-style quality 1..100 (default 90). */
  quality?: number;
}

/** A JPEG file: baseline (one interleaved scan) or progressive (DC, AC bands and a DC refinement). */
export function encodeJpegFile(spec: JpegSpec): Uint8Array {
  const { width, height, sampling } = spec;
  const nc = sampling.length;
  const maxH = Math.max(...sampling.map((s) => s[0]));
  const maxV = Math.max(...sampling.map((s) => s[1]));
  const mcusX = Math.ceil(width / (8 * maxH));
  const mcusY = Math.ceil(height / (8 * maxV));
  const quality = spec.quality ?? 90;
  const scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
  const quant = LUMA_QUANT.map((q) => Math.min(255, Math.max(1, Math.floor((q * scale + 50) / 100))));

  const value = (c: number, x: number, y: number): number => {
    const [r, g, b] = spec.rgb(Math.min(width - 1, x), Math.min(height - 1, y));
    if (nc === 1) return 0.299 * r + 0.587 * g + 0.114 * b;
    if (nc === 4) return [r, g, b, 255][c];
    return [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b + 128, 0.5 * r - 0.418688 * g - 0.081312 * b + 128][c];
  };
  // Quantized DCT coefficients of every block of the MCU-padded grid of each component.
  const comps = sampling.map(([h, v], c) => {
    const bw = mcusX * h;
    const bh = mcusY * v;
    const blocks: Int32Array[] = [];
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        const px = new Float64Array(64);
        for (let i = 0; i < 64; i++) {
          const x = Math.min(bx * 8 + (i & 7), Math.ceil((width * h) / maxH) - 1);
          const y = Math.min(by * 8 + (i >> 3), Math.ceil((height * v) / maxV) - 1);
          px[i] = value(c, Math.floor((x * maxH) / h), Math.floor((y * maxV) / v)) - 128;
        }
        blocks.push(fdct(px, quant));
      }
    }
    return { id: c + 1, h, v, bw, blocks, pred: 0, perLine: Math.ceil(Math.ceil(width / 8) * h / maxH), perColumn: Math.ceil(Math.ceil(height / 8) * v / maxV) };
  });

  const segment = (marker: number, data: number[]): number[] => [0xff, marker, (data.length + 2) >> 8, (data.length + 2) & 255, ...data];
  const out: number[] = [0xff, 0xd8, ...segment(0xe0, [0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0])];
  if (nc === 4) out.push(...segment(0xee, [0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 0]));
  out.push(...segment(0xdb, [0, ...ZIGZAG.map((z) => quant[z])]));
  out.push(...segment(spec.progressive ? 0xc2 : 0xc0, [8, height >> 8, height & 255, width >> 8, width & 255, nc, ...comps.flatMap((c) => [c.id, (c.h << 4) | c.v, 0])]));
  const counts = (bits: number, n: number): number[] => Array.from({ length: 16 }, (_, i) => (i === bits - 1 ? n : 0));
  out.push(...segment(0xc4, [0x00, ...counts(4, DC_SYMBOLS.length), ...DC_SYMBOLS, 0x10, ...counts(8, AC_SYMBOLS.length), ...AC_SYMBOLS]));
  const ri = spec.restartInterval ?? 0;
  if (ri) out.push(...segment(0xdd, [ri >> 8, ri & 255]));

  const scan = (members: typeof comps, ss: number, se: number, ah: number, al: number): void => {
    out.push(...segment(0xda, [members.length, ...members.flatMap((c) => [c.id, 0x00]), ss, se, (ah << 4) | al]));
    const bits = new BitWriter(out);
    let eobrun = 0;
    const flushEobrun = (): void => {
      if (eobrun === 0) return;
      const n = 31 - Math.clz32(eobrun);
      bits.put(AC_CODE.get(n << 4)!, 8);
      bits.put(eobrun - (1 << n), n);
      eobrun = 0;
    };
    const coded = (v: number): [number, number] => {
      const size = v === 0 ? 0 : 32 - Math.clz32(Math.abs(v));
      return [size, v < 0 ? v + (1 << size) - 1 : v];
    };
    const block = (c: (typeof comps)[number], zz: Int32Array): void => {
      if (ss === 0) {
        if (ah > 0) return bits.put((zz[0] >> al) & 1, 1);
        const [size, extra] = coded((zz[0] >> al) - c.pred);
        c.pred = zz[0] >> al;
        bits.put(size, 4);
        bits.put(extra, size);
        if (se === 0) return;
      }
      let run = 0;
      for (let k = Math.max(1, ss); k <= se; k++) {
        const v = zz[ZIGZAG[k]];
        if (v === 0) {
          run++;
          continue;
        }
        flushEobrun();
        for (; run > 15; run -= 16) bits.put(AC_CODE.get(0xf0)!, 8);
        const [size, extra] = coded(v);
        bits.put(AC_CODE.get((run << 4) | size)!, 8);
        bits.put(extra, size);
        run = 0;
      }
      if (run === 0) return;
      if (!spec.progressive) return bits.put(AC_CODE.get(0)!, 8);
      if (++eobrun === 0x7fff) flushEobrun();
    };
    // A scan of one component visits its blocks row by row; an interleaved scan visits MCUs.
    const units: (() => void)[] = [];
    if (members.length === 1) {
      const c = members[0];
      for (let y = 0; y < c.perColumn; y++) for (let x = 0; x < c.perLine; x++) units.push(() => block(c, c.blocks[y * c.bw + x]));
    } else {
      for (let m = 0; m < mcusX * mcusY; m++) {
        units.push(() => {
          for (const c of members) {
            for (let y = 0; y < c.v; y++) for (let x = 0; x < c.h; x++) block(c, c.blocks[(Math.floor(m / mcusX) * c.v + y) * c.bw + (m % mcusX) * c.h + x]);
          }
        });
      }
    }
    for (const c of members) c.pred = 0;
    units.forEach((unit, i) => {
      if (ri && i > 0 && i % ri === 0) {
        flushEobrun();
        bits.flush();
        out.push(0xff, 0xd0 + ((i / ri - 1) & 7));
        for (const c of members) c.pred = 0;
      }
      unit();
    });
    flushEobrun();
    bits.flush();
  };

  if (!spec.progressive) {
    scan(comps, 0, 63, 0, 0);
  } else {
    scan(comps, 0, 0, 0, 1);
    for (const c of comps) scan([c], 1, 5, 0, 0);
    for (const c of comps) scan([c], 6, 63, 0, 0);
    scan(comps, 0, 0, 1, 0);
  }
  out.push(0xff, 0xd9);
  return Uint8Array.from(out);
}

/** Forward DCT of an 8x8 block of level-shifted samples, quantized; row-major like the samples. */
function fdct(px: Float64Array, quant: number[]): Int32Array {
  const out = new Int32Array(64);
  for (let v = 0; v < 8; v++) {
    for (let u = 0; u < 8; u++) {
      let sum = 0;
      for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += px[y * 8 + x] * COS[x * 8 + u] * COS[y * 8 + v];
      const c = (u === 0 ? Math.SQRT1_2 : 1) * (v === 0 ? Math.SQRT1_2 : 1);
      // The AC table has sizes up to 10 bits; DC differences fit in 11.
      out[v * 8 + u] = Math.max(-1023, Math.min(1023, Math.round((sum * c) / 4 / quant[v * 8 + u])));
    }
  }
  return out;
}

const COS = Float64Array.from({ length: 64 }, (_, i) => Math.cos(((2 * (i >> 3) + 1) * (i & 7) * Math.PI) / 16));

/** Entropy-coded bits, most significant first, with a 0 stuffed after every 0xff byte. */
class BitWriter {
  private acc = 0;
  private n = 0;
  constructor(private readonly out: number[]) {}
  put(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) {
        this.out.push(this.acc);
        if (this.acc === 0xff) this.out.push(0);
        this.acc = 0;
        this.n = 0;
      }
    }
  }
  /** Pads the last byte with 1 bits. */
  flush(): void {
    while (this.n !== 0) this.put(1, 1);
  }
}

/** A marker segment's place in a JPEG file: `start` is its 0xff, `end` is past the segment (and past the scan's data for SOS). */
export interface JpegSegmentAt {
  marker: number;
  start: number;
  /** Where the segment's data starts (after its length field). */
  data: number;
  end: number;
}

/** The marker segments of a JPEG file up to EOI, each SOS with its entropy-coded data. */
export function jpegSegments(jpeg: Uint8Array): JpegSegmentAt[] {
  const segments: JpegSegmentAt[] = [];
  for (let p = 2; p + 4 <= jpeg.length && jpeg[p] === 0xff; ) {
    const marker = jpeg[p + 1];
    if (marker === 0xd9) break;
    let end = p + 2 + ((jpeg[p + 2] << 8) | jpeg[p + 3]);
    if (end > jpeg.length) break;
    if (marker === 0xda) {
      while (end + 1 < jpeg.length && !(jpeg[end] === 0xff && jpeg[end + 1] !== 0 && (jpeg[end + 1] & 0xf8) !== 0xd0)) end++;
    }
    segments.push({ marker, start: p, data: p + 4, end });
    p = end;
  }
  return segments;
}

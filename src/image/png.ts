/**
 * The wasm half of PNG decoding (assembly/image/png.ts): inflating the image data and turning its
 * scanlines into RGBA, in the decoder instance of the kernels module. decode.ts checks the file's
 * structure first and hands over the image data, the header fields and the palette.
 * @packageDocumentation
 */

import { ImageError } from '../errors.js';
import type { Scratch } from '../wasm/scratch.js';
import { callKernel } from '../wasm/kernels.js';
import { withCodec } from './codec.js';

/** The PNG entries of the kernels module. */

/** What the header and the palette chunks say about the image data. */
export interface PngLayout {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  interlaced: boolean;
  /** 256 RGBA entries (PLTE with tRNS alpha) of which `colours` are defined; empty unless indexed. */
  palette: Uint8Array;
  colours: number;
  /** Bytes of filtered scanlines the header implies. */
  inflatedBytes: number;
  /** Bytes of a full-width scanline's samples (no filter byte): the longest row of any pass. */
  scanlineBytes: number;
}

/**
 * The image data of a PNG: the IDAT chunks' data, in order, as `count` ranges [start, end) of
 * `file` (pairs in `ranges`). Ranges rather than a view per chunk: a file of millions of tiny
 * IDAT chunks then costs 8 bytes per chunk, not a JS object.
 */
export interface PngData {
  file: Uint8Array;
  ranges: Uint32Array;
  count: number;
  /** Their total length. */
  bytes: number;
}

/** Copies the image data into wasm memory at `at`, as one zlib stream. */
function copyPngData(mem: Scratch, data: PngData, at: number): void {
  const { file, ranges } = data;
  for (let i = 0; i < data.count; i++) {
    const [start, end] = [ranges[2 * i], ranges[2 * i + 1]];
    mem.u8(at, end - start).set(file.subarray(start, end));
    at += end - start;
  }
}

/** Throws the ImageError of a PNG whose data is wrong or cut short. */
export function corruptPng(why: string): never {
  throw new ImageError('E_IMAGE_DECODE', `PNG is truncated or corrupt: ${why}`);
}

/** Why a zlib stream did not inflate, by the status codes of assembly/image/png.ts. */
const INFLATE_ERRORS: Readonly<Record<number, string>> = {
  1: 'the zlib stream is truncated',
  2: 'not a zlib stream (bad header)',
  3: 'the zlib stream needs a preset dictionary',
  4: 'a deflate block of the reserved type 3',
  5: 'a stored block whose length check does not match',
  6: 'invalid Huffman code lengths',
  7: 'an invalid Huffman code',
  8: 'a distance back past the start of the data',
  11: 'the Adler-32 checksum does not match',
};
const TOO_LONG = 9;
const TOO_SHORT = 10;

/**
 * Inflates the zlib stream of `data` into `expected` bytes at a
 * fresh allocation and returns where. The output is exactly as large as the header implies: the
 * inflater stops at the first byte past it, so a decompression bomb costs no more than a genuine
 * image of the declared size, and memory is only touched as far as the data really inflates.
 * @throws ImageError `E_IMAGE_DECODE` if the stream is corrupt or inflates to more or fewer bytes.
 */
export function inflateInto(mem: Scratch, data: PngData, expected: number): number {
  const k = mem.exports;
  const length = data.bytes;
  const src = mem.alloc(length);
  const scratch = mem.alloc(callKernel(k, 'inflate_scratch_bytes', {}));
  const state = mem.alloc(8);
  // The inflater copies matches 8 bytes at a time and may write up to 7 bytes past the end.
  const dst = mem.alloc(expected + 8);
  copyPngData(mem, data, src);
  const status = callKernel(k, 'inflate_zlib', { src, srcLen: length, dst, dstLen: expected, scratch, state });
  if (status === 0) return dst;
  return inflateFailure(k, status, state, expected);
}

/** Throws the ImageError of an inflate (or row-by-row decode) that ended with `status`. */
function inflateFailure(k: Scratch['exports'], status: number, state: number, expected: number): never {
  if (status >= 20) rowFailure(k, status, state);
  if (status === TOO_LONG) corruptPng(`its image data inflates to more than the ${expected} bytes its header implies`);
  const produced = new Uint32Array(k.memory.buffer, state, 1)[0];
  if (status === TOO_SHORT) corruptPng(`its image data inflates to ${produced} of the ${expected} bytes its header implies`);
  return corruptPng(`its image data does not inflate (${INFLATE_ERRORS[status] ?? `status ${status}`} after ${produced} bytes)`);
}

/** Why the row-by-row decoder refused a scanline, by its status code. */
function rowFailure(k: Scratch['exports'], status: number, state: number): never {
  const [a, b] = new Uint32Array(k.memory.buffer, state, 2);
  if (status === 20) corruptPng(`unknown row filter type ${a} in row ${b}`);
  if (status === 21) throw new ImageError('E_IMAGE_DECODE', `PNG is corrupt: palette index out of range at (${a}, ${b})`);
  return corruptPng(`its scanlines do not fill the image (status ${status})`);
}

/** The side of a 2^shift reduction: blocks at the edge count, part-filled or not. */
export const reducedSide = (side: number, shift: number): number => Math.ceil(side / 2 ** shift);

/**
 * The window png_reduce inflates into: deflate's 32 KB of history and a scanline, plus 256 KB of
 * room so that the window is emptied (32 KB moved) about once every 256 KB inflated.
 */
const windowBytes = (rowBytes: number): number => 32768 + rowBytes + 1 + 262144 + 1024;

/**
 * Decodes the image data of a PNG as {@link decodePngData} does, then reduces it by 2^`shift`
 * (1 to 3): each output pixel is the mean of a 2x2, 4x4 or 8x8 block, per channel, rounded half up;
 * the blocks at the right and bottom edges average the pixels they have. The PNG is decoded row by
 * row, so the memory is the file's data, a 32 KB inflate window, a few rows and the reduced image,
 * whatever its size; an interlaced one also holds the sums of every block (8 bytes per reduced
 * pixel), since each of its seven passes adds to all of them.
 * @throws ImageError `E_IMAGE_DECODE` as {@link decodePngData}.
 */
export function decodePngReduced(data: PngData, png: PngLayout, shift: number): Uint8Array {
  const width = reducedSide(png.width, shift);
  const height = reducedSide(png.height, shift);
  return withCodec('PNG', (mem) => {
    const k = mem.exports;
    const length = data.bytes;
    const rowBytes = png.scanlineBytes;
    const cap = windowBytes(rowBytes);
    const src = mem.alloc(length);
    const buf = mem.alloc(cap);
    const [prev, cur] = [mem.alloc(rowBytes + 16), mem.alloc(rowBytes + 16)];
    const rgbaRow = mem.alloc(png.width * 4 + 16);
    const sums = mem.alloc((png.interlaced ? width * height : width) * 8 + 16);
    const palette = mem.alloc(1024);
    const scratch = mem.alloc(callKernel(k, 'png_reduce_scratch_bytes', {}));
    const state = mem.alloc(8);
    const dst = mem.alloc(width * height * 4);
    copyPngData(mem, data, src);
    if (png.palette.length) mem.u8(palette, png.palette.length).set(png.palette);
    const status = callKernel(k, 'png_reduce', {
      src, srcLen: length, buf, cap, width: png.width, height: png.height, depth: png.depth, colourType: png.colourType,
      palette, colours: png.colours, interlaced: png.interlaced ? 1 : 0, shift, prev, cur, rgbaRow, sums, dst, scratch, state,
    });
    if (status !== 0) inflateFailure(k, status, state, png.inflatedBytes);
    return mem.u8(dst, width * height * 4).slice();
  });
}

/**
 * Inflates the image data and unfilters and converts it to 8-bit RGBA: greyscale replicated,
 * samples below 8 bits scaled to 0..255, 16-bit samples v rounded to floor((255 v + 32767) / 65535),
 * palette entries with their tRNS alpha, and alpha passed through, as the fast-png based decoder
 * this replaces did.
 * @throws ImageError `E_IMAGE_DECODE` for corrupt data, an unknown row filter or a palette index past the palette.
 */
export function decodePngData(data: PngData, png: PngLayout): Uint8Array {
  return withCodec('PNG', (mem) => {
    const k = mem.exports;
    const raw = inflateInto(mem, data, png.inflatedBytes);
    // Allocated once the data has inflated, so a header declaring a huge image with little data
    // behind it is refused before the output is paid for.
    const pixels = png.width * png.height * 4;
    const out = mem.alloc(pixels);
    const palette = mem.alloc(1024);
    const state = mem.alloc(8);
    if (png.palette.length) mem.u8(palette, png.palette.length).set(png.palette);
    const status = callKernel(k, 'png_to_rgba', {
      raw, rawLen: png.inflatedBytes, width: png.width, height: png.height, depth: png.depth, colourType: png.colourType,
      interlaced: png.interlaced ? 1 : 0, palette, colours: png.colours, dst: out, state,
    });
    if (status !== 0) rowFailure(k, status, state);
    return mem.u8(out, pixels).slice();
  });
}

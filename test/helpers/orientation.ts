/**
 * EXIF orientation for tests: turning RGBA pixels physically (two independent ways: the EXIF
 * table pixel by pixel, and its inverse composed of jpegtran's operations), and writing the EXIF
 * blocks that carry the tag (a TIFF structure, a JPEG APP1 segment, a PNG eXIf chunk).
 */
import type { Orientation } from '../../src/image/exif.js';
import { concat, pngChunk, pngChunks } from './image-files.js';

/** RGBA pixels and their size. */
export interface Rgba {
  data: Uint8Array;
  width: number;
  height: number;
}

export const ORIENTATIONS: readonly Orientation[] = [1, 2, 3, 4, 5, 6, 7, 8];

/**
 * The image as shown: stored pixels turned by `o`, written from EXIF 2.3's table of where the
 * stored 0th row and 0th column go (6: row 0 on the right, column 0 at the top, and so on).
 */
export function turn(s: Rgba, o: Orientation): Rgba {
  const { width: w, height: h } = s;
  const swap = o >= 5;
  const [W, H] = swap ? [h, w] : [w, h];
  const source: Record<Orientation, (x: number, y: number) => [number, number]> = {
    1: (x, y) => [x, y],
    2: (x, y) => [w - 1 - x, y],
    3: (x, y) => [w - 1 - x, h - 1 - y],
    4: (x, y) => [x, h - 1 - y],
    5: (x, y) => [y, x],
    6: (x, y) => [y, h - 1 - x],
    7: (x, y) => [w - 1 - y, h - 1 - x],
    8: (x, y) => [w - 1 - y, x],
  };
  const data = new Uint8Array(W * H * 4);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [sx, sy] = source[o](x, y);
      data.set(s.data.subarray((sy * w + sx) * 4, (sy * w + sx) * 4 + 4), (y * W + x) * 4);
    }
  }
  return { data, width: W, height: H };
}

function mirrorLeftRight(s: Rgba): Rgba {
  const data = new Uint8Array(s.data.length);
  for (let y = 0; y < s.height; y++) {
    for (let x = 0; x < s.width; x++) data.set(s.data.subarray((y * s.width + x) * 4, (y * s.width + x) * 4 + 4), (y * s.width + s.width - 1 - x) * 4);
  }
  return { ...s, data };
}

/** A quarter turn clockwise: the top row becomes the right column. */
function rotateClockwise(s: Rgba): Rgba {
  const { width: w, height: h } = s;
  const data = new Uint8Array(s.data.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) data.set(s.data.subarray((y * w + x) * 4, (y * w + x) * 4 + 4), (x * h + (h - 1 - y)) * 4);
  }
  return { data, width: h, height: w };
}

const times = (n: number, f: (s: Rgba) => Rgba) => (s: Rgba): Rgba => (n === 0 ? s : times(n - 1, f)(f(s)));

/**
 * The pixels to store so that a viewer applying `o` shows `upright`: jpegtran's operation for each
 * (`-flip horizontal`, `-rotate 180`, `-flip vertical`, `-transpose`, `-rotate 270`, `-transverse`,
 * `-rotate 90`), made of mirrors and clockwise quarter turns.
 */
export function storedFor(upright: Rgba, o: Orientation): Rgba {
  const transpose = (s: Rgba): Rgba => mirrorLeftRight(rotateClockwise(s));
  const ops: Record<Orientation, (s: Rgba) => Rgba> = {
    1: (s) => s,
    2: mirrorLeftRight,
    3: times(2, rotateClockwise),
    4: (s) => times(2, rotateClockwise)(mirrorLeftRight(s)),
    5: transpose,
    6: times(3, rotateClockwise),
    7: (s) => times(2, rotateClockwise)(transpose(s)),
    8: rotateClockwise,
  };
  return ops[o](upright);
}

/** An IFD entry's fields, as written. */
export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** The 4-byte value field: a SHORT in its first two bytes, or an offset. */
  value: number;
}

/**
 * A TIFF structure (the body of an EXIF block) with IFD0 holding `entries` (default: Make, then
 * Orientation = `o` as one SHORT, then a pointer to an empty Exif IFD), in either byte order.
 */
export function exifTiff(o: number, little: boolean, entries?: IfdEntry[]): Uint8Array {
  const list = entries ?? [
    { tag: 0x010f, type: 2, count: 12, value: 0 }, // Make, ASCII at an offset patched below
    { tag: 0x0112, type: 3, count: 1, value: o },
    { tag: 0x8769, type: 4, count: 1, value: 0 }, // Exif IFD pointer, patched below
  ];
  const ifdEnd = 8 + 2 + 12 * list.length + 4;
  const make = ifdEnd;
  const exifIfd = make + 12;
  const b = new Uint8Array(exifIfd + 6);
  const v = new DataView(b.buffer);
  b.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  v.setUint16(2, 42, little);
  v.setUint32(4, 8, little);
  v.setUint16(8, list.length, little);
  list.forEach((e, i) => {
    const p = 10 + 12 * i;
    v.setUint16(p, e.tag, little);
    v.setUint16(p + 2, e.type, little);
    v.setUint32(p + 4, e.count, little);
    const value = entries ? e.value : e.tag === 0x010f ? make : e.tag === 0x8769 ? exifIfd : e.value;
    if (e.type === 3 && e.count === 1) v.setUint16(p + 8, value, little);
    else v.setUint32(p + 8, value, little);
  });
  b.set(Array.from('squeezewasm\0', (c) => c.charCodeAt(0)), make);
  return b;
}

/** A JPEG APP1 segment, marker included, holding "Exif\0\0" and `tiff`. */
export function exifApp1(tiff: Uint8Array): Uint8Array {
  const length = 2 + 6 + tiff.length;
  return concat([0xff, 0xe1, length >> 8, length & 255], [0x45, 0x78, 0x69, 0x66, 0, 0], tiff);
}

/** `jpeg` with `segment` inserted right after its SOI marker, where cameras write their EXIF. */
export function withJpegSegment(jpeg: Uint8Array, segment: Uint8Array): Uint8Array {
  return concat(jpeg.subarray(0, 2), segment, jpeg.subarray(2));
}

/** `png` with an eXIf chunk holding `tiff`, before its first IDAT or (`afterData`) before IEND. */
export function withPngExif(png: Uint8Array, tiff: Uint8Array, afterData = false): Uint8Array {
  const at = pngChunks(png).find((c) => c.type === (afterData ? 'IEND' : 'IDAT'))!.start;
  return concat(png.subarray(0, at), pngChunk('eXIf', tiff), png.subarray(at));
}

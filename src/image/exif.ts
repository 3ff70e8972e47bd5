/**
 * EXIF orientation (TIFF tag 0x0112): how a camera says its stored pixels must be turned to show
 * the photo upright, in a JPEG's APP1 "Exif" segment or a PNG's eXIf chunk. Only that tag of the
 * first IFD (IFD0) is read. The metadata is untrusted and optional: every reader here is bounded
 * by the segment or chunk it is given, follows no offset but IFD0's, never throws, and answers
 * undefined for anything missing, malformed or out of range (the photo is then shown as stored).
 * @packageDocumentation
 */

/**
 * An EXIF orientation: how the stored pixels are turned to be shown (EXIF 2.3, tag 0x0112).
 * 1 as stored, 2 mirrored left-right, 3 rotated 180°, 4 mirrored top-bottom, 5 transposed (mirrored
 * left-right, then rotated 270° clockwise), 6 rotated 90° clockwise, 7 transversed (mirrored
 * left-right, then rotated 90° clockwise), 8 rotated 270° clockwise (90° counter-clockwise).
 */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TIFF_SHORT = 3;
/** A TIFF header: byte order (2), the magic 42 (2), the offset of IFD0 (4). */
const TIFF_HEADER = 8;
/** An IFD entry: tag (2), type (2), count (4), value or offset (4). */
const IFD_ENTRY = 12;

/** Whether `v` is one of the eight orientations. */
export const isOrientation = (v: unknown): v is Orientation => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 8;

/**
 * The orientation in a TIFF structure (the body of an EXIF block: byte order "II" or "MM", 42, the
 * offset of IFD0), or undefined. IFD0's entries are read as far as they lie inside `tiff`, at most
 * the 65535 its count can declare, and the tag must be one SHORT holding 1..8 (as browsers require).
 */
export function tiffOrientation(tiff: Uint8Array): Orientation | undefined {
  if (tiff.length < TIFF_HEADER) return undefined;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return undefined;
  const u16 = (p: number): number => (little ? tiff[p] | (tiff[p + 1] << 8) : (tiff[p] << 8) | tiff[p + 1]);
  const u32 = (p: number): number => (little ? u16(p) + u16(p + 2) * 0x10000 : u16(p) * 0x10000 + u16(p + 2));
  if (u16(2) !== 42) return undefined;
  const ifd = u32(4);
  // IFD0 after the header and its entry count inside the block: an offset pointing back into the
  // header or past the end is a broken file, not one to guess at.
  if (ifd < TIFF_HEADER || ifd + 2 > tiff.length) return undefined;
  const entries = Math.min(u16(ifd), Math.floor((tiff.length - ifd - 2) / IFD_ENTRY));
  for (let i = 0, e = ifd + 2; i < entries; i++, e += IFD_ENTRY) {
    if (u16(e) !== ORIENTATION_TAG) continue;
    const value = u16(e + 8);
    return u16(e + 2) === TIFF_SHORT && u32(e + 4) === 1 && isOrientation(value) ? value : undefined;
  }
  return undefined;
}

const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

/**
 * The orientation of a JPEG file, from its first APP1 segment that starts "Exif\0\0", looked for
 * among the marker segments before the first scan (where EXIF puts it); undefined if there is none
 * or it has no valid orientation. Walks at most the file's header segments, each in one step.
 */
export function jpegOrientation(b: Uint8Array): Orientation | undefined {
  for (let p = 2; p + 4 <= b.length && b[p] === 0xff; ) {
    const marker = b[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) return undefined;
    const end = p + 2 + ((b[p + 2] << 8) | b[p + 3]);
    if (end > b.length || end < p + 4) return undefined;
    if (marker === 0xe1 && end - p - 4 >= EXIF_ID.length && EXIF_ID.every((v, i) => b[p + 4 + i] === v)) {
      return tiffOrientation(b.subarray(p + 4 + EXIF_ID.length, end));
    }
    p = end;
  }
  return undefined;
}

/**
 * The orientation of a PNG file, from its first eXIf chunk (PNG extensions 1.5: the chunk's data is
 * the TIFF structure, without JPEG's "Exif\0\0"), wherever it is before IEND: libpng writes it
 * before or after the image data. Undefined if there is none or it has no valid orientation.
 */
export function pngOrientation(b: Uint8Array): Orientation | undefined {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let p = 8; p + 12 <= b.length; ) {
    const end = p + 12 + view.getUint32(p);
    if (end > b.length) return undefined;
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    if (type === 'eXIf') return tiffOrientation(b.subarray(p + 8, end - 4));
    if (type === 'IEND') return undefined;
    p = end;
  }
  return undefined;
}

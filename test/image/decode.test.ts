import { readdirSync, readFileSync } from 'node:fs';
import { deflateRawSync, deflateSync } from 'node:zlib';
import { encode as encodePng, type ImageData as PngImageData } from 'fast-png';
import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ImageError, LimitError } from '../../src/errors.js';
import { decodeImage, DEFAULT_IMAGE_LIMITS, MAX_JPEG_SCANS, MAX_JPEG_VISITS } from '../../src/image/decode.js';
import { concat, encodeJpegFile, encodePngFile, ihdr, jpegSegments, PNG_SIGNATURE, pngChunk, pngChunks, pngExpectedRgba, type JpegSpec } from '../helpers/image-files.js';
import { expectLimitError, expectSqueezeError, thrown } from '../helpers/errors.js';

const dir = new URL('../fixtures/images/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const JPEG_FIXTURE = 'n02510455_giant_panda.jpg';
const PNG_FIXTURE = 'n01614925_bald_eagle.png';

/** What decoding must never throw: our typed errors are the only way to fail. */
function expectImageErrorOrImage(bytes: Uint8Array): void {
  try {
    const img = decodeImage(bytes);
    expect(img.data.length).toBe(img.width * img.height * 4);
  } catch (e) {
    if (!(e instanceof ImageError || e instanceof LimitError)) throw e;
  }
}

function expectImageError(bytes: Uint8Array, code: string, message?: RegExp, limits = {}): void {
  expectSqueezeError(thrown(() => decodeImage(bytes, limits)), ImageError, code, message);
}

function expectLimit(bytes: Uint8Array, limit: string, limits = {}): void {
  expectLimitError(thrown(() => decodeImage(bytes, limits)), limit);
}

/** A PNG that is only a signature and an IHDR chunk (CRC not even right): enough to claim a size. */
function pngHeader(width: number, height: number, depth = 8, colourType = 2, interlace = 0): Uint8Array {
  const b = new Uint8Array(8 + 25);
  b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const v = new DataView(b.buffer);
  v.setUint32(8, 13);
  b.set([0x49, 0x48, 0x44, 0x52], 12); // IHDR
  v.setUint32(16, width);
  v.setUint32(20, height);
  b.set([depth, colourType, 0, 0, interlace], 24);
  return b;
}

/** A JPEG that is only SOI and a baseline frame header for a 4:2:0 YCbCr image, then EOI. */
function jpegHeader(width: number, height: number, sof = 0xc0, precision = 8): Uint8Array {
  return Uint8Array.from([
    0xff, 0xd8,
    0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, // an empty APP0 segment to walk over
    0xff, sof, 0x00, 0x11, precision, height >> 8, height & 255, width >> 8, width & 255, 3,
    1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1,
    0xff, 0xd9,
  ]);
}

const pixel = (img: { width: number; data: Uint8Array }, x: number, y: number) =>
  Array.from(img.data.subarray((y * img.width + x) * 4, (y * img.width + x) * 4 + 4));

describe('decodeImage: fixtures', () => {
  const files = readdirSync(dir).sort();
  it('has JPEG and PNG fixtures', () => {
    expect(files.some((f) => f.endsWith('.jpg'))).toBe(true);
    expect(files.some((f) => f.endsWith('.png'))).toBe(true);
  });
  for (const file of files) {
    it(`decodes ${file} to a plausible RGBA image`, () => {
      const img = decodeImage(fixture(file));
      expect(Math.min(img.width, img.height)).toBe(256);
      expect(Math.max(img.width, img.height)).toBeGreaterThan(256);
      expect(img.data).toBeInstanceOf(Uint8Array);
      expect(img.data.length).toBe(img.width * img.height * 4);
      const sum = [0, 0, 0, 0];
      const seen = new Set<number>();
      for (let i = 0; i < img.data.length; i += 4) {
        for (let c = 0; c < 4; c++) sum[c] += img.data[i + c];
        seen.add((img.data[i] << 16) | (img.data[i + 1] << 8) | img.data[i + 2]);
      }
      const n = img.width * img.height;
      for (let c = 0; c < 3; c++) {
        expect(sum[c] / n).toBeGreaterThan(30);
        expect(sum[c] / n).toBeLessThan(230);
      }
      expect(sum[3] / n).toBe(255);
      expect(seen.size).toBeGreaterThan(5000); // a photograph, not a flat or garbled image
    });
  }

  it('decodes JPEG pixels accurately', () => {
    // A smooth gradient survives JPEG quality 100 within a few levels.
    const width = 67;
    const height = 45;
    const rgba = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) rgba.set([x * 3, y * 5, 128 + x - y, 255], (y * width + x) * 4);
    }
    const img = decodeImage(new Uint8Array(jpeg.encode({ width, height, data: rgba }, 100).data));
    expect([img.width, img.height]).toEqual([width, height]);
    let worst = 0;
    for (let i = 0; i < rgba.length; i++) worst = Math.max(worst, Math.abs(img.data[i] - rgba[i]));
    expect(worst).toBeLessThanOrEqual(6);
  });

  it('accepts a Node Buffer (a Uint8Array) and a view into a larger buffer', () => {
    const bytes = fixture(PNG_FIXTURE);
    const padded = new Uint8Array(bytes.length + 16);
    padded.set(bytes, 7);
    const a = decodeImage(readFileSync(new URL(PNG_FIXTURE, dir)));
    const b = decodeImage(padded.subarray(7, 7 + bytes.length));
    expect(b.data).toEqual(a.data);
  });
});

describe('decodeImage: PNG colour types and depths', () => {
  const png = (data: PngImageData, interlace?: 'Adam7') => decodeImage(encodePng(data, interlace ? { interlace } : {}));

  it('RGB and RGBA, 8-bit, plain and interlaced', () => {
    const rgb = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60, 70, 80, 90]);
    for (const interlace of [undefined, 'Adam7'] as const) {
      const img = png({ width: 3, height: 2, data: rgb, channels: 3, depth: 8 }, interlace);
      expect(Array.from(img.data)).toEqual([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255]);
    }
    const rgba = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(png({ width: 2, height: 1, data: rgba, channels: 4, depth: 8 }).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('greyscale and greyscale + alpha', () => {
    expect(Array.from(png({ width: 2, height: 1, data: Uint8Array.from([0, 200]), channels: 1, depth: 8 }).data)).toEqual([0, 0, 0, 255, 200, 200, 200, 255]);
    expect(Array.from(png({ width: 2, height: 1, data: Uint8Array.from([7, 100, 9, 0]), channels: 2, depth: 8 }).data)).toEqual([7, 7, 7, 100, 9, 9, 9, 0]);
  });

  it('1, 2 and 4-bit greyscale, scaled to 0..255', () => {
    // 11 pixels per row so that rows end mid-byte; PNG packs the leftmost pixel in the high bits.
    for (const depth of [1, 2, 4] as const) {
      const width = 11;
      const height = 3;
      const max = (1 << depth) - 1;
      const value = (x: number, y: number) => (x + 2 * y) % (max + 1);
      const stride = Math.ceil((width * depth) / 8);
      const packed = new Uint8Array(stride * height);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) packed[y * stride + ((x * depth) >> 3)] |= value(x, y) << (8 - depth - ((x * depth) & 7));
      }
      const img = png({ width, height, data: packed, channels: 1, depth });
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const g = (value(x, y) * 255) / max;
          expect(pixel(img, x, y)).toEqual([g, g, g, 255]);
        }
      }
    }
  });

  it('16-bit RGB and greyscale + alpha, rounded to 8 bits', () => {
    const rgb = Uint16Array.from([0, 65535, 257 * 100, 257 * 100 + 128, 257 * 100 + 129, 1000]);
    expect(Array.from(png({ width: 2, height: 1, data: rgb, channels: 3, depth: 16 }).data)).toEqual([0, 255, 100, 255, 100, 101, 4, 255]);
    const ga = Uint16Array.from([65535, 0, 257 * 7, 257 * 250]);
    expect(Array.from(png({ width: 2, height: 1, data: ga, channels: 2, depth: 16 }, 'Adam7').data)).toEqual([255, 255, 255, 0, 7, 7, 7, 250]);
  });

  it('palette, 8-bit and 2-bit, with and without transparency', () => {
    const palette = [[10, 20, 30], [40, 50, 60], [70, 80, 90]];
    const img = png({ width: 3, height: 1, data: Uint8Array.from([2, 0, 1]), channels: 1, depth: 8, palette });
    expect(Array.from(img.data)).toEqual([70, 80, 90, 255, 10, 20, 30, 255, 40, 50, 60, 255]);
    const withAlpha = palette.map((c, i) => [...c, i * 100]);
    // 2-bit indices 2, 0, 1, 2, 1 -> 0b10000110 0b01000000
    const small = png({ width: 5, height: 1, data: Uint8Array.from([0b10000110, 0b01000000]), channels: 1, depth: 2, palette: withAlpha });
    expect(Array.from(small.data)).toEqual([70, 80, 90, 200, 10, 20, 30, 0, 40, 50, 60, 100, 70, 80, 90, 200, 40, 50, 60, 100]);
  });

  it('refuses a palette index past the palette', () => {
    const bytes = encodePng({ width: 2, height: 1, data: Uint8Array.from([0, 5]), channels: 1, depth: 8, palette: [[1, 2, 3], [4, 5, 6]] });
    expectImageError(bytes, 'E_IMAGE_DECODE', /palette index out of range/);
  });

  it('interlaced PNGs of fewer than 8 bits per sample, which fast-png misread and decodeImage refused', () => {
    for (const [colourType, depth] of [[0, 1], [0, 2], [0, 4], [3, 1], [3, 2], [3, 4]]) {
      const samples = Array.from({ length: 11 * 9 }, (_, i) => (i * 7 + (i >> 3)) % (1 << depth));
      const palette = colourType === 3 ? Array.from({ length: 1 << depth }, (_, i) => [i, 2 * i, 255 - i]) : undefined;
      const spec = { width: 11, height: 9, colourType, depth, samples, palette, interlace: true };
      expect(decodeImage(encodePngFile(spec)).data, `${colourType}/${depth}`).toEqual(pngExpectedRgba(spec));
    }
  });
});

describe('decodeImage: bad input', () => {
  it('refuses empty input and unknown formats, naming the supported ones', () => {
    expectImageError(new Uint8Array(0), 'E_IMAGE_FORMAT', /empty/);
    expectImageError(new TextEncoder().encode('GIF89a....'), 'E_IMAGE_FORMAT', /JPEG.*PNG/);
    // No byte of the file reaches the message, as text or as hex: it may be a link to /etc/passwd.
    expectImageError(new TextEncoder().encode('root:x:0:0:root:/root:/bin/bash\n'), 'E_IMAGE_FORMAT', /^not a JPEG or PNG image; supported formats are JPEG \(baseline or progressive\) and PNG$/);
    expectImageError(Uint8Array.from([0xff, 0xd8]), 'E_IMAGE_FORMAT');
  });

  it('refuses non-Uint8Array input and bad limits with ArgumentError', () => {
    expect(() => decodeImage([0xff, 0xd8] as unknown as Uint8Array)).toThrow(ArgumentError);
    expect(() => decodeImage(fixture(JPEG_FIXTURE), { maxImagePixels: 0 })).toThrow(ArgumentError);
    expect(() => decodeImage(fixture(JPEG_FIXTURE), { maxImageSide: Number.NaN })).toThrow(ArgumentError);
  });

  for (const file of [JPEG_FIXTURE, PNG_FIXTURE]) {
    it(`refuses ${file} truncated anywhere`, () => {
      const bytes = fixture(file);
      for (const cut of [8, 20, 33, 100, 400, bytes.length >> 2, bytes.length >> 1, bytes.length - 30, bytes.length - 3]) {
        expectImageError(bytes.subarray(0, cut), 'E_IMAGE_DECODE');
      }
    });
  }

  it('refuses a bit-flipped PNG (every chunk has a CRC)', () => {
    const bytes = fixture(PNG_FIXTURE);
    for (const at of [13, 30, 40, 1000, bytes.length >> 1, bytes.length - 20, bytes.length - 5]) {
      const bad = bytes.slice();
      bad[at] ^= 0x10;
      expectImageError(bad, 'E_IMAGE_DECODE');
    }
  });

  it('never throws anything but ImageError or LimitError on a bit-flipped JPEG', () => {
    const bytes = fixture(JPEG_FIXTURE);
    let s = 12345;
    for (let k = 0; k < 150; k++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const bad = bytes.slice();
      // Headers are where flips do the most harm: bias towards the first 700 bytes.
      const at = k % 2 === 0 ? s % 700 : s % bytes.length;
      bad[at] ^= 1 << (s >>> 28) % 8;
      expectImageErrorOrImage(bad);
    }
  });

  it('refuses corrupt JPEG structure and unsupported codings clearly', () => {
    const bytes = fixture(JPEG_FIXTURE);
    const bad = bytes.slice();
    bad[3] = 0x00; // no longer a marker
    expectImageError(bad, 'E_IMAGE_DECODE', /marker/);
    expectImageError(jpegHeader(100, 100, 0xc3), 'E_IMAGE_FORMAT', /lossless/);
    expectImageError(jpegHeader(100, 100, 0xc9), 'E_IMAGE_FORMAT', /arithmetic/);
    expectImageError(jpegHeader(100, 100, 0xc1, 12), 'E_IMAGE_FORMAT', /12-bit/);
    expectImageError(jpegHeader(100, 100), 'E_IMAGE_DECODE'); // a frame but no image data
  });

  it('refuses images of zero width or height', () => {
    expectImageError(pngHeader(0, 10), 'E_IMAGE_DECODE', /empty image/);
    expectImageError(pngHeader(10, 0), 'E_IMAGE_DECODE', /empty image/);
    expectImageError(jpegHeader(10, 0), 'E_IMAGE_DECODE', /empty image/);
  });
});

describe('decodeImage: limits', () => {
  // These files are a header and nothing else: a LimitError rather than a decode error shows that
  // the size was refused before any decoder ran, let alone allocated.
  it('refuses a PNG declaring 100000 x 100000 pixels', () => {
    expectLimit(pngHeader(100000, 100000), 'maxImageSide');
    expectLimit(pngHeader(0xffffffff, 0xffffffff), 'maxImageSide');
  });

  it('refuses a PNG within the side limit but over the pixel limit', () => {
    expectLimit(pngHeader(16000, 16000), 'maxImagePixels');
  });

  it('refuses a JPEG declaring 65535 x 65535 or 10000 x 10000 pixels', () => {
    expectLimit(jpegHeader(65535, 65535), 'maxImageSide');
    expectLimit(jpegHeader(10000, 10000), 'maxImagePixels');
  });

  it('applies caller limits and names the limit in the message', () => {
    expectLimit(fixture(JPEG_FIXTURE), 'maxImagePixels', { maxImagePixels: 341 * 256 - 1 });
    expectLimit(fixture(PNG_FIXTURE), 'maxImageSide', { maxImageSide: 300 });
    expect(decodeImage(fixture(JPEG_FIXTURE), { maxImagePixels: 341 * 256, maxImageSide: 341 }).width).toBe(341);
    expect(() => decodeImage(fixture(PNG_FIXTURE), { maxImageSide: 300 })).toThrow(/256x382.*maxImageSide 300/);
  });

  it('has the documented defaults', () => {
    expect(DEFAULT_IMAGE_LIMITS).toEqual({ maxImageBytes: 64 * 2 ** 20, maxImagePixels: 50e6, maxImageSide: 16384 });
    expect(Object.isFrozen(DEFAULT_IMAGE_LIMITS)).toBe(true);
  });
});

describe('decodeImage: hostile files cost about what genuine ones do', () => {
  /** A PNG of `ihdrs` (the first is the header) and image data `zdata`. */
  const png = (zdata: Uint8Array, ...chunks: Uint8Array[]): Uint8Array => concat(PNG_SIGNATURE, ...chunks, pngChunk('IDAT', zdata), pngChunk('IEND'));
  const grey = (width: number, height: number, value = 0) => deflateSync(new Uint8Array(height * (1 + width)).fill(value).map((v, i) => (i % (width + 1) === 0 ? 0 : v)));

  it('stops inflating a decompression bomb in the image data at the size the header implies', () => {
    // A 1x1 RGB image is 4 bytes of filtered data; this inflates to 64 MiB. fast-png inflated it
    // all (about 3 GB of memory for a 1 MB file) and returned the first pixel.
    const bomb = png(deflateSync(new Uint8Array(64 << 20)), ihdr(1, 1, 8, 2));
    expectImageError(bomb, 'E_IMAGE_DECODE', /inflates to more than the 4 bytes its header implies/);
  });

  it('stops at the first byte past the size the header implies, however much padding comes first', () => {
    // Deflate expands at most 1032:1. Empty stored blocks consume input without output; the fflate
    // based check fed the inflater in steps that had to be kept small for this. The output buffer
    // is now exactly the size the header implies, and the inflater stops at the first byte past it.
    const emptyBlocks = new Uint8Array(2e6);
    for (let i = 0; i < emptyBlocks.length; i += 5) emptyBlocks.set([0, 0, 0, 0xff, 0xff], i);
    const zdata = concat([0x78, 0x9c], emptyBlocks, deflateRawSync(new Uint8Array(64 << 20)), [0, 0, 0, 1]);
    expectImageError(png(zdata, ihdr(1, 1, 8, 2)), 'E_IMAGE_DECODE', /inflates to more than the 4 bytes/);
  });

  it('refuses image data too short to inflate to the size the header implies, before inflating it', () => {
    expectImageError(png(grey(5, 3), ihdr(1000, 1000, 8, 0)), 'E_IMAGE_DECODE', /its \d+ bytes of image data cannot inflate to the 1001000 bytes/);
  });

  it('refuses image data that inflates to more or fewer bytes than the header implies', () => {
    const ok = grey(5, 3);
    expect(decodeImage(png(ok, ihdr(5, 3, 8, 0))).data.length).toBe(60);
    expectImageError(png(deflateSync(new Uint8Array(19)), ihdr(5, 3, 8, 0)), 'E_IMAGE_DECODE', /inflates to more than the 18 bytes/);
    expectImageError(png(deflateSync(new Uint8Array(17)), ihdr(5, 3, 8, 0)), 'E_IMAGE_DECODE', /inflates to 17 of the 18 bytes/);
    expectImageError(png(ok.subarray(0, ok.length - 6), ihdr(5, 3, 8, 0)), 'E_IMAGE_DECODE', /does not inflate \(the zlib stream is truncated/);
  });

  it('does not inflate compressed ancillary chunks (ICC profile and text bombs, corrupt ones)', () => {
    // fast-png inflated an ICC profile whole: 2.3 s and 1 GB for a 0.5 MB file, and a corrupt one failed the image.
    const iccBomb = pngChunk('iCCP', concat([0x49, 0x43, 0x43, 0, 0], deflateSync(new Uint8Array(64 << 20))));
    const corruptIcc = pngChunk('iCCP', concat([0x49, 0x43, 0x43, 0, 0], [1, 2, 3, 4, 5]));
    const textBomb = pngChunk('zTXt', concat([0x41, 0, 0], deflateSync(new Uint8Array(64 << 20))));
    const img = decodeImage(png(grey(2, 2, 77), ihdr(2, 2, 8, 0), iccBomb, corruptIcc, textBomb));
    expect(Array.from(img.data)).toEqual(Array(4).fill([77, 77, 77, 255]).flat());
  });

  it('checks every CRC before inflating anything', () => {
    // fast-png inflated a chunk before checking its CRC, so a bomb with a wrong CRC still went off.
    const bad = png(Uint8Array.from([0x78, 0x9c, 0xff, 0xff, 0xff, 0xff]), ihdr(1, 1, 8, 2));
    bad[bad.length - 13] ^= 1;
    expectImageError(bad, 'E_IMAGE_DECODE', /CRC of the IDAT chunk at byte 33/);
  });

  it('refuses a second IHDR, which fast-png let override the size checked against the limits', () => {
    // 1x1 first, then 300x300 with image data to match: fast-png returned the 300x300 image
    // however low the pixel limit, and with 65535x65535 threw a RangeError allocating the output.
    const bytes = png(grey(300, 300), ihdr(1, 1, 8, 0), ihdr(300, 300, 8, 0));
    expectImageError(bytes, 'E_IMAGE_DECODE', /only one \(IHDR at byte 33\)/, { maxImagePixels: 100 });
  });

  it('refuses colour type and bit depth combinations PNG does not have', () => {
    for (const [depth, colourType] of [[4, 2], [16, 3], [2, 6], [8, 1], [8, 5], [3, 0]]) {
      expectImageError(png(grey(1, 1), ihdr(1, 1, depth, colourType)), 'E_IMAGE_DECODE', new RegExp(`colour type ${colourType} with ${depth}-bit`));
    }
    expectImageError(png(grey(1, 1), ihdr(1, 1, 8, 0, 0, 1)), 'E_IMAGE_DECODE', /unknown compression/);
  });

  it('refuses unknown critical chunks and ignores unknown ancillary ones', () => {
    expectImageError(png(grey(1, 1), ihdr(1, 1, 8, 0), pngChunk('CgBI', [0, 0, 0, 0])), 'E_IMAGE_FORMAT', /critical chunk CgBI/);
    expect(decodeImage(png(grey(1, 1, 9), ihdr(1, 1, 8, 0), pngChunk('vpAg', [1, 2, 3]))).data[0]).toBe(9);
  });

  it('decodes image data split over many IDAT chunks', () => {
    // fast-png paid tens of microseconds per chunk; the chunks' data is now copied into one stream.
    const spec = { width: 9, height: 7, colourType: 2, depth: 8, samples: Array.from({ length: 189 }, (_, i) => (i * 29) & 255) };
    const whole = decodeImage(encodePngFile(spec));
    const split = encodePngFile({ ...spec, idatSize: 1 });
    expect(pngChunks(split).filter((c) => c.type === 'IDAT').length).toBeGreaterThan(50);
    expect(decodeImage(split).data).toEqual(whole.data);
  });

  const rgb = (x: number, y: number): [number, number, number] => [x * 9, y * 11, 128];
  const jpegFile = (spec: Partial<JpegSpec> = {}): Uint8Array => encodeJpegFile({ width: 24, height: 16, rgb, sampling: [[2, 2], [1, 1], [1, 1]], ...spec });

  it('decodes baseline and progressive JPEGs of every sampling, with restart intervals and fill bytes', () => {
    const samplings: [number, number][][] = [[[1, 1]], [[1, 1], [1, 1], [1, 1]], [[2, 2], [1, 1], [1, 1]], [[2, 1], [1, 1], [1, 1]], [[1, 2], [1, 1], [1, 1]]];
    for (const sampling of samplings) {
      for (const [progressive, restartInterval] of [[false, 0], [false, 2], [true, 0]] as const) {
        const img = decodeImage(jpegFile({ sampling, progressive, restartInterval, quality: 95 }));
        let error = 0;
        for (let i = 0; i < 24 * 16; i++) {
          const expected = sampling.length === 1 ? Array(3).fill(0.299 * rgb(i % 24, i / 24 | 0)[0] + 0.587 * rgb(i % 24, i / 24 | 0)[1] + 0.114 * 128) : rgb(i % 24, i / 24 | 0);
          for (let c = 0; c < 3; c++) error += Math.abs(img.data[4 * i + c] - expected[c]);
        }
        expect(error / (24 * 16 * 3), JSON.stringify({ sampling, progressive, restartInterval })).toBeLessThan(4);
      }
    }
    const bytes = jpegFile();
    const dht = jpegSegments(bytes).find((g) => g.marker === 0xc4)!;
    const filled = concat(bytes.subarray(0, dht.start), [0xff, 0xff, 0xff], bytes.subarray(dht.start));
    expect(decodeImage(filled).data).toEqual(decodeImage(bytes).data);
  });

  /** The progressive jpegFile with its scan `which` (from the end) repeated up to `n` scans in all. */
  const withScans = (n: number, which: number, sampling?: [number, number][]): Uint8Array => {
    const bytes = jpegFile({ progressive: true, ...(sampling ? { sampling } : {}) });
    const scans = jpegSegments(bytes).filter((g) => g.marker === 0xda);
    const s = scans[scans.length - which];
    const out = concat(bytes.subarray(0, s.end), ...Array(n - scans.length).fill(bytes.subarray(s.start, s.end)), bytes.subarray(s.end));
    expect(jpegSegments(out).filter((g) => g.marker === 0xda).length).toBe(n);
    return out;
  };

  it(`refuses a JPEG of more than ${MAX_JPEG_SCANS} scans before decoding any`, () => {
    // A decoder walks every block in every scan: 2000 scans of end-of-band runs (100 KB) kept jpeg-js busy for 4.4 s.
    // Repeated here: the Cr AC scan of a 4:1:0 frame, 1 of its 8 blocks, so that the scans stay within MAX_JPEG_VISITS.
    const sampling: [number, number][] = [[4, 4], [1, 1], [1, 1]];
    expect(decodeImage(withScans(MAX_JPEG_SCANS, 2, sampling)).width).toBe(24);
    expectImageError(withScans(MAX_JPEG_SCANS + 1, 2, sampling), 'E_IMAGE_FORMAT', new RegExp(`more than ${MAX_JPEG_SCANS} scans`));
  });

  it(`refuses a JPEG whose scans walk its blocks more than ${MAX_JPEG_VISITS} times over, before decoding any`, () => {
    // 100 scans of a 40 MP frame fit in 81 KB and cost seconds; here, the DC refinement over all 10 blocks, repeated.
    // The script's own scans walk 10 + 6 + 2 + 2 + 6 + 2 + 2 = 30 blocks; each refinement adds 10.
    const fits = Math.floor((MAX_JPEG_VISITS * 10 - 30) / 10) + 7;
    expect(decodeImage(withScans(fits, 1)).width).toBe(24);
    expectImageError(withScans(fits + 1, 1), 'E_IMAGE_FORMAT', new RegExp(`more than ${MAX_JPEG_VISITS} times over`));
  });

  it('refuses a JPEG too short to hold the frame it declares, before the decoder allocates the frame', () => {
    // The file holds 24x16 pixels; declaring 6000x6000 made jpeg-js (the decoder before ours)
    // allocate and decode the whole frame (1.2 s, 465 MB for 140 bytes).
    const bytes = jpegFile();
    const sof = jpegSegments(bytes).find((g) => g.marker === 0xc0)!;
    bytes.set([6000 >> 8, 6000 & 255, 6000 >> 8, 6000 & 255], sof.data + 1);
    expectImageError(bytes, 'E_IMAGE_DECODE', /bytes of image data cannot hold the 843750 blocks of a 6000x6000 frame/);
  });

  it('refuses JPEG segments that their tables do not fill exactly', () => {
    const bytes = jpegFile();
    for (const marker of [0xdb, 0xc4]) {
      const g = jpegSegments(bytes).find((s) => s.marker === marker)!;
      const longer = concat(bytes.subarray(0, g.start + 2), [(g.end - g.start - 1) >> 8, (g.end - g.start - 1) & 255], bytes.subarray(g.data, g.end), [0], bytes.subarray(g.end));
      expectImageError(longer, 'E_IMAGE_DECODE', new RegExp(`${marker === 0xdb ? 'DQT' : 'DHT'} segment at byte ${g.start} is ${g.end - g.start - 1} bytes long but its tables are not`));
    }
    const sof = jpegSegments(bytes).find((s) => s.marker === 0xc0)!;
    const twoFrames = concat(bytes.subarray(0, sof.end), bytes.subarray(sof.start, sof.end), bytes.subarray(sof.end));
    expectImageError(twoFrames, 'E_IMAGE_DECODE', /a second frame header/);
  });

  it('refuses a 4-component JPEG without an Adobe marker as unsupported', () => {
    const cmyk = jpegFile({ sampling: [[1, 1], [1, 1], [1, 1], [1, 1]] });
    expect(decodeImage(cmyk).width).toBe(24);
    const app14 = jpegSegments(cmyk).find((g) => g.marker === 0xee)!;
    expectImageError(concat(cmyk.subarray(0, app14.start), cmyk.subarray(app14.end)), 'E_IMAGE_FORMAT', /4 colour components but no Adobe marker/);
  });
});

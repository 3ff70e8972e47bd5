import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { setDecoderModule, withCodec } from '../../src/image/codec.js';
import { decodeImage } from '../../src/image/decode.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';
import { encodePngFile, fixPngChunk, PNG_CHANNELS, pngChunks, pngExpectedRgba, type PngSpec } from '../helpers/image-files.js';
import { kernelsModule, rng } from '../helpers/wasm.js';

// PNGs decoded with minShortSide: row by row (pass by pass for interlaced ones) into a 2x2, 4x4 or
// 8x8 block average, against a full decode averaged in TypeScript.

/** The straightforward reference: per channel, the block's sum plus half its count, divided by the count. */
function blockAverage(rgba: Uint8Array, width: number, height: number, side: number): Uint8Array {
  const ow = Math.ceil(width / side);
  const oh = Math.ceil(height / side);
  const out = new Uint8Array(ow * oh * 4);
  for (let by = 0; by < oh; by++) {
    for (let bx = 0; bx < ow; bx++) {
      const xs = Math.min(side, width - bx * side);
      const ys = Math.min(side, height - by * side);
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let y = 0; y < ys; y++) for (let x = 0; x < xs; x++) sum += rgba[((by * side + y) * width + bx * side + x) * 4 + c];
        out[(by * ow + bx) * 4 + c] = Math.floor((sum + Math.floor((xs * ys) / 2)) / (xs * ys));
      }
    }
  }
  return out;
}

/**
 * Structured samples: gradients and a product term, so that rows repeat at distances up to the
 * 32 KB window and the window is emptied between a match and its source; one sample in 16 random.
 */
function structuredSpec(seed: number, width: number, height: number, colourType: number, depth: number, interlace = false): PngSpec {
  const r = rng(seed);
  const max = 2 ** depth - 1;
  const channels = PNG_CHANNELS[colourType];
  const colours = colourType === 3 ? Math.min(max + 1, 200) : 0;
  const top = colourType === 3 ? colours - 1 : max;
  const samples = new Uint16Array(width * height * channels);
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++, i++) {
        const v = r() < 1 / 16 ? Math.floor(r() * (top + 1)) : ((x * (3 + c) + ((y % 37) * 11) + ((x * y) >> 7)) * (max > 255 ? 257 : 1)) % (top + 1);
        samples[i] = v;
      }
    }
  }
  const palette = colourType === 3 ? Array.from({ length: colours }, () => [0, 0, 0].map(() => Math.floor(r() * 256))) : undefined;
  const trns = colourType === 3 ? Array.from({ length: Math.min(colours, 40) }, () => Math.floor(r() * 256)) : undefined;
  return { width, height, colourType, depth, samples, interlace, palette, trns, idatSize: 65536 };
}

/** Equal bytes; on a difference, names the first one (toEqual on long arrays takes seconds). */
function expectBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const i = actual.findIndex((v, k) => v !== expected[k]);
  expect(i, `${what}: first difference at byte ${i}`).toBe(-1);
}

const CASES: { what: string; spec: () => PngSpec; minShortSide: number; side: number }[] = [
  { what: 'RGB 8-bit 1203x901, every filter, 8x8', spec: () => structuredSpec(1, 1203, 901, 2, 8), minShortSide: 100, side: 8 },
  { what: 'RGBA 16-bit 1200x900, 4x4', spec: () => structuredSpec(2, 1200, 900, 6, 16), minShortSide: 200, side: 4 },
  { what: 'RGB 16-bit 1001x777, 2x2', spec: () => structuredSpec(3, 1001, 777, 2, 16), minShortSide: 300, side: 2 },
  { what: 'palette 8-bit with tRNS 1201x899, 8x8', spec: () => structuredSpec(4, 1201, 899, 3, 8), minShortSide: 64, side: 8 },
  { what: 'palette 4-bit 601x450, 2x2', spec: () => structuredSpec(5, 601, 450, 3, 4), minShortSide: 200, side: 2 },
  { what: 'grey + alpha 8-bit 803x611, 4x4', spec: () => structuredSpec(6, 803, 611, 4, 8), minShortSide: 150, side: 4 },
  { what: 'grey + alpha 16-bit 333x1200, 8x8', spec: () => structuredSpec(7, 333, 1200, 4, 16), minShortSide: 40, side: 8 },
  { what: 'grey 1-bit 1200x900, 8x8', spec: () => structuredSpec(8, 1200, 900, 0, 1), minShortSide: 100, side: 8 },
  { what: 'grey 16-bit 13x2001 (one part-filled block a row), 8x8', spec: () => structuredSpec(9, 13, 2001, 0, 16), minShortSide: 1, side: 8 },
  { what: 'interlaced RGB 8-bit 1201x903, 8x8', spec: () => structuredSpec(10, 1201, 903, 2, 8, true), minShortSide: 100, side: 8 },
  { what: 'interlaced palette 2-bit 517x389, 2x2', spec: () => structuredSpec(11, 517, 389, 3, 2, true), minShortSide: 150, side: 2 },
  { what: 'interlaced RGBA 16-bit 803x611, 4x4', spec: () => structuredSpec(15, 803, 611, 6, 16, true), minShortSide: 150, side: 4 },
  { what: 'interlaced grey 1-bit 3x9 (empty passes), 2x2', spec: () => structuredSpec(16, 3, 9, 0, 1, true), minShortSide: 2, side: 2 },
  { what: 'interlaced grey + alpha 8-bit 9x1 (empty passes), 8x8', spec: () => structuredSpec(17, 9, 1, 4, 8, true), minShortSide: 0.1, side: 8 },
];

describe('PNG decoded at reduced size', () => {
  setDecoderModule(kernelsModule());

  for (const c of CASES) {
    it(`is the block average of the full decode: ${c.what}`, () => {
      const spec = c.spec();
      const file = encodePngFile(spec);
      const full = pngExpectedRgba(spec);
      expectBytes(decodeImage(file).data, full, 'full size');
      const reduced = decodeImage(file, {}, { minShortSide: c.minShortSide });
      expect([reduced.width, reduced.height]).toEqual([Math.ceil(spec.width / c.side), Math.ceil(spec.height / c.side)]);
      expectBytes(reduced.data, blockAverage(full, spec.width, spec.height, c.side), c.what);
    }, 30_000);
  }

  it('takes the largest block that keeps the shorter side at least minShortSide, and none when no block does', () => {
    const file = encodePngFile(structuredSpec(12, 600, 513, 2, 8));
    const sizes = [1000, 513, 512, 257, 256, 129, 128, 65, 64].map((m) => {
      const { width, height } = decodeImage(file, {}, { minShortSide: m });
      return [m, width, height];
    });
    expect(sizes).toEqual([
      [1000, 600, 513], [513, 600, 513], [512, 600, 513], [257, 300, 257], [256, 300, 257], [129, 150, 129], [128, 150, 129], [65, 75, 65], [64, 75, 65],
    ]);
  });

  for (const interlace of [false, true]) {
    it(`keeps the decoder memory to the file, a window and a few rows${interlace ? ' (interlaced: and the block sums)' : ''}`, () => {
      const spec = structuredSpec(13, 2000, 1500, 2, 8, interlace);
      const file = encodePngFile(spec);
      setDecoderModule(kernelsModule()); // a fresh instance: the full decodes above grew this one
      const before = withCodec('PNG', (mem) => mem.exports);
      const reduced = decodeImage(file, {}, { minShortSide: 224 });
      const after = withCodec('PNG', (mem) => mem.exports);
      expect(after).toBe(before);
      // The whole decode would need 3 + 4 bytes a pixel (inflated RGB and RGBA): 21 MB. Interlaced
      // adds 8 bytes of sums per reduced pixel (500 x 375 here: 1.5 MB).
      const sums = interlace ? 8 * reduced.width * reduced.height : 0;
      expect(after.memory.buffer.byteLength).toBeLessThan(file.length + sums + 2 * 2 ** 20);
    }, 30_000);
  }

  it('refuses a corrupt file with the error of the full decode', () => {
    const spec = structuredSpec(14, 700, 600, 3, 8);
    const good = encodePngFile({ ...spec, filter: (n) => (n === 555 ? 7 : n % 5) });
    const badIndex = encodePngFile({ ...spec, samples: Array.from(spec.samples, (v, i) => (i === 600 * 700 - 3 ? 250 : v)) });
    const badSum = encodePngFile(spec);
    const iend = pngChunks(badSum).find((ch) => ch.type === 'IEND')!;
    badSum[iend.start - 5] ^= 1; // the last data byte of the last IDAT: the Adler-32's
    fixPngChunk(badSum, pngChunks(badSum).filter((ch) => ch.type === 'IDAT').at(-1)!.start);
    const cut = encodePngFile({ ...spec, idatSize: 1000 });
    const cutChunks = pngChunks(cut).filter((ch) => ch.type === 'IDAT');
    const truncated = Uint8Array.from([...cut.subarray(0, cutChunks[cutChunks.length >> 1].end), ...cut.subarray(cutChunks.at(-1)!.end)]);
    for (const [file, message] of [
      [good, /unknown row filter type 7 in row 555/],
      [badIndex, /palette index out of range at \(697, 599\)/],
      [badSum, /Adler-32 checksum does not match/],
      [truncated, /truncated/],
    ] as const) {
      const whole = thrown(() => decodeImage(file));
      expectSqueezeError(whole, ImageError, 'E_IMAGE_DECODE', message);
      expectSqueezeError(thrown(() => decodeImage(file, {}, { minShortSide: 64 })), ImageError, 'E_IMAGE_DECODE', message);
    }
  });
});

import { readFileSync } from 'node:fs';
import { constants, deflateRawSync, deflateSync } from 'node:zlib';
import { decode as fastPngDecode, encode as fastPngEncode, type DecodedPng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../src/errors.js';
import { withCodec } from '../../src/image/codec.js';
import { decodeImage } from '../../src/image/decode.js';
import { inflateInto } from '../../src/image/png.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';
import { concat, encodePngFile, ihdr, PNG_CHANNELS, PNG_DEPTHS, PNG_SIGNATURE, pngChunk, pngExpectedRgba, type PngSpec } from '../helpers/image-files.js';
import { randInt, rng } from '../helpers/wasm.js';

/**
 * What decodeImage returned when it decoded PNGs with fast-png: its samples converted to RGBA as
 * decode.ts did. The wasm decoder must match it bit for bit wherever fast-png decoded correctly
 * (it misread interlaced images below 8 bits, which pngExpectedRgba covers instead).
 */
function fastPngRgba(bytes: Uint8Array): Uint8Array {
  const png: DecodedPng = fastPngDecode(bytes);
  const { width, height, depth, channels, data } = png;
  const out = new Uint8Array(width * height * 4);
  const packed = (x: number, y: number): number => {
    const bit = x * depth;
    return (data[y * Math.ceil((width * depth) / 8) + (bit >> 3)] >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
  };
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 4) {
      const s = (y * width + x) * channels;
      if (png.palette) {
        const c = png.palette[depth === 8 ? data[y * width + x] : packed(x, y)];
        out.set([c[0], c[1], c[2], c.length > 3 ? c[3] : 255], o);
      } else if (depth < 8) {
        const g = (packed(x, y) * 255) / ((1 << depth) - 1);
        out.set([g, g, g, 255], o);
      } else {
        const to8 = (v: number): number => (depth === 16 ? (v * 255 + 32767) / 65535 : v);
        const colour = channels >= 3;
        out.set([to8(data[s]), to8(data[colour ? s + 1 : s]), to8(data[colour ? s + 2 : s]), channels % 2 === 0 ? to8(data[s + channels - 1]) : 255], o);
      }
    }
  }
  return out;
}

function randomSpec(seed: number, width: number, height: number, colourType: number, depth: number, interlace: boolean, trns = false): PngSpec {
  const r = rng(seed);
  const max = 2 ** depth - 1;
  const colours = colourType === 3 ? randInt(r, 1, max + 1) : 0;
  // Half the samples repeat their left neighbour, so that the deflate streams have matches.
  const samples: number[] = [];
  const count = width * height * PNG_CHANNELS[colourType];
  for (let i = 0; i < count; i++) samples.push(i > 4 && r() < 0.5 ? samples[i - PNG_CHANNELS[colourType]] : randInt(r, 0, colourType === 3 ? colours - 1 : max));
  const palette = colourType === 3 ? Array.from({ length: colours }, () => [randInt(r, 0, 255), randInt(r, 0, 255), randInt(r, 0, 255)]) : undefined;
  return { width, height, colourType, depth, samples, interlace, palette, trns: trns ? Array.from({ length: randInt(r, 0, colours) }, () => randInt(r, 0, 255)) : undefined };
}

const SIZES = [[1, 1], [3, 5], [17, 33]] as const;

/** Equal bytes; on a difference, names the first one (toEqual on long arrays takes seconds). */
function expectBytes(actual: Uint8Array, expected: Uint8Array, what = ''): void {
  let i = 0;
  while (i < actual.length && actual[i] === expected[i]) i++;
  const at = (b: Uint8Array) => Array.from(b.subarray(i, i + 8));
  expect({ length: actual.length, firstDifference: i < actual.length ? i : -1, bytes: at(actual) }, what).toEqual({
    length: expected.length,
    firstDifference: -1,
    bytes: at(expected),
  });
}

describe('PNG decoding in wasm: bit-identical to fast-png', () => {
  it('every colour type and bit depth, plain and Adam7, odd sizes, rows of all five filters', () => {
    let n = 0;
    for (const colourType of [0, 2, 3, 4, 6]) {
      for (const depth of PNG_DEPTHS[colourType]) {
        for (const interlace of [false, true]) {
          for (const [width, height] of SIZES) {
            for (const trns of colourType === 3 ? [false, true] : [false]) {
              const spec = randomSpec(++n, width, height, colourType, depth, interlace, trns);
              const bytes = encodePngFile(spec);
              const img = decodeImage(bytes);
              const what = JSON.stringify({ colourType, depth, interlace, width, height, trns });
              expect([img.width, img.height], what).toEqual([width, height]);
              expectBytes(img.data, pngExpectedRgba(spec), what);
              if (!interlace || depth >= 8) expectBytes(img.data, fastPngRgba(bytes), what);
            }
          }
        }
      }
    }
  });

  it('every filter type alone, for every bytes-per-pixel step', () => {
    for (const [colourType, depth] of [[0, 1], [0, 8], [4, 8], [2, 8], [6, 8], [4, 16], [2, 16], [6, 16]]) {
      for (let f = 0; f < 5; f++) {
        const spec = { ...randomSpec(100 + f, 17, 9, colourType, depth, false), filter: () => f };
        const bytes = encodePngFile(spec);
        expectBytes(decodeImage(bytes).data, fastPngRgba(bytes), `${colourType}/${depth} filter ${f}`);
      }
    }
  });

  it("fast-png's own encoding, with its filter choice", () => {
    const r = rng(7);
    const rgb = Uint8Array.from({ length: 40 * 30 * 3 }, (_, i) => (i % 3 === 0 ? randInt(r, 0, 255) : (i * 7) & 255));
    for (const interlace of [undefined, 'Adam7'] as const) {
      const bytes = fastPngEncode({ width: 40, height: 30, data: rgb, channels: 3, depth: 8 }, interlace ? { interlace } : {});
      expectBytes(decodeImage(bytes).data, fastPngRgba(bytes));
    }
  });

  it('the PNG fixture', () => {
    const bytes = new Uint8Array(readFileSync(new URL('../fixtures/images/n01614925_bald_eagle.png', import.meta.url)));
    expectBytes(decodeImage(bytes).data, fastPngRgba(bytes));
  });

  it('a palette with tRNS: alpha from the first tRNS after PLTE, 255 past its end', () => {
    const spec: PngSpec = { width: 4, height: 1, colourType: 3, depth: 2, samples: [0, 1, 2, 3], palette: [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]], trns: [50, 60] };
    const bytes = encodePngFile(spec);
    expect(Array.from(decodeImage(bytes).data)).toEqual([1, 2, 3, 50, 4, 5, 6, 60, 7, 8, 9, 255, 10, 11, 12, 255]);
    expect(decodeImage(bytes).data).toEqual(fastPngRgba(bytes));
  });
});

/** A zlib stream of raw deflate data: header 0x78 0x01, the data, Adler-32 of `plain`. */
function zlibWrap(raw: Uint8Array, plain: Uint8Array): Uint8Array {
  let a = 1;
  let b = 0;
  for (const v of plain) {
    a = (a + v) % 65521;
    b = (b + a) % 65521;
  }
  const sum = ((b << 16) | a) >>> 0;
  return concat([0x78, 0x01], raw, [sum >>> 24, (sum >>> 16) & 255, (sum >>> 8) & 255, sum & 255]);
}

function inflate(z: Uint8Array, expected: number): Uint8Array {
  return withCodec('PNG', (mem) => {
    const at = inflateInto(mem, { file: z, ranges: Uint32Array.of(0, z.length), count: 1, bytes: z.length }, expected);
    return mem.u8(at, expected).slice();
  });
}

function expectInflateError(z: Uint8Array, expected: number, message: RegExp): void {
  expectSqueezeError(thrown(() => inflate(z, expected)), ImageError, 'E_IMAGE_DECODE', message);
}

/** Deflate's bit order: fields least significant bit first, Huffman codes most significant bit first. */
class BitWriter {
  private bytes: number[] = [];
  private acc = 0;
  private n = 0;
  bits(value: number, count: number): this {
    for (let i = 0; i < count; i++) {
      this.acc |= ((value >> i) & 1) << this.n;
      if (++this.n === 8) {
        this.bytes.push(this.acc);
        this.acc = 0;
        this.n = 0;
      }
    }
    return this;
  }
  each(values: number[], count: number): this {
    for (const v of values) this.bits(v, count);
    return this;
  }
  code(value: number, length: number): this {
    for (let i = length - 1; i >= 0; i--) this.bits((value >> i) & 1, 1);
    return this;
  }
  /** A symbol of the fixed literal/length code. */
  fixed(sym: number): this {
    if (sym < 144) return this.code(0x30 + sym, 8);
    if (sym < 256) return this.code(0x190 + sym - 144, 9);
    if (sym < 280) return this.code(sym - 256, 7);
    return this.code(0xc0 + sym - 280, 8);
  }
  done(): Uint8Array {
    return Uint8Array.from(this.n ? [...this.bytes, this.acc] : this.bytes);
  }
}

describe('the inflater', () => {
  const r = rng(11);
  const random = Uint8Array.from({ length: 100_000 }, () => randInt(r, 0, 255));
  const text = new TextEncoder().encode(Array.from({ length: 4000 }, (_, i) => `row ${i % 97} of ${(i * 31) % 1000}; `).join(''));
  const runs = Uint8Array.from({ length: 70_000 }, (_, i) => (i >> 9) & 3);

  it('inflates node:zlib output at every level and strategy, random and compressible', () => {
    const strategies = [constants.Z_DEFAULT_STRATEGY, constants.Z_FILTERED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FIXED];
    for (const data of [random, text, runs]) {
      for (let level = 0; level <= 9; level++) {
        for (const strategy of strategies) {
          expectBytes(inflate(deflateSync(data, { level, strategy }), data.length), data, `level ${level} strategy ${strategy}`);
        }
      }
    }
  });

  it('inflates empty and tiny inputs, small windows and raw deflate in a zlib wrapper', () => {
    for (const length of [0, 1, 2, 3, 7, 257, 258, 259, 65535, 65536]) {
      const data = runs.subarray(0, length);
      for (const level of [0, 1, 9]) expectBytes(inflate(deflateSync(data, { level }), length), data);
    }
    for (const windowBits of [9, 12, 15]) {
      expectBytes(inflate(zlibWrap(deflateRawSync(text, { windowBits }), text), text.length), text);
    }
    const fixedEmpty = new BitWriter().bits(1, 1).bits(1, 2).fixed(256).done();
    expect(inflate(zlibWrap(fixedEmpty, new Uint8Array(0)), 0)).toEqual(new Uint8Array(0));
  });

  it('refuses output longer or shorter than expected, and a wrong Adler-32', () => {
    const z = deflateSync(text);
    expectInflateError(z, text.length - 1, new RegExp(`inflates to more than the ${text.length - 1} bytes`));
    expectInflateError(z, text.length + 1, new RegExp(`inflates to ${text.length} of the ${text.length + 1} bytes`));
    const bad = z.slice();
    bad[bad.length - 1] ^= 1;
    expectInflateError(bad, text.length, /Adler-32 checksum does not match/);
  });

  it('refuses bad headers, a reserved block type and broken stored blocks', () => {
    expectInflateError(Uint8Array.from([0x79, 0x9c, 3, 0, 0, 0, 0, 1]), 0, /bad header/);
    expectInflateError(Uint8Array.from([0x78, 0x9d, 3, 0, 0, 0, 0, 1]), 0, /bad header/);
    expectInflateError(Uint8Array.from([0x78, 0xbb, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1]), 0, /preset dictionary/);
    expectInflateError(Uint8Array.from([0x78, 0x01, 0x07, 0, 0, 0, 0]), 0, /reserved type 3/);
    expectInflateError(Uint8Array.from([0x78, 0x01, 0x01, 0x01, 0x00, 0xfe, 0xfe, 0x41]), 1, /length check/);
  });

  it('refuses bad Huffman codes: over-subscribed, too many lengths, no end-of-block code, unused symbols', () => {
    const dynamic = (hlit: number, hdist: number, clens: number[]): BitWriter =>
      new BitWriter().bits(1, 1).bits(2, 2).bits(hlit, 5).bits(hdist, 5).bits(clens.length - 4, 4).each(clens, 3);
    // 19 one-bit codes for the code lengths: over-subscribed.
    expectInflateError(zlibWrap(dynamic(0, 0, Array(19).fill(1)).done(), new Uint8Array(0)), 10, /invalid Huffman code lengths/);
    // Code lengths 1 (code 0) and 18 (code 1): two runs of 138 zeros are more than the 258 lengths.
    const clens = Array(19).fill(0);
    clens[2] = 1; // symbol 18, in the order 16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15
    clens[17] = 1; // symbol 1
    expectInflateError(zlibWrap(dynamic(0, 0, clens).code(1, 1).bits(127, 7).code(1, 1).bits(127, 7).done(), new Uint8Array(0)), 10, /invalid Huffman code lengths/);
    // 257 literal/length lengths of zero, one distance length of 1: no code for end-of-block.
    const noEnd = dynamic(0, 0, clens).code(1, 1).bits(138 - 11, 7).code(1, 1).bits(119 - 11, 7).code(0, 1).done();
    expectInflateError(zlibWrap(noEnd, new Uint8Array(0)), 10, /invalid Huffman code lengths/);
    // 287 literal/length codes: more than deflate has.
    expectInflateError(zlibWrap(dynamic(30, 0, clens).done(), new Uint8Array(0)), 10, /invalid Huffman code lengths/);
    // Symbols 286 and 287 of the fixed code, and distance codes 30 and 31, are not used.
    expectInflateError(zlibWrap(new BitWriter().bits(1, 1).bits(1, 2).fixed(286).done(), new Uint8Array(0)), 10, /invalid Huffman code/);
    expectInflateError(zlibWrap(new BitWriter().bits(1, 1).bits(1, 2).fixed(65).fixed(257).code(30, 5).done(), new Uint8Array(0)), 10, /invalid Huffman code/);
  });

  it('refuses a distance back past the start of the data', () => {
    // 'a', then a match of 3 bytes at distance 2.
    const z = zlibWrap(new BitWriter().bits(1, 1).bits(1, 2).fixed(97).fixed(257).code(1, 5).fixed(256).done(), new Uint8Array(0));
    expectInflateError(z, 4, /distance back past the start/);
    const ok = zlibWrap(new BitWriter().bits(1, 1).bits(1, 2).fixed(97).fixed(98).fixed(257).code(1, 5).fixed(256).done(), new TextEncoder().encode('ababa'));
    expect(new TextDecoder().decode(inflate(ok, 5))).toBe('ababa');
  });

  it('refuses every truncation of a stream, and a stream cut anywhere never hangs', () => {
    for (const data of [text.subarray(0, 3000), random.subarray(0, 3000)]) {
      const z = deflateSync(data);
      for (let cut = 0; cut < z.length; cut++) expectInflateError(z.subarray(0, cut), data.length, /truncated|inflates to \d+ of/);
    }
  });

  it('reports a corrupt stream in a PNG as E_IMAGE_DECODE', () => {
    const z = zlibWrap(new BitWriter().bits(1, 1).bits(3, 2).done(), new Uint8Array(0));
    const png = concat(PNG_SIGNATURE, ihdr(1, 1, 8, 0), pngChunk('IDAT', z), pngChunk('IEND'));
    expectSqueezeError(thrown(() => decodeImage(png)), ImageError, 'E_IMAGE_DECODE', /PNG is truncated or corrupt: its image data does not inflate \(a deflate block of the reserved type 3/);
  });
});

import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArgumentError, ImageError } from '../../src/errors.js';
import { decodeImage } from '../../src/image/decode.js';
import { loadClassifier } from '../../src/node.js';
import { concat, jpegSegments } from '../helpers/image-files.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';
import { kernelsModule, rng } from '../helpers/wasm.js';

// test/fixtures/jpeg/ is written by test/fixtures/make-jpeg-fixtures.sh: JPEGs from libjpeg-turbo's
// cjpeg and jpegtran, each with djpeg's decoding (name.pnm; base+variant.jpg decodes as base.pnm).
const dir = new URL('../fixtures/jpeg/', import.meta.url);
const read = (name: string) => new Uint8Array(readFileSync(new URL(name, dir)));

/** A binary PGM or PPM (as djpeg writes them: single spaces, maxval 255) as RGB. */
function readPnm(b: Uint8Array): { width: number; height: number; rgb: Uint8Array } {
  const header = new TextDecoder().decode(b.subarray(0, 20)).split(/\s+/);
  const [magic, width, height, maxval] = [header[0], Number(header[1]), Number(header[2]), header[3]];
  const start = header.slice(0, 4).join(' ').length + 1;
  const grey = magic === 'P5';
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = b[start + (grey ? i : 3 * i + c)];
  }
  expect(maxval).toBe('255');
  return { width, height, rgb };
}

/** RGBA as RGB, checking that alpha is opaque. */
function rgbOf(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0; i < rgba.length / 4; i++) {
    rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
    expect(rgba[4 * i + 3]).toBe(255);
  }
  return rgb;
}

describe('JPEG decoding', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.jpg'));

  it('has fixtures of every coding the decoder handles', () => {
    const names = ['420', '422', '440', '444', '411-33x17', 'grey', 'rgb', '420+progressive', '420+restart1', '444+progressive-restart2', '444-cut', '420-restart1-cut', '420-99x75+restart3', '411-33x17+restart3'];
    for (const name of names) {
      expect(files).toContain(`${name}.jpg`);
    }
  });

  for (const file of files) {
    it(`decodes ${file} to djpeg's pixels exactly`, () => {
      const img = decodeImage(read(file));
      const ref = readPnm(read(`${file.slice(0, -4).split('+')[0]}.pnm`));
      expect([img.width, img.height]).toEqual([ref.width, ref.height]);
      expect(Buffer.from(rgbOf(img.data)).equals(Buffer.from(ref.rgb))).toBe(true);
    });
  }

  // name.scale-M-8.pnm: djpeg -scale M/8. decodeImage picks M/8 for the shorter side it gives.
  for (const file of files) {
    for (const scale of [4, 2, 1]) {
      it(`decodes ${file} at ${scale}/8 scale to djpeg -scale ${scale}/8's pixels exactly`, () => {
        const ref = readPnm(read(`${file.slice(0, -4).split('+')[0]}.scale-${scale}-8.pnm`));
        const img = decodeImage(read(file), {}, { minShortSide: Math.min(ref.width, ref.height) });
        expect([img.width, img.height]).toEqual([ref.width, ref.height]);
        expect(Buffer.from(rgbOf(img.data)).equals(Buffer.from(ref.rgb))).toBe(true);
      });
    }
  }

  it('decodes at the smallest scale that leaves the shorter side at least minShortSide', () => {
    const bytes = read('420-99x75.jpg');
    const size = (minShortSide?: number) => {
      const img = decodeImage(bytes, {}, minShortSide === undefined ? {} : { minShortSide });
      return [img.width, img.height];
    };
    expect(size(10)).toEqual([13, 10]); // ceil(99 / 8) x ceil(75 / 8)
    expect(size(11)).toEqual([25, 19]);
    expect(size(38)).toEqual([50, 38]);
    expect(size(39)).toEqual([99, 75]);
    expect(size(1000)).toEqual([99, 75]);
    expect(size()).toEqual([99, 75]);
    expect(decodeImage(bytes, {}, { minShortSide: 39 }).data).toEqual(decodeImage(bytes).data);
    for (const bad of [0, -1, NaN, '256']) {
      expectSqueezeError(thrown(() => decodeImage(bytes, {}, { minShortSide: bad as number })), ArgumentError, 'E_ARGUMENT', /minShortSide must be a positive number/);
    }
  });

  it('refuses a scan with a code its Huffman table lacks', () => {
    // Sixteen 1 bits are never a code (libjpeg's rule, which encoders follow).
    const bytes = read('420.jpg');
    const sos = jpegSegments(bytes).find((g) => g.marker === 0xda)!;
    const header = sos.start + 2 + ((bytes[sos.start + 2] << 8) | bytes[sos.start + 3]);
    const ones = concat(bytes.subarray(0, header), new Uint8Array(400).fill(0xff).map((_, i) => (i % 2 ? 0 : 0xff)), [0xff, 0xd9]);
    expectSqueezeError(thrown(() => decodeImage(ones)), ImageError, 'E_IMAGE_DECODE', /Huffman code that its table does not define/);
  });

  it('refuses a scan after a sequential scan of every component, as libjpeg does', () => {
    // Such a file is decoded MCU row by MCU row, its coefficients not kept for a later scan.
    const bytes = read('420.jpg');
    const sos = jpegSegments(bytes).find((g) => g.marker === 0xda)!;
    const twice = concat(bytes.subarray(0, sos.end), bytes.subarray(sos.start, sos.end), bytes.subarray(sos.end));
    expectSqueezeError(thrown(() => decodeImage(twice)), ImageError, 'E_IMAGE_DECODE', /follows a sequential scan of every component/);
  });

  it('refuses a scan of a component the frame does not have', () => {
    const bytes = read('420.jpg');
    const sos = jpegSegments(bytes).find((g) => g.marker === 0xda)!;
    const bad = bytes.slice();
    bad[sos.data + 1] = 9;
    expectSqueezeError(thrown(() => decodeImage(bad)), ImageError, 'E_IMAGE_DECODE', /component 9 that the frame does not have/);
  });
});

/** jidctint.c's jpeg_idct_islow, transcribed, for one block: natural-order coefficients and quantizers. */
function idctIslow(coefs: Int16Array, quant: Int32Array): Uint8Array {
  const ws = new Int32Array(64);
  const out = new Uint8Array(64);
  const descale = (x: number, n: number) => (x + (1 << (n - 1))) >> n;
  const limit = (x: number) => {
    const m = x & 1023;
    return m < 128 ? m + 128 : m < 512 ? 255 : m < 896 ? 0 : m - 896;
  };
  const pass = (v: number[], shift: number): number[] => {
    const z1 = (v[2] + v[6]) * 4433;
    const tmp2 = z1 + v[6] * -15137;
    const tmp3 = z1 + v[2] * 6270;
    const tmp0 = (v[0] + v[4]) * 8192;
    const tmp1 = (v[0] - v[4]) * 8192;
    const [t10, t13, t11, t12] = [tmp0 + tmp3, tmp0 - tmp3, tmp1 + tmp2, tmp1 - tmp2];
    let [o3, o2, o1, o0] = [v[1], v[3], v[5], v[7]];
    const z4 = o1 + o3;
    const z3 = o0 + o2;
    const z2 = o1 + o2;
    const z1o = o0 + o3;
    const z5 = (z3 + z4) * 9633;
    const b4 = z4 * -3196 + z5;
    const b3 = z3 * -16069 + z5;
    const b1 = z1o * -7373;
    const b2 = z2 * -20995;
    o3 = o3 * 12299 + b1 + b4;
    o2 = o2 * 25172 + b2 + b3;
    o1 = o1 * 16819 + b2 + b4;
    o0 = o0 * 2446 + b1 + b3;
    return [t10 + o3, t11 + o2, t12 + o1, t13 + o0, t13 - o0, t12 - o1, t11 - o2, t10 - o3].map((x) => descale(x, shift));
  };
  for (let c = 0; c < 8; c++) {
    const col = pass(Array.from({ length: 8 }, (_, r) => coefs[8 * r + c] * quant[8 * r + c]), 11);
    col.forEach((x, r) => (ws[8 * r + c] = x));
  }
  for (let r = 0; r < 8; r++) pass(Array.from(ws.subarray(8 * r, 8 * r + 8)), 18).forEach((x, c) => (out[8 * r + c] = limit(x)));
  return out;
}

describe('JPEG inverse DCT (jpeg_idct)', () => {
  const wasm = new WebAssembly.Instance(kernelsModule(), { env: { abort: () => undefined } }).exports as unknown as {
    memory: WebAssembly.Memory;
    heap_base(): number;
    jpeg_idct(coefs: number, quant: number, out: number, blocksX: number, blocksY: number): void;
  };
  const base = wasm.heap_base();
  const idct = (coefs: Int16Array, quant: Int32Array): Uint8Array => {
    new Int16Array(wasm.memory.buffer, base, 64).set(coefs);
    new Int32Array(wasm.memory.buffer, base + 128, 64).set(quant);
    wasm.jpeg_idct(base, base + 128, base + 384, 1, 1);
    return new Uint8Array(wasm.memory.buffer, base + 384, 64).slice();
  };

  it('gives the known answers', () => {
    const quant = new Int32Array(64).fill(16);
    const dc = new Int16Array(64);
    dc[0] = 10; // 10 · 16 / 8 + 128
    expect(idct(dc, quant)).toEqual(new Uint8Array(64).fill(148));
    // One horizontal cosine: 128 + 20 · 16 / (4√2) · cos((2x + 1)π/16), as islow rounds it.
    const ac = new Int16Array(64);
    ac[1] = 20;
    expect(Array.from(idct(ac, quant).subarray(0, 8))).toEqual([183, 175, 159, 139, 117, 97, 81, 73]);
    expect(idct(ac, quant).subarray(8, 16)).toEqual(idct(ac, quant).subarray(0, 8));
  });

  it('matches jidctint.c on random blocks, including out-of-range ones that wrap', () => {
    const r = rng(7);
    for (let t = 0; t < 300; t++) {
      const coefs = new Int16Array(64);
      const quant = new Int32Array(64);
      const sparse = t % 3 !== 0;
      for (let i = 0; i < 64; i++) {
        quant[i] = 1 + Math.floor(r() * (t % 2 ? 255 : 40));
        coefs[i] = sparse && r() < 0.8 ? 0 : Math.round((r() - 0.5) * (t < 100 ? 64 : 1024));
      }
      expect(idct(coefs, quant), `block ${t}`).toEqual(idctIslow(coefs, quant));
    }
  });
});

/**
 * jidctred.c's jpeg_idct_4x4 (size 4) and jpeg_idct_2x2 (size 2), transcribed, for one block:
 * natural-order coefficients and quantizers in, size x size samples out.
 */
function idctReduced(coefs: Int16Array, quant: Int32Array, size: 4 | 2): Uint8Array {
  const descale = (x: number, n: number) => (x + 2 ** (n - 1)) >> n;
  const limit = (x: number) => {
    const m = x & 1023;
    return m < 128 ? m + 128 : m < 512 ? 255 : m < 896 ? 0 : m - 896;
  };
  // The 8-to-size step on v[0..7], descaled by `shift` (pass 1: 12 or 13; pass 2: 19 or 20).
  const step = (v: number[], pass: 1 | 2): number[] => {
    if (size === 4) {
      const shift = pass === 1 ? 12 : 19;
      const tmp0 = v[0] * 2 ** 14;
      const tmp2 = v[2] * 15137 - v[6] * 6270;
      const [t10, t12] = [tmp0 + tmp2, tmp0 - tmp2];
      const o0 = -v[7] * 1730 + v[5] * 11893 - v[3] * 17799 + v[1] * 8697;
      const o2 = -v[7] * 4176 - v[5] * 4926 + v[3] * 7373 + v[1] * 20995;
      return [t10 + o2, t12 + o0, t12 - o0, t10 - o2].map((x) => descale(x, shift));
    }
    const shift = pass === 1 ? 13 : 20;
    const t10 = v[0] * 2 ** 15;
    const t0 = -v[7] * 5906 + v[5] * 6967 - v[3] * 10426 + v[1] * 29692;
    return [t10 + t0, t10 - t0].map((x) => descale(x, shift));
  };
  const ws = Array.from({ length: size }, () => new Array<number>(8).fill(0));
  for (let c = 0; c < 8; c++) {
    step(Array.from({ length: 8 }, (_, r) => coefs[8 * r + c] * quant[8 * r + c]), 1).forEach((x, r) => (ws[r][c] = x));
  }
  const out = new Uint8Array(size * size);
  for (let r = 0; r < size; r++) step(ws[r], 2).forEach((x, c) => (out[size * r + c] = limit(x)));
  return out;
}

describe('JPEG reduced inverse DCTs (jpeg_idct_4x4, jpeg_idct_2x2, jpeg_idct_1x1)', () => {
  const wasm = new WebAssembly.Instance(kernelsModule(), { env: { abort: () => undefined } }).exports as unknown as {
    memory: WebAssembly.Memory;
    heap_base(): number;
  } & Record<'jpeg_idct_4x4' | 'jpeg_idct_2x2' | 'jpeg_idct_1x1', (coefs: number, quant: number, out: number, blocksX: number, blocksY: number) => void>;
  const base = wasm.heap_base();
  // Two blocks side by side, each given to the kernel: the second checks the output stride.
  const idct = (kernel: 'jpeg_idct_4x4' | 'jpeg_idct_2x2', blocks: Int16Array[], quant: Int32Array, size: number): Uint8Array[] => {
    // The 2x2 IDCT reads 64-byte blocks: rows and columns 0, 1, 3, 5, 7 of the coefficients, 5x5.
    const kept = [0, 1, 3, 5, 7];
    const stored = (b: Int16Array) => (size === 4 ? b : Int16Array.from({ length: 32 }, (_, k) => (k < 25 ? b[8 * kept[Math.floor(k / 5)] + kept[k % 5]] : 0)));
    blocks.forEach((b, i) => new Int16Array(wasm.memory.buffer, base + (size === 4 ? 128 : 64) * i, 64).set(stored(b)));
    new Int32Array(wasm.memory.buffer, base + 256, 64).set(quant);
    wasm[kernel](base, base + 256, base + 512, 2, 1);
    const out = new Uint8Array(wasm.memory.buffer, base + 512, 2 * size * size);
    return [0, 1].map((i) => Uint8Array.from({ length: size * size }, (_, k) => out[Math.floor(k / size) * 2 * size + i * size + (k % size)]));
  };

  it('match jidctred.c on random blocks, including out-of-range ones that wrap', () => {
    const r = rng(11);
    for (let t = 0; t < 300; t++) {
      const quant = Int32Array.from({ length: 64 }, () => 1 + Math.floor(r() * (t % 2 ? 255 : 40)));
      const blocks = [0, 1].map((b) =>
        // Some blocks DC only; the rest sparse or dense.
        Int16Array.from({ length: 64 }, (_, i) => ((t + b) % 5 === 0 && i > 0) || (t % 3 !== 0 && r() < 0.8) ? 0 : Math.round((r() - 0.5) * (t < 100 ? 64 : 1024))),
      );
      for (const size of [4, 2] as const) {
        const got = idct(size === 4 ? 'jpeg_idct_4x4' : 'jpeg_idct_2x2', blocks, quant, size);
        blocks.forEach((b, i) => expect(got[i], `block ${t}.${i}, ${size}x${size}`).toEqual(idctReduced(b, quant, size)));
      }
    }
  });

  it('jpeg_idct_1x1 takes the DC coefficient of each block, stored alone', () => {
    const dcs = new Int16Array([10, -3, 200, -200, 300, 7]);
    new Int16Array(wasm.memory.buffer, base, 6).set(dcs);
    new Int32Array(wasm.memory.buffer, base + 256, 1).set([16]);
    wasm.jpeg_idct_1x1(base, base + 256, base + 512, 3, 2);
    // (DC · 16 + 4) >> 3 + 128, clamped, and wrapping past ±512 as libjpeg's range limit table does (300 · 2 -> 0).
    expect(Array.from(new Uint8Array(wasm.memory.buffer, base + 512, 6))).toEqual([148, 122, 255, 0, 0, 142]);
  });
});

describe('a classifier decoding a JPEG', () => {
  it('asks the decoder for its input\'s resize target as minShortSide', async () => {
    const seen: unknown[] = [];
    const net = await loadClassifier('squeezenet1.1-int8', {
      decode: (bytes, limits, options) => (seen.push(options), decodeImage(bytes, limits, options)),
    });
    await net.classify(read('420-99x75.jpg'));
    expect(seen).toEqual([{ minShortSide: net.input.resizeShorter }]);
    expect(net.input.resizeShorter).toBe(256);
    net.dispose();
  });
});

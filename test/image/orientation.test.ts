import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { jpegOrientation, pngOrientation, tiffOrientation, type Orientation } from '../../src/image/exif.js';
import { preprocess, preprocessInto } from '../../src/image/preprocess.js';
import type { InputSpec } from '../../src/model/format.js';
import { decodeImage, loadClassifier, type Classifier } from '../../src/node.js';
import { mulberry32 } from '../../src/random.js';
import { expectSqueezeError, rejection, thrown } from '../helpers/errors.js';
import { concat, encodePngFile, pngChunk } from '../helpers/image-files.js';
import { exifApp1, exifTiff, ORIENTATIONS, storedFor, turn, withJpegSegment, withPngExif, type Rgba } from '../helpers/orientation.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/exif/${name}`, import.meta.url)));
const jpegOf = (o: Orientation): Uint8Array => fixture(`orientation-${o}.jpg`);
const pngOf = (img: Rgba): Uint8Array => encodePngFile({ width: img.width, height: img.height, colourType: 6, depth: 8, samples: Array.from(img.data) });
const sameBits = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
const meanAbsDiff = (a: Uint8Array, b: Uint8Array): number => a.reduce((n, v, i) => n + Math.abs(v - b[i]), 0) / a.length;

describe('EXIF orientation parsing', () => {
  it('reads every value in both byte orders, from JPEG APP1 and PNG eXIf', () => {
    const jpeg = fixture('upright.jpg');
    const png = pngOf({ data: new Uint8Array(4 * 6).fill(200), width: 2, height: 3 });
    for (const o of ORIENTATIONS) {
      for (const little of [false, true]) {
        expect(tiffOrientation(exifTiff(o, little))).toBe(o);
        expect(jpegOrientation(withJpegSegment(jpeg, exifApp1(exifTiff(o, little))))).toBe(o);
        expect(pngOrientation(withPngExif(png, exifTiff(o, little)))).toBe(o);
        expect(pngOrientation(withPngExif(png, exifTiff(o, little), true))).toBe(o);
      }
    }
    expect(jpegOrientation(jpeg)).toBeUndefined();
    expect(pngOrientation(png)).toBeUndefined();
  });

  it('answers undefined for values out of range and entries that are not one SHORT', () => {
    for (const v of [0, 9, 255, 0x100, 0xffff]) expect(tiffOrientation(exifTiff(v, v % 2 === 0))).toBeUndefined();
    const entry = (type: number, count: number, value = 6) => exifTiff(0, true, [{ tag: 0x0112, type, count, value }]);
    expect(tiffOrientation(entry(3, 1))).toBe(6);
    expect(tiffOrientation(entry(4, 1))).toBeUndefined(); // LONG
    expect(tiffOrientation(entry(3, 2))).toBeUndefined();
    expect(tiffOrientation(entry(3, 0))).toBeUndefined();
  });

  it('reads only IFD0, bounded by the block: wrong offsets, loops, huge counts and truncation are ignored', () => {
    const good = exifTiff(6, false);
    const edit = (f: (v: DataView) => void): Uint8Array => {
      const b = good.slice();
      f(new DataView(b.buffer));
      return b;
    };
    expect(tiffOrientation(edit((v) => v.setUint32(4, 0)))).toBeUndefined(); // IFD0 inside the header
    expect(tiffOrientation(edit((v) => v.setUint32(4, 4)))).toBeUndefined();
    expect(tiffOrientation(edit((v) => v.setUint32(4, 0xffffffff)))).toBeUndefined();
    expect(tiffOrientation(edit((v) => v.setUint32(4, good.length - 1)))).toBeUndefined();
    expect(tiffOrientation(edit((v) => v.setUint16(2, 43)))).toBeUndefined();
    expect(tiffOrientation(edit((v) => v.setUint16(0, 0x4949)))).toBeUndefined(); // byte order that does not match
    // 65535 entries declared in a block of a few: only those inside it are read.
    expect(tiffOrientation(edit((v) => v.setUint16(8, 0xffff)))).toBe(6);
    // An entry count of 0, then a next-IFD offset pointing back at IFD0: not followed.
    expect(tiffOrientation(edit((v) => v.setUint16(8, 0)))).toBeUndefined();
    for (let n = 0; n < good.length; n++) expect(tiffOrientation(good.subarray(0, n))).toBe(n >= 10 + 2 * 12 ? 6 : undefined);
  });

  it('takes the first Exif APP1 before the first scan, and survives segments that lie about their length', () => {
    const jpeg = fixture('upright.jpg');
    const app1 = (o: number) => exifApp1(exifTiff(o, true));
    expect(jpegOrientation(withJpegSegment(withJpegSegment(jpeg, app1(3)), app1(6)))).toBe(6);
    const xmp = concat([0xff, 0xe1, 0, 14], Array.from('http://ns.a', (c) => c.charCodeAt(0)), [0]);
    expect(jpegOrientation(withJpegSegment(withJpegSegment(jpeg, app1(8)), xmp))).toBe(8);
    const sos = jpeg.findIndex((v, i) => v === 0xff && jpeg[i + 1] === 0xda);
    expect(jpegOrientation(concat(jpeg.subarray(0, sos), [0xff, 0xd9], app1(6)))).toBeUndefined();
    const long = withJpegSegment(jpeg, app1(6));
    long[5] = 0xff; // the APP1 segment claims 65 KB
    expect(jpegOrientation(long.subarray(0, 200))).toBeUndefined();
    for (let n = 0; n < 120; n++) expect(() => jpegOrientation(withJpegSegment(jpeg, app1(6)).subarray(0, n))).not.toThrow();
  });

  it('never throws and stays linear on 20,000 mutated EXIF blocks', () => {
    const r = mulberry32(17);
    const t0 = performance.now();
    for (let i = 0; i < 20_000; i++) {
      const b = exifTiff(1 + (i % 8), i % 2 === 0).slice(0, 8 + Math.floor(r() * 60));
      for (let k = 1 + Math.floor(r() * 6); k > 0; k--) b[Math.floor(r() * b.length)] = r() < 0.5 ? Math.floor(r() * 256) : [0, 0xff, 0x12, 0x01][k % 4];
      const o = tiffOrientation(b);
      expect(o === undefined || (o >= 1 && o <= 8)).toBe(true);
    }
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('decodeImage returns the stored pixels and the orientation beside them', () => {
    const upright = decodeImage(fixture('upright.jpg'));
    expect(upright.orientation).toBe(1);
    for (const o of ORIENTATIONS) {
      const img = decodeImage(jpegOf(o));
      expect(img.orientation).toBe(o);
      expect([img.width, img.height]).toEqual(o >= 5 ? [upright.height, upright.width] : [upright.width, upright.height]);
      // Turned as the tag says, the stored photo is the upright one, up to JPEG's loss.
      expect(meanAbsDiff(turn(img, o).data, upright.data)).toBeLessThan(3);
      // And turned any other way that fits, it is not.
      for (const p of ORIENTATIONS.filter((p) => p !== o && p >= 5 === o >= 5)) {
        expect(meanAbsDiff(turn(img, p).data, upright.data), `orientation ${o} turned as ${p}`).toBeGreaterThan(20);
      }
    }
  });

  it('the two ways of turning pixels in the tests agree', () => {
    const img = { data: Uint8Array.from({ length: 5 * 3 * 4 }, (_, i) => i), width: 5, height: 3 };
    for (const o of ORIENTATIONS) expect(turn(storedFor(img, o), o)).toEqual(img);
  });
});

const SPECS: InputSpec[] = [
  { name: 'x', width: 224, height: 224, channelOrder: 'RGB', resizeShorter: 256, divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  { name: 'x', width: 7, height: 5, channelOrder: 'BGR', resizeShorter: 9, divisor: 1, mean: [104, 117, 123], std: [1, 1, 1] },
  { name: 'x', width: 13, height: 13, channelOrder: 'RGB', resizeShorter: 13, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
];

describe('orientation in preprocessing', () => {
  it('gives the bits of the turned image, in the reference and in wasm, float and quantized', () => {
    const r = mulberry32(5);
    for (const [w, h] of [[31, 20], [20, 31], [17, 17], [256, 300], [13, 40]]) {
      const stored = { data: Uint8Array.from({ length: w * h * 4 }, () => Math.floor(r() * 256)), width: w, height: h };
      for (const o of ORIENTATIONS) {
        const shown = turn(stored, o);
        for (const spec of SPECS) {
          const n = spec.width * spec.height * 3;
          const want = new Float32Array(n);
          preprocess(shown.data, shown.width, shown.height, spec, want);
          const got = new Float32Array(n);
          preprocess(stored.data, w, h, spec, got, o);
          expect(sameBits(got, want), `${w}x${h} orientation ${o}`).toBe(true);
          const wasm = new Float32Array(n);
          preprocessInto(stored.data, w, h, spec, wasm, undefined, o);
          expect(sameBits(wasm, want), `${w}x${h} orientation ${o}, wasm`).toBe(true);
          const [q, qWant] = [new Int16Array(n), new Int16Array(n)];
          preprocessInto(stored.data, w, h, spec, q, { scale: 0.02, zeroPoint: 0 }, o);
          preprocessInto(shown.data, shown.width, shown.height, spec, qWant, { scale: 0.02, zeroPoint: 0 });
          expect(q.every((v, i) => v === qWant[i]), `${w}x${h} orientation ${o}, int16`).toBe(true);
        }
      }
    }
  });

  it('refuses an orientation that is not 1..8', () => {
    const out = new Float32Array(SPECS[1].width * SPECS[1].height * 3);
    for (const o of [0, 9, 1.5, NaN]) {
      expectSqueezeError(thrown(() => preprocess(new Uint8Array(40 * 40 * 4), 40, 40, SPECS[1], out, o as Orientation)), ArgumentError, 'E_ARGUMENT', /orientation/);
    }
  });
});

describe.each(['squeezenet1.1-int8', 'squeezenet1.1-f32'])('classifying oriented photos with %s', (model) => {
  let net: Classifier;
  beforeAll(async () => {
    net = await loadClassifier(model);
  });

  it('each orientation gives the bits of its upright pixels, and the upright photo\'s answer', async () => {
    const upright = await net.classify(fixture('upright.jpg'));
    for (const o of ORIENTATIONS) {
      const file = jpegOf(o);
      const img = decodeImage(file);
      const got = await net.classify(file);
      const want = await net.classify(turn(img, o));
      expect(sameBits(got.probabilities, want.probabilities), `orientation ${o}`).toBe(true);
      expect(sameBits(got.logits, want.logits)).toBe(true);
      // The pixels decodeImage returns carry the orientation, so they classify as the file does.
      expect(sameBits((await net.classify(img)).probabilities, got.probabilities)).toBe(true);
      expect(got.top[0].index).toBe(upright.top[0].index);
      expect(got.top[0].label).toBe('giant panda');
    }
  });

  it("orientation: 'ignore' gives the answer of the pixels as stored, as before", async () => {
    for (const o of ORIENTATIONS) {
      const file = jpegOf(o);
      const { data, width, height } = decodeImage(file);
      const got = await net.classify(file, { orientation: 'ignore' });
      expect(sameBits(got.probabilities, (await net.classify({ data, width, height })).probabilities)).toBe(true);
      expect(sameBits((await net.classify(decodeImage(file), { orientation: 'ignore' })).probabilities, got.probabilities)).toBe(true);
      if (o !== 1) expect(sameBits(got.probabilities, (await net.classify(file)).probabilities)).toBe(false);
    }
  });

  it('a PNG with an eXIf chunk gives the bits of the upright PNG', async () => {
    const upright = decodeImage(fixture('upright.jpg'));
    const want = await net.classify(pngOf(upright));
    for (const o of ORIENTATIONS) {
      const png = withPngExif(pngOf(storedFor(upright, o)), exifTiff(o, o > 4));
      expect(sameBits((await net.classify(png)).probabilities, want.probabilities), `orientation ${o}`).toBe(true);
    }
  });

  it('hostile EXIF is ignored: the photo classifies as stored', async () => {
    const plain = fixture('upright.jpg');
    const want = await net.classify(plain);
    const bad = [
      exifTiff(9, true),
      exifTiff(6, true).subarray(0, 20),
      exifTiff(0, false, [{ tag: 0x0112, type: 3, count: 0xffffffff, value: 6 }]),
      concat([0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0xff, 0xff], new Uint8Array(30).fill(0x01)),
      concat([0x49, 0x49, 42, 0, 8, 0, 0, 0, 0, 0, 8, 0, 0, 0]), // IFD0 with no entries whose next IFD is itself
    ];
    for (const tiff of bad) {
      expect(sameBits((await net.classify(withJpegSegment(plain, exifApp1(tiff)))).probabilities, want.probabilities)).toBe(true);
    }
    const png = pngOf(decodeImage(plain));
    const pngWant = await net.classify(png);
    for (const tiff of bad) expect(sameBits((await net.classify(withPngExif(png, tiff))).probabilities, pngWant.probabilities)).toBe(true);
    // An eXIf chunk whose length runs past the file is the PNG decoder's to refuse, not the parser's to read.
    expect(() => pngOrientation(concat(png.subarray(0, 33), pngChunk('eXIf', exifTiff(6, true)).subarray(0, 10)))).not.toThrow();
  });

  it('refuses options and pixel orientations it does not know, with typed errors', async () => {
    const file = fixture('upright.jpg');
    expectSqueezeError(await rejection(net.classify(file, { orientation: 'rotate' as 'apply' })), ArgumentError, 'E_ARGUMENT', /orientation/);
    const { data, width, height } = decodeImage(file);
    expectSqueezeError(await rejection(net.classify({ data, width, height, orientation: 9 as Orientation })), ArgumentError, 'E_ARGUMENT', /orientation/);
  });
});

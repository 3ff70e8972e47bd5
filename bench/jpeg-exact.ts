/**
 * `tsx bench/jpeg-exact.ts [--scale M/8] [folder]` (default ../shared/imagenet-sample): decodes
 * every JPEG in the folder with decodeImage and with libjpeg-turbo's djpeg (defaults: ISLOW IDCT,
 * fancy upsampling), and reports how many images are bit-identical, the largest and mean absolute
 * differences, and the time per image of decodeImage and of jpeg-js. `--scale 1/8`, `2/8` (1/4) or
 * `4/8` (1/2) compares the reduced-scale decodes with `djpeg -scale M/8` instead (no jpeg-js
 * timing). `DJPEG` names the djpeg binary (default: on the PATH). Needs `npm run build:wasm` first.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jpegJs from 'jpeg-js';
import { setDecoderModule } from '../src/image/codec.js';
import { decodeImage, type DecodeOptions } from '../src/image/decode.js';

const { values, positionals } = parseArgs({ options: { scale: { type: 'string', default: '8/8' } }, allowPositionals: true });
const folder = positionals[0] ?? '../shared/imagenet-sample';
const eighths = Number(/^([1248])\/8$/.exec(values.scale)?.[1] ?? NaN);
if (!eighths) throw new Error(`--scale must be 1/8, 2/8, 4/8 or 8/8, got ${values.scale}`);
const djpeg = process.env.DJPEG ?? 'djpeg';
setDecoderModule(new WebAssembly.Module(readFileSync(new URL('../dist/squeezewasm.wasm', import.meta.url))));

/** A binary PGM (P5) or PPM (P6) as RGB. */
function readPnm(b: Buffer): { width: number; height: number; rgb: Uint8Array } {
  const fields: string[] = [];
  let p = 0;
  while (fields.length < 4) {
    while (/\s/.test(String.fromCharCode(b[p]))) p++;
    let s = '';
    while (!/\s/.test(String.fromCharCode(b[p]))) s += String.fromCharCode(b[p++]);
    fields.push(s);
  }
  p++;
  const [magic, w, h] = fields;
  const width = Number(w);
  const height = Number(h);
  const channels = magic === 'P5' ? 1 : 3;
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    for (let c = 0; c < 3; c++) rgb[3 * i + c] = b[p + channels * i + (channels === 1 ? 0 : c)];
  }
  return { width, height, rgb };
}

const args = eighths === 8 ? ['-pnm'] : ['-pnm', '-scale', `${eighths}/8`];
const files = readdirSync(folder).filter((f) => /\.jpe?g$/i.test(f)).sort();
let identical = 0;
let maxDiff = 0;
let sumDiff = 0;
let samples = 0;
let ours = 0;
let theirs = 0;
const worst: { file: string; max: number; differing: number }[] = [];
/** The frame's width and height, from its SOF segment. */
function frameSize(b: Uint8Array): [number, number] {
  for (let p = 2; p + 9 < b.length; p += 2 + ((b[p + 2] << 8) | b[p + 3])) {
    if (b[p + 1] >= 0xc0 && b[p + 1] <= 0xc2) return [(b[p + 7] << 8) | b[p + 8], (b[p + 5] << 8) | b[p + 6]];
  }
  throw new Error('no SOF before the first scan');
}

/** Options that make decodeImage pick `eighths`/8 for this image: its shorter side at that scale. */
function scaleOptions(bytes: Uint8Array): DecodeOptions {
  if (eighths === 8) return {};
  return { minShortSide: Math.min(...frameSize(bytes).map((s) => Math.ceil((s * eighths) / 8))) };
}

for (const file of files) {
  const bytes = new Uint8Array(readFileSync(join(folder, file)));
  const ref = readPnm(execFileSync(djpeg, [...args, join(folder, file)], { maxBuffer: 1 << 28 }));
  const options = scaleOptions(bytes);
  decodeImage(bytes, {}, options); // warm for timing
  let t0 = performance.now();
  const img = decodeImage(bytes, {}, options);
  ours += performance.now() - t0;
  if (eighths === 8) {
    jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true });
    t0 = performance.now();
    jpegJs.decode(bytes, { useTArray: true, formatAsRGBA: true });
    theirs += performance.now() - t0;
  }
  if (img.width !== ref.width || img.height !== ref.height) throw new Error(`${file}: ${img.width}x${img.height}, djpeg ${ref.width}x${ref.height}`);
  let max = 0;
  let differing = 0;
  for (let i = 0; i < img.width * img.height; i++) {
    for (let c = 0; c < 3; c++) {
      const d = Math.abs(img.data[4 * i + c] - ref.rgb[3 * i + c]);
      sumDiff += d;
      if (d) differing++;
      max = Math.max(max, d);
    }
  }
  samples += img.width * img.height * 3;
  maxDiff = Math.max(maxDiff, max);
  if (max === 0) identical++;
  else worst.push({ file, max, differing });
}
console.log(`${files.length} JPEGs in ${folder}: ${identical} bit-identical to ${djpeg} ${args.join(' ')}`);
console.log(`max abs diff ${maxDiff}, mean abs diff ${(sumDiff / samples).toExponential(2)} per sample`);
for (const w of worst.sort((a, b) => b.max - a.max).slice(0, 10)) console.log(`  ${w.file}: max ${w.max}, ${w.differing} samples differ`);
const jpegJsTime = eighths === 8 ? `, jpeg-js ${(theirs / files.length).toFixed(2)} ms` : '';
console.log(`warm decode per image: decodeImage ${(ours / files.length).toFixed(2)} ms${jpegJsTime}`);

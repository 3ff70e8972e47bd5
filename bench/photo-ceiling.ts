/**
 * `npx tsx bench/photo-ceiling.ts [--shared ../shared] [--limit 500] [--model squeezenet1.1-int8]`:
 * how often does a sample image's top-1 survive changes far smaller than a phone photo's, with no
 * decoder of ours in the way? The bound on what any decode of a 12 MP photo can reach in
 * bench/photo-eval.ts (docs/performance.md, "Large photos"). For each sample image:
 * - **ideal**: upscaled to 12 MP (bilinear, as photo-eval.ts does) and brought back to its own
 *   size with an antialiased Lanczos-3 filter, in float, never JPEG-encoded;
 * - **re-encoded**: written as a JPEG at quality 90 (cjpeg, 4:2:0) at its own size and decoded;
 * - **float IDCT**: the original file decoded by `djpeg -dct float` instead of our exact islow
 *   decode (pixels differ by about one level here and there).
 * Needs cjpeg and djpeg (Debian: libjpeg-turbo-progs).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, type DecodedImage } from '../src/image/decode.js';
import { loadClassifier } from '../src/node.js';
import { upscale } from './photos.js';

const { values } = parseArgs({ options: { shared: { type: 'string', default: '../shared' }, limit: { type: 'string', default: '500' }, model: { type: 'string', default: 'squeezenet1.1-int8' } } });
const dir = join(values.shared!, 'imagenet-sample');
const files = readdirSync(dir).filter((f) => f.endsWith('.JPEG')).sort().slice(0, Number(values.limit));
const net = await loadClassifier(values.model!);
const tmp = mkdtempSync(join(tmpdir(), 'photo-ceiling-'));

/** RGB of `w` x `h` brought to `outW` x `outH` RGBA with a Lanczos-3 filter widened by the reduction (antialiased), separably. */
function lanczosDown(rgb: Uint8Array, w: number, h: number, outW: number, outH: number): DecodedImage {
  const L = (x: number): number => (x === 0 ? 1 : Math.abs(x) >= 3 ? 0 : (3 * Math.sin(Math.PI * x) * Math.sin((Math.PI * x) / 3)) / (Math.PI * Math.PI * x * x));
  const taps = (n: number, size: number): { idx: number[]; wts: number[] }[] => {
    const scale = size / n;
    return Array.from({ length: n }, (_, i) => {
      const centre = (i + 0.5) * scale - 0.5;
      const idx: number[] = [], wts: number[] = [];
      for (let k = Math.ceil(centre - 3 * scale); k <= Math.floor(centre + 3 * scale); k++) {
        idx.push(Math.min(Math.max(k, 0), size - 1));
        wts.push(L((k - centre) / scale));
      }
      const sum = wts.reduce((a, b) => a + b, 0);
      return { idx, wts: wts.map((v) => v / sum) };
    });
  };
  const [xs, ys] = [taps(outW, w), taps(outH, h)];
  const rows = new Float64Array(h * outW * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < outW; x++) for (let c = 0; c < 3; c++) {
    let v = 0;
    xs[x].idx.forEach((i, k) => (v += xs[x].wts[k] * rgb[(y * w + i) * 3 + c]));
    rows[(y * outW + x) * 3 + c] = v;
  }
  const data = new Uint8Array(outW * outH * 4).fill(255);
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) for (let c = 0; c < 3; c++) {
    let v = 0;
    ys[y].idx.forEach((i, k) => (v += ys[y].wts[k] * rows[(i * outW + x) * 3 + c]));
    data[(y * outW + x) * 4 + c] = Math.min(255, Math.max(0, Math.round(v)));
  }
  return { width: outW, height: outH, data, orientation: 1 };
}

/** A binary PPM / PGM (djpeg's output) as RGBA. */
function fromPnm(pnm: Buffer): DecodedImage {
  const head = /^P([56])\s+(\d+)\s+(\d+)\s+255\s/.exec(pnm.toString('latin1', 0, 64))!;
  const [channels, width, height] = [head[1] === '6' ? 3 : 1, Number(head[2]), Number(head[3])];
  const px = pnm.subarray(head[0].length);
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[i * 4 + c] = px[i * channels + (channels === 3 ? c : 0)];
  return { width, height, data, orientation: 1 };
}

const top1 = async (image: DecodedImage): Promise<number> => (await net.classify(image, { top: 1 })).top[0].index;
const same = { ideal: 0, reencoded: 0, floatIdct: 0 };
for (const [n, file] of files.entries()) {
  const original = decodeImage(new Uint8Array(readFileSync(join(dir, file))));
  const want = await top1(original);
  const k = Math.sqrt(12e6 / (original.width * original.height));
  const [W, H] = [Math.round(original.width * k), Math.round(original.height * k)];
  if ((await top1(lanczosDown(upscale(original, W, H), W, H, original.width, original.height))) === want) same.ideal++;
  const rgb = new Uint8Array(original.width * original.height * 3);
  for (let i = 0; i < rgb.length / 3; i++) rgb.set(original.data.subarray(4 * i, 4 * i + 3), 3 * i);
  writeFileSync(join(tmp, 'x.ppm'), Buffer.concat([Buffer.from(`P6\n${original.width} ${original.height}\n255\n`), rgb]));
  execFileSync('cjpeg', ['-quality', '90', '-sample', '2x2', '-outfile', join(tmp, 'x.jpg'), join(tmp, 'x.ppm')]);
  if ((await top1(decodeImage(new Uint8Array(readFileSync(join(tmp, 'x.jpg')))))) === want) same.reencoded++;
  if ((await top1(fromPnm(execFileSync('djpeg', ['-dct', 'float', '-pnm', join(dir, file)], { maxBuffer: 1 << 28 })))) === want) same.floatIdct++;
  if ((n + 1) % 100 === 0) console.error(`${n + 1}/${files.length}`);
}
rmSync(tmp, { recursive: true, force: true });
const pct = (k: number): string => `${((100 * k) / files.length).toFixed(1)} %`;
console.log(`${files.length} sample images, ${values.model}: top-1 equal to the original's`);
console.log(`  12 MP bilinear upscale, ideal antialiased reduction, no JPEG   ${pct(same.ideal)}`);
console.log(`  JPEG quality 90 re-encode at the original size                 ${pct(same.reencoded)}`);
console.log(`  the original file decoded with djpeg's float IDCT              ${pct(same.floatIdct)}`);

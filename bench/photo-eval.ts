/**
 * `npx tsx bench/photo-eval.ts [--shared ../shared] [--limit 500] [--mp 12] [--upscale bilinear|lanczos3]
 * [--model squeezenet1.1-int8]`: does a phone-sized photo get the answer of the image it was made
 * from? Each sample image is upscaled (bilinear, or Lanczos-3, which keeps more detail) to about
 * `--mp` megapixels and written as a baseline JPEG (cjpeg, quality 90, 4:2:0; cached in
 * bench/out/photos/, not committed), then classified decoded at full size and at the reduced
 * scales `minShortSide` picks (the classifier's default asks for its resize target, 256; 512 asks
 * for twice that). Prints how often each top-1 equals the original image's top-1.
 * Needs `npm run build:wasm` and cjpeg (Debian: libjpeg-turbo-progs).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage, type DecodedImage } from '../src/image/decode.js';
import { loadClassifier, packageFile } from '../src/node.js';
import { upscale, upscaleLanczos3 } from './photos.js';

const { values } = parseArgs({
  options: {
    shared: { type: 'string', default: '../shared' },
    limit: { type: 'string', default: '500' },
    mp: { type: 'string', default: '12' },
    model: { type: 'string', default: 'squeezenet1.1-int8' },
    upscale: { type: 'string', default: 'bilinear' },
  },
});
const sampleDir = join(values.shared!, 'imagenet-sample');
const files = readdirSync(sampleDir).filter((f) => f.endsWith('.JPEG')).sort().slice(0, Number(values.limit));
const mp = Number(values.mp);
if (values.upscale !== 'bilinear' && values.upscale !== 'lanczos3') throw new Error('--upscale must be bilinear or lanczos3');
const cache = packageFile(`bench/out/photos/${mp}mp${values.upscale === 'bilinear' ? '' : `-${values.upscale}`}`);
mkdirSync(cache, { recursive: true });
const net = await loadClassifier(values.model);

/** The photo made from `file`: a baseline JPEG of about `mp` megapixels with the original's aspect. */
function photo(file: string, original: DecodedImage): Uint8Array {
  const out = join(cache, file.replace(/\.JPEG$/, '.jpg'));
  if (!existsSync(out)) {
    const k = Math.sqrt((mp * 1e6) / (original.width * original.height));
    const w = Math.round(original.width * k), h = Math.round(original.height * k);
    const ppm = `${out}.ppm`;
    writeFileSync(ppm, Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), (values.upscale === 'bilinear' ? upscale : upscaleLanczos3)(original, w, h)]));
    execFileSync('cjpeg', ['-quality', '90', '-sample', '2x2', '-outfile', out, ppm]);
    rmSync(ppm);
  }
  return new Uint8Array(readFileSync(out));
}

const top1 = async (image: DecodedImage): Promise<number> => (await net.classify(image, { top: 1 })).top[0].index;
const variants = [
  { name: 'full-size decode', minShortSide: Infinity },
  { name: `minShortSide ${2 * net.model.input.resizeShorter}`, minShortSide: 2 * net.model.input.resizeShorter },
  { name: `minShortSide ${net.model.input.resizeShorter} (the classifier's)`, minShortSide: net.model.input.resizeShorter },
];
const agree = variants.map(() => 0);
for (const [i, file] of files.entries()) {
  const bytes = new Uint8Array(readFileSync(join(sampleDir, file)));
  const original = decodeImage(bytes);
  const want = await top1(original);
  const big = photo(file, original);
  for (const [v, { minShortSide }] of variants.entries()) {
    if ((await top1(decodeImage(big, {}, { minShortSide }))) === want) agree[v]++;
  }
  if ((i + 1) % 50 === 0) console.error(`${i + 1}/${files.length}`);
}
console.log(`${files.length} sample images upscaled (${values.upscale}) to ~${mp} MP baseline JPEGs, ${values.model}: top-1 equal to the original image's`);
variants.forEach(({ name }, v) => console.log(`  ${name.padEnd(40)} ${agree[v]}/${files.length} = ${((100 * agree[v]) / files.length).toFixed(1)} %`));

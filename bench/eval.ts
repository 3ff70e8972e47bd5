/**
 * `npm run eval -- [dir] [--model name ...]`: top-1 / top-5 accuracy of the bundled models on
 * labelled images. An image's class is the line of its file name's synset (`n01440764_tench.JPEG`)
 * in the folder's labels.txt (or the bundled ImageNet labels). The folder defaults to
 * ../shared/imagenet-sample. For an int8 model it also reports top-1 agreement with its float32
 * original (`<name>-f32`). Prints a table and writes bench/out/eval.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { BUNDLED_MODELS, loadClassifier, packageFile } from '../src/node.js';

const { values, positionals } = parseArgs({ options: { model: { type: 'string', multiple: true } }, allowPositionals: true });
const dir = positionals[0] ?? '../shared/imagenet-sample';
if (!existsSync(dir)) {
  console.error(`eval: image folder ${dir} not found; pass one: npm run eval -- <dir>`);
  process.exit(1);
}
const labelsFile = existsSync(join(dir, 'labels.txt')) ? join(dir, 'labels.txt') : packageFile('weights/imagenet-labels.txt');
const synsets = readFileSync(labelsFile, 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(/\s+/)[0]);
const images = readdirSync(dir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((file) => ({ file, label: synsets.indexOf(file.split('_')[0]) }))
  .filter((x) => x.label >= 0);
if (images.length === 0) {
  console.error(`eval: no images named <synset>_*.jpg with a synset from ${labelsFile} in ${dir}`);
  process.exit(1);
}

const results: Record<string, unknown>[] = [];
for (const name of values.model ?? BUNDLED_MODELS) {
  const net = await loadClassifier(name);
  const floatName = name.replace(/-int8$/, '-f32');
  const float = net.model.precision === 'int8' && BUNDLED_MODELS.includes(floatName) ? await loadClassifier(floatName) : undefined;
  const bar = new cliProgress.SingleBar({ format: `${name.padEnd(20)} {bar} {value}/{total} top-1 {top1}%`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(images.length, 0, { top1: '0.0' });
  let top1 = 0;
  let top5 = 0;
  let agree = 0;
  let ms = 0;
  for (const [i, { file, label }] of images.entries()) {
    const bytes = new Uint8Array(readFileSync(join(dir, file)));
    const t0 = performance.now();
    const { top } = net.classifySync(bytes, { top: 5 });
    ms += performance.now() - t0;
    if (top[0].index === label) top1++;
    if (top.some((p) => p.index === label)) top5++;
    if (float && float.classifySync(bytes, { top: 1 }).top[0].index === top[0].index) agree++;
    bar.update(i + 1, { top1: ((100 * top1) / (i + 1)).toFixed(1) });
  }
  bar.stop();
  const n = images.length;
  results.push({ model: name, images: n, top1: top1 / n, top5: top5 / n, agreement_with_f32: float ? agree / n : undefined, ms_per_image: ms / n });
  net.dispose();
  float?.dispose();
}

console.log(`\n${images.length} images from ${dir}\n`);
console.log('model                 top-1 %   top-5 %   top-1 agreement with f32 %   ms/image');
for (const r of results) {
  const pct = (v: unknown) => (v === undefined ? '' : (100 * (v as number)).toFixed(1)).padStart(7);
  console.log(`${String(r.model).padEnd(20)}  ${pct(r.top1)}   ${pct(r.top5)}   ${pct(r.agreement_with_f32).padStart(26)}   ${(r.ms_per_image as number).toFixed(1).padStart(8)}`);
}
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/eval.json'), JSON.stringify({ dir, date: new Date().toISOString(), results }, null, 1));

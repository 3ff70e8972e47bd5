/**
 * `npm run eval -- [dir] [--model name ...]`: top-1 / top-5 accuracy of the bundled models on
 * labelled images. An image's class is the line of its file name's synset (`n01440764_tench.JPEG`)
 * in the folder's labels.txt (or the bundled ImageNet labels). The folder defaults to
 * ../shared/imagenet-sample. Prints a table and writes bench/out/eval.json.
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
  const bar = new cliProgress.SingleBar({ format: `${name.padEnd(20)} {bar} {value}/{total} top-1 {top1}%`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(images.length, 0, { top1: '0.0' });
  let top1 = 0;
  let top5 = 0;
  const t0 = performance.now();
  for (const [i, { file, label }] of images.entries()) {
    const { top } = net.classifySync(new Uint8Array(readFileSync(join(dir, file))), { top: 5 });
    if (top[0].index === label) top1++;
    if (top.some((p) => p.index === label)) top5++;
    bar.update(i + 1, { top1: ((100 * top1) / (i + 1)).toFixed(1) });
  }
  bar.stop();
  results.push({ model: name, images: images.length, top1: top1 / images.length, top5: top5 / images.length, ms_per_image: (performance.now() - t0) / images.length });
  net.dispose();
}

console.log(`\n${images.length} images from ${dir}\n`);
console.log('model                 top-1 %   top-5 %   ms/image');
for (const r of results) {
  const pct = (v: unknown) => (100 * (v as number)).toFixed(1).padStart(7);
  console.log(`${String(r.model).padEnd(20)}  ${pct(r.top1)}   ${pct(r.top5)}   ${(r.ms_per_image as number).toFixed(1).padStart(8)}`);
}
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/eval.json'), JSON.stringify({ dir, date: new Date().toISOString(), results }, null, 1));

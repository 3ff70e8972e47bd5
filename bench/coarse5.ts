/**
 * `npm run demo:coarse5 -- [sharedDir]` (default ../shared): transfer learning on real photos. The
 * ImageNet sample's images of five coarse categories (imagenet-sample/coarse5.txt: dog, bird,
 * insect, vehicle, food) go into one folder per category (symlinks in a temporary folder), then:
 *
 * 1. `squeezewasm train` on all of them, timed end to end (its own process, as a user runs it);
 * 2. accuracy of heads trained on part of the images and tested on the rest, the int8 model
 *    classifying the held-out photos end to end: a stratified 25 % hold-out, stratified 5-fold
 *    cross-validation, and a 5-fold split by fine class.
 *
 * The sample holds one image per fine class (every other ImageNet class), so any held-out image is
 * of a fine class no training image shows. The split by fine class goes further: each category's
 * fine classes, in ImageNet order (which follows WordNet, so neighbours are related: hounds,
 * terriers, ...), are cut into 5 contiguous blocks, and fold i tests on block i of every category,
 * so the test images' whole neighbourhood is unseen.
 *
 * Prints the results and writes bench/out/coarse5.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import cliProgress from 'cli-progress';
import { loadClassifier, loadFeatureExtractor, packageFile, trainClassifier, writeModel, type TrainExample } from '../src/node.js';
import { mulberry32, shuffle } from '../src/random.js';
import { argmax, headLogits, stratifiedSplit } from '../src/transfer/softmax.js';

const shared = resolve(process.argv[2] ?? '../shared');
const sample = join(shared, 'imagenet-sample');
if (!existsSync(join(sample, 'coarse5.txt'))) {
  console.error(`demo:coarse5: ${join(sample, 'coarse5.txt')} not found; pass the shared folder: npm run demo:coarse5 -- <dir>`);
  process.exit(1);
}
const SEED = 1;
const FOLDS = 5;

// Categories: "<name>\t<ImageNet class indices>" per line; an image's class is its synset's line in labels.txt.
const categories = readFileSync(join(sample, 'coarse5.txt'), 'utf8')
  .split(/\r?\n/)
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => {
    const [name, ...indices] = l.trim().split(/\s+/);
    return { name, fine: new Set(indices.map(Number)) };
  });
const synsets = readFileSync(join(sample, 'labels.txt'), 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(/\s+/)[0]);
const names = categories.map((c) => c.name).sort();
const items = readdirSync(sample)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .flatMap((file) => {
    const fine = synsets.indexOf(file.split('_')[0]);
    const category = categories.find((c) => c.fine.has(fine));
    return category ? [{ file, fine, label: names.indexOf(category.name) }] : [];
  })
  // The order `squeezewasm train` reads the class folders in, so that the same training gives the same bytes.
  .sort((a, b) => a.label - b.label);
const counts = names.map((_, k) => items.filter((i) => i.label === k).length);
console.log(`${items.length} images: ${names.map((n, k) => `${n} ${counts[k]}`).join(', ')}\n`);

// 1. The class folders, and the CLI on them.
const tmp = mkdtempSync(join(tmpdir(), 'squeezewasm-coarse5-'));
for (const n of names) mkdirSync(join(tmp, 'classes', n), { recursive: true });
for (const { file, label } of items) symlinkSync(join(sample, file), join(tmp, 'classes', names[label], file));
const output = join(tmp, 'coarse5.sqz');
const t0 = performance.now();
const cliReport = JSON.parse(execFileSync(process.execPath, [packageFile('bin/squeezewasm.js'), 'train', join(tmp, 'classes'), '-o', output, '--seed', String(SEED), '--json'], { encoding: 'utf8' }));
const wall = performance.now() - t0;
console.log(`squeezewasm train ${items.length} images: ${(wall / 1000).toFixed(1)} s wall clock (process start included); features ${(cliReport.ms.features / 1000).toFixed(1)} s, training and export ${(cliReport.ms.training / 1000).toFixed(1)} s`);
console.log(`  ${cliReport.epochs} epochs (chosen on ${cliReport.validationImages} held-out images), agreement of the int8 model with the float head ${(100 * cliReport.agreement).toFixed(1)} %, ${cliReport.bytes} bytes\n`);

// 2. Features once, then heads on subsets, tested by classifying the held-out photos end to end.
const fx = await loadFeatureExtractor();
const bar = new cliProgress.SingleBar({ format: 'features {bar} {value}/{total}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
bar.start(items.length, 0);
const images = items.map((i) => new Uint8Array(readFileSync(join(sample, i.file))));
const examples: TrainExample[] = images.map((bytes, i) => {
  bar.increment();
  return { features: fx.extract(bytes), label: items[i].label };
});
bar.stop();

// Determinism: the API, in this process, on the same images in the same order, writes the CLI's bytes.
const same = writeModel((await trainClassifier(fx, examples, names, { seed: SEED, name: 'coarse5' })).model);
const deterministic = Buffer.from(same).equals(readFileSync(output));
console.log(`the API in this process ${deterministic ? 'writes the same bytes as' : 'DIFFERS from'} squeezewasm train`);

interface Evaluation {
  correct: number;
  total: number;
  /** Held-out images where the int8 model and the float head pick the same class. */
  agree: number;
  confusion: number[][];
}

const emptyEvaluation = (): Evaluation => ({ correct: 0, total: 0, agree: 0, confusion: names.map(() => names.map(() => 0)) });

/** Trains on every image not in `test` and classifies `test` with the written int8 model. */
async function evaluate(test: number[]): Promise<Evaluation> {
  const held = new Set(test);
  const { model, head } = await trainClassifier(fx, examples.filter((_, i) => !held.has(i)), names, { seed: SEED });
  const net = await loadClassifier(writeModel(model));
  const e = emptyEvaluation();
  for (const i of test) {
    const got = net.classifySync(images[i], { top: 1 }).top[0].index;
    e.confusion[items[i].label][got]++;
    if (got === items[i].label) e.correct++;
    if (got === argmax(headLogits(head, examples[i].features.pooled))) e.agree++;
    e.total++;
  }
  net.dispose();
  return e;
}

/** Folds of a k-fold split: each category's images, in `order`, dealt out or cut into blocks. */
function folds(order: (members: number[], category: number) => number[], blocks: boolean): number[][] {
  const out: number[][] = Array.from({ length: FOLDS }, () => []);
  names.forEach((_, k) => {
    const members = order(items.flatMap((it, i) => (it.label === k ? [i] : [])), k);
    members.forEach((i, j) => out[blocks ? Math.floor((j * FOLDS) / members.length) : j % FOLDS].push(i));
  });
  return out;
}

async function crossValidate(splits: number[][]) {
  const all = emptyEvaluation();
  const perFold = [];
  for (const test of splits) {
    const f = await evaluate(test);
    perFold.push(f.correct / f.total);
    all.correct += f.correct;
    all.total += f.total;
    all.agree += f.agree;
    f.confusion.forEach((row, k) => row.forEach((v, j) => (all.confusion[k][j] += v)));
  }
  const mean = perFold.reduce((a, b) => a + b, 0) / perFold.length;
  const sd = Math.sqrt(perFold.reduce((a, b) => a + (b - mean) ** 2, 0) / (perFold.length - 1));
  return { perFold, mean, sd, pooled: all.correct / all.total, agreement: all.agree / all.total, confusion: all.confusion };
}

const pct = (v: number): string => `${(100 * v).toFixed(1)} %`;
function printConfusion(confusion: number[][]): void {
  const w = Math.max(...names.map((n) => n.length)) + 2;
  console.log(`  ${'true \\ predicted'.padEnd(w + 8)}${names.map((n) => n.padStart(w)).join('')}`);
  confusion.forEach((row, k) => console.log(`  ${names[k].padEnd(w + 8)}${row.map((v) => String(v).padStart(w)).join('')}`));
}

const tEval = performance.now();
const { held } = stratifiedSplit(items.map((i) => i.label), 0.25, SEED);
const holdout = await evaluate(held);
console.log(`\nheld-out split (stratified 25 %, seed ${SEED}): ${holdout.correct}/${holdout.total} = ${pct(holdout.correct / holdout.total)}, int8 model vs float head ${pct(holdout.agree / holdout.total)}`);
printConfusion(holdout.confusion);

const random = mulberry32(SEED);
const stratified = await crossValidate(folds((m) => shuffle(m, random), false));
console.log(`\n${FOLDS}-fold cross-validation (stratified, seed ${SEED}): ${stratified.perFold.map(pct).join(', ')}; mean ${pct(stratified.mean)} (sd ${pct(stratified.sd)}), all ${items.length} predictions ${pct(stratified.pooled)}`);
printConfusion(stratified.confusion);

const byFine = await crossValidate(folds((m) => m.sort((a, b) => items[a].fine - items[b].fine), true));
console.log(`\n${FOLDS}-fold split by fine class (contiguous blocks of each category's ImageNet classes): ${byFine.perFold.map(pct).join(', ')}; mean ${pct(byFine.mean)} (sd ${pct(byFine.sd)}), all ${pct(byFine.pooled)}`);
printConfusion(byFine.confusion);
console.log(`\nint8 model vs float head on held-out images: ${pct(stratified.agreement)} (cross-validation), ${pct(byFine.agreement)} (by fine class); evaluation took ${((performance.now() - tEval) / 1000).toFixed(0)} s`);

fx.dispose();
rmSync(tmp, { recursive: true, force: true });
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(
  packageFile('bench/out/coarse5.json'),
  JSON.stringify({ date: new Date().toISOString(), node: process.version, images: items.length, classes: names, counts, cli: { ...cliReport, wallMs: Math.round(wall) }, deterministic, holdout, stratified, byFine }, null, 1),
);

/**
 * `npm run bench:prune -- [sharedDir] [--sparsity 30,50] [--scope layer,global] [--calibration 250]`:
 * what magnitude pruning would cost the dense SqueezeNet 1.1 (an experiment; no pruned model ships).
 *
 * The weights of every convolution with the smallest magnitude become zero, without retraining:
 * per layer (the given share of each layer's weights) or global (the given share of all conv
 * weights, one threshold, so layers with larger weights keep more). Each pruned float model is then
 * quantized by the bundled models' pipeline (equalization, GPTQ keeping the zeros, range method
 * chosen by agreement), calibrated on every other image of the sample (or `--calibration` evenly
 * spread ones) to save time; the unpruned row is quantized the same way, so the int8 rows compare.
 * Top-1 / top-5 are measured on all images of <sharedDir>/imagenet-sample, agreement against the
 * unpruned float model's top-1. Prints a table and writes bench/out/prune.json.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Classifier } from '../src/classifier.js';
import { quantizeModel } from '../src/convert/quantize.js';
import { decodeImage } from '../src/image/decode.js';
import type { Model } from '../src/model/format.js';
import { readModel } from '../src/model/read.js';
import { validateModel, type ValidModel } from '../src/model/validate.js';
import { writeModel } from '../src/model/write.js';
import { packageFile } from '../src/node.js';
import { fmt, table } from './stats.js';

const { values, positionals } = parseArgs({
  options: { sparsity: { type: 'string', default: '30,50' }, scope: { type: 'string', default: 'layer,global' }, calibration: { type: 'string', default: '250' } },
  allowPositionals: true,
});
const sampleDir = join(positionals[0] ?? '../shared', 'imagenet-sample');
type Scope = 'layer' | 'global';
const scopes = values.scope.split(',') as Scope[];
if (!scopes.every((s) => s === 'layer' || s === 'global')) throw new Error(`--scope ${values.scope}: use layer, global or both`);
const sparsities = values.sparsity.split(',').map(Number);
const synsets = readFileSync(join(sampleDir, 'labels.txt'), 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(/\s+/)[0]);
const images = readdirSync(sampleDir)
  .filter((f) => f.endsWith('.JPEG'))
  .sort()
  .map((file) => ({ bytes: new Uint8Array(readFileSync(join(sampleDir, file))), label: synsets.indexOf(file.split('_')[0]) }));
const calibrationCount = Math.min(images.length, Number(values.calibration));
const calibration = Array.from({ length: calibrationCount }, (_, i) => images[Math.floor((i * images.length) / calibrationCount)].bytes);
const wasm = new WebAssembly.Module(readFileSync(packageFile('dist/squeezewasm.wasm')));
const dense = readModel(new Uint8Array(readFileSync(packageFile('weights/squeezenet1.1-f32.sqz'))));

/**
 * Zeroes the `fraction` smallest-magnitude weights of every conv: of each layer, or of all convs
 * together (ties: the earlier weight).
 */
function prune(model: Model, fraction: number, scope: Scope): Model {
  const convs = model.ops.flatMap((op) => (op.op === 'conv' ? [op.weight] : []));
  const tensors = new Map(model.tensors);
  const copies = convs.map((name) => Float32Array.from(model.tensors.get(name)!.data));
  const groups = scope === 'layer' ? copies.map((w) => [w]) : [copies];
  for (const group of groups) {
    // The group's weights in one array, so that one sort ranks them all.
    const flat = Float32Array.from(group.flatMap((w) => Array.from(w)));
    const byMagnitude = Array.from(flat.keys()).sort((a, b) => Math.abs(flat[a]) - Math.abs(flat[b]) || a - b);
    const cut = new Uint8Array(flat.length);
    for (const i of byMagnitude.slice(0, Math.round(fraction * flat.length))) cut[i] = 1;
    let at = 0;
    for (const w of group) {
      for (let j = 0; j < w.length; j++) if (cut[at + j]) w[j] = 0;
      at += w.length;
    }
  }
  convs.forEach((name, i) => tensors.set(name, { dtype: 'f32', shape: model.tensors.get(name)!.shape, data: copies[i] }));
  return { ...model, tensors };
}

/** Top-1 / top-5 on the sample, each image's top-1, and agreement with `reference` top-1s. */
async function evaluate(model: ValidModel, reference?: Int32Array): Promise<{ top1: number; top5: number; agreement?: number; predictions: Int32Array }> {
  const net = await Classifier.fromModel(model, wasm, { decode: decodeImage });
  const predictions = new Int32Array(images.length);
  let top1 = 0;
  let top5 = 0;
  let agree = 0;
  images.forEach(({ bytes, label }, i) => {
    const { top } = net.classifySync(bytes, { top: 5 });
    predictions[i] = top[0].index;
    if (top[0].index === label) top1++;
    if (top.some((p) => p.index === label)) top5++;
    if (reference && reference[i] === top[0].index) agree++;
  });
  net.dispose();
  const n = images.length;
  return { top1: top1 / n, top5: top5 / n, agreement: reference ? agree / n : undefined, predictions };
}

const started = performance.now();
const elapsed = (): string => `${((performance.now() - started) / 1000).toFixed(0)} s`;
const rows: { scope: Scope | 'none'; sparsity: number; precision: 'f32' | 'int8'; top1: number; top5: number; agreement: number; fileBytes: number; rangeMethod?: string }[] = [];
let reference: Int32Array | undefined;
for (const [scope, sparsity] of [['none', 0] as const, ...scopes.flatMap((scope) => sparsities.map((p) => [scope, p] as const))]) {
  const model = scope === 'none' ? dense : validateModel(prune(dense, sparsity / 100, scope));
  const f32 = await evaluate(model, reference);
  reference ??= f32.predictions;
  rows.push({ scope, sparsity, precision: 'f32', top1: f32.top1, top5: f32.top5, agreement: f32.agreement ?? 1, fileBytes: writeModel(model).length });
  console.log(`${scope} ${sparsity} % f32 done (${elapsed()})`);
  const quantized = await quantizeModel(model, calibration, wasm);
  const int8 = await evaluate(quantized.model, reference);
  rows.push({ scope, sparsity, precision: 'int8', top1: int8.top1, top5: int8.top5, agreement: int8.agreement!, fileBytes: writeModel(quantized.model).length, rangeMethod: quantized.chosen });
  console.log(`${scope} ${sparsity} % int8 done (${elapsed()})`);
}

console.log(`\nSqueezeNet 1.1, magnitude pruning of every conv, ${images.length} images of ${sampleDir}; int8 calibrated on ${calibrationCount}\n`);
const pct = (v: number): string => fmt(100 * v, 1);
table(
  ['pruning', 'sparsity %', 'precision', 'top-1 %', 'top-5 %', 'top-1 agreement with unpruned f32 %', 'file bytes', 'range method'],
  rows.map((r) => [r.scope, String(r.sparsity), r.precision, pct(r.top1), pct(r.top5), pct(r.agreement), String(r.fileBytes), r.rangeMethod ?? '']),
  3,
);
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(
  packageFile('bench/out/prune.json'),
  JSON.stringify({ date: new Date().toISOString(), model: 'squeezenet1.1', pruning: 'smallest magnitude, every conv, per layer or global, no retraining', images: images.length, calibrationImages: calibrationCount, rows }, null, 1),
);

/**
 * `npm run eval:litert -- [dir] [--model squeezenet1.1 ...] [--int8-pool]`: LiteRT.js (the
 * `litert-wasm` peer of bench:compare) on labelled images: top-1 / top-5 of the f32 and int8 .tflite
 * files bench/peers/tflite-writer.ts writes from the bundled models, int8's top-1 agreement with
 * LiteRT f32 and with squeezewasm f32, and how far LiteRT f32's logits are from squeezewasm f32's.
 * Images are decoded and preprocessed exactly as `npm run eval` does (squeezewasm's decoder and
 * `preprocess`, the model's own input spec), and every runtime gets the same tensor. The folder
 * defaults to ../shared/imagenet-sample; an image's class is its synset's line in labels.txt.
 * `--int8-pool` adds the int8 variant whose global average pool is an int8 MEAN (see
 * tflite-writer.ts). Prints a table and writes bench/out/litert-eval.json.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import type * as litert from '@litertjs/core';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { loadClassifier, packageFile } from '../src/node.js';
import { topK } from '../src/runtime/output.js';
import { run } from '../src/runtime/run.js';
import { compileTflite, liteRtBuild, loadLiteRt, peerTflite } from './peers/litert.js';
import type { CompareModel } from './peers/peer.js';

const { values, positionals } = parseArgs({ options: { model: { type: 'string', multiple: true }, 'int8-pool': { type: 'boolean', default: false } }, allowPositionals: true });
const dir = positionals[0] ?? '../shared/imagenet-sample';
if (!existsSync(join(dir, 'labels.txt'))) {
  console.error(`eval:litert: ${dir}/labels.txt not found; pass the image folder: npm run eval:litert -- <dir>`);
  process.exit(1);
}
const synsets = readFileSync(join(dir, 'labels.txt'), 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(/\s+/)[0]);
const images = readdirSync(dir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((file) => ({ file, label: synsets.indexOf(file.split('_')[0]) }))
  .filter((x) => x.label >= 0);
const models = (values.model ?? ['squeezenet1.1', 'squeezenet1.0']) as CompareModel[];

/** One LiteRT variant's tallies over the images. */
interface Tally {
  name: string;
  compiled: litert.CompiledModel;
  top1: number;
  top5: number;
  /** Top-1 equal to LiteRT f32's and to squeezewasm f32's. */
  agreeLiteRtF32: number;
  agreeSqueezewasmF32: number;
  /** Largest max |logit - squeezewasm f32 logit| / logit range over the images. */
  maxRelativeDiff: number;
}

async function variants(model: CompareModel): Promise<Tally[]> {
  const specs: [string, Uint8Array][] = [
    ['litert f32', await peerTflite(model, 'f32')],
    ['litert int8', await peerTflite(model, 'int8')],
  ];
  if (values['int8-pool']) specs.push(['litert int8 (int8 MEAN)', await peerTflite(model, 'int8', { int8GlobalPool: true })]);
  const tallies: Tally[] = [];
  for (const [name, bytes] of specs) tallies.push({ name, compiled: await compileTflite(bytes), top1: 0, top5: 0, agreeLiteRtF32: 0, agreeSqueezewasmF32: 0, maxRelativeDiff: 0 });
  return tallies;
}

/** Runs `compiled` on one NHWC tensor and returns the logits. */
async function infer(compiled: litert.CompiledModel, input: litert.Tensor): Promise<Float32Array> {
  const [out] = await compiled.run([input]);
  const logits = new Float32Array(out.toTypedArray() as Float32Array);
  out.delete();
  return logits;
}

async function evaluate(model: CompareModel): Promise<Record<string, unknown>[]> {
  const reference = await loadClassifier(`${model}-f32`);
  const { height: h, width: w } = reference.input;
  const tallies = await variants(model);
  const { Tensor } = await import('@litertjs/core');
  const bar = new cliProgress.SingleBar({ format: `${model.padEnd(14)} {bar} {value}/{total}`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(images.length, 0);
  for (const [i, { file, label }] of images.entries()) {
    const pixels = decodeImage(new Uint8Array(readFileSync(join(dir, file))));
    const nhwc = new Float32Array(h * w * 3);
    preprocess(pixels.data, pixels.width, pixels.height, reference.model.input, nhwc);
    reference.setInput(pixels);
    const ours = run(reference.planned);
    const oursTop = topK(ours, 1)[0];
    const range = Math.max(...ours) - Math.min(...ours);
    const input = new Tensor(nhwc, [1, h, w, 3]);
    let f32Top = -1;
    for (const t of tallies) {
      const logits = await infer(t.compiled, input);
      const top = topK(logits, 5);
      if (f32Top < 0) f32Top = top[0];
      t.top1 += Number(top[0] === label);
      t.top5 += Number(top.includes(label));
      t.agreeLiteRtF32 += Number(top[0] === f32Top);
      t.agreeSqueezewasmF32 += Number(top[0] === oursTop);
      let diff = 0;
      for (let k = 0; k < ours.length; k++) diff = Math.max(diff, Math.abs(logits[k] - ours[k]));
      t.maxRelativeDiff = Math.max(t.maxRelativeDiff, diff / range);
    }
    input.delete();
    bar.update(i + 1);
  }
  bar.stop();
  reference.dispose();
  const n = images.length;
  return tallies.map((t) => {
    t.compiled.delete();
    return { model, variant: t.name, images: n, top1: t.top1 / n, top5: t.top5 / n, agreement_with_litert_f32: t.agreeLiteRtF32 / n, agreement_with_squeezewasm_f32: t.agreeSqueezewasmF32 / n, max_logit_diff_of_range: t.maxRelativeDiff };
  });
}

await loadLiteRt();
const results: Record<string, unknown>[] = [];
for (const model of models) results.push(...(await evaluate(model)));

const pct = (v: unknown): string => (100 * (v as number)).toFixed(1).padStart(7);
console.log(`\n${images.length} images from ${dir}; LiteRT.js ${liteRtBuild} build, one thread\n`);
console.log('model          variant                   top-1 %  top-5 %  top-1 = litert f32 %  top-1 = squeezewasm f32 %  max |logit diff| / range vs squeezewasm f32');
for (const r of results) {
  console.log(`${String(r.model).padEnd(14)} ${String(r.variant).padEnd(24)} ${pct(r.top1)}  ${pct(r.top5)}  ${pct(r.agreement_with_litert_f32).padStart(20)}  ${pct(r.agreement_with_squeezewasm_f32).padStart(25)}  ${(r.max_logit_diff_of_range as number).toExponential(2).padStart(12)}`);
}
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/litert-eval.json'), JSON.stringify({ dir, date: new Date().toISOString(), build: liteRtBuild, node: process.version, results }, null, 1));

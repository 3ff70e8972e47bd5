/**
 * `npm run eval:tflite -- [dir] [--limit n] [--steps image,...]`: the .tflite import (issue 19) on
 * labelled images, squeezewasm's half. Converts bench/out/tflite/squeezenet1.1-{f32,int8}.tflite
 * (written by scripts/make-tflite-fixtures.py with TensorFlow's converter from ../shared's ONNX
 * weights) with `convertTflite`, plans each in the library's Classifier and, for every image,
 * decodes and preprocesses it with squeezewasm's own pipeline (`setInput`, as `classify` does),
 * runs the network and records its top-1 and raw output: the float32 logits for f32, TFLite's int8
 * output values (the stored uint8 minus 128) for int8. The exact input tensor it fed is written to
 * bench/out/tflite-eval/<image>.<f32|int8>.bin (float32 NHWC little-endian; int8 NHWC = stored
 * uint8 - 128) beside index.json, so that `python3 scripts/tflite-eval.py` can run onnxruntime and
 * TFLite's reference interpreter on the same tensors and compare (bench/out/tflite-eval.json).
 * `--steps` also writes every int8 step's output (TFLite's int8 values) of the named images to
 * bench/out/tflite-eval/steps/<image>/, for `scripts/tflite-eval.py --diagnose`. The folder
 * defaults to ../shared/imagenet-sample; an image's class is its synset's line in labels.txt.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { Classifier } from '../src/classifier.js';
import { parseLabels } from '../src/convert/labels.js';
import { convertTflite } from '../src/convert/tflite.js';
import { decodeImage } from '../src/image/decode.js';
import { kernelsModule, packageFile } from '../src/node.js';
import { topK } from '../src/runtime/output.js';
import { run } from '../src/runtime/run.js';
import { ARRAY_OF, type Plan } from '../src/runtime/types.js';
import { readView } from '../src/runtime/view.js';

const { values, positionals } = parseArgs({
  options: { limit: { type: 'string' }, steps: { type: 'string' } },
  allowPositionals: true,
});
const dir = positionals[0] ?? '../shared/imagenet-sample';
if (!existsSync(join(dir, 'labels.txt'))) {
  console.error(`eval:tflite: ${dir}/labels.txt not found; pass the image folder: npm run eval:tflite -- <dir>`);
  process.exit(1);
}
const tfliteDir = packageFile('bench/out/tflite');
const VARIANTS = ['f32', 'int8'] as const;
type Variant = (typeof VARIANTS)[number];
const tfliteFile = (v: Variant): string => join(tfliteDir, `squeezenet1.1-${v}.tflite`);
for (const v of VARIANTS) {
  if (!existsSync(tfliteFile(v))) {
    console.error(`eval:tflite: ${tfliteFile(v)} not found; make it first: python3 scripts/make-tflite-fixtures.py`);
    process.exit(1);
  }
}

const synsets = readFileSync(join(dir, 'labels.txt'), 'utf8').split(/\r?\n/).filter(Boolean).map((l) => l.split(/\s+/)[0]);
const images = readdirSync(dir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((file) => ({ file, stem: file.replace(/\.[^.]+$/, ''), label: synsets.indexOf(file.split('_')[0]) }))
  .filter((x) => x.label >= 0)
  .slice(0, values.limit === undefined ? undefined : Number(values.limit));
const stepImages = new Set((values.steps ?? '').split(',').filter(Boolean).map((s) => s.replace(/\.[^.]+$/, '')));

const out = packageFile('bench/out/tflite-eval');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

/** The ImageNet preset: RGB, x/255, ImageNet mean and std, shorter side to 256, centre crop. */
const META_INPUT = { channelOrder: 'RGB', divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resizeShorter: 256 } as const;
const labels = parseLabels(readFileSync(packageFile('weights/imagenet-labels.txt'), 'utf8'));

async function load(v: Variant): Promise<{ net: Classifier; sha256: string; convertMs: number }> {
  const bytes = new Uint8Array(readFileSync(tfliteFile(v)));
  const t0 = performance.now();
  const model = convertTflite(bytes, {
    name: `squeezenet1.1-${v} (tflite)`,
    input: { ...META_INPUT, mean: [...META_INPUT.mean], std: [...META_INPUT.std] },
    labels,
    provenance: { source: basename(tfliteFile(v)), license: 'Apache-2.0 (ONNX model zoo squeezenet1.1-7), eval only' },
  });
  const convertMs = performance.now() - t0;
  const net = await Classifier.fromModel(model, await kernelsModule(), { decode: decodeImage });
  return { net, sha256: createHash('sha256').update(bytes).digest('hex'), convertMs };
}

/** The input slot as TFLite's input tensor: float32, or int8 (the stored uint8 minus 128). */
function inputTensor(plan: Plan): Float32Array | Int8Array {
  const { ptr, h, w, c, dtype } = plan.input;
  const slot = new ARRAY_OF[dtype](plan.kernels.memory.buffer, ptr, h * w * c);
  if (dtype === 'f32') return (slot as Float32Array).slice();
  if (dtype !== 'u8') throw new Error(`eval:tflite: an int8 input stored as ${dtype}, not u8`);
  return Int8Array.from(slot as Uint8Array, (u) => u - 128);
}

/** TFLite's raw output tensor: the float32 logits, or the int8 values (stored uint8 minus 128). */
function rawOutput(plan: Plan, logits: Float32Array): number[] {
  if (!plan.outputQuant) return [...logits];
  if (plan.output.dtype !== 'u8') throw new Error(`eval:tflite: an int8 output stored as ${plan.output.dtype}, not u8`);
  return [...new Uint8Array(plan.kernels.memory.buffer, plan.output.ptr, plan.output.c)].map((u) => u - 128);
}

/** Runs the plan step by step, writing every step's output (int8: stored uint8 minus 128) under steps/<stem>/. */
function runDumpingSteps(plan: Plan, stem: string): Float32Array {
  const to = join(out, 'steps', stem);
  mkdirSync(to, { recursive: true });
  const index = plan.steps.map((step, i) => {
    step.run();
    const v = step.output;
    const values = readView(plan.kernels.memory.buffer, v);
    const file = `${String(i).padStart(3, '0')}.bin`;
    const bytes = v.dtype === 'u8' ? Int8Array.from(values as Uint8Array, (u) => u - 128) : values;
    writeFileSync(join(to, file), new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { step: i, name: step.name, op: step.op, file, dtype: v.dtype === 'u8' ? 'int8' : v.dtype, shape: [v.h, v.w, v.c] };
  });
  writeFileSync(join(to, 'steps.json'), JSON.stringify(index, null, 1));
  return run(plan, plan.steps.length);
}

interface Row {
  file: string;
  label: number;
  f32?: { top1: number; output: number[]; input: string };
  int8?: { top1: number; output: number[]; input: string };
}
const rows: Row[] = images.map(({ file, label }) => ({ file, label }));
const summary: Record<string, unknown> = {};
const started = performance.now();
for (const v of VARIANTS) {
  const { net, sha256, convertMs } = await load(v);
  const plan = net.planned;
  const bar = new cliProgress.SingleBar({ format: `squeezenet1.1-${v.padEnd(5)} {bar} {value}/{total} top-1 {top1}%`, hideCursor: true }, cliProgress.Presets.shades_classic);
  bar.start(images.length, 0, { top1: '0.0' });
  let top1 = 0;
  let ms = 0;
  for (const [i, { file, stem, label }] of images.entries()) {
    const bytes = new Uint8Array(readFileSync(join(dir, file)));
    const t0 = performance.now();
    net.setInput(bytes);
    // Read before running: the arena reuses the input slot for later activations.
    const x = inputTensor(plan);
    const logits = v === 'int8' && stepImages.has(stem) ? runDumpingSteps(plan, stem) : run(plan);
    ms += performance.now() - t0;
    const output = rawOutput(plan, logits);
    const top = topK(output, 1)[0];
    const input = `${stem}.${v}.bin`;
    writeFileSync(join(out, input), new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
    rows[i][v] = { top1: top, output, input };
    top1 += Number(top === label);
    bar.update(i + 1, { top1: ((100 * top1) / (i + 1)).toFixed(1) });
  }
  bar.stop();
  summary[v] = {
    file: `bench/out/tflite/${basename(tfliteFile(v))}`,
    sha256,
    convert_ms: convertMs,
    input: { dtype: v === 'f32' ? 'float32' : 'int8', shape: [1, plan.input.h, plan.input.w, plan.input.c], ...(plan.inputQuant ? { scale: plan.inputQuant.scale, zero_point: plan.inputQuant.zeroPoint - 128 } : {}) },
    output: { dtype: v === 'f32' ? 'float32' : 'int8', shape: [1, plan.output.c], ...(plan.outputQuant ? { scale: plan.outputQuant.scale, zero_point: plan.outputQuant.zeroPoint - 128 } : {}) },
    steps: plan.steps.length,
    top1: top1 / images.length,
    ms_per_image: ms / images.length,
  };
  net.dispose();
}

writeFileSync(join(out, 'index.json'), JSON.stringify({
  about: 'bench/tflite-eval.ts: squeezewasm on the imported .tflite files; inputs are the exact tensors fed (NHWC, little-endian), outputs the raw output tensors (int8: TFLite values)',
  dir, date: new Date().toISOString(), node: process.version, models: summary, images: rows,
}));
const pct = (v: unknown): string => (100 * (v as number)).toFixed(1);
console.log(`\n${images.length} images from ${dir} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
for (const v of VARIANTS) {
  const s = summary[v] as { top1: number; ms_per_image: number; convert_ms: number; steps: number };
  console.log(`squeezenet1.1-${v} (tflite): top-1 ${pct(s.top1)} %, ${s.ms_per_image.toFixed(1)} ms/image (decode, preprocess, run), converted in ${s.convert_ms.toFixed(0)} ms, ${s.steps} steps`);
}
console.log(`wrote ${out}/index.json and ${images.length * VARIANTS.length} input tensors; next: python3 scripts/tflite-eval.py`);

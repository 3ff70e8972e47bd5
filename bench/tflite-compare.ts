/**
 * squeezewasm against LiteRT.js on identical .tflite files made by TensorFlow's own converter
 * (issue 19): squeezewasm runs what `convertTflite` makes of the file's bytes, LiteRT.js (XNNPACK in
 * WebAssembly, one thread) runs the bytes themselves.
 *
 * `npm run bench:tflite [-- --turns 200 --warmup 5]`, or under another Node:
 * `<node> node_modules/.bin/tsx bench/tflite-compare.ts`.
 *
 * Files: SqueezeNet 1.1 float32 and int8 (bench/out/tflite/, made by
 * `python3 scripts/make-tflite-fixtures.py --shared ../shared`; exit 2 if they are missing),
 * preset imagenet, 224x224; and the small Keras SqueezeNet fixtures of test/fixtures/tflite/
 * (96x96, 5 classes, (p - 128) / 128).
 *
 * Both runtimes get the same input tensor: squeezewasm decodes and preprocesses each image of
 * test/fixtures/images into its input slot, and that slot (float32, or its uint8 minus 128 for an
 * int8 input) is what LiteRT.js is fed. Both return the file's output tensor (logits, or softmax
 * where the file ends in one; int8 values for int8 outputs).
 *
 * Agreement, per file over the images: float, max |output difference| as a fraction of
 * squeezewasm's output range; int8, the fraction of output elements equal to squeezewasm's (which
 * are bit-identical to TFLite's reference kernels; LiteRT.js's XNNPACK is not those kernels, so
 * differences are expected) and the largest difference. Top-1 agreement for both.
 *
 * Timing: on the first image, the four contenders of each network (squeezewasm and LiteRT.js, int8
 * and f32) each run once per turn in this one process, as bench/peers/litert.ts's timeTurns does:
 * warm-up turns, then timed ones; median, p10, p90, min and LiteRT.js / squeezewasm. Rows go to
 * bench/out/tflite-compare.json, one set per Node major version.
 *
 * LiteRT.js 2.5's JavaScript API cannot run these files: its Tensor type has no int8, and the
 * converter writes a dynamic batch (shape signature [-1, H, W, 3]) that its input check compares
 * literally against the [1, H, W, 3] buffer it is given. So this bench drives the same compiled
 * model one layer down, through the embind objects the JavaScript API wraps ({@link LiteRtSession}):
 * the same `compileModel` and `run` calls, without the Tensor wrapper.
 * @packageDocumentation
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as litert from '@litertjs/core';
import type { Classifier } from '../src/classifier.js';
import type { ConvertMeta } from '../src/convert/common.js';
import { parseLabels } from '../src/convert/labels.js';
import { convertTflite } from '../src/convert/tflite.js';
import { writeModel } from '../src/model/write.js';
import { loadClassifier, packageFile } from '../src/node.js';
import { softmax, tfliteSoftmaxOutput, topK } from '../src/runtime/output.js';
import { run } from '../src/runtime/run.js';
import type { Plan } from '../src/runtime/types.js';
import { relaxedSimdSupported } from '../src/wasm/kernels.js';
import { liteRtBuild, loadLiteRt } from './peers/litert.js';
import { fmt, stats, table, type Stats } from './stats.js';

const { values } = parseArgs({ options: { turns: { type: 'string', default: '200' }, warmup: { type: 'string', default: '5' } } });
const turns = Number(values.turns);
const warmup = Number(values.warmup);
if (!Number.isInteger(turns) || turns < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error('--turns must be an integer >= 1 and --warmup >= 0');

/** One network as a float32 and an int8 .tflite file, with what squeezewasm's converter needs beside them. */
interface Network {
  model: string;
  files: Record<'f32' | 'int8', string>;
  input: ConvertMeta['input'];
  labels: () => string[];
}

const NETWORKS: Network[] = [
  {
    model: 'squeezenet1.1',
    files: { f32: 'bench/out/tflite/squeezenet1.1-f32.tflite', int8: 'bench/out/tflite/squeezenet1.1-int8.tflite' },
    // The CLI's --preset imagenet.
    input: { channelOrder: 'RGB', divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resizeShorter: 256 },
    labels: () => parseLabels(readFileSync(packageFile('weights/imagenet-labels.txt'), 'utf8')),
  },
  {
    model: 'keras-squeezenet',
    files: { f32: 'test/fixtures/tflite/keras-squeezenet-f32.tflite', int8: 'test/fixtures/tflite/keras-squeezenet-int8.tflite' },
    // (p - 128) / 128; the resize is the CLI's default for a 96x96 .tflite input (96 x 256 / 224).
    input: { channelOrder: 'RGB', divisor: 1, mean: [128, 128, 128], std: [128, 128, 128], resizeShorter: 110 },
    labels: () => Array.from({ length: 5 }, (_, i) => `c${i}`),
  },
];

/** Exits 2 with the command that makes them if any file is missing. */
function checkFiles(): void {
  const missing = NETWORKS.flatMap((n) => Object.values(n.files)).filter((f) => !existsSync(packageFile(f)));
  if (!missing.length) return;
  console.error(`missing: ${missing.join(', ')}\nmake them with TensorFlow's converter: python3 scripts/make-tflite-fixtures.py --shared ../shared`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------------
// LiteRT.js below its JavaScript API

/** The parts of LiteRT.js's embind module this bench calls (`getGlobalLiteRt().liteRtWasm`). */
interface Embind {
  HEAPU8: Uint8Array;
  _malloc(n: number): number;
  _free(ptr: number): void;
  loadModel(env: unknown, ptr: number, n: number): EmbindModel;
  compileModel(env: unknown, model: EmbindModel, options: object): Promise<EmbindCompiled>;
  VectorInt32: new () => { push_back(v: number): void; delete(): void };
  LiteRtLayout: { create(dims: unknown): Deletable };
  LiteRtRankedTensorType: { create(type: { value: number }, layout: unknown): Deletable & { bytes(): number } };
  LiteRtTensorBuffer: { createManaged(env: unknown, bufferType: unknown, type: unknown, bytes: number): EmbindBuffer };
  LiteRtTensorBufferType: { HOST_MEMORY: unknown };
  LiteRtTensorBufferLockMode: { READ: unknown; WRITE: unknown };
}
interface Deletable {
  delete(): void;
}
interface EmbindTensorType extends Deletable {
  elementType(): { value: number };
  layout(): Deletable & { dimensions(): Deletable & { size(): number; get(i: number): number } };
}
interface EmbindModel extends Deletable {
  getInputTensorType(signature: number, i: number): EmbindTensorType;
  getOutputTensorType(signature: number, i: number): EmbindTensorType;
}
interface EmbindCompiled extends Deletable {
  run(signature: number, inputs: EmbindBuffer[]): Promise<EmbindBuffer[]>;
  isFullyAccelerated(): boolean;
}
interface EmbindBuffer extends Deletable {
  lock(mode: unknown): number;
  unlock(): void;
  packedSize(): number;
}

/** LiteRT's element types that these files use (litert_model.h's LiteRtElementType). */
const ELEMENT = { f32: 1, int8: 9 } as const;

/** A .tflite file compiled by LiteRT.js for the CPU on one thread, with its input buffer. */
interface LiteRtSession {
  /** Whether every op runs in XNNPACK (TFLite's own kernels run the rest). */
  fullyAccelerated: boolean;
  /** Copies `input` (float32, or int8 for an int8 input) into the input buffer. */
  setInput(input: Float32Array | Int8Array): void;
  /** One inference; returns the first output, copied out. */
  run(): Promise<Float32Array | Int8Array>;
  dispose(): void;
}

/** The tensor type's dimensions, a dynamic batch (-1) made 1. */
function staticShape(type: EmbindTensorType): number[] {
  const layout = type.layout();
  const dims = layout.dimensions();
  const shape = Array.from({ length: dims.size() }, (_, i) => Math.max(1, dims.get(i)));
  dims.delete();
  layout.delete();
  return shape;
}

/** A buffer in LiteRT's memory for one batch of the model's input, of its element type. */
function inputBuffer(w: Embind, env: unknown, model: EmbindModel): { buffer: EmbindBuffer; element: number; bytes: number } {
  const type = model.getInputTensorType(0, 0);
  const element = type.elementType().value;
  const vector = new w.VectorInt32();
  for (const d of staticShape(type)) vector.push_back(d);
  type.delete();
  const layout = w.LiteRtLayout.create(vector);
  vector.delete();
  const ranked = w.LiteRtRankedTensorType.create({ value: element }, layout);
  layout.delete();
  const bytes = ranked.bytes();
  const buffer = w.LiteRtTensorBuffer.createManaged(env, w.LiteRtTensorBufferType.HOST_MEMORY, ranked, bytes);
  ranked.delete();
  return { buffer, element, bytes };
}

/** Copies a LiteRT buffer out as the typed array of `element`. */
function readBuffer(w: Embind, buffer: EmbindBuffer, element: number): Float32Array | Int8Array {
  const ptr = buffer.lock(w.LiteRtTensorBufferLockMode.READ);
  try {
    const bytes = w.HEAPU8.slice(ptr, ptr + buffer.packedSize());
    return element === ELEMENT.f32 ? new Float32Array(bytes.buffer) : new Int8Array(bytes.buffer);
  } finally {
    buffer.unlock();
  }
}

/** Compiles `bytes` as `litert.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: 1 } })` does. */
async function liteRtSession(bytes: Uint8Array): Promise<LiteRtSession> {
  await loadLiteRt();
  const global = litert.getGlobalLiteRt();
  const w = (global as unknown as { liteRtWasm: Embind }).liteRtWasm;
  const environment = global.getDefaultEnvironment();
  const env = environment.liteRtEnvironment;
  // The model keeps pointing into these bytes: they stay in LiteRT's memory until dispose.
  const ptr = w._malloc(bytes.byteLength);
  w.HEAPU8.set(bytes, ptr);
  const model = w.loadModel(env, ptr, bytes.byteLength);
  const compiled = await w.compileModel(env, model, { environment, accelerator: 'wasm', cpuOptions: { numThreads: 1 }, gpuOptions: {}, webNNOptions: {} });
  const input = inputBuffer(w, env, model);
  const outType = model.getOutputTensorType(0, 0);
  const outElement = outType.elementType().value;
  outType.delete();
  for (const e of [input.element, outElement]) if (e !== ELEMENT.f32 && e !== ELEMENT.int8) throw new Error(`litert-wasm: element type ${e} is neither float32 nor int8`);
  return {
    fullyAccelerated: compiled.isFullyAccelerated(),
    setInput: (data) => {
      if (data.byteLength !== input.bytes || (data instanceof Float32Array) !== (input.element === ELEMENT.f32)) throw new Error(`litert-wasm: the input takes ${input.bytes} bytes of element type ${input.element}`);
      const at = input.buffer.lock(w.LiteRtTensorBufferLockMode.WRITE);
      w.HEAPU8.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      input.buffer.unlock();
    },
    run: async () => {
      const outputs = await compiled.run(0, [input.buffer]);
      try {
        return readBuffer(w, outputs[0], outElement);
      } finally {
        for (const o of outputs) o.delete();
      }
    },
    dispose: () => {
      input.buffer.delete();
      compiled.delete();
      model.delete();
      w._free(ptr);
    },
  };
}

// ---------------------------------------------------------------------------------------------
// squeezewasm

/** squeezewasm on the converted file, as the CLI makes it: convertTflite, written as .sqz, loaded. */
async function squeezewasmOf(net: Network, precision: 'f32' | 'int8'): Promise<Classifier> {
  const file = net.files[precision];
  const model = convertTflite(readFileSync(packageFile(file)), {
    name: basename(file, '.tflite'),
    input: net.input,
    labels: net.labels(),
    provenance: { source: file, license: 'benchmark input' },
  });
  return loadClassifier(writeModel(model));
}

/**
 * The input slot as LiteRT.js is fed it: the float32 tensor, or TFLite's int8 (the stored uint8
 * minus 128, docs/tflite.md).
 */
function slotTensor(plan: Plan): Float32Array | Int8Array {
  const { ptr, h, w, dtype } = plan.input;
  const memory = plan.kernels.memory.buffer;
  if (dtype === 'f32') return new Float32Array(memory, ptr, h * w * 3).slice();
  if (dtype !== 'u8') throw new Error(`squeezewasm: an imported int8 input is u8, this one is ${dtype}`);
  return Int8Array.from(new Uint8Array(memory, ptr, h * w * 3), (u) => u - 128);
}

/**
 * One inference, returning the file's output tensor: a final softmax as the file computes it (TFLite's
 * int8 one for int8 models), int8 outputs as TFLite's int8 values, float ones as they are.
 */
function squeezewasmOutput(plan: Plan): Float32Array | Int8Array {
  const logits = run(plan);
  if (plan.tfliteSoftmax) return tfliteSoftmaxOutput(plan);
  if (plan.outputQuant) {
    if (plan.output.dtype !== 'u8') throw new Error(`squeezewasm: an imported int8 output is u8, this one is ${plan.output.dtype}`);
    return Int8Array.from(new Uint8Array(plan.kernels.memory.buffer, plan.output.ptr, plan.output.c), (u) => u - 128);
  }
  return plan.endsInSoftmax ? softmax(logits) : logits;
}

// ---------------------------------------------------------------------------------------------
// Agreement

/** The agreement of LiteRT.js's outputs with squeezewasm's over the images. */
interface Agreement {
  images: number;
  top1: number;
  /** float: max |difference| / squeezewasm's output range; int8: the fraction of equal elements. */
  value: number;
  /** The largest |difference| (int8: in quantized steps). */
  maxDiff: number;
}

/** Both runtimes on every fixture image, each fed the tensor squeezewasm's preprocessing made. */
async function agreement(classifier: Classifier, session: LiteRtSession, int8: boolean): Promise<Agreement> {
  const dir = packageFile('test/fixtures/images');
  const a: Agreement = { images: 0, top1: 0, value: 0, maxDiff: 0 };
  let equal = 0;
  let elements = 0;
  for (const file of readdirSync(dir).sort()) {
    classifier.setInput(readFileSync(join(dir, file)));
    session.setInput(slotTensor(classifier.planned));
    const [ours, theirs] = [squeezewasmOutput(classifier.planned), await session.run()];
    if (ours.length !== theirs.length) throw new Error(`${file}: squeezewasm gives ${ours.length} outputs, LiteRT.js ${theirs.length}`);
    let max = 0;
    for (let i = 0; i < ours.length; i++) {
      const d = Math.abs(ours[i] - theirs[i]);
      max = Math.max(max, d);
      equal += Number(d === 0);
    }
    elements += ours.length;
    const range = Math.max(...ours) - Math.min(...ours);
    if (!int8) a.value = Math.max(a.value, max / range);
    a.maxDiff = Math.max(a.maxDiff, max);
    a.top1 += Number(topK(ours, 1)[0] === topK(theirs, 1)[0]);
    a.images++;
  }
  if (int8) a.value = equal / elements;
  return a;
}

const agreementText = (a: Agreement, int8: boolean): string =>
  int8
    ? `${(100 * a.value).toFixed(1)}% of elements equal, max |diff| ${a.maxDiff} steps`
    : `max |diff| ${a.maxDiff.toExponential(2)} = ${a.value.toExponential(2)} of range`;

// ---------------------------------------------------------------------------------------------
// Timing

/** One contender of the turns: a name and one inference. */
interface Contender {
  runtime: 'squeezewasm' | 'litert-wasm';
  precision: 'f32' | 'int8';
  run: () => unknown;
}

/** Every contender once per turn, `warmup` turns untimed; the samples of each. */
async function timeTurns(contenders: Contender[]): Promise<number[][]> {
  const ms = contenders.map(() => [] as number[]);
  for (let turn = -warmup; turn < turns; turn++) {
    for (const [i, c] of contenders.entries()) {
      const t0 = performance.now();
      await c.run();
      if (turn >= 0) ms[i].push(performance.now() - t0);
    }
  }
  return ms;
}

/** A row of bench/out/tflite-compare.json. */
interface Row {
  runtime: string;
  model: string;
  precision: string;
  median_ms: number;
  p10_ms: number;
  p90_ms: number;
  min_ms: number;
  /** The wasm build: squeezewasm's kernels, LiteRT.js's XNNPACK. */
  build: string;
  node: string;
}

/** One network: agreement per file, then its four contenders taking turns on the first image. */
async function benchNetwork(net: Network): Promise<{ rows: Row[]; lines: string[][] }> {
  const dir = packageFile('test/fixtures/images');
  const first = readFileSync(join(dir, readdirSync(dir).sort()[0]));
  const contenders: Contender[] = [];
  const lines: string[][] = [];
  const loaded: { classifier: Classifier; session: LiteRtSession }[] = [];
  for (const precision of ['int8', 'f32'] as const) {
    const classifier = await squeezewasmOf(net, precision);
    const session = await liteRtSession(readFileSync(packageFile(net.files[precision])));
    loaded.push({ classifier, session });
    const a = await agreement(classifier, session, precision === 'int8');
    lines.push([basename(net.files[precision]), `${a.top1}/${a.images}`, agreementText(a, precision === 'int8'), session.fullyAccelerated ? 'all ops' : 'not all ops', precision === 'int8' ? classifier.planned.int8Dot : '']);
    // The timed input: the first image, in both runtimes' input buffers for the whole run.
    classifier.setInput(first);
    session.setInput(slotTensor(classifier.planned));
    const plan = classifier.planned;
    contenders.push({ runtime: 'squeezewasm', precision, run: () => squeezewasmOutput(plan) }, { runtime: 'litert-wasm', precision, run: () => session.run() });
  }
  const samples = await timeTurns(contenders);
  const rows = contenders.map((c, i) => row(net.model, c, stats(samples[i])));
  for (const { classifier, session } of loaded) {
    classifier.dispose();
    session.dispose();
  }
  return { rows, lines };
}

function row(model: string, c: Contender, s: Stats): Row {
  const build = c.runtime === 'squeezewasm' ? (relaxedSimdSupported() ? 'relaxed' : 'plain') : (liteRtBuild ?? '?');
  const r = (v: number): number => Math.round(v * 1000) / 1000;
  return { runtime: c.runtime, model, precision: c.precision, median_ms: r(s.median), p10_ms: r(s.p10), p90_ms: r(s.p90), min_ms: r(s.min), build, node: process.version };
}

/** The timing table: each row, and on LiteRT.js's rows its median and min over squeezewasm's. */
function printTiming(rows: Row[]): void {
  const body = rows.map((r) => {
    const ours = rows.find((o) => o.runtime === 'squeezewasm' && o.model === r.model && o.precision === r.precision)!;
    const ratio = r.runtime === 'squeezewasm' ? ['', ''] : [`${(r.median_ms / ours.median_ms).toFixed(2)}x`, `${(r.min_ms / ours.min_ms).toFixed(2)}x`];
    return [r.model, r.precision, r.runtime, r.build, fmt(r.median_ms), fmt(r.p10_ms), fmt(r.p90_ms), fmt(r.min_ms), ...ratio];
  });
  table(['model', 'precision', 'runtime', 'build', 'median ms', 'p10', 'p90', 'min', 'litert/sqz median', 'litert/sqz min'], body, 4);
}

/** Keeps other Node major versions' rows in the file, as bench/compare.ts does with results.json. */
function writeRows(rows: Row[]): string {
  const file = packageFile('bench/out/tflite-compare.json');
  const major = (node: string): number => Number(/^v(\d+)/.exec(node)?.[1]);
  const kept = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Row[]).filter((r) => major(r.node) !== major(process.version)) : [];
  mkdirSync(packageFile('bench/out'), { recursive: true });
  writeFileSync(file, `${JSON.stringify([...kept, ...rows].sort((a, b) => major(a.node) - major(b.node)), null, 1)}\n`);
  return file;
}

async function main(): Promise<void> {
  checkFiles();
  await loadLiteRt();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`Node ${process.version}, ${cpu}, ${os.cpus().length} logical CPUs; squeezewasm ${relaxedSimdSupported() ? 'relaxed' : 'plain'} SIMD build, LiteRT.js ${liteRtBuild} build, one thread\n`);
  const rows: Row[] = [];
  const lines: string[][] = [];
  for (const net of NETWORKS) {
    const r = await benchNetwork(net);
    rows.push(...r.rows);
    lines.push(...r.lines);
  }
  console.log('Agreement of LiteRT.js with squeezewasm (squeezewasm int8 = TFLite\'s reference kernels, bit for bit):');
  table(['file', 'top-1', 'output', 'XNNPACK runs', 'sqz int8 dot'], lines, 5);
  console.log(`Timing: ${turns} turns after ${warmup} warm-up, contenders of a network taking turns in this process, on the first fixture image:`);
  printTiming(rows);
  console.log(`wrote ${writeRows(rows)}`);
}

await main();

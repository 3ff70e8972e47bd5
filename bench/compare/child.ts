/**
 * One contender of `npm run bench:compare` in a process of its own, so that its cold start and
 * memory are its own too. The parent spawns it as
 *
 * ```sh
 * <node> --import tsx bench/compare/child.ts --runtime squeezewasm|onnxruntime-web|tfjs-wasm|litert-wasm --model squeezenet1.1 --precision int8 \
 *   --input <NHWC float32 file> --runs 14 --warmup 5 [--layers] [--shared ../shared] [--reference <logits file>] --out <result.json>
 * <node> --import tsx bench/compare/child.ts --peaks --out <result.json>
 * ```
 *
 * and reads a {@link ContenderResult} or {@link PeaksResult} (or `{ error }`) from `--out`. With
 * `--reference`, the first output is compared with squeezewasm f32's logits before any timing
 * ({@link checkReference}); an f32 peer that differs fails instead of being timed.
 * @packageDocumentation
 */
import type { Peak } from '../roofline.js';
import type { CompareModel, Peer } from '../peers/peer.js';
import type { SqueezewasmPeer } from '../peers/squeezewasm.js';

// Read before anything is loaded: static imports would run before this line, so every module
// below is imported dynamically. performance.now() counts from the start of the process.
const bootMs = performance.now();
const bootRssKiB = process.resourceUsage().maxRSS;

/** The samples of one layer (a step of squeezewasm's plan with MACs). */
export interface LayerSamples {
  name: string;
  /** Kernel, stride and channels, e.g. `3×3/2 3→64`. */
  shape: string;
  macs: number;
  ms: number[];
}

/** What one contender process measured. */
export interface ContenderResult {
  /** `process.version` of the Node that ran it. */
  node: string;
  /** Timed runs after warm-up, ms each. */
  samples: number[];
  /** From process start to this module's first line: Node and the TypeScript loader starting. */
  bootMs: number;
  /** From process start through import, instantiation, model load and the first output. */
  coldStartMs: number;
  /** Peak resident set size (KiB) when the module started, and at the end. */
  bootRssKiB: number;
  peakRssKiB: number;
  /** Index of the largest output. */
  top1: number;
  /** Which of its wasm builds the runtime loaded, where it has several (LiteRT.js: `relaxed` or `simd`). */
  build?: string;
  /** With `--reference`: the first output against squeezewasm f32's logits. */
  reference?: ReferenceCheck;
  /** squeezewasm with `--layers`: each layer's time over as many `runTimed` runs as `--runs`. */
  layers?: LayerSamples[];
}

/** A peer's first output against squeezewasm f32's logits on the same input. */
export interface ReferenceCheck {
  /** max |output - reference| */
  maxAbsDiff: number;
  /** max - min of the reference: the scale `maxAbsDiff` is judged against. */
  range: number;
  /** The reference's top-1 (the result's own is `top1`). */
  top1: number;
}

/** The instruction peaks, measured in a process of their own (the same Node as the contenders). */
export interface PeaksResult {
  node: string;
  peaks: Peak[];
}

const { parseArgs } = await import('node:util');
const { readFile, writeFile } = await import('node:fs/promises');
const { values } = parseArgs({
  options: {
    runtime: { type: 'string' },
    model: { type: 'string' },
    precision: { type: 'string' },
    input: { type: 'string' },
    runs: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '5' },
    shared: { type: 'string', default: '../shared' },
    layers: { type: 'boolean', default: false },
    reference: { type: 'string' },
    peaks: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
if (!values.out) throw new Error('child.ts: --out <file> is required');
const out = values.out;

async function createPeer(runtime: string, model: CompareModel, precision: 'f32' | 'int8', input: Float32Array): Promise<Peer> {
  switch (runtime) {
    case 'squeezewasm':
      return (await import('../peers/squeezewasm.js')).createSqueezewasmPeer(model, precision, input);
    case 'onnxruntime-web':
      return (await import('../peers/ort.js')).createOrtPeer(model, precision, input, values.shared);
    case 'tfjs-wasm':
      if (precision !== 'f32') throw new Error('tfjs-wasm runs f32 only');
      return (await import('../peers/tfjs.js')).createTfjsPeer(model, input);
    case 'litert-wasm':
      return (await import('../peers/litert.js')).createLiteRtPeer(model, precision, input);
    default:
      throw new Error(`unknown runtime ${runtime}`);
  }
}

/** Per-layer timings of squeezewasm's plan, convolutions only (the steps with MACs). */
function timeLayers(peer: SqueezewasmPeer, runs: number): LayerSamples[] {
  const { steps } = peer.classifier.planned;
  const ops = peer.classifier.model.ops;
  const layers = steps.flatMap((step, i) => {
    const op = ops.find((o) => o.output === step.name);
    if (!step.macs || op?.op !== 'conv') return [];
    const stride = op.stride[0] > 1 ? `/${op.stride[0]}` : '';
    return [{ i, layer: { name: step.name, shape: `${op.kernel[0]}×${op.kernel[1]}${stride} ${step.inputs[0].c}→${step.output.c}`, macs: step.macs, ms: [] as number[] } }];
  });
  for (let r = 0; r < runs; r++) {
    const { ms } = peer.classifier.runTimed(() => performance.now());
    for (const { i, layer } of layers) layer.ms.push(ms[i]);
  }
  return layers.map((l) => l.layer);
}

const argmax = (xs: Float32Array): number => xs.reduce((best, v, i) => (v > xs[best] ? i : best), 0);

/**
 * Compares a peer's first output with squeezewasm f32's logits (a file of float32s).
 * @throws Error if an f32 peer's top-1 differs or its max |diff| exceeds F32_LOGIT_TOLERANCE (bench/peers/peer.ts) of the range.
 */
async function checkReference(logits: Float32Array, file: string, precision: 'f32' | 'int8'): Promise<ReferenceCheck> {
  const { F32_LOGIT_TOLERANCE } = await import('../peers/peer.js');
  const ref = new Float32Array(new Uint8Array(await readFile(file)).buffer);
  if (ref.length !== logits.length) throw new Error(`the output has ${logits.length} values, squeezewasm f32's ${ref.length}`);
  let maxAbsDiff = 0;
  for (let i = 0; i < ref.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(logits[i] - ref[i]));
  const check = { maxAbsDiff, range: Math.max(...ref) - Math.min(...ref), top1: argmax(ref) };
  if (precision === 'f32' && (check.top1 !== argmax(logits) || maxAbsDiff > F32_LOGIT_TOLERANCE * check.range)) {
    throw new Error(`f32 output differs from squeezewasm f32's: top-1 ${argmax(logits)} vs ${check.top1}, max |diff| ${maxAbsDiff.toExponential(2)} of range ${check.range.toFixed(2)}`);
  }
  return check;
}

async function contender(): Promise<ContenderResult> {
  const { runtime, model, precision, input: inputFile } = values;
  if (!runtime || !model || !inputFile || (precision !== 'f32' && precision !== 'int8')) {
    throw new Error('child.ts: --runtime, --model, --precision f32|int8 and --input are required');
  }
  const runs = Number(values.runs);
  const warmup = Number(values.warmup);
  // A copy, so that the floats are aligned whatever the file buffer's offset.
  const input = new Float32Array(new Uint8Array(await readFile(inputFile)).buffer);
  const peer = await createPeer(runtime, model as CompareModel, precision, input);
  // A fresh peer's logits() is its first inference (some peers run again on each call).
  const logits = await peer.logits();
  const coldStartMs = performance.now();
  const top1 = argmax(logits);
  const reference = values.reference ? await checkReference(logits, values.reference, precision) : undefined;

  for (let i = 0; i < warmup; i++) await peer.run();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await peer.run();
    samples.push(performance.now() - t0);
  }
  // After the whole-network samples, so that they are not interleaved with timer calls.
  const layers = values.layers && runtime === 'squeezewasm' ? timeLayers(peer as SqueezewasmPeer, runs) : undefined;
  const peakRssKiB = process.resourceUsage().maxRSS;
  await peer.dispose();
  return { node: process.version, samples, bootMs, coldStartMs, bootRssKiB, peakRssKiB, top1, layers, build: peer.build, reference };
}

async function peaks(): Promise<PeaksResult> {
  const { measurePeaks } = await import('../roofline.js');
  return { node: process.version, peaks: await measurePeaks() };
}

try {
  await writeFile(out, JSON.stringify(values.peaks ? await peaks() : await contender()));
} catch (e) {
  await writeFile(out, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
  console.error(e);
  process.exitCode = 1;
}
// A runtime may leave handles open (wasm threads, timers): the measurement is over either way.
process.exit();

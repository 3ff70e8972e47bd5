/**
 * `npm run soak [-- --inferences 100000 --cycles 1000 --model squeezenet1.1-int8 --out bench/out --chart bench/charts/soak.svg]`:
 * does memory stay flat over a long run? Two phases in one process:
 *
 * 1. inferences: `classify()` on one classifier, rotating the fixture images as JPEG/PNG bytes, as
 *    RGBA in a Uint8Array and in a Uint8ClampedArray, with a bad input (corrupt JPEG or PNG, bytes
 *    that are no image, RGBA of the wrong length) after every {@link BAD_EVERY}th, which must throw
 *    its typed error: error paths must not leak either.
 * 2. cycles: load a bundled model (the four in turn), classify one image, dispose.
 *
 * Every result is checked: its top-1 against the golden (test/fixtures/goldens) and its logits bit
 * for bit against the first classification of the same image by the same model. About
 * {@link SAMPLES} times per phase, after a forced GC (`npm run soak` runs under --expose-gc), it
 * samples RSS, the V8 heap, external memory and wasm memory. Verdicts as in {@link judge}. Prints
 * tables, writes `<out>/soak.json` and the chart; exits 1 unless every phase is flat and every
 * result right.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import {
  BUNDLED_MODELS, DEFAULT_MODEL, SqueezeError, decodeImage, loadClassifier, packageFile, type Classifier, type ImageInput,
} from '../src/node.js';
import { lineChart, type LinePanel } from './compare/svg.js';
import { fmt, linearFit, stats, table } from './stats.js';

const { values } = parseArgs({
  options: {
    inferences: { type: 'string', default: '100000' },
    cycles: { type: 'string', default: '1000' },
    model: { type: 'string', default: DEFAULT_MODEL },
    out: { type: 'string', default: packageFile('bench/out') },
    chart: { type: 'string', default: packageFile('bench/charts/soak.svg') },
  },
});
const count = (name: string, v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer, got ${v}`);
  return n;
};
const inferences = count('inferences', values.inferences);
const cycles = count('cycles', values.cycles);

/** Samples per phase (plus one at its start). */
const SAMPLES = 200;
/** A bad input follows every this many inferences. */
const BAD_EVERY = 20;
/** The first 10 % of a phase is warm-up (V8 tiers up, heaps settle); the verdict ignores it. */
const WARMUP = 0.1;
/** The baseline is the median over the window of this size after warm-up; the end, over the last window. */
const WINDOW = 0.1;
/** Growth a phase may show and still be flat, as a fraction of the baseline (or the metric's floor, if larger). */
const TOLERANCE = 0.05;
const MiB = 1024 * 1024;
/** Disposed classifiers kept referenced in the cycles, as callers may keep them: dispose() alone must free their wasm memory. */
const HELD = 8;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) console.warn('soak: gc() is not exposed (run under node --expose-gc, as `npm run soak` does): samples include garbage, verdicts are noisier');
const log = (s: string): void => void process.stderr.write(`${s}\n`);
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// --- inputs and expected results ---

const fixtures = packageFile('test/fixtures/images');
const images = readdirSync(fixtures)
  .sort()
  .map((file) => {
    const bytes = new Uint8Array(readFileSync(`${fixtures}/${file}`));
    const { data, width, height } = decodeImage(bytes);
    const forms: ImageInput[] = [bytes, { data, width, height }, { data: new Uint8ClampedArray(data), width, height }];
    return { file, bytes, forms };
  });
const FORMS = ['bytes', 'RGBA', 'RGBA clamped'];

/** Every 7th byte from `from` on flipped: the file keeps its signature and header, and its data is garbage. */
const scramble = (b: Uint8Array, from: number): Uint8Array => b.map((v, i) => (i >= from && (i - from) % 7 === 0 ? v ^ 0x5a : v));
const jpeg = images.find((i) => i.file.endsWith('.jpg'))!;
const png = images.find((i) => i.file.endsWith('.png'))!;
const pixels = images[0].forms[1] as { data: Uint8Array; width: number; height: number };
const BAD: { what: string; input: ImageInput; code: string }[] = [
  { what: 'JPEG cut in half', input: jpeg.bytes.slice(0, jpeg.bytes.length >> 1), code: 'E_IMAGE_DECODE' },
  { what: 'JPEG with scrambled data', input: scramble(jpeg.bytes, 1000), code: 'E_IMAGE_DECODE' },
  { what: 'PNG with scrambled data', input: scramble(png.bytes, 200), code: 'E_IMAGE_DECODE' },
  { what: 'bytes that are no image', input: new Uint8Array(4096).fill(7), code: 'E_IMAGE_FORMAT' },
  { what: 'RGBA one byte short', input: { ...pixels, data: pixels.data.subarray(1) }, code: 'E_ARGUMENT' },
];

/**
 * Top-1 class of every fixture image in the golden of `model` (int8: exact output sums of our
 * kernels; f32: onnxruntime's probabilities), or undefined for a model without a golden.
 */
function goldenTop1(model: string): number[] | undefined {
  let golden: Record<string, { outputSums?: number[]; probabilities?: number[] }>;
  try {
    golden = JSON.parse(readFileSync(packageFile(`test/fixtures/goldens/${model.replace(/-f32$/, '')}.json`), 'utf8')).images;
  } catch {
    return undefined;
  }
  return images.map(({ file }) => {
    const v = golden[file].outputSums ?? golden[file].probabilities!;
    return v.indexOf(Math.max(...v));
  });
}

const sameBits = (a: Float32Array, b: Float32Array): boolean => {
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

let wrong = 0;
const problems: string[] = [];
function problem(message: string): void {
  wrong++;
  if (problems.length < 20) problems.push(message);
  if (wrong <= 5) log(`soak: ${message}`);
}

/** Checks one result against the golden top-1 and the first logits seen for the same model and image. */
function check(where: string, logits: Float32Array, top1: number, want: { logits: Float32Array; top1?: number }): void {
  if (want.top1 !== undefined && top1 !== want.top1) problem(`${where}: top-1 ${top1}, golden ${want.top1}`);
  if (!sameBits(logits, want.logits)) problem(`${where}: logits differ from the first classification`);
}

async function expectRefusal(net: Classifier, bad: (typeof BAD)[number]): Promise<void> {
  try {
    await net.classify(bad.input);
    problem(`${bad.what}: classified instead of refused`);
  } catch (e) {
    if (!(e instanceof SqueezeError) || e.code !== bad.code) problem(`${bad.what}: expected ${bad.code}, got ${e instanceof SqueezeError ? e.code : String(e)}`);
  }
}

// --- sampling and verdicts ---

/** Memory at one point of a phase, in bytes. */
interface Sample {
  /** Inferences or cycles done. */
  step: number;
  seconds: number;
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Inferences: the live classifier's wasm memory. Cycles: wasm memory of loaded models not yet garbage-collected. */
  wasm: number;
}

const start = performance.now();

async function sample(step: number, wasm: () => number): Promise<Sample> {
  if (gc) {
    // A disposed model's memory is found dead by the second collection, and its FinalizationRegistry
    // callback runs in the turn after that.
    for (let i = 0; i < 2; i++) {
      gc();
      await turn();
    }
  }
  const m = process.memoryUsage();
  return { step, seconds: (performance.now() - start) / 1000, rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, wasm: wasm() };
}

/** Whether one metric of a phase stayed flat, and the figures that say so (bytes). */
interface Verdict {
  metric: string;
  /** Median over the window right after warm-up. */
  baseline: number;
  /** Median over the last window. */
  end: number;
  growth: number;
  /** Of a least-squares line through the samples after warm-up, in bytes per 1,000 steps. */
  slopePer1k: number;
  /** Largest growth, and largest rise of the line over the phase after warm-up, that still count as flat; 0: no change at all. */
  tolerance: number;
  flat: boolean;
}

/**
 * A metric is flat when, after warm-up, neither the median of the last window nor the fitted line
 * rises above the median of the first window by more than the tolerance: {@link TOLERANCE} of that
 * median, or `floor` bytes if larger (small figures move by whole allocations; RSS by pages).
 * 'unchanged' demands that the metric has one value in every sample, warm-up included.
 */
function judge(metric: string, samples: Sample[], steps: number, value: (s: Sample) => number, floor: number | 'unchanged'): Verdict {
  // A short run may have no sample inside a window: then the first one after its start stands in.
  const at = (from: number, to: number): number[] => {
    const inside = samples.filter((s) => s.step >= from * steps && s.step <= to * steps);
    return (inside.length > 0 ? inside : [samples.find((s) => s.step >= from * steps) ?? samples[samples.length - 1]]).map(value);
  };
  const baseline = stats(at(WARMUP, WARMUP + WINDOW)).median;
  const end = stats(at(1 - WINDOW, 1)).median;
  const after = samples.filter((s) => s.step >= WARMUP * steps);
  const { slope } = linearFit(after.map((s) => s.step), after.map(value));
  const verdict = { metric, baseline, end, growth: end - baseline, slopePer1k: slope * 1000 };
  if (floor === 'unchanged') return { ...verdict, tolerance: 0, flat: samples.every((s) => value(s) === value(samples[0])) };
  const tolerance = Math.max(TOLERANCE * baseline, floor);
  return { ...verdict, tolerance, flat: end - baseline <= tolerance && slope * (1 - WARMUP) * steps <= tolerance };
}

/** One phase's run, as written to soak.json. */
interface Phase {
  name: string;
  /** What a step is. */
  unit: string;
  steps: number;
  wallSeconds: number;
  msPerStep: number;
  samples: Sample[];
  verdicts: Verdict[];
  /** Cycles only: wasm memories garbage-collected of those created, after the phase. */
  collected?: { memories: number; of: number };
}

const phases: Phase[] = [];

/** A finished phase: its timing, and RSS and heap judged as every phase judges them, then `wasm`'s verdict. */
function phase(name: string, unit: string, steps: number, t0: number, samples: Sample[], wasm: Verdict): Phase {
  const wallSeconds = (performance.now() - t0) / 1000;
  const verdicts = [
    judge('RSS', samples, steps, (s) => s.rss, 4 * MiB),
    judge('V8 heap used', samples, steps, (s) => s.heapUsed, 2 * MiB),
    wasm,
  ];
  return { name, unit, steps, wallSeconds, msPerStep: (wallSeconds * 1000) / steps, samples, verdicts };
}

/** Logs a phase's progress at its first sample in every further 5 %, from `t0` (performance.now()) on. */
function progressLog(name: string, steps: number, t0: number): (done: number, s: Sample) => void {
  let logged = 0;
  return (done, s) => {
    const bucket = Math.floor((done * 20) / steps);
    if (bucket === logged) return;
    logged = bucket;
    const ms = (performance.now() - t0) / done;
    log(`${name} ${done}/${steps} (${bucket * 5} %), ${fmt(ms, 1)} ms each, RSS ${fmt(s.rss / MiB, 1)} MiB, heap ${fmt(s.heapUsed / MiB, 1)} MiB, wasm ${fmt(s.wasm / MiB, 2)} MiB`);
  };
}

// --- phase 1: inferences on one classifier ---

if (inferences > 0) {
  const net = await loadClassifier(values.model);
  const golden = goldenTop1(net.name);
  // The first classification of each image is the reference for every later one, in every form.
  const want = images.map(({ file, forms }, k) => {
    const { logits, top } = net.classifySync(forms[0], { top: 1 });
    if (golden && top[0].index !== golden[k]) throw new Error(`${net.name} ${file}: top-1 ${top[0].index}, golden ${golden[k]}: fix the runtime before soaking it`);
    return { logits, top1: golden?.[k] ?? top[0].index };
  });
  const memory = net.planned.kernels.memory;
  const wasm = (): number => memory.buffer.byteLength;
  const every = Math.max(1, Math.floor(inferences / SAMPLES));
  const samples = [await sample(0, wasm)];
  log(`soak: ${inferences} inferences on ${net.name}, a bad input after every ${BAD_EVERY}th, ${gc ? 'gc() before each sample' : 'no gc()'}`);
  const t0 = performance.now();
  const progress = progressLog('inferences', inferences, t0);
  for (let i = 0; i < inferences; i++) {
    const k = i % images.length;
    const form = Math.floor(i / images.length) % FORMS.length;
    const { logits, top } = await net.classify(images[k].forms[form], { top: 1 });
    check(`inference ${i} (${images[k].file}, ${FORMS[form]})`, logits, top[0].index, want[k]);
    if ((i + 1) % BAD_EVERY === 0) await expectRefusal(net, BAD[((i + 1) / BAD_EVERY) % BAD.length]);
    if ((i + 1) % every === 0 || i + 1 === inferences) {
      samples.push(await sample(i + 1, wasm));
      progress(i + 1, samples[samples.length - 1]);
    }
  }
  phases.push(phase(`inferences (${net.name})`, 'inference', inferences, t0, samples, judge('wasm memory', samples, inferences, (s) => s.wasm, 'unchanged')));
  net.dispose();
}

// --- phase 2: load / classify / dispose cycles ---

if (cycles > 0) {
  const goldens = new Map(BUNDLED_MODELS.map((m) => [m, goldenTop1(m)]));
  const firstLogits = new Map<string, Float32Array>();
  let pending = 0;
  let collected = 0;
  const registry = new FinalizationRegistry<number>((bytes) => {
    pending -= bytes;
    collected++;
  });
  const held: Classifier[] = [];
  const wasm = (): number => pending;
  // Whole rounds of the four models between samples, so that every sample follows the same model.
  const every = BUNDLED_MODELS.length * Math.max(1, Math.round(cycles / SAMPLES / BUNDLED_MODELS.length));
  const samples = [await sample(0, wasm)];
  log(`soak: ${cycles} load/classify/dispose cycles over ${BUNDLED_MODELS.join(', ')}`);
  const t0 = performance.now();
  const progress = progressLog('cycles', cycles, t0);
  for (let c = 0; c < cycles; c++) {
    const name = BUNDLED_MODELS[c % BUNDLED_MODELS.length];
    const k = Math.floor(c / BUNDLED_MODELS.length) % images.length;
    const net = await loadClassifier(name);
    const bytes = net.planned.kernels.memory.buffer.byteLength;
    registry.register(net.planned.kernels.memory, bytes);
    pending += bytes;
    const { logits, top } = await net.classify(images[k].bytes, { top: 1 });
    const key = `${name} ${images[k].file}`;
    if (!firstLogits.has(key)) firstLogits.set(key, logits);
    check(`cycle ${c} (${key})`, logits, top[0].index, { logits: firstLogits.get(key)!, top1: goldens.get(name)?.[k] });
    net.dispose();
    held[c % HELD] = net;
    if ((c + 1) % every === 0 || c + 1 === cycles) {
      samples.push(await sample(c + 1, wasm));
      progress(c + 1, samples[samples.length - 1]);
    }
  }
  const done = phase('load/dispose cycles (4 bundled models)', 'cycle', cycles, t0, samples, judge('wasm memory not collected', samples, cycles, (s) => s.wasm, 4 * MiB));
  // Collection is not immediate: a few more rounds, with the last disposed classifiers still held.
  for (let round = 0; gc && collected < cycles && round < 20; round++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  if (gc && collected < cycles) problem(`${cycles - collected} of ${cycles} disposed models' wasm memories were never garbage-collected`);
  phases.push({ ...done, collected: gc ? { memories: collected, of: cycles } : undefined });
}

// --- report ---

const mib = (v: number): string => fmt(v / MiB, 1);
const flat = (p: Phase): boolean => p.verdicts.every((v) => v.flat) && (!p.collected || p.collected.memories === p.collected.of);
console.log();
table(
  ['phase', 'steps', 'samples', 'wall s', 'ms/step', 'RSS start', 'RSS warm', 'RSS end', 'RSS max', 'wasm start', 'wasm end', 'RSS slope KiB/1k', 'verdict'],
  phases.map((p) => {
    const rss = p.verdicts.find((v) => v.metric === 'RSS')!;
    const first = p.samples[0];
    const last = p.samples[p.samples.length - 1];
    return [
      p.name, String(p.steps), String(p.samples.length), fmt(p.wallSeconds, 0), fmt(p.msPerStep, 1),
      mib(first.rss), mib(rss.baseline), mib(last.rss), mib(Math.max(...p.samples.map((s) => s.rss))),
      mib(first.wasm), mib(last.wasm), fmt(rss.slopePer1k / 1024, 1), flat(p) ? 'flat' : 'GROWS',
    ];
  }),
  1,
);
console.log('MiB unless stated. "RSS warm" is the median after warm-up; each metric\'s verdict:');
table(
  ['phase', 'metric', 'after warm-up', 'end', 'growth', 'slope KiB/1k', 'tolerance', 'verdict'],
  phases.flatMap((p) =>
    p.verdicts.map((v) => [
      p.name, v.metric, mib(v.baseline), mib(v.end), mib(v.growth), fmt(v.slopePer1k / 1024, 1),
      v.tolerance === 0 ? 'unchanged' : mib(v.tolerance), v.flat ? 'flat' : 'GROWS',
    ]),
  ),
  2,
);
for (const p of phases) if (p.collected) console.log(`${p.name}: ${p.collected.memories} of ${p.collected.of} wasm memories garbage-collected, ${HELD} disposed classifiers still referenced`);
console.log(wrong === 0 ? 'Every result matched its golden top-1 and its first logits, and every bad input was refused with its typed error.' : `${wrong} wrong results or refusals, first: ${problems.join('; ')}`);

mkdirSync(values.out, { recursive: true });
const jsonFile = `${values.out}/soak.json`;
const cpu = os.cpus()[0]?.model ?? 'unknown';
writeFileSync(
  jsonFile,
  `${JSON.stringify({ node: process.version, cpu, cores: os.cpus().length, date: new Date().toISOString(), gc: Boolean(gc), options: { inferences, cycles, model: values.model }, phases, wrong, problems }, null, 1)}\n`,
);

const series = (p: Phase): LinePanel['series'] => [
  { label: 'RSS', points: p.samples.map((s) => [s.step, s.rss / MiB]) },
  { label: 'V8 heap used', points: p.samples.map((s) => [s.step, s.heapUsed / MiB]) },
  { label: 'external (incl. wasm)', points: p.samples.map((s) => [s.step, s.external / MiB]) },
  { label: p.unit === 'cycle' ? 'wasm memory not yet collected' : 'wasm memory of the classifier', points: p.samples.map((s) => [s.step, s.wasm / MiB]) },
];
mkdirSync(dirname(values.chart), { recursive: true });
writeFileSync(
  values.chart,
  lineChart(
    'squeezewasm soak: memory over time',
    `Node ${process.version}, ${cpu}, ${gc ? 'sampled after gc()' : 'no gc()'}; ${new Date().toISOString().slice(0, 10)}`,
    phases.map((p) => ({
      title: `${p.name}: ${p.steps.toLocaleString('en-US')} ${p.unit}s, ${flat(p) ? 'flat' : 'GROWS'}`,
      xTitle: `${p.unit}s done`,
      yTitle: 'MiB',
      series: series(p),
      bands: [
        { from: WARMUP * p.steps, to: (WARMUP + WINDOW) * p.steps, label: 'baseline' },
        { from: (1 - WINDOW) * p.steps, to: p.steps, label: 'end' },
      ],
    })),
  ),
);
log(`wrote ${jsonFile} and ${values.chart}`);
process.exitCode = wrong === 0 && phases.every(flat) ? 0 : 1;

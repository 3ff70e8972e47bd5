/**
 * `npm run bench:compare [-- --runs 40 --rounds 3 --warmup 5 --shared ../shared --node <binary> --model squeezenet1.1]`:
 * squeezewasm (int8, f32) against onnxruntime-web (f32, int8), TensorFlow.js wasm (f32) and
 * LiteRT.js (f32, int8; the bundled models written as .tflite by bench/peers/tflite-writer.ts) on
 * SqueezeNet 1.1 and 1.0, the same preprocessed input, single thread, each runtime x model x
 * precision in processes of its own (bench/compare/child.ts), in rounds. Prints a table and writes
 * bench/results.json, bench/RESULTS.md and the charts in bench/charts/.
 *
 * `--node <binary>` runs every measurement under another Node (e.g. 24): the children are started
 * with that binary and tsx's loader; this process only prepares inputs and writes the report.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeImage } from '../src/image/decode.js';
import { preprocess } from '../src/image/preprocess.js';
import { loadClassifier, packageFile } from '../src/node.js';
import { run } from '../src/runtime/run.js';
import type { ContenderResult, LayerSamples, PeaksResult } from './compare/child.js';
import { latencyChart, layerChart, type LatencyPanel, type PeakLine } from './compare/svg.js';
import { F32_LOGIT_TOLERANCE, type CompareModel } from './peers/peer.js';
import { peakFor, type Peak } from './roofline.js';
import { RELAXED_PROBE } from '../src/wasm/kernels.js';
import { fmt, stats, table } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '40' },
    rounds: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    shared: { type: 'string', default: '../shared' },
    node: { type: 'string', default: process.execPath },
    model: { type: 'string', multiple: true },
  },
});
const count = (name: string, v: string, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
  return n;
};
const runs = count('runs', values.runs, 1);
const rounds = count('rounds', values.rounds, 1);
const warmup = count('warmup', values.warmup, 0);
const perRound = Math.ceil(runs / rounds);
const pooled = perRound * rounds;
const models = (values.model ?? ['squeezenet1.1', 'squeezenet1.0']) as CompareModel[];
for (const m of models) if (m !== 'squeezenet1.1' && m !== 'squeezenet1.0') throw new Error(`--model must be squeezenet1.1 or squeezenet1.0, got ${m}`);

const nodeBinary = values.node;
const probe = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' });
if (probe.status !== 0) throw new Error(`--node ${nodeBinary}: cannot run it (${probe.error?.message ?? probe.stderr})`);
const childNode = probe.stdout.trim();
const nodeMajor = Number(/^v(\d+)/.exec(childNode)?.[1]);
// A run under another Node (--node) lands beside the default one instead of replacing it:
// bench/RESULTS-node<major>.md and bench/charts/node<major>/, its rows added to results.json.
const other = values.node !== process.execPath;
const reportName = other ? `RESULTS-node${nodeMajor}.md` : 'RESULTS.md';
const chartDir = other ? `charts/node${nodeMajor}` : 'charts';
// squeezewasm picks its relaxed SIMD build where the engine has it (Node 22 and later).
const relaxedNode = spawnSync(nodeBinary, ['-e', `process.exit(WebAssembly.validate(new Uint8Array([${[...RELAXED_PROBE].join(',')}])) ? 0 : 1)`]).status === 0;
const kernelBuild = relaxedNode ? 'the relaxed SIMD build (dist/squeezewasm-relaxed.wasm)' : 'the plain SIMD build (dist/squeezewasm.wasm)';

const log = (s: string): void => void process.stderr.write(`${s}\n`);
const work = packageFile('bench/out/compare');
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });

// Every runtime gets the same NHWC float tensor, preprocessed once here from the fixture image
// bench.ts uses too; squeezewasm's f32 plan gives the MAC count the GMAC/s column divides by.
const fixtures = packageFile('test/fixtures/images');
const imageName = readdirSync(fixtures).sort()[0];
const image = decodeImage(new Uint8Array(readFileSync(`${fixtures}/${imageName}`)));
interface ModelInfo {
  macs: number;
  labels: readonly string[];
  inputFile: string;
  /**
   * squeezewasm f32's logits on the input (before any final softmax), for the peers that check
   * theirs; computed here, under this process's Node and kernel build (with --node 24 the children's
   * relaxed build fuses multiply-adds, which changes float rounding only).
   */
  referenceFile: string;
}
const info = new Map<CompareModel, ModelInfo>();
for (const model of models) {
  const net = await loadClassifier(`${model}-f32`);
  const nhwc = new Float32Array(net.input.height * net.input.width * 3);
  preprocess(image.data, image.width, image.height, net.input, nhwc);
  const inputFile = `${work}/${model}.nhwc.f32`;
  writeFileSync(inputFile, new Uint8Array(nhwc.buffer));
  net.setInput(image);
  const referenceFile = `${work}/${model}.logits.f32`;
  writeFileSync(referenceFile, new Uint8Array(run(net.planned).buffer));
  info.set(model, { macs: net.planned.steps.reduce((s, step) => s + step.macs, 0), labels: net.labels, inputFile, referenceFile });
  net.dispose();
}

/** A runtime at one precision, on every model. */
interface Kind {
  runtime: string;
  precision: 'f32' | 'int8';
}
const KINDS: Kind[] = [
  { runtime: 'squeezewasm', precision: 'int8' },
  { runtime: 'squeezewasm', precision: 'f32' },
  { runtime: 'onnxruntime-web', precision: 'f32' },
  { runtime: 'onnxruntime-web', precision: 'int8' },
  { runtime: 'tfjs-wasm', precision: 'f32' },
  { runtime: 'litert-wasm', precision: 'f32' },
  { runtime: 'litert-wasm', precision: 'int8' },
];
/**
 * Peers whose output is the logits squeezewasm's `run` returns (not softmax probabilities, as the
 * ONNX SqueezeNet 1.0 in onnxruntime gives): their children compare their first output with
 * squeezewasm f32's before timing, and an f32 one that differs is not timed.
 */
const LOGIT_PEERS = new Set(['tfjs-wasm', 'litert-wasm']);
interface Contender extends Kind {
  model: CompareModel;
}
const name = (c: Kind): string => `${c.runtime} ${c.precision}`;
const notes: string[] = [];
const contenders: Contender[] = [];
for (const model of models) {
  const onnx = `${values.shared}/models/${model}.onnx`;
  for (const kind of KINDS) {
    if (kind.runtime === 'onnxruntime-web' && kind.precision === 'f32' && !existsSync(onnx)) {
      notes.push(`onnxruntime-web f32 on ${model} skipped: it runs the float ONNX model ${onnx}, which is missing (pass --shared <dir>).`);
    } else {
      contenders.push({ ...kind, model });
    }
  }
}

const root = packageFile('.');
const childScript = fileURLToPath(new URL('compare/child.ts', import.meta.url));
// tsx's ESM loader by absolute URL, so that any Node binary finds this checkout's copy.
const tsxLoader = import.meta.resolve('tsx');
let spawned = 0;

/** Runs child.ts with `args` under the chosen Node; its output goes to stderr, its result comes back through a file. */
function child<T>(args: string[]): Promise<T> {
  const out = `${work}/result-${spawned++}.json`;
  return new Promise((resolve, reject) => {
    const p = spawn(nodeBinary, ['--import', tsxLoader, childScript, ...args, '--out', out], { cwd: root, stdio: ['ignore', 2, 2] });
    p.on('error', reject);
    p.on('exit', (code, signal) => {
      const result = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as T & { error?: string }) : undefined;
      if (result && !result.error && code === 0) resolve(result);
      else reject(new Error(result?.error ?? `exited with ${signal ?? `code ${code}`}`));
    });
  });
}

log(`bench:compare: ${contenders.length} contenders x ${rounds} rounds, ${perRound} timed runs each per round after ${warmup} warm-up, Node ${childNode}`);
let peaks: Peak[] | undefined;
try {
  peaks = (await child<PeaksResult>(['--peaks'])).peaks;
  log(`peaks: ${peaks.map((p) => `${p.probe} (${p.accumulators} accumulators) ${p.gmacs.toFixed(1)} GMAC/s`).join(', ')}`);
} catch (e) {
  notes.push(`The instruction peaks could not be measured (${(e as Error).message}): the per-layer charts have no peak lines.`);
}

// The VM's speed drifts over seconds, so each contender's runs are spread over rounds, contenders
// taking turns within a round (starting one further each round), and the samples pooled.
const results = new Map<Contender, ContenderResult[]>();
const failed = new Set<Contender>();
for (let round = 0; round < rounds; round++) {
  for (let j = 0; j < contenders.length; j++) {
    const c = contenders[(j + round) % contenders.length];
    if (failed.has(c)) continue;
    const args = ['--runtime', c.runtime, '--model', c.model, '--precision', c.precision, '--input', info.get(c.model)!.inputFile];
    args.push('--runs', String(perRound), '--warmup', String(warmup), '--shared', values.shared);
    if (c.runtime === 'squeezewasm') args.push('--layers');
    if (LOGIT_PEERS.has(c.runtime)) args.push('--reference', info.get(c.model)!.referenceFile);
    try {
      const r = await child<ContenderResult>(args);
      results.set(c, [...(results.get(c) ?? []), r]);
      log(`[round ${round + 1}/${rounds}] ${c.model} ${name(c)}: median ${stats(r.samples).median.toFixed(2)} ms, cold start ${r.coldStartMs.toFixed(0)} ms`);
    } catch (e) {
      failed.add(c);
      results.delete(c);
      notes.push(`${name(c)} on ${c.model} failed and is left out: ${(e as Error).message}`);
      log(`[round ${round + 1}/${rounds}] ${c.model} ${name(c)}: FAILED (${(e as Error).message})`);
    }
  }
}

/** One row of bench/results.json. */
interface Row {
  runtime: string;
  model: CompareModel;
  precision: 'f32' | 'int8';
  median_ms: number;
  /** The fastest timed run. */
  min_ms: number;
  p10_ms: number;
  p90_ms: number;
  node: string;
  /** Timed runs pooled over the rounds. */
  runs: number;
  /** Each round's median, to show the drift the pooling evens out. */
  round_medians_ms: number[];
  gmacs: number;
  /** Median over the rounds' processes; boot_ms is the part before the child's first line. */
  cold_start_ms: number;
  boot_ms: number;
  /** Median over the rounds' processes, MiB; boot_rss_mb is what Node and tsx alone had reached. */
  peak_rss_mb: number;
  boot_rss_mb: number;
  top1: number;
  top1_label: string;
  cpu: string;
  /** The runtime's wasm build, where it picks one of several (LiteRT.js). */
  build?: string;
  /** Peers in LOGIT_PEERS: max |logit - squeezewasm f32 logit| on the input, over squeezewasm f32's logit range. */
  max_logit_diff_of_range?: number;
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const median = (xs: number[]): number => stats(xs).median;
const rows: Row[] = [];
for (const [c, rs] of results) {
  const s = stats(rs.flatMap((r) => r.samples));
  const { macs, labels } = info.get(c.model)!;
  rows.push({
    runtime: c.runtime,
    model: c.model,
    precision: c.precision,
    median_ms: s.median,
    min_ms: s.min,
    p10_ms: s.p10,
    p90_ms: s.p90,
    node: rs[0].node,
    runs: rs.reduce((n, r) => n + r.samples.length, 0),
    round_medians_ms: rs.map((r) => median(r.samples)),
    gmacs: macs / s.median / 1e6,
    cold_start_ms: median(rs.map((r) => r.coldStartMs)),
    boot_ms: median(rs.map((r) => r.bootMs)),
    peak_rss_mb: median(rs.map((r) => r.peakRssKiB)) / 1024,
    boot_rss_mb: median(rs.map((r) => r.bootRssKiB)) / 1024,
    top1: rs[0].top1,
    top1_label: labels[rs[0].top1],
    cpu,
    build: rs[0].build,
    max_logit_diff_of_range: rs[0].reference && rs[0].reference.maxAbsDiff / rs[0].reference.range,
  });
}
// Same order as the contender list, whatever order the rounds finished in.
const order = (r: Row): number => contenders.findIndex((c) => c.model === r.model && c.runtime === r.runtime && c.precision === r.precision);
rows.sort((a, b) => order(a) - order(b));
const find = (model: string, runtime: string, precision: string): Row | undefined =>
  rows.find((r) => r.model === model && r.runtime === runtime && r.precision === precision);

// Every runtime must find the same class on the same input: float ones exactly as squeezewasm f32
// does, int8 ones are expected to and flagged when they do not.
const check = (r: Row): string => {
  const ref = find(r.model, 'squeezewasm', 'f32');
  const logits = r.max_logit_diff_of_range === undefined ? '' : `logits within ${r.max_logit_diff_of_range.toExponential(1)} of range`;
  if (!ref || r === ref || r.top1 === ref.top1) return logits;
  const top1 = r.precision === 'f32' ? `MISMATCH: f32 top-1 differs from squeezewasm f32 (${ref.top1})` : `warning: top-1 differs from squeezewasm f32 (${ref.top1})`;
  return [top1, logits].filter(Boolean).join('; ');
};
const slower = (r: Row): string => {
  const base = find(r.model, 'squeezewasm', 'int8');
  return base ? `${(r.median_ms / base.median_ms).toFixed(2)}x` : '';
};
const header = ['runtime', 'model', 'precision', 'median ms', 'min', 'p10', 'p90', 'GMAC/s', 'vs squeezewasm int8', 'cold start ms', 'peak RSS MB', 'top-1', 'check'];
const cells = (r: Row): string[] => [
  r.runtime, r.model, r.precision, fmt(r.median_ms), fmt(r.min_ms), fmt(r.p10_ms), fmt(r.p90_ms), fmt(r.gmacs, 1), slower(r), fmt(r.cold_start_ms, 0), fmt(r.peak_rss_mb, 1),
  `${r.top1} ${r.top1_label}`, check(r),
];

/** One acceptance criterion on one model: a speed ratio against its target. */
interface Claim {
  model: string;
  claim: string;
  /** Undefined when a contender was not measured. */
  ratio?: number;
  target: number;
  /** Strictly faster (f32 against f32) rather than at least `target` times. */
  strict: boolean;
}
const claims: Claim[] = [];
for (const model of models) {
  const int8 = find(model, 'squeezewasm', 'int8');
  const f32 = find(model, 'squeezewasm', 'f32');
  const ortF32 = find(model, 'onnxruntime-web', 'f32');
  const peers = rows.filter((r) => r.model === model && r.runtime !== 'squeezewasm');
  const ratio = (peer: Row | undefined, ours: Row | undefined): number | undefined => (peer && ours ? peer.median_ms / ours.median_ms : undefined);
  claims.push({ model, claim: 'squeezewasm int8 vs onnxruntime-web f32', ratio: ratio(ortF32, int8), target: 3, strict: false });
  const fastest = peers.reduce<Row | undefined>((a, r) => (a && a.median_ms <= r.median_ms ? a : r), undefined);
  const which = fastest ? ` (${fastest.runtime} ${fastest.precision}${peers.length < KINDS.filter((k) => k.runtime !== 'squeezewasm').length ? ', of those measured' : ''})` : '';
  claims.push({ model, claim: `squeezewasm int8 vs the fastest wasm peer${which}`, ratio: ratio(fastest, int8), target: 2, strict: false });
  for (const runtime of ['onnxruntime-web', 'tfjs-wasm']) {
    claims.push({ model, claim: `squeezewasm f32 vs ${runtime} f32`, ratio: ratio(find(model, runtime, 'f32'), f32), target: 1, strict: true });
  }
  if (nodeMajor >= 24 && relaxedNode && model === 'squeezenet1.1') {
    claims.push({ model, claim: `squeezewasm int8 (relaxed build) vs onnxruntime-web f32 on Node ${nodeMajor}`, ratio: ratio(ortF32, int8), target: 5, strict: false });
  }
}
const claimText = (c: Claim): string => {
  if (c.ratio === undefined) return 'not measured (see the notes)';
  const pass = c.strict ? c.ratio > c.target : c.ratio >= c.target;
  return `${c.ratio.toFixed(2)}x faster (target ${c.strict ? '> 1x' : `>= ${c.target}x`}): ${pass ? 'PASS' : 'FAIL'}`;
};

console.log(`\nsqueezewasm vs wasm peers: Node ${childNode}, ${cpu}, single thread, ${pooled} timed runs in ${rounds} rounds\n`);
table(header, rows.map(cells), 3);
for (const c of claims) console.log(`${c.model}: ${c.claim}: ${claimText(c)}`);
for (const n of notes) console.log(`note: ${n}`);

// Per-layer rates of squeezewasm, per-step samples pooled over the rounds like the totals.
const layerRates = (model: CompareModel): { label: string; gmacs: Partial<Record<'int8' | 'f32', number>> }[] => {
  const byPrecision = (['int8', 'f32'] as const).map((p) => {
    const rs = [...results].find(([c]) => c.model === model && c.runtime === 'squeezewasm' && c.precision === p)?.[1] ?? [];
    const layers: LayerSamples[] = rs[0]?.layers ?? [];
    return layers.map((l, i) => ({ l, gmacs: l.macs / median(rs.flatMap((r) => r.layers![i].ms)) / 1e6 }));
  });
  const names = (byPrecision[0].length ? byPrecision[0] : byPrecision[1]).map(({ l }) => l);
  return names.map((l, i) => ({
    label: `${l.name}  ${l.shape}`,
    gmacs: { int8: byPrecision[0][i]?.gmacs, f32: byPrecision[1][i]?.gmacs },
  }));
};
const peakLines: PeakLine[] = peaks
  ? (['int8', 'f32'] as const).map((p) => {
      const k = peakFor(p, peaks!);
      return { precision: p, gmacs: k.gmacs, what: `${k.instr}, ${k.accumulators} accumulators` };
    })
  : [];

const charts = packageFile(`bench/${chartDir}`);
mkdirSync(charts, { recursive: true });
const chartFiles: { file: string; alt: string }[] = [];
const panels: LatencyPanel[] = models.map((model) => ({
  title: `${model} (${(info.get(model)!.macs / 1e6).toFixed(1)} M MACs)`,
  bars: rows.filter((r) => r.model === model).map((r) => ({ label: `${r.runtime} ${r.precision}`, series: `${r.runtime} ${r.precision}`, median: r.median_ms, p10: r.p10_ms, p90: r.p90_ms, min: r.min_ms })),
}));
writeFileSync(
  `${charts}/latency.svg`,
  latencyChart('Inference latency, single thread', `median of ${pooled} runs in ${rounds} rounds, whisker p10-p90, dot the fastest run; Node ${childNode}, ${cpu}`, KINDS.map(name), panels),
);
chartFiles.push({ file: 'latency.svg', alt: 'latency per runtime and model' });
for (const model of models) {
  const layers = layerRates(model);
  if (!layers.length) continue;
  const file = `layers-${model}.svg`;
  const sub = 'int8 counts the direct convolution\'s MACs, so Winograd layers (3x3 stride 1) can pass the instruction peak';
  writeFileSync(`${charts}/${file}`, layerChart(`squeezewasm per layer: ${model}`, sub, layers, peakLines));
  chartFiles.push({ file, alt: `GMAC/s per layer, ${model}` });
}

// results.json keeps one set of rows per Node major version.
const resultsFile = packageFile('bench/results.json');
const major = (node: string): number => Number(/^v(\d+)/.exec(node)?.[1]);
const kept = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as Row[]).filter((r) => major(r.node) !== nodeMajor) : [];
const allRows = [...kept, ...rows].sort((a, b) => major(a.node) - major(b.node));
writeFileSync(resultsFile, `${JSON.stringify(allRows, null, 1)}\n`);
const otherReports = readdirSync(packageFile('bench')).filter((f) => /^RESULTS-node\d+\.md$/.test(f)).sort();

const version = (pkg: string): string => (JSON.parse(readFileSync(packageFile(`node_modules/${pkg}/package.json`), 'utf8')) as { version: string }).version;
const md = (cols: string[]): string => `| ${cols.join(' | ')} |`;
const rightAligned = new Set([3, 4, 5, 6, 7, 8, 9, 10]);
const bootMs = median(rows.map((r) => r.boot_ms));
const bootRss = median(rows.map((r) => r.boot_rss_mb));
const litertBuild = rows.find((r) => r.runtime === 'litert-wasm')?.build;
const litertBuildText = litertBuild === 'relaxed' ? 'relaxed SIMD build' : litertBuild === 'simd' ? 'plain SIMD build' : 'not measured';
const report = `# squeezewasm vs other WebAssembly runtimes

Generated by \`npm run bench:compare${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}\` on ${new Date().toISOString().slice(0, 10)}; do not edit by hand.

- Machine: ${cpu}, ${os.cpus().length} logical CPUs (a shared VM), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()} ${os.arch()}
- Node ${childNode}; squeezewasm on ${kernelBuild}; onnxruntime-web ${version('onnxruntime-web')} (wasm SIMD), TensorFlow.js ${version('@tensorflow/tfjs-core')} with the wasm backend ${version('@tensorflow/tfjs-backend-wasm')} (XNNPACK, SIMD); LiteRT.js ${version('@litertjs/core')} (\`@litertjs/core\`, XNNPACK, ${litertBuildText}); all on one thread
- Input: \`test/fixtures/images/${imageName}\`, decoded and preprocessed once by squeezewasm (\`src/image/preprocess.ts\`) into the NHWC float tensor every runtime is given (each converts it to its own layout at load time)

## Method

Each runtime x model x precision runs in a process of its own (\`bench/compare/child.ts\`): it
loads the runtime and the model, gets a first result, runs ${warmup} warm-up inferences, then times
inferences one after another with \`performance.now()\`. The timed part is the inference alone: the
input is already in place and the output is read back.

The VM's speed drifts over seconds, which would favour whichever runtime happened to run in a fast
stretch. So the ${pooled} timed runs of each contender are split into ${rounds} rounds of ${perRound}; every
round starts every contender once, in a fresh process, one after another (starting one contender
further each round), and the samples of all rounds are pooled into one minimum, median, p10 and
p90. Each round's median is in \`results.json\` (\`round_medians_ms\`). The minimum is the run the
machine's other work disturbed least, the closest to what a runtime's code can do; the median is
what it typically does here.

LiteRT.js runs \`.tflite\` files that \`bench/peers/tflite-writer.ts\` writes in the child from the
bundled models (counted in its cold start): f32 with the float weights, int8 as TensorFlow's
converter writes a full-integer model (int8 activations with zero points, per-channel int8
weights, int32 biases, float input and output) from the bundled int8 models' own calibration, their
13-bit activations re-quantized to 8 bits over the same ranges (so, like onnxruntime-web int8, it is
not bit-identical to squeezewasm int8). The global average pool runs in float on the dequantized
class scores, as squeezewasm keeps them exact. The child refuses to time a model unless every op
runs in LiteRT's XNNPACK delegate (\`isFullyAccelerated\`).

- **GMAC/s**: squeezewasm's multiply-accumulates per image (the sum over its planned steps:
  ${models.map((m) => `${m} ${(info.get(m)!.macs / 1e6).toFixed(1)} M`).join(', ')}) divided by the median; the same count for every runtime.
- **cold start**: \`performance.now()\` in the child when the first output is in hand; Node counts it from the
  start of the process, so it covers Node's own start, the TypeScript loader (tsx, the same for all),
  importing the runtime, instantiating its wasm, loading and preparing the model and the first
  inference. Of that, Node and tsx take about ${bootMs.toFixed(0)} ms before the child's first line. Median over the rounds.
- **peak RSS**: \`process.resourceUsage().maxRSS\` at the end of the child (the high-water mark of the whole
  process, MB = 2^20 bytes); Node and tsx alone account for about ${bootRss.toFixed(0)} MB. Median over the rounds.
- **top-1**: the largest output of each runtime; the check column flags any that differs from squeezewasm f32.
  For the peers whose output is logits (${[...LOGIT_PEERS].join(', ')}) it also gives the largest |logit difference| from
  squeezewasm f32's on the input, as a fraction of squeezewasm f32's logit range; each child checks that
  before timing, and an f32 peer off by more than ${F32_LOGIT_TOLERANCE} of the range, or with another top-1, is not timed.

## Results

${md(header)}
${md(header.map((_, i) => (rightAligned.has(i) ? '---:' : '---')))}
${rows.map((r) => md(cells(r))).join('\n')}

"vs squeezewasm int8" is how many times longer than squeezewasm int8 the row takes on that model.

## Acceptance

${claims.map((c) => `- ${c.model}: ${c.claim}: ${claimText(c)}`).join('\n')}
${notes.length ? `\n## Notes\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
## Charts

${chartFiles.map((c) => `![${c.alt}](${chartDir}/${c.file})`).join('\n\n')}

Per-layer rates come from squeezewasm's \`runTimed\` in the same child processes, after the whole-network
runs (${pooled} runs pooled over the rounds like the totals).
${peaks ? `The dashed lines are the best plain SIMD mix of each precision (\`peakFor\`) among the peaks that
\`bench/roofline.ts\` measured in a process of its own on the same Node:

${md(['probe', 'instructions', 'accumulators', 'GMAC/s'])}
${md(['---', '---', '---:', '---:'])}
${peaks.map((p) => md([p.probe, p.instr, String(p.accumulators), p.gmacs.toFixed(1)])).join('\n')}
` : ''}${!other && otherReports.length ? `
## Other Node versions

${otherReports.map((f) => `- [${f}](${f}) (\`npm run bench:compare -- --node <node ${f.match(/\d+/)![0]} binary>\`)`).join('\n')}
` : ''}`;
writeFileSync(packageFile(`bench/${reportName}`), report);
log(`wrote bench/results.json, bench/${reportName}, ${chartFiles.map((c) => `bench/${chartDir}/${c.file}`).join(', ')}`);

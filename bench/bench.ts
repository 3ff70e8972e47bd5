/**
 * `npm run bench [-- --shared ../shared --runs 40]`: end-to-end and per-layer latency of every
 * bundled model, single thread, with onnxruntime-web (wasm SIMD, 1 thread) timed on the same
 * network and input in the same process. Prints tables and writes bench/out/bench.json.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { Bench } from 'tinybench';
import { decodeImage } from '../src/image/decode.js';
import { preprocess, toNCHW } from '../src/image/preprocess.js';
import { BUNDLED_MODELS, loadClassifier, packageFile } from '../src/node.js';
import { run } from '../src/runtime/run.js';

const { values } = parseArgs({
  options: { shared: { type: 'string', default: '../shared' }, runs: { type: 'string', default: '40' }, model: { type: 'string', multiple: true } },
});
const runs = Number(values.runs);
const models = values.model ?? BUNDLED_MODELS;
const fixtures = packageFile('test/fixtures/images');
const image = readFileSync(`${fixtures}/${readdirSync(fixtures).sort()[0]}`);

/** Median, p10 and p90 of `fn`'s latency in ms over `runs` runs after warm-up, via tinybench. */
async function time(name: string, fn: () => unknown): Promise<{ median: number; p10: number; p90: number }> {
  const bench = new Bench({ name, iterations: runs, time: 0, warmupIterations: 5, warmupTime: 0, retainSamples: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`${name}: benchmark did not complete (${r.state})`);
  const s = [...(r.latency.samples ?? [])].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: r.latency.p50, p10: q(0.1), p90: q(0.9) };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: Record<string, unknown>[] = [];
const layerRows: Record<string, unknown>[] = [];
ort.env.wasm.numThreads = 1;

for (const name of models) {
  const net = await loadClassifier(name);
  const plan = net.planned;
  const macs = plan.steps.reduce((s, step) => s + step.macs, 0);
  net.setInput(image);
  const inference = await time(`${name} inference`, () => run(plan));
  const endToEnd = await time(`${name} end-to-end`, () => net.classifySync(image));
  const base = name.replace(/-(f32|int8)$/, '');
  const precision = net.model.precision;
  const row = (runtime: string, p: string, what: string, t: { median: number; p10: number; p90: number }) => ({
    model: base, runtime, precision: p, what, median_ms: t.median, p10_ms: t.p10, p90_ms: t.p90, gmacs: macs / t.median / 1e6,
  });
  rows.push(row('squeezewasm', precision, 'inference', inference), row('squeezewasm', precision, 'end-to-end', endToEnd));

  const onnx = `${values.shared}/models/${base}.onnx`;
  // onnxruntime-web runs the float ONNX once per network (its f32 and int8 files share it).
  const ortTimed = rows.some((r) => r.model === base && r.runtime === 'onnxruntime-web');
  if (!ortTimed && existsSync(onnx)) {
    const session = await ort.InferenceSession.create(readFileSync(onnx), { executionProviders: ['wasm'] });
    const { h, w } = plan.input;
    const pixels = decodeImage(image);
    const nhwc = new Float32Array(h * w * 3);
    preprocess(pixels.data, pixels.width, pixels.height, net.model.input, nhwc);
    const nchw = toNCHW(nhwc, h, w);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', nchw, [1, 3, h, w]) };
    // tinybench awaits async tasks, so session.run is timed to its result.
    rows.push(row('onnxruntime-web', 'f32', 'inference', await time(`${base} ort`, () => session.run(feeds))));
    await session.release();
  } else if (!ortTimed) {
    console.warn(`(${onnx} not found: onnxruntime-web not timed; pass --shared <dir>)`);
  }

  const perStep = plan.steps.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) net.runTimed(() => performance.now()).ms.forEach((ms, j) => perStep[j].push(ms));
  plan.steps.forEach((step, j) => {
    const ms = median(perStep[j]);
    layerRows.push({ model: base, precision, layer: step.name, op: step.op, mmacs: step.macs / 1e6, ms, gmacs: step.macs ? step.macs / ms / 1e6 : undefined });
  });
  net.dispose();
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`\nsqueezewasm bench: Node ${process.version}, ${cpu}, single thread, ${runs} timed runs each\n`);
const fmt = (v: unknown, d = 2): string => (typeof v === 'number' ? v.toFixed(d) : String(v ?? ''));
/** Prints an aligned table; the first `textColumns` columns are left-aligned, numbers right-aligned. */
const table = (header: string[], body: string[][], textColumns: number): void => {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < textColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of body) console.log(line(r));
  console.log();
};
// Speed-ups: how many times faster than onnxruntime-web f32 and than squeezewasm f32, same run.
const speedup = (r: Record<string, unknown>, runtime: string, precision: string): string => {
  const other = rows.find((o) => o.model === r.model && o.runtime === runtime && o.precision === precision && o.what === 'inference');
  return other && r.what === 'inference' ? `${((other.median_ms as number) / (r.median_ms as number)).toFixed(2)}x` : '';
};
table(
  ['model', 'runtime', 'precision', 'what', 'median ms', 'p10', 'p90', 'GMAC/s', 'vs ORT-web f32', 'vs squeezewasm f32'],
  rows.map((r) => [
    String(r.model), String(r.runtime), String(r.precision), String(r.what), fmt(r.median_ms), fmt(r.p10_ms), fmt(r.p90_ms), fmt(r.gmacs, 1),
    speedup(r, 'onnxruntime-web', 'f32'), speedup(r, 'squeezewasm', 'f32'),
  ]),
  4,
);
// Per layer, the two precisions side by side. int8 GMAC/s counts the direct convolution's MACs,
// so Winograd layers show their effective rate.
for (const base of new Set(layerRows.map((r) => r.model as string))) {
  const of = (p: string) => layerRows.filter((r) => r.model === base && r.precision === p);
  const [f32, int8] = [of('f32'), of('int8')];
  const names = (f32.length ? f32 : int8).map((r) => r.layer as string);
  const cell = (rs: Record<string, unknown>[], layer: string, key: string, d: number) => fmt(rs.find((r) => r.layer === layer)?.[key], d);
  console.log(`${base}: per layer (median of ${runs})`);
  table(
    ['layer', 'op', 'MMAC', 'f32 ms', 'f32 GMAC/s', 'int8 ms', 'int8 GMAC/s', 'int8 speed-up'],
    names.map((layer) => {
      const a = f32.find((r) => r.layer === layer)?.ms as number | undefined;
      const b = int8.find((r) => r.layer === layer)?.ms as number | undefined;
      const any = (f32.length ? f32 : int8).find((r) => r.layer === layer)!;
      return [layer, String(any.op), fmt(any.mmacs, 1), cell(f32, layer, 'ms', 3), cell(f32, layer, 'gmacs', 1), cell(int8, layer, 'ms', 3), cell(int8, layer, 'gmacs', 1), a && b ? `${(a / b).toFixed(2)}x` : ''];
    }),
    2,
  );
}
mkdirSync(packageFile('bench/out'), { recursive: true });
const out = packageFile('bench/out/bench.json');
writeFileSync(out, JSON.stringify({ node: process.version, cpu, runs, date: new Date().toISOString(), rows, layers: layerRows }, null, 1));
console.log(`wrote ${out}`);

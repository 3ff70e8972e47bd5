/**
 * `npm run bench [-- --shared ../shared --runs 40]`: inference, end-to-end and per-layer latency of
 * every bundled model, single thread, with onnxruntime-web (wasm SIMD, 1 thread) timed on the same
 * network and input in the same process, in turns, and each layer's share of this machine's SIMD peak
 * (bench/roofline.ts). Prints tables and writes bench/out/bench.json.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { Bench } from 'tinybench';
import { decodeImage } from '../src/image/decode.js';
import { preprocessNCHW } from '../src/image/preprocess.js';
import { BUNDLED_MODELS, loadClassifier, packageFile } from '../src/node.js';
import { run } from '../src/runtime/run.js';
import { measurePeaks, peakFor, printPeaks } from './roofline.js';
import { fmt, stats, table } from './stats.js';

const { values } = parseArgs({
  options: { shared: { type: 'string', default: '../shared' }, runs: { type: 'string', default: '40' }, model: { type: 'string', multiple: true } },
});
const runs = Number(values.runs);
const models = values.model ?? BUNDLED_MODELS;
const fixtures = packageFile('test/fixtures/images');
const image = readFileSync(`${fixtures}/${readdirSync(fixtures).sort()[0]}`);
const peaks = await measurePeaks();

/** Median (tinybench's), p10 and p90 of `fn`'s latency in ms over `runs` runs after warm-up. */
async function time(name: string, fn: () => unknown): Promise<{ median: number; p10: number; p90: number }> {
  const bench = new Bench({ name, iterations: runs, time: 0, warmupIterations: 5, warmupTime: 0, retainSamples: true });
  bench.add(name, fn);
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`${name}: benchmark did not complete (${r.state})`);
  return { ...stats([...(r.latency.samples ?? [])]), median: r.latency.p50 };
}

const rows: Record<string, unknown>[] = [];
const layerRows: Record<string, unknown>[] = [];
ort.env.wasm.numThreads = 1;

// The machine's speed drifts over seconds (a shared VM), so the runtimes compared on one network
// take turns, one inference each per round, instead of one timing loop after another: their ratios
// then compare like with like.
for (const base of new Set(models.map((m) => m.replace(/-(f32|int8)$/, '')))) {
  const nets = await Promise.all(models.filter((m) => m.replace(/-(f32|int8)$/, '') === base).map((m) => loadClassifier(m)));
  const macs = nets[0].planned.steps.reduce((s, step) => s + step.macs, 0);
  const contenders: { runtime: string; precision: string; run: () => unknown }[] = nets.map((net) => {
    net.setInput(image);
    return { runtime: 'squeezewasm', precision: net.model.precision, run: () => run(net.planned) };
  });
  const onnx = `${values.shared}/models/${base}.onnx`;
  let session: ort.InferenceSession | undefined;
  if (existsSync(onnx)) {
    session = await ort.InferenceSession.create(readFileSync(onnx), { executionProviders: ['wasm'] });
    const { h, w } = nets[0].planned.input;
    const pixels = decodeImage(image);
    const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', preprocessNCHW(pixels.data, pixels.width, pixels.height, nets[0].model.input), [1, 3, h, w]) };
    contenders.push({ runtime: 'onnxruntime-web', precision: 'f32', run: () => session!.run(feeds) });
  } else {
    console.warn(`(${onnx} not found: onnxruntime-web not timed; pass --shared <dir>)`);
  }
  const row = (runtime: string, p: string, what: string, t: { median: number; p10: number; p90: number }) => ({
    model: base, runtime, precision: p, what, median_ms: t.median, p10_ms: t.p10, p90_ms: t.p90, gmacs: macs / t.median / 1e6,
  });
  const samples = contenders.map(() => [] as number[]);
  for (let round = -5; round < runs; round++) {
    for (let j = 0; j < contenders.length; j++) {
      const c = (j + Math.max(0, round)) % contenders.length;
      const t0 = performance.now();
      await contenders[c].run();
      if (round >= 0) samples[c].push(performance.now() - t0);
    }
  }
  contenders.forEach((c, j) => rows.push(row(c.runtime, c.precision, 'inference', stats(samples[j]))));
  await session?.release();

  for (const net of nets) {
    rows.push(row('squeezewasm', net.model.precision, 'end-to-end', await time(`${net.name} end-to-end`, () => net.classifySync(image))));
  }
  // Per layer, the precisions in turn as well.
  const perStep = nets.map((net) => net.planned.steps.map(() => [] as number[]));
  for (let i = 0; i < runs; i++) nets.forEach((net, n) => net.runTimed(() => performance.now()).ms.forEach((ms, j) => perStep[n][j].push(ms)));
  nets.forEach((net, n) =>
    net.planned.steps.forEach((step, j) => {
      const ms = stats(perStep[n][j]).median;
      const gmacs = step.macs ? step.macs / ms / 1e6 : undefined;
      const pct_of_peak = gmacs && (100 * gmacs) / peakFor(net.model.precision, peaks).gmacs;
      layerRows.push({ model: base, precision: net.model.precision, layer: step.name, op: step.op, mmacs: step.macs / 1e6, ms, gmacs, pct_of_peak });
    }),
  );
  for (const net of nets) net.dispose();
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`\nsqueezewasm bench: Node ${process.version}, ${cpu}, single thread, ${runs} timed runs each\n`);
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
console.log('WebAssembly SIMD peaks (npm run bench:roofline)');
printPeaks(peaks);
// Per layer, the two precisions side by side. int8 GMAC/s counts the direct convolution's MACs,
// so Winograd layers show their effective rate.
for (const base of new Set(layerRows.map((r) => r.model as string))) {
  const of = (p: string) => layerRows.filter((r) => r.model === base && r.precision === p);
  const [f32, int8] = [of('f32'), of('int8')];
  const names = (f32.length ? f32 : int8).map((r) => r.layer as string);
  const cell = (rs: Record<string, unknown>[], layer: string, key: string, d: number) => fmt(rs.find((r) => r.layer === layer)?.[key], d);
  console.log(`${base}: per layer (median of ${runs})`);
  table(
    ['layer', 'op', 'MMAC', 'f32 ms', 'f32 GMAC/s', 'f32 % of peak', 'int8 ms', 'int8 GMAC/s', 'int8 % of peak', 'int8 speed-up'],
    names.map((layer) => {
      const a = f32.find((r) => r.layer === layer)?.ms as number | undefined;
      const b = int8.find((r) => r.layer === layer)?.ms as number | undefined;
      const any = (f32.length ? f32 : int8).find((r) => r.layer === layer)!;
      return [
        layer, String(any.op), fmt(any.mmacs, 1), cell(f32, layer, 'ms', 3), cell(f32, layer, 'gmacs', 1), cell(f32, layer, 'pct_of_peak', 0),
        cell(int8, layer, 'ms', 3), cell(int8, layer, 'gmacs', 1), cell(int8, layer, 'pct_of_peak', 0), a && b ? `${(a / b).toFixed(2)}x` : '',
      ];
    }),
    2,
  );
}
console.log(`% of peak: GMAC/s over the plain SIMD peak above (f32 ${fmt(peakFor('f32', peaks).gmacs, 1)}, int8 ${fmt(peakFor('int8', peaks).gmacs, 1)} GMAC/s).`);
console.log("Layers that run as Winograd (3x3: int8 F(2x2), f32 F(4x4)) or sparse (pruned int8 1x1) can exceed 100 %: their GMAC/s counts the dense direct convolution's MACs.\n");
mkdirSync(packageFile('bench/out'), { recursive: true });
const out = packageFile('bench/out/bench.json');
writeFileSync(out, JSON.stringify({ node: process.version, cpu, runs, date: new Date().toISOString(), peaks, rows, layers: layerRows }, null, 1));
console.log(`wrote ${out}`);

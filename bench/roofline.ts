/**
 * `npm run bench:roofline`: the WebAssembly SIMD peak of this machine, single thread, for the
 * instruction mixes the kernels use, and the kernels' inner loops with their data in L1
 * (bench/roofline/probe*.ts, built here into bench/out/roofline/). Prints a table and writes
 * bench/out/roofline.json; bench/bench.ts rates each layer against {@link peakFor}.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, stats, table } from './stats.js';

/** One probe's measured throughput. */
export interface Peak {
  /** What the probe stands for; `int8` and `f32` are the plain SIMD peaks layers are rated against. */
  probe: string;
  /** The instruction mix of one step. */
  instr: string;
  /** Independent accumulators: with too few, each accumulate waits for the previous one's result. */
  accumulators: number;
  /** Billions of multiply-accumulates per second. */
  gmacs: number;
  /** Billions of wasm SIMD instructions per second, operand loads included. */
  gops: number;
}

/** A probe export: MACs and SIMD instructions per iteration, `k` being the kernel probes' channels per pass. */
interface Probe {
  fn: string;
  probe: string;
  instr: string;
  accumulators: number;
  macs: (k: number) => number;
  ops: (k: number) => number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const SOURCES = join(ROOT, 'bench/roofline');
const OUT = join(ROOT, 'bench/out/roofline');
const TARGET_MS = 50;
const REPS = 7;

const DOT = 'i32x4.dot_i16x8_s + i32x4.add';
const MULADD = 'f32x4.mul + f32x4.add';
const DOT16 = 'i16x8.relaxed_dot_i8x16_i7x16_s + i32x4.extadd_pairwise_i16x8_s + i32x4.add';
const DOTADD = 'i32x4.relaxed_dot_i8x16_i7x16_add_s';
// The register-blocked probes load one operand per 2 accumulators (acc / 2 loads an iteration).
// Kernel probes: per pair of k (int8) or per k (f32), 2 weight loads, 4 input broadcasts (u8 also
// widens them) and 8 accumulates, as in the kernels.
const MODULES: { name: string; features: string; probes: Probe[] }[] = [
  {
    name: 'probe',
    features: 'simd',
    probes: [
      { fn: 'int8_acc8', probe: 'int8', instr: DOT, accumulators: 8, macs: () => 64, ops: () => 20 },
      { fn: 'int8_acc4', probe: 'int8', instr: DOT, accumulators: 4, macs: () => 32, ops: () => 10 },
      { fn: 'f32_acc8', probe: 'f32', instr: MULADD, accumulators: 8, macs: () => 32, ops: () => 20 },
      { fn: 'f32_acc4', probe: 'f32', instr: MULADD, accumulators: 4, macs: () => 16, ops: () => 10 },
      {
        fn: 'int8_kernel_u8', probe: 'int8 kernel, u8 input', instr: `i8_igemm_4x8c2 loop: load16_splat + extend_low_i8x16_u, v128.load, ${DOT}`,
        accumulators: 8, macs: (k) => (k / 2) * 64, ops: (k) => (k / 2) * 26,
      },
      {
        fn: 'int8_kernel_i16', probe: 'int8 kernel, i16 input', instr: `i16 input and Winograd GEMM loop: load32_splat, v128.load, ${DOT}`,
        accumulators: 8, macs: (k) => (k / 2) * 64, ops: (k) => (k / 2) * 22,
      },
      {
        fn: 'f32_kernel', probe: 'f32 kernel', instr: `f32_igemm_4x8 loop: load32_splat, v128.load, ${MULADD}`,
        accumulators: 8, macs: (k) => k * 32, ops: (k) => k * 22,
      },
    ],
  },
  {
    name: 'probe-relaxed',
    features: 'simd,relaxed-simd',
    probes: [
      { fn: 'madd_acc8', probe: 'relaxed f32', instr: 'f32x4.relaxed_madd', accumulators: 8, macs: () => 32, ops: () => 12 },
      { fn: 'madd_acc4', probe: 'relaxed f32', instr: 'f32x4.relaxed_madd', accumulators: 4, macs: () => 16, ops: () => 6 },
      { fn: 'dot16_acc8', probe: 'relaxed int8, 3 steps', instr: DOT16, accumulators: 8, macs: () => 128, ops: () => 28 },
      { fn: 'dot16_acc4', probe: 'relaxed int8, 3 steps', instr: DOT16, accumulators: 4, macs: () => 64, ops: () => 14 },
      { fn: 'dotadd_acc8', probe: 'relaxed int8, dot-add', instr: DOTADD, accumulators: 8, macs: () => 128, ops: () => 12 },
      { fn: 'dotadd_acc4', probe: 'relaxed int8, dot-add', instr: DOTADD, accumulators: 4, macs: () => 64, ops: () => 6 },
    ],
  },
];

/** The module's wasm, compiled with asc unless it is newer than its sources. */
function build(name: string, features: string): Uint8Array<ArrayBuffer> {
  const wasm = join(OUT, `${name}.wasm`);
  const sources = [`${name}.ts`, 'probe-common.ts'].map((f) => join(SOURCES, f));
  if (!existsSync(wasm) || sources.some((s) => statSync(s).mtimeMs > statSync(wasm).mtimeMs)) {
    // Run in bench/roofline: asc applies the asconfig.json of its working directory, and the
    // package's one (the kernels' release target) must not shape the probes.
    const args = [`${name}.ts`, '-o', wasm, '--runtime', 'stub', '--initialMemory', '1', '-O3', '--noAssert', '--enable', features];
    const r = spawnSync(join(ROOT, 'node_modules/.bin/asc'), args, { cwd: SOURCES, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`asc ${name}.ts failed: ${r.error?.message ?? `exit code ${r.status}`}`);
  }
  return new Uint8Array(readFileSync(wasm));
}

/** Milliseconds one call of `f(n)` takes. */
const clock = (f: (n: number) => number, n: number): number => {
  const t0 = performance.now();
  f(n);
  return performance.now() - t0;
};

/** Median seconds per iteration of `f`, over REPS calls of about TARGET_MS each. */
function secondsPerIteration(f: (n: number) => number): number {
  // Doubling from small calls also lets V8 tier the probe up from Liftoff to TurboFan, which it
  // does in the background: the call after the doubling is re-timed before sizing the runs.
  let n = 1024;
  while (clock(f, n) < TARGET_MS / 5) n *= 2;
  n = Math.min(2 ** 31 - 1, Math.ceil((n * TARGET_MS) / clock(f, n)));
  return stats(Array.from({ length: REPS }, () => clock(f, n))).median / 1e3 / n;
}

/**
 * Times every probe on this machine: about 50 ms per call, median of 7 calls, one thread, a few
 * seconds in all (plus asc's, once). Relaxed SIMD probes are skipped (with a warning) where the engine rejects their
 * module, as Node 20 does unless started with --experimental-wasm-relaxed-simd.
 */
export async function measurePeaks(): Promise<Peak[]> {
  const peaks: Peak[] = [];
  for (const m of MODULES) {
    const bytes = build(m.name, m.features);
    if (!WebAssembly.validate(bytes)) {
      console.warn(`(${m.features}: not supported by Node ${process.version}, ${m.name} probes skipped; Node 20 needs --experimental-wasm-relaxed-simd)`);
      continue;
    }
    const { instance } = await WebAssembly.instantiate(bytes);
    const exports = instance.exports as Record<string, unknown>;
    (exports.init as () => void)();
    // Channels per pass of the kernel probes, which only the plain module has.
    const k = exports.K instanceof WebAssembly.Global ? (exports.K.value as number) : 0;
    for (const p of m.probes) {
      const s = secondsPerIteration(exports[p.fn] as (n: number) => number);
      peaks.push({ probe: p.probe, instr: p.instr, accumulators: p.accumulators, gmacs: p.macs(k) / s / 1e9, gops: p.ops(k) / s / 1e9 });
    }
  }
  return peaks;
}

/**
 * The peak a layer of `precision` is rated against: the plain SIMD mix its kernels use
 * (`i32x4.dot_i16x8_s` + add for int8, mul + add for f32), at the better accumulator count.
 */
export function peakFor(precision: 'f32' | 'int8', peaks: Peak[]): Peak {
  const best = peaks.filter((p) => p.probe === precision).sort((a, b) => b.gmacs - a.gmacs)[0];
  if (!best) throw new Error(`no ${precision} probe among the peaks`);
  return best;
}

/** Prints the peaks as a table. */
export function printPeaks(peaks: Peak[]): void {
  table(['probe', 'instructions', 'accumulators', 'GMAC/s', 'Gop/s'], peaks.map((p) => [p.probe, p.instr, String(p.accumulators), fmt(p.gmacs, 1), fmt(p.gops, 1)]), 2);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const peaks = await measurePeaks();
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`\nroofline: Node ${process.version}, ${cpu}, single thread, median of ${REPS} calls of ~${TARGET_MS} ms\n`);
  printPeaks(peaks);
  mkdirSync(join(ROOT, 'bench/out'), { recursive: true });
  const out = join(ROOT, 'bench/out/roofline.json');
  writeFileSync(out, JSON.stringify({ node: process.version, cpu, date: new Date().toISOString(), peaks }, null, 1));
  console.log(`wrote ${out}`);
}

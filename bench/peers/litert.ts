/**
 * LiteRT.js (`@litertjs/core`, TensorFlow Lite's web runtime: XNNPACK in WebAssembly) as a
 * benchmark peer, runtime id `litert-wasm`: the bundled squeezewasm models written as .tflite files
 * by bench/peers/tflite-writer.ts (f32, and int8 from the bundled int8 calibration), on one thread.
 *
 * `npx tsx bench/peers/litert.ts --check` runs both models at both precisions on
 * test/fixtures/images against squeezewasm f32: max |logit difference| relative to the logit range
 * and top-1 per image; it exits 1 if f32 differs from squeezewasm f32 by more than
 * {@link F32_LOGIT_TOLERANCE} of the range or in any top-1. Then it times squeezewasm and LiteRT.js
 * at both precisions taking turns in this one process ({@link timeTurns}), which a drifting machine
 * disturbs more evenly than processes one after another.
 *
 * Node: LiteRT.js is written for browsers and workers. Its loader runs the Emscripten glue with
 * `importScripts` (a worker's global) and then reads `self.ModuleFactory`; the glue itself detects
 * Node and reads its .wasm with `require('node:fs')` from `__dirname`. {@link loadLiteRt} provides
 * those globals, and picks the build itself (see there).
 * @packageDocumentation
 */
import { F32_LOGIT_TOLERANCE, type CompareModel, type Peer } from './peer.js';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { compileFunction } from 'node:vm';
import * as litert from '@litertjs/core';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess } from '../../src/image/preprocess.js';
import { readModel } from '../../src/model/read.js';
import { loadClassifier, packageFile, readModelFile } from '../../src/node.js';
import { topK } from '../../src/runtime/output.js';
import { run } from '../../src/runtime/run.js';
import { RELAXED_PROBE } from '../../src/wasm/kernels.js';
import { stats } from '../stats.js';
import { modelToTflite, type TfliteWriteOptions } from './tflite-writer.js';

/** The two single-threaded builds in @litertjs/core/wasm/ (the others need threads or JSPI). */
export const LITERT_BUILDS = {
  /** Relaxed SIMD (XNNPACK's wasmrelaxedsimd kernels); Node 22+, Node 20 only behind a flag. */
  relaxed: 'litert_wasm_internal.js',
  /** Plain WebAssembly SIMD128 ("compat" in LiteRT.js's naming). */
  simd: 'litert_wasm_compat_internal.js',
} as const;

/** Which build {@link loadLiteRt} loaded in this process. */
export let liteRtBuild: keyof typeof LITERT_BUILDS | undefined;
let loading: Promise<void> | undefined;

/** The directory of @litertjs/core's wasm builds in this checkout. */
export function liteRtWasmDir(): string {
  return join(dirname(createRequire(import.meta.url).resolve('@litertjs/core')), '..', 'wasm');
}

/**
 * Defines what LiteRT.js's loader expects of a worker: `self`, and `importScripts(url)`, which here
 * evaluates the Emscripten glue as the CommonJS module it also is (`require`, `__filename`,
 * `__dirname`, `module` in scope) and publishes its factory as `self.ModuleFactory`.
 */
function installWorkerShims(): void {
  const g = globalThis as unknown as { self?: unknown; importScripts?: (url: string) => void; ModuleFactory?: unknown };
  g.self ??= globalThis;
  g.importScripts = (url: string) => {
    const file = url.startsWith('file:') ? fileURLToPath(url) : url;
    const params = ['require', '__filename', '__dirname', 'module', 'exports'];
    const glue = compileFunction(readFileSync(file, 'utf8'), params, { filename: file });
    const module = { exports: {} as unknown };
    glue(createRequire(file), file, dirname(file), module, module.exports);
    g.ModuleFactory = module.exports;
  };
}

/**
 * Loads LiteRT.js once per process from `dir` (default: this checkout's @litertjs/core/wasm/):
 * by default the relaxed SIMD build where this engine validates relaxed SIMD, else the plain SIMD
 * build. The build is chosen here, by full file path, so that the choice is ours and recorded
 * ({@link liteRtBuild}), rather than LiteRT.js's own feature probe's. Later calls return the first
 * call's promise, whatever they ask for.
 * @param build `'simd'` forces the plain SIMD build (to compare the two on one engine).
 */
export function loadLiteRt(dir = liteRtWasmDir(), build: keyof typeof LITERT_BUILDS | 'auto' = 'auto'): Promise<void> {
  loading ??= (async () => {
    installWorkerShims();
    const chosen = build !== 'auto' ? build : WebAssembly.validate(RELAXED_PROBE) ? 'relaxed' : 'simd';
    // Emscripten takes `self.Module` as the module's settings: its stderr goes through printErr,
    // where the runtime's INFO lines (a dozen per process) and its warning that no NPU plugin can
    // be loaded (there is none in a browser build) are dropped; other warnings and errors stay.
    const noise = (line: string): boolean => line.startsWith('INFO: ') || line.includes('NPU accelerator could not be loaded');
    (globalThis as { Module?: unknown }).Module = { printErr: (line: string) => void (noise(line) || console.error(line)) };
    // LiteRT.js then tries to open a WebGPU device for its default environment and warns with a
    // stack when there is none, as in Node; this peer asks for the CPU, so that warning is dropped.
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void (String(args[0]).startsWith('Failed to create default WebGPU device') || warn(...args));
    try {
      await litert.loadLiteRt(join(dir, LITERT_BUILDS[chosen]));
    } finally {
      console.warn = warn;
    }
    liteRtBuild = chosen;
  })();
  return loading;
}

/**
 * Compiles .tflite bytes for the CPU on one thread. LiteRT hands the graph to its XNNPACK delegate;
 * any op the delegate declines would run in TFLite's built-in kernels instead, and
 * `isFullyAccelerated` says whether that happened (it is false when a node outside the delegate
 * remains: a conv without a bias, for one).
 * @param requireXnnpack throw unless every op runs in XNNPACK.
 */
export async function compileTflite(bytes: Uint8Array, requireXnnpack = true): Promise<litert.CompiledModel> {
  await loadLiteRt();
  const compiled = await litert.loadAndCompile(bytes, { accelerator: 'wasm', cpuOptions: { numThreads: 1 } });
  if (requireXnnpack && !compiled.isFullyAccelerated) {
    compiled.delete();
    throw new Error('litert-wasm: some ops of the model would run outside XNNPACK (isFullyAccelerated is false)');
  }
  return compiled;
}

/** Runs `compiled` on `input` (already in LiteRT's memory) and copies out the first output. */
async function infer(compiled: litert.CompiledModel, input: litert.Tensor): Promise<Float32Array> {
  const outputs = await compiled.run([input]);
  try {
    return new Float32Array(outputs[0].toTypedArray() as Float32Array);
  } finally {
    for (const t of outputs) t.delete();
  }
}

/** The .tflite bytes the peer runs: the bundled `<model>-<precision>` model, logits out (no softmax). */
export async function peerTflite(model: CompareModel, precision: 'f32' | 'int8', options: TfliteWriteOptions = {}): Promise<Uint8Array> {
  return modelToTflite(readModel(await readModelFile(`${model}-${precision}`)), { stopBeforeSoftmax: true, ...options });
}

/**
 * LiteRT.js on the bundled `<model>-<precision>` model as .tflite, fed `input` (uploaded once).
 * Each `run()` is one inference with the output copied back to JS.
 * @param input The preprocessed image, NHWC, height x width x 3, as `preprocess` writes it.
 * @throws Error if the input has the wrong size or LiteRT.js refuses the model.
 */
export async function createLiteRtPeer(model: CompareModel, precision: 'f32' | 'int8', input: Float32Array): Promise<Peer> {
  const compiled = await compileTflite(await peerTflite(model, precision));
  const [{ shape }] = compiled.getInputDetails();
  const n = shape.reduce((a, b) => a * b, 1);
  if (input.length !== n) throw new Error(`litert-wasm: ${model} takes [${shape}] = ${n} input values, got ${input.length}`);
  const tensor = new litert.Tensor(input, [...shape]);
  let last: Float32Array | undefined;
  return {
    runtime: 'litert-wasm',
    precision,
    build: liteRtBuild,
    run: async () => {
      last = await infer(compiled, tensor);
    },
    logits: async () => (last ??= await infer(compiled, tensor)),
    dispose: () => {
      tensor.delete();
      compiled.delete();
    },
  };
}

/** Max |a - b| and the range of `b`. */
function difference(a: Float32Array, b: Float32Array): { max: number; range: number } {
  let max = a.length === b.length ? 0 : Infinity;
  for (let i = 0; i < b.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return { max, range: Math.max(...b) - Math.min(...b) };
}

/** The `--check` run over test/fixtures/images; returns the number of failed checks. */
async function check(): Promise<number> {
  const dir = packageFile('test/fixtures/images');
  let failures = 0;
  for (const model of ['squeezenet1.1', 'squeezenet1.0'] as const) {
    const net = await loadClassifier(`${model}-f32`);
    const [f32, int8] = [await compileTflite(await peerTflite(model, 'f32')), await compileTflite(await peerTflite(model, 'int8'))];
    console.log(`${model}: LiteRT.js ${liteRtBuild} build vs squeezewasm f32 (logits)`);
    for (const file of readdirSync(dir).sort()) {
      const pixels = decodeImage(readFileSync(join(dir, file)));
      const nhwc = new Float32Array(net.input.height * net.input.width * 3);
      preprocess(pixels.data, pixels.width, pixels.height, net.model.input, nhwc);
      net.setInput(pixels);
      const ref = run(net.planned);
      const tensor = new litert.Tensor(nhwc, [1, net.input.height, net.input.width, 3]);
      const [a, q] = [await infer(f32, tensor), await infer(int8, tensor)];
      tensor.delete();
      const [da, dq] = [difference(a, ref), difference(q, ref)];
      const [top, topA, topQ] = [topK(ref, 1)[0], topK(a, 1)[0], topK(q, 1)[0]];
      const bad = da.max > F32_LOGIT_TOLERANCE * da.range || topA !== top;
      failures += Number(bad);
      console.log(`  ${file.padEnd(32)} f32: max |diff| ${da.max.toExponential(2)} (${(da.max / da.range).toExponential(2)} of range ${da.range.toFixed(1)}), top-1 ${topA}/${top}${bad ? '  MISMATCH' : ''}; int8: max |diff| ${dq.max.toFixed(3)}, top-1 ${topQ}${topQ === top ? '' : ' (differs)'}`);
    }
    f32.delete();
    int8.delete();
    net.dispose();
  }
  return failures;
}

/**
 * squeezewasm and LiteRT.js, int8 and f32, on the first fixture image (bench:compare's input),
 * each running once per turn: 5 turns of warm-up, then `turns` timed; prints median, p10 and min.
 */
async function timeTurns(model: CompareModel, turns = 40): Promise<void> {
  const net = await loadClassifier(`${model}-f32`);
  const dir = packageFile('test/fixtures/images');
  const pixels = decodeImage(readFileSync(join(dir, readdirSync(dir).sort()[0])));
  const input = new Float32Array(net.input.height * net.input.width * 3);
  preprocess(pixels.data, pixels.width, pixels.height, net.model.input, input);
  net.dispose();
  const { createSqueezewasmPeer } = await import('./squeezewasm.js');
  const peers = [
    await createSqueezewasmPeer(model, 'int8', input), await createLiteRtPeer(model, 'int8', input),
    await createSqueezewasmPeer(model, 'f32', input), await createLiteRtPeer(model, 'f32', input),
  ];
  const ms = peers.map(() => [] as number[]);
  for (let turn = -5; turn < turns; turn++) {
    for (const [i, peer] of peers.entries()) {
      const t0 = performance.now();
      await peer.run();
      if (turn >= 0) ms[i].push(performance.now() - t0);
    }
  }
  for (const [i, peer] of peers.entries()) {
    const s = stats(ms[i]);
    console.log(`  ${model} ${`${peer.runtime} ${peer.precision}`.padEnd(18)} median ${s.median.toFixed(2)} ms, p10 ${s.p10.toFixed(2)}, min ${s.min.toFixed(2)}`);
    await peer.dispose();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv.includes('--check')) {
    console.error('usage: npx tsx bench/peers/litert.ts --check');
    process.exit(2);
  }
  const failures = await check();
  console.log(`\nTaking turns in one process, Node ${process.version}, LiteRT.js ${liteRtBuild} build, one thread:`);
  for (const model of ['squeezenet1.1', 'squeezenet1.0'] as const) await timeTurns(model);
  if (failures) console.error(`${failures} image(s) failed the f32 check`);
  process.exit(failures ? 1 : 0);
}

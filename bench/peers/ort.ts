/**
 * onnxruntime-web (wasm backend, SIMD, one thread) as a benchmark peer: the float reference ONNX
 * models, and the bundled int8 models' own calibration as QDQ ONNX (bench/peers/qdq-onnx.ts).
 *
 * `npx tsx bench/peers/ort.ts --check [--shared ../shared]` checks the int8 peer on
 * test/fixtures/images for both models: its output against squeezewasm int8 (max abs difference,
 * top-1 on every image), its top-1 against onnxruntime f32, which kernels onnxruntime executed (from
 * its profile), and rough median latencies. Exits 1 if onnxruntime int8's top-1 differs from
 * squeezewasm int8's on any image or if any conv did not run as QLinearConv.
 * @packageDocumentation
 */
import type { Peer } from './peer.js';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess, toNCHW } from '../../src/image/preprocess.js';
import { readModel } from '../../src/model/read.js';
import { loadClassifier, packageFile, readModelFile } from '../../src/node.js';
import { softmax, topK } from '../../src/runtime/output.js';
import { run } from '../../src/runtime/run.js';
import { REFERENCE_MODELS, type ReferenceModel } from '../reference-models.js';
import { int8ModelToQdqOnnx } from './qdq-onnx.js';

type ModelName = ReferenceModel['name'];

/** The ONNX bytes onnxruntime runs: the shared float model, or the bundled int8 model as QDQ. */
async function onnxBytes(model: ModelName, precision: 'f32' | 'int8', shared: string): Promise<Uint8Array> {
  if (precision === 'f32') return readFileSync(`${shared}/models/${model}.onnx`);
  return int8ModelToQdqOnnx(readModel(await readModelFile(`${model}-int8`)));
}

/** A session with the wasm backend on one thread and full graph optimization (which does the QDQ fusion). */
async function openSession(bytes: Uint8Array, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.simd = true;
  return ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', ...options });
}

/** Feeds for `session` from a preprocessed NHWC image of the reference model's input size. */
function feedsFor(session: ort.InferenceSession, model: ModelName, nhwc: Float32Array): Record<string, ort.Tensor> {
  const { height: h, width: w } = REFERENCE_MODELS.find((m) => m.name === model)!.input;
  return { [session.inputNames[0]]: new ort.Tensor('float32', toNCHW(nhwc, h, w), [1, 3, h, w]) };
}

async function infer(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  return (await session.run(feeds))[session.outputNames[0]].data as Float32Array;
}

/**
 * onnxruntime-web on `model` at `precision`, fed `input`.
 * @param input the preprocessed image, NHWC, height x width x 3 (as `preprocess` writes it).
 * @param shared the directory holding `models/<model>.onnx` (the float models; ../shared).
 * @throws if the float model cannot be read, or (ArgumentError) `input` is not the model's input size.
 */
export async function createOrtPeer(model: ModelName, precision: 'f32' | 'int8', input: Float32Array, shared: string): Promise<Peer> {
  const session = await openSession(await onnxBytes(model, precision, shared));
  const feeds = feedsFor(session, model, input);
  let last: Float32Array | undefined;
  return {
    runtime: 'onnxruntime-web',
    precision,
    run: async () => {
      last = await infer(session, feeds);
    },
    logits: async () => (last ??= await infer(session, feeds)),
    dispose: () => session.release(),
  };
}

/**
 * Operator types onnxruntime executed in one run of `bytes`, with counts, from its profile. The
 * wasm build has no file system, so it prints the profile to stdout when profiling ends; the
 * emscripten module writes through `fs.writeSync`, which is borrowed for that one call.
 */
async function executedOps(bytes: Uint8Array, feeds: (s: ort.InferenceSession) => Record<string, ort.Tensor>): Promise<Map<string, number>> {
  const session = await openSession(bytes, { enableProfiling: true });
  await session.run(feeds(session));
  const fs = createRequire(import.meta.url)('node:fs') as typeof import('node:fs');
  const writeSync = fs.writeSync;
  let text = '';
  fs.writeSync = ((fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd === 1 && typeof data === 'string') {
      text += data;
      return data.length;
    }
    return (writeSync as (...a: unknown[]) => number)(fd, data, ...rest);
  }) as typeof fs.writeSync;
  try {
    await session.endProfiling();
  } finally {
    fs.writeSync = writeSync;
    await session.release();
  }
  const events = JSON.parse(text.slice(text.indexOf('['))) as { cat: string; name: string; args: { op_name?: string } }[];
  const ops = new Map<string, number>();
  for (const e of events) {
    if (e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args.op_name) ops.set(e.args.op_name, (ops.get(e.args.op_name) ?? 0) + 1);
  }
  return ops;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The `--check` run; returns the number of failed checks. */
async function check(shared: string): Promise<number> {
  const dir = packageFile('test/fixtures/images');
  const files = readdirSync(dir).sort();
  let failures = 0;
  for (const ref of REFERENCE_MODELS) {
    const net = await loadClassifier(`${ref.name}-int8`);
    const int8Bytes = await onnxBytes(ref.name, 'int8', shared);
    const [int8, f32] = [await openSession(int8Bytes), await openSession(await onnxBytes(ref.name, 'f32', shared))];
    const convs = net.model.ops.filter((op) => op.op === 'conv').length;
    const { height: h, width: w } = net.model.input;
    let maxDiff = 0;
    let sameAsSqueezewasm = 0;
    let sameAsF32 = 0;
    const inputs: Float32Array[] = [];
    console.log(`${ref.name}: onnxruntime-web int8 (QDQ from the bundled int8 model) vs squeezewasm int8 and onnxruntime-web f32, output ${ref.output}`);
    for (const file of files) {
      const pixels = decodeImage(readFileSync(`${dir}/${file}`));
      const nhwc = new Float32Array(h * w * 3);
      preprocess(pixels.data, pixels.width, pixels.height, net.model.input, nhwc);
      inputs.push(nhwc);
      net.setInput(pixels);
      // squeezewasm's run() stops before a final softmax; the ONNX models end where their float originals do.
      const logits = run(net.planned);
      const sw = ref.output === 'prob' ? softmax(logits) : logits;
      const q = await infer(int8, feedsFor(int8, ref.name, nhwc));
      const f = await infer(f32, feedsFor(f32, ref.name, nhwc));
      let diff = 0;
      for (let i = 0; i < q.length; i++) diff = Math.max(diff, Math.abs(q[i] - sw[i]));
      maxDiff = Math.max(maxDiff, diff);
      const [top, topSw, topF32] = [topK(q, 1)[0], topK(sw, 1)[0], topK(f, 1)[0]];
      sameAsSqueezewasm += Number(top === topSw);
      sameAsF32 += Number(top === topF32);
      console.log(`  ${file.padEnd(32)} top-1 ort-int8 ${top} squeezewasm-int8 ${topSw} ort-f32 ${topF32}  max |ort-int8 - squeezewasm-int8| ${diff.toPrecision(3)}${top === topSw ? '' : '  TOP-1 DIFFERS'}`);
    }
    net.dispose();
    await int8.release();
    await f32.release();
    const n = files.length;
    console.log(`  top-1 ort-int8 = squeezewasm-int8 on ${sameAsSqueezewasm}/${n}, max abs diff ${maxDiff.toPrecision(3)}; ort-int8 = ort-f32 on ${sameAsF32}/${n}`);
    if (sameAsSqueezewasm !== n) failures++;

    const ops = await executedOps(int8Bytes, (s) => feedsFor(s, ref.name, inputs[0]));
    const fused = ops.get('QLinearConv') ?? 0;
    const floatConvs = (ops.get('Conv') ?? 0) + (ops.get('FusedConv') ?? 0);
    console.log(`  executed (onnxruntime profile): ${[...ops].map(([op, c]) => `${op} x${c}`).join(', ')}`);
    console.log(`  ${fused}/${convs} convs ran as QLinearConv (uint8 x int8), ${floatConvs} as float${fused === convs && floatConvs === 0 ? '' : '  NOT ALL CONVS INT8'}`);
    if (fused !== convs || floatConvs !== 0) failures++;

    // Rough numbers only: the runtimes take turns so drift on a shared machine hits both alike.
    const peers = [await createOrtPeer(ref.name, 'f32', inputs[0], shared), await createOrtPeer(ref.name, 'int8', inputs[0], shared)];
    const ms = peers.map(() => [] as number[]);
    for (let round = -2; round < 10; round++) {
      for (const [i, peer] of peers.entries()) {
        const t0 = performance.now();
        await peer.run();
        if (round >= 0) ms[i].push(performance.now() - t0);
      }
    }
    for (const peer of peers) await peer.dispose();
    console.log(`  median of 10 runs: onnxruntime-web f32 ${median(ms[0]).toFixed(1)} ms, int8 ${median(ms[1]).toFixed(1)} ms (${(median(ms[0]) / median(ms[1])).toFixed(2)}x)\n`);
  }
  return failures;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, shared: { type: 'string', default: '../shared' } } });
  if (!values.check) {
    console.error('usage: npx tsx bench/peers/ort.ts --check [--shared ../shared]');
    process.exit(2);
  }
  const failures = await check(values.shared);
  if (failures) console.error(`${failures} check(s) failed`);
  process.exit(failures ? 1 : 0);
}

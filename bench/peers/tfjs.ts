/**
 * TensorFlow.js peer for the cross-runtime benchmark: @tensorflow/tfjs-backend-wasm (XNNPACK, one
 * thread, the SIMD binary) running the network of a bundled squeezewasm float model, op by op, on
 * the very same float weights. `tsx bench/peers/tfjs.ts --check` checks it against squeezewasm's f32
 * path on the fixture images and exits non-zero when they disagree.
 *
 * Binary: in Node, tfjs-backend-wasm never reports thread support (WASM_HAS_MULTITHREAD_SUPPORT is
 * false under IS_NODE), so with SIMD available it loads dist/tfjs-backend-wasm-simd.wasm;
 * {@link initBackend} refuses to run otherwise. Observed on Node 20: that file is the one read.
 * @packageDocumentation
 */
import type { Peer } from './peer.js';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { decodeImage } from '../../src/image/decode.js';
import { preprocess } from '../../src/image/preprocess.js';
import type { Model } from '../../src/model/format.js';
import { windowOutputSize } from '../../src/model/graph.js';
import { validateModel } from '../../src/model/validate.js';
import { loadClassifier, packageFile } from '../../src/node.js';
import { topK } from '../../src/runtime/output.js';
import { run } from '../../src/runtime/run.js';

/** The networks this peer builds, each from the bundled `<name>-f32` model. */
export type TfjsModel = 'squeezenet1.1' | 'squeezenet1.0';

let backend: Promise<void> | undefined;

/** Selects the wasm backend once per process: one thread, SIMD binary, or an error. */
function initBackend(): Promise<void> {
  backend ??= (async () => {
    // Node resolves the package to dist/tf-backend-wasm.node.js; its .wasm files sit beside it.
    setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'))}/`);
    setThreadsCount(1);
    // The same two flags pick the binary inside the backend (getPathToWasmBinary).
    if (!(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))) throw new Error('tfjs-wasm: this engine has no wasm SIMD; the plain binary would be timed');
    if (await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) throw new Error('tfjs-wasm: threads are available, so the threaded SIMD binary would be loaded');
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs-wasm: the wasm backend failed to initialise');
    if (getThreadsCount() !== 1) throw new Error(`tfjs-wasm: running ${getThreadsCount()} threads, expected 1`);
  })();
  return backend;
}

/** OIHW (the model file's ONNX order) to tfjs's HWIO. */
function toHWIO(data: Float32Array, [n, c, kh, kw]: number[]): tf.Tensor4D {
  const out = new Float32Array(data.length);
  for (let o = 0; o < n; o++) {
    for (let i = 0; i < c; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((y * kw + x) * c + i) * n + o] = data[((o * c + i) * kh + y) * kw + x];
      }
    }
  }
  return tf.tensor4d(out, [kh, kw, c, n]);
}

type Activations = Map<string, tf.Tensor4D>;
/** Explicit NHWC padding: [[0, 0], [top, bottom], [left, right], [0, 0]]. */
type Padding = [[number, number], [number, number], [number, number], [number, number]];

/**
 * Translates `model` (f32) into a list of tfjs calls over NHWC activations. Constants are made here,
 * once; the returned function must run inside `tf.tidy`. Like squeezewasm's planner, a final softmax
 * is left out, so both return the same tensor.
 */
function translate(model: Model, constants: tf.Tensor[]): (x: tf.Tensor4D) => tf.Tensor4D {
  if (model.precision !== 'f32') throw new Error(`tfjs-wasm: ${model.name} is ${model.precision}; this peer runs float models`);
  const constant = (name: string | undefined): tf.Tensor1D | undefined => {
    if (name === undefined) return undefined;
    const t = model.tensors.get(name)!;
    const result = tf.tensor1d(t.data as Float32Array);
    constants.push(result);
    return result;
  };
  const valid = validateModel(model);
  const last = model.ops[model.ops.length - 1];
  const output = last.op === 'softmax' ? last.input : model.output;
  const steps: ((a: Activations) => void)[] = [];
  for (const op of model.ops) {
    switch (op.op) {
      case 'conv': {
        if (op.max !== undefined) throw new Error(`tfjs-wasm: ${model.name}: a conv clamped at ${op.max} is not translated`);
        const w = model.tensors.get(op.weight)!;
        const filter = toHWIO(w.data as Float32Array, w.shape);
        constants.push(filter);
        const bias = constant(op.bias);
        const [pt, pl, pb, pr] = op.pads;
        const pad: Padding = [[0, 0], [pt, pb], [pl, pr], [0, 0]];
        // Fused, so XNNPACK applies bias and ReLU in the convolution as squeezewasm's kernel does.
        steps.push((a) => void a.set(op.output, tf.fused.conv2d({ x: a.get(op.input)!, filter, strides: op.stride, pad, bias, activation: op.relu ? 'relu' : 'linear' })));
        break;
      }
      case 'maxpool': {
        const x = valid.act(op.input).shape;
        const [pt, pl, pb, pr] = op.pads;
        // Ceil mode as floor mode over just enough trailing padding: the window count then matches
        // the model's, and XNNPACK's max pooling ignores padded pixels as squeezewasm's does.
        const end = (size: number, k: number, s: number, begin: number, declared: number): number =>
          Math.max(0, (windowOutputSize(size, k, s, begin, declared, op.ceil) - 1) * s + k - size - begin);
        const pad: Padding = [[0, 0], [pt, end(x.h, op.kernel[0], op.stride[0], pt, pb)], [pl, end(x.w, op.kernel[1], op.stride[1], pl, pr)], [0, 0]];
        steps.push((a) => void a.set(op.output, tf.maxPool(a.get(op.input)!, op.kernel, op.stride, pad)));
        break;
      }
      case 'concat':
        steps.push((a) => void a.set(op.output, tf.concat(op.inputs.map((name) => a.get(name)!), 3)));
        break;
      case 'relu':
        steps.push((a) => void a.set(op.output, tf.relu(a.get(op.input)!)));
        break;
      case 'globalavgpool':
        steps.push((a) => void a.set(op.output, tf.mean(a.get(op.input)!, [1, 2], true)));
        break;
      case 'softmax':
        break;
      case 'avgpool':
      case 'add':
        // Neither bundled SqueezeNet has one (avgpool's padding and ceil semantics would need their own check).
        throw new Error(`tfjs-wasm: ${model.name}: op ${op.op} is not translated`);
    }
  }
  return (x) => {
    const a: Activations = new Map([[model.input.name, x]]);
    for (const step of steps) step(a);
    return a.get(output)!;
  };
}

/** The peer for an already loaded model: weights transposed and uploaded once, input uploaded once. */
async function peerOf(model: Model, input: Float32Array): Promise<Peer> {
  await initBackend();
  const { height: h, width: w } = model.input;
  if (input.length !== h * w * 3) throw new Error(`tfjs-wasm: ${model.name} takes ${h}x${w}x3 = ${h * w * 3} input values, got ${input.length}`);
  const constants: tf.Tensor[] = [];
  const forward = translate(model, constants);
  const x = tf.tensor4d(input, [1, h, w, 3]);
  constants.push(x);
  const infer = async (): Promise<Float32Array> => {
    const y = tf.tidy(() => forward(x));
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  };
  return { runtime: 'tfjs-wasm', precision: 'f32', run: infer, logits: infer, dispose: () => tf.dispose(constants) };
}

/**
 * TensorFlow.js (wasm backend, XNNPACK, SIMD, one thread) running `model` built from the bundled
 * `<model>-f32` weights, on one fixed input. Each `run()` is one inference from the uploaded input
 * to the downloaded output, and leaves no tensors behind.
 * @param input The preprocessed image, NHWC, height x width x 3, as `preprocess` writes it.
 * @throws Error if the SIMD binary with one thread cannot be had, or the input has the wrong size.
 */
export async function createTfjsPeer(model: TfjsModel, input: Float32Array): Promise<Peer> {
  const classifier = await loadClassifier(`${model}-f32`);
  classifier.dispose();
  return peerOf(classifier.model, input);
}

/** Agreement of the tfjs peer with squeezewasm's f32 path on one image. */
export interface TfjsImageCheck {
  image: string;
  maxAbsDiff: number;
  /** max - min of squeezewasm's output: the scale `maxAbsDiff` is judged against. */
  outputRange: number;
  top1: number;
  tfjsTop1: number;
}

/** Agreement of the tfjs peer with squeezewasm's f32 path on every fixture image. */
export interface TfjsCheck {
  model: TfjsModel;
  images: TfjsImageCheck[];
  /** Tensors left alive by two further `run()`s: 0 when memory stays flat. */
  leakedTensors: number;
  /** Every max |diff| within 1e-3 of the output range, every top-1 equal, no leak. */
  ok: boolean;
}

/** Largest |diff| a check accepts, as a fraction of the range of squeezewasm's output. */
export const TOLERANCE = 1e-3;

/**
 * Runs `model` in squeezewasm (f32) and in the tfjs peer on each image in test/fixtures/images, fed
 * the same preprocessed input, and compares the outputs.
 */
export async function checkTfjsPeer(model: TfjsModel): Promise<TfjsCheck> {
  const classifier = await loadClassifier(`${model}-f32`);
  const { height: h, width: w } = classifier.input;
  const dir = packageFile('test/fixtures/images');
  const images: TfjsImageCheck[] = [];
  let leakedTensors = 0;
  for (const image of readdirSync(dir).sort()) {
    const bytes = new Uint8Array(readFileSync(`${dir}/${image}`));
    classifier.setInput(bytes);
    const reference = run(classifier.planned);
    const pixels = decodeImage(bytes);
    const input = new Float32Array(h * w * 3);
    preprocess(pixels.data, pixels.width, pixels.height, classifier.model.input, input);
    const peer = await peerOf(classifier.model, input);
    const out = await peer.logits();
    if (images.length === 0) {
      const before = tf.memory().numTensors;
      await peer.run();
      await peer.run();
      leakedTensors = tf.memory().numTensors - before;
    }
    await peer.dispose();
    let maxAbsDiff = out.length === reference.length ? 0 : Infinity;
    for (let i = 0; i < reference.length; i++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(out[i] - reference[i]));
    const outputRange = Math.max(...reference) - Math.min(...reference);
    images.push({ image, maxAbsDiff, outputRange, top1: topK(reference, 1)[0], tfjsTop1: topK(out, 1)[0] });
  }
  classifier.dispose();
  const ok = leakedTensors === 0 && images.every((r) => r.maxAbsDiff <= TOLERANCE * r.outputRange && r.top1 === r.tfjsTop1);
  return { model, images, leakedTensors, ok };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (!process.argv.includes('--check')) {
    console.error('usage: tsx bench/peers/tfjs.ts --check');
    process.exit(2);
  }
  let ok = true;
  for (const model of ['squeezenet1.1', 'squeezenet1.0'] as const) {
    const check = await checkTfjsPeer(model);
    ok &&= check.ok;
    console.log(`${model}: tfjs-wasm ${tf.version_core} (wasm backend, SIMD, ${getThreadsCount()} thread) vs squeezewasm f32: ${check.ok ? 'ok' : 'MISMATCH'}, ${check.leakedTensors} tensors leaked per 2 runs`);
    for (const r of check.images) {
      const top1 = r.top1 === r.tfjsTop1 ? `top-1 equal (${r.top1})` : `TOP-1 DIFFERS (${r.top1} vs ${r.tfjsTop1})`;
      console.log(`  ${r.image.padEnd(32)} max |diff| ${r.maxAbsDiff.toExponential(2)} of range ${r.outputRange.toFixed(2)} (${(r.maxAbsDiff / r.outputRange).toExponential(2)})  ${top1}`);
    }
  }
  if (!ok) process.exit(1);
}

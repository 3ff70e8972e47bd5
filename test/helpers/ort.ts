import * as ort from 'onnxruntime-web';
import type { Model } from '../../src/model/format.js';
import { validateModel } from '../../src/model/validate.js';
import { planModel } from '../../src/runtime/plan.js';
import type { KernelVariant, View } from '../../src/runtime/types.js';
import { freshKernels } from './wasm.js';

ort.env.wasm.numThreads = 1;

/** onnxruntime-web's values of the graph outputs of `bytes` for one float input, by name. */
export async function ortRun(bytes: Uint8Array, input: string, dims: number[], data: Float32Array): Promise<Map<string, Float32Array>> {
  return (await ortRunAll(bytes, input, dims, [data]))[0];
}

/** {@link ortRun} for several inputs, in one session. */
export async function ortRunAll(bytes: Uint8Array, input: string, dims: number[], inputs: Float32Array[]): Promise<Map<string, Float32Array>[]> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const results: Map<string, Float32Array>[] = [];
    for (const data of inputs) {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, dims) });
      results.push(new Map(session.outputNames.map((name) => [name, out[name].data as Float32Array])));
    }
    return results;
  } finally {
    await session.release();
  }
}

/**
 * Runs a float model on an NCHW input, step by step, and returns every step's output in NCHW
 * (copied right after the step, before later steps may reuse its memory), by name.
 */
export async function captureRun(model: Model, nchw: Float32Array, variant: KernelVariant = 'simd', winograd = true): Promise<Map<string, Float32Array>> {
  const plan = planModel(validateModel(model), await freshKernels(), { variant, winograd });
  const { h, w } = plan.input;
  const slot = new Float32Array(plan.kernels.memory.buffer, plan.input.ptr, h * w * 3);
  for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) slot[i * 3 + c] = nchw[c * h * w + i];
  const acts = new Map<string, Float32Array>();
  const copy = (v: View): Float32Array => {
    const f = new Float32Array(plan.kernels.memory.buffer);
    const out = new Float32Array(v.c * v.h * v.w);
    for (let p = 0; p < v.h * v.w; p++) for (let c = 0; c < v.c; c++) out[c * v.h * v.w + p] = f[(v.ptr + p * v.stride) / 4 + c];
    return out;
  };
  for (const step of plan.steps) {
    step.run();
    acts.set(step.name, copy(step.output));
  }
  // A concat done in place has no step of its own.
  if (!plan.endsInSoftmax) acts.set(model.output, copy(plan.output));
  return acts;
}

/** Largest |a - b| over the largest |b| (at least 1): the error relative to the reference's magnitude. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0, scale = 1;
  b.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(a[i] - v));
    scale = Math.max(scale, Math.abs(v));
  });
  return diff / scale;
}

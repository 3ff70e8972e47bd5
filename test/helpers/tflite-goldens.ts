/**
 * The goldens of scripts/make-tflite-fixtures.py (test/fixtures/tflite/manifest.json): .tflite
 * files made by TensorFlow's converter, and the outputs TFLite's reference interpreter computed for
 * exact input tensors, made from stored pixels by the formula the manifest states.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { convertTflite } from '../../src/convert/tflite.js';
import type { QuantParams } from '../../src/model/format.js';
import { dequantizeInt8, quantizeInt8 } from '../../src/model/tflite-arithmetic.js';
import type { ValidModel } from '../../src/model/validate.js';
import { planModel, type PlanOptions } from '../../src/runtime/plan.js';
import { run } from '../../src/runtime/run.js';
import { tfliteSoftmaxOutput } from '../../src/runtime/output.js';
import type { KernelVariant, Plan } from '../../src/runtime/types.js';
import { readNpyU8 } from './npy.js';
import { freshKernels } from './wasm.js';

/** How the input tensor is made from uint8 pixels p: x = (p / pixelDivisor - mean) / divisor in float32, then TFLite's QUANTIZE for int8 inputs. */
export interface InputFromPixels {
  kind: 'float32' | 'int8';
  pixel_divisor: number;
  mean: number | number[];
  divisor: number | number[];
  scale?: number;
  zero_point?: number;
}

export interface GoldenModel {
  file: string;
  ops: string[];
  input: { shape: number[]; dtype: string };
  output: { shape: number[]; dtype: string; quantization: { scale: number[]; zero_point: number[] } };
  input_from_pixels: InputFromPixels;
  goldens: { image: string; pixels: string; output: number[]; argmax: number }[];
}

export interface Manifest {
  models: Record<string, GoldenModel>;
}

/** The manifest at `path`, and a resolver of the paths it names (relative to it). */
export function loadManifest(path: string): { manifest: Manifest; at: (file: string) => string } {
  return { manifest: JSON.parse(readFileSync(path, 'utf8')) as Manifest, at: (file) => join(dirname(path), file) };
}

const per = (v: number | number[], c: number): number => (Array.isArray(v) ? v[c] : v);

/** The float32 input x of every pixel value, NHWC, each step rounded to float32 as the manifest says. */
export function floatInput(spec: InputFromPixels, pixels: Uint8Array): Float32Array {
  const f = Math.fround;
  return Float32Array.from(pixels, (p, i) => f(f(f(p / spec.pixel_divisor) - f(per(spec.mean, i % 3))) / f(per(spec.divisor, i % 3))));
}

/** Converts a golden model with `labels` classes (named c0, c1, ...) and the manifest's input normalisation. */
export function convertGolden(bytes: Uint8Array, model: GoldenModel): ValidModel {
  const classes = model.output.shape[model.output.shape.length - 1];
  const s = model.input_from_pixels;
  const triple = (v: number | number[], scale: number): [number, number, number] => [0, 1, 2].map((c) => per(v, c) * scale) as [number, number, number];
  return convertTflite(bytes, {
    name: model.file,
    input: { channelOrder: 'RGB', divisor: s.pixel_divisor, mean: triple(s.mean, 1), std: triple(s.divisor, 1), resizeShorter: model.input.shape[1] },
    labels: Array.from({ length: classes }, (_, i) => `c${i}`),
    provenance: { source: model.file, license: 'test fixture' },
  });
}

/** A plan of `model` on fresh kernels. */
export async function planGolden(model: ValidModel, variant: KernelVariant = 'simd', options: PlanOptions = {}): Promise<Plan> {
  return planModel(model, await freshKernels(), { variant, ...options });
}

/**
 * Runs the plan on the golden's pixels and returns its output as TFLite's raw output tensor: the
 * int8 values (a final int8 softmax as TFLite computes it) or float32 values (a float model's
 * softmax in float64, as squeezewasm computes it).
 */
export function runGolden(plan: Plan, spec: InputFromPixels, pixels: Uint8Array, softmax: (logits: Float32Array) => Float32Array): number[] {
  const x = floatInput(spec, pixels);
  const slot = plan.input;
  const memory = plan.kernels.memory.buffer;
  if (plan.inputQuant) {
    const q: QuantParams = plan.inputQuant;
    // TFLite's int8 (its QUANTIZE, or the int8 tensor fed directly) is the stored uint8 minus 128.
    new Uint8Array(memory, slot.ptr, x.length).set(Array.from(x, (v) => quantizeInt8(v, q.scale, q.zeroPoint - 128) + 128));
  } else new Float32Array(memory, slot.ptr, x.length).set(x);
  const logits = run(plan);
  if (plan.tfliteSoftmax) return [...tfliteSoftmaxOutput(plan)];
  if (plan.outputQuant) return [...new Uint8Array(memory, plan.output.ptr, plan.output.c)].map((u) => u - 128);
  return [...(plan.endsInSoftmax ? softmax(logits) : logits)];
}

/**
 * {@link runGolden}'s output in the golden's terms: as it is, or for an int8 network whose file
 * ends in DEQUANTIZE (a float32 output of its int8 softmax), dequantized as TFLite does.
 */
export function asGolden(model: GoldenModel, out: number[], int8: boolean): number[] {
  if (!int8 || model.output.dtype === 'int8') return out;
  return out.map((q) => dequantizeInt8(q, 1 / 256, -128));
}

/** The golden's pixels. */
export function goldenPixels(at: (file: string) => string, pixels: string): Uint8Array {
  return readNpyU8(readFileSync(at(pixels))).data;
}

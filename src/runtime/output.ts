/**
 * From the network's output to a result: dequantization, softmax, top-k. The only float math of
 * an int8 model runs here, once per image.
 * @packageDocumentation
 */
import { ModelFormatError } from '../errors.js';
import { softmaxInt8 } from '../model/tflite-arithmetic.js';
import { quote } from '../text.js';
import { ARRAY_OF, type Plan } from './types.js';

/** The output as float logits: copied, or dequantized (real = scale x (q - zeroPoint)). */
export function outputOf(plan: Plan): Float32Array {
  const { ptr, c, dtype } = plan.output;
  const memory = plan.kernels.memory.buffer;
  if (dtype === 'f32') return new Float32Array(memory, ptr, c).slice();
  const { scale, zeroPoint } = plan.outputQuant!;
  const q = new ARRAY_OF[dtype](memory, ptr, c);
  const out = new Float32Array(c);
  for (let i = 0; i < c; i++) out[i] = scale * (q[i] - zeroPoint);
  return out;
}

/**
 * Throws unless every logit is finite. An int8 network's are; a float network with finite weights
 * can still overflow float32 on some image (or a hostile std divide by almost nothing), which no
 * check of the file can rule out without refusing real models: refuse the result, not rank NaNs.
 */
export function checkFinite(logits: Float32Array, model: string): void {
  if (!logits.every(Number.isFinite)) {
    throw new ModelFormatError('E_MODEL_NUMERIC', `model ${quote(model)}: the network output is not finite (NaN or infinity); its weights or normalisation overflow float32`);
  }
}

/**
 * The class probabilities: the float softmax of the logits or, for a model whose int8 softmax was
 * imported from .tflite, TFLite's own fixed-point softmax of the quantized output (its int8
 * result dequantized: (q + 128) / 256), so that they are what TFLite reports.
 */
export function probabilitiesOf(plan: Plan, logits: Float32Array): Float32Array {
  if (!plan.tfliteSoftmax) return softmax(logits);
  return Float32Array.from(tfliteSoftmaxOutput(plan), (q) => (q + 128) / 256);
}

/** TFLite's int8 softmax of the plan's output (TFLite's int8 values: the stored uint8 minus 128). */
export function tfliteSoftmaxOutput(plan: Plan): Int8Array {
  const { ptr, c } = plan.output;
  const q = new Uint8Array(plan.kernels.memory.buffer, ptr, c);
  return softmaxInt8(Int8Array.from(q, (v) => v - 128), plan.tfliteSoftmax!);
}

/** Softmax in float64 (no overflow: the maximum is subtracted first), returned as float32. */
export function softmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exp = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += exp[i] = Math.exp(logits[i] - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = exp[i] / sum;
  return out;
}

/**
 * Indices of the `k` largest values, largest first; ties keep the lower index first. A small `k`
 * (the usual top 5) is one pass keeping the best so far in order, not a sort of every index.
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = Math.max(0, Math.min(k, values.length));
  if (n > 32) {
    const order = Array.from({ length: values.length }, (_, i) => i);
    order.sort((a, b) => values[b] - values[a] || a - b);
    return order.slice(0, n);
  }
  const best: number[] = [];
  for (let i = 0; i < values.length && n > 0; i++) {
    const v = values[i];
    if (best.length === n && !(v > values[best[n - 1]])) continue;
    // After every kept value at least as large: equal values stay in index order.
    let at = best.length;
    while (at > 0 && v > values[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

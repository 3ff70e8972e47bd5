/**
 * The quantization side of the TFLite converter: TFLite's int8 activations as this format's uint8
 * ones, and the multipliers and shifts each int8 op carries, derived from the scales exactly as
 * TFLite's kernels derive them (src/model/tflite-arithmetic.ts).
 * @packageDocumentation
 */
import { ConvertError } from '../errors.js';
import type { ActShape, AddOp, QuantParams } from '../model/format.js';
import { addInt8Params, convMultiplier, meanInt8Params, type QuantizedMultiplier } from '../model/tflite-arithmetic.js';
import { quote } from '../text.js';
import type { TfliteTensor } from './tflite-read.js';

/** TFLite's largest right shift the kernels take (a scale ratio of 2^-31 or more). */
const MAX_RIGHT_SHIFT = 30;

/**
 * The right shift of a TFLite multiplier (its exponent, negated). Left shifts (a scale ratio of 1
 * or more) are refused: no classifier's conv or add has one.
 */
export function rightShift(m: QuantizedMultiplier, what: string): number {
  if (m.shift > 0 || -m.shift > MAX_RIGHT_SHIFT) {
    throw new ConvertError('E_CONVERT_TENSOR', `${what}: a requantization scale of 2^${m.shift} is out of the range squeezewasm runs (2^-${MAX_RIGHT_SHIFT} to below 1)`);
  }
  return -m.shift;
}

/** What TFLite derives from scales (`derive`); scales its arithmetic does not take are refused naming `where`. */
function tflite<T>(derive: () => T, where: string): T {
  try {
    return derive();
  } catch (e) {
    if (e instanceof RangeError) throw new ConvertError('E_CONVERT_TENSOR', `${where}: its scales are out of the range of TFLite's arithmetic`);
    throw e;
  }
}

/** A TFLite int8 activation's quantization as this format's uint8: the same scale, the zero point plus 128. */
export function activationOf(t: TfliteTensor, where: string): QuantParams {
  const q = t.quant;
  if (t.type !== 'int8') throw new ConvertError('E_CONVERT_TENSOR', `${where}: tensor ${quote(t.name)} is ${t.type}; an int8 model's activations must all be int8`);
  if (!q || q.scale.length !== 1 || !(q.scale[0] > 0 && Number.isFinite(q.scale[0]))) {
    throw new ConvertError('E_CONVERT_TENSOR', `${where}: tensor ${quote(t.name)} must be quantized per tensor with a positive scale`);
  }
  return { scale: q.scale[0], zeroPoint: q.zeroPoint[0] + 128, dtype: 'u8' };
}

/** A conv's per-channel multipliers and this format's shifts, from its input, weight and output scales. */
export function convRequant(input: QuantParams, weightScales: Float32Array, output: QuantParams, where: string): { multipliers: Int32Array; shifts: Int32Array } {
  const multipliers = new Int32Array(weightScales.length), shifts = new Int32Array(weightScales.length);
  weightScales.forEach((s, n) => {
    if (!(s > 0 && Number.isFinite(s))) throw new ConvertError('E_CONVERT_TENSOR', `${where}: weight scale ${n} must be positive and finite`);
    const m = tflite(() => convMultiplier(input.scale, s, output.scale), where);
    [multipliers[n], shifts[n]] = [m.multiplier, rightShift(m, `${where}, channel ${n}`)];
  });
  return { multipliers, shifts };
}

/** An int8 ADD's multipliers and shifts for its two inputs and its output (left shift 20). */
export function addParams(a: QuantParams, b: QuantParams, y: QuantParams, where: string): NonNullable<AddOp['tflite']> {
  const p = tflite(() => addInt8Params(a.scale, b.scale, y.scale), where);
  const ms = [p.input1, p.input2, p.output];
  return {
    multipliers: ms.map((m) => m.multiplier) as [number, number, number],
    shifts: ms.map((m, i) => rightShift(m, `${where}, ${['input 0', 'input 1', 'output'][i]}`)) as [number, number, number],
  };
}

/** An int8 MEAN's multiplier and shift (TFLite's exponent), 1 / pixels folded in as TFLite folds it. */
export function meanParams(x: QuantParams, y: QuantParams, shape: ActShape, where: string): { multiplier: number; shift: number } {
  const m = tflite(() => meanInt8Params(x.scale, y.scale, shape.h * shape.w), where);
  return { multiplier: m.multiplier, shift: m.shift };
}

/** An int8 SOFTMAX: TFLite fixes its output at scale 1/256, zero point -128 (0 here). */
export function softmaxParams(beta: number, y: QuantParams, where: string): { beta: number } {
  if (y.scale !== 1 / 256 || y.zeroPoint !== 0) throw new ConvertError('E_CONVERT_TENSOR', `${where}: an int8 softmax's output must have scale 1/256 and zero point -128`);
  if (!(beta > 0 && Number.isFinite(beta))) throw new ConvertError('E_CONVERT_ATTR', `${where}: softmax beta must be positive`);
  return { beta };
}

/**
 * The output side of an int8 conv, shared by its kernels: requantization and clamp.
 * @packageDocumentation
 */
import { QUANT_RANGE, type ConvOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import { activationRangeInt8 } from '../../model/tflite-arithmetic.js';
import type { PlanContext } from '../types.js';

/** The kernels' requantization arguments: shift, output zero point and clamp, output type. */
export interface Requantization {
  shift: number;
  zOut: number;
  qmin: number;
  qmax: number;
  /** The output is int16 (else uint8). */
  i16Out: boolean;
  /** TFLite's rounding and shifts per channel (a conv imported from .tflite): only the igemm's TFLite variant runs it. */
  tflite: boolean;
}

/**
 * Requantization of an int8 conv's output. The clamp starts at the value meaning 0.0 with ReLU,
 * else at the type's floor; a folded Clip's upper bound is the value nearest `max` (calibration
 * has already kept the range below it, so it rarely bites).
 */
export function requantization(c: CheckedOp<ConvOp>, ctx: PlanContext): Requantization {
  const q = c.output.quant!;
  const [lo, hi] = QUANT_RANGE[q.dtype];
  const i16Out = ctx.view(c.op.output).dtype === 'i16';
  if (c.op.rounding !== undefined) {
    // TFLite's activation range, quantized in float32 (int8, so 128 less than the uint8 stored here).
    const range = activationRangeInt8(c.op.max !== undefined ? 'RELU6' : c.op.relu ? 'RELU' : 'NONE', q.scale, q.zeroPoint - 128);
    return { shift: 0, tflite: true, zOut: q.zeroPoint, qmin: range.min + 128, qmax: range.max + 128, i16Out };
  }
  const qmax = Math.min(hi, c.op.max === undefined ? Infinity : q.zeroPoint + Math.round(c.op.max / q.scale));
  // The clamp is the quantization's; the element size is the storage's (a u7 tensor may be stored as i16).
  return { shift: c.op.shift!, tflite: false, zOut: q.zeroPoint, qmin: c.op.relu ? q.zeroPoint : lo, qmax, i16Out };
}

/**
 * The output side of an int8 conv, shared by its kernels: requantization and clamp.
 * @packageDocumentation
 */
import { QUANT_RANGE, type ConvOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext } from '../types.js';

/** The kernels' requantization arguments: shift, output zero point and clamp, output type. */
export interface Requantization {
  shift: number;
  zOut: number;
  qmin: number;
  qmax: number;
  /** The output is int16 (else uint8). */
  i16Out: boolean;
}

/**
 * Requantization of an int8 conv's output. The clamp starts at the value meaning 0.0 with ReLU,
 * else at the type's floor; a folded Clip's upper bound is the value nearest `max` (calibration
 * has already kept the range below it, so it rarely bites).
 */
export function requantization(c: CheckedOp<ConvOp>, ctx: PlanContext): Requantization {
  const q = c.output.quant!;
  const [lo, hi] = QUANT_RANGE[q.dtype];
  const qmax = Math.min(hi, c.op.max === undefined ? Infinity : q.zeroPoint + Math.round(c.op.max / q.scale));
  // The clamp is the quantization's; the element size is the storage's (a u7 tensor may be stored as i16).
  return { shift: c.op.shift!, zOut: q.zeroPoint, qmin: c.op.relu ? q.zeroPoint : lo, qmax, i16Out: ctx.view(c.op.output).dtype === 'i16' };
}

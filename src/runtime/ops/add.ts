/**
 * Planner of the residual add. Kernels: assembly/kernels/add.ts.
 * @packageDocumentation
 */
import { QUANT_RANGE, type AddOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext, Step } from '../types.js';
import { kernelStep, pick } from './step.js';

/**
 * Add: in float a sum (with optional ReLU); quantized, both inputs rescaled to the output's scale
 * in one fixed-point step and clamped to the output type's range (from the zero point with ReLU);
 * with TFLite rounding, TFLite's three-step int8 add.
 */
export function planAdd(c: CheckedOp<AddOp>, ctx: PlanContext): Step[] {
  const [a, b] = c.inputs.map((x) => ctx.view(x.name));
  const y = ctx.view(c.op.output);
  const views = { a: a.ptr, aStride: a.stride, b: b.ptr, bStride: b.stride, P: y.h * y.w, C: y.c, out: y.ptr, outStride: y.stride };
  if (y.dtype === 'f32') return [kernelStep(ctx, c, pick(ctx, { simd: 'f32_add_simd', ref: 'f32_add_ref' }), { ...views, relu: c.op.relu ? 1 : 0 })];
  const [qa, qb] = c.inputs.map((x) => x.quant!);
  const zOut = c.output.quant!.zeroPoint;
  if (c.op.rounding === 'tflite') {
    const { multipliers: [ma, mb, mOut], shifts: [ra, rb, rOut] } = c.op.tflite!;
    const args = { ...views, za: qa.zeroPoint, ma, ra, zb: qb.zeroPoint, mb, rb, mOut, rOut, zOut, qmin: c.op.relu ? zOut : 0, qmax: 255 };
    return [kernelStep(ctx, c, pick(ctx, { simd: 'u8_add_tfl_simd', ref: 'u8_add_tfl_ref' }), args)];
  }
  const i16Out = y.dtype === 'i16';
  const [ma, mb] = c.op.multipliers!;
  const [lo, hi] = QUANT_RANGE[c.output.quant!.dtype];
  const args = { ...views, za: qa.zeroPoint, ma, zb: qb.zeroPoint, mb, shift: c.op.shift!, zOut, i16Out, qmin: c.op.relu ? zOut : lo, qmax: hi };
  const kernel = a.dtype === 'i16' ? pick(ctx, { simd: 'i16_add_simd', ref: 'i16_add_ref' }) : pick(ctx, { simd: 'u8_add_simd', ref: 'u8_add_ref' });
  return [kernelStep(ctx, c, kernel, args)];
}

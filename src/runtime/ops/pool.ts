/**
 * Planners of the pooling ops: max pool, average pool, global average pool. Kernels:
 * assembly/kernels/f32-pool.ts (float) and assembly/kernels/u8-pool.ts (quantized).
 * @packageDocumentation
 */
import type { AvgPoolOp, GlobalAvgPoolOp, MaxPoolOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import { KERNEL_TYPE, type PlanContext, type Step } from '../types.js';
import { kernelStep, pick } from './step.js';

const MAXPOOL = {
  f32: { simd: 'f32_maxpool_simd', ref: 'f32_maxpool_ref' },
  u8: { simd: 'u8_maxpool_simd', ref: 'u8_maxpool_ref' },
  i16: { simd: 'i16_maxpool_simd', ref: 'i16_maxpool_ref' },
} as const;

/** The window geometry the pooling kernels share. */
function window(ctx: PlanContext, c: CheckedOp<MaxPoolOp | AvgPoolOp>) {
  const x = ctx.view(c.inputs[0].name);
  const y = ctx.view(c.op.output);
  const { kernel: [kh, kw], stride: [sh, sw], pads: [pt, pl] } = c.op;
  return { inp: x.ptr, H: x.h, W: x.w, C: x.c, inStride: x.stride, out: y.ptr, OH: y.h, OW: y.w, outStride: y.stride, kh, kw, sh, sw, pt, pl };
}

/** Max pool: one kernel per element type; warms up on one output row. */
export function planMaxPool(c: CheckedOp<MaxPoolOp>, ctx: PlanContext): Step[] {
  const kernel = pick(ctx, MAXPOOL[KERNEL_TYPE[ctx.view(c.inputs[0].name).dtype] as keyof typeof MAXPOOL]);
  const args = window(ctx, c);
  return [kernelStep(ctx, c, kernel, args, { warm: { ...args, OH: 1 } })];
}

/** Average pool: float, or uint8 with the input's zero point (no int16 kernel: the quantizer keeps its input u8). */
export function planAvgPool(c: CheckedOp<AvgPoolOp>, ctx: PlanContext): Step[] {
  const args = { ...window(ctx, c), pb: c.op.pads[2], pr: c.op.pads[3], countPad: c.op.countIncludePad ? 1 : 0 };
  const x = c.inputs[0];
  if (x.dtype === 'f32') return [kernelStep(ctx, c, pick(ctx, { simd: 'f32_avgpool_simd', ref: 'f32_avgpool_ref' }), args)];
  return [kernelStep(ctx, c, pick(ctx, { simd: 'u8_avgpool_simd', ref: 'u8_avgpool_ref' }), { ...args, zp: x.quant!.zeroPoint, tfl: c.op.rounding === 'tflite' ? 1 : 0 })];
}

/**
 * Global average pool: the float mean, exact int32 sums of the quantized values (minus the zero
 * point), or for a MEAN imported from .tflite, TFLite's int8 mean of them.
 */
export function planGlobalAvgPool(c: CheckedOp<GlobalAvgPoolOp>, ctx: PlanContext): Step[] {
  const x = ctx.view(c.inputs[0].name);
  const args = { inp: x.ptr, P: x.h * x.w, C: x.c, inStride: x.stride, out: ctx.view(c.op.output).ptr };
  if (c.op.rounding === 'tflite') {
    const { multiplier: mult, shift } = c.op as Required<GlobalAvgPoolOp>;
    const tfl = { zp: c.inputs[0].quant!.zeroPoint, mult, left: Math.max(shift, 0), right: Math.max(-shift, 0), zOut: c.output.quant!.zeroPoint };
    return [kernelStep(ctx, c, pick(ctx, { simd: 'u8_global_mean_simd', ref: 'u8_global_mean_ref' }), { ...args, ...tfl })];
  }
  switch (x.dtype) {
    case 'f32':
      return [kernelStep(ctx, c, pick(ctx, { simd: 'f32_global_avgpool_simd', ref: 'f32_global_avgpool_ref' }), args)];
    case 'i16':
      return [kernelStep(ctx, c, pick(ctx, { simd: 'i16_global_sum_simd', ref: 'i16_global_sum_ref' }), args)];
    default:
      return [kernelStep(ctx, c, pick(ctx, { simd: 'u8_global_sum_simd', ref: 'u8_global_sum_ref' }), { ...args, zp: c.inputs[0].quant!.zeroPoint })];
  }
}

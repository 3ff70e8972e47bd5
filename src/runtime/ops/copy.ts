/**
 * Planners of the ops that move values: concat (a copy of each input that its producer could not
 * write into place), flatten (a copy of the pixels into one vector) and stand-alone ReLU (a copy
 * with a floor). Kernels: `*_copy_*` in
 * assembly/kernels/f32-pool.ts and assembly/kernels/u8-pool.ts.
 * @packageDocumentation
 */
import type { ConcatOp, FlattenOp, ReluOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext, Step, View } from '../types.js';
import { kernelStep, pick } from './step.js';

/**
 * A copy of `x` into the channels of the op's output from `offset` on, clamped below at `floor`;
 * the output's pixels `outStride` bytes apart (its own stride unless given).
 */
function copyStep(ctx: PlanContext, c: CheckedOp, x: View, offset: number, floor: number, outStride?: number): Step {
  const y = ctx.view(c.op.output);
  const args = { inp: x.ptr, P: x.h * x.w, C: x.c, inStride: x.stride, out: y.ptr + offset * y.elem, outStride: outStride ?? y.stride };
  switch (y.dtype) {
    case 'f32':
      return kernelStep(ctx, c, pick(ctx, { simd: 'f32_copy_simd', ref: 'f32_copy_ref' }), { ...args, relu: floor === 0 ? 1 : 0 });
    case 'i16':
      return kernelStep(ctx, c, pick(ctx, { simd: 'i16_copy_simd', ref: 'i16_copy_ref' }), { ...args, lo: floor });
    default:
      return kernelStep(ctx, c, pick(ctx, { simd: 'u8_copy_simd', ref: 'u8_copy_ref' }), { ...args, lo: floor });
  }
}

/** The floor of a plain copy: the type's minimum (no clamp). */
const NO_FLOOR = { f32: -Infinity, u8: 0, u7: 0, i16: -32768, i32: 0 } as const;

/** Concat: a copy of each input not already written in place. */
export function planConcat(c: CheckedOp<ConcatOp>, ctx: PlanContext): Step[] {
  const steps: Step[] = [];
  let offset = 0;
  for (const x of c.inputs) {
    if (!ctx.inPlace(x.name)) steps.push(copyStep(ctx, c, ctx.view(x.name), offset, NO_FLOOR[x.dtype]));
    offset += x.shape.c;
  }
  return steps;
}

/** Flatten: the pixels copied one after another (the input may be a strided slice of a concat's buffer). */
export function planFlatten(c: CheckedOp<FlattenOp>, ctx: PlanContext): Step[] {
  const x = c.inputs[0];
  const v = ctx.view(x.name);
  const y = ctx.view(c.op.output);
  return [copyStep(ctx, c, v, 0, NO_FLOOR[x.dtype], v.c * y.elem)];
}

/** ReLU: a copy clamped at the value that means zero, 0.0 or the (shared) zero point. */
export function planRelu(c: CheckedOp<ReluOp>, ctx: PlanContext): Step[] {
  const x = c.inputs[0];
  return [copyStep(ctx, c, ctx.view(x.name), 0, x.quant?.zeroPoint ?? 0)];
}

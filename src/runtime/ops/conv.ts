/**
 * Planner of the convolution: chooses its kernel. Float convs run on Winograd F(4x4, 3x3) where
 * they are 3x3, stride 1, pad 1, else on the f32 igemm; int8 ones on the sparse kernel where the
 * weights are sparse enough, on the relaxed dot where the plan uses it (but for Winograd's 3x3
 * convs), on Winograd where a 3x3 conv allows it, else on the int8 igemm; convs imported from
 * .tflite, with TFLite's rounding, on the relaxed dot where the plan uses it, else on the int8 igemm. Every int8 choice
 * computes the same bits; the float ones agree within rounding (ops/winograd.ts).
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext, Step } from '../types.js';
import { planFcTfl } from './fc.js';
import { planF32Igemm, planI8Igemm } from './igemm.js';
import { p7Applies, planP7 } from './p7.js';
import { requantization } from './requant.js';
import { planSparse, sparseApplies } from './sparse.js';
import { f32WinogradApplies, planF32Winograd, planWinograd, winogradApplies } from './winograd.js';

/** Conv: the kernel that applies, first match in the order above. */
export function planConv(c: CheckedOp<ConvOp>, ctx: PlanContext): Step[] {
  if (c.output.dtype === 'f32') return ctx.choices.winograd && f32WinogradApplies(c) ? planF32Winograd(c, ctx) : planF32Igemm(c, ctx);
  const rq = requantization(c, ctx);
  // TFLite's rounding runs on the relaxed dot or the igemm (its fully connected layers' on their own kernel).
  if (c.op.rounding === 'tflite-fc') return planFcTfl(c, ctx, rq);
  if (rq.tflite) return p7Applies(c, ctx) ? planP7(c, ctx, rq) : planI8Igemm(c, ctx, rq);
  if (sparseApplies(c, ctx)) return planSparse(c, ctx, rq);
  if (p7Applies(c, ctx)) return planP7(c, ctx, rq);
  if (ctx.choices.winograd && winogradApplies(c)) return planWinograd(c, ctx, rq);
  return planI8Igemm(c, ctx, rq);
}

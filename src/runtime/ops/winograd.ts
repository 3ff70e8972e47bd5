/**
 * int8 3x3 stride-1 convs as an exact integer Winograd F(2x2, 3x3) (assembly/kernels/i8-winograd.ts):
 * 2.25x fewer multiplies than the direct convolution, the same results.
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import { convMacs, maxAbsQuantized } from '../../model/graph.js';
import type { CheckedOp } from '../../model/validate.js';
import { callKernel } from '../../wasm/kernels.js';
import { Stage } from '../memory.js';
import type { PlanContext, Step } from '../types.js';
import { NR } from './igemm.js';
import type { Requantization } from './requant.js';
import { constant, kernelStep, maxConvChannels, pick } from './step.js';

/**
 * Whether an int8 conv can run as Winograd F(2x2, 3x3): 3x3, stride 1, pad 1, and 4x its
 * accumulator (the kernel's untransformed output) provably inside int32. Everything before the
 * final shift is additions and multiplications that wrap mod 2^32, so that bound on the result
 * is the only one needed (see i8-winograd.ts).
 */
export function winogradApplies(c: CheckedOp<ConvOp>): boolean {
  const { kernel: [kh, kw], stride, pads } = c.op;
  if (!(kh === 3 && kw === 3 && stride[0] === 1 && stride[1] === 1 && pads.every((p) => p === 1))) return false;
  const maxIn = maxAbsQuantized(c.inputs[0].quant!);
  return Array.prototype.every.call(c.absSums!, (sumAbs: number) => 4 * maxIn * sumAbs < 2 ** 31);
}

const U8_WINOGRAD = { simd: 'u8_winograd3x3_simd', ref: 'u8_winograd3x3_ref' } as const;
const I16_WINOGRAD = { simd: 'i16_winograd3x3_simd', ref: 'i16_winograd3x3_ref' } as const;

/**
 * Plans a Winograd conv: per block of 8 output channels, bias i32[8] (zero point not folded: the
 * kernel subtracts it before the transform), multiplier i32[8], then the transformed filters as
 * int16 [16][Cp / 2][8][2]. The V and M scratch areas are shared by all Winograd layers.
 */
export function planWinograd(c: CheckedOp<ConvOp>, ctx: PlanContext, rq: Requantization): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const zIn = c.inputs[0].quant!.zeroPoint;
  const V = ctx.shared('winograd-v', () => callKernel(ctx.kernels, 'winograd3x3_scratch_v', { C: maxConvChannels(ctx) }));
  const M = ctx.shared('winograd-m', () => callKernel(ctx.kernels, 'winograd3x3_scratch_m', {}));
  const Cp = (x.c + 7) & ~7;
  const blockBytes = 64 + 16 * (Cp >> 1) * 32;
  const weights = ctx.memory.allocate(Math.ceil(y.c / NR) * blockBytes);
  const pad = ctx.memory.allocate(2 * Cp + 16);
  const [w, bias, mult] = [constant<Int8Array>(ctx, op.weight)!, constant<Int32Array>(ctx, op.bias), constant<Int32Array>(ctx, op.multiplier)!];
  ctx.memory.addPacker({
    staging: Stage.bytes(w.byteLength, bias?.byteLength ?? 0, mult.byteLength),
    fill(stage) {
      // i16 inputs have zero point 0, so a byte fill serves both element sizes.
      new Uint8Array(stage.kernels.memory.buffer, pad, 2 * Cp + 16).fill(zIn);
      const [pw, pb, pm] = stage.put(w, bias, mult);
      callKernel(stage.kernels, 'i8_pack_winograd', { w: pw, N: y.c, C: x.c, bias: pb, mult: pm, out: weights, blockBytes });
    },
  });
  const args = { H: x.h, W: x.w, C: x.c, inp: x.ptr, inStride: x.stride, zIn, pad, N: y.c, weights, out: y.ptr, outStride: y.stride, ...rq, V, M };
  const kernel = x.dtype === 'i16' ? pick(ctx, I16_WINOGRAD) : pick(ctx, U8_WINOGRAD);
  const warm = { ...args, H: Math.min(x.h, 4), W: Math.min(x.w, 8), N: Math.min(y.c, 8) };
  return [kernelStep(ctx, c, kernel, args, { macs: convMacs(op, x, y), warm })];
}

/**
 * 3x3 stride-1 pad-1 convs as Winograd convolutions. int8: an exact integer F(2x2, 3x3)
 * (assembly/kernels/i8-winograd.ts), 2.25x fewer multiplies than the direct convolution, the same
 * results. f32: F(4x4, 3x3) (assembly/kernels/f32-winograd.ts), 4x fewer multiplies, results
 * within a few 1e-6 of the output's range of the direct convolution's.
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import { convMacs, maxAbsQuantized } from '../../model/graph.js';
import type { CheckedOp } from '../../model/validate.js';
import { callKernel } from '../../wasm/kernels.js';
import { Stage } from '../memory.js';
import { ARRAY_OF, type PlanContext, type Step } from '../types.js';
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
  if (!is3x3Same(c.op)) return false;
  const maxIn = maxAbsQuantized(c.inputs[0].quant!);
  return Array.prototype.every.call(c.absSums!, (sumAbs: number) => 4 * maxIn * sumAbs < 2 ** 31);
}

/** Whether a conv is 3x3, stride 1, pad 1: the shape both Winograd kernels compute. */
function is3x3Same({ kernel: [kh, kw], stride, pads }: ConvOp): boolean {
  return kh === 3 && kw === 3 && stride[0] === 1 && stride[1] === 1 && pads.every((p) => p === 1);
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
      new ARRAY_OF[x.dtype as 'u8' | 'i16'](stage.kernels.memory.buffer, pad, (2 * Cp + 16) / x.elem).fill(zIn);
      const [pw, pb, pm] = stage.put(w, bias, mult);
      callKernel(stage.kernels, 'i8_pack_winograd', { w: pw, N: y.c, C: x.c, bias: pb, mult: pm, out: weights, blockBytes });
    },
  });
  const args = { H: x.h, W: x.w, C: x.c, inp: x.ptr, inStride: x.stride, zIn, pad, N: y.c, weights, out: y.ptr, outStride: y.stride, ...rq, V, M };
  const kernel = x.dtype === 'i16' ? pick(ctx, I16_WINOGRAD) : pick(ctx, U8_WINOGRAD);
  const warm = { ...args, H: Math.min(x.h, 4), W: Math.min(x.w, 8), N: Math.min(y.c, 8) };
  return [kernelStep(ctx, c, kernel, args, { macs: convMacs(op, x, y), warm })];
}

/**
 * Whether a float conv runs as Winograd F(4x4, 3x3): 3x3, stride 1, pad 1, and fewer multiplies
 * than the direct convolution. A tile costs 36 multiplies per channel pair for 16 outputs (9 each
 * directly), but the image is covered by whole tiles: a map only 1 or 2 pixels high or wide
 * computes mostly outputs it throws away.
 */
export function f32WinogradApplies(c: CheckedOp<ConvOp>): boolean {
  const { h, w } = c.inputs[0].shape;
  return c.output.dtype === 'f32' && is3x3Same(c.op) && 36 * Math.ceil(h / 4) * Math.ceil(w / 4) < 9 * h * w;
}

const F32_WINOGRAD = { simd: 'f32_winograd3x3_simd', ref: 'f32_winograd3x3_ref' } as const;

/**
 * Plans a float Winograd conv: per block of 8 output channels, bias f32[8], then the transformed
 * filters as f32 [36][C][8]. The V and M scratch areas are shared by all float Winograd layers,
 * V sized for the widest input among them (not every conv's: SqueezeNet's final 1x1 conv reads 512
 * channels, its 3x3 ones at most 64).
 */
export function planF32Winograd(c: CheckedOp<ConvOp>, ctx: PlanContext): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const widest = (): number => Math.max(...ctx.model.checked.map((d) => (d.op.op === 'conv' && f32WinogradApplies(d as CheckedOp<ConvOp>) ? d.inputs[0].shape.c : 0)));
  const V = ctx.shared('f32-winograd-v', () => callKernel(ctx.kernels, 'f32_winograd3x3_scratch_v', { C: widest() }));
  const M = ctx.shared('f32-winograd-m', () => callKernel(ctx.kernels, 'f32_winograd3x3_scratch_m', {}));
  const blockFloats = NR + 36 * x.c * NR;
  const weights = ctx.memory.allocate(Math.ceil(y.c / NR) * blockFloats * 4);
  // The input transform reads channels in fours: the padding run covers C rounded up to 4.
  const padFloats = (x.c + 3) & ~3;
  const pad = ctx.memory.allocate(padFloats * 4);
  const [w, bias] = [constant<Float32Array>(ctx, op.weight)!, constant<Float32Array>(ctx, op.bias)];
  ctx.memory.addPacker({
    staging: Stage.bytes(w.byteLength, bias?.byteLength ?? 0),
    fill(stage) {
      new Float32Array(stage.kernels.memory.buffer, pad, padFloats).fill(0);
      const [pw, pb] = stage.put(w, bias);
      callKernel(stage.kernels, 'f32_pack_winograd', { w: pw, N: y.c, C: x.c, bias: pb, out: weights, blockFloats });
    },
  });
  const args = { H: x.h, W: x.w, C: x.c, inp: x.ptr, inStride: x.stride, pad, N: y.c, weights, out: y.ptr, outStride: y.stride, lo: op.relu ? 0 : -Infinity, hi: op.max ?? Infinity, V, M };
  // Four tiles of 4x4 outputs: one micro-kernel call per Winograd tap.
  const warm = { ...args, H: Math.min(x.h, 8), W: Math.min(x.w, 8), N: Math.min(y.c, 8) };
  return [kernelStep(ctx, c, pick(ctx, F32_WINOGRAD), args, { macs: convMacs(op, x, y), warm })];
}

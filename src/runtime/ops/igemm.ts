/**
 * The indirect GEMM convolution, the one conv kernel of each precision: f32_igemm_4x8 and
 * u8/i16_igemm_4x8c2 (assembly/kernels/f32-igemm.ts, i8-igemm.ts). Per output pixel and tap the
 * kernel reads a pointer to K contiguous input elements (or to a padding run), so any kernel shape,
 * stride and padding runs without im2col or border branches. This module lays out the indirection
 * buffer and the packed weights, and makes the step.
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import { convMacs } from '../../model/graph.js';
import type { CheckedOp } from '../../model/validate.js';
import { callKernel } from '../../wasm/kernels.js';
import { Stage } from '../memory.js';
import { ARRAY_OF, type PlanContext, type Step, type View } from '../types.js';
import type { Requantization } from './requant.js';
import { constant, kernelStep, pick } from './step.js';

/** Output pixels per micro-kernel call of the dot_i16x8 and f32 kernels (rows of the indirection buffer). */
export const MR = 4;
/** Output channels per packed weight block. */
export const NR = 8;

/**
 * Geometry shared by both precisions. When no window hangs over the left or right edge and input
 * pixels are contiguous, the kw taps of a kernel row are one run of kw*C elements: fewer, longer taps.
 */
export function geometry(op: ConvOp, x: View, y: View) {
  const [kh, kw] = op.kernel;
  const [, pl, , pr] = op.pads;
  const mergeRows = pl === 0 && pr === 0 && x.stride === x.c * x.elem;
  return { kh, kw, mergeRows, taps: mergeRows ? kh : kh * kw, K: mergeRows ? kw * x.c : x.c, M: y.h * y.w, N: y.c };
}

export type Geometry = ReturnType<typeof geometry>;

/** A padding run long enough for any tap: K elements (+1 for int8's paired reads). */
const padBytes = (g: Geometry, x: View): number => (g.K + 1) * x.elem;

/** Pointer of every (output pixel, tap) to its input run, or to `pad` where the window is outside the input; `mr` pixels per block. */
export function fillIndirection(stage: Stage, at: number, op: ConvOp, g: Geometry, x: View, y: View, pad: number, mr = MR): void {
  const [sh, sw] = op.stride;
  const [pt, pl] = op.pads;
  callKernel(stage.kernels, 'fill_indirection', {
    out: at, mr, M: g.M, taps: g.taps, mergeRows: g.mergeRows ? 1 : 0, kw: g.kw, outW: y.w, sh, sw, pt, pl, x: x.ptr, inH: x.h, inW: x.w, inStride: x.stride, pad,
  });
}

/**
 * Where each weight of an output channel goes, in the tensor's (c, ky, kx) order: `place(t, k)`
 * with (t, k) the kernel's tap and the weight's position in the run. The same for every output
 * channel, so the wasm packers' per-weight loops are plain indexed copies.
 */
export function weightOffsets(g: Geometry, C: number, place: (t: number, k: number) => number): Int32Array {
  const offsets = new Int32Array(C * g.kh * g.kw);
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < g.kh; ky++) {
      for (let kx = 0; kx < g.kw; kx++) offsets[(c * g.kh + ky) * g.kw + kx] = place(g.mergeRows ? ky : ky * g.kw + kx, g.mergeRows ? kx * C + c : c);
    }
  }
  return offsets;
}

/** The constants every igemm conv allocates: packed weights, the indirection buffer and a padding run. */
function allocateIgemm(ctx: PlanContext, g: Geometry, x: View, weightBytes: number) {
  return {
    weights: ctx.memory.allocate(weightBytes),
    indirection: ctx.memory.allocate(Math.ceil(g.M / MR) * g.taps * MR * 4),
    pad: ctx.memory.allocate(padBytes(g, x)),
  };
}

/** A float conv: per block of 8 output channels, bias then [taps][K][8] floats. */
export function planF32Igemm(c: CheckedOp<ConvOp>, ctx: PlanContext): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const g = geometry(op, x, y);
  const blockFloats = NR + g.taps * g.K * NR;
  const at = allocateIgemm(ctx, g, x, Math.ceil(g.N / NR) * blockFloats * 4);
  const [w, bias] = [constant<Float32Array>(ctx, op.weight)!, constant<Float32Array>(ctx, op.bias)];
  ctx.memory.addPacker({
    staging: Stage.bytes(w.byteLength, bias?.byteLength ?? 0, w.byteLength / g.N),
    fill(stage) {
      new Float32Array(stage.kernels.memory.buffer, at.pad, padBytes(g, x) / 4).fill(0);
      fillIndirection(stage, at.indirection, op, g, x, y, at.pad);
      const offsets = weightOffsets(g, x.c, (t, k) => NR + (t * g.K + k) * NR);
      const [pw, pb, po] = stage.put(w, bias, offsets);
      callKernel(stage.kernels, 'f32_pack_igemm', { w: pw, N: g.N, per: offsets.length, offsets: po, bias: pb, out: at.weights, blockFloats });
    },
  });
  const args = { M: g.M, N: g.N, taps: g.taps, K: g.K, indirection: at.indirection, weights: at.weights, out: y.ptr, outStride: y.stride, lo: op.relu ? 0 : -Infinity, hi: op.max ?? Infinity };
  const kernel = pick(ctx, { simd: 'f32_igemm_4x8_simd', ref: 'f32_igemm_ref' });
  return [kernelStep(ctx, c, kernel, args, { macs: convMacs(op, x, y), warm: { ...args, M: Math.min(g.M, 64), N: Math.min(g.N, 8) } })];
}

/**
 * An int8 conv: per block of 8 output channels, bias i32[8] (with the input zero point folded in:
 * bias - zIn * sum(w)), multiplier i32[8], then int16 weight pairs [taps][K/2][8][2]. Padding reads
 * elements equal to zIn, which the folded bias cancels exactly.
 */
export function planI8Igemm(c: CheckedOp<ConvOp>, ctx: PlanContext, rq: Requantization): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const zIn = c.inputs[0].quant!.zeroPoint;
  const g = geometry(op, x, y);
  const pairs = (g.K + 1) >> 1;
  const blockBytes = 64 + g.taps * pairs * 32;
  const at = allocateIgemm(ctx, g, x, Math.ceil(g.N / NR) * blockBytes);
  const [w, bias, mult] = [constant<Int8Array>(ctx, op.weight)!, constant<Int32Array>(ctx, op.bias), constant<Int32Array>(ctx, op.multiplier)!];
  // A 1x1 conv's weights are already in K order, which the packer lays out without a table.
  const oneByOne = op.kernel[0] === 1 && op.kernel[1] === 1;
  ctx.memory.addPacker({
    staging: Stage.bytes(w.byteLength, bias?.byteLength ?? 0, mult.byteLength, oneByOne ? 0 : (w.byteLength / g.N) * 4),
    fill(stage) {
      new ARRAY_OF[x.dtype as 'u8' | 'i16'](stage.kernels.memory.buffer, at.pad, padBytes(g, x) / x.elem).fill(zIn);
      fillIndirection(stage, at.indirection, op, g, x, y, at.pad);
      // In int16 units (every byte offset here is even); none (pointer 0) for a 1x1 conv.
      const offsets = oneByOne ? undefined : weightOffsets(g, x.c, (t, k) => (64 + (t * pairs + (k >> 1)) * 32 + (k & 1) * 2) / 2);
      const [pw, pb, pm, po] = stage.put(w, bias, mult, offsets);
      callKernel(stage.kernels, 'i8_pack_igemm', { w: pw, N: g.N, per: w.length / g.N, offsets: po, bias: pb, mult: pm, zIn, out: at.weights, blockBytes });
    },
  });
  const gemm = { M: g.M, N: g.N, taps: g.taps, K: g.K, indirection: at.indirection, weights: at.weights, out: y.ptr, outStride: y.stride };
  const info = <A extends { M: number; N: number }>(args: A) => ({ macs: convMacs(op, x, y), warm: { ...args, M: Math.min(g.M, 64), N: Math.min(g.N, 8) } });
  const args = { ...gemm, shift: rq.shift, zOut: rq.zOut, qmin: rq.qmin, qmax: rq.qmax, i16Out: rq.i16Out };
  if (x.dtype === 'i16') return [kernelStep(ctx, c, pick(ctx, I16_IGEMM), args, info(args))];
  const u8 = { ...args, rounding: rq.tflite ? tflRounding(ctx, op) : 0 };
  return [kernelStep(ctx, c, pick(ctx, U8_IGEMM), u8, info(u8))];
}

/**
 * The per-channel constants of TFLite's rounding for right shifts r, as the int8 conv kernels'
 * `rounding` reads them (assembly/kernels/requant.ts, `requantTfl`): i32 half[Np] = 2^(r-1) (0 for
 * r = 0), then pow[Np] = 2^(30-r), Np = the channels rounded up to 8 (the padding ones never stored).
 */
export function tflRoundingWords(shifts: ArrayLike<number>): Int32Array {
  const np = Math.ceil(shifts.length / NR) * NR;
  const words = new Int32Array(np * 2).fill(1 << 30);
  for (let n = 0; n < shifts.length; n++) {
    const r = shifts[n];
    words[n] = r > 0 ? 2 ** (r - 1) : 0;
    words[np + n] = 2 ** (30 - r);
  }
  return words;
}

/** Allocates and registers {@link tflRoundingWords} of a conv's shifts; returns their address. */
export function tflRounding(ctx: PlanContext, op: ConvOp): number {
  const words = tflRoundingWords(constant<Int32Array>(ctx, op.shifts)!);
  const at = ctx.memory.allocate(words.byteLength);
  ctx.memory.addPacker({ staging: 0, fill: (stage) => new Int32Array(stage.kernels.memory.buffer, at, words.length).set(words) });
  return at;
}

/** The int8 igemm over uint8 inputs, and over int16 ones. */
export const U8_IGEMM = { simd: 'u8_igemm_4x8c2_simd', ref: 'u8_igemm_ref' } as const;
export const I16_IGEMM = { simd: 'i16_igemm_4x8c2_simd', ref: 'i16_igemm_ref' } as const;

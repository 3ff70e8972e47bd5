/**
 * int8 convs on the relaxed dot product (assembly/kernels/p7-igemm.ts): the activations as 7-bit
 * planes, the weights packed 4 k per lane. A u7 input is one plane as it is, and so is a u8 input
 * where the engine's dot reads 8 bits exactly: as it is on `relaxed-u8` (vpdpbusd reads unsigned
 * bytes), flipped to q - 128 by a pass before the GEMM on `relaxed-s8` (sdot reads signed ones).
 * Otherwise an i16 or u8 input is split into a hi and a lo plane before the GEMM, in the same step.
 * The results are the same integers as the dot16 kernels'.
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import { convMacs } from '../../model/graph.js';
import type { CheckedOp } from '../../model/validate.js';
import { bindKernel, callKernel } from '../../wasm/kernels.js';
import { alignUp, Stage } from '../memory.js';
import type { PlanContext, Step, View } from '../types.js';
import { fillIndirection, geometry, tflRounding, weightOffsets, type Geometry } from './igemm.js';
import type { Requantization } from './requant.js';
import { constant, pick, stepOf } from './step.js';
import { winogradApplies } from './winograd.js';

/** Output pixels per micro-kernel call. */
const P7_MR = 6;

const P7_IGEMM = { simd: 'p7_igemm_6x8c4_relaxed', ref: 'p7_igemm_ref' } as const;
const SPLIT = { u8: { simd: 'u8_split7_simd', ref: 'u8_split7_ref' }, i16: { simd: 'i16_split7_simd', ref: 'i16_split7_ref' } } as const;
const FLIP = { simd: 'u8_flip8_simd', ref: 'u8_flip8_ref' } as const;

/**
 * What an i16 input adds to each value before it is split: its 13-bit values become 1..8191, two
 * 7-bit planes. u8 values are 0..255 already.
 */
const I16_OFFSET = 4096;

/**
 * Fewest output channels, and twice the fewest bytes in a kernel row (kernel width x input
 * channels, the run the kernel reads at once), at which a conv on two planes beats dot16: the split
 * costs a pass over the input and two dots per four k cost about what dot16 does, so narrow layers
 * lose. Measured under Node 24 with AVX-VNNI: 1x1 convs from 16 input and 32 output channels gain
 * 3-14 %, Fire squeezes to 16 channels lose 15-20 %; SqueezeNet 1.0's conv1 (7x7 on 3 channels:
 * rows of 21 bytes) gains 16 %, 1.1's (3x3: rows of 9) loses 6 %.
 */
export const TWO_PLANE_MIN_CHANNELS = 32;

/** Whether `c`'s input is one plane read in place: u7, or u8 where the engine's dot reads unsigned 8 bits exactly. */
const inPlace = (c: CheckedOp<ConvOp>, ctx: PlanContext): boolean =>
  c.inputs[0].dtype === 'u7' || (c.inputs[0].dtype === 'u8' && ctx.choices.int8Dot === 'relaxed-u8');

/** Whether `c`'s input is one plane flipped to signed bytes: u8 where the engine's dot reads signed 8 bits exactly. */
const flipped = (c: CheckedOp<ConvOp>, ctx: PlanContext): boolean => c.inputs[0].dtype === 'u8' && ctx.choices.int8Dot === 'relaxed-s8';

/**
 * Whether an int8 conv runs on the relaxed dot, where the plan uses it: every conv reading one
 * plane (3x3 too, direct at up to 4x the rate of Winograd's 2.25x fewer multiplies), and a conv on
 * a wider input with `twoPlaneMinChannels` ({@link TWO_PLANE_MIN_CHANNELS}) output channels and
 * kernel rows of half as many bytes, but for the 3x3 stride-1 convs Winograd takes (its
 * transformed weights do not fit the instruction's 8-bit operand; on two planes those ran 8-20 %
 * slower).
 */
export function p7Applies(c: CheckedOp<ConvOp>, ctx: PlanContext): boolean {
  if (ctx.choices.int8Dot === 'dot16') return false;
  // TFLite's rounding has no Winograd kernel, and the relaxed dot is the faster of the other two.
  if (c.op.rounding === 'tflite') return true;
  if (inPlace(c, ctx) || flipped(c, ctx)) return true;
  const min = ctx.choices.twoPlaneMinChannels;
  const wide = c.output.shape.c >= min && c.op.kernel[1] * c.inputs[0].shape.c >= min / 2;
  return wide && !(ctx.choices.winograd && winogradApplies(c));
}

/** Bytes of one split plane of input `x` and its padding run (`padLen`: K read in groups of 4). */
function planeBytes(x: { c: number; h: number; w: number }, padLen: number): number {
  return alignUp(x.h * x.w * x.c + padLen, 16);
}

/** A conv's longest run, as the split's padding run must cover it: a kernel row of C, or C. */
const padLenOf = (c: CheckedOp<ConvOp>): number => c.op.kernel[1] * c.inputs[0].shape.c + 4;

/** The planes buffer all split or flipped convs share (they run one after another), sized for the largest input. */
function planesBuffer(ctx: PlanContext): number {
  return ctx.shared('p7-planes', () => {
    const split = (c: CheckedOp): c is CheckedOp<ConvOp> => c.op.op === 'conv' && c.inputs[0].dtype !== 'f32' && !inPlace(c as CheckedOp<ConvOp>, ctx) && p7Applies(c as CheckedOp<ConvOp>, ctx);
    return Math.max(0, ...ctx.model.checked.filter(split).map((c) => (flipped(c, ctx) ? 1 : 2) * planeBytes(c.inputs[0].shape, padLenOf(c))));
  });
}

/** Where a conv's planes are: the input itself (one plane), or its flip or split into the shared planes buffer. */
interface Planes {
  view: View;
  planes: 1 | 2;
  /** From a lo byte to its hi twin. */
  hiOffset: number;
  /** The value the planes add to q - zIn, folded into the bias. */
  zFold: number;
  /** One plane of signed bytes (a flipped u8 input). */
  signedBytes: boolean;
  /** A padding run of the zero point, in the planes buffer (the flip or split rewrites it). */
  pad?: number;
  /** The flip or split step's kernel call. */
  split?: () => void;
}

function planesOf(c: CheckedOp<ConvOp>, ctx: PlanContext, x: View): Planes {
  const zIn = c.inputs[0].quant!.zeroPoint;
  if (inPlace(c, ctx)) return { view: x, planes: 1, hiOffset: 0, zFold: zIn, signedBytes: false };
  const buffer = planesBuffer(ctx);
  const padLen = padLenOf(c);
  // Each plane contiguous, so a kernel row may merge into one run; then its padding run.
  const view: View = { ...x, ptr: buffer, stride: x.c, elem: 1, dtype: 'u8' };
  const pad = buffer + x.h * x.w * x.c;
  const from = { inp: x.ptr, P: x.h * x.w, C: x.c, inStride: x.stride, out: buffer, outStride: x.c, pad, padLen };
  if (flipped(c, ctx)) {
    const flip = bindKernel(ctx.kernels, pick(ctx, FLIP), { ...from, padValue: zIn - 128 });
    return { view, planes: 1, hiOffset: 0, zFold: zIn - 128, signedBytes: true, pad, split: flip };
  }
  const hiOffset = planeBytes(x, padLen);
  const offset = x.dtype === 'i16' ? I16_OFFSET : 0;
  const split = bindKernel(ctx.kernels, pick(ctx, SPLIT[x.dtype as 'u8' | 'i16']), { ...from, hiOffset, offset, padValue: zIn + offset });
  return { view, planes: 2, hiOffset, zFold: zIn + offset, signedBytes: false, pad, split };
}

/**
 * Plans a conv on {@link p7_igemm_6x8c4_relaxed}: its planes (split, for an i16 or u8 input), the
 * weights packed with the planes' offset folded into the bias, and the indirection buffer.
 */
export function planP7(c: CheckedOp<ConvOp>, ctx: PlanContext, rq: Requantization): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const p = planesOf(c, ctx, x);
  const g = geometry(op, p.view, y);
  const weights = packP7(c, ctx, g, p.zFold);
  const indirection = ctx.memory.allocate(Math.ceil(g.M / P7_MR) * g.taps * P7_MR * 4);
  // One plane's padding run (K of its zero point, read in groups of 4) is a constant.
  const padBytes = alignUp(g.K + 4, 16);
  const pad = p.pad ?? ctx.memory.allocate(padBytes);
  const zIn = c.inputs[0].quant!.zeroPoint;
  ctx.memory.addPacker({
    staging: 0,
    fill(stage) {
      if (p.pad === undefined) new Uint8Array(stage.kernels.memory.buffer, pad, padBytes).fill(zIn);
      fillIndirection(stage, indirection, op, g, p.view, y, pad, P7_MR);
    },
  });
  const kernel = pick(ctx, P7_IGEMM);
  const requant = { shift: rq.shift, zOut: rq.zOut, qmin: rq.qmin, qmax: rq.qmax, i16Out: rq.i16Out, rounding: rq.tflite ? tflRounding(ctx, op) : 0 };
  const args = { M: g.M, N: g.N, taps: g.taps, K: g.K, indirection, weights, out: y.ptr, outStride: y.stride, planes: p.planes, hiOffset: p.hiOffset, signedBytes: p.signedBytes, ...requant };
  const gemm = bindKernel(ctx.kernels, kernel, args);
  const warm = { kernel, run: bindKernel(ctx.kernels, kernel, { ...args, M: Math.min(g.M, 60), N: Math.min(g.N, 8) }) };
  const split = p.split;
  const run = split ? (): void => { split(); gemm(); } : gemm;
  return [{ ...stepOf(ctx, c, convMacs(op, x, y)), run, warm }];
}

/** Allocates and registers the packing of `c`'s weights for p7_igemm: 4 k per lane, `zFold` folded into the bias. */
function packP7(c: CheckedOp<ConvOp>, ctx: PlanContext, g: Geometry, zFold: number): number {
  const { op } = c;
  const run = (g.K + 3) & ~3;
  const blockBytes = 64 + g.taps * run * 8;
  const weights = ctx.memory.allocate(Math.ceil(g.N / 8) * blockBytes);
  const [w, bias, mult] = [constant<Int8Array>(ctx, op.weight)!, constant<Int32Array>(ctx, op.bias), constant<Int32Array>(ctx, op.multiplier)!];
  const oneByOne = op.kernel[0] === 1 && op.kernel[1] === 1;
  const C = c.inputs[0].shape.c;
  ctx.memory.addPacker({
    staging: Stage.bytes(w.byteLength, bias?.byteLength ?? 0, mult.byteLength, oneByOne ? 0 : (w.byteLength / g.N) * 4),
    fill(stage) {
      // In bytes from the lane's first group; none (pointer 0) for a 1x1 conv.
      const offsets = oneByOne ? undefined : weightOffsets(g, C, (t, k) => (t * (run >> 2) + (k >> 2)) * 32 + (k & 3));
      const [pw, pb, pm, po] = stage.put(w, bias, mult, offsets);
      callKernel(stage.kernels, 'i8_pack_igemm_c4', { w: pw, N: g.N, per: w.length / g.N, offsets: po, bias: pb, mult: pm, zFold, out: weights, blockBytes });
    },
  });
  return weights;
}

/**
 * Pruned int8 1x1 convs on the sparse kernel (assembly/kernels/i8-sparse.ts), which multiplies
 * only the nonzero weights: SqueezeNet 1.0's conv_final, about 3.5x faster than dense.
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import { bindKernel, callKernel } from '../../wasm/kernels.js';
import type { PlanContext, Step } from '../types.js';
import { NR, U8_IGEMM } from './igemm.js';
import type { Requantization } from './requant.js';
import { constant, maxConvChannels, pick, stepOf } from './step.js';

/**
 * Weight density (fraction of nonzero weights) up to which an int8 1x1 conv runs on the sparse
 * kernel. bench/sparse.ts prunes every 1x1 conv of SqueezeNet 1.0 at random and times both
 * kernels: the sparse one breaks even at 0.4 on the narrowest layers (16 input channels, where
 * few nonzeros per output share its fixed per-output cost), at 0.5-0.6 on the others and above
 * 0.8 on conv_final. 0.4 makes no layer slower.
 */
export const SPARSE_MAX_DENSITY = 0.4;

/** Fraction of an int8 conv's weights that are nonzero. */
export function weightDensity(c: CheckedOp<ConvOp>, ctx: PlanContext): number {
  const w = ctx.model.tensors.get(c.op.weight)!.data as Int8Array;
  return ctx.memory.scan.nonzeros(w) / w.length;
}

/** Whether an int8 conv runs on the sparse kernel: 1x1, stride 1, channels addressable as u16, and sparse enough. */
export function sparseApplies(c: CheckedOp<ConvOp>, ctx: PlanContext): boolean {
  const { kernel: [kh, kw], stride } = c.op;
  const shapeFits = kh === 1 && kw === 1 && stride[0] === 1 && stride[1] === 1 && c.inputs[0].shape.c <= 0x10000;
  return shapeFits && weightDensity(c, ctx) <= ctx.choices.sparseDensity;
}

const U8_SPMM = { simd: 'u8_spmm_16x1c2_simd', ref: 'u8_spmm_ref' } as const;
const I16_SPMM = { simd: 'i16_spmm_16x1c2_simd', ref: 'i16_spmm_ref' } as const;

/** A run of `M` output pixels, `stride` bytes apart, starting at `ptr`. */
interface PixelRun {
  ptr: number;
  M: number;
  stride: number;
}

/** Output pixels of a padded 1x1 conv that see only padding: their value is the bias. */
function borderRuns(op: ConvOp, x: { h: number; w: number }, y: { ptr: number; w: number; stride: number }): PixelRun[] {
  const [pt, pl, pb] = op.pads;
  const rowStride = y.w * y.stride;
  const at = (oy: number, ox: number): number => y.ptr + oy * rowStride + ox * y.stride;
  const runs: PixelRun[] = [];
  if (pt > 0) runs.push({ ptr: at(0, 0), M: pt * y.w, stride: y.stride });
  if (pb > 0) runs.push({ ptr: at(pt + x.h, 0), M: pb * y.w, stride: y.stride });
  for (let ox = 0; ox < y.w; ox++) if (ox < pl || ox >= pl + x.w) runs.push({ ptr: at(pt, ox), M: x.h, stride: rowStride });
  return runs;
}

/**
 * Plans a sparse conv (layout: {@link packSparseWeights}). The interior runs on the sparse kernel;
 * the border of a padded conv on the igemm kernel with no taps, which writes the bias from the
 * same weight blocks' header.
 */
export function planSparse(c: CheckedOp<ConvOp>, ctx: PlanContext, rq: Requantization): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const scratch = ctx.shared('spmm', () => callKernel(ctx.kernels, 'spmm_scratch', { C: maxConvChannels(ctx) }));
  const [w, bias, mult] = [constant<Int8Array>(ctx, op.weight)!, constant<Int32Array>(ctx, op.bias), constant<Int32Array>(ctx, op.multiplier)!];
  const weights = ctx.memory.allocate(sparseWeightBytes(w, y.c, x.c));
  ctx.memory.addPacker({ staging: 0, fill: (stage) => packSparseWeights(stage.kernels.memory.buffer, weights, w, y.c, x.c, bias, mult) });
  const [pt, pl] = op.pads;
  const rowStride = y.w * y.stride;
  const kernel = x.dtype === 'i16' ? pick(ctx, I16_SPMM) : pick(ctx, U8_SPMM);
  const args = { H: x.h, W: x.w, C: x.c, inp: x.ptr, inStride: x.stride, zIn: c.inputs[0].quant!.zeroPoint, N: y.c, weights, ...rq, scratch };
  const interior = bindKernel(ctx.kernels, kernel, { ...args, out: y.ptr + pt * rowStride + pl * y.stride, outStride: y.stride, outRowStride: rowStride });
  // No taps: the igemm reads no input, whatever its type.
  const border = pick(ctx, U8_IGEMM);
  const borders = borderRuns(op, x, y).map((b) =>
    bindKernel(ctx.kernels, border, { M: b.M, N: y.c, taps: 0, K: 0, indirection: 0, weights, out: b.ptr, outStride: b.stride, ...rq, rounding: 0 }));
  // The packed weights' layout depends on N: a prefix of the work is a prefix of the rows.
  const warm = { kernel, run: bindKernel(ctx.kernels, kernel, { ...args, H: 1, out: y.ptr + pt * rowStride + pl * y.stride, outStride: y.stride, outRowStride: rowStride }) };
  const run = (): void => {
    interior();
    for (const b of borders) b();
  };
  // The dense convolution's MACs, so that reported rates compare with it (as Winograd's do).
  return [{ ...stepOf(ctx, c, y.h * y.w * y.c * x.c), run, warm }];
}

/** The nonzero input channels of output channel `n` of weights [N][C], ascending. */
function nonzeros(w: Int8Array, C: number, n: number): number[] {
  const cs: number[] = [];
  for (let c = 0; c < C; c++) if (w[n * C + c] !== 0) cs.push(c);
  return cs;
}

/** Bytes of {@link packSparseWeights}' layout for int8 weights [N][C]. */
export function sparseWeightBytes(w: Int8Array, N: number, C: number): number {
  let bytes = Math.ceil(N / NR) * 64;
  for (let n = 0; n < N; n++) bytes += 4 + 8 * Math.ceil(nonzeros(w, C, n).length / 2);
  return bytes;
}

/**
 * Writes int8 weights [N][C] at `at` in the sparse kernel's layout: per block of 8 output channels
 * bias i32[8] (zero point not folded: the kernel subtracts it) and multiplier i32[8]; then per
 * output channel the count of nonzero pairs and the pairs { c1 u16, c2 u16, w1 i16, w2 i16 },
 * channels ascending.
 */
export function packSparseWeights(memory: ArrayBuffer, at: number, w: Int8Array, N: number, C: number, bias: Int32Array | undefined, mult: Int32Array): void {
  const header = Math.ceil(N / NR) * 64;
  const i32 = new Int32Array(memory, at, header / 4).fill(0);
  for (let n = 0; n < N; n++) {
    i32[Math.floor(n / NR) * 16 + (n % NR)] = bias?.[n] ?? 0;
    i32[Math.floor(n / NR) * 16 + NR + (n % NR)] = mult[n];
  }
  const view = new DataView(memory, at + header);
  let o = 0;
  for (let n = 0; n < N; n++) {
    const cs = nonzeros(w, C, n);
    view.setInt32(o, Math.ceil(cs.length / 2), true);
    o += 4;
    for (let j = 0; j < cs.length; j += 2) {
      // An odd last nonzero pairs with itself at weight zero.
      const c2 = cs[j + 1] ?? cs[j];
      view.setUint16(o, cs[j], true);
      view.setUint16(o + 2, c2, true);
      view.setInt16(o + 4, w[n * C + cs[j]], true);
      view.setInt16(o + 6, j + 1 < cs.length ? w[n * C + c2] : 0, true);
      o += 8;
    }
  }
}

/**
 * Convolution planning: the indirection buffer and the packed weights of one conv, for the f32
 * kernel (f32_igemm_4x8) and the int8 kernel (i8_igemm_4x8c2). Both kernels read K contiguous input
 * elements per (output pixel, tap); see assembly/kernels/*-igemm.ts for the layouts.
 * @packageDocumentation
 */
import type { ConvOp, Model, QuantParams } from '../model/format.js';
import { convMacs, maxAbsQuantized } from '../model/graph.js';
import type { WeightScan } from '../model/scan.js';
import type { KernelExports } from '../wasm/kernels.js';
import { Scratch } from '../wasm/scratch.js';
import type { View } from './plan.js';

/** Output pixels per micro-kernel call (rows of the indirection buffer). */
export const MR = 4;
/** Output channels per packed weight block. */
export const NR = 8;

/**
 * The wasm packers' inputs (weights, bias, multipliers, offset tables), copied into a scratch area
 * of the kernels' memory: the activation arena, which nothing uses until the first run.
 */
export class Staging {
  readonly kernels: KernelExports;
  private readonly base: number;

  constructor(kernels: KernelExports, base: number) {
    this.kernels = kernels;
    this.base = base;
  }

  /** Bytes that {@link put} needs for arrays of these byte lengths. */
  static bytes(...byteLengths: number[]): number {
    return byteLengths.reduce((sum, b) => sum + ((b + 15) & ~15), 0);
  }

  /**
   * Copies `arrays` one after another from the area's start, overwriting what an earlier conv
   * staged; returns their pointers (0 for an absent one, which the packers read as "none").
   */
  put(...arrays: (ArrayBufferView | undefined)[]): number[] {
    const area = new Scratch(this.kernels, this.base);
    return arrays.map((a) => (a ? area.put(a) : 0));
  }
}

/** Where in wasm memory a conv's constants go; {@link ConvPlan.fill} writes them once memory is final. */
export interface ConvPlan {
  M: number;
  N: number;
  taps: number;
  K: number;
  indirection: number;
  weights: number;
  /** int8: the requantization shift. */
  shift: number;
  macs: number;
  /** Bytes {@link fill} stages. */
  staging: number;
  /** Writes indirection, padding and packed weights into the kernels' memory. */
  fill(staging: Staging): void;
}

/** Hands out aligned bytes of the constant area. */
export type Allocate = (bytes: number) => number;

/**
 * Geometry shared by both precisions. When no window hangs over the left or right edge and input
 * pixels are contiguous, the kw taps of a kernel row are one run of kw*C elements: fewer, longer taps.
 */
function geometry(op: ConvOp, x: View, y: View) {
  const [kh, kw] = op.kernel;
  const [, pl, , pr] = op.pads;
  const mergeRows = pl === 0 && pr === 0 && x.stride === x.c * x.elem;
  return { kh, kw, mergeRows, taps: mergeRows ? kh : kh * kw, K: mergeRows ? kw * x.c : x.c, M: y.h * y.w, N: y.c };
}

/** Pointer of every (output pixel, tap) to its input run, or to `pad` where the window is outside the input. */
function fillIndirection(k: KernelExports, at: number, op: ConvOp, x: View, y: View, pad: number): void {
  const { kw, mergeRows, taps, M } = geometry(op, x, y);
  k.fill_indirection(at, M, taps, mergeRows ? 1 : 0, kw, y.w, op.stride[0], op.stride[1], op.pads[0], op.pads[1], x.ptr, x.h, x.w, x.stride, pad);
}

/**
 * Where each weight of an output channel goes, in the tensor's (c, ky, kx) order: `place(t, k)`
 * with (t, k) the kernel's tap and the weight's position in the run. The same for every output
 * channel, so the packers' per-weight loops are plain indexed copies (they run once at load time,
 * mostly before the JIT has compiled them).
 */
function weightOffsets(op: ConvOp, x: View, y: View, place: (t: number, k: number) => number): Int32Array {
  const { kh, kw, mergeRows } = geometry(op, x, y);
  const C = x.c;
  const offsets = new Int32Array(C * kh * kw);
  for (let c = 0; c < C; c++) {
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) offsets[(c * kh + ky) * kw + kx] = place(mergeRows ? ky : ky * kw + kx, mergeRows ? kx * C + c : c);
    }
  }
  return offsets;
}

/** A padding run long enough for any tap: K elements (+1 for int8's paired reads). */
function padBytes(op: ConvOp, x: View, y: View): number {
  return (geometry(op, x, y).K + 1) * x.elem;
}

/** Plans an f32 conv: bias then [taps][K][8] floats per block of 8 output channels. */
export function planF32Conv(op: ConvOp, model: Model, x: View, y: View, allocate: Allocate): ConvPlan {
  const g = geometry(op, x, y);
  const blocks = Math.ceil(g.N / NR);
  const blockFloats = NR + g.taps * g.K * NR;
  const weights = allocate(blocks * blockFloats * 4);
  const indirection = allocate(Math.ceil(g.M / MR) * g.taps * MR * 4);
  const pad = allocate(padBytes(op, x, y));
  const w = model.tensors.get(op.weight)!.data as Float32Array;
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Float32Array);
  return {
    ...g,
    indirection,
    weights,
    shift: 0,
    macs: convMacs(op, x, y),
    staging: Staging.bytes(w.byteLength, bias?.byteLength ?? 0, w.byteLength / g.N),
    fill(staging) {
      const memory = staging.kernels.memory.buffer;
      new Float32Array(memory, pad, padBytes(op, x, y) / 4).fill(0);
      fillIndirection(staging.kernels, indirection, op, x, y, pad);
      const offsets = weightOffsets(op, x, y, (t, k) => NR + (t * g.K + k) * NR);
      const [pw, pb, po] = staging.put(w, bias, offsets);
      staging.kernels.f32_pack_igemm(pw, g.N, offsets.length, po, pb, weights, blockFloats);
    },
  };
}

/**
 * Plans an int8 conv: per block of 8 output channels, bias i32[8] (with the input zero point
 * folded in: bias - zIn * sum(w)), multiplier i32[8], then int16 weight pairs [taps][K/2][8][2].
 * Padding reads bytes equal to zIn, which the folded bias cancels exactly.
 */
export function planI8Conv(op: ConvOp, model: Model, x: View, y: View, qIn: QuantParams, allocate: Allocate): ConvPlan {
  const g = geometry(op, x, y);
  const pairs = (g.K + 1) >> 1;
  const blocks = Math.ceil(g.N / NR);
  const blockBytes = 64 + g.taps * pairs * 32;
  const weights = allocate(blocks * blockBytes);
  const indirection = allocate(Math.ceil(g.M / MR) * g.taps * MR * 4);
  const pad = allocate(padBytes(op, x, y));
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  const mult = model.tensors.get(op.multiplier!)!.data as Int32Array;
  // A 1x1 conv's weights are already in K order, which the packer lays out without a table.
  const oneByOne = op.kernel[0] === 1 && op.kernel[1] === 1;
  return {
    ...g,
    indirection,
    weights,
    shift: op.shift!,
    macs: convMacs(op, x, y),
    staging: Staging.bytes(w.byteLength, bias?.byteLength ?? 0, mult.byteLength, oneByOne ? 0 : (w.byteLength / g.N) * 4),
    fill(staging) {
      const memory = staging.kernels.memory.buffer;
      // The zero point is 0 for i16 inputs, so a byte fill serves both element sizes.
      new Uint8Array(memory, pad, padBytes(op, x, y)).fill(qIn.zeroPoint);
      fillIndirection(staging.kernels, indirection, op, x, y, pad);
      // In int16 units (every byte offset here is even); none (pointer 0) for a 1x1 conv.
      const offsets = oneByOne ? undefined : weightOffsets(op, x, y, (t, k) => (64 + (t * pairs + (k >> 1)) * 32 + (k & 1) * 2) / 2);
      const [pw, pb, pm, po] = staging.put(w, bias, mult, offsets);
      staging.kernels.i8_pack_igemm(pw, g.N, w.length / g.N, po, pb, pm, qIn.zeroPoint, weights, blockBytes);
    },
  };
}

/**
 * Whether an int8 conv can run as Winograd F(2x2, 3x3): 3x3, stride 1, pad 1, and 4x its
 * accumulator (the kernel's untransformed output) provably inside int32. Everything before the
 * final shift is additions and multiplications that wrap mod 2^32, so that bound on the result
 * is the only one needed (see i8-winograd.ts).
 */
export function winogradApplies(op: ConvOp, model: Model, x: View, qIn: QuantParams, scan: WeightScan): boolean {
  const [kh, kw] = op.kernel;
  if (!(kh === 3 && kw === 3 && op.stride[0] === 1 && op.stride[1] === 1 && op.pads.every((p) => p === 1))) return false;
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const maxIn = maxAbsQuantized(qIn);
  return Array.prototype.every.call(scan.absSums(w, w.length / (9 * x.c)), (sumAbs: number) => 4 * maxIn * sumAbs < 2 ** 31);
}

/** A planned Winograd conv: packed weights and the scratch the kernel transforms into. */
export interface WinogradPlan {
  weights: number;
  pad: number;
  scratchV: number;
  scratchM: number;
  shift: number;
  macs: number;
  staging: number;
  fill(staging: Staging): void;
}

/**
 * Plans an int8 3x3 conv for the Winograd kernel: per block of 8 output channels, bias i32[8]
 * (zero point not folded: the kernel subtracts it before the transform), multiplier i32[8], then
 * the transformed filters as int16 [16][Cp / 2][8][2].
 */
export function planI8Winograd(
  op: ConvOp, model: Model, x: View, y: View, qIn: QuantParams, allocate: Allocate, scratch: { v: number; m: number },
): WinogradPlan {
  // `scratch` holds pointers to the V and M areas all Winograd layers share (they run one at a time).
  const C = x.c;
  const Cp = (C + 7) & ~7;
  const pairs = Cp >> 1;
  const N = y.c;
  const blocks = Math.ceil(N / NR);
  const blockBytes = 64 + 16 * pairs * 32;
  const weights = allocate(blocks * blockBytes);
  const pad = allocate(2 * Cp + 16);
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  const mult = model.tensors.get(op.multiplier!)!.data as Int32Array;
  return {
    weights,
    pad,
    scratchV: scratch.v,
    scratchM: scratch.m,
    shift: op.shift!,
    macs: convMacs(op, x, y),
    staging: Staging.bytes(w.byteLength, bias?.byteLength ?? 0, mult.byteLength),
    fill(staging) {
      // i16 inputs have zero point 0, so a byte fill serves both element sizes.
      new Uint8Array(staging.kernels.memory.buffer, pad, 2 * Cp + 16).fill(qIn.zeroPoint);
      const [pw, pb, pm] = staging.put(w, bias, mult);
      staging.kernels.i8_pack_winograd(pw, N, C, pb, pm, weights, blockBytes);
    },
  };
}

/**
 * Weight density (fraction of nonzero weights) up to which an int8 1x1 conv runs on the sparse
 * kernel. bench/sparse.ts prunes every 1x1 conv of SqueezeNet 1.0 at random and times both
 * kernels: the sparse one breaks even at 0.4 on the narrowest layers (16 input channels, where
 * few nonzeros per output share its fixed per-output cost), at 0.5-0.6 on the others and above
 * 0.8 on conv_final. 0.4 makes no layer slower.
 */
export const SPARSE_MAX_DENSITY = 0.4;

/** Fraction of an int8 conv's weights that are nonzero. */
export function weightDensity(op: ConvOp, model: Model, scan: WeightScan): number {
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  return scan.nonzeros(w) / w.length;
}

/** Whether an int8 conv can run on the sparse kernel: 1x1, stride 1, channels addressable as u16. */
export function sparseApplies(op: ConvOp, x: View): boolean {
  const [kh, kw] = op.kernel;
  return kh === 1 && kw === 1 && op.stride[0] === 1 && op.stride[1] === 1 && x.c <= 0x10000;
}

/** A run of `M` output pixels, `stride` bytes apart, starting at `ptr`. */
export interface PixelRun {
  ptr: number;
  M: number;
  stride: number;
}

/** A planned sparse conv: packed nonzeros, where the interior goes, and the border runs of a padded conv. */
export interface SparsePlan {
  weights: number;
  /** Output of input pixel (0, 0), and the bytes from one output row to the next. */
  interior: number;
  rowStride: number;
  /** Output pixels that see only padding: acc = bias there, written by i8_igemm with K = 0 from the weights' header. */
  border: PixelRun[];
  shift: number;
  /** The dense convolution's MACs, so reported rates compare with it (as Winograd's do). */
  macs: number;
  staging: number;
  fill(staging: Staging): void;
}

/**
 * Plans an int8 1x1 stride-1 conv for the sparse kernel: per block of 8 output channels, bias i32[8]
 * (zero point not folded: the kernel subtracts it) and multiplier i32[8]; then per output channel
 * the count of nonzero pairs and the pairs { c1 u16, c2 u16, w1 i16, w2 i16 }, channels ascending.
 */
export function planI8Sparse(op: ConvOp, model: Model, x: View, y: View, allocate: Allocate): SparsePlan {
  const [pt, pl, pb] = op.pads;
  const C = x.c;
  const N = y.c;
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  const mult = model.tensors.get(op.multiplier!)!.data as Int32Array;
  const weights = allocate(sparseWeightBytes(w, N, C));
  const rowStride = y.w * y.stride;
  const at = (oy: number, ox: number): number => y.ptr + oy * rowStride + ox * y.stride;
  const border: PixelRun[] = [];
  if (pt > 0) border.push({ ptr: at(0, 0), M: pt * y.w, stride: y.stride });
  if (pb > 0) border.push({ ptr: at(pt + x.h, 0), M: pb * y.w, stride: y.stride });
  for (let ox = 0; ox < y.w; ox++) if (ox < pl || ox >= pl + x.w) border.push({ ptr: at(pt, ox), M: x.h, stride: rowStride });
  return {
    weights,
    interior: at(pt, pl),
    rowStride,
    border,
    shift: op.shift!,
    macs: y.h * y.w * N * C,
    staging: 0,
    fill(staging) {
      packSparseWeights(staging.kernels.memory.buffer, weights, w, N, C, bias, mult);
    },
  };
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
 * Writes int8 weights [N][C] at `at` in the sparse kernel's layout (see {@link planI8Sparse}):
 * bias and multiplier blocks of 8 channels, then per output channel its nonzero pairs.
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

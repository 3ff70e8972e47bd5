/**
 * The planner: runs once per model. It gives every activation a place in one arena inside the
 * wasm memory (buffers whose lifetimes do not overlap share bytes), lets Fire's concat happen in
 * place (each expand conv writes its channel slice of the concat buffer), packs the weights into
 * the layouts the kernels want, builds indirection buffers, and returns a list of steps that the
 * runner calls in order. Nothing is allocated after this.
 * @packageDocumentation
 */
import { LimitError } from '../errors.js';
import { I16_MAX, type ActShape, type Model, type Op, type QuantParams } from '../model/format.js';
import { convMacs, inferShapes, opInputs, readersOf } from '../model/graph.js';
import { ensureMemory, type KernelExports } from '../wasm/kernels.js';
import type { WeightScan } from '../model/scan.js';
import { wasmScan } from '../wasm/scan.js';
import { warmUp } from './run.js';
import {
  SPARSE_MAX_DENSITY, Staging, planF32Conv, planI8Conv, planI8Sparse, planI8Winograd, sparseApplies, weightDensity, winogradApplies,
  type ConvPlan, type SparsePlan, type WinogradPlan,
} from './conv.js';

/** Element type of an activation in memory. */
export type ActType = 'f32' | 'u8' | 'i16' | 'i32';

/** An activation in wasm memory: NHWC, `stride` bytes from one pixel to the next. */
export interface View {
  ptr: number;
  stride: number;
  /** Bytes per element. */
  elem: number;
  dtype: ActType;
  c: number;
  h: number;
  w: number;
}

/** One call of a kernel, with everything bound. */
export interface Step {
  /** The op's output tensor name, for per-layer reports. */
  name: string;
  op: Op['op'];
  /** Multiply-accumulates this step performs (0 for data movement). */
  macs: number;
  /** What the op reads and where it writes, so calibration can observe activations as they are made. */
  inputs: View[];
  output: View;
  run(): void;
  /**
   * The same kernel on a small prefix of this step's work (results in the arena are garbage), for
   * {@link warmUp}; steps whose kernels have loops worth optimizing have one.
   */
  warm?: { kernel: unknown; run(): void };
}

/** A model laid out in one kernels instance, ready to run. */
export interface Plan {
  kernels: KernelExports;
  /** Where the preprocessed image goes: NHWC, contiguous; f32 values, or u8 / i16 quantized with `inputQuant`. */
  input: View;
  inputQuant?: QuantParams;
  /** The network's final activation before any softmax op; quantized ones are dequantized with `outputQuant`. */
  output: View;
  outputQuant?: QuantParams;
  /** True when the network itself ends in softmax, so `output` holds its input (logits). */
  endsInSoftmax: boolean;
  steps: Step[];
  /** Bytes of wasm memory the plan uses: arena, packed weights and indirection. */
  memoryBytes: number;
  arenaBytes: number;
}

/** Which kernel variant to bind: the SIMD kernels, or their scalar references (for tests). */
export type KernelVariant = 'simd' | 'ref';

const ALIGN = 64;
/** Slack after every buffer: int8 kernels read pairs, so a run of odd length reads one byte past. */
const SLACK = 16;
const alignUp = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;
/** The typed array that reads an activation of each type out of wasm memory. */
export const ARRAY_OF = { f32: Float32Array, u8: Uint8Array, i16: Int16Array, i32: Int32Array } as const satisfies Record<ActType, unknown>;
const elemBytes = (t: ActType): number => ARRAY_OF[t].BYTES_PER_ELEMENT;

interface Buffer {
  bytes: number;
  first: number;
  last: number;
  offset: number;
}


/**
 * Tensors that can live inside a concat's buffer: read by nothing but that one concat (every kernel
 * writes strided output). Returns tensor -> [concat output, channel offset].
 */
function concatAliases(model: Model, channels: (name: string) => number): Map<string, [string, number]> {
  const readers = readersOf(model.ops);
  const aliases = new Map<string, [string, number]>();
  for (const op of model.ops) {
    if (op.op !== 'concat') continue;
    let offset = 0;
    for (const x of op.inputs) {
      if (readers.get(x)!.length === 1 && x !== model.input.name && x !== model.output) aliases.set(x, [op.output, offset]);
      offset += channels(x);
    }
  }
  return aliases;
}

/** Greedy by size (TFLite's arena planner): big buffers first, each at the lowest offset free during its lifetime. */
function placeBuffers(buffers: Buffer[]): number {
  const placed: Buffer[] = [];
  let total = 0;
  for (const b of [...buffers].sort((x, y) => y.bytes - x.bytes)) {
    const busy = placed.filter((o) => o.first <= b.last && b.first <= o.last).sort((x, y) => x.offset - y.offset);
    let offset = 0;
    for (const o of busy) {
      if (offset + b.bytes <= o.offset) break;
      offset = Math.max(offset, o.offset + o.bytes);
    }
    b.offset = offset;
    placed.push(b);
    total = Math.max(total, offset + b.bytes);
  }
  return total;
}

/**
 * Limits on what a model may ask of the machine once its file has been accepted: a valid file can
 * still describe a network that needs gigabytes or minutes per image.
 */
export interface RunLimits {
  /** Largest wasm memory a model may use: activation arena, packed weights and indirection, in bytes. */
  maxMemoryBytes: number;
  /** Largest work per inference: convolution multiply-accumulates plus one per element a pooling window reads. */
  maxMacs: number;
}

/** 256 MiB (the bundled models use 5 to 12 MiB) and 10 G MACs (SqueezeNet 1.0 does 0.86 G). */
export const DEFAULT_RUN_LIMITS: Readonly<RunLimits> = Object.freeze({ maxMemoryBytes: 256 * 2 ** 20, maxMacs: 10e9 });

/** Work of one op per inference, as {@link RunLimits.maxMacs} counts it. */
function opWork(op: Op, x: ActShape, y: ActShape): number {
  switch (op.op) {
    case 'conv':
      return convMacs(op, x, y);
    case 'maxpool':
    case 'avgpool':
      return y.c * y.h * y.w * op.kernel[0] * op.kernel[1];
    default:
      return x.c * x.h * x.w;
  }
}

/** Planner options. */
export interface PlanOptions {
  /** Run eligible int8 3x3 convs as Winograd F(2x2, 3x3) (default true). Results are identical either way. */
  winograd?: boolean;
  /**
   * Largest weight density (fraction of nonzero weights) at which an int8 1x1 stride-1 conv runs on
   * the sparse kernel (default {@link SPARSE_MAX_DENSITY}; 0 never, 1 always). Results are identical either way.
   */
  sparseDensity?: number;
  /** Overrides of {@link DEFAULT_RUN_LIMITS}. */
  limits?: Partial<RunLimits>;
  /** The model has passed {@link inferShapes} (as readModel's models have): skip its weight-sized quantization checks. */
  checked?: boolean;
  /** Run {@link warmUp} on the steps before packing the weights (Classifier does; default false). */
  warm?: boolean;
  /** The scan that read the model into these kernels (its results are reused); default a new {@link wasmScan}. */
  scan?: WeightScan;
}

/**
 * Lays `model` out in the memory of `kernels` and binds every step.
 * @param variant 'ref' binds the scalar reference kernels instead of SIMD (used by tests).
 * @throws ModelFormatError if the model is invalid, LimitError if it needs more memory or work than allowed.
 */
export function planModel(model: Model, kernels: KernelExports, variant: KernelVariant = 'simd', options: PlanOptions = {}): Plan {
  const shapes = inferShapes(model, options.checked ? 'structure' : 'all');
  const { maxMemoryBytes, maxMacs } = { ...DEFAULT_RUN_LIMITS, ...options.limits };
  const work = model.ops.reduce((sum, op) => sum + opWork(op, shapes.get(opInputs(op)[0])!, shapes.get(op.output)!), 0);
  if (work > maxMacs) throw new LimitError('maxMacs', `the network needs ${work.toExponential(2)} multiply-accumulates per image, more than the limit of ${maxMacs.toExponential(2)}`);
  const tooBig = (bytes: number): never => {
    throw new LimitError('maxMemoryBytes', `the network needs at least ${bytes} bytes of wasm memory, more than the limit of ${maxMemoryBytes}`);
  };
  const int8 = model.precision === 'int8';
  const quant = (name: string): QuantParams => model.quant!.get(name)!;
  const dtype = (name: string): ActType => (int8 ? quant(name).dtype : 'f32');
  const aliases = concatAliases(model, (name) => shapes.get(name)!.c);
  const last = model.ops[model.ops.length - 1];
  const endsInSoftmax = last.op === 'softmax';
  const outputName = endsInSoftmax ? last.input : model.output;

  // Resolve every tensor to a root buffer and a channel offset within it (nested concats chain).
  const rootOf = (name: string): [string, number] => {
    const a = aliases.get(name);
    if (!a) return [name, 0];
    const [root, off] = rootOf(a[0]);
    return [root, off + a[1]];
  };

  const buffers = new Map<string, Buffer>();
  const touch = (name: string, step: number): void => {
    const [root] = rootOf(name);
    const s = shapes.get(root)!;
    const b = buffers.get(root) ?? { bytes: alignUp(s.c * s.h * s.w * elemBytes(dtype(root)) + SLACK), first: step, last: step, offset: 0 };
    b.first = Math.min(b.first, step);
    b.last = Math.max(b.last, step);
    buffers.set(root, b);
  };
  touch(model.input.name, -1);
  model.ops.forEach((op, i) => {
    if (op.op === 'softmax') return;
    touch(op.output, i);
    for (const x of opInputs(op)) touch(x, i);
  });
  touch(outputName, model.ops.length);
  const arenaBytes = placeBuffers([...buffers.values()]);
  if (arenaBytes > maxMemoryBytes) tooBig(arenaBytes);

  const arena = kernels.heap_base();
  const view = (name: string): View => {
    const [root, off] = rootOf(name);
    const rs = shapes.get(root)!;
    const s = shapes.get(name)!;
    const t = dtype(name);
    return { ptr: arena + buffers.get(root)!.offset + off * elemBytes(t), stride: rs.c * elemBytes(t), elem: elemBytes(t), dtype: t, c: s.c, h: s.h, w: s.w };
  };

  let top = arena + arenaBytes;
  const allocate = (bytes: number): number => {
    const p = top;
    top = alignUp(p + bytes);
    return p;
  };

  const k = kernels;
  const pick = <F>(simd: F, ref: F): F => (variant === 'simd' ? simd : ref);
  const steps: Step[] = [];
  const convs: (ConvPlan | WinogradPlan | SparsePlan)[] = [];
  // One scratch area of each kind serves every layer that needs it: they run one after another.
  const maxC = Math.max(...model.ops.map((o) => (o.op === 'conv' ? shapes.get(o.input)!.c : 0)));
  let scratch: { v: number; m: number } | undefined;
  let spmmScratch: number | undefined;
  const sparseDensity = options.sparseDensity ?? SPARSE_MAX_DENSITY;
  // Before any packing: it stages data where the arena will be.
  const scan = options.scan ?? wasmScan(kernels);
  for (const op of model.ops) {
    if (op.op === 'softmax') continue;
    const out = view(op.output);
    const inputs = opInputs(op).map(view);
    const add = (macs: number, run: () => void, warm?: Step['warm']): void => void steps.push({ name: op.output, op: op.op, macs, inputs, output: out, run, warm });
    switch (op.op) {
      case 'conv': {
        const x = view(op.input);
        if (int8) {
          // The output clamp: the value meaning 0.0 with ReLU, else the type's range.
          const q = quant(op.output);
          const wide = q.dtype === 'i16' ? 1 : 0;
          // A folded Clip's upper bound is the value nearest `max`; calibration has already kept
          // the range below it, so this rarely bites.
          const qmax = Math.min(wide ? I16_MAX : 255, op.max === undefined ? Infinity : q.zeroPoint + Math.round(op.max / q.scale));
          const qmin = op.relu ? q.zeroPoint : wide ? -I16_MAX : 0;
          const i16in = x.dtype === 'i16';
          const zIn = quant(op.input).zeroPoint;
          if (sparseApplies(op, x) && weightDensity(op, model, scan) <= sparseDensity) {
            spmmScratch ??= allocate(k.i8_spmm_scratch(maxC));
            const c = planI8Sparse(op, model, x, out, allocate);
            const s = spmmScratch;
            const spmm = i16in ? pick(k.i8_spmm_16x1c2_i16in_simd, k.i8_spmm_i16in_ref) : pick(k.i8_spmm_16x1c2_simd, k.i8_spmm_ref);
            const border = pick(k.i8_igemm_4x8c2_simd, k.i8_igemm_ref);
            // The packed weights' layout depends on N: a prefix of the work is a prefix of the rows.
            const sparse = (h: number): void => spmm(h, x.w, x.c, x.ptr, x.stride, zIn, out.c, c.weights, c.interior, out.stride, c.rowStride, c.shift, q.zeroPoint, qmin, qmax, s, wide);
            add(c.macs, () => {
              sparse(x.h);
              for (const b of c.border) border(b.M, out.c, 0, 0, 0, c.weights, b.ptr, b.stride, c.shift, q.zeroPoint, qmin, qmax, wide);
            }, { kernel: spmm, run: () => sparse(1) });
            convs.push(c);
          } else if (options.winograd !== false && winogradApplies(op, model, x, quant(op.input), scan)) {
            scratch ??= { v: allocate(k.i8_winograd_scratch_v(maxC)), m: allocate(k.i8_winograd_scratch_m()) };
            const c = planI8Winograd(op, model, x, out, quant(op.input), allocate, scratch);
            const f = i16in ? pick(k.i8_winograd3x3_i16in_simd, k.i8_winograd3x3_i16in_ref) : pick(k.i8_winograd3x3_simd, k.i8_winograd3x3_ref);
            const wino = (h: number, w: number, n: number): void => f(h, w, x.c, x.ptr, x.stride, zIn, c.pad, n, c.weights, out.ptr, out.stride, c.shift, q.zeroPoint, qmin, qmax, c.scratchV, c.scratchM, wide);
            add(c.macs, () => wino(x.h, x.w, out.c), { kernel: f, run: () => wino(Math.min(x.h, 4), Math.min(x.w, 8), Math.min(out.c, 8)) });
            convs.push(c);
          } else {
            const c = planI8Conv(op, model, x, out, quant(op.input), allocate);
            const igemm = i16in ? pick(k.i8_igemm_4x8c2_i16in_simd, k.i8_igemm_i16in_ref) : pick(k.i8_igemm_4x8c2_simd, k.i8_igemm_ref);
            const gemm = (m: number, n: number): void => igemm(m, n, c.taps, c.K, c.indirection, c.weights, out.ptr, out.stride, c.shift, q.zeroPoint, qmin, qmax, wide);
            add(c.macs, () => gemm(c.M, c.N), { kernel: igemm, run: () => gemm(Math.min(c.M, 64), Math.min(c.N, 8)) });
            convs.push(c);
          }
        } else {
          const c = planF32Conv(op, model, x, out, allocate);
          const igemm = pick(k.f32_igemm_4x8_simd, k.f32_igemm_ref);
          const lo = op.relu ? 0 : -Infinity;
          const hi = op.max ?? Infinity;
          const gemm = (m: number, n: number): void => igemm(m, n, c.taps, c.K, c.indirection, c.weights, out.ptr, out.stride, lo, hi);
          add(c.macs, () => gemm(c.M, c.N), { kernel: igemm, run: () => gemm(Math.min(c.M, 64), Math.min(c.N, 8)) });
          convs.push(c);
        }
        break;
      }
      case 'maxpool': {
        const x = view(op.input);
        const f = !int8 ? pick(k.f32_maxpool_simd, k.f32_maxpool_ref) : x.dtype === 'i16' ? pick(k.i16_maxpool_simd, k.i16_maxpool_ref) : pick(k.u8_maxpool_simd, k.u8_maxpool_ref);
        const pool = (oh: number): void => f(x.ptr, x.h, x.w, x.c, x.stride, out.ptr, oh, out.w, out.stride, ...op.kernel, ...op.stride, op.pads[0], op.pads[1]);
        add(0, () => pool(out.h), { kernel: f, run: () => pool(1) });
        break;
      }
      case 'avgpool': {
        const x = view(op.input);
        const args = [x.ptr, x.h, x.w, x.c, x.stride, out.ptr, out.h, out.w, out.stride, ...op.kernel, ...op.stride, ...op.pads, op.countIncludePad ? 1 : 0] as const;
        if (int8) {
          const f = pick(k.u8_avgpool_simd, k.u8_avgpool_ref);
          const zp = quant(op.input).zeroPoint;
          add(0, () => f(...args, zp));
        } else {
          const f = pick(k.f32_avgpool_simd, k.f32_avgpool_ref);
          add(0, () => f(...args));
        }
        break;
      }
      case 'globalavgpool': {
        const x = view(op.input);
        if (int8 && x.dtype === 'i16') {
          const f = pick(k.i16_global_sum_simd, k.i16_global_sum_ref);
          add(0, () => f(x.ptr, x.h * x.w, x.c, x.stride, out.ptr));
        } else if (int8) {
          const f = pick(k.u8_global_sum_simd, k.u8_global_sum_ref);
          const zp = quant(op.input).zeroPoint;
          add(0, () => f(x.ptr, x.h * x.w, x.c, x.stride, zp, out.ptr));
        } else {
          const f = pick(k.f32_global_avgpool_simd, k.f32_global_avgpool_ref);
          add(0, () => f(x.ptr, x.h * x.w, x.c, x.stride, out.ptr));
        }
        break;
      }
      case 'add': {
        const [a, b] = inputs;
        const P = out.h * out.w;
        if (int8) {
          const [qa, qb] = op.inputs.map(quant);
          const zOut = quant(op.output).zeroPoint;
          const [ma, mb] = op.multipliers!;
          const wide = out.dtype === 'i16' ? 1 : 0;
          const qmin = op.relu ? zOut : wide ? -I16_MAX : 0;
          const f = a.dtype === 'i16' ? pick(k.i16_add_simd, k.i16_add_ref) : pick(k.u8_add_simd, k.u8_add_ref);
          add(0, () => f(a.ptr, a.stride, qa.zeroPoint, ma, b.ptr, b.stride, qb.zeroPoint, mb, P, out.c, out.ptr, out.stride, op.shift!, zOut, qmin, wide ? I16_MAX : 255, wide));
        } else {
          const f = pick(k.f32_add_simd, k.f32_add_ref);
          add(0, () => f(a.ptr, a.stride, b.ptr, b.stride, P, out.c, out.ptr, out.stride, op.relu ? 1 : 0));
        }
        break;
      }
      case 'relu':
      case 'concat': {
        // ReLU clamps at the value that means zero: 0.0, or the (shared) zero point; a plain copy at
        // the type's floor (for f32 the argument is a ReLU flag).
        const clamp = op.op === 'relu' ? (int8 ? quant(op.input).zeroPoint : 1) : out.dtype === 'i16' ? -32768 : 0;
        const copy = !int8 ? pick(k.f32_copy_simd, k.f32_copy_ref) : out.dtype === 'i16' ? pick(k.i16_copy_simd, k.i16_copy_ref) : pick(k.u8_copy_simd, k.u8_copy_ref);
        let offset = 0;
        for (const name of opInputs(op)) {
          const x = view(name);
          const dst = out.ptr + offset * out.elem;
          offset += x.c;
          if (op.op === 'concat' && aliases.has(name)) continue;
          add(0, () => copy(x.ptr, x.h * x.w, x.c, x.stride, dst, out.stride, clamp));
        }
        break;
      }
    }
  }

  // The packers' inputs are staged in the arena, free until the first run, or past the constants
  // if some layer's weights outgrow it.
  const staging = Math.max(...convs.map((c) => c.staging));
  const stageAt = staging <= arenaBytes ? arena : allocate(staging);
  if (top - arena > maxMemoryBytes) tooBig(top - arena);
  // Packing waits until here: growing memory detaches earlier views of it.
  ensureMemory(kernels.memory, top);
  if (options.warm) {
    // Before packing, so that V8 optimizes the kernels while the weights are packed (see warmUp).
    // The indirection buffers are still unwritten: zeroed, they point at the start of memory. (A
    // wasm scan may have staged the model file here, and its bytes are no pointers.)
    new Uint8Array(kernels.memory.buffer, arena + arenaBytes, top - arena - arenaBytes).fill(0);
    warmUp(steps);
  }
  const stage = new Staging(kernels, stageAt);
  for (const c of convs) c.fill(stage);

  return {
    kernels,
    input: view(model.input.name),
    inputQuant: int8 ? quant(model.input.name) : undefined,
    output: view(outputName),
    outputQuant: int8 ? quant(outputName) : undefined,
    endsInSoftmax,
    steps,
    memoryBytes: top - arena,
    arenaBytes,
  };
}

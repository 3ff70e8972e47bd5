/**
 * The runtime's types: where an activation lives ({@link View}), one planned kernel call
 * ({@link Step}), a planned network ({@link Plan}), and what an op planner is given
 * ({@link PlanContext}) and returns.
 * @packageDocumentation
 */
import type { ActType, QuantParams, OpKind } from '../model/format.js';
import type { SoftmaxInt8Params } from '../model/tflite-arithmetic.js';
import type { ValidModel } from '../model/validate.js';
import type { KernelExports, KernelName } from '../wasm/kernels.js';
import type { ModelMemory } from './memory.js';

export type { ActType };

/** The typed array that reads an activation of each type out of wasm memory. */
export const ARRAY_OF = { f32: Float32Array, u8: Uint8Array, u7: Uint8Array, i16: Int16Array, i32: Int32Array } as const satisfies Record<ActType, unknown>;

/** The kernels an activation type is read with: a u7 activation is bytes, read by the u8 kernels (or by the relaxed dot's). */
export const KERNEL_TYPE = { f32: 'f32', u8: 'u8', u7: 'u8', i16: 'i16', i32: 'i32' } as const satisfies Record<ActType, ActType>;

/** Bytes per element of an activation type. */
export const elemBytes = (t: ActType): number => ARRAY_OF[t].BYTES_PER_ELEMENT;

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
  op: OpKind;
  /** Multiply-accumulates this step performs (0 for data movement). */
  macs: number;
  /** What the op reads and where it writes, so calibration can observe activations as they are made. */
  inputs: View[];
  output: View;
  run(): void;
  /** The same kernel on a small prefix of this step's work, for warm-up (src/runtime/warm.ts). */
  warm?: { kernel: KernelName; run(): void };
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
  /** A final softmax imported from .tflite with int8 rounding: what TFLite's fixed-point softmax needs (src/runtime/output.ts). */
  tfliteSoftmax?: SoftmaxInt8Params;
  steps: Step[];
  /** The int8 convs' dot product (reports; every choice computes the same results). */
  int8Dot: Int8Dot;
  /** Bytes of wasm memory the plan uses: arena, packed weights and indirection. */
  memoryBytes: number;
  arenaBytes: number;
}

/** Which kernels a plan binds: the SIMD kernels, or their scalar references (for verification). */
export type KernelVariant = 'simd' | 'ref';

/** A kernel's two variants. */
export interface KernelPair {
  simd: KernelName;
  ref: KernelName;
}

/**
 * Limits on what a model may ask of the machine once its file has been accepted: a valid file can
 * still describe a network that needs gigabytes or minutes per image.
 */
export interface RunLimits {
  /** Largest wasm memory a model may use: activation arena, packed weights and indirection, in bytes. */
  maxMemoryBytes: number;
  /**
   * Largest work per inference, in conv multiply-accumulates: a conv's, with channels rounded up
   * to 8, plus what every op costs per pixel and per value, weighted by measured cost
   * (`WORK_WEIGHTS` in src/model/validate.ts). About a second of this machine's time at the default.
   */
  maxMacs: number;
}

/** 256 MiB (the bundled models use 5 to 18 MiB) and 10 G MACs of work (SqueezeNet 1.0 counts 1.4 G). */
export const DEFAULT_RUN_LIMITS: Readonly<RunLimits> = Object.freeze({ maxMemoryBytes: 256 * 2 ** 20, maxMacs: 10e9 });

/**
 * The dot product the int8 convs multiply with: `dot16` is `i32x4.dot_i16x8_s` (every build),
 * `relaxed` the relaxed build's `i32x4.relaxed_dot_i8x16_i7x16_add_s` on 7-bit planes; where the
 * engine's instruction is exact on 8-bit second operands, u8 activations are one plane too:
 * read unsigned on `relaxed-u8` (x86 `vpdpbusd`), signed on `relaxed-s8` (Arm `sdot`). All compute
 * the same integers; which is faster depends on the engine and the CPU (src/runtime/probe.ts).
 */
export const INT8_DOTS = ['dot16', 'relaxed', 'relaxed-u8', 'relaxed-s8'] as const;
export type Int8Dot = (typeof INT8_DOTS)[number];

/**
 * Kernel choices a planner follows. int8 results are identical whichever applies; float results
 * of Winograd and direct convs differ by rounding (ops/winograd.ts).
 */
export interface KernelChoices {
  variant: KernelVariant;
  /** The int8 convs' dot product (all but `dot16` only in the relaxed build). */
  int8Dot: Int8Dot;
  /** With the relaxed dot: fewest output channels (and twice the fewest bytes per kernel row) of a conv split into two planes (one-plane inputs need none). */
  twoPlaneMinChannels: number;
  /** Run eligible 3x3 convs as Winograd: F(2x2, 3x3) for int8 (exact), F(4x4, 3x3) for f32. */
  winograd: boolean;
  /** Largest weight density (fraction of nonzero weights) at which an int8 1x1 stride-1 conv runs on the sparse kernel. */
  sparseDensity: number;
}

/** What an op planner is given: the model, its memory, and where every activation lives. */
export interface PlanContext {
  readonly model: ValidModel;
  readonly memory: ModelMemory;
  readonly kernels: KernelExports;
  readonly choices: KernelChoices;
  /** Where activation `name` lives. */
  view(name: string): View;
  /** Whether concat input `name` is written by its producer straight into the concat's buffer. */
  inPlace(name: string): boolean;
  /** One constants area per `key`, shared by every layer that needs it: layers run one after another. */
  shared(key: string, bytes: () => number): number;
}

/**
 * The in-memory form of a squeezewasm model: what a model file holds once read and validated,
 * and what converters build before writing one. docs/model-format.md describes the bytes.
 * @packageDocumentation
 */

/** "SQZW" read as a little-endian u32. */
export const MAGIC = 0x575a5153;
/**
 * The newest format version this code reads and writes. Version 2 added sparse tensor encodings,
 * version 3 the `u7` activation type, version 4 TFLite rounding (`rounding: 'tflite'`); the writer marks a file with the lowest version that
 * describes it (every tensor dense and no u7: version 1, byte-identical to a version 1 writer's).
 */
export const FORMAT_VERSION = 4;
/** The oldest format version this code reads. */
export const MIN_FORMAT_VERSION = 1;
/** Byte length of the fixed binary header that precedes the JSON header. */
export const FIXED_HEADER_BYTES = 32;
/** Every tensor blob starts at a multiple of this many bytes from the start of the file. */
export const BLOB_ALIGN = 64;

/** Element types of stored tensors. `i8` and `i32` hold quantized weights and biases. */
export type DType = 'f32' | 'i8' | 'i32';

/** Bytes per element of each {@link DType}. */
export const ELEMENT_BYTES: Readonly<Record<DType, number>> = { f32: 4, i8: 1, i32: 4 };

/**
 * How a tensor's blob stores its elements: `dense`, all of them in order; `bitmask`, one bit per
 * element (set where the element is not all-zero bits) followed by the elements whose bit is set.
 */
export type TensorEncoding = 'dense' | 'bitmask';

/** Typed array for each {@link DType}. */
export interface DTypeArray {
  f32: Float32Array;
  i8: Int8Array;
  i32: Int32Array;
}

/** A named constant tensor (weights, biases). Layout is row-major in the ONNX order, e.g. conv weights [out, in, kh, kw]. */
export type Tensor =
  | { dtype: 'f32'; shape: number[]; data: Float32Array }
  | { dtype: 'i8'; shape: number[]; data: Int8Array }
  | { dtype: 'i32'; shape: number[]; data: Int32Array };

/** How an image becomes the network's input tensor. */
export interface InputSpec {
  /** Name of the graph input tensor. */
  name: string;
  height: number;
  width: number;
  /** Order of the three colour channels the network expects. */
  channelOrder: 'RGB' | 'BGR';
  /** The shorter image side is resized to this before the centre crop (256 for ImageNet models). */
  resizeShorter: number;
  /** Input value = (pixel / divisor - mean[c]) / std[c], pixel in 0..255, c in the network's channel order. */
  divisor: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** Where a model came from and under which license it may be used. */
export interface Provenance {
  source: string;
  license: string;
  /** Full license or notice text, shown by `squeezewasm info`. */
  licenseText?: string;
  notes?: string;
}

/** [top, left, bottom, right] padding in pixels. */
export type Pads = [number, number, number, number];

/**
 * Convolution, optionally fused with ReLU. Weight [outC, inC, kh, kw], bias [outC].
 * In an int8 model the weight is i8 (symmetric, per output channel: real = weightScale[n] * q),
 * the bias i32 (scale inputScale x weightScale[n]), and the output is requantized with
 * `multiplier[n]` (i32) and `shift`: q_out = zOut + ((acc * multiplier[n] + 2^(shift-1)) >> shift).
 */
export interface ConvOp {
  op: 'conv';
  input: string;
  output: string;
  weight: string;
  bias?: string;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  relu: boolean;
  /**
   * Upper clamp of the output, applied after the bias and any ReLU: an ONNX Clip folded into the
   * conv (ReLU6 is `relu: true, max: 6`). Absent means no upper bound.
   */
  max?: number;
  /** int8 only: f32 [outC] tensor of weight scales. */
  weightScale?: string;
  /** int8 only: i32 [outC] tensor of fixed-point requantization multipliers. */
  multiplier?: string;
  /** int8 only: right shift applied after the multiplier, 1..62 (absent with TFLite rounding). */
  shift?: number;
  /**
   * int8 only: `'tflite'` for a layer imported from a .tflite model, requantized as TensorFlow Lite
   * does (docs/tflite.md): `multiplier` holds the multipliers TFLite derives from the scales,
   * `shifts` its right shifts, and the product is rounded twice as TFLite rounds it. Absent:
   * `shift`, one rounding.
   */
  rounding?: Rounding;
  /** int8 with TFLite rounding: i32 [outC] tensor of TFLite's right shifts, 0..30. */
  shifts?: string;
}

/** Max pooling; with `ceil`, the last window may run past the edge and only covers real pixels. */
export interface MaxPoolOp {
  op: 'maxpool';
  input: string;
  output: string;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  ceil: boolean;
}

/** Average pooling; `countIncludePad` divides by the full window instead of the covered pixels. */
export interface AvgPoolOp {
  op: 'avgpool';
  input: string;
  output: string;
  kernel: [number, number];
  stride: [number, number];
  pads: Pads;
  ceil: boolean;
  countIncludePad: boolean;
  /** int8 only: `'tflite'` rounds ties of the int8 average (q - 128 for uint8) away from zero, as TFLite does. */
  rounding?: Rounding;
}

/**
 * Mean over all pixels of each channel: [C, H, W] -> [C, 1, 1]. In an int8 model it outputs the
 * exact int32 sums, or with TFLite rounding (a MEAN imported from a .tflite model) uint8 values
 * computed as TFLite's reference MEAN computes them, from `multiplier` and `shift` (docs/tflite.md).
 */
export interface GlobalAvgPoolOp {
  op: 'globalavgpool';
  input: string;
  output: string;
  rounding?: Rounding;
  /**
   * int8 with TFLite rounding: the sum over the pixels of (q - zIn), requantized as TFLite does
   * with `multiplier` and `shift` (TFLite's exponent: positive shifts left first), TFLite's
   * multiplier of inputScale / outputScale with 1 / pixels folded in.
   */
  multiplier?: number;
  shift?: number;
}

/** Concatenation along channels. */
export interface ConcatOp {
  op: 'concat';
  inputs: string[];
  output: string;
}

/**
 * Element-wise sum of two activations of the same shape (a residual connection), optionally
 * followed by ReLU. In an int8 model both inputs are rescaled to the output scale in one fixed-point
 * step: q_out = zOut + ((m0 (q0 - z0) + m1 (q1 - z1) + 2^(shift-1)) >> shift), with a 64-bit sum.
 */
export interface AddOp {
  op: 'add';
  inputs: [string, string];
  output: string;
  relu: boolean;
  /** int8 only: the multipliers m0, m1 of the two inputs, round(inputScale[i] / outputScale * 2^shift). */
  multipliers?: [number, number];
  /** int8 only: right shift after the multiply-add, 1..62. */
  shift?: number;
  /**
   * int8 only: `'tflite'` computes TFLite's int8 Add instead: each input minus its zero point,
   * shifted left by 20, requantized with `tflite.multipliers[i]` and right shift `tflite.shifts[i]`
   * (0..30), the sum with the output's (index 2), each as TFLite rounds.
   */
  rounding?: Rounding;
  tflite?: { multipliers: [number, number, number]; shifts: [number, number, number] };
}

/**
 * A feature map as one vector: [C, H, W] -> [H * W * C, 1, 1], in NHWC order (the bytes do not
 * change). A TFLite RESHAPE before a FULLY_CONNECTED, which then runs as a 1x1 conv.
 */
export interface FlattenOp {
  op: 'flatten';
  input: string;
  output: string;
}

/** Stand-alone ReLU (the converter fuses it into a preceding conv or add when it can). */
export interface ReluOp {
  op: 'relu';
  input: string;
  output: string;
}

/**
 * Softmax over channels; only as the last op. Float, on the host; with TFLite rounding (an int8
 * SOFTMAX imported from a .tflite model) TFLite's fixed-point int8 softmax with `beta`, whose
 * output is uint8 with scale 1/256 and zero point 0 (docs/tflite.md).
 */
export interface SoftmaxOp {
  op: 'softmax';
  input: string;
  output: string;
  rounding?: Rounding;
  beta?: number;
}

/**
 * How an int8 op rounds when it is not this format's own way: as TensorFlow Lite's reference
 * kernels do (`'tflite'`), or, for a conv that is a TFLite FULLY_CONNECTED, as its kernel does
 * (`'tflite-fc'`: acc x inputScale x weightScale / outputScale in double, rounded half away from zero).
 */
export type Rounding = 'tflite' | 'tflite-fc';

export type Op = ConvOp | MaxPoolOp | AvgPoolOp | GlobalAvgPoolOp | ConcatOp | AddOp | FlattenOp | ReluOp | SoftmaxOp;
export type OpKind = Op['op'];
export const OP_KINDS: readonly OpKind[] = ['conv', 'maxpool', 'avgpool', 'globalavgpool', 'concat', 'add', 'flatten', 'relu', 'softmax'];

/** Element type of an activation in memory: float32, or one of a quantized model's integer types. */
export type ActType = 'f32' | 'u8' | 'u7' | 'i16' | 'i32';

/**
 * Largest |q| of an `i16` activation: 13 bits with the sign, so that Winograd's input transform
 * (a sum of four inputs) still fits int16.
 */
export const I16_MAX = 4095;

/** The values each quantized activation type holds, [min, max]. */
export const QUANT_RANGE: Readonly<Record<Exclude<ActType, 'f32'>, readonly [number, number]>> = {
  u8: [0, 255],
  u7: [0, 127],
  i16: [-I16_MAX, I16_MAX],
  i32: [-(2 ** 31), 2 ** 31 - 1],
};

/**
 * Affine quantization of an activation: real = scale x (q - zeroPoint). `u8` activations hold
 * q in 0..255. `u7` ones are stored as bytes too but hold only 0..127 (zero point 0..127): the
 * relaxed dot product multiplies them in one instruction (format version 3). `i16` ones have zero
 * point 0 and |q| <= {@link I16_MAX}, 32 times finer than u8 at the same cost in the dot16 kernels,
 * which multiply in int16 anyway; every op but the average pool reads them. An `i32` activation (a
 * global average pool feeding the output) holds sum(q - zIn) over its window, so real = scale x q,
 * zero point 0.
 */
export interface QuantParams {
  scale: number;
  zeroPoint: number;
  dtype: Exclude<ActType, 'f32'>;
}

/** Numeric precision of a model's weights and activations. */
export type Precision = 'f32' | 'int8';

/** A whole model: the network, its constants, and everything needed to feed and read it. */
export interface Model {
  name: string;
  precision: Precision;
  /** int8 models: the quantization of every activation, the input included, by name. */
  quant?: Map<string, QuantParams>;
  input: InputSpec;
  /** Ops in execution order; each reads tensors produced earlier (or the input). */
  ops: Op[];
  /** Name of the tensor holding the network output, [classes, 1, 1]. */
  output: string;
  /** One label per output class. */
  labels: string[];
  tensors: Map<string, Tensor>;
  provenance: Provenance;
}

/** Shape of an activation in the network: channels, height, width (batch is always 1). */
export interface ActShape {
  c: number;
  h: number;
  w: number;
}

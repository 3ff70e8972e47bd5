/**
 * A squeezewasm {@link Model} as a TensorFlow Lite flatbuffer (.tflite, schema v3), so that
 * LiteRT.js (bench/peers/litert.ts) runs the same network with the same weights: a benchmark peer,
 * not a second implementation of squeezewasm's arithmetic. Activations are NHWC as in squeezewasm;
 * conv weights are transposed from the model's OIHW to TFLite's OHWI.
 *
 * Ops: CONV_2D (fused RELU, or RELU6 for a conv clamped at 6), MAX_POOL_2D, AVERAGE_POOL_2D, MEAN
 * over H and W (the global average pool; XNNPACK delegates it), CONCATENATION on channels, ADD,
 * RELU, SOFTMAX, and RESHAPE of the [1, 1, 1, classes] result to [1, classes]. Padding is VALID or
 * SAME where that is exactly the model's window placement (same output size, same leading pad);
 * a conv padded otherwise (SqueezeNet 1.0's 1x1 conv_final with pad 1) reads a PAD op's output
 * with VALID. A pool padded otherwise is refused (padding with a value is not a max pool's
 * "ignore the padding"). The ceil-mode max pools of both SqueezeNets cover the input exactly, so
 * they are VALID.
 *
 * Two flavours, by the model's precision:
 * - f32: float tensors throughout; the model's float weights and biases.
 * - int8, as TensorFlow's converter writes a full-integer model: float input -> QUANTIZE -> int8
 *   activations (asymmetric, -128..127, zero point per tensor), per-channel symmetric int8 conv
 *   weights (zero points 0, quantized_dimension 0), int32 biases with scale inputScale x
 *   weightScale[n]. The activation ranges are the model's own calibration: each activation's real
 *   range under its squeezewasm quantization, [scale (qmin - zp), scale (qmax - zp)], becomes int8
 *   params over the same range. An int16 activation out of a ReLU covers [0, 4095 scale] (its
 *   negative half never occurs; the converter's calibration would see min 0 too). The input gets
 *   the range preprocessing can produce. Max pool, average pool, stand-alone ReLU and concat share
 *   one quantization between their inputs and output (TFLite's int8 concat and XNNPACK's need
 *   that; a Fire module's two expand convs already share one output scale in squeezewasm), taken
 *   over the union of the ranges in the group. Weights are squeezewasm's int8 weights and scales as
 *   they are; each int32 bias is rescaled to its input's new scale, b' = round(b x oldScale /
 *   newScale). Int8 activations have 8 bits where squeezewasm's have 13, so this is NOT
 *   bit-identical to squeezewasm int8 (docs/quantization.md measures what 8 bits cost).
 *   The global average pool runs in float on its DEQUANTIZEd input, as in bench/peers/qdq-onnx.ts:
 *   squeezewasm keeps exact int32 sums there, and an int8 MEAN would round the class scores to the
 *   classifier's step (1.1 on SqueezeNet 1.1's calibration) and tie close classes. With
 *   `int8GlobalPool` the MEAN stays int8 (output quantized like its input, which covers every mean
 *   of it), then DEQUANTIZE.
 *
 * The graph's input is float [1, H, W, 3] named like the model's input, preprocessed as squeezewasm
 * preprocesses; its output float [1, classes] named like the model's output (softmax included when
 * the model ends with one, unless `stopBeforeSoftmax`).
 * @packageDocumentation
 */
import { I16_MAX, QUANT_RANGE, type ActShape, type ConvOp, type Model, type Op, type Pads, type QuantParams } from '../../src/model/format.js';
import { validateModel } from '../../src/model/validate.js';
import { scalar, table, vector } from './flatbuffer-writer.js';
import { TfliteGraph, type TfliteQuant } from './tflite-graph.js';
import { ActivationFunctionType, BuiltinOperator, BuiltinOptions, Fields, Padding, TensorType } from '../../src/convert/tflite-schema.js';

/** How {@link modelToTflite} writes the graph. */
export interface TfliteWriteOptions {
  /** Leave out a final softmax, so the output is the logits squeezewasm's `run` returns. */
  stopBeforeSoftmax?: boolean;
  /** int8 models: an int8 MEAN for the global average pool instead of a float one (see the module comment). */
  int8GlobalPool?: boolean;
}

/**
 * The .tflite bytes of `model` (f32 or int8; see the module comment).
 * @throws Error naming the op when the model has something this writer cannot express exactly.
 */
export function modelToTflite(model: Model, options: TfliteWriteOptions = {}): Uint8Array {
  const w = new Translation(model, options);
  for (const op of model.ops) w.translate(op);
  return w.finish();
}

/** Real range of the values preprocessing can produce, for the int8 input's quantization. */
function inputRange(model: Model): [number, number] {
  const { divisor, mean, std } = model.input;
  const ends = [0, 1, 2].flatMap((c) => [(0 / divisor - mean[c]) / std[c], (255 / divisor - mean[c]) / std[c]]);
  return [Math.min(...ends), Math.max(...ends)];
}

/** TFLite int8 params over [lo, hi] (widened to hold 0 exactly): 255 steps, zero point in -128..127. */
export function rangeToInt8(lo: number, hi: number): { scale: number; zeroPoint: number } {
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  const scale = Math.fround(Math.max(hi - lo, 1e-8) / 255);
  return { scale, zeroPoint: Math.min(127, Math.max(-128, Math.round(-128 - lo / scale))) };
}

/** The real range a squeezewasm activation quantization can hold; `relu` drops an int16's negative half. */
function ownRange(q: QuantParams, relu: boolean, name: string): [number, number] {
  if (q.dtype === 'u8' || q.dtype === 'u7') {
    const [lo, hi] = QUANT_RANGE[q.dtype];
    return [q.scale * (lo - q.zeroPoint), q.scale * (hi - q.zeroPoint)];
  }
  if (q.dtype === 'i16') return [relu ? 0 : -I16_MAX * q.scale, I16_MAX * q.scale];
  throw new Error(`tflite-writer: ${name} holds int32 sums; only a global average pool's output may, and that one is float here`);
}

/**
 * Int8 params of every activation of an int8 model, by name. Ops that must not rescale (pools,
 * ReLU, concat) join their inputs and output into one group; a group's range is the union of its
 * members' own ranges (conv and add outputs, the input).
 */
function int8Params(model: Model): (name: string) => { scale: number; zeroPoint: number } {
  const quant = model.quant!;
  const parent = new Map<string, string>();
  const root = (t: string): string => (parent.has(t) ? root(parent.get(t)!) : t);
  const join = (a: string, b: string): void => {
    const [ra, rb] = [root(a), root(b)];
    if (ra !== rb) parent.set(ra, rb);
  };
  const own = new Map<string, [number, number]>([[model.input.name, inputRange(model)]]);
  for (const op of model.ops) {
    if (op.op === 'conv' || op.op === 'add') own.set(op.output, ownRange(quant.get(op.output)!, op.relu, op.output));
    else if (op.op === 'concat') for (const x of op.inputs) join(x, op.output);
    else if (op.op !== 'softmax') join(op.output, op.input);
  }
  const ranges = new Map<string, [number, number]>();
  for (const [t, [lo, hi]] of own) {
    const r = root(t);
    const prev = ranges.get(r) ?? [Infinity, -Infinity];
    ranges.set(r, [Math.min(prev[0], lo), Math.max(prev[1], hi)]);
  }
  return (name) => {
    const range = ranges.get(root(name));
    if (!range) throw new Error(`tflite-writer: ${name} has no calibrated range`);
    return rangeToInt8(...range);
  };
}

/** TFLite's SAME padding along one axis: output size and leading pad. */
function same(size: number, kernel: number, stride: number): { out: number; begin: number } {
  const out = Math.ceil(size / stride);
  return { out, begin: Math.floor(Math.max((out - 1) * stride + kernel - size, 0) / 2) };
}

/**
 * VALID or SAME when either places the windows exactly as `op` does on input `x` (same output size,
 * same leading pad; trailing padding past the last window is never read), else undefined.
 */
function exactPadding(op: { kernel: [number, number]; stride: [number, number]; pads: Pads }, x: ActShape, out: ActShape): Padding | undefined {
  const valid = (size: number, k: number, s: number): number => Math.floor((size - k) / s) + 1;
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  if (op.pads[0] === 0 && op.pads[1] === 0 && valid(x.h, kh, sh) === out.h && valid(x.w, kw, sw) === out.w) return Padding.VALID;
  const [h, w] = [same(x.h, kh, sh), same(x.w, kw, sw)];
  if (h.out === out.h && w.out === out.w && h.begin === op.pads[0] && w.begin === op.pads[1]) return Padding.SAME;
  return undefined;
}

/** OIHW (the model's layout) to OHWI (TFLite's conv filter layout). */
function toOHWI<T extends Float32Array | Int8Array>(data: T, [o, i, kh, kw]: number[]): T {
  const out = new (data.constructor as new (n: number) => T)(data.length);
  for (let n = 0; n < o; n++) {
    for (let c = 0; c < i; c++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) out[((n * kh + y) * kw + x) * i + c] = data[((n * i + c) * kh + y) * kw + x];
      }
    }
  }
  return out;
}

const nhwc = (s: ActShape): number[] => [1, s.h, s.w, s.c];

/** One model's translation in progress: model tensor names -> graph tensors, op by op. */
class Translation {
  private readonly graph = new TfliteGraph();
  private readonly shapes: Map<string, ActShape>;
  private readonly int8: boolean;
  private readonly params?: (name: string) => { scale: number; zeroPoint: number };
  /** Each model tensor's graph tensor (int8 or float, whichever its producer wrote). */
  private readonly ids = new Map<string, number>();
  /** Float copies (DEQUANTIZE outputs) of int8 tensors, made once each. */
  private readonly floats = new Map<string, number>();
  private readonly graphInput: number;
  private finalOp?: Op;

  constructor(private readonly model: Model, private readonly options: TfliteWriteOptions) {
    this.shapes = new Map([...validateModel(model).acts].map(([name, a]) => [name, a.shape]));
    this.int8 = model.precision === 'int8';
    if (this.int8 && !model.quant) throw new Error(`tflite-writer: ${model.name} is int8 but has no activation quantization`);
    const { name, height, width } = model.input;
    this.shapes.set(name, { c: 3, h: height, w: width });
    this.graphInput = this.graph.tensor({ name, shape: [1, height, width, 3], type: TensorType.FLOAT32 });
    this.ids.set(name, this.graphInput);
    if (this.int8) {
      this.params = int8Params(model);
      const q = this.activation(name, `${name}_int8`);
      this.graph.op(BuiltinOperator.QUANTIZE, [this.graphInput], [q], { type: BuiltinOptions.QuantizeOptions, table: table([]) });
      this.ids.set(name, q);
    }
  }

  /** A new activation tensor with `model`'s shape of `name` (or `shape`), int8 with its params or float. */
  private activation(name: string, tensorName = name, float = !this.int8, shape = nhwc(this.shapes.get(name)!)): number {
    const type = float ? TensorType.FLOAT32 : TensorType.INT8;
    const quant = float ? undefined : this.quantOf(name);
    return this.graph.tensor({ name: tensorName, shape, type, quant });
  }

  private quantOf(name: string): TfliteQuant {
    const { scale, zeroPoint } = this.params!(name);
    return { scale: [scale], zeroPoint: [zeroPoint] };
  }

  private id(name: string): number {
    const id = this.ids.get(name);
    if (id === undefined) throw new Error(`tflite-writer: ${name} is read before it is written`);
    return id;
  }

  /** `name` for an op of the flavour's type: in an int8 graph only softmax reads the float pool output. */
  private operand(name: string): number {
    const id = this.id(name);
    if (this.int8 && this.graph.tensors[id].type !== TensorType.INT8) {
      throw new Error(`tflite-writer: ${this.model.name}: ${name} is float here (a global average pool's output) and an int8 op reads it`);
    }
    return id;
  }

  /** `name` as a float tensor: itself, or a DEQUANTIZE of it. */
  private float(name: string): number {
    const id = this.id(name);
    if (this.graph.tensors[id].type === TensorType.FLOAT32) return id;
    let f = this.floats.get(name);
    if (f === undefined) {
      f = this.activation(name, `${name}_float`, true, this.graph.tensors[id].shape);
      this.graph.op(BuiltinOperator.DEQUANTIZE, [id], [f], { type: BuiltinOptions.DequantizeOptions, table: table([]) });
      this.floats.set(name, f);
    }
    return f;
  }

  /** A constant int32 tensor (pads, axes, shapes). */
  private int32(name: string, shape: number[], values: number[]): number {
    return this.graph.tensor({ name, shape, type: TensorType.INT32 }, Int32Array.from(values));
  }

  translate(op: Op): void {
    this.finalOp = op;
    switch (op.op) {
      case 'conv': return this.conv(op);
      case 'maxpool': case 'avgpool': return this.pool(op);
      case 'globalavgpool': return this.globalPool(op);
      case 'concat': return this.simple(op.output, BuiltinOperator.CONCATENATION, op.inputs, BuiltinOptions.ConcatenationOptions, [[Fields.ConcatenationOptions.axis, scalar('int', 3)]]);
      case 'add': return this.simple(op.output, BuiltinOperator.ADD, op.inputs, BuiltinOptions.AddOptions, [[Fields.AddOptions.fused_activation_function, scalar('byte', op.relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE)]]);
      case 'relu': return this.simple(op.output, BuiltinOperator.RELU, [op.input]);
      case 'softmax': return this.softmax(op.input, op.output);
    }
  }

  /** An op from activations to one new activation, in the flavour's type. */
  private simple(output: string, code: BuiltinOperator, inputs: string[], optionsType?: BuiltinOptions, fields: Parameters<typeof table>[0] = []): void {
    const out = this.activation(output);
    this.graph.op(code, inputs.map((x) => this.operand(x)), [out], optionsType === undefined ? undefined : { type: optionsType, table: table(fields) });
    this.ids.set(output, out);
  }

  private conv(op: ConvOp): void {
    const x = this.shapes.get(op.input)!;
    const y = this.shapes.get(op.output)!;
    let input = this.operand(op.input);
    let padding = exactPadding(op, x, y);
    if (padding === undefined) {
      // Zero padding made explicit: in int8 PAD fills with the zero point, which is 0.0.
      const [pt, pl, pb, pr] = op.pads;
      const padded = { c: x.c, h: x.h + pt + pb, w: x.w + pl + pr };
      const out = this.activation(op.input, `${op.output}_padded_input`, !this.int8, nhwc(padded));
      const pads = this.int32(`${op.output}_pads`, [4, 2], [0, 0, pt, pb, pl, pr, 0, 0]);
      this.graph.op(BuiltinOperator.PAD, [input, pads], [out], { type: BuiltinOptions.PadOptions, table: table([]) });
      input = out;
      padding = Padding.VALID;
    }
    const [weight, bias] = this.int8 ? this.int8Weights(op) : this.floatWeights(op);
    const F = Fields.Conv2DOptions;
    const activation = this.activationFunction(op);
    const out = this.activation(op.output);
    this.graph.op(BuiltinOperator.CONV_2D, [input, weight, bias], [out], {
      type: BuiltinOptions.Conv2DOptions,
      table: table([
        [F.padding, scalar('byte', padding)], [F.stride_w, scalar('int', op.stride[1])], [F.stride_h, scalar('int', op.stride[0])],
        [F.fused_activation_function, scalar('byte', activation)], [F.dilation_w_factor, scalar('int', 1)], [F.dilation_h_factor, scalar('int', 1)],
      ]),
    });
    this.ids.set(op.output, out);
  }

  private activationFunction(op: ConvOp): ActivationFunctionType {
    if (op.max === undefined) return op.relu ? ActivationFunctionType.RELU : ActivationFunctionType.NONE;
    if (op.relu && op.max === 6) return ActivationFunctionType.RELU6;
    throw new Error(`tflite-writer: ${this.model.name}: conv ${op.output} is clamped to [${op.relu ? 0 : '-inf'}, ${op.max}], which has no fused activation`);
  }

  private floatWeights(op: ConvOp): [number, number] {
    const w = this.model.tensors.get(op.weight)!;
    const [o, i, kh, kw] = w.shape;
    const weight = this.graph.tensor({ name: op.weight, shape: [o, kh, kw, i], type: TensorType.FLOAT32 }, toOHWI(w.data as Float32Array, w.shape));
    const b = op.bias === undefined ? new Float32Array(o) : (this.model.tensors.get(op.bias)!.data as Float32Array);
    return [weight, this.graph.tensor({ name: op.bias ?? `${op.output}_bias`, shape: [o], type: TensorType.FLOAT32 }, b)];
  }

  /** squeezewasm's int8 weights and scales as they are; the int32 bias rescaled to the input's new scale. */
  private int8Weights(op: ConvOp): [number, number] {
    const w = this.model.tensors.get(op.weight)!;
    const [o, i, kh, kw] = w.shape;
    const ws = this.model.tensors.get(op.weightScale!)!.data as Float32Array;
    const perChannel: TfliteQuant = { scale: [...ws], zeroPoint: new Array<number>(o).fill(0), dimension: 0 };
    const weight = this.graph.tensor({ name: op.weight, shape: [o, kh, kw, i], type: TensorType.INT8, quant: perChannel }, toOHWI(w.data as Int8Array, w.shape));
    const oldScale = this.model.quant!.get(op.input)!.scale;
    const newScale = this.params!(op.input).scale;
    const stored = op.bias === undefined ? new Int32Array(o) : (this.model.tensors.get(op.bias)!.data as Int32Array);
    const b = Int32Array.from(stored, (v) => {
      const r = Math.round((v * oldScale) / newScale);
      if (Math.abs(r) > 0x7fffffff) throw new Error(`tflite-writer: ${op.output}: a bias overflows int32 at the new input scale`);
      return r;
    });
    const biasQuant: TfliteQuant = { scale: Array.from(ws, (s) => Math.fround(newScale * s)), zeroPoint: new Array<number>(o).fill(0), dimension: 0 };
    return [weight, this.graph.tensor({ name: op.bias ?? `${op.output}_bias`, shape: [o], type: TensorType.INT32, quant: biasQuant }, b)];
  }

  private pool(op: Extract<Op, { op: 'maxpool' | 'avgpool' }>): void {
    const x = this.shapes.get(op.input)!;
    const y = this.shapes.get(op.output)!;
    const padding = exactPadding(op, x, y);
    // TFLite's SAME average pool divides by the real pixels a window covers, like countIncludePad false.
    const counted = op.op === 'avgpool' && op.countIncludePad && padding === Padding.SAME;
    if (padding === undefined || counted) {
      throw new Error(`tflite-writer: ${this.model.name}: ${op.op} ${op.output} (pads ${op.pads}, ceil ${op.ceil}) is neither VALID nor SAME`);
    }
    const F = Fields.Pool2DOptions;
    this.simple(op.output, op.op === 'maxpool' ? BuiltinOperator.MAX_POOL_2D : BuiltinOperator.AVERAGE_POOL_2D, [op.input], BuiltinOptions.Pool2DOptions, [
      [F.padding, scalar('byte', padding)], [F.stride_w, scalar('int', op.stride[1])], [F.stride_h, scalar('int', op.stride[0])],
      [F.filter_width, scalar('int', op.kernel[1])], [F.filter_height, scalar('int', op.kernel[0])],
    ]);
  }

  /** MEAN over H and W, keeping the dims: [1, 1, 1, C]. Float in an int8 model unless `int8GlobalPool`. */
  private globalPool(op: Extract<Op, { op: 'globalavgpool' }>): void {
    const float = !this.int8 || !this.options.int8GlobalPool;
    const input = float ? this.float(op.input) : this.operand(op.input);
    const axes = this.int32(`${op.output}_axes`, [2], [1, 2]);
    // An int8 mean is quantized like its input (int8Params joins them), which holds every mean of it.
    const out = this.activation(op.output, op.output, float);
    this.graph.op(BuiltinOperator.MEAN, [input, axes], [out], { type: BuiltinOptions.ReducerOptions, table: table([[Fields.ReducerOptions.keep_dims, scalar('bool', 1)]]) });
    this.ids.set(op.output, out);
  }

  private softmax(input: string, output: string): void {
    if (this.options.stopBeforeSoftmax) return;
    const out = this.activation(output, output, true, this.graph.tensors[this.id(input)].shape);
    this.graph.op(BuiltinOperator.SOFTMAX, [this.float(input)], [out], { type: BuiltinOptions.SoftmaxOptions, table: table([[Fields.SoftmaxOptions.beta, scalar('float', 1)]]) });
    this.ids.set(output, out);
  }

  /** Ends the graph: the output as float [1, classes], then the flatbuffer. */
  finish(): Uint8Array {
    const last = this.finalOp;
    const name = last?.op === 'softmax' && this.options.stopBeforeSoftmax ? last.input : this.model.output;
    const x = this.float(name);
    const classes = this.shapes.get(name)!.c;
    const out = this.graph.tensor({ name: `${name}_flat`, shape: [1, classes], type: TensorType.FLOAT32 });
    const shape = this.int32(`${name}_shape`, [2], [1, classes]);
    this.graph.op(BuiltinOperator.RESHAPE, [x, shape], [out], { type: BuiltinOptions.ReshapeOptions, table: table([[Fields.ReshapeOptions.new_shape, vector('int', [1, classes])]]) });
    return this.graph.toFlatbuffer([{ tensor: this.graphInput, name: this.model.input.name }], [{ tensor: out, name }], `squeezewasm ${this.model.name} (bench/peers/tflite-writer.ts)`);
  }
}

/**
 * TensorFlow Lite -> squeezewasm: converts a .tflite classifier (schema v3, float32 or full-integer
 * int8) to the model format. TFLite is NHWC like the runtime, so tensors keep their layout but for
 * conv weights ([O, H, W, I] to [O, I, H, W]). int8 models keep TFLite's arithmetic: their ops
 * carry `rounding: 'tflite'` and the multipliers and shifts TFLite's kernels derive from the
 * scales, so the runtime's outputs are bit-identical to TFLite's reference kernels (docs/tflite.md).
 * Activations that are int8 in TFLite are uint8 here, each value and zero point plus 128.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ConvertError, LimitError } from '../errors.js';
import { DEFAULT_READ_LIMITS } from '../model/read.js';
import type { ActShape, ConvOp, Model, Op, Pads, QuantParams, Tensor } from '../model/format.js';
import type { ValidModel } from '../model/validate.js';
import { quote } from '../text.js';
import { checkConverted, checkMeta, type ConvertMeta } from './common.js';
import { readTflite, type TfliteActivation, type TfliteGraph, type TfliteOp, type TfliteOptions, type TfliteTensor } from './tflite-read.js';
import { activationOf, addParams, convRequant, meanParams, softmaxParams } from './tflite-quant.js';

/** An activation of the converted network: its name in the model, NHWC shape (batch 1) and quantization. */
interface Act {
  name: string;
  shape: ActShape;
  quant?: QuantParams;
  /** Spatial padding a PAD op put around it, not yet taken by a consumer. */
  pad?: Pads;
  /** No value below 0.0 (a ReLU made it, or a pool or concat of such): a PAD's zeros cannot win a max pool. */
  nonNegative?: boolean;
}

/** The ops this converter reads, and the rule for each. */
const RULES: Readonly<Record<string, (c: Converter, op: TfliteOp) => void>> = {
  CONV_2D: (c, op) => c.conv(op),
  FULLY_CONNECTED: (c, op) => c.fullyConnected(op),
  MAX_POOL_2D: (c, op) => c.pool(op, 'maxpool'),
  AVERAGE_POOL_2D: (c, op) => c.pool(op, 'avgpool'),
  MEAN: (c, op) => c.mean(op),
  CONCATENATION: (c, op) => c.concat(op),
  ADD: (c, op) => c.add(op),
  PAD: (c, op) => c.pad(op),
  RELU: (c, op) => c.relu(op),
  RESHAPE: (c, op) => c.reshape(op),
  SQUEEZE: (c, op) => c.reshape(op),
  SOFTMAX: (c, op) => c.softmax(op),
  QUANTIZE: (c, op) => c.quantize(op),
  DEQUANTIZE: (c, op) => c.dequantize(op),
};

/** The ops a PAD before them folds into (as padding of their window). */
const WINDOW_OPS: ReadonlySet<string> = new Set(['CONV_2D', 'MAX_POOL_2D', 'AVERAGE_POOL_2D']);

/**
 * Most bytes of weights the converter holds: each conv gets its own transposed copy, so a weight
 * that many ops share could otherwise ask for any amount (as in the ONNX converter).
 */
const MAX_CONVERTED_BYTES = 2 * DEFAULT_READ_LIMITS.maxTensorBytes;

/** Where an op is, for messages: its index, code and first output's name. */
function where(g: TfliteGraph, op: TfliteOp): string {
  const out = g.tensors[op.outputs[0]]?.name ?? '';
  return `op #${op.index} ${op.op} (output ${quote(out)})`;
}

function fail(code: string, g: TfliteGraph, op: TfliteOp, message: string): never {
  throw new ConvertError(code, `${where(g, op)}: ${message}`);
}

/** TFLite's SAME padding of one axis: the output is ceil(in / stride), the odd pixel goes after. */
function samePads(size: number, kernel: number, stride: number): [number, number] {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** Builds the model op by op; each rule reads its TFLite op and appends ops and constants. */
class Converter {
  readonly acts = new Map<number, Act>();
  readonly ops: Op[] = [];
  readonly tensors = new Map<string, Tensor>();
  readonly quant = new Map<string, QuantParams>();
  private readonly names = new Set<string>();
  private tensorBytes = 0;
  /** Weight orders by shape: layers of one shape (a Fire module's, or many convs sharing weights) share one. */
  private readonly orders = new Map<string, Int32Array>();

  constructor(readonly g: TfliteGraph, readonly int8: boolean) {}

  /** A model name for tensor `index`: its own if usable and new, else `tensor<index>`. */
  nameOf(index: number): string {
    const own = this.g.tensors[index].name;
    const name = own.length > 0 && own.length <= 200 && !this.names.has(own) ? own : `tensor${index}`;
    this.names.add(name);
    return name;
  }

  /** Refuses the model at `op`. */
  fail(op: TfliteOp, message: string, code = 'E_CONVERT_GRAPH'): never {
    fail(code, this.g, op, message);
  }

  /** The activation an op reads as input `i`, which an earlier op (or the graph input) made; only window ops take a PAD's output. */
  input(op: TfliteOp, i = 0): Act {
    const act = this.acts.get(op.inputs[i]);
    if (!act) this.fail(op, `input ${i} is not an activation made by an earlier op (a constant or a missing tensor)`);
    if (act.pad && !WINDOW_OPS.has(op.op)) this.fail(op, 'it reads the output of a PAD; only convolutions and pools can take one');
    return act;
  }

  /** The constant an op reads as input `i`, or undefined when the input is omitted. */
  constant(op: TfliteOp, i: number): TfliteTensor | undefined {
    if (op.inputs[i] === undefined || op.inputs[i] < 0) return undefined;
    const t = this.g.tensors[op.inputs[i]];
    if (!t.data || this.acts.has(t.index)) this.fail(op, `input ${i} must be a constant`);
    return t;
  }

  /** Records the op's output activation of `shape`, quantized as the file says. */
  output(op: TfliteOp, shape: ActShape, extra: Partial<Act> = {}): Act {
    const index = op.outputs[0];
    this.unwritten(op);
    const t = this.g.tensors[index];
    const act: Act = { name: this.nameOf(index), shape, ...extra };
    if (this.int8) {
      act.quant = activationOf(t, where(this.g, op));
      this.quant.set(act.name, act.quant);
    }
    this.acts.set(index, act);
    return act;
  }

  /** An activation passed on under another tensor index, unchanged (reshapes, the edges' QUANTIZE / DEQUANTIZE). */
  alias(op: TfliteOp, act: Act): void {
    this.unwritten(op);
    this.acts.set(op.outputs[0], act);
  }

  /** Refuses an op whose output an earlier op wrote, before it costs anything (a graph is written once). */
  unwritten(op: TfliteOp): void {
    if (this.acts.has(op.outputs[0]) || this.g.tensors[op.outputs[0]].data) this.fail(op, 'its output is a constant or was written by an earlier op');
  }

  /** The rank-4 [1, H, W, C] shape of the op's output as the file states it. */
  nhwc(op: TfliteOp): ActShape {
    const s = this.g.tensors[op.outputs[0]].shape;
    if (s.length !== 4 || s[0] !== 1) this.fail(op, `output shape [${s.join(', ')}] is not [1, H, W, C]`);
    return { h: s[1], w: s[2], c: s[3] };
  }

  /** A stand-alone RELU: a `relu` op, which keeps its input's quantization (TFLite's may rescale: refused). */
  relu(op: TfliteOp): void {
    const x = this.input(op);
    const y = this.output(op, { ...x.shape }, { nonNegative: true });
    if (this.int8 && (x.quant!.scale !== y.quant!.scale || x.quant!.zeroPoint !== y.quant!.zeroPoint)) this.fail(op, 'an int8 RELU that rescales is not supported', 'E_CONVERT_TENSOR');
    this.ops.push({ op: 'relu', input: x.name, output: y.name });
  }

  /** ReLU and ReLU6 fuse into convs; anything else is refused. */
  fusedRelu(op: TfliteOp, activation: TfliteActivation, allowRelu6 = true): Pick<ConvOp, 'relu' | 'max'> {
    if (activation === 'NONE') return { relu: false };
    if (activation === 'RELU') return { relu: true };
    if (activation === 'RELU6' && allowRelu6) return { relu: true, max: 6 };
    return this.fail(op, `fused activation ${activation} is not supported`, 'E_CONVERT_ATTR');
  }

  /** The constant input `i` an op cannot do without (weights, paddings). */
  required(op: TfliteOp, i: number, what: string): TfliteTensor {
    return this.constant(op, i) ?? this.fail(op, `it has no ${what}`);
  }

  /** CONV_2D: its weights [O, H, W, I] to [O, I, H, W], SAME padding (and a PAD's) as explicit pads. */
  conv(op: TfliteOp): void {
    const o = options(this, op, 'conv');
    if (o.dilationH !== 1 || o.dilationW !== 1) this.fail(op, 'dilated convolutions are not supported', 'E_CONVERT_ATTR');
    const x = this.input(op);
    const w = this.required(op, 1, 'weights');
    if (w.shape.length !== 4 || w.shape[3] !== x.shape.c) this.fail(op, `weight shape [${w.shape.join(', ')}] does not match ${x.shape.c} input channels`);
    const [oc, kh, kw] = w.shape;
    const pads = windowPads(this, op, x, [kh, kw], [o.strideH, o.strideW], o.padding);
    this.convOp(op, x, w, pads, { kernel: [kh, kw], stride: [o.strideH, o.strideW], ...this.fusedRelu(op, o.activation) }, this.order(w, oc, kh, kw, x.shape.c));
  }

  /** FULLY_CONNECTED: a 1x1 conv over a vector (a flattened map or a mean). */
  fullyConnected(op: TfliteOp): void {
    const o = options(this, op, 'fullyConnected');
    if (o.weightsFormat !== 0) this.fail(op, 'shuffled FULLY_CONNECTED weights are not supported', 'E_CONVERT_ATTR');
    const x = this.input(op);
    const w = this.required(op, 1, 'weights');
    if (x.shape.h !== 1 || x.shape.w !== 1) this.fail(op, 'its input must be a vector (flatten a feature map with RESHAPE first)');
    if (w.shape.length !== 2 || w.shape[1] !== x.shape.c) this.fail(op, `weight shape [${w.shape.join(', ')}] does not match its ${x.shape.c} inputs`);
    const attrs = { kernel: [1, 1] as [number, number], stride: [1, 1] as [number, number], ...this.fusedRelu(op, o.activation) };
    this.convOp(op, x, w, [0, 0, 0, 0], attrs, this.order(w, w.shape[0], 1, 1, x.shape.c));
  }

  /** {@link ohwiToOihw} of a weight shape, made once. */
  order(w: TfliteTensor, oc: number, kh: number, kw: number, ic: number): Int32Array {
    const key = `${oc},${kh},${kw},${ic}`;
    let order = this.orders.get(key);
    if (!order) this.orders.set(key, (order = ohwiToOihw(w, oc, kh, kw, ic)));
    return order;
  }

  /** A conv (or a fully connected layer as one) with its weights already [O, I, H, W]. */
  convOp(op: TfliteOp, x: Act, w: TfliteTensor, pads: Pads, attrs: Pick<ConvOp, 'kernel' | 'stride' | 'relu' | 'max'>, order: Int32Array): void {
    const oc = w.shape[0];
    const y = this.output(op, op.op === 'FULLY_CONNECTED' ? { c: oc, h: 1, w: 1 } : this.nhwc(op), { nonNegative: attrs.relu });
    const conv: ConvOp = { op: 'conv', input: x.name, output: y.name, weight: `${y.name}.weight`, pads, ...attrs };
    const b = this.constant(op, 2);
    if (b) conv.bias = `${y.name}.bias`;
    if (this.int8) this.int8Conv(op, conv, x, y, w, b, order);
    else {
      this.put(conv.weight, { dtype: 'f32', shape: oihwShape(w, order, attrs.kernel), data: permute(floats(this, op, w, order.length), order) });
      if (b) this.put(conv.bias!, { dtype: 'f32', shape: [oc], data: floats(this, op, b, oc) });
    }
    this.ops.push(conv);
  }

  /** int8 weights, int32 bias and TFLite's per-channel multipliers and shifts for a conv. */
  int8Conv(op: TfliteOp, conv: ConvOp, x: Act, y: Act, w: TfliteTensor, b: TfliteTensor | undefined, order: Int32Array): void {
    const oc = w.shape[0];
    if (w.type !== 'int8' || !w.quant) this.fail(op, `an int8 model's weights must be int8, not ${w.type}`, 'E_CONVERT_TENSOR');
    const { scale, zeroPoint } = w.quant;
    if (scale.length !== 1 && (scale.length !== oc || w.quant.dimension !== 0)) this.fail(op, 'weights must be quantized per tensor or per output channel', 'E_CONVERT_TENSOR');
    if (zeroPoint.some((z) => z !== 0)) this.fail(op, 'weights must be quantized symmetrically (zero point 0)', 'E_CONVERT_TENSOR');
    const scales = Float32Array.from({ length: oc }, (_, n) => scale[scale.length === 1 ? 0 : n]);
    const wq = new Int8Array(w.data!.buffer, w.data!.byteOffset, w.data!.byteLength);
    this.put(conv.weight, { dtype: 'i8', shape: oihwShape(w, order, conv.kernel), data: permute(wq, order) });
    if (b) this.put(conv.bias!, { dtype: 'i32', shape: [oc], data: int32s(this, op, b, oc) });
    this.put(`${y.name}.scale`, { dtype: 'f32', shape: [oc], data: scales });
    Object.assign(conv, { weightScale: `${y.name}.scale` });
    // TFLite requantizes a FULLY_CONNECTED in double, a CONV_2D with fixed-point multipliers.
    if (op.op === 'FULLY_CONNECTED') return void Object.assign(conv, { rounding: 'tflite-fc' });
    const { multipliers, shifts } = convRequant(x.quant!, scales, y.quant!, where(this.g, op));
    this.put(`${y.name}.multiplier`, { dtype: 'i32', shape: [oc], data: multipliers });
    this.put(`${y.name}.shifts`, { dtype: 'i32', shape: [oc], data: shifts });
    Object.assign(conv, { multiplier: `${y.name}.multiplier`, shifts: `${y.name}.shifts`, rounding: 'tflite' });
  }

  /** MAX_POOL_2D, AVERAGE_POOL_2D: int8 averages round as TFLite's do. */
  pool(op: TfliteOp, kind: 'maxpool' | 'avgpool'): void {
    const o = options(this, op, 'pool');
    if (o.activation !== 'NONE') this.fail(op, `fused activation ${o.activation} on a pool is not supported`, 'E_CONVERT_ATTR');
    const x = this.input(op);
    const padded = x.pad !== undefined;
    // TFLite pads with zeros, which a max pool reads: the same as no padding only where nothing is below zero.
    if (padded && kind === 'maxpool' && !x.nonNegative) this.fail(op, 'a PAD before a max pool is supported only after a ReLU (the pool would read its zeros)');
    const pads = windowPads(this, op, x, [o.filterH, o.filterW], [o.strideH, o.strideW], o.padding);
    const y = this.output(op, this.nhwc(op), { nonNegative: x.nonNegative });
    const window = { input: x.name, output: y.name, kernel: [o.filterH, o.filterW] as [number, number], stride: [o.strideH, o.strideW] as [number, number], pads, ceil: false };
    if (kind === 'maxpool') this.ops.push({ op: 'maxpool', ...window });
    // PAD's zeros count in the average; SAME padding's positions do not (TFLite averages the covered pixels).
    else this.ops.push({ op: 'avgpool', ...window, countIncludePad: padded, ...(this.int8 ? { rounding: 'tflite' as const } : {}) });
    if (padded && o.padding === 'SAME' && pads.some((p, i) => p !== x.pad![i])) this.fail(op, 'a PAD before an average pool with SAME padding is not supported');
  }

  /** MEAN over height and width: a global average pool (int8: TFLite's mean of the sums). */
  mean(op: TfliteOp): void {
    const x = this.input(op);
    const axes = this.constant(op, 1);
    const a = axes && axes.data!.byteLength === 8 ? [...int32s(this, op, axes, 2)].map((v) => (v < 0 ? v + 4 : v)).sort().join(',') : 'other';
    if (a !== '1,2') this.fail(op, 'MEAN is supported only over height and width (axes 1 and 2)', 'E_CONVERT_ATTR');
    const y = this.output(op, { c: x.shape.c, h: 1, w: 1 });
    this.ops.push({ op: 'globalavgpool', input: x.name, output: y.name, ...(this.int8 ? { rounding: 'tflite' as const, ...meanParams(x.quant!, y.quant!, x.shape, where(this.g, op)) } : {}) });
  }

  /** CONCATENATION on channels. */
  concat(op: TfliteOp): void {
    const o = options(this, op, 'concat');
    const rank = this.g.tensors[op.outputs[0]].shape.length;
    if (o.axis !== -1 && o.axis !== rank - 1) this.fail(op, `concatenation on axis ${o.axis} is not supported: only on channels (the last axis)`, 'E_CONVERT_ATTR');
    if (o.activation !== 'NONE') this.fail(op, `fused activation ${o.activation} on a concatenation is not supported`, 'E_CONVERT_ATTR');
    const xs = op.inputs.map((_, i) => this.input(op, i));
    const y = this.output(op, { ...xs[0].shape, c: xs.reduce((s, x) => s + x.shape.c, 0) }, { nonNegative: xs.every((x) => x.nonNegative) });
    if (this.int8 && xs.some((x) => x.quant!.scale !== y.quant!.scale || x.quant!.zeroPoint !== y.quant!.zeroPoint)) {
      this.fail(op, 'its inputs and output are quantized differently (TFLite would rescale them); squeezewasm concatenates equal quantizations only', 'E_CONVERT_TENSOR');
    }
    this.ops.push({ op: 'concat', inputs: xs.map((x) => x.name), output: y.name });
  }

  /** ADD of two tensors of one shape (int8: TFLite's three-step rescaling). */
  add(op: TfliteOp): void {
    const o = options(this, op, 'add');
    const [a, b] = [this.input(op, 0), this.input(op, 1)];
    if (a.shape.c !== b.shape.c || a.shape.h !== b.shape.h || a.shape.w !== b.shape.w) this.fail(op, 'broadcasting adds are not supported: both inputs must have one shape');
    const relu = this.fusedRelu(op, o.activation, false).relu;
    const y = this.output(op, { ...a.shape }, { nonNegative: relu });
    const tflite = this.int8 ? { rounding: 'tflite' as const, tflite: addParams(a.quant!, b.quant!, y.quant!, where(this.g, op)) } : {};
    this.ops.push({ op: 'add', inputs: [a.name, b.name], output: y.name, relu, ...tflite });
  }

  /** PAD: nothing of its own; the next window op takes its padding (see {@link Act.pad}). */
  pad(op: TfliteOp): void {
    const x = this.input(op);
    const p = this.required(op, 1, 'paddings');
    const v = int32s(this, op, p, 8);
    if (p.shape.join(',') !== '4,2' || v[0] || v[1] || v[6] || v[7]) this.fail(op, 'only spatial padding of a [1, H, W, C] tensor is supported', 'E_CONVERT_ATTR');
    if (v.some((n) => n < 0)) this.fail(op, 'negative padding is not supported', 'E_CONVERT_ATTR');
    if (x.pad) this.fail(op, 'two PADs in a row are not supported');
    const [t, b, l, r] = [v[2], v[3], v[4], v[5]];
    if (this.int8 && activationOf(this.g.tensors[op.outputs[0]], where(this.g, op)).zeroPoint !== x.quant!.zeroPoint) this.fail(op, 'PAD must keep its input quantization', 'E_CONVERT_TENSOR');
    this.alias(op, { ...x, pad: [t, l, b, r], shape: { ...x.shape, h: x.shape.h + t + b, w: x.shape.w + l + r } });
  }

  /** RESHAPE / SQUEEZE to [1, N]: a vector stays what it is, a feature map is flattened (NHWC order). */
  reshape(op: TfliteOp): void {
    const x = this.input(op);
    const s = this.g.tensors[op.outputs[0]].shape;
    const elements = x.shape.c * x.shape.h * x.shape.w;
    if (s.reduce((p, d) => p * d, 1) !== elements || s[s.length - 1] !== elements) this.fail(op, `reshape to [${s.join(', ')}] is not supported: only flattening to [1, N]`);
    if (x.shape.h === 1 && x.shape.w === 1) return this.alias(op, x);
    const y = this.output(op, { c: elements, h: 1, w: 1 });
    this.ops.push({ op: 'flatten', input: x.name, output: y.name });
  }

  /** SOFTMAX on the class scores, last (int8: TFLite's fixed-point softmax, on the host). */
  softmax(op: TfliteOp): void {
    const o = options(this, op, 'softmax');
    const x = this.input(op);
    if (x.shape.h !== 1 || x.shape.w !== 1) this.fail(op, 'softmax must read the class scores ([1, classes])');
    if (!this.int8 && o.beta !== 1) this.fail(op, `a float softmax with beta ${o.beta} is not supported (only 1)`, 'E_CONVERT_ATTR');
    const y = this.output(op, { ...x.shape });
    this.ops.push({ op: 'softmax', input: x.name, output: y.name, ...(this.int8 ? { rounding: 'tflite' as const, ...softmaxParams(o.beta, y.quant!, where(this.g, op)) } : {}) });
  }

  /**
   * QUANTIZE of the graph input (float32 or uint8): the network starts at its int8 output, which
   * preprocessing makes. QUANTIZE to the graph output (int8 to uint8): the int8 values are the output.
   */
  quantize(op: TfliteOp): void {
    if (this.int8 && op.outputs[0] === this.g.outputs[0]) return this.alias(op, this.input(op));
    // The graph input's QUANTIZE: the network starts at its output ({@link firstActivation}).
    if (op.index !== 0 || !this.acts.has(op.outputs[0])) this.fail(op, 'QUANTIZE is supported only on the graph input or output of an int8 model', 'E_CONVERT_OP');
  }

  /** DEQUANTIZE of the int8 graph output: the runtime dequantizes its output anyway. */
  dequantize(op: TfliteOp): void {
    if (op.outputs[0] !== this.g.outputs[0]) this.fail(op, 'DEQUANTIZE is supported only on the graph output', 'E_CONVERT_OP');
    this.alias(op, this.input(op));
  }

  /** Adds a constant, refusing to hold more than {@link MAX_CONVERTED_BYTES}. */
  put(name: string, t: Tensor): void {
    this.tensorBytes += t.data.byteLength;
    if (this.tensorBytes > MAX_CONVERTED_BYTES) {
      throw new LimitError('maxTensorBytes', `the converted network's weights would take more than ${DEFAULT_READ_LIMITS.maxTensorBytes} bytes, the limit of a model file's tensors`);
    }
    this.tensors.set(name, t);
  }
}

/** The options of the kind a rule expects (the reader decodes them by operator code). */
function options<K extends TfliteOptions['kind']>(c: Converter, op: TfliteOp, kind: K): Extract<TfliteOptions, { kind: K }> {
  if (op.options.kind !== kind) c.fail(op, 'its options are missing or of another operator', 'E_CONVERT_ATTR');
  return op.options as Extract<TfliteOptions, { kind: K }>;
}

/** [top, left, bottom, right] pads of a window op: a PAD before it plus SAME padding on the padded size. */
function windowPads(c: Converter, op: TfliteOp, x: Act, kernel: [number, number], stride: [number, number], padding: string): Pads {
  if (!(kernel.every((k) => k >= 1) && stride.every((s) => s >= 1))) c.fail(op, 'kernel and strides must be positive', 'E_CONVERT_ATTR');
  if (padding !== 'SAME' && padding !== 'VALID') c.fail(op, `padding ${padding} is not supported`, 'E_CONVERT_ATTR');
  const before = x.pad ?? [0, 0, 0, 0];
  if (padding === 'VALID') return before;
  const [t, b] = samePads(x.shape.h, kernel[0], stride[0]);
  const [l, r] = samePads(x.shape.w, kernel[1], stride[1]);
  return [before[0] + t, before[1] + l, before[2] + b, before[3] + r];
}

/** For each [O, I, H, W] position, its index in TFLite's [O, H, W, I] weights (at most `maxTensorElements` of them). */
function ohwiToOihw(w: TfliteTensor, oc: number, kh: number, kw: number, ic: number): Int32Array {
  const { maxTensorElements } = DEFAULT_READ_LIMITS;
  if (oc * ic * kh * kw > maxTensorElements) throw new LimitError('maxTensorElements', `weights ${quote(w.name)} have more than ${maxTensorElements} elements, the limit of a model file's tensor`);
  const order = new Int32Array(oc * ic * kh * kw);
  let i = 0;
  for (let o = 0; o < oc; o++) {
    for (let ch = 0; ch < ic; ch++) {
      for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) order[i++] = ((o * kh + y) * kw + x) * ic + ch;
    }
  }
  return order;
}

function oihwShape(w: TfliteTensor, order: Int32Array, kernel: [number, number]): number[] {
  const oc = w.shape[0];
  return [oc, order.length / oc / kernel[0] / kernel[1], kernel[0], kernel[1]];
}

function permute<T extends Float32Array | Int8Array>(src: T, order: Int32Array): T {
  const out = new (src.constructor as new (n: number) => T)(order.length);
  for (let i = 0; i < order.length; i++) out[i] = src[order[i]];
  return out;
}

/** The bytes in a buffer of their own (the file's need not be aligned; a Node Buffer's slice is a view). */
const copy = (bytes: Uint8Array): Uint8Array => Uint8Array.from(bytes);

/** A float32 constant's `n` values. */
function floats(c: Converter, op: TfliteOp, t: TfliteTensor, n: number): Float32Array {
  if (t.type !== 'float32' || t.data!.byteLength !== 4 * n) c.fail(op, `constant ${quote(t.name)} must be ${n} float32 values`, 'E_CONVERT_TENSOR');
  return new Float32Array(copy(t.data!).buffer);
}

/** An int32 constant's `n` values. */
function int32s(c: Converter, op: TfliteOp, t: TfliteTensor, n: number): Int32Array {
  if (t.type !== 'int32' || t.data!.byteLength !== 4 * n) c.fail(op, `constant ${quote(t.name)} must be ${n} int32 values`, 'E_CONVERT_TENSOR');
  return new Int32Array(copy(t.data!).buffer);
}

/** Where the network starts: the graph input, or the output of a QUANTIZE of it (which preprocessing does). */
function firstActivation(g: TfliteGraph): TfliteTensor {
  const [input, first] = [g.tensors[g.inputs[0]], g.ops[0]];
  return first?.op === 'QUANTIZE' && first.inputs[0] === input.index && first.outputs.length === 1 ? g.tensors[first.outputs[0]] : input;
}

/** Whether the model is int8 (its first activation, after any QUANTIZE, is int8) or float; anything else is refused. */
function precisionOf(g: TfliteGraph): boolean {
  const start = firstActivation(g);
  if (start.type === 'int8') return true;
  if (start.type !== 'float32') throw new ConvertError('E_CONVERT_TENSOR', `the model input is ${start.type}; squeezewasm converts float32 and full-integer int8 TFLite models`);
  const weights = g.ops.flatMap((op) => op.inputs.slice(1)).map((i) => g.tensors[i]).filter((t) => t?.data !== undefined);
  if (weights.some((t) => t.type === 'int8' || t.type === 'float16')) {
    throw new ConvertError('E_CONVERT_TENSOR', 'the model keeps float activations with int8 or float16 weights (dynamic-range or float16 quantization); convert it as float32 or with full-integer int8 quantization');
  }
  return false;
}

/**
 * Converts a TensorFlow Lite model to a squeezewasm model.
 * @param bytes a .tflite file (schema v3): float32, or full-integer int8 (int8 activations, with
 *   QUANTIZE / DEQUANTIZE allowed at the edges).
 * @param meta name, preprocessing, labels and provenance, which .tflite files do not record.
 * @throws ConvertError naming the operator and the problem when the model uses anything
 *   unsupported or the bytes are not a well-formed .tflite file; ArgumentError if an argument has the wrong type.
 */
export function convertTflite(bytes: Uint8Array, meta: ConvertMeta): ValidModel {
  checkArguments('convertTflite', { bytes: [bytes, 'bytes'] });
  checkMeta('convertTflite', meta);
  const g = readTflite(bytes);
  if (g.inputs.length !== 1 || g.outputs.length !== 1) throw new ConvertError('E_CONVERT_GRAPH', `the TFLite graph has ${g.inputs.length} inputs and ${g.outputs.length} outputs; squeezewasm needs one of each (the image, the class scores)`);
  const c = new Converter(g, precisionOf(g));
  const input = graphInput(c, g, meta);
  for (const op of g.ops) {
    const rule = Object.hasOwn(RULES, op.op) ? RULES[op.op] : undefined;
    if (!rule) throw new ConvertError('E_CONVERT_OP', `unsupported TFLite op ${quote(op.customName ?? op.op)} (${where(g, op)}); squeezewasm converts ${Object.keys(RULES).join(', ')}`);
    if (op.outputs.length !== 1 || op.inputs.length < 1) throw new ConvertError('E_CONVERT_GRAPH', `${where(g, op)}: it has ${op.inputs.length} inputs and ${op.outputs.length} outputs; every op squeezewasm converts has inputs and one output`);
    rule(c, op);
  }
  const out = c.acts.get(g.outputs[0]);
  if (!out) throw new ConvertError('E_CONVERT_GRAPH', 'the graph output is not computed by any op');
  const model: Model = {
    name: meta.name,
    precision: c.int8 ? 'int8' : 'f32',
    ...(c.int8 ? { quant: c.quant } : {}),
    input,
    ops: c.ops,
    output: out.name,
    labels: meta.labels,
    tensors: c.tensors,
    provenance: meta.provenance,
  };
  return checkConverted(model);
}

/** The graph input: a [1, H, W, 3] image, float32 or (directly or after QUANTIZE) int8. */
function graphInput(c: Converter, g: TfliteGraph, meta: ConvertMeta): Model['input'] {
  const t = g.tensors[g.inputs[0]];
  if (t.shape.length !== 4 || t.shape[0] !== 1 || t.shape[3] !== 3) throw new ConvertError('E_CONVERT_INPUT', `the model input is [${t.shape.join(', ')}], not an NHWC image [1, H, W, 3]`);
  const [h, w] = [t.shape[1], t.shape[2]];
  if ((meta.input.height ?? h) !== h || (meta.input.width ?? w) !== w) throw new ConvertError('E_CONVERT_INPUT', `the model input is ${h}x${w}; it cannot be resized`);
  const start = firstActivation(g).index;
  const name = c.nameOf(start);
  const act: Act = { name, shape: { c: 3, h, w } };
  if (c.int8) {
    act.quant = activationOf(g.tensors[start], 'the model input');
    c.quant.set(name, act.quant);
  }
  c.acts.set(start, act);
  return { ...meta.input, name, height: h, width: w };
}

/**
 * Validation of a {@link Model}: the one place its structure and quantization are checked. It
 * returns a {@link ValidModel}, the model with what checking it derived (every activation's shape,
 * type and quantization, each op's resolved inputs and work); everything downstream (planner,
 * summary, converters, training) consumes that and never re-derives or re-checks it.
 * @packageDocumentation
 */
import { quote } from '../text.js';
import { checkConstShape, fail, isCount, tensorOf } from './check.js';
import type { ActShape, ActType, Model, Op, OpKind, Pads, QuantParams, Tensor } from './format.js';
import { opInputs, windowOutputSize } from './graph.js';
import { JS_SCAN, type WeightScan } from './scan.js';
import { checkQuantization } from './validate-quant.js';

/** Largest height, width or channel count any activation may have; keeps hostile headers from asking for absurd memory. */
export const MAX_DIM = 16384;
/** Largest element count of a single activation. */
export const MAX_ACT_ELEMENTS = 64 * 1024 * 1024;

/** An activation of a validated model. */
export interface Activation {
  readonly name: string;
  readonly shape: ActShape;
  /** Element type in memory: `f32` in a float model, the quantization's type in an int8 one. */
  readonly dtype: ActType;
  /** int8 models only: how its integers map to real values. */
  readonly quant?: QuantParams;
}

/** One op of a validated model, its tensors resolved. */
export interface CheckedOp<O extends Op = Op> {
  readonly op: O;
  readonly inputs: readonly Activation[];
  readonly output: Activation;
  /** Work per inference, as `RunLimits.maxMacs` counts it. */
  readonly work: number;
  /** int8 convs: the sum of |w| of each output channel, the factor in its accumulator bound. */
  readonly absSums?: ArrayLike<number>;
}

/**
 * A model that has passed {@link validateModel}, with what validation derived. Only validateModel
 * makes one (the private member keeps an object literal or a spread copy from passing as one), and
 * it is treated as immutable: a changed model is a new {@link Model}, validated again.
 */
export class ValidModel implements Model {
  readonly name: string;
  readonly precision: Model['precision'];
  readonly quant: Model['quant'];
  readonly input: Model['input'];
  readonly ops: Op[];
  readonly output: string;
  readonly labels: string[];
  readonly tensors: Map<string, Tensor>;
  readonly provenance: Model['provenance'];
  /** Every activation by name, the input's included. */
  readonly acts: ReadonlyMap<string, Activation>;
  /** One entry per op, in execution order. */
  readonly checked: readonly CheckedOp[];
  /** Work per inference, summed over the ops. */
  readonly work: number;
  /** Nominal: only {@link validateModel} makes one. */
  private declare readonly brand: never;

  /** @internal Made by {@link validateModel} only. */
  constructor(model: Model, acts: ReadonlyMap<string, Activation>, checked: readonly CheckedOp[]) {
    ({ name: this.name, precision: this.precision, quant: this.quant, input: this.input, ops: this.ops } = model);
    ({ output: this.output, labels: this.labels, tensors: this.tensors, provenance: this.provenance } = model);
    this.acts = acts;
    this.checked = checked;
    this.work = checked.reduce((sum, c) => sum + c.work, 0);
  }

  /** The activation `name` (which validation has shown to exist). */
  act(name: string): Activation {
    return this.acts.get(name)!;
  }
}

function checkPair(v: unknown, min: number, max: number, what: string, where: string): asserts v is [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0], min, max) || !isCount(v[1], min, max)) {
    fail('E_MODEL_OP', `${where}: ${what} must be two integers in ${min}..${max}, got ${quote(v)}`);
  }
}

/**
 * Pooling windows must overlap real pixels, so their padding must be smaller than the kernel. A
 * convolution may pad by more (SqueezeNet 1.0's 1x1 conv_final pads by 1: its border is the bias).
 */
function checkPads(v: unknown, poolWindow: [number, number] | undefined, where: string): asserts v is Pads {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((p) => isCount(p, 0, 64))) {
    fail('E_MODEL_OP', `${where}: pads must be four integers in 0..64, got ${quote(v)}`);
  }
  const w = poolWindow;
  if (w && (v[0] >= w[0] || v[2] >= w[0] || v[1] >= w[1] || v[3] >= w[1])) {
    fail('E_MODEL_OP', `${where}: padding ${quote(v)} must be smaller than the pooling window ${quote(w)}`);
  }
}

function windowShape(op: Extract<Op, { kernel: unknown }>, x: ActShape, where: string, ceil: boolean): ActShape {
  const h = windowOutputSize(x.h, op.kernel[0], op.stride[0], op.pads[0], op.pads[2], ceil);
  const w = windowOutputSize(x.w, op.kernel[1], op.stride[1], op.pads[1], op.pads[3], ceil);
  if (h < 1 || w < 1) {
    fail('E_MODEL_SHAPE', `${where}: a ${op.kernel[0]}x${op.kernel[1]} window does not fit the ${x.h}x${x.w} input`);
  }
  return { c: x.c, h, w };
}

/** Checks one op's parameters and constants given its input shapes; returns its output shape. */
type ShapeRule<O extends Op> = (op: O, xs: ActShape[], model: Model, where: string) => ActShape;

function convShape(op: Extract<Op, { op: 'conv' }>, [x]: ActShape[], model: Model, where: string): ActShape {
  checkPair(op.kernel, 1, 15, 'kernel', where);
  checkPair(op.stride, 1, 8, 'stride', where);
  checkPads(op.pads, undefined, where);
  if (typeof op.relu !== 'boolean') fail('E_MODEL_OP', `${where}: relu must be true or false`);
  if (op.max !== undefined && !(typeof op.max === 'number' && Number.isFinite(op.max) && op.max > 0)) {
    fail('E_MODEL_OP', `${where}: max must be a positive finite number`);
  }
  const int8 = model.precision === 'int8';
  const w = tensorOf(model, op.weight, where, 'weight', int8 ? 'i8' : 'f32');
  if (w.shape.length !== 4 || !isCount(w.shape[0], 1, MAX_DIM)) fail('E_MODEL_SHAPE', `${where}: weight must be [out, in, kh, kw], got [${w.shape}]`);
  const oc = w.shape[0];
  checkConstShape(w, [oc, x.c, op.kernel[0], op.kernel[1]], where, 'weight');
  if (op.bias !== undefined) checkConstShape(tensorOf(model, op.bias, where, 'bias', int8 ? 'i32' : 'f32'), [oc], where, 'bias');
  return { ...windowShape(op, x, where, false), c: oc };
}

function poolShape(op: Extract<Op, { op: 'maxpool' | 'avgpool' }>, [x]: ActShape[], _model: Model, where: string): ActShape {
  checkPair(op.kernel, 1, 32, 'kernel', where);
  checkPair(op.stride, 1, 32, 'stride', where);
  checkPads(op.pads, op.kernel, where);
  if (typeof op.ceil !== 'boolean') fail('E_MODEL_OP', `${where}: ceil must be true or false`);
  if (op.op === 'avgpool' && typeof op.countIncludePad !== 'boolean') fail('E_MODEL_OP', `${where}: countIncludePad must be true or false`);
  return windowShape(op, x, where, op.ceil);
}

function concatShape(_op: Extract<Op, { op: 'concat' }>, xs: ActShape[], _model: Model, where: string): ActShape {
  if (xs.some((s) => s.h !== xs[0].h || s.w !== xs[0].w)) fail('E_MODEL_SHAPE', `${where}: concat inputs differ in height or width`);
  return { c: xs.reduce((sum, s) => sum + s.c, 0), h: xs[0].h, w: xs[0].w };
}

function addShape(op: Extract<Op, { op: 'add' }>, [a, b]: ActShape[], _model: Model, where: string): ActShape {
  if (typeof op.relu !== 'boolean') fail('E_MODEL_OP', `${where}: relu must be true or false`);
  if (a.c !== b.c || a.h !== b.h || a.w !== b.w) {
    fail('E_MODEL_SHAPE', `${where}: add inputs differ in shape: [${a.c}, ${a.h}, ${a.w}] and [${b.c}, ${b.h}, ${b.w}]`);
  }
  return { ...a };
}

function softmaxShape(_op: Op, [x]: ActShape[], _model: Model, where: string): ActShape {
  if (x.h !== 1 || x.w !== 1) fail('E_MODEL_SHAPE', `${where}: softmax needs a [C, 1, 1] input, got [${x.c}, ${x.h}, ${x.w}]`);
  return { ...x };
}

const SHAPES: { [K in OpKind]: ShapeRule<Extract<Op, { op: K }>> } = {
  conv: convShape,
  maxpool: poolShape,
  avgpool: poolShape,
  globalavgpool: (_op, [x]) => ({ c: x.c, h: 1, w: 1 }),
  flatten: (_op, [x]) => ({ c: x.c * x.h * x.w, h: 1, w: 1 }),
  relu: (_op, [x]) => ({ ...x }),
  softmax: softmaxShape,
  concat: concatShape,
  add: addShape,
};

/**
 * What ops cost, in the unit `RunLimits.maxMacs` counts: one multiply-accumulate of a conv with
 * many channels, which is what SqueezeNet's work is made of. Other work costs far more per unit of
 * its natural measure, so it is weighted by what it costs: every op pays per output pixel (loops
 * and addressing, which dominate ops on few channels), a conv per output value (bias,
 * requantization, store) and per multiply-accumulate of its channels rounded up to the kernels'
 * blocks of 8 (a conv of 1 channel to 1 still runs 8x8), a pool per window position and per value
 * it reads, anything else per value it reads. Measured with bench/op-cost.ts on chains of each op
 * at 1 to 64 channels, f32 and int8 (docs/trust.md, "Work limits"): with these weights no op costs
 * more than about 0.1 ns per unit there, so the default limit of 1e10 units is about a second.
 */
const WORK_WEIGHTS = Object.freeze({ pixel: 150, convValue: 30, windowPosition: 60, windowValue: 12, value: 16 });

/** Channels rounded up to the 8 that conv kernels compute together. */
const block8 = (c: number): number => Math.ceil(c / 8) * 8;

/** Work of one op per inference, in the units of `RunLimits.maxMacs` ({@link WORK_WEIGHTS}). */
function opWork(op: Op, xs: readonly ActShape[], y: ActShape): number {
  const [W, x] = [WORK_WEIGHTS, xs[0]];
  const pixels = y.h * y.w;
  if (op.op === 'conv') return pixels * (W.pixel + W.convValue * y.c + op.kernel[0] * op.kernel[1] * block8(x.c) * block8(y.c));
  if (op.op === 'maxpool' || op.op === 'avgpool') return pixels * (W.pixel + op.kernel[0] * op.kernel[1] * (W.windowPosition + W.windowValue * y.c));
  return pixels * W.pixel + W.value * xs.reduce((sum, s) => sum + s.c * s.h * s.w, 0);
}

/** The op's inputs: named, produced earlier, and as many as the op takes. */
function inputShapes(op: Op, shapes: ReadonlyMap<string, ActShape>, where: string): ActShape[] {
  if (op.op === 'concat' && (!Array.isArray(op.inputs) || op.inputs.length < 1 || op.inputs.length > 16)) fail('E_MODEL_OP', `${where}: concat needs 1..16 inputs`);
  if (op.op === 'add' && (!Array.isArray(op.inputs) || op.inputs.length !== 2)) fail('E_MODEL_OP', `${where}: add needs exactly 2 inputs`);
  return opInputs(op).map((name) => {
    const s = typeof name === 'string' ? shapes.get(name) : undefined;
    if (!s) fail('E_MODEL_GRAPH', `${where}: input ${quote(name)} is not produced by an earlier op`);
    return s;
  });
}

/** Shapes of every activation, checking each op on the way. */
function inferShapes(model: Model): Map<string, ActShape> {
  const { input } = model;
  if (!isCount(input.height, 1, MAX_DIM) || !isCount(input.width, 1, MAX_DIM)) {
    fail('E_MODEL_SHAPE', `input size ${input.height}x${input.width} is out of range 1..${MAX_DIM}`);
  }
  const shapes = new Map<string, ActShape>([[input.name, { c: 3, h: input.height, w: input.width }]]);
  model.ops.forEach((op, i) => {
    const where = `op ${i} (${op.op} -> ${quote(op.output)})`;
    const rule = Object.hasOwn(SHAPES, op.op) ? (SHAPES[op.op] as ShapeRule<Op>) : undefined;
    if (!rule) fail('E_MODEL_OP', `op ${i}: unknown op ${quote(op.op)}`);
    if (typeof op.output !== 'string' || op.output === '' || shapes.has(op.output) || model.tensors.has(op.output)) {
      fail('E_MODEL_GRAPH', `${where}: output name must be new and unique`);
    }
    if (op.op === 'softmax' && i !== model.ops.length - 1) fail('E_MODEL_GRAPH', `${where}: softmax must be the last op`);
    const out = rule(op, inputShapes(op, shapes, where), model, where);
    if (out.c > MAX_DIM || out.c * out.h * out.w > MAX_ACT_ELEMENTS) {
      fail('E_MODEL_SHAPE', `${where}: activation [${out.c}, ${out.h}, ${out.w}] is larger than allowed`);
    }
    shapes.set(op.output, out);
  });
  return shapes;
}

/**
 * Every activation but the output is read by some op: a dead branch would be planned and run for
 * nothing. (Constant tensors no op reads are allowed and ignored; their size is bounded by the reader.)
 */
function checkNoDeadOps(model: Model): void {
  const read = new Set<string>(model.ops.flatMap(opInputs));
  for (const op of model.ops) {
    if (op.output !== model.output && !read.has(op.output)) {
      fail('E_MODEL_GRAPH', `op ${op.op} -> ${quote(op.output)}: its output is never read (a dangling branch)`);
    }
  }
}

function checkOutput(model: Model, shapes: ReadonlyMap<string, ActShape>): void {
  const y = shapes.get(model.output);
  if (!y) fail('E_MODEL_GRAPH', `output ${quote(model.output)} is not produced by any op`);
  if (y.h !== 1 || y.w !== 1) fail('E_MODEL_SHAPE', `output must be [classes, 1, 1], got [${y.c}, ${y.h}, ${y.w}]`);
  if (model.labels.length !== y.c) fail('E_MODEL_SHAPE', `the network has ${y.c} outputs but the file has ${model.labels.length} labels`);
}

function checkPrecision(model: Model): void {
  if (model.precision === 'int8') return;
  if (model.precision !== 'f32') fail('E_MODEL_HEADER', `precision must be "f32" or "int8", got ${quote(model.precision)}`);
  const quantized = (op: Op): boolean =>
    (op.op === 'conv' && (op.multiplier ?? op.weightScale ?? op.shift) !== undefined) || (op.op === 'add' && (op.multipliers ?? op.shift) !== undefined);
  if (model.quant !== undefined || model.ops.some(quantized)) fail('E_MODEL_QUANT', 'a f32 model must not carry quantization parameters');
}

/**
 * Validates `model` and returns it with every activation's shape, type and quantization attached.
 * Checks op parameters, that each op reads tensors defined before it, that weights have the shapes
 * the op implies, that nothing is computed for nothing and that the output matches the labels; for
 * int8 models also the quantization (types, scales, multipliers, accumulator bounds: a pass over
 * every weight, run by `scan`).
 * @throws ModelFormatError naming the op and the problem.
 */
export function validateModel(model: Model, scan: WeightScan = JS_SCAN): ValidModel {
  checkPrecision(model);
  const shapes = inferShapes(model);
  checkOutput(model, shapes);
  checkNoDeadOps(model);
  const absSums = model.precision === 'int8' ? checkQuantization(model, shapes, scan) : new Map<string, ArrayLike<number>>();
  const last = model.ops[model.ops.length - 1];
  const acts = new Map<string, Activation>();
  for (const [name, shape] of shapes) {
    // A final softmax runs in float on the host; every other int8 activation is quantized.
    const quant = model.precision === 'int8' && !(last.op === 'softmax' && name === last.output) ? model.quant!.get(name)! : undefined;
    acts.set(name, { name, shape, dtype: quant?.dtype ?? 'f32', quant });
  }
  const checked = model.ops.map((op): CheckedOp => {
    const inputs = opInputs(op).map((n) => acts.get(n)!);
    const output = acts.get(op.output)!;
    return { op, inputs, output, work: opWork(op, inputs.map((a) => a.shape), output.shape), absSums: op.op === 'conv' ? absSums.get(op.output) : undefined };
  });
  return new ValidModel(model, acts, checked);
}

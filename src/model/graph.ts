/**
 * Shape inference and structural validation of a {@link Model}. The reader runs this on every file,
 * converters run it before writing, and the planner relies on the shapes it returns.
 * @packageDocumentation
 */
import { ModelFormatError } from '../errors.js';
import { I16_MAX, type ActShape, type AddOp, type ConvOp, type DType, type Model, type Op, type Pads, type QuantParams, type Tensor } from './format.js';
import { JS_SCAN, type WeightScan } from './scan.js';

/** Largest height, width or channel count any activation may have; keeps hostile headers from asking for absurd memory. */
export const MAX_DIM = 16384;
/** Largest element count of a single activation. */
export const MAX_ACT_ELEMENTS = 64 * 1024 * 1024;

function fail(code: string, message: string): never {
  throw new ModelFormatError(code, message);
}

function isCount(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function checkPair(v: unknown, min: number, max: number, what: string, where: string): asserts v is [number, number] {
  if (!Array.isArray(v) || v.length !== 2 || !isCount(v[0], min, max) || !isCount(v[1], min, max)) {
    fail('E_MODEL_OP', `${where}: ${what} must be two integers in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
}

/**
 * Pooling windows must overlap real pixels, so their padding must be smaller than the kernel. A
 * convolution may pad by more (SqueezeNet 1.0's 1x1 conv_final pads by 1: its border is the bias).
 */
function checkPads(v: unknown, poolWindow: [number, number] | undefined, where: string): asserts v is Pads {
  if (!Array.isArray(v) || v.length !== 4 || !v.every((p) => isCount(p, 0, 64))) {
    fail('E_MODEL_OP', `${where}: pads must be four integers in 0..64, got ${JSON.stringify(v)}`);
  }
  const w = poolWindow;
  if (w && (v[0] >= w[0] || v[2] >= w[0] || v[1] >= w[1] || v[3] >= w[1])) {
    fail('E_MODEL_OP', `${where}: padding ${JSON.stringify(v)} must be smaller than the pooling window ${JSON.stringify(w)}`);
  }
}

/** Names of the tensors an op reads. */
export function opInputs(op: Op): string[] {
  return op.op === 'concat' || op.op === 'add' ? op.inputs : [op.input];
}

/** The ops that read each tensor, in execution order. */
export function readersOf(ops: readonly Op[]): Map<string, Op[]> {
  const readers = new Map<string, Op[]>();
  for (const op of ops) for (const x of opInputs(op)) readers.set(x, [...(readers.get(x) ?? []), op]);
  return readers;
}

/** Whether `name` is read, and only by convs: an input that may be i16 in an int8 model. */
export function readOnlyByConvs(readers: Map<string, Op[]>, name: string): boolean {
  const ops = readers.get(name) ?? [];
  return ops.length > 0 && ops.every((op) => op.op === 'conv');
}

/** Whether `name` is read, and only by ops with int16 kernels: all but the (uint8) average pool. */
export function readByWideKernels(readers: Map<string, Op[]>, name: string): boolean {
  const ops = readers.get(name) ?? [];
  return ops.length > 0 && ops.every((op) => op.op !== 'avgpool');
}

/** Largest |q - zeroPoint| a quantized activation can hold: the factor in every accumulator bound. */
export function maxAbsQuantized(q: QuantParams): number {
  return q.dtype === 'i16' ? I16_MAX : 255;
}

/**
 * Multiply-accumulates of a convolution from `x` to `y`, counted as the direct convolution: what
 * the planner reports for every conv step and `squeezewasm info` for every layer, whichever kernel
 * runs it (Winograd multiplies less for the same result).
 */
export function convMacs(op: ConvOp, x: ActShape, y: ActShape): number {
  return y.c * y.h * y.w * x.c * op.kernel[0] * op.kernel[1];
}

/**
 * Output length of a sliding window along one axis. With `ceil`, a last partial window is kept
 * unless it would start inside the trailing padding (the PyTorch / onnxruntime rule).
 */
export function windowOutputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = size + padBegin + padEnd - kernel;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}

function tensorOf(model: Model, name: unknown, where: string, role: string, dtype: DType): Tensor {
  const t = typeof name === 'string' ? model.tensors.get(name) : undefined;
  if (!t) fail('E_MODEL_TENSOR', `${where}: ${role} tensor ${JSON.stringify(name)} is not in the file's tensor table`);
  if (t.dtype !== dtype) fail('E_MODEL_TENSOR', `${where}: ${role} tensor ${JSON.stringify(name)} is ${t.dtype}, expected ${dtype} in a ${model.precision} model`);
  return t;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function checkConstShape(t: Tensor, expected: number[], where: string, role: string): void {
  if (!sameShape(t.shape, expected)) {
    fail('E_MODEL_SHAPE', `${where}: ${role} has shape [${t.shape}], expected [${expected}]`);
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

/**
 * Validates the model's structure and returns the shape of every activation by name.
 * Checks op parameters, that each op reads tensors defined before it, that weights have the
 * shapes the op implies, and that the output matches the labels; for int8 models also the
 * quantization (types, scales, multipliers, accumulator bounds: a pass over every weight).
 * @param checks - 'structure' skips the quantization checks, for a model that has passed them.
 * @param scan - Runs the loops over every weight (default: in JS).
 * @throws ModelFormatError naming the op and the problem.
 */
export function inferShapes(model: Model, checks: 'all' | 'structure' = 'all', scan: WeightScan = JS_SCAN): Map<string, ActShape> {
  const shapes = new Map<string, ActShape>();
  const { input } = model;
  if (!isCount(input.height, 1, MAX_DIM) || !isCount(input.width, 1, MAX_DIM)) {
    fail('E_MODEL_SHAPE', `input size ${input.height}x${input.width} is out of range 1..${MAX_DIM}`);
  }
  shapes.set(input.name, { c: 3, h: input.height, w: input.width });

  const get = (name: unknown, where: string): ActShape => {
    const s = typeof name === 'string' ? shapes.get(name) : undefined;
    if (!s) fail('E_MODEL_GRAPH', `${where}: input ${JSON.stringify(name)} is not produced by an earlier op`);
    return s;
  };

  model.ops.forEach((op, i) => {
    const where = `op ${i} (${op.op} -> ${op.output})`;
    if (typeof op.output !== 'string' || op.output === '' || shapes.has(op.output) || model.tensors.has(op.output)) {
      fail('E_MODEL_GRAPH', `${where}: output name must be new and unique`);
    }
    let out: ActShape;
    switch (op.op) {
      case 'conv': {
        const x = get(op.input, where);
        checkPair(op.kernel, 1, 15, 'kernel', where);
        checkPair(op.stride, 1, 8, 'stride', where);
        checkPads(op.pads, undefined, where);
        if (typeof op.relu !== 'boolean') fail('E_MODEL_OP', `${where}: relu must be true or false`);
        if (op.max !== undefined && !(typeof op.max === 'number' && Number.isFinite(op.max) && op.max > 0)) {
          fail('E_MODEL_OP', `${where}: max must be a positive finite number`);
        }
        const w = tensorOf(model, op.weight, where, 'weight', model.precision === 'int8' ? 'i8' : 'f32');
        if (w.shape.length !== 4 || !isCount(w.shape[0], 1, MAX_DIM)) {
          fail('E_MODEL_SHAPE', `${where}: weight must be [out, in, kh, kw], got [${w.shape}]`);
        }
        const oc = w.shape[0];
        checkConstShape(w, [oc, x.c, op.kernel[0], op.kernel[1]], where, 'weight');
        if (op.bias !== undefined) checkConstShape(tensorOf(model, op.bias, where, 'bias', model.precision === 'int8' ? 'i32' : 'f32'), [oc], where, 'bias');
        out = { ...windowShape(op, x, where, false), c: oc };
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const x = get(op.input, where);
        checkPair(op.kernel, 1, 32, 'kernel', where);
        checkPair(op.stride, 1, 32, 'stride', where);
        checkPads(op.pads, op.kernel, where);
        if (typeof op.ceil !== 'boolean') fail('E_MODEL_OP', `${where}: ceil must be true or false`);
        if (op.op === 'avgpool' && typeof op.countIncludePad !== 'boolean') {
          fail('E_MODEL_OP', `${where}: countIncludePad must be true or false`);
        }
        out = windowShape(op, x, where, op.ceil);
        break;
      }
      case 'globalavgpool':
        out = { c: get(op.input, where).c, h: 1, w: 1 };
        break;
      case 'relu':
        out = { ...get(op.input, where) };
        break;
      case 'softmax': {
        if (i !== model.ops.length - 1) fail('E_MODEL_GRAPH', `${where}: softmax must be the last op`);
        const x = get(op.input, where);
        if (x.h !== 1 || x.w !== 1) fail('E_MODEL_SHAPE', `${where}: softmax needs a [C, 1, 1] input, got [${x.c}, ${x.h}, ${x.w}]`);
        out = { ...x };
        break;
      }
      case 'concat': {
        if (!Array.isArray(op.inputs) || op.inputs.length < 1 || op.inputs.length > 16) {
          fail('E_MODEL_OP', `${where}: concat needs 1..16 inputs`);
        }
        const xs = op.inputs.map((n) => get(n, where));
        if (xs.some((s) => s.h !== xs[0].h || s.w !== xs[0].w)) {
          fail('E_MODEL_SHAPE', `${where}: concat inputs differ in height or width`);
        }
        out = { c: xs.reduce((sum, s) => sum + s.c, 0), h: xs[0].h, w: xs[0].w };
        break;
      }
      case 'add': {
        if (!Array.isArray(op.inputs) || op.inputs.length !== 2) fail('E_MODEL_OP', `${where}: add needs exactly 2 inputs`);
        if (typeof op.relu !== 'boolean') fail('E_MODEL_OP', `${where}: relu must be true or false`);
        const [a, b] = op.inputs.map((n) => get(n, where));
        if (a.c !== b.c || a.h !== b.h || a.w !== b.w) {
          fail('E_MODEL_SHAPE', `${where}: add inputs differ in shape: [${a.c}, ${a.h}, ${a.w}] and [${b.c}, ${b.h}, ${b.w}]`);
        }
        out = { ...a };
        break;
      }
      default:
        fail('E_MODEL_OP', `op ${i}: unknown op ${JSON.stringify((op as { op: unknown }).op)}`);
    }
    if (out.c > MAX_DIM || out.c * out.h * out.w > MAX_ACT_ELEMENTS) {
      fail('E_MODEL_SHAPE', `${where}: activation [${out.c}, ${out.h}, ${out.w}] is larger than allowed`);
    }
    shapes.set(op.output, out);
  });

  const y = shapes.get(model.output);
  if (!y) fail('E_MODEL_GRAPH', `output ${JSON.stringify(model.output)} is not produced by any op`);
  if (y.h !== 1 || y.w !== 1) fail('E_MODEL_SHAPE', `output must be [classes, 1, 1], got [${y.c}, ${y.h}, ${y.w}]`);
  if (model.labels.length !== y.c) {
    fail('E_MODEL_SHAPE', `the network has ${y.c} outputs but the file has ${model.labels.length} labels`);
  }
  checkNoDeadOps(model);
  if (model.precision === 'int8') {
    if (checks === 'all') checkQuantization(model, shapes, scan);
  } else if (model.precision !== 'f32') fail('E_MODEL_HEADER', `precision must be "f32" or "int8", got ${JSON.stringify(model.precision)}`);
  else if (
    model.quant !== undefined ||
    model.ops.some((op) => (op.op === 'conv' && (op.multiplier ?? op.weightScale ?? op.shift) !== undefined) || (op.op === 'add' && (op.multipliers ?? op.shift) !== undefined))
  ) {
    fail('E_MODEL_QUANT', 'a f32 model must not carry quantization parameters');
  }
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
      fail('E_MODEL_GRAPH', `op ${op.op} -> ${op.output}: its output is never read (a dangling branch)`);
    }
  }
}

/** Largest |accumulator| x multiplier / 2^shift a requantization may see: keeps the kernels' int32 lanes from wrapping. */
const MAX_REQUANT = 2 ** 31 - 512;

function quantOf(model: Model, name: string, where: string): QuantParams {
  const q = model.quant?.get(name);
  if (!q) fail('E_MODEL_QUANT', `${where}: activation ${JSON.stringify(name)} has no quantization parameters`);
  return q;
}

function sameQuant(a: QuantParams, b: QuantParams): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.dtype === b.dtype;
}

/**
 * Checks an int8 model's quantization: every activation has valid parameters, ops that move
 * values without arithmetic keep them, and each conv's integer requantization matches its scales
 * and cannot overflow the kernels' 32-bit lanes.
 */
function checkQuantization(model: Model, shapes: Map<string, ActShape>, scan: WeightScan): void {
  if (!(model.quant instanceof Map)) fail('E_MODEL_QUANT', 'an int8 model needs quantization parameters for its activations');
  for (const [name, q] of model.quant) {
    if (!shapes.has(name)) fail('E_MODEL_QUANT', `quantization given for ${JSON.stringify(name)}, which is not an activation`);
    if (typeof q !== 'object' || q === null || !(typeof q.scale === 'number' && Number.isFinite(q.scale) && q.scale > 0 && q.scale < 1e9)) {
      fail('E_MODEL_QUANT', `activation ${JSON.stringify(name)}: scale must be a positive finite number`);
    }
    if (q.dtype !== 'u8' && q.dtype !== 'i16' && q.dtype !== 'i32') fail('E_MODEL_QUANT', `activation ${JSON.stringify(name)}: dtype must be "u8", "i16" or "i32"`);
    if (!isCount(q.zeroPoint, 0, q.dtype === 'u8' ? 255 : 0)) {
      fail('E_MODEL_QUANT', `activation ${JSON.stringify(name)}: zero point must be ${q.dtype === 'u8' ? 'an integer in 0..255' : '0'}`);
    }
  }
  const readers = readersOf(model.ops);
  const inputType = quantOf(model, model.input.name, 'input').dtype;
  if (inputType === 'i32') fail('E_MODEL_QUANT', 'the input must be quantized to u8 or i16');
  for (const [name, q] of model.quant) {
    if (q.dtype === 'i16' && !readByWideKernels(readers, name)) {
      fail('E_MODEL_QUANT', `activation ${JSON.stringify(name)} is i16, but an average pool reads it: only convs, adds, max pools, concats, ReLUs and global average pools read int16`);
    }
  }

  model.ops.forEach((op, i) => {
    const where = `op ${i} (${op.op} -> ${op.output})`;
    if (op.op === 'softmax') return; // float, on the host
    const out = quantOf(model, op.output, where);
    const ins = opInputs(op).map((x) => quantOf(model, x, where));
    if (ins.some((q) => q.dtype === 'i32')) fail('E_MODEL_QUANT', `${where}: reads an i32 activation; only softmax or the output may`);
    switch (op.op) {
      case 'conv':
        if (out.dtype === 'i32') fail('E_MODEL_QUANT', `${where}: conv output must be u8 or i16`);
        checkRequant(model, op, ins[0], out, where, scan);
        break;
      case 'add':
        if (out.dtype === 'i32' || ins[0].dtype !== ins[1].dtype) fail('E_MODEL_QUANT', `${where}: add reads two u8 or two i16 activations and writes u8 or i16`);
        checkAddRequant(op, ins, out, where);
        break;
      case 'globalavgpool': {
        const s = shapes.get(op.input)!;
        const expected = ins[0].scale / (s.h * s.w);
        if (out.dtype !== 'i32' || Math.abs(out.scale - expected) > 1e-6 * expected) {
          fail('E_MODEL_QUANT', `${where}: an int8 global average pool outputs i32 sums with scale inputScale / ${s.h * s.w}`);
        }
        if (maxAbsQuantized(ins[0]) * s.h * s.w >= 2 ** 31) fail('E_MODEL_QUANT', `${where}: the sum over ${s.h * s.w} pixels could overflow 32 bits`);
        break;
      }
      default:
        if (!ins.every((q) => sameQuant(q, out))) fail('E_MODEL_QUANT', `${where}: ${op.op} must keep its input's quantization (scale and zero point)`);
    }
  });
  for (const [name, q] of model.quant) {
    if (q.dtype === 'i32' && name !== model.output && (readers.get(name) ?? []).some((op) => op.op !== 'softmax')) {
      fail('E_MODEL_QUANT', `activation ${JSON.stringify(name)} is i32 but feeds an integer op`);
    }
  }
}

function checkRequant(model: Model, op: ConvOp, qIn: QuantParams, qOut: QuantParams, where: string, scan: WeightScan): void {
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const oc = model.tensors.get(op.weight)!.shape[0];
  const scales = tensorOf(model, op.weightScale, where, 'weightScale', 'f32');
  const mults = tensorOf(model, op.multiplier, where, 'multiplier', 'i32');
  checkConstShape(scales, [oc], where, 'weightScale');
  checkConstShape(mults, [oc], where, 'multiplier');
  const shift = op.shift;
  if (!isCount(shift, 1, 62)) fail('E_MODEL_QUANT', `${where}: shift must be an integer in 1..62, got ${JSON.stringify(shift)}`);
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  if (w.includes(-128)) fail('E_MODEL_QUANT', `${where}: weights must be in -127..127 (symmetric)`);
  const sumAbs = scan.absSums(w, oc);
  // Invariants hoisted by hand (same operations, same order): this loop runs once per channel at
  // load, interpreted, before the JIT compiles it.
  const [sIn, sOut, pow, maxIn] = [qIn.scale, qOut.scale, 2 ** shift, maxAbsQuantized(qIn)];
  const [sws, ms] = [scales.data, mults.data];
  for (let n = 0; n < oc; n++) {
    const sw = sws[n];
    if (!(Number.isFinite(sw) && sw > 0)) fail('E_MODEL_QUANT', `${where}: weight scale ${n} must be positive and finite`);
    const m = ms[n];
    const exact = ((sIn * sw) / sOut) * pow;
    if (m < 0 || Math.abs(m - exact) > 1) {
      fail('E_MODEL_QUANT', `${where}: multiplier ${n} is ${m} but the scales give ${exact.toFixed(1)}`);
    }
    const acc = Math.abs(bias ? bias[n] : 0) + maxIn * sumAbs[n];
    if (acc >= MAX_REQUANT || (acc * m) / pow >= MAX_REQUANT) {
      fail('E_MODEL_QUANT', `${where}: channel ${n} could overflow 32-bit accumulation or requantization`);
    }
  }
}

/**
 * An int8 add's multipliers must match the scales, and |m0 (q0 - z0) + m1 (q1 - z1)| / 2^shift
 * stay below 2^31: the kernel's 64-bit sum then cannot overflow when shifted into int32 lanes.
 * (i32 inputs were refused before: only softmax reads those.)
 */
function checkAddRequant(op: AddOp, ins: QuantParams[], out: QuantParams, where: string): void {
  const { multipliers: m, shift } = op;
  if (!isCount(shift, 1, 62)) fail('E_MODEL_QUANT', `${where}: shift must be an integer in 1..62, got ${JSON.stringify(shift)}`);
  if (!Array.isArray(m) || m.length !== 2 || !m.every((v) => isCount(v, 0, 2 ** 31 - 1))) {
    fail('E_MODEL_QUANT', `${where}: multipliers must be two integers in 0..2^31-1, got ${JSON.stringify(m)}`);
  }
  ins.forEach((q, i) => {
    const exact = (q.scale / out.scale) * 2 ** shift;
    if (Math.abs(m[i] - exact) > 1) fail('E_MODEL_QUANT', `${where}: multiplier ${i} is ${m[i]} but the scales give ${exact.toFixed(1)}`);
  });
  if ((maxAbsQuantized(ins[0]) * m[0] + maxAbsQuantized(ins[1]) * m[1]) / 2 ** shift >= MAX_REQUANT) {
    fail('E_MODEL_QUANT', `${where}: the rescaled sum could overflow 32 bits`);
  }
}

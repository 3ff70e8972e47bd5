/**
 * Reads a TensorFlow Lite model (.tflite, schema v3) into plain objects for the TFLite converter:
 * the first subgraph's tensors (shape, type, quantization, constant bytes), operators (resolved
 * operator code, tensor indices, decoded builtin options) and graph inputs and outputs. It reads;
 * it does not judge whether squeezewasm can run what it read, which is the converter's business.
 *
 * The file is untrusted. Structure is checked by {@link FlatBuffer} (every offset and extent in the
 * bytes); meaning is checked here: the file identifier and schema version, every tensor, buffer
 * and operator code index in range, shapes of non-negative int32 dims, known tensor types,
 * quantization vectors that agree. Every count a file states is checked against
 * {@link TFLITE_CAPS} before anything is built for it, and the caps on sums (integers,
 * quantization entries, string bytes) hold across the whole file, so entries that share one
 * vector or string cannot multiply what a small file builds. There is no recursion: the schema's
 * nesting is walked by fixed code, and the work is linear in the file's size plus the caps.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ConvertError } from '../errors.js';
import { quote } from '../text.js';
import { EMPTY_TABLE, FlatBuffer, type FbTable, type FbVector } from './flatbuffer.js';
import {
  BUILTIN_OPERATOR_NAMES, BuiltinOperator, BuiltinOptions, Fields, MAX_TENSOR_TYPE, TFLITE_FILE_IDENTIFIER, TFLITE_SCHEMA_VERSION, TensorType,
} from './tflite-schema.js';

/** A tensor's element type; 'other' for the schema's types a classifier has no use for (float64, int4, complex, ...). */
export type TfliteType = 'float32' | 'float16' | 'int32' | 'uint8' | 'int64' | 'string' | 'bool' | 'int16' | 'int8' | 'other';

/** Affine quantization: real = scale[i] x (q - zeroPoint[i]), per tensor (one entry) or per slice of `dimension`. */
export interface TfliteQuant {
  scale: Float32Array;
  /** As many entries as `scale` (zeros when the file stores none). */
  zeroPoint: Int32Array;
  /** quantized_dimension */
  dimension: number;
}

/** A tensor of subgraph 0. */
export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  shapeSignature?: number[];
  type: TfliteType;
  /**
   * the buffer's bytes (a subarray of the file), undefined when the tensor has no data. At any
   * alignment: read it with a DataView or copy it before viewing it as wider elements.
   */
  data?: Uint8Array;
  quant?: TfliteQuant;
}

/** `ActivationFunctionType`. */
export type TfliteActivation = 'NONE' | 'RELU' | 'RELU_N1_TO_1' | 'RELU6' | 'TANH' | 'SIGN_BIT' | 'other';
/** `Padding`. */
export type TflitePadding = 'SAME' | 'VALID' | 'other';

/**
 * An operator's builtin options, decoded for the ops a converter of classifiers needs (by op, as
 * TFLite reads them: an absent options table reads as the schema's defaults), `none` for the rest.
 * Values are as the file states them (a stride of 0 stays 0): the converter checks them.
 * DEPTHWISE_CONV_2D's options are a `conv`, its depth multiplier left out (the shapes give it).
 */
export type TfliteOptions =
  | { kind: 'conv'; padding: TflitePadding; strideH: number; strideW: number; dilationH: number; dilationW: number; activation: TfliteActivation }
  | { kind: 'pool'; padding: TflitePadding; strideH: number; strideW: number; filterH: number; filterW: number; activation: TfliteActivation }
  | { kind: 'fullyConnected'; activation: TfliteActivation; weightsFormat: number; keepNumDims: boolean }
  | { kind: 'softmax'; beta: number }
  | { kind: 'concat'; axis: number; activation: TfliteActivation }
  | { kind: 'add'; activation: TfliteActivation }
  | { kind: 'reducer'; keepDims: boolean }
  | { kind: 'reshape'; newShape?: number[] }
  | { kind: 'none' };

/** An operator of subgraph 0, in execution order. */
export interface TfliteOp {
  index: number;
  /** builtin name ('CONV_2D'), 'CUSTOM' for custom ops, or 'BUILTIN_<code>' for a code this reader does not name */
  op: string;
  customName?: string;
  version: number;
  /** tensor indices; -1 is an omitted optional input */
  inputs: number[];
  outputs: number[];
  options: TfliteOptions;
}

/** What {@link readTflite} returns: the model's header and its first subgraph. */
export interface TfliteGraph {
  version: number;
  description: string;
  /** How many subgraphs the file has; only subgraph 0 is read. */
  subgraphs: number;
  tensors: TfliteTensor[];
  ops: TfliteOp[];
  inputs: number[];
  outputs: number[];
}

/** How {@link readTflite} reads. */
export interface TfliteReadOptions {
  /** Also refuse what the FlatBuffers verifier finds misaligned (see {@link FlatBuffer}); for tests of a writer. */
  checkAlignment?: boolean;
}

/**
 * What one .tflite file may hold, as counts checked before anything is built for them. Each is
 * far above what a real classifier has (SqueezeNet 1.1 in int8: 96 tensors, 41 operators, 7 926
 * quantization entries, 442 integers, 662 bytes of names), and together they bound what the
 * reader builds beyond the file's own bytes to some tens of megabytes.
 */
export const TFLITE_CAPS = Object.freeze({
  /** Tensors of subgraph 0: 16 per tensor of the largest squeezewasm model file (4096). */
  tensors: 65536,
  /** Operators of subgraph 0: 8 per op of the largest model file. */
  ops: 32768,
  /** Operator codes: one per (operator, version) pair a model uses; the schema has about 200 operators. */
  operatorCodes: 4096,
  /** Dimensions of one shape, shape signature or Reshape new_shape: TFLite's kernels stop at 6 or fewer. */
  dims: 8,
  /** Integers in all: operator inputs and outputs, graph inputs and outputs, shapes, shape signatures and new_shapes (8 MB as JS numbers). */
  integers: 1 << 21,
  /** Quantization entries (scales, each with its zero point) in all: one per output channel of each per-channel weight. */
  quantization: 1 << 20,
  /** Bytes of one string (a tensor name, the description, a custom op's name). */
  stringBytes: 1 << 16,
  /** Bytes of all strings read, in all: tensors may share one name's bytes, and each decodes to a string of its own. */
  totalStringBytes: 1 << 24,
});

type Cap = keyof typeof TFLITE_CAPS;

/** What {@link TFLITE_CAPS} count, for messages. */
const CAP_NOUNS: Readonly<Record<Cap, string>> = {
  tensors: 'tensors',
  ops: 'operators',
  operatorCodes: 'operator codes',
  dims: 'dimensions',
  integers: 'integers (tensor indices, shapes)',
  quantization: 'quantization entries',
  stringBytes: 'bytes',
  totalStringBytes: 'bytes of strings',
};

/** The caps that add up over the whole file; the others apply to each vector or string. */
const FILE_WIDE: ReadonlySet<Cap> = new Set(['integers', 'quantization', 'totalStringBytes']);

/** Checks counts against {@link TFLITE_CAPS}, keeping the running totals of the file-wide ones. */
class Caps {
  private readonly totals = new Map<Cap, number>();

  /** Refuses `count` more elements of `cap` in `where` (a TFLite table or field). */
  check(cap: Cap, count: number, where: string): void {
    const wide = FILE_WIDE.has(cap);
    const total = wide ? (this.totals.get(cap) ?? 0) + count : count;
    const limit = TFLITE_CAPS[cap];
    if (total > limit) {
      const has = wide
        ? `the TFLite file has more than ${limit} ${CAP_NOUNS[cap]} in all, the reader's cap (TFLITE_CAPS.${cap})`
        : `TFLite ${where} has ${total} ${CAP_NOUNS[cap]}, more than the reader's cap (TFLITE_CAPS.${cap} = ${limit})`;
      throw new ConvertError('E_CONVERT_LIMIT', `${has}; no real network has that many`);
    }
    if (wide) this.totals.set(cap, total);
  }
}

/** Throws a {@link ConvertError} `E_CONVERT_FLATBUFFER` for a file that is well-formed as a flatbuffer but not as a TFLite model. */
function invalid(message: string): never {
  throw new ConvertError('E_CONVERT_FLATBUFFER', `invalid TFLite model: ${message}`);
}

/** What the readers share: the buffer, the caps' totals, and the model's vectors that tensors and operators index. */
interface Context {
  fb: FlatBuffer;
  caps: Caps;
  buffers: FbVector | undefined;
  tensorCount: number;
}

/** A string field, its length capped before it is decoded; '' when absent. */
function readString(t: FbTable, slot: number, name: string, ctx: Context): string {
  const bytes = t.stringBytes(slot, name);
  if (bytes === undefined) return '';
  ctx.caps.check('stringBytes', bytes.length, name);
  ctx.caps.check('totalStringBytes', bytes.length, name);
  return ctx.fb.text(bytes, `string ${name}`);
}

/** An `[int]` vector of at most `perVector` elements (a cap), counted into `integers`; undefined when absent. */
function readInts(t: FbTable, slot: number, name: string, ctx: Context, perVector?: Cap): number[] | undefined {
  const v = t.vector(slot, 4, name);
  if (v === undefined) return undefined;
  if (perVector) ctx.caps.check(perVector, v.length, name);
  ctx.caps.check('integers', v.length, name);
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v.int32(i);
  return out;
}

/**
 * Reads a TFLite model's first subgraph. See the module comment for what is checked.
 * @param bytes the whole .tflite file (buffers stored after the flatbuffer included).
 * @throws ArgumentError if `bytes` is not a Uint8Array; ConvertError `E_CONVERT_FLATBUFFER` if the
 *   bytes are not a TFLite model (another file identifier), are malformed or truncated as a
 *   flatbuffer, or describe an impossible model (an index out of range, a negative dimension, an
 *   unknown tensor type, ...); `E_CONVERT_TENSOR` for a tensor whose values this reader cannot
 *   give (sparse, custom quantization, data in an external file); `E_CONVERT_LIMIT` for a count
 *   beyond {@link TFLITE_CAPS}, naming the cap.
 */
export function readTflite(bytes: Uint8Array, options: TfliteReadOptions = {}): TfliteGraph {
  checkArguments('readTflite', { bytes: [bytes, 'bytes'], options: [options, 'object'] });
  const fb = new FlatBuffer(bytes, 'TFLite', options.checkAlignment === true);
  fb.expectIdentifier(TFLITE_FILE_IDENTIFIER);
  const model = fb.root('Model');
  const M = Fields.Model;
  const version = model.uint32(M.version);
  if (version !== TFLITE_SCHEMA_VERSION) invalid(`schema version ${version}; squeezewasm reads version ${TFLITE_SCHEMA_VERSION}, the version TensorFlow Lite's converters write`);
  const ctx: Context = { fb, caps: new Caps(), buffers: model.vector(M.buffers, 4, 'Model.buffers'), tensorCount: 0 };
  const description = readString(model, M.description, 'Model.description', ctx);
  const codes = readOperatorCodes(model, ctx);
  const subgraphs = model.vector(M.subgraphs, 4, 'Model.subgraphs');
  if (!subgraphs?.length) invalid('the model has no subgraph');
  const graph = subgraphs.table(0, 'SubGraph');
  const tensors = readTensors(graph, ctx);
  return {
    version, description, subgraphs: subgraphs.length, tensors,
    ops: readOperators(graph, codes, ctx),
    inputs: readGraphIndices(graph, Fields.SubGraph.inputs, 'SubGraph.inputs', ctx),
    outputs: readGraphIndices(graph, Fields.SubGraph.outputs, 'SubGraph.outputs', ctx),
  };
}

/** An operator code resolved as TFLite resolves it. */
interface Opcode {
  code: number;
  op: string;
  customName?: string;
  version: number;
}

/**
 * The model's operator codes. The code is max(deprecated_builtin_code, builtin_code), as TFLite's
 * GetBuiltinCode takes it: files from before builtin_code existed have only the byte, newer ones
 * put 127 (PLACEHOLDER_FOR_GREATER_OP_CODES) in the byte for codes past it.
 */
function readOperatorCodes(model: FbTable, ctx: Context): Opcode[] {
  const v = model.vector(Fields.Model.operator_codes, 4, 'Model.operator_codes');
  if (!v) return [];
  ctx.caps.check('operatorCodes', v.length, 'Model.operator_codes');
  const F = Fields.OperatorCode;
  const codes: Opcode[] = [];
  for (let i = 0; i < v.length; i++) {
    const t = v.table(i, 'OperatorCode');
    const code = Math.max(t.int8(F.deprecated_builtin_code), t.int32(F.builtin_code));
    if (code < 0) invalid(`operator code ${i} has builtin code ${code}, which is no operator`);
    const version = t.int32(F.version, 1);
    if (code !== BuiltinOperator.CUSTOM) codes.push({ code, op: BUILTIN_OPERATOR_NAMES[code] ?? `BUILTIN_${code}`, version });
    else codes.push({ code, op: 'CUSTOM', customName: readString(t, F.custom_code, 'OperatorCode.custom_code', ctx), version });
  }
  return codes;
}

/** Subgraph 0's tensors, counted and capped first. */
function readTensors(graph: FbTable, ctx: Context): TfliteTensor[] {
  const v = graph.vector(Fields.SubGraph.tensors, 4, 'SubGraph.tensors');
  if (!v) return [];
  ctx.caps.check('tensors', v.length, 'SubGraph.tensors');
  ctx.tensorCount = v.length;
  const tensors: TfliteTensor[] = [];
  for (let i = 0; i < v.length; i++) tensors.push(readTensor(v.table(i, 'Tensor'), i, ctx));
  return tensors;
}

/** `enum TensorType` values by name of {@link TfliteType}; the other defined values are 'other'. */
const TYPE_NAMES: Readonly<Record<number, TfliteType>> = {
  [TensorType.FLOAT32]: 'float32', [TensorType.FLOAT16]: 'float16', [TensorType.INT32]: 'int32', [TensorType.UINT8]: 'uint8',
  [TensorType.INT64]: 'int64', [TensorType.STRING]: 'string', [TensorType.BOOL]: 'bool', [TensorType.INT16]: 'int16', [TensorType.INT8]: 'int8',
};

/** Bytes per element of the fixed-size types, to check a constant's data against its shape. */
const ELEMENT_BYTES: Readonly<Partial<Record<TfliteType, number>>> = { float32: 4, float16: 2, int32: 4, uint8: 1, int64: 8, bool: 1, int16: 2, int8: 1 };

/** Tensor `index`: its name, type, shape and shape signature, constant bytes and quantization, each checked. */
function readTensor(t: FbTable, index: number, ctx: Context): TfliteTensor {
  const F = Fields.Tensor;
  const name = readString(t, F.name, 'Tensor.name', ctx);
  // Made only for a message: quoting a long name costs time in proportion to it.
  const label = (): string => `tensor ${index} ${quote(name)}`;
  const code = t.int8(F.type);
  if (code < 0 || code > MAX_TENSOR_TYPE) invalid(`${label()} has type ${code}, which is no TFLite tensor type`);
  const type = TYPE_NAMES[code] ?? 'other';
  if (t.has(F.sparsity)) refuseTensor(label(), 'is sparse (it has sparsity parameters); store the weights densely');
  if (t.uint32(F.external_buffer) !== 0) refuseTensor(label(), 'keeps its data in an external file (external_buffer); convert the model with its weights inside');
  const shape = readDims(t, 'shape', label, ctx) ?? [];
  const shapeSignature = readDims(t, 'shape_signature', label, ctx);
  if (shapeSignature && shapeSignature.length !== shape.length) invalid(`${label()} has shape [${shape}] but shape signature [${shapeSignature}] of another rank`);
  const tensor: TfliteTensor = { index, name, shape, type };
  if (shapeSignature) tensor.shapeSignature = shapeSignature;
  const data = bufferData(t.uint32(F.buffer), label, ctx);
  if (data) tensor.data = checkDataSize(data, shape, type, label);
  const quant = readQuant(t.table(F.quantization, 'QuantizationParameters'), shape, label, ctx);
  if (quant) tensor.quant = quant;
  return tensor;
}

/** Throws `E_CONVERT_TENSOR`: a tensor that is well-formed but whose values this reader cannot give. */
function refuseTensor(label: string, message: string): never {
  throw new ConvertError('E_CONVERT_TENSOR', `TFLite ${label} ${message}; squeezewasm does not read such tensors`);
}

/** A tensor's shape (dims >= 0) or shape signature (dims >= -1, -1 unknown), each an int32; undefined when absent. */
function readDims(t: FbTable, field: 'shape' | 'shape_signature', label: () => string, ctx: Context): number[] | undefined {
  const dims = readInts(t, Fields.Tensor[field], `Tensor.${field}`, ctx, 'dims');
  const min = field === 'shape' ? 0 : -1;
  if (dims?.some((d) => d < min)) invalid(`${label()} has ${field} [${dims}], with a dimension below ${min}`);
  return dims;
}

/**
 * The bytes of buffer `index`: its `data` vector, or else, when `offset` is above 1 (TFLite's rule:
 * converters write 1 as "unset"), the `size` bytes at `offset` from the start of the file, where
 * large models keep their weights after the flatbuffer. Undefined when the buffer is empty.
 */
function bufferData(index: number, label: () => string, ctx: Context): Uint8Array | undefined {
  const count = ctx.buffers?.length ?? 0;
  if (index >= count) invalid(`${label()} refers to buffer ${index}, but the model has ${count} buffers`);
  const b = ctx.buffers!.table(index, 'Buffer');
  const F = Fields.Buffer;
  const data = b.vector(F.data, 1, 'Buffer.data');
  if (data?.length) return data.bytes();
  const offset = b.uint64(F.offset);
  const size = b.uint64(F.size);
  if (offset <= 1 || size === 0) return undefined;
  const end = ctx.fb.length;
  if (offset + size > end) invalid(`${label()}'s buffer ${index} lies at bytes ${offset} to ${offset + size}, past the end of the file (${end} bytes; truncated?)`);
  return ctx.fb.bytes.subarray(offset, offset + size);
}

/** `data`, once its length is the shape's element count times the element size (types of fixed size only). */
function checkDataSize(data: Uint8Array, shape: number[], type: TfliteType, label: () => string): Uint8Array {
  const size = ELEMENT_BYTES[type];
  // A product of at most 8 int32 dims can round in float arithmetic only when it is far past any file.
  const expected = size === undefined ? data.length : shape.reduce((n, d) => n * d, size);
  if (expected !== data.length) invalid(`${label()} (${type}, shape [${shape}]) needs ${expected} bytes of data but its buffer has ${data.length}`);
  return data;
}

/**
 * A tensor's affine quantization, or undefined when it has none: TensorFlow's converter gives
 * float tensors an empty QuantizationParameters table, which means the same as none.
 */
function readQuant(q: FbTable | undefined, shape: number[], label: () => string, ctx: Context): TfliteQuant | undefined {
  if (!q) return undefined;
  const F = Fields.QuantizationParameters;
  if (q.uint8(F.details_type) !== 0) refuseTensor(label(), 'has custom quantization (QuantizationDetails)');
  const scales = q.vector(F.scale, 4, 'QuantizationParameters.scale');
  const zeros = q.vector(F.zero_point, 8, 'QuantizationParameters.zero_point');
  const n = scales?.length ?? 0;
  const nz = zeros?.length ?? 0;
  if (n === 0 && nz === 0) return undefined;
  if (nz !== 0 && nz !== n) invalid(`${label()} has ${n} quantization scales but ${nz} zero points`);
  const dimension = q.int32(F.quantized_dimension);
  if (dimension < 0 || (n > 1 && !(dimension < shape.length && shape[dimension] === n))) {
    invalid(`${label()} (shape [${shape}]) has ${n} quantization scales along dimension ${dimension}`);
  }
  ctx.caps.check('quantization', n, 'QuantizationParameters');
  const scale = new Float32Array(n);
  const zeroPoint = new Int32Array(n);
  for (let i = 0; i < n; i++) scale[i] = scales!.float32(i);
  for (let i = 0; i < nz; i++) {
    const z = zeros!.int64(i);
    if (z !== (z | 0)) invalid(`${label()} has zero point ${z}, outside int32`);
    zeroPoint[i] = z;
  }
  return { scale, zeroPoint, dimension };
}

/** Subgraph 0's inputs or outputs: tensor indices, each in range. */
function readGraphIndices(graph: FbTable, slot: number, name: string, ctx: Context): number[] {
  const indices = readInts(graph, slot, name, ctx) ?? [];
  for (const i of indices) if (!(i >= 0 && i < ctx.tensorCount)) invalid(`${name} lists tensor ${i}, but the subgraph has ${ctx.tensorCount} tensors`);
  return indices;
}

/** Subgraph 0's operators, counted and capped first. */
function readOperators(graph: FbTable, codes: Opcode[], ctx: Context): TfliteOp[] {
  const v = graph.vector(Fields.SubGraph.operators, 4, 'SubGraph.operators');
  if (!v) return [];
  ctx.caps.check('ops', v.length, 'SubGraph.operators');
  const ops: TfliteOp[] = [];
  for (let i = 0; i < v.length; i++) ops.push(readOperator(v.table(i, 'Operator'), i, codes, ctx));
  return ops;
}

/** Operator `index`: its resolved operator code, tensor indices and decoded options. */
function readOperator(t: FbTable, index: number, codes: Opcode[], ctx: Context): TfliteOp {
  const F = Fields.Operator;
  const codeIndex = t.uint32(F.opcode_index);
  const code = codes[codeIndex] ?? invalid(`operator ${index} uses operator code ${codeIndex}, but the model has ${codes.length}`);
  const label = `operator ${index} (${code.op})`;
  const op: TfliteOp = {
    index, op: code.op, version: code.version,
    inputs: readOpIndices(t, 'inputs', label, ctx),
    outputs: readOpIndices(t, 'outputs', label, ctx),
    options: readOptions(t, code.code, label, ctx),
  };
  if (code.customName !== undefined) op.customName = code.customName;
  return op;
}

/**
 * An operator's inputs or outputs: tensor indices in range, or among the inputs -1 (an omitted
 * optional input, such as a conv's missing bias). No operator a classifier uses has optional
 * outputs, so -1 there is refused rather than handed to a converter that would index with it.
 */
function readOpIndices(t: FbTable, field: 'inputs' | 'outputs', label: string, ctx: Context): number[] {
  const indices = readInts(t, Fields.Operator[field], `Operator.${field}`, ctx) ?? [];
  for (const i of indices) {
    if (!(i >= 0 && i < ctx.tensorCount) && !(field === 'inputs' && i === -1)) invalid(`${label}'s ${field} list tensor ${i}, but the subgraph has ${ctx.tensorCount} tensors`);
  }
  return indices;
}

const ACTIVATIONS: readonly TfliteActivation[] = ['NONE', 'RELU', 'RELU_N1_TO_1', 'RELU6', 'TANH', 'SIGN_BIT'];
const activation = (v: number): TfliteActivation => ACTIVATIONS[v] ?? 'other';
const padding = (v: number): TflitePadding => (v === 0 ? 'SAME' : v === 1 ? 'VALID' : 'other');

/** Decodes one options table; an absent one reads as {@link EMPTY_TABLE}, every field its default. */
type OptionsReader = (o: FbTable, ctx: Context) => TfliteOptions;

function convOptions(o: FbTable): TfliteOptions {
  const F = Fields.Conv2DOptions;
  return {
    kind: 'conv', padding: padding(o.int8(F.padding)), strideH: o.int32(F.stride_h), strideW: o.int32(F.stride_w),
    dilationH: o.int32(F.dilation_h_factor, 1), dilationW: o.int32(F.dilation_w_factor, 1), activation: activation(o.int8(F.fused_activation_function)),
  };
}

function depthwiseOptions(o: FbTable): TfliteOptions {
  const F = Fields.DepthwiseConv2DOptions;
  return {
    kind: 'conv', padding: padding(o.int8(F.padding)), strideH: o.int32(F.stride_h), strideW: o.int32(F.stride_w),
    dilationH: o.int32(F.dilation_h_factor, 1), dilationW: o.int32(F.dilation_w_factor, 1), activation: activation(o.int8(F.fused_activation_function)),
  };
}

function poolOptions(o: FbTable): TfliteOptions {
  const F = Fields.Pool2DOptions;
  return {
    kind: 'pool', padding: padding(o.int8(F.padding)), strideH: o.int32(F.stride_h), strideW: o.int32(F.stride_w),
    filterH: o.int32(F.filter_height), filterW: o.int32(F.filter_width), activation: activation(o.int8(F.fused_activation_function)),
  };
}

function fullyConnectedOptions(o: FbTable): TfliteOptions {
  const F = Fields.FullyConnectedOptions;
  return { kind: 'fullyConnected', activation: activation(o.int8(F.fused_activation_function)), weightsFormat: o.int8(F.weights_format), keepNumDims: o.bool(F.keep_num_dims) };
}

function reshapeOptions(o: FbTable, ctx: Context): TfliteOptions {
  const newShape = readInts(o, Fields.ReshapeOptions.new_shape, 'ReshapeOptions.new_shape', ctx, 'dims');
  return newShape ? { kind: 'reshape', newShape } : { kind: 'reshape' };
}

const reducer: [number, OptionsReader] = [BuiltinOptions.ReducerOptions, (o) => ({ kind: 'reducer', keepDims: o.bool(Fields.ReducerOptions.keep_dims) })];
const pool: [number, OptionsReader] = [BuiltinOptions.Pool2DOptions, poolOptions];

/** For each operator whose options are decoded: the options table's union type id, and its reader. */
const OPTIONS: ReadonlyMap<number, readonly [number, OptionsReader]> = new Map<number, readonly [number, OptionsReader]>([
  [BuiltinOperator.CONV_2D, [BuiltinOptions.Conv2DOptions, convOptions]],
  [BuiltinOperator.DEPTHWISE_CONV_2D, [BuiltinOptions.DepthwiseConv2DOptions, depthwiseOptions]],
  [BuiltinOperator.AVERAGE_POOL_2D, pool],
  [BuiltinOperator.MAX_POOL_2D, pool],
  [BuiltinOperator.L2_POOL_2D, pool],
  [BuiltinOperator.FULLY_CONNECTED, [BuiltinOptions.FullyConnectedOptions, fullyConnectedOptions]],
  [BuiltinOperator.SOFTMAX, [BuiltinOptions.SoftmaxOptions, (o) => ({ kind: 'softmax', beta: o.float32(Fields.SoftmaxOptions.beta) })]],
  [BuiltinOperator.CONCATENATION, [BuiltinOptions.ConcatenationOptions, (o) => ({
    kind: 'concat', axis: o.int32(Fields.ConcatenationOptions.axis), activation: activation(o.int8(Fields.ConcatenationOptions.fused_activation_function)),
  })]],
  [BuiltinOperator.ADD, [BuiltinOptions.AddOptions, (o) => ({ kind: 'add', activation: activation(o.int8(Fields.AddOptions.fused_activation_function)) })]],
  [BuiltinOperator.RESHAPE, [BuiltinOptions.ReshapeOptions, reshapeOptions]],
  ...[BuiltinOperator.MEAN, BuiltinOperator.SUM, BuiltinOperator.REDUCE_PROD, BuiltinOperator.REDUCE_MAX, BuiltinOperator.REDUCE_MIN, BuiltinOperator.REDUCE_ANY, BuiltinOperator.REDUCE_ALL]
    .map((code) => [code, reducer] as const),
]);

/**
 * The operator's builtin options, read by its operator code as TFLite reads them. An options table
 * of another type than the op's is refused (TFLite would silently take defaults for a file that
 * can only be corrupt); an absent one reads as defaults.
 */
function readOptions(t: FbTable, code: number, label: string, ctx: Context): TfliteOptions {
  const entry = OPTIONS.get(code);
  if (!entry) return { kind: 'none' };
  const [type, read] = entry;
  const F = Fields.Operator;
  const found = t.uint8(F.builtin_options_type);
  if (found !== BuiltinOptions.NONE && found !== type) invalid(`${label} has builtin options of union type ${found}, where its options are type ${type}`);
  const table = found === type ? t.table(F.builtin_options, 'BuiltinOptions') : undefined;
  return read(table ?? EMPTY_TABLE, ctx);
}

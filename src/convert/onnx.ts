/**
 * ONNX -> squeezewasm model conversion. {@link parseOnnx} decodes the parts of an ONNX ModelProto
 * the converter needs; {@link convertOnnx} translates a SqueezeNet-style graph into a {@link Model},
 * refusing anything it cannot reproduce exactly with an error that names the node and the problem.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ConvertError, LimitError } from '../errors.js';
import { quote } from '../text.js';
import type { ActShape, ConvOp, Model, Op, Pads, Tensor } from '../model/format.js';
import { fuseRelus, opInputs, opsComputing, windowOutputSize } from '../model/graph.js';
import { DEFAULT_READ_LIMITS } from '../model/read.js';
import type { ValidModel } from '../model/validate.js';
import { checkConverted, checkMeta, type ConvertMeta } from './common.js';
import { ProtoReader } from './protobuf.js';

/** ONNX TensorProto.DataType values the converter reads. */
export const OnnxDataType = { FLOAT: 1, INT32: 6, INT64: 7 } as const;

const DATA_TYPE_NAMES: Record<number, string> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool',
  10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16',
};
const typeName = (t: number): string => DATA_TYPE_NAMES[t] ?? `data type ${t}`;

/** A decoded TensorProto. Exactly one of the data fields holds the values (or none, for an empty tensor). */
export interface OnnxTensor {
  name: string;
  dims: Float64Array;
  dataType: number;
  rawData?: Uint8Array;
  floatData: Float32Array;
  int32Data: Int32Array;
  int64Data: Float64Array;
  /** True when the values live in a separate file (data_location EXTERNAL). */
  external: boolean;
}

/** ONNX AttributeProto.AttributeType values. */
export const OnnxAttrType = { FLOAT: 1, INT: 2, STRING: 3, TENSOR: 4, GRAPH: 5, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

/** A decoded AttributeProto (graph-valued and sparse attributes are kept only as their type). */
export interface OnnxAttribute {
  name: string;
  type: number;
  i?: number;
  f?: number;
  s?: Uint8Array;
  t?: OnnxTensor;
  ints: Float64Array;
  floats: Float32Array;
}

/** A decoded NodeProto. */
export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: OnnxAttribute[];
}

/** A graph input or output: its name and, for tensors, element type and shape (a string for a symbolic dimension). */
export interface OnnxValueInfo {
  name: string;
  elemType?: number;
  dims?: (number | string)[];
}

/** A decoded GraphProto. */
export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** A decoded ModelProto. */
export interface OnnxModel {
  irVersion: number;
  producerName: string;
  opsetImports: { domain: string; version: number }[];
  graph: OnnxGraph;
}

/**
 * What one ONNX file may hold, as counts the parser checks before it builds anything for them
 * ({@link ProtoReader.count}). Each is far above what a real network has: the model file a
 * conversion ends in holds at most 4096 ops and 4096 tensors, SqueezeNet 1.1 has about 66 nodes
 * and 52 initializers, a ResNet-50 a few hundred of each. Together they bound what the parser
 * builds beyond the file's own bytes to a fixed amount (docs/trust.md gives the figure).
 */
export const ONNX_CAPS = Object.freeze({
  /** Nodes of the graph: 8 per op of the largest model file, for the Constant, Identity, BatchNormalization and other nodes exporters add. */
  nodes: 32768,
  /** Initializers of the graph: 8 per tensor of the largest model file (BatchNormalization alone brings 4 per convolution). */
  initializers: 32768,
  /** Graph inputs plus outputs: older exporters list every initializer as an input too. */
  graphValues: 2 * 32768,
  /** Node inputs plus outputs, in all: 8 per node; a Concat may have hundreds, most nodes have 2 or 3. */
  nodeValues: 8 * 32768,
  /** Attributes, in all: 2 per node; Conv, with the most, has 6, most nodes have none or 1. */
  attributes: 2 * 32768,
  /** Numbers in one INTS or FLOATS attribute: pads, strides, kernel shapes and dilations need at most 2 per spatial axis. */
  attributeValues: 4096,
  /** Dimensions of one tensor or shape: ONNX runtimes stop at 8 or so, the converter reads 4 at most. */
  dims: 64,
  /**
   * Integers, in all: dims, integer tensor data, INTS attribute values and shape dimensions. A
   * varint of 1 byte decodes to 8, so these need a cap of their own; real networks hold a few
   * thousand (the converter reads integer tensors only as Reshape shapes).
   */
  integers: 1 << 19,
  /** Opset imports: one per operator domain a model uses. */
  opsets: 256,
});

type Cap = keyof typeof ONNX_CAPS;

/** What {@link ONNX_CAPS} count, for messages. */
const CAP_NOUNS: Readonly<Record<Cap, string>> = {
  nodes: 'nodes',
  initializers: 'initializers',
  graphValues: 'graph inputs and outputs',
  nodeValues: 'node inputs and outputs',
  attributes: 'attributes',
  attributeValues: 'values',
  dims: 'dimensions',
  integers: 'integers (dims, integer tensor data, INTS attributes)',
  opsets: 'opset imports',
};

/** The caps that add up over the whole file; the others apply to each message. */
const FILE_WIDE: ReadonlySet<Cap> = new Set(['nodeValues', 'attributes', 'integers']);

/** Checks counts against {@link ONNX_CAPS}, keeping the running totals of the file-wide ones. */
class Caps {
  private readonly totals = new Map<Cap, number>();

  /** Refuses `count` more elements of `cap` in the message `r` reads. */
  check(cap: Cap, count: number, r: ProtoReader): void {
    const total = FILE_WIDE.has(cap) ? (this.totals.get(cap) ?? 0) + count : count;
    const limit = ONNX_CAPS[cap];
    if (total > limit) {
      const has = FILE_WIDE.has(cap)
        ? `the ONNX file has more than ${limit} ${CAP_NOUNS[cap]} in all, the converter's cap (ONNX_CAPS.${cap})`
        : `ONNX ${r.message} has ${total} ${CAP_NOUNS[cap]}, more than the converter's cap (ONNX_CAPS.${cap} = ${limit})`;
      throw new ConvertError('E_CONVERT_LIMIT', `${has}; no real network has that many`);
    }
    if (FILE_WIDE.has(cap)) this.totals.set(cap, total);
  }
}

// Empty repeated fields share one empty array each: a typed array costs about 200 bytes even when empty.
const NO_F64 = new Float64Array(0);
const NO_F32 = new Float32Array(0);
const NO_I32 = new Int32Array(0);
const f64 = (n: number): Float64Array => (n ? new Float64Array(n) : NO_F64);
const f32 = (n: number): Float32Array => (n ? new Float32Array(n) : NO_F32);
const i32 = (n: number): Int32Array => (n ? new Int32Array(n) : NO_I32);

function readTensor(r: ProtoReader, caps: Caps): OnnxTensor {
  const [dims, floats, int32s, int64s] = r.count([[1, 'varint'], [4, 'fixed32'], [5, 'varint'], [7, 'varint']]);
  caps.check('dims', dims, r);
  caps.check('integers', dims + int32s + int64s, r);
  const t: OnnxTensor = { name: '', dims: f64(dims), dataType: 0, floatData: f32(floats), int32Data: i32(int32s), int64Data: f64(int64s), external: false };
  const at = { dims: 0, floats: 0, int32s: 0, int64s: 0 };
  while (r.next()) {
    switch (r.field) {
      case 1: at.dims = r.int64s(t.dims, at.dims); break;
      case 2: t.dataType = r.int32(); break;
      case 4: at.floats = r.floats(t.floatData, at.floats); break;
      case 5: at.int32s = r.int32s(t.int32Data, at.int32s); break;
      case 7: at.int64s = r.int64s(t.int64Data, at.int64s); break;
      case 8: t.name = r.string(); break;
      case 9: t.rawData = r.bytes(); break;
      case 14: t.external = r.int32() === 1; break;
      default: r.skip();
    }
  }
  return t;
}

function readAttribute(r: ProtoReader, caps: Caps): OnnxAttribute {
  const [floats, ints] = r.count([[7, 'fixed32'], [8, 'varint']]);
  caps.check('attributeValues', Math.max(floats, ints), r);
  caps.check('integers', ints, r);
  const a: OnnxAttribute = { name: '', type: 0, ints: f64(ints), floats: f32(floats) };
  const at = { floats: 0, ints: 0 };
  while (r.next()) {
    switch (r.field) {
      case 1: a.name = r.string(); break;
      case 2: a.f = r.float(); break;
      case 3: a.i = r.int64(); break;
      case 4: a.s = r.bytes(); break;
      case 5: a.t = readTensor(r.sub('t'), caps); break;
      case 7: at.floats = r.floats(a.floats, at.floats); break;
      case 8: at.ints = r.int64s(a.ints, at.ints); break;
      case 20: a.type = r.int32(); break;
      default: r.skip();
    }
  }
  return a;
}

function readNode(r: ProtoReader, caps: Caps): OnnxNode {
  const [inputs, outputs, attributes] = r.count([[1, 'each'], [2, 'each'], [5, 'each']]);
  caps.check('nodeValues', inputs + outputs, r);
  caps.check('attributes', attributes, r);
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: [] };
  while (r.next()) {
    switch (r.field) {
      case 1: n.inputs.push(r.string()); break;
      case 2: n.outputs.push(r.string()); break;
      case 3: n.name = r.string(); break;
      case 4: n.opType = r.string(); break;
      case 5: n.attributes.push(readAttribute(r.sub('attribute'), caps)); break;
      case 7: n.domain = r.string(); break;
      default: r.skip();
    }
  }
  return n;
}

function readShape(r: ProtoReader, caps: Caps): (number | string)[] {
  const [count] = r.count([[1, 'each']]);
  caps.check('dims', count, r);
  caps.check('integers', count, r);
  const dims: (number | string)[] = [];
  while (r.next()) {
    if (r.field !== 1) {
      r.skip();
      continue;
    }
    const d = r.sub('dim');
    let dim: number | string = '?';
    while (d.next()) {
      if (d.field === 1) dim = d.int64();
      else if (d.field === 2) dim = d.string();
      else d.skip();
    }
    dims.push(dim);
  }
  return dims;
}

function readValueInfo(r: ProtoReader, caps: Caps): OnnxValueInfo {
  const v: OnnxValueInfo = { name: '' };
  while (r.next()) {
    if (r.field === 1) v.name = r.string();
    else if (r.field !== 2) r.skip();
    else {
      const type = r.sub('type');
      while (type.next()) {
        if (type.field !== 1) {
          type.skip();
          continue;
        }
        const tensor = type.sub('tensor_type');
        while (tensor.next()) {
          if (tensor.field === 1) v.elemType = tensor.int32();
          else if (tensor.field === 2) v.dims = readShape(tensor.sub('shape'), caps);
          else tensor.skip();
        }
      }
    }
  }
  return v;
}

function readGraph(r: ProtoReader, caps: Caps): OnnxGraph {
  const [nodes, initializers, inputs, outputs] = r.count([[1, 'each'], [5, 'each'], [11, 'each'], [12, 'each']]);
  caps.check('nodes', nodes, r);
  caps.check('initializers', initializers, r);
  caps.check('graphValues', inputs + outputs, r);
  const g: OnnxGraph = { name: '', nodes: [], initializers: [], inputs: [], outputs: [] };
  while (r.next()) {
    switch (r.field) {
      case 1: g.nodes.push(readNode(r.sub('node'), caps)); break;
      case 2: g.name = r.string(); break;
      case 5: g.initializers.push(readTensor(r.sub('initializer'), caps)); break;
      case 11: g.inputs.push(readValueInfo(r.sub('input'), caps)); break;
      case 12: g.outputs.push(readValueInfo(r.sub('output'), caps)); break;
      case 15: throw new ConvertError('E_CONVERT_TENSOR', 'the ONNX graph has sparse initializers, which squeezewasm does not read; store the weights densely');
      default: r.skip();
    }
  }
  return g;
}

/**
 * Decodes an ONNX ModelProto: opset imports and the main graph's nodes, initializers, inputs and
 * outputs. Unknown fields are skipped; the values are not interpreted beyond their wire types.
 * Repeated fields are counted, and checked against {@link ONNX_CAPS}, before anything is built for them.
 * @throws ConvertError (`E_CONVERT_PROTOBUF`) if the bytes are not a well-formed protobuf, or have
 *   no graph; (`E_CONVERT_LIMIT`) if they hold more than a cap of {@link ONNX_CAPS}.
 */
export function parseOnnx(bytes: Uint8Array): OnnxModel {
  const r = new ProtoReader(bytes, 'ModelProto');
  const caps = new Caps();
  caps.check('opsets', r.count([[8, 'each']])[0], r);
  let irVersion = 0;
  let producerName = '';
  let graph: OnnxGraph | undefined;
  const opsetImports: OnnxModel['opsetImports'] = [];
  while (r.next()) {
    switch (r.field) {
      case 1: irVersion = r.int64(); break;
      case 2: producerName = r.string(); break;
      case 7: graph = readGraph(r.sub('graph'), caps); break;
      case 8: {
        const o = r.sub('opset_import');
        const entry = { domain: '', version: 0 };
        while (o.next()) {
          if (o.field === 1) entry.domain = o.string();
          else if (o.field === 2) entry.version = o.int64();
          else o.skip();
        }
        opsetImports.push(entry);
        break;
      }
      default: r.skip();
    }
  }
  if (!graph) return r.fail('the model has no graph (is this an ONNX file?)');
  return { irVersion, producerName, opsetImports, graph };
}

/** What the caller knows about a model that the ONNX file does not record. */
/** Oldest default-domain opset accepted: from 7 on, the supported ops have their current inference semantics. */
const MIN_OPSET = 7;
/** The model file format's limit on tensor names. */
const MAX_NAME_LENGTH = 256;

/** An activation as the converter tracks it: its name in the model being built, its shape, and its ONNX rank ([1,C,H,W] or [1,C]). */
interface Act {
  name: string;
  shape: ActShape;
  rank: 2 | 4;
}

const ATTR_TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(OnnxAttrType).map(([k, v]) => [v, k]));

/** One ONNX node with typed attribute access; every error it raises names the node. */
class NodeView {
  constructor(
    readonly node: OnnxNode,
    private readonly index: number,
  ) {}

  /** `ONNX Conv node "conv1"`, or the node's position and first output when it has no name. */
  get label(): string {
    const { node } = this;
    return node.name
      ? `ONNX ${node.opType} node ${quote(node.name)}`
      : `ONNX ${node.opType} node #${this.index} (unnamed, output ${quote(node.outputs[0] ?? '')})`;
  }

  fail(code: string, message: string): never {
    throw new ConvertError(code, `${this.label}: ${message}`);
  }

  private attr(name: string, type: number): OnnxAttribute | undefined {
    const a = this.node.attributes.find((x) => x.name === name);
    if (a && a.type !== type) {
      this.fail('E_CONVERT_ATTR', `attribute "${name}" has type ${ATTR_TYPE_NAMES[a.type] ?? a.type}, expected ${ATTR_TYPE_NAMES[type]}`);
    }
    return a;
  }

  /** An integer attribute; without a fallback it is required. */
  int(name: string, fallback?: number): number {
    return this.attr(name, OnnxAttrType.INT)?.i ?? fallback ?? this.fail('E_CONVERT_ATTR', `attribute "${name}" is required`);
  }

  ints(name: string, fallback: number[]): number[] {
    const a = this.attr(name, OnnxAttrType.INTS);
    return a ? Array.from(a.ints) : fallback;
  }

  float(name: string, fallback: number): number {
    return this.attr(name, OnnxAttrType.FLOAT)?.f ?? fallback;
  }

  str(name: string, fallback: string): string {
    const s = this.attr(name, OnnxAttrType.STRING)?.s;
    return s ? new TextDecoder().decode(s) : fallback;
  }

  tensor(name: string): OnnxTensor | undefined {
    return this.attr(name, OnnxAttrType.TENSOR)?.t;
  }

  /** A two-element integer attribute such as strides, checked to be positive. */
  pair(name: string, fallback?: [number, number]): [number, number] {
    const v = this.ints(name, fallback ?? []);
    if (v.length === 0 && !fallback) this.fail('E_CONVERT_ATTR', `attribute "${name}" is required`);
    if (v.length !== 2 || !v.every((x) => x >= 1)) {
      this.fail('E_CONVERT_ATTR', `${name} [${v}] is not supported; squeezewasm converts 2-D operations with positive ${name} only`);
    }
    return [v[0], v[1]];
  }

  /** Refuses dilated windows, which squeezewasm's kernels do not implement. */
  noDilation(): void {
    const d = this.ints('dilations', [1, 1]);
    if (!d.every((x) => x === 1)) this.fail('E_CONVERT_ATTR', `dilations [${d}] are not supported; only dilation 1 is`);
  }
}

/** Padding from `pads` or `auto_pad`, as [top, left, bottom, right] (which is also ONNX's order for 2-D). */
function resolvePads(n: NodeView, x: ActShape, kernel: [number, number], stride: [number, number]): Pads {
  const autoPad = n.str('auto_pad', 'NOTSET');
  switch (autoPad) {
    case 'NOTSET': {
      const p = n.ints('pads', [0, 0, 0, 0]);
      if (p.length !== 4 || !p.every((v) => v >= 0)) n.fail('E_CONVERT_ATTR', `pads [${p}] must be four non-negative integers`);
      return [p[0], p[1], p[2], p[3]];
    }
    case 'VALID':
      return [0, 0, 0, 0];
    case 'SAME_UPPER':
    case 'SAME_LOWER': {
      // ONNX: output = ceil(input / stride); the odd pixel of padding goes at the end for UPPER, the start for LOWER.
      const [top, bottom] = samePads(x.h, kernel[0], stride[0], autoPad === 'SAME_UPPER');
      const [left, right] = samePads(x.w, kernel[1], stride[1], autoPad === 'SAME_UPPER');
      return [top, left, bottom, right];
    }
    default:
      return n.fail('E_CONVERT_ATTR', `auto_pad ${quote(autoPad)} is not supported; use NOTSET, VALID, SAME_UPPER or SAME_LOWER`);
  }
}

function samePads(size: number, kernel: number, stride: number, upper: boolean): [number, number] {
  const total = Math.max(0, (Math.ceil(size / stride) - 1) * stride + kernel - size);
  const small = Math.floor(total / 2);
  return upper ? [small, total - small] : [total - small, small];
}

/** A tensor's element count, refusing invalid dims and data stored outside the file. */
function elementCount(t: OnnxTensor, fail: (m: string) => never): number {
  if (!t.dims.every((d) => Number.isInteger(d) && d >= 0 && d <= 2 ** 31)) fail(`has invalid dims [${t.dims}]`);
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.external) fail('keeps its data in an external file, which squeezewasm does not read; save the model with its weights inside');
  return count;
}

/** A float tensor's values; sizes are checked against the bytes present before anything is allocated. */
function floatValues(t: OnnxTensor, fail: (m: string) => never): Float32Array {
  if (t.dataType !== OnnxDataType.FLOAT) {
    fail(`is ${typeName(t.dataType)}; squeezewasm converts float32 weights only (quantized or float16 ONNX models are not supported)`);
  }
  const count = elementCount(t, fail);
  const raw = t.rawData;
  if (!raw) {
    if (t.floatData.length !== count) fail(`holds ${t.floatData.length} values but its shape [${t.dims}] needs ${count}`);
    return Float32Array.from(t.floatData);
  }
  if (raw.length !== count * 4) fail(`holds ${raw.length} bytes but its shape [${t.dims}] needs ${count * 4}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** An int64 or int32 tensor's values (shapes and axes). */
function intValues(t: OnnxTensor, fail: (m: string) => never): number[] {
  const size = t.dataType === OnnxDataType.INT64 ? 8 : t.dataType === OnnxDataType.INT32 ? 4 : fail(`is ${typeName(t.dataType)}, expected int64`);
  const count = elementCount(t, fail);
  const raw = t.rawData;
  if (!raw) {
    const values = size === 8 ? t.int64Data : t.int32Data;
    if (values.length !== count) fail(`holds ${values.length} values but its shape [${t.dims}] needs ${count}`);
    return Array.from(values);
  }
  if (raw.length !== count * size) fail(`holds ${raw.length} bytes but its shape [${t.dims}] needs ${count * size}`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: count }, (_, i) => (size === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
}

/**
 * Most bytes of weights the converter holds while it works. Folding (or transposing) a shared
 * initializer makes a copy for each layer that reads it, so a small file could ask for any amount.
 * Twice what a model file's tensors may take (`maxTensorBytes`) stops that, and never refuses a
 * model that can be written: a shared original stays whole until the end beside its two or more
 * copies, which makes at most half as much again.
 */
const MAX_CONVERTED_BYTES = 2 * DEFAULT_READ_LIMITS.maxTensorBytes;

/** Reads an op's inputs, emits model ops and records the activations it defines. */
class Converter {
  readonly ops: Op[] = [];
  readonly tensors = new Map<string, Tensor>();
  /** Activations by ONNX name; removed ops (Identity, Flatten, ...) map their output to their input's entry. */
  readonly acts = new Map<string, Act>();
  /** Initializers and Constant outputs by name. */
  readonly consts = new Map<string, OnnxTensor>();
  /** Nodes reading each tensor, by name. */
  readonly readers = new Map<string, OnnxNode[]>();
  /** Float constants decoded and checked, each once however many nodes read it. */
  private readonly values = new Map<OnnxTensor, Float32Array>();
  /** Bytes of the tensors in {@link tensors}, kept within {@link MAX_CONVERTED_BYTES}. */
  private tensorBytes = 0;

  constructor(
    readonly graph: OnnxGraph,
    readonly opset: number,
  ) {
    for (const t of graph.initializers) this.consts.set(t.name, t);
    for (const node of graph.nodes) {
      for (const name of node.inputs) {
        if (!name) continue;
        const list = this.readers.get(name);
        if (list) list.push(node);
        else this.readers.set(name, [node]);
      }
    }
  }

  /** True if a node or the graph output reads `name`. */
  used(name: string): boolean {
    return this.readers.has(name) || this.graph.outputs.some((o) => o.name === name);
  }

  /** The activation a node reads at input `i`. */
  act(n: NodeView, i: number): Act {
    const name = n.node.inputs[i] ?? '';
    const a = this.acts.get(name);
    if (a) return a;
    if (!name) return n.fail('E_CONVERT_GRAPH', `input ${i} is missing`);
    if (this.consts.has(name)) n.fail('E_CONVERT_GRAPH', `input ${quote(name)} is a constant; squeezewasm needs a computed activation there`);
    return n.fail('E_CONVERT_GRAPH', `input ${quote(name)} is not produced by any earlier node (the graph must be topologically sorted)`);
  }

  /** A [1,C,H,W] activation, for the ops that need spatial data. */
  act4(n: NodeView, i: number): Act {
    const a = this.act(n, i);
    if (a.rank !== 4) n.fail('E_CONVERT_GRAPH', `input ${quote(n.node.inputs[i])} is a flattened [1,${a.shape.c}] tensor; this op needs [1,C,H,W]`);
    return a;
  }

  /** The constant tensor a node reads at input `i`. */
  constant(n: NodeView, i: number, role: string): OnnxTensor {
    const name = n.node.inputs[i] ?? '';
    const t = this.consts.get(name);
    if (!t) n.fail('E_CONVERT_GRAPH', `${role} ${quote(name)} must be an initializer or Constant; computed ${role}s are not supported`);
    return t;
  }

  /** The values of the float constant a node reads at input `i`, checked to have `shape` (when given) and to be finite. */
  floats(n: NodeView, i: number, role: string, shape?: number[]): Float32Array {
    const t = this.constant(n, i, role);
    const fail: (m: string) => never = (m) => n.fail('E_CONVERT_TENSOR', `${role} ${quote(n.node.inputs[i])} ${m}`);
    if (shape && (t.dims.length !== shape.length || t.dims.some((d, k) => d !== shape[k]))) fail(`has shape [${t.dims}], expected [${shape}]`);
    let data = this.values.get(t);
    if (!data) {
      data = floatValues(t, fail);
      if (!data.every(Number.isFinite)) fail('holds NaN or infinite values');
      this.values.set(t, data);
    }
    return data;
  }

  /** Adds the float constant a node reads at input `i` to the model's tensors (once, however many ops use it); returns its name. */
  weight(n: NodeView, i: number, role: string, shape: number[]): string {
    const name = n.node.inputs[i];
    const data = this.floats(n, i, role, shape);
    if (!this.tensors.has(name)) this.store(name, { dtype: 'f32', shape: [...shape], data });
    return name;
  }

  /**
   * Stores a constant computed from the initializer `name` (a folded or transposed weight): under
   * that name when only one node reads the initializer, else under a name of its own for `owner`.
   */
  derived(name: string, owner: string, shape: number[], data: Float32Array): string {
    const key = (this.readers.get(name)?.length ?? 0) <= 1 ? name : `${name}.${owner}`;
    this.store(key, { dtype: 'f32', shape, data });
    return key;
  }

  /** Adds or replaces a tensor of the model, refusing to hold more than {@link MAX_CONVERTED_BYTES}. */
  private store(key: string, t: Tensor): void {
    this.tensorBytes += t.data.byteLength - (this.tensors.get(key)?.data.byteLength ?? 0);
    if (this.tensorBytes > MAX_CONVERTED_BYTES) {
      const { maxTensorBytes } = DEFAULT_READ_LIMITS;
      throw new LimitError('maxTensorBytes', `the converted network's weights would take more than ${maxTensorBytes} bytes, the limit of a model file's tensors`);
    }
    this.tensors.set(key, t);
  }

  /**
   * The conv that computed a node's input `i`, if the node can be folded into it: the conv's
   * output goes straight to this node and nowhere else. `what` says what needs it, for the error.
   */
  foldInto(n: NodeView, i: number, what: string): ConvOp {
    const name = n.node.inputs[i];
    const op = this.acts.get(name)?.name === name ? this.ops.find((o) => o.output === name) : undefined;
    if (op?.op !== 'conv' || this.readers.get(name)?.length !== 1 || this.graph.outputs.some((o) => o.name === name)) {
      n.fail('E_CONVERT_GRAPH', `${what} is supported only right after a Conv, Gemm or MatMul whose output nothing else reads: squeezewasm folds it into that layer`);
    }
    return op;
  }

  /** Records an alias: the node's output is the same data as `a` (an op that squeezewasm removes). */
  alias(n: NodeView, a: Act, rank: 2 | 4 = a.rank): void {
    this.define(n, { ...a, rank });
  }

  /** Records that `conv` now computes the node's output: the node was folded into it. */
  folded(n: NodeView, conv: ConvOp, from: Act): void {
    conv.output = n.node.outputs[0] ?? '';
    this.define(n, { ...from, name: conv.output });
  }

  /** Appends `op` and records the node's output activation. */
  emit(n: NodeView, op: Op, shape: ActShape, rank: 2 | 4 = 4): void {
    this.ops.push(op);
    this.define(n, { name: op.output, shape, rank });
  }

  private define(n: NodeView, a: Act): void {
    const out = n.node.outputs[0] ?? '';
    if (!out) n.fail('E_CONVERT_GRAPH', 'has no output');
    if (this.acts.has(out) || this.consts.has(out)) n.fail('E_CONVERT_GRAPH', `output ${quote(out)} is defined more than once`);
    this.acts.set(out, a);
  }

  /** Output shape of a sliding window; refuses windows that do not fit. */
  window(n: NodeView, x: ActShape, c: number, kernel: [number, number], stride: [number, number], pads: Pads, ceil: boolean): ActShape {
    const h = windowOutputSize(x.h, kernel[0], stride[0], pads[0], pads[2], ceil);
    const w = windowOutputSize(x.w, kernel[1], stride[1], pads[1], pads[3], ceil);
    if (h < 1 || w < 1) n.fail('E_CONVERT_GRAPH', `a ${kernel[0]}x${kernel[1]} window does not fit its ${x.h}x${x.w} input`);
    return { c, h, w };
  }
}

/** The channel axis, after resolving a negative axis against the tensor's rank. */
function isChannelAxis(axis: number, rank: number): boolean {
  return (axis < 0 ? axis + rank : axis) === 1;
}

function pool(c: Converter, n: NodeView, kind: 'maxpool' | 'avgpool'): void {
  const x = c.act4(n, 0);
  n.noDilation();
  const kernel = n.pair('kernel_shape');
  const stride = n.pair('strides', [1, 1]);
  const pads = resolvePads(n, x.shape, kernel, stride);
  const ceil = n.int('ceil_mode', 0) !== 0;
  const output = n.node.outputs[0];
  const shape = c.window(n, x.shape, x.shape.c, kernel, stride, pads, ceil);
  const base = { input: x.name, output, kernel, stride, pads, ceil };
  c.emit(n, kind === 'maxpool' ? { op: 'maxpool', ...base } : { op: 'avgpool', ...base, countIncludePad: n.int('count_include_pad', 0) !== 0 }, shape);
}

/**
 * Gemm or MatMul of a [1,K] activation with a constant matrix: y = alpha x B + beta C, as a 1x1
 * conv on the [K,1,1] map (weight [N,K,1,1], bias beta C). After a global average pool the
 * quantizer moves it in front of the pool, which is exact (both are linear).
 */
function dense(c: Converter, n: NodeView, transB: boolean, alpha: number, beta: number): void {
  const x = c.act(n, 0);
  if (x.rank !== 2) n.fail('E_CONVERT_GRAPH', `input ${quote(n.node.inputs[0])} is [1,${x.shape.c},${x.shape.h},${x.shape.w}]; squeezewasm converts ${n.node.opType} of a flattened [1,K] activation`);
  const dims = c.constant(n, 1, 'weight').dims;
  const K = x.shape.c;
  const N = dims[transB ? 0 : 1];
  if (dims.length !== 2 || dims[transB ? 1 : 0] !== K) {
    n.fail('E_CONVERT_TENSOR', `weight ${quote(n.node.inputs[1])} has shape [${dims}]; a [1,${K}] input needs ${transB ? `[N,${K}]` : `[${K},N]`}`);
  }
  const b = c.floats(n, 1, 'weight');
  const weight = Float32Array.from({ length: N * K }, (_, i) => alpha * b[transB ? i : (i % K) * N + Math.floor(i / K)]);
  const output = n.node.outputs[0];
  const op: ConvOp = { op: 'conv', input: x.name, output, weight: c.derived(n.node.inputs[1], output, [N, K, 1, 1], weight), kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], relu: false };
  if (beta !== 0) {
    const cDims = c.constant(n, 2, 'bias').dims;
    if (!(cDims.length <= 2 && cDims.every((d, i) => d === 1 || (i === cDims.length - 1 && d === N)))) {
      n.fail('E_CONVERT_TENSOR', `bias ${quote(n.node.inputs[2])} has shape [${cDims}]; squeezewasm needs [${N}], [1,${N}] or a scalar`);
    }
    const v = c.floats(n, 2, 'bias');
    op.bias = c.derived(n.node.inputs[2], output, [N], Float32Array.from({ length: N }, (_, o) => beta * v[v.length === 1 ? 0 : o]));
  }
  c.emit(n, op, { c: N, h: 1, w: 1 }, 2);
}

/** How one ONNX op type converts: the attributes it understands (any other is refused) and the translation. */
interface OpRule {
  attrs: readonly string[];
  convert(c: Converter, n: NodeView): void;
}

/** The supported ONNX ops. Adding one is adding an entry here. */
const RULES: Record<string, OpRule> = {
  Conv: {
    attrs: ['auto_pad', 'dilations', 'group', 'kernel_shape', 'pads', 'strides'],
    convert(c, n) {
      const x = c.act4(n, 0);
      const group = n.int('group', 1);
      if (group !== 1) n.fail('E_CONVERT_ATTR', `group ${group} is not supported; squeezewasm converts ordinary convolutions (group 1) only`);
      n.noDilation();
      const dims = c.constant(n, 1, 'weight').dims;
      if (dims.length !== 4) n.fail('E_CONVERT_TENSOR', `weight has shape [${dims}]; a 2-D convolution needs [out, in, kh, kw]`);
      const [outC, , kh, kw] = dims;
      const kernel = n.pair('kernel_shape', [kh, kw]);
      if (kernel[0] !== kh || kernel[1] !== kw) n.fail('E_CONVERT_ATTR', `kernel_shape [${kernel}] does not match the weight's [${kh},${kw}]`);
      const weight = c.weight(n, 1, 'weight', [outC, x.shape.c, kh, kw]);
      const bias = n.node.inputs[2] ? c.weight(n, 2, 'bias', [outC]) : undefined;
      const stride = n.pair('strides', [1, 1]);
      const pads = resolvePads(n, x.shape, kernel, stride);
      const op: Op = { op: 'conv', input: x.name, output: n.node.outputs[0], weight, ...(bias === undefined ? {} : { bias }), kernel, stride, pads, relu: false };
      c.emit(n, op, c.window(n, x.shape, outC, kernel, stride, pads, false));
    },
  },
  Relu: {
    attrs: [],
    convert(c, n) {
      const x = c.act(n, 0);
      c.emit(n, { op: 'relu', input: x.name, output: n.node.outputs[0] }, x.shape, x.rank);
    },
  },
  BatchNormalization: {
    attrs: ['epsilon', 'momentum', 'spatial', 'training_mode'],
    convert(c, n) {
      if (n.int('training_mode', 0) !== 0) n.fail('E_CONVERT_ATTR', 'training_mode 1 is not supported; export the model for inference');
      if (n.int('spatial', 1) !== 1) n.fail('E_CONVERT_ATTR', 'spatial 0 (per-pixel statistics) is not supported');
      const x = c.act4(n, 0);
      const conv = c.foldInto(n, 0, 'BatchNormalization');
      const oc = x.shape.c;
      const [gamma, beta, mean, variance] = ['scale', 'B', 'mean', 'var'].map((role, i) => c.floats(n, i + 1, role, [oc]));
      const epsilon = n.float('epsilon', 1e-5);
      // y = (conv(x) - mean) * gamma / sqrt(var + eps) + beta: a per-channel scale and shift, which
      // the conv absorbs exactly (in float64, rounded once to float32).
      const scale = Float64Array.from(gamma, (g, o) => g / Math.sqrt(variance[o] + epsilon));
      if (!scale.every(Number.isFinite)) n.fail('E_CONVERT_TENSOR', 'var + epsilon must be positive');
      const w = c.tensors.get(conv.weight)!;
      const per = w.data.length / oc;
      // A loop: Float32Array.from with a map function runs many times slower in V8.
      const weight = new Float32Array(w.data.length);
      for (let i = 0; i < weight.length; i++) weight[i] = w.data[i] * scale[Math.floor(i / per)];
      const bias0 = conv.bias === undefined ? undefined : c.tensors.get(conv.bias)!.data;
      const bias = Float32Array.from(scale, (sc, o) => ((bias0?.[o] ?? 0) - mean[o]) * sc + beta[o]);
      const out = n.node.outputs[0];
      conv.weight = c.derived(conv.weight, out, w.shape, weight);
      conv.bias = c.derived(conv.bias ?? n.node.inputs[2], out, [oc], bias);
      c.folded(n, conv, x);
    },
  },
  Add: {
    attrs: [],
    convert(c, n) {
      if (n.node.inputs.length !== 2) n.fail('E_CONVERT_GRAPH', `has ${n.node.inputs.length} inputs, expected 2`);
      const k = n.node.inputs.findIndex((name) => c.consts.has(name));
      if (k >= 0) {
        // A constant addend is a bias (a MatMul's, typically): fold it into the layer before.
        const x = c.act(n, 1 - k);
        const conv = c.foldInto(n, 1 - k, 'adding a constant');
        const t = c.constant(n, k, 'addend');
        const dims = [...Array(Math.max(0, x.rank - t.dims.length)).fill(1), ...t.dims];
        const perChannel = dims.length === x.rank && dims.every((d, i) => d === 1 || (i === 1 && d === x.shape.c));
        if (!perChannel) n.fail('E_CONVERT_GRAPH', `adding a constant of shape [${t.dims}] is not supported; squeezewasm folds a per-channel constant ([C], [1,C] or [C,1,1]) into the bias`);
        const v = c.floats(n, k, 'addend');
        const old = conv.bias === undefined ? undefined : c.tensors.get(conv.bias)!.data;
        const bias = Float32Array.from({ length: x.shape.c }, (_, o) => (old?.[o] ?? 0) + v[v.length === 1 ? 0 : o]);
        conv.bias = c.derived(conv.bias ?? n.node.inputs[k], n.node.outputs[0], [x.shape.c], bias);
        c.folded(n, conv, x);
        return;
      }
      const [a, b] = [c.act(n, 0), c.act(n, 1)];
      if (a.rank !== b.rank || a.shape.c !== b.shape.c || a.shape.h !== b.shape.h || a.shape.w !== b.shape.w) {
        n.fail('E_CONVERT_GRAPH', `inputs differ in shape ([${a.shape.c},${a.shape.h},${a.shape.w}] and [${b.shape.c},${b.shape.h},${b.shape.w}]); squeezewasm adds tensors of the same shape only (no broadcasting)`);
      }
      c.emit(n, { op: 'add', inputs: [a.name, b.name], output: n.node.outputs[0], relu: false }, a.shape, a.rank);
    },
  },
  Clip: {
    attrs: ['min', 'max'],
    convert(c, n) {
      // Opset 11 moved the bounds from attributes to optional scalar inputs.
      const bound = (i: number, attr: string, fallback: number): number => {
        if (c.opset < 11) return n.float(attr, fallback);
        if (!n.node.inputs[i]) return fallback;
        const v = c.floats(n, i, attr);
        if (v.length !== 1) n.fail('E_CONVERT_TENSOR', `${attr} ${quote(n.node.inputs[i])} must be a scalar`);
        return v[0];
      };
      // Exporters write "no bound" as +-FLT_MAX.
      const lo = bound(1, 'min', -Infinity);
      const hi = bound(2, 'max', Infinity);
      const min = lo <= -3.4e38 ? -Infinity : lo;
      const max = hi >= 3.4e38 ? Infinity : hi;
      if ((min !== 0 && min !== -Infinity) || !(max > 0)) {
        n.fail('E_CONVERT_ATTR', `Clip to [${lo}, ${hi}] is not supported; squeezewasm converts Clip with min 0 or none and a positive max or none (ReLU, ReLU6)`);
      }
      const x = c.act(n, 0);
      if (max === Infinity) {
        if (min === 0) c.emit(n, { op: 'relu', input: x.name, output: n.node.outputs[0] }, x.shape, x.rank);
        else c.alias(n, x);
        return;
      }
      const conv = c.foldInto(n, 0, `Clip with max ${max}`);
      conv.relu = min === 0;
      conv.max = max;
      c.folded(n, conv, x);
    },
  },
  Gemm: {
    attrs: ['alpha', 'beta', 'transA', 'transB'],
    convert(c, n) {
      if (n.int('transA', 0) !== 0) n.fail('E_CONVERT_ATTR', 'transA 1 is not supported; the activation must be the [1,K] left operand');
      dense(c, n, n.int('transB', 0) !== 0, n.float('alpha', 1), n.node.inputs[2] ? n.float('beta', 1) : 0);
    },
  },
  MatMul: {
    attrs: [],
    convert: (c, n) => dense(c, n, false, 1, 0),
  },
  MaxPool: {
    attrs: ['auto_pad', 'ceil_mode', 'dilations', 'kernel_shape', 'pads', 'storage_order', 'strides'],
    convert(c, n) {
      if (n.int('storage_order', 0) !== 0) n.fail('E_CONVERT_ATTR', 'storage_order 1 (column-major) is not supported');
      pool(c, n, 'maxpool');
    },
  },
  AveragePool: {
    attrs: ['auto_pad', 'ceil_mode', 'count_include_pad', 'dilations', 'kernel_shape', 'pads', 'strides'],
    convert: (c, n) => pool(c, n, 'avgpool'),
  },
  GlobalAveragePool: {
    attrs: [],
    convert(c, n) {
      const x = c.act4(n, 0);
      c.emit(n, { op: 'globalavgpool', input: x.name, output: n.node.outputs[0] }, { c: x.shape.c, h: 1, w: 1 });
    },
  },
  Concat: {
    attrs: ['axis'],
    convert(c, n) {
      if (n.node.inputs.length === 0) n.fail('E_CONVERT_GRAPH', 'has no inputs');
      const xs = n.node.inputs.map((_, i) => c.act(n, i));
      const axis = n.int('axis');
      const rank = xs[0].rank;
      if (!xs.every((x) => x.rank === rank) || !isChannelAxis(axis, rank)) {
        n.fail('E_CONVERT_ATTR', `concatenation along axis ${axis} is not supported; squeezewasm concatenates channels (axis 1) only`);
      }
      const { h, w } = xs[0].shape;
      if (xs.some((x) => x.shape.h !== h || x.shape.w !== w)) n.fail('E_CONVERT_GRAPH', 'inputs differ in height or width');
      const shape = { c: xs.reduce((sum, x) => sum + x.shape.c, 0), h, w };
      c.emit(n, { op: 'concat', inputs: xs.map((x) => x.name), output: n.node.outputs[0] }, shape, rank);
    },
  },
  Softmax: {
    attrs: ['axis'],
    convert(c, n) {
      const x = c.act(n, 0);
      // Opset 13 changed the default axis from 1 to -1; on [1,C,1,1] only the channel axis is a softmax over classes.
      const axis = n.int('axis', c.opset >= 13 ? -1 : 1);
      if (!isChannelAxis(axis, x.rank) || x.shape.h !== 1 || x.shape.w !== 1) {
        const dims = x.rank === 2 ? `[1,${x.shape.c}]` : `[1,${x.shape.c},${x.shape.h},${x.shape.w}]`;
        n.fail('E_CONVERT_ATTR', `softmax along axis ${axis} of a ${dims} tensor is not supported; squeezewasm supports softmax over the classes of a [1,C] or [1,C,1,1] output`);
      }
      c.emit(n, { op: 'softmax', input: x.name, output: n.node.outputs[0] }, x.shape, x.rank);
    },
  },
  Dropout: {
    attrs: ['ratio', 'seed'],
    convert(c, n) {
      if (n.node.inputs[2]) n.fail('E_CONVERT_GRAPH', 'a training_mode input is not supported; export the model for inference');
      c.alias(n, c.act(n, 0));
    },
  },
  Identity: { attrs: [], convert: (c, n) => c.alias(n, c.act(n, 0)) },
  Flatten: {
    attrs: ['axis'],
    convert(c, n) {
      const x = c.act(n, 0);
      const axis = n.int('axis', 1);
      if (!isChannelAxis(axis, x.rank) || x.shape.h !== 1 || x.shape.w !== 1) {
        n.fail('E_CONVERT_GRAPH', `flattening [1,${x.shape.c},${x.shape.h},${x.shape.w}] at axis ${axis} is not supported; squeezewasm only removes a Flatten of a [1,C,1,1] tensor at axis 1`);
      }
      c.alias(n, x, 2);
    },
  },
  Reshape: {
    attrs: ['allowzero'],
    convert(c, n) {
      const x = c.act(n, 0);
      const target = intValues(c.constant(n, 1, 'shape'), (m) => n.fail('E_CONVERT_TENSOR', `shape ${quote(n.node.inputs[1])} ${m}`));
      const dims = x.rank === 4 ? [1, x.shape.c, x.shape.h, x.shape.w] : [1, x.shape.c];
      const copyZeros = n.int('allowzero', 0) === 0;
      const out = target.map((v, i) => (v === 0 && copyZeros ? dims[i] : v));
      const known = out.filter((v) => v !== -1).reduce((a, b) => a * b, 1);
      const resolved = out.map((v) => (v === -1 ? x.shape.c / known : v));
      const flattens = resolved.length === 2 && resolved[0] === 1 && resolved[1] === x.shape.c && out.filter((v) => v === -1).length <= 1;
      if (x.shape.h !== 1 || x.shape.w !== 1 || !flattens) {
        n.fail('E_CONVERT_GRAPH', `reshaping [${dims}] to [${target}] is not supported; squeezewasm only removes a Reshape that flattens [1,C,1,1] to [1,C]`);
      }
      c.alias(n, x, 2);
    },
  },
  Constant: {
    attrs: ['value'],
    convert(c, n) {
      const out = n.node.outputs[0] ?? '';
      const t = n.tensor('value') ?? n.fail('E_CONVERT_ATTR', 'only a tensor "value" is supported');
      // Its readers take it as a weight, bias, bound or shape; one that needs an activation refuses it.
      if (c.graph.outputs.some((o) => o.name === out)) n.fail('E_CONVERT_GRAPH', 'a Constant cannot be the graph output');
      if (c.consts.has(out) || c.acts.has(out)) n.fail('E_CONVERT_GRAPH', `output ${quote(out)} is defined more than once`);
      c.consts.set(out, t);
    },
  },
};

function graphInput(graph: OnnxGraph, meta: ConvertMeta): { name: string; height: number; width: number } {
  const initNames = new Set(graph.initializers.map((t) => t.name));
  const inputs = graph.inputs.filter((v) => !initNames.has(v.name));
  const fail: (m: string) => never = (m) => {
    throw new ConvertError('E_CONVERT_INPUT', m);
  };
  if (inputs.length !== 1) {
    const names = [...inputs.slice(0, 5).map((v) => quote(v.name)), ...(inputs.length > 5 ? ['...'] : [])];
    fail(`the ONNX graph has ${inputs.length} inputs (${names.join(', ')}); squeezewasm needs exactly one image input`);
  }
  const { name, elemType, dims } = inputs[0];
  const where = `ONNX input ${quote(name)}`;
  if (elemType !== OnnxDataType.FLOAT) fail(`${where} is ${typeName(elemType ?? 0)}; squeezewasm needs a float32 image input`);
  if (!dims || dims.length !== 4 || dims[1] !== 3) {
    const looksNhwc = dims?.length === 4 && dims[3] === 3;
    fail(`${where} has shape [${dims ?? 'unknown'}]; squeezewasm needs an NCHW image tensor [1,3,H,W]${looksNhwc ? ' (this looks like NHWC)' : ''}`);
  }
  // A symbolic batch dimension is fine: squeezewasm always runs batch 1.
  if (typeof dims[0] === 'number' && dims[0] !== 1) fail(`${where} has batch size ${dims[0]}; squeezewasm needs batch 1`);
  const side = (v: number | string, given: number | undefined, what: string): number => {
    if (given !== undefined) return given;
    if (typeof v !== 'number' || v < 1) return fail(`${where} has no fixed ${what} (${quote(v)}); pass meta.input.${what}`);
    return v;
  };
  return { name, height: side(dims[2], meta.input.height, 'height'), width: side(dims[3], meta.input.width, 'width') };
}

/**
 * Converts an ONNX SqueezeNet-style classifier into a squeezewasm {@link Model}.
 *
 * Supports Conv, Relu (fused into the preceding Conv or Add when it is that op's only reader),
 * MaxPool, AveragePool, GlobalAveragePool, Concat along channels, Add of two activations (a
 * residual connection), Gemm and MatMul of a flattened activation (as 1x1 convs), Softmax over
 * classes (last op only). Folds BatchNormalization, an Add of a per-channel constant and a
 * Clip with min 0 or none (ReLU6) into the Conv, Gemm or MatMul before them, and removes Dropout,
 * Identity, and the Flatten / Reshape of a [1,C,1,1] output to [1,C]. The graph may branch and
 * join (a DAG in topological order). Weights keep the initializer names (folded ones too, unless
 * the initializer is shared) and ONNX layout; activations keep their ONNX names, the final one
 * takes the name of the ONNX graph output.
 * @param bytes an ONNX ModelProto (weights inside the file, float32, opset 7 or newer).
 * @param meta name, preprocessing, labels and provenance, which ONNX does not record.
 * @throws ConvertError naming the node and the problem when the model uses anything unsupported,
 *   or when the bytes are not a well-formed ONNX file; ArgumentError if an argument has the wrong type.
 */
export function convertOnnx(bytes: Uint8Array, meta: ConvertMeta): ValidModel {
  checkArguments('convertOnnx', { bytes: [bytes, 'bytes'] });
  checkMeta('convertOnnx', meta);
  const { graph, opsetImports } = parseOnnx(bytes);
  const opset = opsetImports.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version;
  if (opset === undefined || opset < MIN_OPSET) {
    throw new ConvertError(
      'E_CONVERT_OPSET',
      `the ONNX model uses opset ${opset ?? '(none)'}; squeezewasm converts opset ${MIN_OPSET} or newer (upgrade it with onnx.version_converter)`,
    );
  }
  if (graph.outputs.length !== 1) {
    throw new ConvertError('E_CONVERT_GRAPH', `the ONNX graph has ${graph.outputs.length} outputs; squeezewasm needs exactly one (the class scores)`);
  }
  const input = graphInput(graph, meta);
  const c = new Converter(graph, opset);
  c.acts.set(input.name, { name: input.name, shape: { c: 3, h: input.height, w: input.width }, rank: 4 });

  graph.nodes.forEach((node, i) => {
    const n = new NodeView(node, i);
    // Own properties only: an op called "constructor" must not find Object's.
    const rule = (node.domain === '' || node.domain === 'ai.onnx') && Object.hasOwn(RULES, node.opType) ? RULES[node.opType] : undefined;
    if (!rule) {
      const op = node.domain ? `${node.domain}.${node.opType}` : node.opType;
      const where = node.name ? `node ${quote(node.name)}` : `node #${i}, unnamed, output ${quote(node.outputs[0] ?? '')}`;
      throw new ConvertError('E_CONVERT_OP', `unsupported ONNX op ${quote(op)} (${where}); squeezewasm converts ${Object.keys(RULES).join(', ')}`);
    }
    const unknown = node.attributes.find((a) => !rule.attrs.includes(a.name));
    if (unknown) n.fail('E_CONVERT_ATTR', `attribute ${quote(unknown.name)} is not supported`);
    node.outputs.slice(1).forEach((extra) => {
      if (extra && c.used(extra)) n.fail('E_CONVERT_GRAPH', `its extra output ${quote(extra)} is used; squeezewasm computes only the first output of ${node.opType}`);
    });
    rule.convert(c, n);
  });

  const outName = graph.outputs[0].name;
  const y = c.acts.get(outName);
  if (!y) throw new ConvertError('E_CONVERT_GRAPH', `the ONNX graph output ${quote(outName)} is not computed by any supported node`);
  const ops = opsComputing(fuseRelus(c.ops, y.name), y.name);
  const { channelOrder, resizeShorter, divisor, mean, std } = meta.input;
  // Name the output as ONNX does when it was renamed by a removed Flatten / Reshape and nothing else reads it.
  const last = ops.find((op) => op.output === y.name);
  if (last && y.name !== outName && !ops.some((op) => opInputs(op).includes(y.name))) last.output = outName;

  // Folding may leave an initializer behind (a shared one, copied per folded layer).
  const used = new Set(ops.flatMap((op) => (op.op === 'conv' ? [op.weight, op.bias ?? ''] : [])));
  for (const name of c.tensors.keys()) if (!used.has(name)) c.tensors.delete(name);
  const model: Model = {
    name: meta.name,
    precision: 'f32',
    input: { ...input, channelOrder, resizeShorter, divisor, mean: [...mean], std: [...std] },
    ops,
    output: last?.output ?? y.name,
    labels: meta.labels,
    tensors: c.tensors,
    provenance: meta.provenance,
  };
  const long = [input.name, ...ops.map((op) => op.output), ...c.tensors.keys()].find((s) => s.length > MAX_NAME_LENGTH);
  if (long) throw new ConvertError('E_CONVERT_GRAPH', `tensor name ${quote(long)} is longer than the model format's ${MAX_NAME_LENGTH} characters`);
  return checkConverted(model);
}

/**
 * A minimal ONNX protobuf writer: just enough of ModelProto to emit a graph of standard ops with
 * dense initializers for onnxruntime. Field numbers are those src/convert/onnx.ts reads (onnx.proto3);
 * the encoder is separate because the reader is built for untrusted input and this side has none.
 * @packageDocumentation
 */

/** ONNX TensorProto.DataType values the writer emits. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6 } as const;

/** Typed arrays the writer can store, each mapped to its ONNX data type. */
export type TensorData = Float32Array | Uint8Array | Int8Array | Int32Array;

/** A constant tensor (an initializer). */
export interface TensorSpec {
  name: string;
  dims: number[];
  data: TensorData;
}

/** A node attribute: an integer or a list of integers (all SqueezeNet's ops need). */
export interface AttributeSpec {
  name: string;
  i?: number;
  ints?: number[];
}

/** A graph node. */
export interface NodeSpec {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Operator domain; default (empty) is ai.onnx. */
  domain?: string;
  attributes?: AttributeSpec[];
}

/** A graph input or output: a tensor of `elemType` with static `dims`. */
export interface ValueInfoSpec {
  name: string;
  elemType: number;
  dims: number[];
}

/** A whole model: one graph plus its opset imports. */
export interface ModelSpec {
  irVersion: number;
  opsets: { domain: string; version: number }[];
  producerName: string;
  graph: {
    name: string;
    nodes: NodeSpec[];
    initializers: TensorSpec[];
    inputs: ValueInfoSpec[];
    outputs: ValueInfoSpec[];
  };
}

const WIRE_VARINT = 0;
const WIRE_LEN = 2;
const utf8 = new TextEncoder();

/** Appends protobuf fields to a growable buffer. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private pos = 0;

  /** An unsigned or signed 64-bit varint; negative values take ten bytes, as int64 fields require. */
  varint(field: number, v: number): this {
    this.key(field, WIRE_VARINT);
    return this.rawVarint(v);
  }

  bytes(field: number, b: Uint8Array): this {
    this.key(field, WIRE_LEN);
    this.rawVarint(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, utf8.encode(s));
  }

  /** An embedded message, written by `fill` into its own writer so its length is known. */
  message(field: number, fill: (w: ProtoWriter) => void): this {
    const sub = new ProtoWriter();
    fill(sub);
    return this.bytes(field, sub.finish());
  }

  /** A packed repeated varint field (how proto3 writes repeated scalars). */
  packedVarints(field: number, values: readonly number[]): this {
    const sub = new ProtoWriter();
    for (const v of values) sub.rawVarint(v);
    return this.bytes(field, sub.finish());
  }

  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  private key(field: number, wire: number): void {
    this.rawVarint(field * 8 + wire);
  }

  private rawVarint(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`varint ${v} is not a safe integer`);
    let x = BigInt.asUintN(64, BigInt(v));
    this.reserve(10);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
    return this;
  }

  private reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
}

function dataType(data: TensorData): number {
  if (data instanceof Float32Array) return OnnxType.FLOAT;
  if (data instanceof Uint8Array) return OnnxType.UINT8;
  if (data instanceof Int8Array) return OnnxType.INT8;
  return OnnxType.INT32;
}

// TensorProto: dims 1, data_type 2, name 8, raw_data 9. raw_data is little-endian, which is the
// byte order of typed arrays on every host that runs WebAssembly engines in practice.
function writeTensor(w: ProtoWriter, t: TensorSpec): void {
  const expected = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== expected) throw new RangeError(`tensor ${t.name}: ${t.data.length} values for dims [${t.dims}]`);
  w.packedVarints(1, t.dims).varint(2, dataType(t.data)).string(8, t.name);
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

// AttributeProto: name 1, i 3, ints 8, type 20 (INT 2, INTS 7).
function writeAttribute(w: ProtoWriter, a: AttributeSpec): void {
  w.string(1, a.name);
  if (a.i !== undefined) w.varint(3, a.i).varint(20, 2);
  else if (a.ints !== undefined) w.packedVarints(8, a.ints).varint(20, 7);
  else throw new RangeError(`attribute ${a.name} has no value`);
}

// NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7.
function writeNode(w: ProtoWriter, n: NodeSpec): void {
  for (const x of n.inputs) w.string(1, x);
  for (const x of n.outputs) w.string(2, x);
  if (n.name) w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (m) => writeAttribute(m, a));
  if (n.domain) w.string(7, n.domain);
}

// ValueInfoProto: name 1, type 2 -> TypeProto.tensor_type 1 -> elem_type 1, shape 2 -> dim 1 -> dim_value 1.
function writeValueInfo(w: ProtoWriter, v: ValueInfoSpec): void {
  w.string(1, v.name).message(2, (type) =>
    type.message(1, (tensor) =>
      tensor.varint(1, v.elemType).message(2, (shape) => {
        for (const d of v.dims) shape.message(1, (dim) => dim.varint(1, d));
      }),
    ),
  );
}

/**
 * Encodes a model as ONNX protobuf bytes (ModelProto: ir_version 1, producer_name 2, graph 7,
 * opset_import 8; GraphProto: node 1, name 2, initializer 5, input 11, output 12).
 * @throws RangeError if a tensor's data does not match its dims or an attribute has no value.
 */
export function writeOnnx(model: ModelSpec): Uint8Array {
  const w = new ProtoWriter();
  w.varint(1, model.irVersion).string(2, model.producerName);
  w.message(7, (g) => {
    for (const n of model.graph.nodes) g.message(1, (m) => writeNode(m, n));
    g.string(2, model.graph.name);
    for (const t of model.graph.initializers) g.message(5, (m) => writeTensor(m, t));
    for (const v of model.graph.inputs) g.message(11, (m) => writeValueInfo(m, v));
    for (const v of model.graph.outputs) g.message(12, (m) => writeValueInfo(m, v));
  });
  for (const o of model.opsets) w.message(8, (m) => m.string(1, o.domain).varint(2, o.version));
  return w.finish();
}

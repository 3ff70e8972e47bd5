/**
 * A protobuf encoder and a tiny ONNX model builder, so converter tests can make small models in
 * memory (and malformed ones on purpose) without onnx or python.
 */

/** The varint bytes of `v`; negative numbers become 64-bit two's complement (10 bytes), as protobuf encodes int64. */
export function varintBytes(v: number | bigint): number[] {
  let x = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const b = Number(x & 0x7fn);
    x >>= 7n;
    out.push(x ? b | 0x80 : b);
  } while (x);
  return out;
}

/** Builds one message field by field. Every method appends a key and a value. */
export class ProtoWriter {
  private readonly out: number[] = [];

  key(field: number, wire: number): this {
    this.out.push(...varintBytes(field * 8 + wire));
    return this;
  }
  varint(field: number, v: number | bigint): this {
    this.key(field, 0).out.push(...varintBytes(v));
    return this;
  }
  fixed32(field: number, v: number): this {
    return this.fixed(field, 5, 4, (d) => d.setUint32(0, v, true));
  }
  float(field: number, v: number): this {
    return this.fixed(field, 5, 4, (d) => d.setFloat32(0, v, true));
  }
  fixed64(field: number, v: bigint): this {
    return this.fixed(field, 1, 8, (d) => d.setBigUint64(0, v, true));
  }
  double(field: number, v: number): this {
    return this.fixed(field, 1, 8, (d) => d.setFloat64(0, v, true));
  }
  bytes(field: number, b: Uint8Array | number[]): this {
    this.key(field, 2).out.push(...varintBytes(b.length));
    // One push per byte: spreading a weight tensor's bytes would overflow the call stack.
    for (const x of b) this.out.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }
  packedVarints(field: number, vs: (number | bigint)[]): this {
    return this.bytes(field, vs.flatMap((v) => varintBytes(v)));
  }
  packedFloats(field: number, vs: number[]): this {
    const b = new Uint8Array(vs.length * 4);
    vs.forEach((v, i) => new DataView(b.buffer).setFloat32(i * 4, v, true));
    return this.bytes(field, b);
  }
  /** Appends bytes as they are, for malformed input. */
  raw(b: number[] | Uint8Array): this {
    this.out.push(...b);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.out);
  }

  private fixed(field: number, wire: number, size: number, set: (d: DataView) => void): this {
    const b = new Uint8Array(size);
    set(new DataView(b.buffer));
    this.key(field, wire).out.push(...b);
    return this;
  }
}

/** ONNX TensorProto.DataType codes used in tests. */
export const DT = { FLOAT: 1, INT32: 6, INT64: 7, FLOAT16: 10 } as const;

/** A TensorProto: `floats` for FLOAT, `ints` for INT32/INT64; `raw` stores them in raw_data instead of the typed fields. */
export interface TensorSpec {
  name?: string;
  dims: number[];
  dataType?: number;
  floats?: number[];
  ints?: number[];
  raw?: boolean;
  external?: boolean;
}

/** Attribute values: integer -> INT, integer[] -> INTS, string -> STRING, `{ f }` -> FLOAT, `{ tensor }` -> TENSOR. */
export type AttrValue = number | number[] | string | { f: number } | { tensor: TensorSpec };

export interface NodeSpec {
  op: string;
  name?: string;
  domain?: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrValue>;
}

export interface ValueSpec {
  name: string;
  dims?: (number | string)[];
  elemType?: number;
}

export interface GraphSpec {
  nodes: NodeSpec[];
  initializers?: (TensorSpec & { name: string })[];
  inputs: ValueSpec[];
  outputs: ValueSpec[];
  opset?: number;
}

/** Encodes a TensorProto. */
export function tensorProto(t: TensorSpec): ProtoWriter {
  const w = new ProtoWriter();
  for (const d of t.dims) w.varint(1, d);
  const type = t.dataType ?? (t.ints ? DT.INT64 : DT.FLOAT);
  w.varint(2, type);
  if (t.name !== undefined) w.string(8, t.name);
  if (t.raw) {
    const values = t.floats ?? t.ints ?? [];
    const size = type === DT.INT64 ? 8 : type === DT.FLOAT16 ? 2 : 4;
    const b = new Uint8Array(values.length * size);
    const d = new DataView(b.buffer);
    values.forEach((v, i) => {
      if (type === DT.FLOAT) d.setFloat32(i * 4, v, true);
      else if (type === DT.INT64) d.setBigInt64(i * 8, BigInt(v), true);
      else if (type === DT.INT32) d.setInt32(i * 4, v, true);
      else d.setUint16(i * 2, v, true);
    });
    w.bytes(9, b);
  } else if (t.floats) w.packedFloats(4, t.floats);
  else if (t.ints) w.packedVarints(type === DT.INT64 ? 7 : 5, t.ints);
  if (t.external) w.varint(14, 1);
  return w;
}

function attributeProto(name: string, v: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(1, name);
  if (typeof v === 'number') return w.varint(3, v).varint(20, 2);
  if (typeof v === 'string') return w.string(4, v).varint(20, 3);
  if (Array.isArray(v)) {
    for (const x of v) w.varint(8, x);
    return w.varint(20, 7);
  }
  if ('f' in v) return w.float(2, v.f).varint(20, 1);
  return w.message(5, tensorProto(v.tensor)).varint(20, 4);
}

function valueInfo(v: ValueSpec): ProtoWriter {
  const w = new ProtoWriter().string(1, v.name);
  if (!v.dims) return w;
  const shape = new ProtoWriter();
  for (const d of v.dims) shape.message(1, typeof d === 'number' ? new ProtoWriter().varint(1, d) : new ProtoWriter().string(2, d));
  const tensorType = new ProtoWriter().varint(1, v.elemType ?? DT.FLOAT).message(2, shape);
  return w.message(2, new ProtoWriter().message(1, tensorType));
}

/** Encodes a whole ModelProto (IR version 7, one default-domain opset import). */
export function buildOnnx(g: GraphSpec): Uint8Array {
  const graph = new ProtoWriter();
  for (const n of g.nodes) {
    const node = new ProtoWriter();
    for (const i of n.inputs) node.string(1, i);
    for (const o of n.outputs) node.string(2, o);
    if (n.name) node.string(3, n.name);
    node.string(4, n.op);
    for (const [k, v] of Object.entries(n.attrs ?? {})) node.message(5, attributeProto(k, v));
    if (n.domain) node.string(7, n.domain);
    graph.message(1, node);
  }
  graph.string(2, 'test-graph');
  for (const t of g.initializers ?? []) graph.message(5, tensorProto(t));
  for (const v of g.inputs) graph.message(11, valueInfo(v));
  for (const v of g.outputs) graph.message(12, valueInfo(v));
  return new ProtoWriter()
    .varint(1, 7)
    .string(2, 'onnx-builder')
    .message(7, graph)
    .message(8, new ProtoWriter().string(1, '').varint(2, g.opset ?? 13))
    .finish();
}

/** Deterministic float values for a weight tensor of `shape` (small, distinct, both signs). */
export function weightValues(shape: number[], seed: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) => Math.fround(((((i + 1) * 7919 + seed * 104729) % 2001) - 1000) / 4000));
}

/** A weight initializer with deterministic values. */
export function weight(name: string, shape: number[], seed: number, raw = true): TensorSpec & { name: string } {
  return { name, dims: shape, floats: weightValues(shape, seed), raw };
}

/**
 * A SqueezeNet in miniature: conv 3x3/2 + ReLU, ceil-mode max pool, one Fire module (squeeze 1x1,
 * expand 1x1 and 3x3 pad 1, concat), a 1x1 classifier with ReLU, global average pool, Flatten and
 * Softmax. Input "data" [1,3,16,16], 5 classes. `edit` may change the spec before encoding.
 */
export function miniSqueezeNet(edit?: (g: GraphSpec) => void): { spec: GraphSpec; bytes: Uint8Array } {
  const spec: GraphSpec = {
    inputs: [{ name: 'data', dims: [1, 3, 16, 16] }],
    outputs: [{ name: 'prob', dims: [1, 5] }],
    initializers: [
      weight('conv1_W', [4, 3, 3, 3], 1),
      weight('conv1_b', [4], 2, false),
      weight('sq_W', [2, 4, 1, 1], 3),
      weight('sq_b', [2], 4),
      weight('e1_W', [3, 2, 1, 1], 5, false),
      weight('e1_b', [3], 6),
      weight('e3_W', [3, 2, 3, 3], 7),
      weight('e3_b', [3], 8),
      weight('cls_W', [5, 6, 1, 1], 9),
      weight('cls_b', [5], 10),
    ],
    nodes: [
      { op: 'Conv', name: 'conv1', inputs: ['data', 'conv1_W', 'conv1_b'], outputs: ['conv1_out'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 0, 0] } },
      { op: 'Relu', name: 'relu1', inputs: ['conv1_out'], outputs: ['relu1_out'] },
      { op: 'MaxPool', name: 'pool1', inputs: ['relu1_out'], outputs: ['pool1_out'], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 } },
      { op: 'Conv', name: 'fire/squeeze', inputs: ['pool1_out', 'sq_W', 'sq_b'], outputs: ['sq_out'], attrs: { kernel_shape: [1, 1] } },
      { op: 'Relu', name: 'fire/relu_squeeze', inputs: ['sq_out'], outputs: ['sq_relu'] },
      { op: 'Conv', name: 'fire/expand1x1', inputs: ['sq_relu', 'e1_W', 'e1_b'], outputs: ['e1_out'] },
      { op: 'Relu', name: 'fire/relu_expand1x1', inputs: ['e1_out'], outputs: ['e1_relu'] },
      { op: 'Conv', name: 'fire/expand3x3', inputs: ['sq_relu', 'e3_W', 'e3_b'], outputs: ['e3_out'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      { op: 'Relu', name: 'fire/relu_expand3x3', inputs: ['e3_out'], outputs: ['e3_relu'] },
      { op: 'Concat', name: 'fire/concat', inputs: ['e1_relu', 'e3_relu'], outputs: ['fire_out'], attrs: { axis: 1 } },
      { op: 'Conv', name: 'classifier', inputs: ['fire_out', 'cls_W', 'cls_b'], outputs: ['cls_out'] },
      { op: 'Relu', name: 'relu_cls', inputs: ['cls_out'], outputs: ['cls_relu'] },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['cls_relu'], outputs: ['gap_out'] },
      { op: 'Flatten', name: 'flatten', inputs: ['gap_out'], outputs: ['logits'], attrs: { axis: 1 } },
      { op: 'Softmax', name: 'softmax', inputs: ['logits'], outputs: ['prob'], attrs: { axis: 1 } },
    ],
  };
  edit?.(spec);
  return { spec, bytes: buildOnnx(spec) };
}

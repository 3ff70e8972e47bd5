/**
 * The .tflite reader (src/convert/tflite-read.ts) and the flatbuffer reader under it
 * (src/convert/flatbuffer.ts): real files (TensorFlow's converter: the committed fixtures; our
 * own writer: SqueezeNet 1.1 from the bundled weights), small models built here field by field,
 * and hostile bytes, each of which must end in a typed ConvertError, quickly.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bytes, finish, refs, scalar, string, table, vector, type FbField, type FbObject, type FbTable as WriterTable } from '../../bench/peers/flatbuffer-writer.js';
import { modelToTflite } from '../../bench/peers/tflite-writer.js';
import { EMPTY_TABLE, FlatBuffer } from '../../src/convert/flatbuffer.js';
import { readTflite, TFLITE_CAPS, type TfliteGraph } from '../../src/convert/tflite-read.js';
import { BUILTIN_OPERATOR_NAMES, BuiltinOperator, BuiltinOptions, Fields as F, PLACEHOLDER_FOR_GREATER_OP_CODES, TensorType } from '../../src/convert/tflite-schema.js';
import { ConvertError } from '../../src/errors.js';
import { readModel } from '../../src/model/read.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';
import { rng } from '../helpers/wasm.js';

// Plain Uint8Arrays, not Buffers: a Buffer's slice() is a view, and the tests that corrupt copies need copies.
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/tflite/${name}`, import.meta.url)));
const weights = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));

/** What reading `file` threw, after checking it threw within `ms` milliseconds. */
function refusal(file: Uint8Array, ms = 1000): unknown {
  const start = performance.now();
  const error = thrown(() => readTflite(file));
  expect(performance.now() - start).toBeLessThan(ms);
  return error;
}

/** Expects reading `file` to fail with ConvertError `code` whose one-line message matches `pattern`. */
function expectRefused(file: Uint8Array, code: string, pattern?: RegExp): void {
  const e = expectSqueezeError(refusal(file), ConvertError, code, pattern);
  expect(e.message).not.toMatch(/\n/);
}

// ---------------------------------------------------------------------------------------------
// A small model built field by field with bench/peers/flatbuffer-writer.ts: a 1x1 conv on a
// 4x4x2 input, three output channels. Each test changes the parts it is about.

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
const int = (v: number): FbField => scalar('int', v);

interface TensorSpec {
  name?: string;
  shape?: number[];
  type?: number;
  buffer?: number;
  quant?: WriterTable;
  /** More [slot, field] pairs of the Tensor table. */
  extra?: [number, FbField | FbObject][];
}

function tensor(t: TensorSpec): WriterTable {
  const T = F.Tensor;
  return table([
    [T.shape, t.shape && vector('int', t.shape)],
    [T.type, t.type === undefined ? undefined : scalar('byte', t.type)],
    [T.buffer, t.buffer === undefined ? undefined : scalar('uint', t.buffer)],
    [T.name, t.name === undefined ? undefined : string(t.name)],
    [T.quantization, t.quant],
    ...(t.extra ?? []),
  ]);
}

function quant(scale: number[], zeroPoint: number[], dimension?: number): WriterTable {
  const Q = F.QuantizationParameters;
  return table([[Q.scale, vector('float', scale)], [Q.zero_point, vector('long', zeroPoint)], [Q.quantized_dimension, dimension === undefined ? undefined : int(dimension)]]);
}

function operatorCode(code: number, version = 1, custom?: string, deprecated = Math.min(code, PLACEHOLDER_FOR_GREATER_OP_CODES)): WriterTable {
  const C = F.OperatorCode;
  return table([[C.deprecated_builtin_code, scalar('byte', deprecated)], [C.custom_code, custom === undefined ? undefined : string(custom)], [C.version, int(version)], [C.builtin_code, int(code)]]);
}

function operator(opcode: number, inputs: number[], outputs: number[], options?: [number, WriterTable]): WriterTable {
  const O = F.Operator;
  return table([
    [O.opcode_index, scalar('uint', opcode)], [O.inputs, vector('int', inputs)], [O.outputs, vector('int', outputs)],
    [O.builtin_options_type, options && scalar('ubyte', options[0])], [O.builtin_options, options?.[1]],
  ]);
}

const conv2d = (stride = 1): [number, WriterTable] => [BuiltinOptions.Conv2DOptions, table([
  [F.Conv2DOptions.padding, scalar('byte', 1)], [F.Conv2DOptions.stride_w, int(stride)], [F.Conv2DOptions.stride_h, int(stride)], [F.Conv2DOptions.fused_activation_function, scalar('byte', 1)],
])];

const W = [0.5, -1, 2, 0.25, 1, -0.5];
const B = [0.1, 0.2, 0.3];

interface ModelSpec {
  identifier: string;
  version: number;
  description: string;
  codes: WriterTable[];
  tensors: WriterTable[];
  ops: WriterTable[];
  buffers: WriterTable[];
  inputs: number[];
  outputs: number[];
  /** Subgraphs after the first (which is made of the fields above). */
  moreSubgraphs: WriterTable[];
}

function baseSpec(): ModelSpec {
  return {
    identifier: 'TFL3',
    version: 3,
    description: 'tiny conv',
    codes: [operatorCode(BuiltinOperator.CONV_2D)],
    tensors: [
      tensor({ name: 'input', shape: [1, 4, 4, 2], type: TensorType.FLOAT32, buffer: 0 }),
      tensor({ name: 'w', shape: [3, 1, 1, 2], type: TensorType.FLOAT32, buffer: 1 }),
      tensor({ name: 'b', shape: [3], type: TensorType.FLOAT32, buffer: 2 }),
      tensor({ name: 'output', shape: [1, 4, 4, 3], type: TensorType.FLOAT32, buffer: 0 }),
    ],
    ops: [operator(0, [0, 1, 2], [3], conv2d())],
    buffers: [table([]), table([[F.Buffer.data, bytes(f32Bytes(W), 16)]]), table([[F.Buffer.data, bytes(f32Bytes(B), 16)]])],
    inputs: [0],
    outputs: [3],
    moreSubgraphs: [],
  };
}

function build(changes: Partial<ModelSpec> = {}): Uint8Array {
  const s = { ...baseSpec(), ...changes };
  const G = F.SubGraph;
  const graph = table([[G.tensors, refs(s.tensors)], [G.inputs, vector('int', s.inputs)], [G.outputs, vector('int', s.outputs)], [G.operators, refs(s.ops)], [G.name, string('main')]]);
  const M = F.Model;
  return finish(table([
    [M.version, scalar('uint', s.version)], [M.operator_codes, refs(s.codes)], [M.subgraphs, refs([graph, ...s.moreSubgraphs])],
    [M.description, string(s.description)], [M.buffers, refs(s.buffers)],
  ]), s.identifier);
}

/** The base model with its tensor 1 (the weights) replaced. */
const withWeights = (t: TensorSpec): Uint8Array => {
  const tensors = baseSpec().tensors;
  tensors[1] = tensor({ name: 'w', shape: [3, 1, 1, 2], type: TensorType.FLOAT32, buffer: 1, ...t });
  return build({ tensors });
};

/** `file` with the uint32 at `pos` set to `value` (a copy). */
function patched(file: Uint8Array, pos: number, value: number): Uint8Array {
  const copy = file.slice();
  new DataView(copy.buffer).setUint32(pos, value, true);
  return copy;
}

/**
 * `file` with every element of a vector of offsets pointing at its element 0's target: many
 * entries sharing one table, which the writer cannot express and a hostile file can.
 */
function shareFirst(file: Uint8Array, vectorOf: (model: ReturnType<FlatBuffer['root']>) => { start: number; length: number }): Uint8Array {
  const copy = file.slice();
  const view = new DataView(copy.buffer);
  const v = vectorOf(new FlatBuffer(copy, 'TFLite').root('Model'));
  const target = v.start + view.getUint32(v.start, true);
  for (let i = 1; i < v.length; i++) view.setUint32(v.start + 4 * i, target - (v.start + 4 * i), true);
  return copy;
}

const subgraph0 = (m: ReturnType<FlatBuffer['root']>) => m.vector(F.Model.subgraphs, 4, 'subgraphs')!.table(0, 'SubGraph');

// ---------------------------------------------------------------------------------------------

describe('tflite-schema', () => {
  it('names every operator code the way the named constants number them', () => {
    for (const [name, code] of Object.entries(BuiltinOperator)) expect(BUILTIN_OPERATOR_NAMES[code]).toBe(name);
    expect(BUILTIN_OPERATOR_NAMES[PLACEHOLDER_FOR_GREATER_OP_CODES]).toBe('PLACEHOLDER_FOR_GREATER_OP_CODES');
    expect([BUILTIN_OPERATOR_NAMES[128], BUILTIN_OPERATOR_NAMES[161], BUILTIN_OPERATOR_NAMES.length]).toEqual(['CUMSUM', 'RIGHT_SHIFT', 207]);
    expect(new Set(BUILTIN_OPERATOR_NAMES).size).toBe(207);
  });
});

describe('readTflite: a model built field by field', () => {
  it('reads every field of the tiny conv', () => {
    const g = readTflite(build(), { checkAlignment: true });
    expect(g).toEqual({
      version: 3, description: 'tiny conv', subgraphs: 1, inputs: [0], outputs: [3],
      tensors: [
        { index: 0, name: 'input', shape: [1, 4, 4, 2], type: 'float32' },
        { index: 1, name: 'w', shape: [3, 1, 1, 2], type: 'float32', data: f32Bytes(W) },
        { index: 2, name: 'b', shape: [3], type: 'float32', data: f32Bytes(B) },
        { index: 3, name: 'output', shape: [1, 4, 4, 3], type: 'float32' },
      ],
      ops: [{
        index: 0, op: 'CONV_2D', version: 1, inputs: [0, 1, 2], outputs: [3],
        options: { kind: 'conv', padding: 'VALID', strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, activation: 'RELU' },
      }],
    } satisfies TfliteGraph);
  });

  it('gives constants as views of the file, not copies', () => {
    const file = build();
    const data = readTflite(file).tensors[1].data!;
    expect(data.buffer).toBe(file.buffer);
  });

  it('reads per-channel int8 weights with their scales along dimension 0', () => {
    const buffers = baseSpec().buffers;
    buffers[1] = table([[F.Buffer.data, bytes(new Uint8Array(Int8Array.of(1, -2, 3, -4, 5, -6).buffer), 16)]]);
    const tensors = baseSpec().tensors;
    tensors[1] = tensor({ name: 'w', shape: [3, 1, 1, 2], type: TensorType.INT8, buffer: 1, quant: quant([0.5, 0.25, 0.125], []) });
    tensors[0] = tensor({ name: 'input', shape: [1, 4, 4, 2], type: TensorType.INT8, buffer: 0, quant: quant([0.02], [-128]) });
    const g = readTflite(build({ tensors, buffers }));
    expect(g.tensors[1].quant).toEqual({ scale: Float32Array.of(0.5, 0.25, 0.125), zeroPoint: new Int32Array(3), dimension: 0 });
    expect(g.tensors[0].quant).toEqual({ scale: Float32Array.of(0.02), zeroPoint: Int32Array.of(-128), dimension: 0 });
    expect(Array.from(new Int8Array(g.tensors[1].data!.slice().buffer))).toEqual([1, -2, 3, -4, 5, -6]);
  });

  it('treats an empty QuantizationParameters table (what TensorFlow writes for float tensors) as none', () => {
    const tensors = baseSpec().tensors;
    tensors[0] = tensor({ name: 'input', shape: [1, 4, 4, 2], type: TensorType.FLOAT32, buffer: 0, quant: table([]) });
    expect(readTflite(build({ tensors })).tensors[0].quant).toBeUndefined();
  });

  it('reads a shape signature with unknown (-1) dimensions, and names types it has no use for "other"', () => {
    const tensors = baseSpec().tensors;
    tensors[0] = tensor({ name: 'input', shape: [1, 4, 4, 2], type: TensorType.FLOAT64, buffer: 0, extra: [[F.Tensor.shape_signature, vector('int', [-1, 4, 4, 2])]] });
    const t = readTflite(build({ tensors })).tensors[0];
    expect([t.type, t.shapeSignature]).toEqual(['other', [-1, 4, 4, 2]]);
  });

  it('resolves operator codes as max(deprecated_builtin_code, builtin_code), names custom ops and codes it does not know', () => {
    const codes = [
      table([[F.OperatorCode.deprecated_builtin_code, scalar('byte', BuiltinOperator.CONV_2D)]]), // a file from before builtin_code: version 1 by default
      operatorCode(150, 2), // GELU: 127 in the byte
      operatorCode(BuiltinOperator.CUSTOM, 1, 'MyOp'),
      operatorCode(250, 1),
    ];
    const ops = codes.map((_, i) => operator(i, [0], [3]));
    const g = readTflite(build({ codes, ops }));
    expect(g.ops.map(({ op, customName, version, options }) => ({ op, customName, version, options }))).toEqual([
      { op: 'CONV_2D', customName: undefined, version: 1, options: { kind: 'conv', padding: 'SAME', strideH: 0, strideW: 0, dilationH: 1, dilationW: 1, activation: 'NONE' } },
      { op: 'GELU', customName: undefined, version: 2, options: { kind: 'none' } },
      { op: 'CUSTOM', customName: 'MyOp', version: 1, options: { kind: 'none' } },
      { op: 'BUILTIN_250', customName: undefined, version: 1, options: { kind: 'none' } },
    ]);
  });

  it('decodes each kind of options, and an absent options table as the schema defaults', () => {
    const O = BuiltinOptions;
    const cases: [number, [number, WriterTable] | undefined, object][] = [
      [BuiltinOperator.DEPTHWISE_CONV_2D, [O.DepthwiseConv2DOptions, table([[F.DepthwiseConv2DOptions.stride_h, int(2)], [F.DepthwiseConv2DOptions.dilation_w_factor, int(3)], [F.DepthwiseConv2DOptions.fused_activation_function, scalar('byte', 3)]])],
        { kind: 'conv', padding: 'SAME', strideH: 2, strideW: 0, dilationH: 1, dilationW: 3, activation: 'RELU6' }],
      [BuiltinOperator.MAX_POOL_2D, [O.Pool2DOptions, table([[F.Pool2DOptions.padding, scalar('byte', 1)], [F.Pool2DOptions.stride_w, int(2)], [F.Pool2DOptions.stride_h, int(2)], [F.Pool2DOptions.filter_width, int(3)], [F.Pool2DOptions.filter_height, int(5)]])],
        { kind: 'pool', padding: 'VALID', strideH: 2, strideW: 2, filterH: 5, filterW: 3, activation: 'NONE' }],
      [BuiltinOperator.AVERAGE_POOL_2D, undefined, { kind: 'pool', padding: 'SAME', strideH: 0, strideW: 0, filterH: 0, filterW: 0, activation: 'NONE' }],
      [BuiltinOperator.FULLY_CONNECTED, [O.FullyConnectedOptions, table([[F.FullyConnectedOptions.fused_activation_function, scalar('byte', 1)], [F.FullyConnectedOptions.keep_num_dims, scalar('bool', 1)]])],
        { kind: 'fullyConnected', activation: 'RELU', weightsFormat: 0, keepNumDims: true }],
      [BuiltinOperator.SOFTMAX, [O.SoftmaxOptions, table([[F.SoftmaxOptions.beta, scalar('float', 1)]])], { kind: 'softmax', beta: 1 }],
      [BuiltinOperator.SOFTMAX, undefined, { kind: 'softmax', beta: 0 }],
      [BuiltinOperator.CONCATENATION, [O.ConcatenationOptions, table([[F.ConcatenationOptions.axis, int(-1)], [F.ConcatenationOptions.fused_activation_function, scalar('byte', 9)]])],
        { kind: 'concat', axis: -1, activation: 'other' }],
      [BuiltinOperator.ADD, [O.AddOptions, table([[F.AddOptions.fused_activation_function, scalar('byte', 2)]])], { kind: 'add', activation: 'RELU_N1_TO_1' }],
      [BuiltinOperator.MEAN, [O.ReducerOptions, table([[F.ReducerOptions.keep_dims, scalar('bool', 1)]])], { kind: 'reducer', keepDims: true }],
      [BuiltinOperator.SUM, undefined, { kind: 'reducer', keepDims: false }],
      [BuiltinOperator.RESHAPE, [O.ReshapeOptions, table([[F.ReshapeOptions.new_shape, vector('int', [1, -1])]])], { kind: 'reshape', newShape: [1, -1] }],
      [BuiltinOperator.RESHAPE, [O.ReshapeOptions, table([])], { kind: 'reshape' }],
      [BuiltinOperator.PAD, [O.PadOptions, table([])], { kind: 'none' }],
      [BuiltinOperator.CONV_2D, [O.Conv2DOptions, table([[F.Conv2DOptions.padding, scalar('byte', 7)], [F.Conv2DOptions.dilation_h_factor, int(2)]])],
        { kind: 'conv', padding: 'other', strideH: 0, strideW: 0, dilationH: 2, dilationW: 1, activation: 'NONE' }],
    ];
    const g = readTflite(build({ codes: cases.map(([code]) => operatorCode(code)), ops: cases.map(([, options], i) => operator(i, [0], [3], options)) }));
    expect(g.ops.map((o) => o.options)).toEqual(cases.map(([, , expected]) => expected));
  });

  it('reads buffers kept after the flatbuffer (Buffer.offset and size, from the start of the file)', () => {
    const external = (offset: number, size: number) => table([[F.Buffer.offset, scalar('long', offset)], [F.Buffer.size, scalar('long', size)]]);
    // The flatbuffer's length does not depend on the offset's value: build once to learn it.
    const at = build({ buffers: [table([]), external(0, 24), table([[F.Buffer.data, bytes(f32Bytes(B), 16)]])] }).length;
    const flat = build({ buffers: [table([]), external(at, 24), table([[F.Buffer.data, bytes(f32Bytes(B), 16)]])] });
    expect(flat.length).toBe(at);
    const file = new Uint8Array(at + 24);
    file.set(flat);
    file.set(f32Bytes(W), at);
    expect(readTflite(file).tensors[1].data).toEqual(f32Bytes(W));
    // Offset 1 is how converters write "unset": no data.
    expect(readTflite(build({ buffers: [table([]), external(1, 24), table([])] })).tensors[1].data).toBeUndefined();
    expectRefused(file.subarray(0, at + 23), 'E_CONVERT_FLATBUFFER', new RegExp(`tensor 1 "w"'s buffer 1 lies at bytes ${at} to ${at + 24}, past the end of the file \\(${at + 23} bytes; truncated\\?\\)`));
  });

  it('reads subgraph 0 only, and says how many there are', () => {
    const g = readTflite(build({ moreSubgraphs: [table([]), table([])] }));
    expect([g.subgraphs, g.ops.length]).toEqual([3, 1]);
  });

  it('reads a file that is a view into a larger buffer, at any byte offset', () => {
    const file = build();
    const shifted = new Uint8Array(file.length + 3).subarray(1, file.length + 1);
    shifted.set(file);
    expect(readTflite(shifted, { checkAlignment: true })).toEqual(readTflite(file));
  });
});

describe('readTflite: real files', () => {
  it('reads TensorFlow\'s float SqueezeNet (test/fixtures/tflite/keras-squeezenet-f32.tflite)', () => {
    const g = readTflite(fixture('keras-squeezenet-f32.tflite'), { checkAlignment: true });
    const fire = ['CONV_2D', 'CONV_2D', 'CONV_2D', 'CONCATENATION'];
    expect(g.ops.map((o) => o.op)).toEqual(['CONV_2D', 'MAX_POOL_2D', ...fire, ...fire, 'MAX_POOL_2D', ...fire, 'CONV_2D', 'MEAN', 'SOFTMAX']);
    const [input, output] = [g.tensors[g.inputs[0]], g.tensors[g.outputs[0]]];
    expect([input.type, input.shape, output.type, output.shape]).toEqual(['float32', [1, 96, 96, 3], 'float32', [1, 5]]);
    expect(g.ops[0].options).toMatchObject({ kind: 'conv', padding: 'SAME', strideH: 2, strideW: 2, activation: 'RELU' });
    expect(g.ops[1].options).toMatchObject({ kind: 'pool', padding: 'VALID', filterH: 3, filterW: 3, strideH: 2 });
    expect(g.ops.at(-1)!.options).toEqual({ kind: 'softmax', beta: 1 });
    const stem = g.tensors[g.ops[0].inputs[1]];
    expect([stem.shape, stem.data!.length, stem.quant]).toEqual([[96, 7, 7, 3], 96 * 7 * 7 * 3 * 4, undefined]);
    expect(g.tensors.filter((t) => t.shapeSignature).every((t) => t.shapeSignature![0] === -1)).toBe(true);
  });

  it('reads TensorFlow\'s int8 SqueezeNet: per-channel weights, int32 biases, int8 input', () => {
    const g = readTflite(fixture('keras-squeezenet-int8.tflite'), { checkAlignment: true });
    const convs = g.ops.filter((o) => o.op === 'CONV_2D');
    expect(convs.length).toBe(11);
    for (const conv of convs) {
      const [x, w, b] = conv.inputs.map((i) => g.tensors[i]);
      const channels = w.shape[0];
      expect([x.type, w.type, b.type]).toEqual(['int8', 'int8', 'int32']);
      expect([w.quant!.scale.length, w.quant!.dimension, w.quant!.zeroPoint.every((z) => z === 0)]).toEqual([channels, 0, true]);
      expect([b.quant!.scale.length, b.data!.length]).toEqual([channels, 4 * channels]);
      expect(w.data!.length).toBe(w.shape.reduce((a, d) => a * d));
    }
    expect(g.tensors[g.inputs[0]].quant!.scale.length).toBe(1);
  });

  it('reads SqueezeNet 1.1 as bench/peers/tflite-writer.ts writes it from the bundled models', () => {
    for (const precision of ['f32', 'int8']) {
      const g = readTflite(modelToTflite(readModel(weights(`squeezenet1.1-${precision}`)), { stopBeforeSoftmax: true }), { checkAlignment: true });
      const count = (op: string) => g.ops.filter((o) => o.op === op).length;
      expect([count('CONV_2D'), count('MAX_POOL_2D'), count('CONCATENATION'), count('MEAN')]).toEqual([26, 3, 8, 1]);
      expect(g.tensors[g.outputs[0]].shape).toEqual([1, 1000]);
      const w = g.tensors[g.ops.find((o) => o.op === 'CONV_2D')!.inputs[1]];
      expect(w.shape).toEqual([64, 3, 3, 3]);
      if (precision === 'int8') expect([w.type, w.quant!.scale.length, w.quant!.dimension]).toEqual(['int8', 64, 0]);
      else expect([w.type, w.quant]).toEqual(['float32', undefined]);
    }
  });
});

describe('readTflite: files that are not TFLite models', () => {
  it('refuses another file identifier, saying it is not a TFLite file and quoting what it found safely', () => {
    expectRefused(build({ identifier: 'TFL2' }), 'E_CONVERT_FLATBUFFER', /^not a TFLite file: it has file identifier "TFL2", where a TFLite file has "TFL3"$/);
    expectRefused(weights('squeezenet1.0-int8'), 'E_CONVERT_FLATBUFFER', /not a TFLite file: it has file identifier/);
    const file = build();
    file.set([0x1b, 0x5b, 0x32, 0x4a], 4);
    expectRefused(file, 'E_CONVERT_FLATBUFFER', /file identifier "\\x1b\[2J"/);
    expectRefused(new Uint8Array(0), 'E_CONVERT_FLATBUFFER', /only 0 bytes, too few for a file identifier/);
  });

  it('refuses other schema versions and a model without subgraphs', () => {
    expectRefused(build({ version: 2 }), 'E_CONVERT_FLATBUFFER', /schema version 2; squeezewasm reads version 3/);
    const M = F.Model;
    expectRefused(finish(table([[M.version, scalar('uint', 3)]]), 'TFL3'), 'E_CONVERT_FLATBUFFER', /the model has no subgraph/);
  });

  it('refuses indices out of range', () => {
    const tensors = baseSpec().tensors;
    tensors[1] = tensor({ name: 'w', shape: [3, 1, 1, 2], type: TensorType.FLOAT32, buffer: 3 });
    expectRefused(build({ tensors }), 'E_CONVERT_FLATBUFFER', /tensor 1 "w" refers to buffer 3, but the model has 3 buffers/);
    expectRefused(build({ ops: [operator(1, [0, 1, 2], [3])] }), 'E_CONVERT_FLATBUFFER', /operator 0 uses operator code 1, but the model has 1/);
    expectRefused(build({ ops: [operator(0, [0, 4, 2], [3])] }), 'E_CONVERT_FLATBUFFER', /operator 0 \(CONV_2D\)'s inputs list tensor 4, but the subgraph has 4 tensors/);
    expectRefused(build({ ops: [operator(0, [0, -2, 2], [3])] }), 'E_CONVERT_FLATBUFFER', /inputs list tensor -2/);
    expect(readTflite(build({ ops: [operator(0, [0, 1, -1], [3])] })).ops[0].inputs).toEqual([0, 1, -1]);
    expectRefused(build({ ops: [operator(0, [0, 1, 2], [-1])] }), 'E_CONVERT_FLATBUFFER', /outputs list tensor -1/);
    expectRefused(build({ inputs: [7] }), 'E_CONVERT_FLATBUFFER', /SubGraph.inputs lists tensor 7, but the subgraph has 4 tensors/);
    expectRefused(build({ outputs: [-1] }), 'E_CONVERT_FLATBUFFER', /SubGraph.outputs lists tensor -1/);
  });

  it('refuses impossible shapes and unknown types', () => {
    expectRefused(withWeights({ shape: [3, -1, 1, 2] }), 'E_CONVERT_FLATBUFFER', /tensor 1 "w" has shape \[3,-1,1,2\], with a dimension below 0/);
    expectRefused(withWeights({ extra: [[F.Tensor.shape_signature, vector('int', [3, -2, 1, 2])]] }), 'E_CONVERT_FLATBUFFER', /shape_signature \[3,-2,1,2\], with a dimension below -1/);
    expectRefused(withWeights({ extra: [[F.Tensor.shape_signature, vector('int', [-1])]] }), 'E_CONVERT_FLATBUFFER', /shape signature \[-1\] of another rank/);
    expectRefused(withWeights({ type: 21 }), 'E_CONVERT_FLATBUFFER', /has type 21, which is no TFLite tensor type/);
    expectRefused(withWeights({ type: -3 }), 'E_CONVERT_FLATBUFFER', /has type -3/);
    expectRefused(withWeights({ shape: [3, 1, 1, 3] }), 'E_CONVERT_FLATBUFFER', /tensor 1 "w" \(float32, shape \[3,1,1,3\]\) needs 36 bytes of data but its buffer has 24/);
  });

  it('refuses quantization that does not add up, and tensors it cannot give values for', () => {
    expectRefused(withWeights({ quant: quant([1, 2, 3], [0, 0]) }), 'E_CONVERT_FLATBUFFER', /has 3 quantization scales but 2 zero points/);
    expectRefused(withWeights({ quant: quant([], [0]) }), 'E_CONVERT_FLATBUFFER', /has 0 quantization scales but 1 zero points/);
    expectRefused(withWeights({ quant: quant([1, 2, 3], [], 1) }), 'E_CONVERT_FLATBUFFER', /shape \[3,1,1,2\]\) has 3 quantization scales along dimension 1/);
    expectRefused(withWeights({ quant: quant([1, 2], []) }), 'E_CONVERT_FLATBUFFER', /has 2 quantization scales along dimension 0/);
    expectRefused(withWeights({ quant: quant([1], [], -1) }), 'E_CONVERT_FLATBUFFER', /along dimension -1/);
    expectRefused(withWeights({ quant: quant([1], [2 ** 31]) }), 'E_CONVERT_FLATBUFFER', /zero point 2147483648, outside int32/);
    expectRefused(withWeights({ quant: quant([1], [2 ** 60]) }), 'E_CONVERT_FLATBUFFER', /is 1152921504606846976, beyond the exactly representable integers/);
    const details = table([[F.QuantizationParameters.details_type, scalar('ubyte', 1)], [F.QuantizationParameters.details, table([])]]);
    expectRefused(withWeights({ quant: details }), 'E_CONVERT_TENSOR', /TFLite tensor 1 "w" has custom quantization/);
    expectRefused(withWeights({ extra: [[F.Tensor.sparsity, table([])]] }), 'E_CONVERT_TENSOR', /tensor 1 "w" is sparse/);
    expectRefused(withWeights({ extra: [[F.Tensor.external_buffer, scalar('uint', 1)]] }), 'E_CONVERT_TENSOR', /keeps its data in an external file/);
  });

  it('refuses options of another operator, negative operator codes, and invalid UTF-8 names', () => {
    expectRefused(build({ ops: [operator(0, [0, 1, 2], [3], [BuiltinOptions.Pool2DOptions, table([])])] }), 'E_CONVERT_FLATBUFFER', /operator 0 \(CONV_2D\) has builtin options of union type 5, where its options are type 1/);
    expectRefused(build({ codes: [operatorCode(-4, 1, undefined, -4)] }), 'E_CONVERT_FLATBUFFER', /operator code 0 has builtin code -4, which is no operator/);
    const file = withWeights({ name: 'wXyz' });
    const at = Buffer.from(file).indexOf('wXyz');
    file[at + 1] = 0xff;
    expectRefused(file, 'E_CONVERT_FLATBUFFER', /string Tensor.name is not valid UTF-8 text/);
  });
});

describe('flatbuffer: structure checks', () => {
  /**
   * A buffer: root offset 16, "TFL3", then `w` as little-endian uint32s from byte 8. The tests lay
   * out an 8-byte vtable (size and table size, then the offsets of slots 0 and 1) in the first two
   * words and the root table from byte 16: its soffset (8 reaches the vtable), then its fields.
   */
  const words = (...w: number[]): Uint8Array => {
    const out = new Uint8Array(8 + 4 * w.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, 16, true);
    out.set([0x54, 0x46, 0x4c, 0x33], 4);
    w.forEach((x, i) => v.setUint32(8 + 4 * i, x, true));
    return out;
  };
  const root = (b: Uint8Array) => new FlatBuffer(b, 'TFLite').root('Model');
  const expectFlat = (f: () => unknown, pattern: RegExp) => {
    const e = expectSqueezeError(thrown(f), ConvertError, 'E_CONVERT_FLATBUFFER', pattern);
    expect(e.message).toMatch(/; the file is truncated, corrupt or not a TFLite file$/);
  };

  it('reads a table, its absent fields as defaults', () => {
    // Field 0 at offset 4 holds 3; slot 1 is absent (offset 0), slots past the vtable too.
    const t = root(words(8 | (8 << 16), 4, 8, 3));
    expect([t.uint32(0), t.uint32(1, 7), t.has(0), t.has(5), t.table(1, 'x'), t.vector(2, 4, 'v')]).toEqual([3, 7, true, false, undefined, undefined]);
    expect([EMPTY_TABLE.int32(0, 5), EMPTY_TABLE.bool(3, true), EMPTY_TABLE.vector(0, 4, 'v')]).toEqual([5, true, undefined]);
  });

  it('refuses a root or offset outside the bytes', () => {
    expectFlat(() => root(patched(words(8 | (8 << 16), 4, 8, 3), 0, 0xfffffff0)), /table Model at byte 4294967280 needs 4 bytes but the file has 24/);
    expectFlat(() => root(new Uint8Array(2)), /offset to table Model at byte 0 needs 4 bytes but the file has 2/);
    // Field 0 (at byte 20) as an offset to 1000 bytes further on.
    expectFlat(() => root(words(8 | (8 << 16), 4, 8, 1000)).table(0, 'SubGraph'), /table SubGraph at byte 1020 needs 4 bytes/);
  });

  it('refuses vtables outside the bytes, of odd or tiny or huge sizes, and tables larger than the bytes', () => {
    expectFlat(() => root(words(8 | (8 << 16), 4, 100, 3)), /vtable of table Model \(at byte 16\) at byte -84 needs 4 bytes/);
    expectFlat(() => root(words(8 | (8 << 16), 4, -100 >>> 0, 3)), /vtable of table Model \(at byte 16\) at byte 116/);
    expectFlat(() => root(words(7 | (8 << 16), 4, 8, 3)), /vtable of table Model at byte 8 has size 7, not an even number of at least 4 bytes/);
    expectFlat(() => root(words(2 | (8 << 16), 4, 8, 3)), /has size 2/);
    expectFlat(() => root(words(65534 | (8 << 16), 4, 8, 3)), /vtable of table Model at byte 8 needs 65534 bytes but the file has 24/);
    expectFlat(() => root(words(8 | (4000 << 16), 4, 8, 3)), /table Model at byte 16 needs 4000 bytes/);
    expectFlat(() => root(words(8 | (2 << 16), 4, 8, 3)), /has size 2, less than its own 4-byte header/);
    // A vtable that is the table itself (soffset 0): its size word is the soffset's low half, 0.
    expectFlat(() => root(words(8 | (8 << 16), 4, 0, 3)), /has size 0/);
  });

  it('refuses a field outside its table', () => {
    expectFlat(() => root(words(8 | (8 << 16), 6, 8, 3)).uint32(0), /field 0 of table Model at byte 16 lies at offset 6, outside the table's 8 bytes/);
    expectFlat(() => root(words(8 | (8 << 16), 2, 8, 3)).uint8(0), /lies at offset 2/);
  });

  it('refuses vectors and strings longer than the bytes, and strings without their NUL', () => {
    // Field 0 (at byte 20) -> a vector or string at byte 24: its length, then `rest`.
    const withVector = (length: number, ...rest: number[]) => words(8 | (8 << 16), 4, 8, 4, length, ...rest);
    expectFlat(() => root(withVector(0xffffffff)).vector(0, 8, 'Model.buffers'), /vector Model.buffers of 4294967295 elements at byte 28 needs 34359738360 bytes but the file has 28/);
    expect(root(withVector(2, 7, 9)).vector(0, 4, 'v')!.int32(1)).toBe(9);
    expectFlat(() => root(withVector(2, 7, 9)).vector(0, 4, 'v')!.int32(2), /index 2 is outside vector v of 2 elements/);
    expectFlat(() => root(withVector(4, 0x64636261)).stringBytes(0, 'Model.description'), /string Model.description \(4 bytes and a NUL\) at byte 28 needs 5 bytes but the file has 32/);
    expectFlat(() => root(withVector(3, 0x64636261)).stringBytes(0, 'Model.description'), /string Model.description at byte 24 does not end in a NUL byte/);
    expect(new TextDecoder().decode(root(withVector(3, 0x00636261)).stringBytes(0, 's'))).toBe('abc');
    expectFlat(() => root(withVector(0xfffffffa)).stringBytes(0, 's'), /needs 4294967291 bytes/);
  });

  it('refuses 64-bit values a JS number would round', () => {
    const t = root(words(8 | (12 << 16), 4, 8, 0, 0x00200000));
    expectFlat(() => t.uint64(0), /field 0 of table Model at byte 20 is 9007199254740992, beyond the exactly representable integers/);
    expect(root(words(8 | (12 << 16), 4, 8, 0xffffffff, 0x001fffff)).uint64(0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(root(words(8 | (12 << 16), 4, 8, 1, 0xffe00000)).int64(0)).toBe(-(2 ** 53) + 1);
  });

  it('checks alignment only when asked to', () => {
    // The root table at byte 18, off a multiple of 4: a 4-byte vtable at 8, the soffset 10.
    const file = words(4 | (4 << 16), 0, 0, 0);
    const view = new DataView(file.buffer);
    view.setUint32(0, 18, true);
    view.setInt32(18, 10, true);
    expect(new FlatBuffer(file, 'TFLite').root('Model').has(0)).toBe(false);
    expectFlat(() => new FlatBuffer(file, 'TFLite', true).root('Model'), /table Model at byte 18 is not aligned to 4 bytes/);
  });
});

describe('readTflite: hostile bytes end in a typed error, quickly', () => {
  const CODES = ['E_CONVERT_FLATBUFFER', 'E_CONVERT_LIMIT', 'E_CONVERT_TENSOR'];

  /** Reads `file`; returns undefined or the ConvertError it threw (any other exception fails the test). */
  function attempt(file: Uint8Array): ConvertError | undefined {
    const e = thrown(() => readTflite(file));
    if (e === undefined) return undefined;
    if (!(e instanceof ConvertError) || !CODES.includes(e.code)) throw e;
    return e;
  }

  it('refuses every truncation of a small model (only the writer\'s zero padding at the end may go)', () => {
    const file = build();
    const full = readTflite(file);
    const start = performance.now();
    for (let n = 0; n < file.length; n++) {
      const e = attempt(file.subarray(0, n));
      if (e === undefined) expect([n > file.length - 16, readTflite(file.subarray(0, n))]).toEqual([true, full]);
      else expect(e.code).toBe('E_CONVERT_FLATBUFFER');
    }
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('survives every byte of a small model set to 0, 0xff, 0x80, 0x7f or flipped in its low bit', () => {
    const file = build();
    let refused = 0;
    for (let i = 0; i < file.length; i++) {
      for (const value of [0, 0xff, 0x80, 0x7f, file[i] ^ 1]) {
        const copy = file.slice();
        copy[i] = value;
        if (attempt(copy)) refused++;
      }
    }
    expect(refused).toBeGreaterThan(file.length);
  });

  it('survives truncations and random corruption of TensorFlow\'s int8 SqueezeNet', () => {
    const file = fixture('keras-squeezenet-int8.tflite');
    const r = rng(19);
    const start = performance.now();
    for (let n = 0; n < file.length; n += 211) expect(attempt(file.subarray(0, n))).toBeInstanceOf(ConvertError);
    for (let k = 0; k < 300; k++) {
      const copy = file.slice();
      // Mostly the flatbuffer's tables and vectors, which the first 4 KB and last 8 KB hold; the middle is weights.
      for (let j = 1 + Math.floor(r() * 4); j > 0; j--) {
        const at = r() < 0.5 ? Math.floor(r() * 4096) : file.length - 1 - Math.floor(r() * 8192);
        copy[at] = Math.floor(r() * 256);
      }
      attempt(copy);
    }
    expect(performance.now() - start).toBeLessThan(10_000);
  });

  it('refuses a flood of tensors, operators or operator codes before reading one', () => {
    const empties = (n: number) => Array.from({ length: n }, () => table([]));
    const expectCap = (file: Uint8Array, cap: keyof typeof TFLITE_CAPS, count: number) => {
      expectRefused(file, 'E_CONVERT_LIMIT', new RegExp(`has ${count} .*, more than the reader's cap \\(TFLITE_CAPS\\.${cap} = ${TFLITE_CAPS[cap]}\\)`));
    };
    expectCap(build({ tensors: empties(TFLITE_CAPS.tensors + 1) }), 'tensors', TFLITE_CAPS.tensors + 1);
    expectCap(build({ ops: empties(TFLITE_CAPS.ops + 1) }), 'ops', TFLITE_CAPS.ops + 1);
    expectCap(build({ codes: empties(TFLITE_CAPS.operatorCodes + 1) }), 'operatorCodes', TFLITE_CAPS.operatorCodes + 1);
    expectCap(withWeights({ shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }), 'dims', 9);
    expectCap(withWeights({ name: 'n'.repeat(TFLITE_CAPS.stringBytes + 1) }), 'stringBytes', TFLITE_CAPS.stringBytes + 1);
  });

  it('reads exactly as many tensors as the cap allows', () => {
    const tensors = [...baseSpec().tensors, ...Array.from({ length: TFLITE_CAPS.tensors - 4 }, () => table([]))];
    const start = performance.now();
    expect(readTflite(build({ tensors })).tensors.length).toBe(TFLITE_CAPS.tensors);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('counts what shared vectors and strings would build, across the file', () => {
    const expectWide = (file: Uint8Array, cap: keyof typeof TFLITE_CAPS) => {
      expectRefused(file, 'E_CONVERT_LIMIT', new RegExp(`the TFLite file has more than ${TFLITE_CAPS[cap]} .* in all, the reader's cap \\(TFLITE_CAPS\\.${cap}\\)`));
    };
    // 300 tensors sharing one 60 KB name: 18 MB of strings from a 60 KB file.
    const named = [tensor({ name: 'n'.repeat(60_000), type: 0, buffer: 0 }), ...Array.from({ length: 299 }, () => table([]))];
    const names = shareFirst(build({ tensors: named, inputs: [], outputs: [], ops: [] }), (m) => subgraph0(m).vector(F.SubGraph.tensors, 4, 't')!);
    expect(names.length).toBeLessThan(70_000);
    expectWide(names, 'totalStringBytes');
    // 100 operators sharing one list of 30 000 inputs: 3 million integers from a 120 KB file.
    const ops = [operator(0, new Array<number>(30_000).fill(0), [3]), ...Array.from({ length: 99 }, () => table([]))];
    expectWide(shareFirst(build({ ops }), (m) => subgraph0(m).vector(F.SubGraph.operators, 4, 'o')!), 'integers');
    // 5 tensors sharing one table of 300 000 scales.
    const q = [tensor({ name: 'q', shape: [300_000], type: TensorType.INT8, buffer: 0, quant: quant(new Array<number>(300_000).fill(1), []) }), ...Array.from({ length: 4 }, () => table([]))];
    expectWide(shareFirst(build({ tensors: q, inputs: [], outputs: [], ops: [] }), (m) => subgraph0(m).vector(F.SubGraph.tensors, 4, 't')!), 'quantization');
  });
});

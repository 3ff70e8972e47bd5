import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as litert from '@litertjs/core';
import { activationQuant, buildInt8, i16Tensors, quantGroups } from '../../src/convert/quantize.js';
import { validateModel } from '../../src/model/validate.js';
import type { ConvOp, Model, Op, Pads, Tensor } from '../../src/model/format.js';
import { compileTflite, loadLiteRt } from '../../bench/peers/litert.js';
import { BuiltinOperator, BuiltinOptions, Fields as F, Padding, TensorType, TFLITE_FILE_IDENTIFIER } from '../../bench/peers/tflite-schema.js';
import { modelToTflite } from '../../bench/peers/tflite-writer.js';
import { captureRun } from '../helpers/ort.js';
import { referenceRun } from '../helpers/reference-net.js';
import { rng } from '../helpers/wasm.js';
import { FbReader } from './tflite-reader.js';

// A SqueezeNet in miniature with every way the writer expresses padding: a VALID strided stem,
// a ceil-mode max pool that is VALID and one that is SAME, a Fire module (1x1 and 3x3 pad 1 =
// SAME expands into a concat), a residual ADD, SqueezeNet 1.0's 1x1 pad-1 conv (PAD + VALID), the
// global average pool and a softmax.
const H = 23, W = 27, CLASSES = 7;

function tinyNet(seed: number): Model {
  const r = rng(seed);
  const tensors = new Map<string, Tensor>();
  const ops: Op[] = [];
  const channels = new Map<string, number>([['data', 3]]);
  const random = (n: number, scale: number) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
  const conv = (input: string, output: string, oc: number, k: number, stride: number, pads: Pads, relu: boolean): void => {
    const ic = channels.get(input)!;
    tensors.set(`${output}.w`, { dtype: 'f32', shape: [oc, ic, k, k], data: random(oc * ic * k * k, Math.sqrt(3 / (ic * k * k))) });
    tensors.set(`${output}.b`, { dtype: 'f32', shape: [oc], data: random(oc, 0.1) });
    ops.push({ op: 'conv', input, output, weight: `${output}.w`, bias: `${output}.b`, kernel: [k, k], stride: [stride, stride], pads, relu });
    channels.set(output, oc);
  };
  const none: Pads = [0, 0, 0, 0];
  conv('data', 'stem', 8, 3, 2, none, true); // 23x27 -> 11x13
  ops.push({ op: 'maxpool', input: 'stem', output: 'pool1', kernel: [3, 3], stride: [2, 2], pads: none, ceil: true }); // -> 5x6: ceil and floor agree, VALID
  channels.set('pool1', 8);
  conv('pool1', 'sq', 4, 1, 1, none, true);
  conv('sq', 'e1', 6, 1, 1, none, true);
  conv('sq', 'e3', 6, 3, 1, [1, 1, 1, 1], true);
  ops.push({ op: 'concat', inputs: ['e1', 'e3'], output: 'fire' });
  channels.set('fire', 12);
  conv('fire', 'res', 12, 1, 1, none, false);
  ops.push({ op: 'add', inputs: ['fire', 'res'], output: 'sum', relu: true });
  channels.set('sum', 12);
  ops.push({ op: 'maxpool', input: 'sum', output: 'pool2', kernel: [2, 2], stride: [2, 2], pads: none, ceil: true }); // 5x6 -> 3x3: SAME (ceil adds a window on H)
  channels.set('pool2', 12);
  conv('pool2', 'final', CLASSES, 1, 1, [1, 1, 1, 1], true); // -> 5x5: PAD + VALID
  ops.push({ op: 'globalavgpool', input: 'final', output: 'gap' }, { op: 'softmax', input: 'gap', output: 'prob' });
  return {
    name: 'tiny-fire', precision: 'f32', ops, output: 'prob', tensors,
    input: { name: 'data', height: H, width: W, channelOrder: 'RGB', resizeShorter: 32, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    labels: Array.from({ length: CLASSES }, (_, i) => `class ${i}`),
    provenance: { source: 'test', license: 'none' },
  };
}

/** A random input in the preprocessing's range (-2..2), NHWC. */
function randomInput(seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: H * W * 3 }, () => r() * 4 - 2);
}

/** The model quantized as `squeezewasm quantize` would (all-int16 activations), calibrated on `nhwc`. */
function int8Of(model: Model, nhwc: Float32Array): Model {
  const data = new Float64Array(3 * H * W);
  for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) data[c * H * W + p] = nhwc[p * 3 + c];
  const acts = referenceRun(model, { c: 3, h: H, w: W, data });
  const groups = quantGroups(model);
  const ranges = new Map<string, [number, number]>();
  for (const [name, group] of groups) {
    const [lo, hi] = ranges.get(group) ?? [0, 0];
    const values = acts.get(name)!.data;
    ranges.set(group, [Math.min(lo, ...values), Math.max(hi, ...values)]);
  }
  return buildInt8(model, activationQuant(validateModel(model), groups, ranges, i16Tensors(model)));
}

/** The subgraph's operators as builtin codes with their input and output tensors. */
function readOps(bytes: Uint8Array) {
  const root = FbReader.root(bytes, TFLITE_FILE_IDENTIFIER);
  const codes = root.tables(F.Model.operator_codes);
  const graph = root.tables(F.Model.subgraphs)[0];
  const tensors = graph.tables(F.SubGraph.tensors);
  const ops = graph.tables(F.SubGraph.operators).map((op) => {
    const code = codes[op.uint(F.Operator.opcode_index)];
    return {
      code: code.int(F.OperatorCode.builtin_code),
      deprecated: code.byte(F.OperatorCode.deprecated_builtin_code),
      version: code.int(F.OperatorCode.version, 1),
      inputs: op.ints(F.Operator.inputs).map((i) => tensors[i]),
      outputs: op.ints(F.Operator.outputs).map((i) => tensors[i]),
      optionsType: op.ubyte(F.Operator.builtin_options_type),
      options: op.table(F.Operator.builtin_options),
    };
  });
  return { root, graph, tensors, ops, buffers: root.tables(F.Model.buffers) };
}

const quantOf = (t: FbReader) => {
  const q = t.table(F.Tensor.quantization)!;
  return { scale: q.floats(F.QuantizationParameters.scale), zeroPoint: q.longs(F.QuantizationParameters.zero_point), dimension: q.int(F.QuantizationParameters.quantized_dimension) };
};

describe('tflite-writer: the flatbuffer read back', () => {
  const model = tinyNet(1);
  const bytes = modelToTflite(model);
  const { root, graph, tensors, ops, buffers } = readOps(bytes);

  it('has the schema version, one subgraph, a signature and an empty buffer 0', () => {
    expect(root.uint(F.Model.version)).toBe(3);
    expect(buffers[0].has(F.Buffer.data)).toBe(false);
    const [signature] = root.tables(F.Model.signature_defs);
    expect(signature.string(F.SignatureDef.signature_key)).toBe('serving_default');
    expect(signature.tables(F.SignatureDef.inputs).map((t) => t.string(F.TensorMap.name))).toEqual(['data']);
    expect(signature.tables(F.SignatureDef.outputs).map((t) => t.string(F.TensorMap.name))).toEqual(['prob']);
    const input = tensors[graph.ints(F.SubGraph.inputs)[0]];
    expect([input.ints(F.Tensor.shape), input.byte(F.Tensor.type)]).toEqual([[1, H, W, 3], TensorType.FLOAT32]);
    expect(tensors[graph.ints(F.SubGraph.outputs)[0]].ints(F.Tensor.shape)).toEqual([1, CLASSES]);
  });

  it('writes the ops in order, padding each window exactly', () => {
    const B = BuiltinOperator;
    expect(ops.map((o) => o.code)).toEqual([B.CONV_2D, B.MAX_POOL_2D, B.CONV_2D, B.CONV_2D, B.CONV_2D, B.CONCATENATION, B.CONV_2D, B.ADD, B.MAX_POOL_2D, B.PAD, B.CONV_2D, B.MEAN, B.SOFTMAX, B.RESHAPE]);
    for (const o of ops) expect(o.deprecated).toBe(o.code);
    const padding = (i: number) => ops[i].options!.byte(ops[i].code === B.CONV_2D ? F.Conv2DOptions.padding : F.Pool2DOptions.padding);
    expect([0, 1, 4, 8, 10].map(padding)).toEqual([Padding.VALID, Padding.VALID, Padding.SAME, Padding.SAME, Padding.VALID]);
    expect(ops[0].options!.int(F.Conv2DOptions.stride_h)).toBe(2);
    expect(ops[0].optionsType).toBe(BuiltinOptions.Conv2DOptions);
    expect(ops[9].outputs[0].ints(F.Tensor.shape)).toEqual([1, 5, 5, 12]);
    expect(ops[9].inputs[1].ints(F.Tensor.shape)).toEqual([4, 2]);
    expect(ops[11].options!.ubyte(F.ReducerOptions.keep_dims)).toBe(1);
  });

  it('stores conv weights OHWI, every constant 16-byte aligned', () => {
    const w = model.tensors.get('e3.w')!;
    const [o, i, kh, kw] = w.shape;
    const weight = ops[4].inputs[1];
    expect(weight.ints(F.Tensor.shape)).toEqual([o, kh, kw, i]);
    const stored = buffers[weight.uint(F.Tensor.buffer)].bytesOf(F.Buffer.data)!;
    expect(stored.start % 16).toBe(0);
    const data = new Float32Array(stored.data.slice().buffer);
    for (const [n, c, y, x] of [[0, 0, 0, 0], [5, 3, 2, 1], [2, 1, 1, 2]]) {
      expect(data[((n * kh + y) * kw + x) * i + c]).toBe((w.data as Float32Array)[((n * i + c) * kh + y) * kw + x]);
    }
    for (const b of buffers.slice(1)) expect(b.bytesOf(F.Buffer.data)!.start % 16).toBe(0);
  });

  it('refuses what it cannot express exactly', () => {
    const clamped = tinyNet(1);
    (clamped.ops[0] as ConvOp).max = 2;
    expect(() => modelToTflite(clamped)).toThrow(/stem is clamped/);
    const padded = tinyNet(1);
    Object.assign(padded.ops[1], { pads: [1, 0, 0, 0] });
    expect(() => modelToTflite(padded)).toThrow(/maxpool pool1 .* neither VALID nor SAME/);
  });
});

describe('tflite-writer: int8', () => {
  const nhwc = randomInput(2);
  const model = int8Of(tinyNet(1), nhwc);
  const { ops } = readOps(modelToTflite(model, { stopBeforeSoftmax: true }));
  const B = BuiltinOperator;

  it('quantizes at the input, per-channel int8 weights, int32 biases on the input scale, float pool', () => {
    expect(ops.map((o) => o.code)).toEqual([B.QUANTIZE, B.CONV_2D, B.MAX_POOL_2D, B.CONV_2D, B.CONV_2D, B.CONV_2D, B.CONCATENATION, B.CONV_2D, B.ADD, B.MAX_POOL_2D, B.PAD, B.CONV_2D, B.DEQUANTIZE, B.MEAN, B.RESHAPE]);
    const versions = Object.fromEntries(ops.map((o) => [o.code, o.version]));
    expect(versions).toMatchObject({ [B.QUANTIZE]: 1, [B.CONV_2D]: 3, [B.MAX_POOL_2D]: 2, [B.CONCATENATION]: 2, [B.ADD]: 2, [B.PAD]: 2, [B.DEQUANTIZE]: 2, [B.MEAN]: 1 });
    for (const conv of ops.filter((o) => o.code === B.CONV_2D)) {
      const [x, w, b] = conv.inputs;
      expect([x.byte(F.Tensor.type), w.byte(F.Tensor.type), b.byte(F.Tensor.type)]).toEqual([TensorType.INT8, TensorType.INT8, TensorType.INT32]);
      const [qx, qw, qb] = [quantOf(x), quantOf(w), quantOf(b)];
      expect(qw.zeroPoint.every((z) => z === 0) && qw.dimension === 0).toBe(true);
      qb.scale.forEach((s, n) => expect(s).toBe(Math.fround(qx.scale[0] * qw.scale[n])));
    }
  });

  it('gives max pools and concat one quantization for inputs and output', () => {
    for (const o of ops.filter((op) => op.code === B.MAX_POOL_2D || op.code === B.CONCATENATION || op.code === B.PAD)) {
      const out = quantOf(o.outputs[0]);
      for (const x of o.code === B.PAD ? [o.inputs[0]] : o.inputs) expect(quantOf(x)).toEqual(out);
    }
    // The ReLU outputs keep all 256 levels for values >= 0.
    expect(quantOf(ops[1].outputs[0]).zeroPoint).toEqual([-128]);
  });
});

describe('tflite-writer: LiteRT.js runs the files', () => {
  const f32 = tinyNet(1);
  const nhwc = randomInput(2);
  const compiled: litert.CompiledModel[] = [];
  beforeAll(() => loadLiteRt());
  afterAll(() => compiled.forEach((c) => c.delete()));

  async function liteRt(bytes: Uint8Array): Promise<Float32Array> {
    const { Tensor } = await import('@litertjs/core');
    const c = await compileTflite(bytes);
    compiled.push(c);
    const input = new Tensor(nhwc, [1, H, W, 3]);
    const [out] = await c.run([input]);
    input.delete();
    const logits = new Float32Array(out.toTypedArray() as Float32Array);
    out.delete();
    return logits;
  }

  it('f32 gives squeezewasm f32 logits to float rounding, in XNNPACK only', async () => {
    const nchw = new Float32Array(3 * H * W);
    for (let p = 0; p < H * W; p++) for (let c = 0; c < 3; c++) nchw[c * H * W + p] = nhwc[p * 3 + c];
    const ours = (await captureRun(f32, nchw)).get('gap')!;
    const theirs = await liteRt(modelToTflite(f32, { stopBeforeSoftmax: true }));
    const range = Math.max(...ours) - Math.min(...ours);
    theirs.forEach((v, i) => expect(Math.abs(v - ours[i])).toBeLessThan(1e-5 * range));
    const probs = await liteRt(modelToTflite(f32));
    expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  });

  // Measured 0.6 % of the logit range for this net and input; a wrong scale or zero point anywhere is far more.
  it('int8 stays within a few 8-bit steps of f32', async () => {
    const [ref, q] = [await liteRt(modelToTflite(f32, { stopBeforeSoftmax: true })), await liteRt(modelToTflite(int8Of(f32, nhwc), { stopBeforeSoftmax: true }))];
    const range = Math.max(...ref) - Math.min(...ref);
    q.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(0.02 * range));
  });
});

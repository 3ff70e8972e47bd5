import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as litert from '@litertjs/core';
import { activationQuant, buildInt8, i16Tensors, quantGroups } from '../../src/convert/quantize.js';
import { validateModel } from '../../src/model/validate.js';
import type { ConvOp, Model, Op, Pads, Tensor } from '../../src/model/format.js';
import { compileTflite, loadLiteRt } from '../../bench/peers/litert.js';
import { FlatBuffer } from '../../src/convert/flatbuffer.js';
import { readTflite, type TfliteTensor } from '../../src/convert/tflite-read.js';
import { Fields as F } from '../../src/convert/tflite-schema.js';
import { modelToTflite } from '../../bench/peers/tflite-writer.js';
import { captureRun } from '../helpers/ort.js';
import { referenceRun } from '../helpers/reference-net.js';
import { rng } from '../helpers/wasm.js';

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

/**
 * The file read back by squeezewasm's TFLite reader (src/convert/tflite-read.ts), with alignment
 * checked as the FlatBuffers verifier checks it, so a layout mistake fails here; each op with its
 * input and output tensors. `model` is the raw root table, for what the reader does not return.
 */
function readOps(bytes: Uint8Array) {
  const graph = readTflite(bytes, { checkAlignment: true });
  const ops = graph.ops.map((op) => ({ ...op, inputs: op.inputs.map((i) => graph.tensors[i]), outputs: op.outputs.map((i) => graph.tensors[i]) }));
  return { graph, ops, model: new FlatBuffer(bytes, 'TFLite', true).root('Model') };
}

const quantOf = (t: TfliteTensor) => t.quant!;

describe('tflite-writer: the flatbuffer read back', () => {
  const model = tinyNet(1);
  const bytes = modelToTflite(model);
  const { graph, ops, model: root } = readOps(bytes);

  it('has the schema version, one subgraph, a signature and an empty buffer 0', () => {
    expect([graph.version, graph.subgraphs]).toEqual([3, 1]);
    expect(root.vector(F.Model.buffers, 4, 'buffers')!.table(0, 'Buffer').has(F.Buffer.data)).toBe(false);
    const signature = root.vector(F.Model.signature_defs, 4, 'signature_defs')!.table(0, 'SignatureDef');
    const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b);
    expect(text(signature.stringBytes(F.SignatureDef.signature_key, 'key'))).toBe('serving_default');
    const names = (slot: number) => {
      const v = signature.vector(slot, 4, 'TensorMap')!;
      return Array.from({ length: v.length }, (_, i) => text(v.table(i, 'TensorMap').stringBytes(F.TensorMap.name, 'name')));
    };
    expect([names(F.SignatureDef.inputs), names(F.SignatureDef.outputs)]).toEqual([['data'], ['prob']]);
    const input = graph.tensors[graph.inputs[0]];
    expect([input.shape, input.type]).toEqual([[1, H, W, 3], 'float32']);
    expect(graph.tensors[graph.outputs[0]].shape).toEqual([1, CLASSES]);
  });

  it('writes the ops in order, padding each window exactly', () => {
    expect(ops.map((o) => o.op)).toEqual(['CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'CONV_2D', 'CONV_2D', 'CONCATENATION', 'CONV_2D', 'ADD', 'MAX_POOL_2D', 'PAD', 'CONV_2D', 'MEAN', 'SOFTMAX', 'RESHAPE']);
    // Old runtimes read only the deprecated byte: it must hold the code too.
    const codes = root.vector(F.Model.operator_codes, 4, 'operator_codes')!;
    for (let i = 0; i < codes.length; i++) {
      const code = codes.table(i, 'OperatorCode');
      expect(code.int8(F.OperatorCode.deprecated_builtin_code)).toBe(code.int32(F.OperatorCode.builtin_code));
    }
    const padding = (i: number) => (ops[i].options as { padding: string }).padding;
    expect([0, 1, 4, 8, 10].map(padding)).toEqual(['VALID', 'VALID', 'SAME', 'SAME', 'VALID']);
    // A stride of 2 (not the absent table's 0) also shows the options were written with their type.
    expect(ops[0].options).toMatchObject({ kind: 'conv', strideH: 2, strideW: 2 });
    expect(ops[9].outputs[0].shape).toEqual([1, 5, 5, 12]);
    expect(ops[9].inputs[1].shape).toEqual([4, 2]);
    expect(ops[11].options).toEqual({ kind: 'reducer', keepDims: true });
  });

  it('stores conv weights OHWI, every constant 16-byte aligned', () => {
    const w = model.tensors.get('e3.w')!;
    const [o, i, kh, kw] = w.shape;
    const weight = ops[4].inputs[1];
    expect(weight.shape).toEqual([o, kh, kw, i]);
    const data = new Float32Array(weight.data!.slice().buffer);
    for (const [n, c, y, x] of [[0, 0, 0, 0], [5, 3, 2, 1], [2, 1, 1, 2]]) {
      expect(data[((n * kh + y) * kw + x) * i + c]).toBe((w.data as Float32Array)[((n * i + c) * kh + y) * kw + x]);
    }
    for (const t of graph.tensors) if (t.data) expect(t.data.byteOffset % 16).toBe(0);
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

  it('quantizes at the input, per-channel int8 weights, int32 biases on the input scale, float pool', () => {
    expect(ops.map((o) => o.op)).toEqual(['QUANTIZE', 'CONV_2D', 'MAX_POOL_2D', 'CONV_2D', 'CONV_2D', 'CONV_2D', 'CONCATENATION', 'CONV_2D', 'ADD', 'MAX_POOL_2D', 'PAD', 'CONV_2D', 'DEQUANTIZE', 'MEAN', 'RESHAPE']);
    const versions = Object.fromEntries(ops.map((o) => [o.op, o.version]));
    expect(versions).toMatchObject({ QUANTIZE: 1, CONV_2D: 3, MAX_POOL_2D: 2, CONCATENATION: 2, ADD: 2, PAD: 2, DEQUANTIZE: 2, MEAN: 1 });
    for (const conv of ops.filter((o) => o.op === 'CONV_2D')) {
      const [x, w, b] = conv.inputs;
      expect([x.type, w.type, b.type]).toEqual(['int8', 'int8', 'int32']);
      const [qx, qw, qb] = [quantOf(x), quantOf(w), quantOf(b)];
      expect(qw.zeroPoint.every((z) => z === 0) && qw.dimension === 0).toBe(true);
      qb.scale.forEach((s, n) => expect(s).toBe(Math.fround(qx.scale[0] * qw.scale[n])));
    }
  });

  it('gives max pools and concat one quantization for inputs and output', () => {
    for (const o of ops.filter((op) => op.op === 'MAX_POOL_2D' || op.op === 'CONCATENATION' || op.op === 'PAD')) {
      const out = quantOf(o.outputs[0]);
      for (const x of o.op === 'PAD' ? [o.inputs[0]] : o.inputs) expect(quantOf(x)).toEqual(out);
    }
    // The ReLU outputs keep all 256 levels for values >= 0.
    expect(Array.from(quantOf(ops[1].outputs[0]).zeroPoint)).toEqual([-128]);
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

import { describe, expect, it } from 'vitest';
import type { ConvertMeta } from '../../src/convert/common.js';
import { convertOnnx } from '../../src/convert/onnx.js';
import { ConvertError } from '../../src/errors.js';
import type { ConvOp, Model } from '../../src/model/format.js';
import { readModel } from '../../src/model/read.js';
import { writeModel } from '../../src/model/write.js';
import { squeezeNext23 } from '../helpers/family-graphs.js';
import { buildOnnx, weight, weightValues, type GraphSpec, type NodeSpec } from '../helpers/onnx-builder.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

// How the converter maps the SqueezeNet family's extra ONNX ops onto the model format: folds,
// lowerings and refusals. Agreement with onnxruntime is in ort-ops.test.ts and runtime/family.test.ts.

const meta = (classes: number): ConvertMeta => ({
  name: 'family',
  input: { channelOrder: 'RGB', resizeShorter: 20, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  labels: Array.from({ length: classes }, (_, i) => String(i)),
  provenance: { source: 'test', license: 'none' },
});

/**
 * x [1,3,8,8] -> conv c1 (4 ch, 3x3 pad 1, bias) -> BatchNormalization -> Relu -> conv c2 (4 ch, 1x1,
 * no bias) -> BatchNormalization -> Add with the first ReLU -> Relu -> GAP -> Flatten -> Gemm (5 classes).
 */
function residual(edit?: (g: GraphSpec) => void): Uint8Array {
  const bn = (name: string, x: string): NodeSpec => ({ op: 'BatchNormalization', name, inputs: [x, `${name}_s`, `${name}_b`, `${name}_m`, `${name}_v`], outputs: [`${name}_out`] });
  const g: GraphSpec = {
    inputs: [{ name: 'x', dims: [1, 3, 8, 8] }],
    outputs: [{ name: 'y', dims: [1, 5] }],
    initializers: [
      weight('c1_W', [4, 3, 3, 3], 1), weight('c1_b', [4], 2), weight('c2_W', [4, 4, 1, 1], 3),
      ...['bn1', 'bn2'].flatMap((b, i) => [weight(`${b}_s`, [4], 10 * i + 4), weight(`${b}_b`, [4], 10 * i + 5), weight(`${b}_m`, [4], 10 * i + 6),
        { name: `${b}_v`, dims: [4], floats: [0.5, 1, 1.5, 2] }]),
      weight('fc_W', [5, 4], 7), weight('fc_b', [5], 8),
    ],
    nodes: [
      { op: 'Conv', name: 'c1', inputs: ['x', 'c1_W', 'c1_b'], outputs: ['c1_out'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
      bn('bn1', 'c1_out'),
      { op: 'Relu', name: 'r1', inputs: ['bn1_out'], outputs: ['r1_out'] },
      { op: 'Conv', name: 'c2', inputs: ['r1_out', 'c2_W'], outputs: ['c2_out'], attrs: { kernel_shape: [1, 1] } },
      bn('bn2', 'c2_out'),
      { op: 'Add', name: 'add', inputs: ['bn2_out', 'r1_out'], outputs: ['add_out'] },
      { op: 'Relu', name: 'r2', inputs: ['add_out'], outputs: ['r2_out'] },
      { op: 'GlobalAveragePool', name: 'gap', inputs: ['r2_out'], outputs: ['gap_out'] },
      { op: 'Flatten', name: 'flat', inputs: ['gap_out'], outputs: ['flat_out'], attrs: { axis: 1 } },
      { op: 'Gemm', name: 'fc', inputs: ['flat_out', 'fc_W', 'fc_b'], outputs: ['y'], attrs: { transB: 1 } },
    ],
  };
  edit?.(g);
  return buildOnnx(g);
}

const node = (g: GraphSpec, name: string): NodeSpec => g.nodes.find((n) => n.name === name)!;

function refusal(edit: (g: GraphSpec) => void, code: string, pattern: RegExp): void {
  expectSqueezeError(thrown(() => convertOnnx(residual(edit), meta(5))), ConvertError, code, pattern);
}

describe('convertOnnx on a residual block with BatchNormalization and a Gemm classifier', () => {
  const model = convertOnnx(residual(), meta(5));

  it('folds BatchNormalization, fuses ReLU into conv and add, and lowers Gemm to a 1x1 conv', () => {
    expect(model.ops).toEqual([
      { op: 'conv', input: 'x', output: 'r1_out', weight: 'c1_W', bias: 'c1_b', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], relu: true },
      { op: 'conv', input: 'r1_out', output: 'bn2_out', weight: 'c2_W', bias: 'bn2_b', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], relu: false },
      { op: 'add', inputs: ['bn2_out', 'r1_out'], output: 'r2_out', relu: true },
      { op: 'globalavgpool', input: 'r2_out', output: 'gap_out' },
      { op: 'conv', input: 'gap_out', output: 'y', weight: 'fc_W', bias: 'fc_b', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], relu: false },
    ]);
    expect([...model.tensors.keys()].sort()).toEqual(['bn2_b', 'c1_W', 'c1_b', 'c2_W', 'fc_W', 'fc_b']);
    expect(model.output).toBe('y');
    expect(readModel(writeModel(model)).ops).toEqual(model.ops);
  });

  it('computes the folded weights and biases exactly: w gamma / sqrt(var + eps), (b - mean) gamma / sqrt(var + eps) + beta', () => {
    const gamma = weightValues([4], 4), beta = weightValues([4], 5), mean = weightValues([4], 6), variance = [0.5, 1, 1.5, 2];
    const w = weightValues([4, 3, 3, 3], 1), b = weightValues([4], 2);
    const s = gamma.map((g, o) => g / Math.sqrt(variance[o] + 1e-5));
    expect([...model.tensors.get('c1_W')!.data]).toEqual(w.map((v, i) => Math.fround(v * s[Math.floor(i / 27)])));
    expect([...model.tensors.get('c1_b')!.data]).toEqual(b.map((v, o) => Math.fround((v - mean[o]) * s[o] + beta[o])));
    // c2 had no bias: the folded one takes the BatchNormalization's B name.
    const s2 = weightValues([4], 14).map((g, o) => g / Math.sqrt(variance[o] + 1e-5));
    expect([...model.tensors.get('bn2_b')!.data]).toEqual(weightValues([4], 16).map((m, o) => Math.fround(-m * s2[o] + weightValues([4], 15)[o])));
  });

  it('keeps the Gemm weight as [N, K, 1, 1], transposing it when transB is 0 and scaling by alpha and beta', () => {
    expect(model.tensors.get('fc_W')!.shape).toEqual([5, 4, 1, 1]);
    expect([...model.tensors.get('fc_W')!.data]).toEqual(weightValues([5, 4], 7));
    const m = convertOnnx(residual((g) => {
      g.initializers![g.initializers!.findIndex((t) => t.name === 'fc_W')] = weight('fc_W', [4, 5], 7);
      node(g, 'fc').attrs = { alpha: { f: 2 }, beta: { f: 0.5 } };
    }), meta(5));
    const t = weightValues([4, 5], 7);
    expect([...m.tensors.get('fc_W')!.data]).toEqual(Array.from({ length: 20 }, (_, i) => Math.fround(2 * t[(i % 4) * 5 + Math.floor(i / 4)])));
    expect([...m.tensors.get('fc_b')!.data]).toEqual(weightValues([5], 8).map((v) => Math.fround(0.5 * v)));
  });

  it('copies a shared initializer per folded layer and drops what nothing uses', () => {
    const m = convertOnnx(residual((g) => {
      // Both BatchNormalizations read bn1's parameters.
      for (const k of ['s', 'b', 'm', 'v']) node(g, 'bn2').inputs[['s', 'b', 'm', 'v'].indexOf(k) + 1] = `bn1_${k}`;
    }), meta(5));
    expect((m.ops[1] as ConvOp).bias).toBe('bn1_b.bn2_out');
    expect([...m.tensors.keys()].sort()).toEqual(['bn1_b.bn2_out', 'c1_W', 'c1_b', 'c2_W', 'fc_W', 'fc_b']);
  });

  it('converts SqueezeNeXt-23 (1.0-SqNxt-23) to 112 convs, 21 adds with ReLU, a max pool and a global average pool', () => {
    const m = convertOnnx(buildOnnx(squeezeNext23(1)), meta(1000));
    const count = (kind: string) => m.ops.filter((op) => op.op === kind).length;
    expect([count('conv'), count('add'), count('maxpool'), count('globalavgpool'), count('relu')]).toEqual([112, 21, 1, 1, 0]);
    expect(m.ops.every((op) => op.op !== 'add' || op.relu)).toBe(true);
    const convs = m.ops.filter((op): op is ConvOp => op.op === 'conv');
    expect(convs.filter((op) => op.kernel[0] === 3 && op.kernel[1] === 1)).toHaveLength(21);
    expect(convs.filter((op) => op.kernel[0] === 1 && op.stride[0] === 2)).toHaveLength(6);
    expect(m.ops.at(-1)).toMatchObject({ op: 'conv', input: m.ops.at(-2)!.output, kernel: [1, 1], relu: false });
  });
});

describe('family refusals', () => {
  it.each<[string, (g: GraphSpec) => void, string, RegExp]>([
    ['BatchNormalization after a pool', (g) => {
      g.nodes.splice(1, 0, { op: 'MaxPool', name: 'p', inputs: ['c1_out'], outputs: ['p_out'], attrs: { kernel_shape: [1, 1] } });
      node(g, 'bn1').inputs[0] = 'p_out';
    }, 'E_CONVERT_GRAPH', /BatchNormalization node "bn1": BatchNormalization is supported only right after a Conv, Gemm or MatMul whose output nothing else reads/],
    ['BatchNormalization of a conv output read elsewhere', (g) => void (node(g, 'c2').inputs[0] = 'c1_out'),
      'E_CONVERT_GRAPH', /BatchNormalization node "bn1": BatchNormalization is supported only right after/],
    ['BatchNormalization in training mode', (g) => void (node(g, 'bn1').attrs = { training_mode: 1 }), 'E_CONVERT_ATTR', /training_mode 1 is not supported/],
    ['BatchNormalization with the wrong parameter shape', (g) => void (g.initializers!.find((t) => t.name === 'bn1_m')!.dims = [2, 2]),
      'E_CONVERT_TENSOR', /mean "bn1_m" has shape \[2,2\], expected \[4\]/],
    ['an Add that broadcasts', (g) => {
      g.nodes.splice(g.nodes.indexOf(node(g, 'gap')) + 1, 0, { op: 'Add', name: 'b_add', inputs: ['r2_out', 'gap_out'], outputs: ['b_out'] });
    }, 'E_CONVERT_GRAPH', /Add node "b_add": inputs differ in shape \(\[4,8,8\] and \[4,1,1\]\); squeezewasm adds tensors of the same shape only/],
    ['an Add of a constant that is not per channel', (g) => {
      node(g, 'add').inputs[1] = 'k';
      g.initializers!.push(weight('k', [1, 4, 8, 8], 9));
    }, 'E_CONVERT_GRAPH', /adding a constant of shape \[1,4,8,8\] is not supported/],
    ['an Add of a constant after something other than a layer', (g) => {
      node(g, 'r2').inputs[0] = 'r1_out';
      node(g, 'gap').inputs[0] = 'k_out';
      g.nodes.splice(g.nodes.indexOf(node(g, 'gap')), 0, { op: 'Add', name: 'k_add', inputs: ['r2_out', 'k'], outputs: ['k_out'] });
      g.initializers!.push(weight('k', [4, 1, 1], 9));
    }, 'E_CONVERT_GRAPH', /Add node "k_add": adding a constant is supported only right after a Conv, Gemm or MatMul/],
    ['Gemm with transA', (g) => void (node(g, 'fc').attrs = { transA: 1 }), 'E_CONVERT_ATTR', /Gemm node "fc": transA 1 is not supported/],
    ['Gemm of a spatial map', (g) => void (node(g, 'fc').inputs[0] = 'r2_out'), 'E_CONVERT_GRAPH', /Gemm node "fc": input "r2_out" is \[1,4,8,8\]; squeezewasm converts Gemm of a flattened \[1,K\] activation/],
    ['Gemm with a mismatched weight', (g) => void (node(g, 'fc').attrs = {}), 'E_CONVERT_TENSOR', /weight "fc_W" has shape \[5,4\]; a \[1,4\] input needs \[4,N\]/],
    ['Gemm with a computed weight', (g) => void (node(g, 'fc').inputs[1] = 'flat_out'), 'E_CONVERT_GRAPH', /weight "flat_out" must be an initializer or Constant/],
    ['Clip with a nonzero min', (g) => {
      node(g, 'r1').op = 'Clip';
      node(g, 'r1').inputs.push('lo');
      g.initializers!.push({ name: 'lo', dims: [], floats: [-1] });
    }, 'E_CONVERT_ATTR', /Clip node "r1": Clip to \[-1, Infinity\] is not supported/],
    ['Clip with a max after an add', (g) => {
      node(g, 'r2').op = 'Clip';
      node(g, 'r2').inputs.push('', 'six');
      g.initializers!.push({ name: 'six', dims: [], floats: [6] });
    }, 'E_CONVERT_GRAPH', /Clip node "r2": Clip with max 6 is supported only right after a Conv/],
  ])('refuses %s', (_, edit, code, pattern) => refusal(edit, code, pattern));
});

describe('model format for the family', () => {
  const model: Model = convertOnnx(residual(), meta(5));
  const bad = (edit: (m: Model) => void): Model => {
    const m: Model = { ...model, ops: model.ops.map((op) => ({ ...op })) as Model['ops'] };
    edit(m);
    return m;
  };

  it.each<[string, (m: Model) => void, RegExp]>([
    ['an add with one input', (m) => void Object.assign(m.ops[2], { inputs: ['bn2_out'] }), /op 2 \(add -> "r2_out"\): add needs exactly 2 inputs/],
    ['an add of different shapes', (m) => void Object.assign(m.ops[2], { inputs: ['bn2_out', 'x'] }), /add -> "r2_out"\): add inputs differ in shape: \[4, 8, 8\] and \[3, 8, 8\]/],
    ['an add reading a later tensor', (m) => void Object.assign(m.ops[2], { inputs: ['bn2_out', 'gap_out'] }), /add -> "r2_out"\): input "gap_out" is not produced by an earlier op/],
    ['an add without relu', (m) => void delete (m.ops[2] as { relu?: boolean }).relu, /add -> "r2_out"\): relu must be true or false/],
    ['a conv with a negative max', (m) => void Object.assign(m.ops[0], { max: -1 }), /op 0 \(conv -> "r1_out"\): max must be a positive finite number/],
    ['a f32 add with multipliers', (m) => void Object.assign(m.ops[2], { multipliers: [1, 1], shift: 1 }), /a f32 model must not carry quantization parameters/],
  ])('the reader refuses %s', (_, edit, pattern) => {
    expect(() => writeModel(bad(edit))).toThrow(pattern);
  });
});

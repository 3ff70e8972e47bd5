import { describe, expect, it } from 'vitest';
import { convertOnnx } from '../../src/convert/onnx.js';
import type { ConvOp, Model } from '../../src/model/format.js';
import { buildOnnx, type GraphSpec, type NodeSpec, type TensorSpec } from '../helpers/onnx-builder.js';
import { captureRun, ortRun, relativeError } from '../helpers/ort.js';
import { rng } from '../helpers/wasm.js';

// Each new ONNX op against onnxruntime-web: a small graph runs in both, and every listed tensor
// (an intermediate one included) must agree. Graphs end in GlobalAveragePool + Flatten (or a
// [1,N] Gemm / MatMul) because a squeezewasm model's output is a class vector.

const H = 9, W = 8;

/** A seeded random float initializer. */
function init(name: string, dims: number[], seed: number, scale = 1): TensorSpec & { name: string } {
  const r = rng(seed);
  const n = dims.reduce((a, b) => a * b, 1);
  return { name, dims, floats: Array.from({ length: n }, () => Math.fround((r() * 2 - 1) * scale)), raw: true };
}

interface Case {
  nodes: NodeSpec[];
  initializers: (TensorSpec & { name: string })[];
  /** The graph output squeezewasm converts: [1, classes]. */
  output: string;
  classes: number;
  /** Tensors compared with onnxruntime's. */
  compare: string[];
  opset?: number;
}

const conv = (name: string, x: string, w: string, attrs: NodeSpec['attrs'], b?: string): NodeSpec => ({ op: 'Conv', name, inputs: b ? [x, w, b] : [x, w], outputs: [name], attrs });
const tail = (x: string): NodeSpec[] => [
  { op: 'GlobalAveragePool', inputs: [x], outputs: ['gap'] },
  { op: 'Flatten', inputs: ['gap'], outputs: ['y'], attrs: { axis: 1 } },
];

/**
 * Winograd F(4x4, 3x3)'s error relative to the largest output (test/kernels/f32-winograd.test.ts
 * explains why it is several times the direct kernel's). Measured here at most 5.8e-6: the ReLU6
 * conv below, whose 3 input channels and weights up to 3 give pre-clip values several times the
 * clipped scale the error is measured against (direct kernel: 1.6e-7); 1.2e-6 in the other cases.
 */
const WINOGRAD_TOLERANCE = 1e-5;

async function check(c: Case, tolerance = 2e-6): Promise<Model> {
  const spec = (outputs: string[]): GraphSpec => ({
    nodes: c.nodes, initializers: c.initializers, opset: c.opset,
    inputs: [{ name: 'x', dims: [1, 3, H, W] }],
    outputs: outputs.map((name) => ({ name, dims: ['n', 'c', 'h', 'w'].slice(0, name === c.output ? 2 : 4) })),
  });
  const model = convertOnnx(buildOnnx(spec([c.output])), {
    name: 'ops', input: { channelOrder: 'RGB', resizeShorter: 16, divisor: 255, mean: [0, 0, 0], std: [1, 1, 1] },
    labels: Array.from({ length: c.classes }, (_, i) => String(i)), provenance: { source: 'test', license: 'none' },
  });
  const r = rng(99);
  const x = Float32Array.from({ length: 3 * H * W }, () => r() * 4 - 2);
  const want = await ortRun(buildOnnx(spec([...c.compare, c.output])), 'x', [1, 3, H, W], x);
  // The conversion is checked on the direct kernels, whose rounding is close to onnxruntime's; the
  // plan squeezewasm runs by default, with float 3x3 convs as Winograd F(4x4, 3x3), within the
  // float Winograd tolerance.
  const runs = [['simd', false, tolerance], ['ref', false, tolerance], ['simd', true, Math.max(tolerance, WINOGRAD_TOLERANCE)]] as const;
  for (const [variant, winograd, allowed] of runs) {
    const got = await captureRun(model, x, variant, winograd);
    const what = (name: string): string => `${name} (${variant}${winograd ? ', Winograd' : ''})`;
    for (const name of [...c.compare, c.output]) {
      const name2 = name === c.output ? model.output : name;
      expect(got.get(name2)?.length, what(name)).toBe(want.get(name)!.length);
      expect(relativeError(got.get(name2)!, want.get(name)!), what(name)).toBeLessThan(allowed);
    }
  }
  return model;
}

const convOps = (m: Model): ConvOp[] => m.ops.filter((op): op is ConvOp => op.op === 'conv');

describe('new ONNX ops agree with onnxruntime-web', () => {
  it('BatchNormalization folded into the Conv before it (with and without a conv bias)', async () => {
    const bn = (name: string, x: string, c: number, seed: number, epsilon: number): [NodeSpec, ...(TensorSpec & { name: string })[]] => [
      { op: 'BatchNormalization', name, inputs: [x, `${name}_s`, `${name}_b`, `${name}_m`, `${name}_v`], outputs: [name], attrs: { epsilon: { f: epsilon } } },
      init(`${name}_s`, [c], seed), init(`${name}_b`, [c], seed + 1), init(`${name}_m`, [c], seed + 2),
      { ...init(`${name}_v`, [c], seed + 3), floats: init('', [c], seed + 3).floats!.map((v) => Math.fround(Math.abs(v) + 0.01)) },
    ];
    const [bn1, ...t1] = bn('bn1', 'c1', 5, 10, 1e-5);
    const [bn2, ...t2] = bn('bn2', 'c2', 4, 20, 1e-3);
    const model = await check({
      nodes: [
        conv('c1', 'x', 'w1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'b1'), bn1, { op: 'Relu', inputs: ['bn1'], outputs: ['r1'] },
        conv('c2', 'r1', 'w2', { kernel_shape: [1, 1] }), bn2,
        ...tail('bn2'),
      ],
      initializers: [init('w1', [5, 3, 3, 3], 1), init('b1', [5], 2), init('w2', [4, 5, 1, 1], 3), ...t1, ...t2],
      output: 'y', classes: 4, compare: ['r1', 'bn2'],
    });
    expect(model.ops.map((op) => op.op)).toEqual(['conv', 'conv', 'globalavgpool']);
  });

  it('Add of two activations (residual connections), with a fused ReLU', async () => {
    const model = await check({
      nodes: [
        conv('c0', 'x', 'w0', { kernel_shape: [1, 1] }, 'b0'),
        conv('c1', 'c0', 'w1', { kernel_shape: [1, 1] }), { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
        conv('c2', 'r1', 'w2', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }),
        { op: 'Add', inputs: ['c2', 'c0'], outputs: ['a1'] }, { op: 'Relu', inputs: ['a1'], outputs: ['r2'] },
        conv('c3', 'r2', 'w3', { kernel_shape: [1, 1] }),
        { op: 'Add', inputs: ['r2', 'c3'], outputs: ['a2'] },
        ...tail('a2'),
      ],
      initializers: [init('w0', [6, 3, 1, 1], 1), init('b0', [6], 2), init('w1', [4, 6, 1, 1], 3), init('w2', [6, 4, 3, 3], 4), init('w3', [6, 6, 1, 1], 5)],
      output: 'y', classes: 6, compare: ['c0', 'r2', 'a2'],
    });
    expect(model.ops.filter((op) => op.op === 'add')).toEqual([
      { op: 'add', inputs: ['c2', 'c0'], output: 'r2', relu: true },
      { op: 'add', inputs: ['r2', 'c3'], output: 'a2', relu: false },
    ]);
  });

  it('non-square kernels with asymmetric padding, and strided 1x1 convolutions', async () => {
    const model = await check({
      nodes: [
        conv('k31', 'x', 'w1', { kernel_shape: [3, 1], pads: [1, 0, 1, 0] }),
        conv('k13', 'k31', 'w2', { kernel_shape: [1, 3], pads: [0, 1, 0, 1] }),
        conv('k32', 'k13', 'w3', { kernel_shape: [3, 2], pads: [0, 1, 2, 0], strides: [1, 2] }),
        conv('k23', 'k13', 'w4', { kernel_shape: [2, 3], pads: [2, 0, 1, 1] }),
        conv('s2', 'k13', 'w5', { kernel_shape: [1, 1], strides: [2, 2] }),
        conv('s21', 'k23', 'w6', { kernel_shape: [1, 1], strides: [2, 1] }),
        conv('s3', 'k31', 'w7', { kernel_shape: [1, 1], strides: [3, 3], pads: [0, 0, 1, 1] }, 'b7'),
        { op: 'GlobalAveragePool', inputs: ['k32'], outputs: ['g1'] },
        { op: 'GlobalAveragePool', inputs: ['s2'], outputs: ['g2'] },
        { op: 'GlobalAveragePool', inputs: ['s21'], outputs: ['g3'] },
        { op: 'GlobalAveragePool', inputs: ['s3'], outputs: ['g4'] },
        { op: 'Concat', inputs: ['g1', 'g2', 'g3', 'g4'], outputs: ['gap'], attrs: { axis: 1 } },
        { op: 'Flatten', inputs: ['gap'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      initializers: [
        init('w1', [4, 3, 3, 1], 1), init('w2', [5, 4, 1, 3], 2), init('w3', [3, 5, 3, 2], 3), init('w4', [4, 5, 2, 3], 4),
        init('w5', [2, 5, 1, 1], 5), init('w6', [3, 4, 1, 1], 6), init('w7', [2, 4, 1, 1], 7), init('b7', [2], 8),
      ],
      output: 'y', classes: 10, compare: ['k31', 'k13', 'k32', 'k23', 's2', 's21', 's3'],
    });
    expect(convOps(model).map((op) => [op.kernel, op.stride, op.pads])).toEqual([
      [[3, 1], [1, 1], [1, 0, 1, 0]], [[1, 3], [1, 1], [0, 1, 0, 1]], [[3, 2], [1, 2], [0, 1, 2, 0]], [[2, 3], [1, 1], [2, 0, 1, 1]],
      [[1, 1], [2, 2], [0, 0, 0, 0]], [[1, 1], [2, 1], [0, 0, 0, 0]], [[1, 1], [3, 3], [0, 0, 1, 1]],
    ]);
  });

  it('Gemm (transB 0 and 1, alpha, beta, bias [N], [1,N] or none) and MatMul + Add as 1x1 convs', async () => {
    const model = await check({
      nodes: [
        conv('c', 'x', 'wc', { kernel_shape: [3, 3] }, 'bc'),
        { op: 'GlobalAveragePool', inputs: ['c'], outputs: ['gap'] },
        { op: 'Flatten', inputs: ['gap'], outputs: ['f'], attrs: { axis: 1 } },
        { op: 'Gemm', inputs: ['f', 'g1W', 'g1b'], outputs: ['g1'], attrs: { transB: 1, alpha: { f: 0.5 }, beta: { f: 2 } } },
        { op: 'Gemm', inputs: ['f', 'g2W', 'g2b'], outputs: ['g2'] },
        { op: 'Gemm', inputs: ['g2', 'g3W'], outputs: ['g3'], attrs: { transB: 1 } },
        { op: 'MatMul', inputs: ['f', 'mW'], outputs: ['mm'] },
        { op: 'Add', inputs: ['mb', 'mm'], outputs: ['m'] },
        { op: 'Concat', inputs: ['g1', 'g3', 'm'], outputs: ['y'], attrs: { axis: 1 } },
      ],
      initializers: [
        init('wc', [6, 3, 3, 3], 1), init('bc', [6], 2), init('g1W', [4, 6], 3), init('g1b', [4], 4), init('g2W', [6, 5], 5),
        init('g2b', [1, 5], 6), init('g3W', [3, 5], 7), init('mW', [6, 2], 8), init('mb', [2], 9),
      ],
      output: 'y', classes: 9, compare: [],
    });
    expect(convOps(model).slice(1).map((op) => [op.input, op.output, op.kernel, model.tensors.get(op.weight)!.shape, op.bias !== undefined])).toEqual([
      ['gap', 'g1', [1, 1], [4, 6, 1, 1], true],
      ['gap', 'g2', [1, 1], [5, 6, 1, 1], true],
      ['g2', 'g3', [1, 1], [3, 5, 1, 1], false],
      ['gap', 'm', [1, 1], [2, 6, 1, 1], true],
    ]);
  });

  it('Clip folded into the Conv before it: ReLU6, an upper bound alone, and Clip(0) as ReLU (opset 13 inputs)', async () => {
    const model = await check({
      nodes: [
        conv('c1', 'x', 'w1', { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'b1'),
        { op: 'Clip', inputs: ['c1', 'zero', 'six'], outputs: ['r6'] },
        conv('c2', 'r6', 'w2', { kernel_shape: [1, 1] }),
        { op: 'Clip', inputs: ['c2', '', 'six'], outputs: ['m6'] },
        conv('c3', 'm6', 'w3', { kernel_shape: [1, 1] }),
        { op: 'Clip', inputs: ['c3', 'zero'], outputs: ['r0'] },
        { op: 'Clip', inputs: ['r0'], outputs: ['id'] },
        ...tail('id'),
      ],
      initializers: [
        init('w1', [5, 3, 3, 3], 1, 3), init('b1', [5], 2), init('w2', [4, 5, 1, 1], 3, 3), init('w3', [4, 4, 1, 1], 4),
        { name: 'zero', dims: [], floats: [0] }, { name: 'six', dims: [], floats: [6] },
      ],
      output: 'y', classes: 4, compare: ['r6', 'm6', 'r0'],
    });
    expect(convOps(model).map((op) => [op.output, op.relu, op.max])).toEqual([['r6', true, 6], ['m6', false, 6], ['r0', true, undefined]]);
    // The bounds bind: some values are clipped at 6 (and at 0).
    const acts = await captureRun(model, Float32Array.from({ length: 3 * H * W }, (_, i) => Math.sin(i) * 2));
    expect(acts.get('r6')!.some((v) => v === 6) && acts.get('r6')!.some((v) => v === 0)).toBe(true);
  });

  it('Clip with min/max attributes (opset 10) and a per-channel constant Add folded into the bias', async () => {
    await check({
      opset: 10,
      nodes: [
        conv('c1', 'x', 'w1', { kernel_shape: [1, 1] }),
        { op: 'Add', inputs: ['c1', 'k'], outputs: ['a'] },
        { op: 'Clip', inputs: ['a'], outputs: ['r6'], attrs: { min: { f: 0 }, max: { f: 6 } } },
        ...tail('r6'),
      ],
      initializers: [init('w1', [5, 3, 1, 1], 1, 3), init('k', [1, 5, 1, 1], 2, 2)],
      output: 'y', classes: 5, compare: ['r6'],
    });
  });
});

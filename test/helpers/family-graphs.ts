import { rng } from './wasm.js';
import type { GraphSpec, NodeSpec, TensorSpec } from './onnx-builder.js';

/**
 * ONNX graphs of the SqueezeNet family with random weights, built in memory: the layouts of
 * ../shared/models/synthetic (which tests may not read) at their sizes, or smaller.
 */

/** Adds nodes and seeded random initializers to a graph spec; names are numbered like an exporter's. */
class GraphMaker {
  readonly nodes: NodeSpec[] = [];
  readonly initializers: (TensorSpec & { name: string })[] = [];
  private count = 0;
  private readonly r: () => number;

  constructor(seed: number) {
    this.r = rng(seed);
  }

  name(kind: string): string {
    return `${kind}_${++this.count}`;
  }

  /** A float initializer with values uniform in [lo, hi). */
  tensor(kind: string, dims: number[], lo: number, hi: number): string {
    const name = this.name(kind);
    const n = dims.reduce((a, b) => a * b, 1);
    this.initializers.push({ name, dims, floats: Array.from({ length: n }, () => Math.fround(lo + (hi - lo) * this.r())), raw: true });
    return name;
  }

  node(op: string, inputs: string[], attrs?: NodeSpec['attrs']): string {
    const out = this.name(op.toLowerCase());
    this.nodes.push({ op, inputs, outputs: [out], ...(attrs ? { attrs } : {}) });
    return out;
  }

  /** Conv with He-uniform weights (so ReLU networks keep their scale), bias optional. */
  conv(x: string, inC: number, outC: number, kernel: [number, number], stride: [number, number], pads: number[], bias: boolean): string {
    const bound = Math.sqrt(6 / (inC * kernel[0] * kernel[1]));
    const inputs = [x, this.tensor('conv_W', [outC, inC, ...kernel], -bound, bound)];
    if (bias) inputs.push(this.tensor('conv_b', [outC], -0.1, 0.1));
    return this.node('Conv', inputs, { kernel_shape: kernel, strides: stride, pads });
  }

  /** BatchNormalization with plausible trained statistics. */
  bn(x: string, c: number): string {
    const inputs = [x, this.tensor('bn_s', [c], 0.5, 1.5), this.tensor('bn_b', [c], -0.2, 0.2), this.tensor('bn_m', [c], -0.2, 0.2), this.tensor('bn_v', [c], 0.5, 2)];
    return this.node('BatchNormalization', inputs, { epsilon: { f: 1e-5 } });
  }

  relu(x: string): string {
    return this.node('Relu', [x]);
  }

  spec(input: string, size: number, output: string, classes: number): GraphSpec {
    return { nodes: this.nodes, initializers: this.initializers, inputs: [{ name: input, dims: [1, 3, size, size] }], outputs: [{ name: output, dims: [1, classes] }] };
  }
}

/** Options of the family graphs: input side, classes, blocks per stage. */
export interface FamilyOptions {
  size?: number;
  classes?: number;
  blocks?: number[];
}

/**
 * SqueezeNeXt-23 (1.0-SqNxt-23): conv 7x7/2 pad 1 + BN + ReLU, ceil max pool, four stages of
 * blocks (squeeze 1x1 to out/2 (stride 2 in a stage's first block) and out/4, 3x1 and 1x3 convs to
 * out/2, 1x1 expand to out; BatchNormalization after every conv; residual Add, with a strided 1x1
 * conv + BN shortcut where the shape changes; ReLU after the Add), conv 1x1 + BN + ReLU, global
 * average pool, Flatten, Gemm (transB). Defaults: 227x227 input "input", 1000 classes, [6, 6, 8, 1].
 */
export function squeezeNext23(seed: number, opts: FamilyOptions = {}): GraphSpec {
  const { size = 227, classes = 1000, blocks = [6, 6, 8, 1] } = opts;
  const g = new GraphMaker(seed);
  const unit = (x: string, c: number, kernel: [number, number], stride: number, pads: number[], out: number, relu = true): string => {
    const y = g.bn(g.conv(x, c, out, kernel, [stride, stride], pads, false), out);
    return relu ? g.relu(y) : y;
  };
  let x = g.node('MaxPool', [unit('input', 3, [7, 7], 2, [1, 1, 1, 1], 64)], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
  let c = 64;
  blocks.forEach((count, stage) => {
    const out = 32 << stage;
    for (let b = 0; b < count; b++) {
      const stride = b === 0 && stage > 0 ? 2 : 1;
      let y = unit(x, c, [1, 1], stride, [0, 0, 0, 0], out / 2);
      y = unit(y, out / 2, [1, 1], 1, [0, 0, 0, 0], out / 4);
      y = unit(y, out / 4, [3, 1], 1, [1, 0, 1, 0], out / 2);
      y = unit(y, out / 2, [1, 3], 1, [0, 1, 0, 1], out / 2);
      y = unit(y, out / 2, [1, 1], 1, [0, 0, 0, 0], out, false);
      const skip = c === out && stride === 1 ? x : unit(x, c, [1, 1], stride, [0, 0, 0, 0], out, false);
      x = g.relu(g.node('Add', [y, skip]));
      c = out;
    }
  });
  x = unit(x, c, [1, 1], 1, [0, 0, 0, 0], 128);
  const flat = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: 1 });
  const bound = Math.sqrt(3 / 128);
  const y = g.node('Gemm', [flat, g.tensor('fc_W', [classes, 128], -bound, bound), g.tensor('fc_b', [classes], -0.1, 0.1)], { transB: 1 });
  return g.spec('input', size, y, classes);
}

/**
 * torchvision's SqueezeNet 1.1: conv 3x3/2 with 64 filters + ReLU, ceil max pools after conv1,
 * fire3 and fire5, eight Fire modules, Dropout, 1x1 classifier + ReLU, global average pool,
 * Flatten. Defaults: 224x224 input "input", 1000 classes.
 */
export function squeezeNet11(seed: number, opts: FamilyOptions = {}): GraphSpec {
  const { size = 224, classes = 1000 } = opts;
  const g = new GraphMaker(seed);
  const pool = (x: string) => g.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });
  const fire = (x: string, c: number, s: number, e: number): string => {
    const sq = g.relu(g.conv(x, c, s, [1, 1], [1, 1], [0, 0, 0, 0], true));
    const e1 = g.relu(g.conv(sq, s, e, [1, 1], [1, 1], [0, 0, 0, 0], true));
    const e3 = g.relu(g.conv(sq, s, e, [3, 3], [1, 1], [1, 1, 1, 1], true));
    return g.node('Concat', [e1, e3], { axis: 1 });
  };
  let x = pool(g.relu(g.conv('input', 3, 64, [3, 3], [2, 2], [0, 0, 0, 0], true)));
  x = pool(fire(fire(x, 64, 16, 64), 128, 16, 64));
  x = pool(fire(fire(x, 128, 32, 128), 256, 32, 128));
  x = fire(fire(fire(fire(x, 256, 48, 192), 384, 48, 192), 384, 64, 256), 512, 64, 256);
  x = g.relu(g.conv(g.node('Dropout', [x]), 512, classes, [1, 1], [1, 1], [0, 0, 0, 0], true));
  const y = g.node('Flatten', [g.node('GlobalAveragePool', [x])], { axis: 1 });
  return g.spec('input', size, y, classes);
}

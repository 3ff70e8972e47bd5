import { activationQuant, buildInt8, i16Tensors, quantGroups } from '../../src/convert/quantize.js';
import type { ConvOp, Op, Tensor } from '../../src/model/format.js';
import { validateModel, type ValidModel } from '../../src/model/validate.js';

/** The ops an op chain repeats. */
export type ChainKind = 'relu' | 'add' | 'maxpool' | 'avgpool' | 'concat' | 'conv1x1' | 'conv3x3';
export const CHAIN_KINDS: readonly ChainKind[] = ['relu', 'add', 'maxpool', 'avgpool', 'concat', 'conv1x1', 'conv3x3'];

/**
 * A network that is mostly one op: a 1x1 stem conv to `channels`, `length` ops of `kind` (pools
 * 3x3 stride 1 pad 1, adds of an activation to itself, one-input concats), a 1x1 conv to 2 classes and a
 * global average pool, on a `side`-square input. A few KB of file however long its work: what an
 * attacker writes to make each image take minutes (docs/trust.md, "Work limits").
 */
export function opChain(kind: ChainKind, length: number, side: number, channels: number): ValidModel {
  const tensors = new Map<string, Tensor>();
  const weight = (name: string, shape: number[]): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { dtype: 'f32', shape, data: Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 13) / 13 - 0.45) });
    return name;
  };
  const conv = (input: string, output: string, ic: number, oc: number, k: number): ConvOp => ({
    op: 'conv', input, output, weight: weight(`${output}.w`, [oc, ic, k, k]), bias: weight(`${output}.b`, [oc]),
    kernel: [k, k], stride: [1, 1], pads: [k >> 1, k >> 1, k >> 1, k >> 1], relu: true,
  });
  const window = { kernel: [3, 3] as [number, number], stride: [1, 1] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], ceil: false };
  const link = (input: string, output: string): Op =>
    kind === 'relu' ? { op: 'relu', input, output }
    : kind === 'add' ? { op: 'add', inputs: [input, input], output, relu: false }
    : kind === 'maxpool' ? { op: 'maxpool', input, output, ...window }
    : kind === 'avgpool' ? { op: 'avgpool', input, output, ...window, countIncludePad: false }
    : kind === 'concat' ? { op: 'concat', inputs: [input], output }
    : conv(input, output, channels, channels, kind === 'conv1x1' ? 1 : 3);
  const ops: Op[] = [conv('data', 'x0', 3, channels, 1)];
  for (let i = 1; i <= length; i++) ops.push(link(`x${i - 1}`, `x${i}`));
  ops.push(conv(`x${length}`, 'logits', channels, 2, 1), { op: 'globalavgpool', input: 'logits', output: 'out' });
  return validateModel({
    name: `${kind}-chain`, precision: 'f32', ops, output: 'out', labels: ['a', 'b'], tensors, provenance: { source: 'test', license: 'none' },
    input: { name: 'data', height: side, width: side, channelOrder: 'RGB', resizeShorter: side, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  });
}

/** `model` in int8: 13-bit activations wherever the kernels take them, every range [-4, 4] (fine for timing and limits, not for accuracy). */
export function int8Chain(model: ValidModel): ValidModel {
  const groups = quantGroups(model);
  const ranges = new Map([...new Set(groups.values())].map((g) => [g, [-4, 4] as [number, number]]));
  const i16 = new Set([...i16Tensors(model)].map((name) => groups.get(name)!));
  return validateModel(buildInt8(model, activationQuant(model, groups, ranges, i16)));
}

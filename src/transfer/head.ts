/**
 * A trained linear head written as a model the runtime runs unchanged. Linear maps commute with
 * averaging, so W.mean(x) + b = mean(W.x + b): the base network up to its feature layer, then a 1x1
 * convolution without ReLU to the new classes, then the global average pool (and the softmax, if
 * the base ends in one). On an int8 base the convolution is quantized as the quantizer does it, with
 * its u8 output covering a given range of per-pixel class scores; the pool keeps exact int32 sums.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { quantizeConv, rangeToQuant, roundWeights } from '../convert/quantize.js';
import { ArgumentError } from '../errors.js';
import type { ConvOp, Op, Provenance, QuantParams, Tensor } from '../model/format.js';
import { freshName, namesIn, opsComputing, tensorsOf } from '../model/graph.js';
import { validateModel, type ValidModel } from '../model/validate.js';
import { quote } from '../text.js';
import { classifierOps } from './features.js';
import type { LinearHead } from './softmax.js';

/** Options of {@link headModel}. */
export interface HeadModelOptions {
  name: string;
  /** One label per class of the head. */
  labels: readonly string[];
  provenance: Provenance;
  /** int8 bases only: the real range of the head's per-pixel outputs (before pooling) its u8 output covers. */
  range?: [number, number];
}

/**
 * The model that runs `base` up to its feature layer and `head` on it.
 * @throws ArgumentError if the head does not fit the base's feature layer, the labels do not match
 * its classes, or an int8 base comes without `range`.
 */
export function headModel(base: ValidModel, head: LinearHead, options: HeadModelOptions): ValidModel {
  checkArguments('headModel', { base: [base, 'model'], head: [head, 'object'], options: [options, 'object'], 'options.labels': [options?.labels, 'array'] });
  const { pool, layer } = classifierOps(base);
  const { c, h, w } = base.act(layer).shape;
  if (head.dim !== c) throw new ArgumentError('E_ARGUMENT', `the head takes ${head.dim} features but the feature layer ${quote(layer)} of ${quote(base.name)} has ${c}`);
  if (options.labels.length !== head.classes) throw new ArgumentError('E_ARGUMENT', `the head has ${head.classes} classes but ${options.labels.length} labels were given`);
  const ops = opsComputing(base.ops, layer);
  const tensors = tensorsOf(base, ops);
  const taken = namesIn(base, ops, tensors);
  const conv: ConvOp = {
    op: 'conv',
    input: layer,
    output: freshName('head', taken),
    weight: freshName('head_W', taken),
    bias: freshName('head_b', taken),
    kernel: [1, 1],
    stride: [1, 1],
    pads: [0, 0, 0, 0],
    relu: false,
  };
  const float = new Map<string, Tensor>([
    [conv.weight, { dtype: 'f32', shape: [head.classes, c, 1, 1], data: head.weight }],
    [conv.bias!, { dtype: 'f32', shape: [head.classes], data: head.bias }],
  ]);
  const last = base.ops[base.ops.length - 1];
  const tail: Op[] = [{ op: 'globalavgpool', input: conv.output, output: pool.output }, ...(last.op === 'softmax' ? [last] : [])];
  let quant: Map<string, QuantParams> | undefined;
  let headOp = conv;
  if (base.precision === 'int8') {
    if (!options.range) throw new ArgumentError('E_ARGUMENT', 'an int8 head needs the range of its per-pixel outputs');
    const qOut = rangeToQuant(...options.range);
    const kept = new Set([base.input.name, ...ops.map((op) => op.output)]);
    quant = new Map([...base.quant!].filter(([name]) => kept.has(name)));
    headOp = quantizeConv(conv, { ...base, tensors: float }, quant.get(layer)!, qOut, tensors, roundWeights(float.get(conv.weight)!));
    quant.set(conv.output, qOut);
    quant.set(pool.output, { scale: qOut.scale / (h * w), zeroPoint: 0, dtype: 'i32' });
  } else {
    for (const [name, t] of float) tensors.set(name, t);
  }
  return validateModel({
    ...base,
    name: options.name,
    ops: [...ops, headOp, ...tail],
    labels: [...options.labels],
    provenance: options.provenance,
    tensors,
    quant,
  });
}

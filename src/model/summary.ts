/**
 * A model's architecture at a glance, as `squeezewasm info` prints it: every op's output shape,
 * window, parameters, multiply-accumulates, weight sparsity and precision, with totals and the
 * model's provenance.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import type { ActShape, ActType, DType, InputSpec, OpKind, Pads, Precision, Provenance, Rounding } from './format.js';
import { convMacs } from './graph.js';
import type { ValidModel } from './validate.js';

/** One op of the network. */
export interface LayerSummary {
  /** The op's output tensor. */
  name: string;
  op: OpKind;
  /** Convs: whether ReLU is fused in. */
  relu?: boolean;
  output: ActShape;
  activation: ActType;
  /** int8 models: the output's scale and zero point (a softmax on the host has none). */
  quant?: { scale: number; zeroPoint: number };
  /** Ops imported from .tflite: TensorFlow Lite's rounding. */
  rounding?: Rounding;
  /** int8 convs: one weight scale per output channel, or one for the layer. */
  weightScales?: 'per-channel' | 'per-tensor';
  /** Window ops (conv, maxpool, avgpool): kernel, stride and [top, left, bottom, right] padding. */
  kernel?: [number, number];
  stride?: [number, number];
  pads?: Pads;
  /** Weights and biases; 0 for ops without any. */
  params: number;
  /** Multiply-accumulates per image (convs; pools and copies count as 0, as in the planner). */
  macs: number;
  /** Convs: element type of the weights (`f32`, or `i8` in int8 models), their count, how many are zero and that as a fraction. */
  weightType?: DType;
  weights?: number;
  zeroWeights?: number;
  sparsity?: number;
}

/** A whole model: its layers, totals and provenance. */
export interface ModelSummary {
  name: string;
  precision: Precision;
  input: InputSpec & { activation: ActType };
  classes: number;
  layers: LayerSummary[];
  totals: {
    params: number;
    macs: number;
    /** Conv weights (biases not counted), and how many of them are zero. */
    weights: number;
    zeroWeights: number;
    /** Size of the model file, when the summary was made from one. */
    fileBytes?: number;
  };
  provenance: Provenance;
}

/**
 * Summarizes a model: shapes and activation types as validation found them, MACs as the planner counts them.
 * @param model a model, as {@link readModel} returns it.
 * @param fileBytes the size of the file it was read from, reported in the totals.
 * @throws ArgumentError if an argument has the wrong type.
 */
export function summarizeModel(model: ValidModel, fileBytes?: number): ModelSummary {
  checkArguments('summarizeModel', { model: [model, 'model'], fileBytes: [fileBytes, 'number', 'absent'] });
  const layers = model.checked.map(({ op, inputs, output }): LayerSummary => {
    const q = output.quant;
    const base = {
      name: op.output, op: op.op, output: output.shape, activation: output.dtype,
      ...(q ? { quant: { scale: q.scale, zeroPoint: q.zeroPoint } } : {}),
      ...('rounding' in op && op.rounding ? { rounding: op.rounding } : {}),
    };
    const window = op.op === 'conv' || op.op === 'maxpool' || op.op === 'avgpool' ? { kernel: op.kernel, stride: op.stride, pads: op.pads } : {};
    if (op.op !== 'conv') return { ...base, ...window, params: 0, macs: 0 };
    const weight = model.tensors.get(op.weight)!;
    const weights = weight.data.length;
    let zeros = 0;
    for (const v of weight.data) if (v === 0) zeros++;
    const params = weights + (op.bias === undefined ? 0 : model.tensors.get(op.bias)!.data.length);
    const macs = convMacs(op, inputs[0].shape, output.shape);
    const scales = op.weightScale === undefined ? undefined : (model.tensors.get(op.weightScale)!.data as Float32Array);
    const weightScales = scales ? { weightScales: scales.every((s) => s === scales[0]) ? ('per-tensor' as const) : ('per-channel' as const) } : {};
    return { ...base, ...window, relu: op.relu, params, macs, weightType: weight.dtype, weights, zeroWeights: zeros, sparsity: zeros / weights, ...weightScales };
  });
  const sum = (f: (l: LayerSummary) => number | undefined): number => layers.reduce((s, l) => s + (f(l) ?? 0), 0);
  return {
    name: model.name,
    precision: model.precision,
    input: { ...model.input, activation: model.act(model.input.name).dtype },
    classes: model.labels.length,
    layers,
    totals: {
      params: sum((l) => l.params),
      macs: sum((l) => l.macs),
      weights: sum((l) => l.weights),
      zeroWeights: sum((l) => l.zeroWeights),
      ...(fileBytes === undefined ? {} : { fileBytes }),
    },
    provenance: model.provenance,
  };
}

/**
 * A squeezewasm int8 model as a standard QDQ ONNX graph (opset 13), so onnxruntime can run the
 * same calibration (the same int8 weights, int32 biases and activation scales) with its own int8
 * kernels: a benchmark peer, not a second implementation of squeezewasm's arithmetic.
 *
 * The graph: float NCHW input -> QuantizeLinear -> DequantizeLinear; per conv DequantizeLinear of
 * the int8 weight (per output channel, axis 0, zero point 0) and of the int32 bias (scale
 * inputScale x weightScale[n]), Conv, Relu when fused, then a QuantizeLinear/DequantizeLinear pair
 * with the output's scale and zero point. Max/average pool, concat and stand-alone ReLU sit
 * between Q/DQ pairs with their (shared) quantization. The global average pool runs in float on
 * its dequantized input: squeezewasm keeps exact int32 sums there and dequantizes in float, which
 * a float mean reproduces up to float rounding; requantizing it to 8 bits would tie close classes.
 * A Flatten gives [1, classes] and a final Softmax stays, so the output means what the float
 * ONNX's does (logits for SqueezeNet 1.1, probabilities for 1.0). onnxruntime's
 * QDQSelectorActionTransformer (graphOptimizationLevel 'all') fuses every conv into QLinearConv
 * (uint8 x int8 -> int32), every concat into QLinearConcat and every max pool into a uint8 one;
 * `npx tsx bench/peers/ort.ts --check` verifies that from onnxruntime's profile.
 *
 * int16 activations (all of the bundled models' but the output) are RE-QUANTIZED TO UINT8 over the
 * same range, so this graph is NOT bit-identical to squeezewasm: an activation after a ReLU
 * covering [0, 4095 s] as int16 becomes uint8 with scale 4095 s / 255 and zero point 0, 16x
 * coarser; the input gets the uint8 quantization of the preprocessing's full range (what the
 * quantizer gives a uint8 input); the int32 bias of each conv reading one is rescaled to the new
 * input scale, b' = round(b x oldScale / newScale). docs/quantization.md measures what 8 bits
 * there cost in agreement with float32. The alternative, int16 QDQ (opset 21), was tried with onnxruntime-web
 * 1.30 (wasm, SIMD, one thread): it loads and runs, and lands closer to squeezewasm (max logit
 * difference 0.04-0.23 instead of 0.28-0.51 on the 1.1 fixtures), but onnxruntime has no conv
 * kernel with 16-bit activations: only the classifier conv (uint8 in and out) became QLinearConv,
 * the other 25 convs ran as float Conv/FusedConv on dequantized values, their weights dequantized
 * on every run (76 DequantizeLinear nodes executed per 1.1 inference): 2.3x (1.1) and 10x (1.0)
 * slower than this graph. That would benchmark onnxruntime's float path, not its int8 one.
 *
 * Everything else is the same numbers with rounding differences: onnxruntime requantizes with a
 * float multiplier and rounds half to even, squeezewasm with a fixed-point multiplier (one shift
 * per layer) rounding half up, so uint8 activations may differ by one step.
 * @packageDocumentation
 */
import { rangeToQuant } from '../../src/convert/quantize.js';
import { I16_MAX, type ConvOp, type InputSpec, type Model, type Op } from '../../src/model/format.js';
import { validateModel } from '../../src/model/validate.js';
import { OnnxType, writeOnnx, type NodeSpec, type TensorSpec } from './onnx-writer.js';

/** The uint8 quantization of the whole range preprocessing can produce. */
function inputQuant(input: InputSpec): { scale: number; zeroPoint: number } {
  const { divisor, mean, std } = input;
  const ends = [0, 1, 2].flatMap((c) => [(0 / divisor - mean[c]) / std[c], (255 / divisor - mean[c]) / std[c]]);
  return rangeToQuant(Math.min(...ends), Math.max(...ends));
}

/**
 * Converts a squeezewasm int8 model (as `readModel` returns it) to QDQ ONNX bytes with graph
 * input `model.input.name` (float [1, 3, H, W], preprocessed like squeezewasm's input) and output
 * `model.output` (float [1, classes]). See the module comment for the graph and for the int16
 * tensors, which become uint8.
 * @throws Error if the model is not int8.
 */
export function int8ModelToQdqOnnx(model: Model): Uint8Array {
  const quant = model.quant;
  if (model.precision !== 'int8' || !quant) throw new Error(`${model.name} is not an int8 model`);
  const valid = validateModel(model);
  const producers = new Map<string, Op>(model.ops.map((op) => [op.output, op]));
  const nodes: NodeSpec[] = [];
  const initializers: TensorSpec[] = [];
  const constant = (name: string, dims: number[], data: TensorSpec['data']): string => {
    initializers.push({ name, dims, data });
    return name;
  };

  /** The uint8 quantization a tensor gets here, or undefined for float ones (exact int32 sums, softmax output). */
  const u8 = (t: string): { scale: number; zeroPoint: number } | undefined => {
    const q = quant.get(t);
    if (!q || q.dtype === 'i32') return undefined;
    if (q.dtype === 'u8') return q;
    if (t === model.input.name) return inputQuant(model.input);
    const hi = I16_MAX * q.scale;
    return rangeToQuant(nonNegative(t) ? 0 : -hi, hi);
  };
  /** Whether a tensor comes out of a ReLU, directly or through max pools and concats. */
  const nonNegative = (t: string): boolean => {
    const p = producers.get(t);
    if (p?.op === 'conv' || p?.op === 'add') return p.relu === true;
    if (p?.op === 'relu') return true;
    if (p?.op === 'maxpool') return nonNegative(p.input);
    return p?.op === 'concat' && p.inputs.every(nonNegative);
  };
  // Each tensor t is computed as float `t_f`; quantized ones are read through `t_dq`.
  const ref = (t: string): string => (u8(t) ? `${t}_dq` : `${t}_f`);
  const quantizePair = (t: string, from: string): void => {
    const q = u8(t)!;
    const s = constant(`${t}_scale`, [], Float32Array.of(q.scale));
    const z = constant(`${t}_zp`, [], Uint8Array.of(q.zeroPoint));
    nodes.push({ opType: 'QuantizeLinear', inputs: [from, s, z], outputs: [`${t}_q`] });
    nodes.push({ opType: 'DequantizeLinear', inputs: [`${t}_q`, s, z], outputs: [`${t}_dq`] });
  };
  const poolAttributes = (op: { kernel: number[]; stride: number[]; pads: number[]; ceil: boolean }) => [
    { name: 'kernel_shape', ints: op.kernel }, { name: 'strides', ints: op.stride }, { name: 'pads', ints: op.pads }, { name: 'ceil_mode', i: op.ceil ? 1 : 0 },
  ];

  const conv = (op: ConvOp): void => {
    if (op.max !== undefined) throw new Error(`qdq-onnx: ${model.name}: a conv clamped at ${op.max} is not translated`);
    const w = model.tensors.get(op.weight)!;
    const ws = model.tensors.get(op.weightScale!)!.data as Float32Array;
    const oc = w.shape[0];
    const perChannel = [{ name: 'axis', i: 0 }];
    nodes.push({
      opType: 'DequantizeLinear',
      inputs: [constant(op.weight, w.shape, w.data as Int8Array), constant(`${op.weight}_scale`, [oc], ws), constant(`${op.weight}_zp`, [oc], new Int8Array(oc))],
      outputs: [`${op.weight}_dq`],
      attributes: perChannel,
    });
    const inputs = [ref(op.input), `${op.weight}_dq`];
    if (op.bias !== undefined) {
      const stored = quant.get(op.input)!.scale;
      const scale = u8(op.input)!.scale;
      const b = model.tensors.get(op.bias)!.data as Int32Array;
      nodes.push({
        opType: 'DequantizeLinear',
        inputs: [
          constant(op.bias, [oc], scale === stored ? b : Int32Array.from(b, (v) => Math.round((v * stored) / scale))),
          constant(`${op.bias}_scale`, [oc], Float32Array.from(ws, (s) => s * scale)),
          constant(`${op.bias}_zp`, [oc], new Int32Array(oc)),
        ],
        outputs: [`${op.bias}_dq`],
        attributes: perChannel,
      });
      inputs.push(`${op.bias}_dq`);
    }
    const y = op.relu ? `${op.output}_conv` : `${op.output}_f`;
    nodes.push({
      opType: 'Conv', name: op.output, inputs, outputs: [y],
      attributes: [{ name: 'kernel_shape', ints: op.kernel }, { name: 'strides', ints: op.stride }, { name: 'pads', ints: op.pads }],
    });
    if (op.relu) nodes.push({ opType: 'Relu', inputs: [y], outputs: [`${op.output}_f`] });
  };

  quantizePair(model.input.name, model.input.name);
  for (const op of model.ops) {
    const y = [`${op.output}_f`];
    switch (op.op) {
      case 'conv': conv(op); break;
      case 'maxpool': nodes.push({ opType: 'MaxPool', inputs: [ref(op.input)], outputs: y, attributes: poolAttributes(op) }); break;
      case 'avgpool':
        nodes.push({ opType: 'AveragePool', inputs: [ref(op.input)], outputs: y, attributes: [...poolAttributes(op), { name: 'count_include_pad', i: op.countIncludePad ? 1 : 0 }] });
        break;
      case 'globalavgpool': nodes.push({ opType: 'GlobalAveragePool', inputs: [ref(op.input)], outputs: y }); break;
      case 'concat': nodes.push({ opType: 'Concat', inputs: op.inputs.map(ref), outputs: y, attributes: [{ name: 'axis', i: 1 }] }); break;
      case 'relu': nodes.push({ opType: 'Relu', inputs: [ref(op.input)], outputs: y }); break;
      case 'add': throw new Error(`qdq-onnx: ${model.name}: op add is not translated (the bundled SqueezeNets have none)`);
      case 'softmax':
        // Only ever the last op (the format says so): it writes the graph output.
        nodes.push({ opType: 'Flatten', inputs: [ref(op.input)], outputs: [`${op.input}_flat`] });
        nodes.push({ opType: 'Softmax', inputs: [`${op.input}_flat`], outputs: [op.output], attributes: [{ name: 'axis', i: 1 }] });
        continue;
    }
    if (u8(op.output)) quantizePair(op.output, y[0]);
  }
  const last = model.ops[model.ops.length - 1];
  if (last.op !== 'softmax') nodes.push({ opType: 'Flatten', inputs: [ref(model.output)], outputs: [model.output] });
  const classes = valid.act(last.op === 'softmax' ? last.input : model.output).shape.c;
  return writeOnnx({
    irVersion: 7,
    opsets: [{ domain: '', version: 13 }],
    producerName: 'squeezewasm bench/peers/qdq-onnx',
    graph: {
      name: model.name,
      nodes,
      initializers,
      inputs: [{ name: model.input.name, elemType: OnnxType.FLOAT, dims: [1, 3, model.input.height, model.input.width] }],
      outputs: [{ name: model.output, elemType: OnnxType.FLOAT, dims: [1, classes] }],
    },
  });
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ConvertMeta } from '../../src/convert/common.js';
import { convertOnnx, parseOnnx } from '../../src/convert/onnx.js';
import { ConvertError } from '../../src/errors.js';
import type { ConvOp, Model } from '../../src/model/format.js';
import { readModel } from '../../src/model/read.js';
import { writeModel } from '../../src/model/write.js';
import { DT, miniSqueezeNet, ProtoWriter, weight, weightValues, type GraphSpec, type NodeSpec } from '../helpers/onnx-builder.js';
import { rng } from '../helpers/wasm.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

const meta: ConvertMeta = {
  name: 'mini',
  input: { channelOrder: 'RGB', resizeShorter: 20, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
  labels: ['a', 'b', 'c', 'd', 'e'],
  provenance: { source: 'test', license: 'MIT' },
};

const convert = (bytes: Uint8Array, m: Partial<ConvertMeta> = {}): Model => convertOnnx(bytes, { ...meta, ...m });

/** Converts a mini SqueezeNet after `edit`, expecting a ConvertError with `code` whose message matches `pattern`. */
function expectRefusal(edit: (g: GraphSpec) => void, code: string, pattern: RegExp): ConvertError {
  return expectSqueezeError(thrown(() => convert(miniSqueezeNet(edit).bytes)), ConvertError, code, pattern);
}

const node = (g: GraphSpec, name: string): NodeSpec => g.nodes.find((n) => n.name === name)!;

/** Replaces the node named `name` with `nodes`. */
function replace(g: GraphSpec, name: string, ...nodes: NodeSpec[]): void {
  g.nodes.splice(g.nodes.findIndex((n) => n.name === name), 1, ...nodes);
}

const ops = (m: Model): string[] => m.ops.map((op) => `${op.op}${op.op === 'conv' && op.relu ? '+relu' : ''}:${op.output}`);

describe('convertOnnx on a mini SqueezeNet', () => {
  const model = convert(miniSqueezeNet().bytes);

  it('translates every op, fusing each ReLU into its conv', () => {
    expect(ops(model)).toEqual([
      'conv+relu:relu1_out',
      'maxpool:pool1_out',
      'conv+relu:sq_relu',
      'conv+relu:e1_relu',
      'conv+relu:e3_relu',
      'concat:fire_out',
      'conv+relu:cls_relu',
      'globalavgpool:gap_out',
      'softmax:prob',
    ]);
    expect(model.ops[0]).toEqual({
      op: 'conv', input: 'data', output: 'relu1_out', weight: 'conv1_W', bias: 'conv1_b', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], relu: true,
    });
    expect(model.ops[1]).toEqual({ op: 'maxpool', input: 'relu1_out', output: 'pool1_out', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true });
    expect(model.ops[4]).toMatchObject({ input: 'sq_relu', kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1] });
    expect(model.ops[5]).toEqual({ op: 'concat', inputs: ['e1_relu', 'e3_relu'], output: 'fire_out' });
    expect(model.ops[8]).toEqual({ op: 'softmax', input: 'gap_out', output: 'prob' });
    expect(model.output).toBe('prob');
  });

  it('keeps the weights, their names and ONNX layout, from raw_data and float_data alike', () => {
    expect([...model.tensors.keys()]).toEqual(['conv1_W', 'conv1_b', 'sq_W', 'sq_b', 'e1_W', 'e1_b', 'e3_W', 'e3_b', 'cls_W', 'cls_b']);
    const e3 = model.tensors.get('e3_W')!;
    expect(e3.shape).toEqual([3, 2, 3, 3]);
    expect([...e3.data]).toEqual(weightValues([3, 2, 3, 3], 7));
    expect([...model.tensors.get('e1_W')!.data]).toEqual(weightValues([3, 2, 1, 1], 5));
    expect([...model.tensors.get('conv1_b')!.data]).toEqual(weightValues([4], 2));
  });

  it('takes the input size from ONNX and the preprocessing from meta', () => {
    expect(model.input).toEqual({ name: 'data', height: 16, width: 16, ...meta.input });
    expect(model.labels).toEqual(meta.labels);
    expect(model.provenance).toEqual(meta.provenance);
    expect(convert(miniSqueezeNet().bytes, { input: { ...meta.input, height: 19, width: 17 } }).input).toMatchObject({ height: 19, width: 17 });
  });

  it('writes a file that reads back', () => {
    const back = readModel(writeModel(model));
    expect(back.ops).toEqual(model.ops);
    expect(back.input).toEqual(model.input);
  });

  it('names the output after the ONNX graph output when a Flatten was removed', () => {
    const m = convert(miniSqueezeNet((g) => {
      g.nodes.pop();
      g.outputs = [{ name: 'logits', dims: [1, 5] }];
    }).bytes);
    expect(m.output).toBe('logits');
    expect(m.ops.at(-1)).toEqual({ op: 'globalavgpool', input: 'cls_relu', output: 'logits' });
  });
});

describe('graph rewriting', () => {
  it('removes Dropout and Identity, and still fuses the ReLU behind them', () => {
    const m = convert(miniSqueezeNet((g) => {
      replace(g, 'fire/concat',
        { ...node(g, 'fire/concat'), outputs: ['concat_raw'] },
        { op: 'Dropout', name: 'drop', inputs: ['concat_raw'], outputs: ['dropped', 'mask'], attrs: { seed: 3 } },
        { op: 'Identity', name: 'id', inputs: ['dropped'], outputs: ['fire_out'] });
      replace(g, 'classifier',
        { ...node(g, 'classifier'), outputs: ['cls_pre'] },
        { op: 'Identity', name: 'id2', inputs: ['cls_pre'], outputs: ['cls_out'] });
    }).bytes);
    expect(ops(m)).toEqual(['conv+relu:relu1_out', 'maxpool:pool1_out', 'conv+relu:sq_relu', 'conv+relu:e1_relu', 'conv+relu:e3_relu', 'concat:concat_raw', 'conv+relu:cls_relu', 'globalavgpool:gap_out', 'softmax:prob']);
    expect((m.ops[6] as ConvOp).input).toBe('concat_raw');
  });

  it('keeps a stand-alone ReLU when the conv output has another reader', () => {
    // The squeeze conv's raw output feeds both its ReLU and the 1x1 expand.
    const m = convert(miniSqueezeNet((g) => {
      node(g, 'fire/expand1x1').inputs[0] = 'sq_out';
    }).bytes);
    expect(ops(m).slice(2, 6)).toEqual(['conv:sq_out', 'relu:sq_relu', 'conv+relu:e1_relu', 'conv+relu:e3_relu']);
    expect(m.ops[3]).toEqual({ op: 'relu', input: 'sq_out', output: 'sq_relu' });
    expect((m.ops[4] as ConvOp).input).toBe('sq_out');
  });

  it('does not fuse a ReLU whose conv output is also the graph output', () => {
    const m = convert(miniSqueezeNet((g) => {
      g.nodes.splice(-3);
      g.nodes.push({ op: 'GlobalAveragePool', name: 'gap', inputs: ['fire_out'], outputs: ['gap_out'] });
      g.nodes.push({ op: 'Conv', name: 'cls', inputs: ['gap_out', 'cls_W', 'cls_b'], outputs: ['scores'] });
      g.nodes.push({ op: 'Relu', name: 'r', inputs: ['scores'], outputs: ['unused'] });
      g.outputs = [{ name: 'scores' }];
    }).bytes, { labels: ['a', 'b', 'c', 'd', 'e'] });
    // The dead ReLU is dropped, not fused: the output stays the conv's, negative scores included.
    expect(ops(m).slice(-2)).toEqual(['globalavgpool:gap_out', 'conv:scores']);
    expect(m.ops.at(-1)).toMatchObject({ op: 'conv', relu: false });
    expect(m.output).toBe('scores');
  });

  it('treats a Reshape of [1,C,1,1] to [1,C] as a Flatten, with the shape from an initializer or a Constant', () => {
    for (const shape of [[1, -1], [1, 5], [0, -1], [-1, 5]]) {
      const viaInit = convert(miniSqueezeNet((g) => {
        replace(g, 'flatten', { op: 'Reshape', name: 'reshape', inputs: ['gap_out', 'shape'], outputs: ['logits'] });
        g.initializers!.push({ name: 'shape', dims: [2], ints: shape });
      }).bytes);
      expect(ops(viaInit).slice(-2)).toEqual(['globalavgpool:gap_out', 'softmax:prob']);
      const viaConstant = convert(miniSqueezeNet((g) => {
        replace(g, 'flatten',
          { op: 'Constant', name: 'shape_const', inputs: [], outputs: ['shape'], attrs: { value: { tensor: { dims: [2], ints: shape, raw: true } } } },
          { op: 'Reshape', name: 'reshape', inputs: ['gap_out', 'shape'], outputs: ['logits'] });
      }).bytes);
      expect(viaConstant.ops).toEqual(viaInit.ops);
    }
  });

  it('resolves auto_pad SAME_UPPER, SAME_LOWER and VALID', () => {
    const pads = (autoPad: string, kernel: number, stride: number): number[] => {
      const m = convert(miniSqueezeNet((g) => {
        g.initializers![0] = weight('conv1_W', [4, 3, kernel, kernel], 1);
        node(g, 'conv1').attrs = { auto_pad: autoPad, kernel_shape: [kernel, kernel], strides: [stride, stride] };
      }).bytes);
      return (m.ops[0] as ConvOp).pads;
    };
    expect(pads('SAME_UPPER', 3, 1)).toEqual([1, 1, 1, 1]);
    expect(pads('SAME_UPPER', 4, 2)).toEqual([1, 1, 1, 1]); // 16 -> 8: total padding 2
    expect(pads('SAME_UPPER', 3, 2)).toEqual([0, 0, 1, 1]); // total 1: the extra pixel goes last
    expect(pads('SAME_LOWER', 3, 2)).toEqual([1, 1, 0, 0]);
    expect(pads('VALID', 3, 2)).toEqual([0, 0, 0, 0]);
  });

  it('converts AveragePool with count_include_pad and a conv without bias', () => {
    const m = convert(miniSqueezeNet((g) => {
      replace(g, 'pool1', { op: 'AveragePool', name: 'pool1', inputs: ['relu1_out'], outputs: ['pool1_out'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 } });
      node(g, 'conv1').inputs.pop();
    }).bytes);
    expect(m.ops[1]).toEqual({ op: 'avgpool', input: 'relu1_out', output: 'pool1_out', kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1], ceil: false, countIncludePad: true });
    expect(m.ops[0]).not.toHaveProperty('bias');
    expect(m.tensors.has('conv1_b')).toBe(false);
  });

  it('accepts a symbolic batch dimension, and symbolic height and width given in meta', () => {
    const bytes = miniSqueezeNet((g) => {
      g.inputs = [{ name: 'data', dims: ['N', 3, 'H', 'W'] }];
    }).bytes;
    expect(convert(bytes, { input: { ...meta.input, height: 16, width: 18 } }).input).toMatchObject({ height: 16, width: 18 });
    expect(() => convert(bytes)).toThrow(/ONNX input "data" has no fixed height \("H"\); pass meta.input.height/);
  });

  it('ignores initializers listed among the graph inputs, as older exporters write them', () => {
    const m = convert(miniSqueezeNet((g) => {
      g.inputs.push({ name: 'conv1_W', dims: [4, 3, 3, 3] }, { name: 'conv1_b', dims: [4] });
    }).bytes);
    expect(m.input.name).toBe('data');
  });

  it('reads softmax over axis -1 of a [1,C] tensor, and the pre-opset-13 default axis on [1,C,1,1]', () => {
    const flat = convert(miniSqueezeNet((g) => {
      node(g, 'softmax').attrs = { axis: -1 };
    }).bytes);
    expect(flat.ops.at(-1)?.op).toBe('softmax');
    const old = convert(miniSqueezeNet((g) => {
      g.opset = 11;
      g.nodes.splice(-2, 2, { op: 'Softmax', name: 'softmax', inputs: ['gap_out'], outputs: ['prob'] });
    }).bytes);
    expect(old.ops.at(-1)).toEqual({ op: 'softmax', input: 'gap_out', output: 'prob' });
  });
});

describe('refusals', () => {
  it('names the op type and the node of an unsupported op', () => {
    const e = expectRefusal((g) => {
      replace(g, 'relu1', { op: 'LSTM', name: 'lstm_1', inputs: ['conv1_out'], outputs: ['relu1_out'] });
    }, 'E_CONVERT_OP', /^unsupported ONNX op "LSTM" \(node "lstm_1"\); squeezewasm converts Conv, Relu, /);
    expect(e.message).toContain('MaxPool');
  });

  it('describes an unnamed node by position and output', () => {
    expectRefusal((g) => {
      replace(g, 'relu1', { op: 'LRN', inputs: ['conv1_out'], outputs: ['relu1_out'] });
    }, 'E_CONVERT_OP', /unsupported ONNX op "LRN" \(node #1, unnamed, output "relu1_out"\)/);
  });

  it('refuses ops from other domains', () => {
    expectRefusal((g) => {
      node(g, 'relu1').domain = 'com.microsoft';
    }, 'E_CONVERT_OP', /unsupported ONNX op "com\.microsoft\.Relu" \(node "relu1"\)/);
  });

  it.each<[string, (g: GraphSpec) => void, string, RegExp]>([
    ['grouped convolution', (g) => void (node(g, 'conv1').attrs!.group = 2), 'E_CONVERT_ATTR', /Conv node "conv1": group 2 is not supported/],
    ['dilation', (g) => void (node(g, 'fire/expand3x3').attrs!.dilations = [2, 2]), 'E_CONVERT_ATTR', /Conv node "fire\/expand3x3": dilations \[2,2\] are not supported/],
    ['pool dilation', (g) => void (node(g, 'pool1').attrs!.dilations = [1, 2]), 'E_CONVERT_ATTR', /MaxPool node "pool1": dilations \[1,2\]/],
    ['an unknown attribute', (g) => void (node(g, 'conv1').attrs!.frobnicate = 1), 'E_CONVERT_ATTR', /Conv node "conv1": attribute "frobnicate" is not supported/],
    ['an attribute of the wrong type', (g) => void (node(g, 'conv1').attrs!.group = [1]), 'E_CONVERT_ATTR', /attribute "group" has type INTS, expected INT/],
    ['a kernel_shape that contradicts the weight', (g) => void (node(g, 'conv1').attrs!.kernel_shape = [5, 5]), 'E_CONVERT_ATTR', /kernel_shape \[5,5\] does not match the weight's \[3,3\]/],
    ['3-D strides', (g) => void (node(g, 'conv1').attrs!.strides = [1, 1, 1]), 'E_CONVERT_ATTR', /strides \[1,1,1\] is not supported/],
    ['an unknown auto_pad', (g) => void (node(g, 'conv1').attrs!.auto_pad = 'SAME'), 'E_CONVERT_ATTR', /auto_pad "SAME" is not supported/],
    ['storage_order 1', (g) => void (node(g, 'pool1').attrs!.storage_order = 1), 'E_CONVERT_ATTR', /storage_order 1/],
    ['MaxPool indices in use', (g) => {
      node(g, 'pool1').outputs.push('indices');
      node(g, 'fire/concat').inputs.push('indices');
    }, 'E_CONVERT_GRAPH', /MaxPool node "pool1": its extra output "indices" is used; squeezewasm computes only the first output of MaxPool/],
    ['a Concat without axis', (g) => void delete node(g, 'fire/concat').attrs!.axis, 'E_CONVERT_ATTR', /Concat node "fire\/concat": attribute "axis" is required/],
    ['a Concat without inputs', (g) => void (node(g, 'fire/concat').inputs = []), 'E_CONVERT_GRAPH', /Concat node "fire\/concat": has no inputs/],
    ['concat along height', (g) => void (node(g, 'fire/concat').attrs!.axis = 2), 'E_CONVERT_ATTR', /Concat node "fire\/concat": concatenation along axis 2 is not supported/],
    ['softmax over a size-1 axis', (g) => {
      g.nodes.splice(-2, 2, { op: 'Softmax', name: 'softmax', inputs: ['gap_out'], outputs: ['prob'], attrs: { axis: -1 } });
    }, 'E_CONVERT_ATTR', /softmax along axis -1 of a \[1,5,1,1\] tensor is not supported/],
    ['softmax before the end', (g) => {
      replace(g, 'relu_cls', { op: 'Softmax', name: 'early', inputs: ['cls_out'], outputs: ['cls_relu'], attrs: { axis: 1 } });
    }, 'E_CONVERT_ATTR', /Softmax node "early": softmax along axis 1 of a \[1,5,3,3\] tensor/],
    ['Flatten of a spatial map', (g) => {
      g.nodes.splice(-3, 3, { op: 'Flatten', name: 'flatten', inputs: ['cls_relu'], outputs: ['prob'] });
    }, 'E_CONVERT_GRAPH', /Flatten node "flatten": flattening \[1,5,3,3\] at axis 1 is not supported/],
    ['a Reshape that is not a flatten', (g) => {
      replace(g, 'flatten', { op: 'Reshape', name: 'reshape', inputs: ['gap_out', 'shape'], outputs: ['logits'] });
      g.initializers!.push({ name: 'shape', dims: [3], ints: [1, 5, 1] });
    }, 'E_CONVERT_GRAPH', /Reshape node "reshape": reshaping \[1,5,1,1\] to \[1,5,1\] is not supported/],
    ['a Reshape with a computed shape', (g) => {
      replace(g, 'flatten', { op: 'Reshape', name: 'reshape', inputs: ['gap_out', 'relu1_out'], outputs: ['logits'] });
    }, 'E_CONVERT_GRAPH', /shape "relu1_out" must be an initializer or Constant/],
    ['a Constant where an activation belongs', (g) => {
      g.nodes.unshift({ op: 'Constant', name: 'k', inputs: [], outputs: ['k_out'], attrs: { value: { tensor: { dims: [1], floats: [1] } } } });
      node(g, 'fire/concat').inputs.push('k_out');
    }, 'E_CONVERT_GRAPH', /Concat node "fire\/concat": input "k_out" is a constant; squeezewasm needs a computed activation there/],
    ['a Constant as the graph output', (g) => {
      g.nodes.push({ op: 'Constant', name: 'k', inputs: [], outputs: ['k_out'], attrs: { value: { tensor: { dims: [1, 5], floats: [1, 2, 3, 4, 5] } } } });
      g.outputs = [{ name: 'k_out', dims: [1, 5] }];
    }, 'E_CONVERT_GRAPH', /Constant node "k": a Constant cannot be the graph output/],
    ['a Dropout in training mode', (g) => {
      replace(g, 'relu1', { op: 'Dropout', name: 'drop', inputs: ['conv1_out', '', 'train'], outputs: ['relu1_out'] });
    }, 'E_CONVERT_GRAPH', /Dropout node "drop": a training_mode input is not supported/],
    ['float16 weights', (g) => {
      g.initializers![0] = { name: 'conv1_W', dims: [4, 3, 3, 3], dataType: DT.FLOAT16, floats: Array(108).fill(0x3c00), raw: true };
    }, 'E_CONVERT_TENSOR', /Conv node "conv1": weight "conv1_W" is float16; squeezewasm converts float32 weights only/],
    ['int64 weights', (g) => {
      g.initializers![0] = { name: 'conv1_W', dims: [4, 3, 3, 3], ints: Array(108).fill(1) };
    }, 'E_CONVERT_TENSOR', /weight "conv1_W" is int64/],
    ['a weight with too few values', (g) => {
      g.initializers![2] = { name: 'sq_W', dims: [2, 4, 1, 1], floats: [1, 2, 3], raw: true };
    }, 'E_CONVERT_TENSOR', /weight "sq_W" holds 12 bytes but its shape \[2,4,1,1\] needs 32/],
    ['a weight with the wrong input channels', (g) => {
      g.initializers![2] = weight('sq_W', [2, 5, 1, 1], 3);
    }, 'E_CONVERT_TENSOR', /weight "sq_W" has shape \[2,5,1,1\], expected \[2,4,1,1\]/],
    ['NaN weights', (g) => {
      g.initializers![1] = { name: 'conv1_b', dims: [4], floats: [0, NaN, 0, 0] };
    }, 'E_CONVERT_TENSOR', /bias "conv1_b" holds NaN or infinite values/],
    ['external weights', (g) => {
      g.initializers![1] = { name: 'conv1_b', dims: [4], external: true };
    }, 'E_CONVERT_TENSOR', /keeps its data in an external file/],
    ['a computed weight', (g) => void (node(g, 'fire/expand1x1').inputs[1] = 'sq_relu'), 'E_CONVERT_GRAPH', /weight "sq_relu" must be an initializer/],
    ['an NHWC input', (g) => void (g.inputs = [{ name: 'data', dims: [1, 16, 16, 3] }]), 'E_CONVERT_INPUT', /shape \[1,16,16,3\]; squeezewasm needs an NCHW image tensor \[1,3,H,W\] \(this looks like NHWC\)/],
    ['a batch of 2', (g) => void (g.inputs = [{ name: 'data', dims: [2, 3, 16, 16] }]), 'E_CONVERT_INPUT', /batch size 2; squeezewasm needs batch 1/],
    ['an integer input', (g) => void (g.inputs = [{ name: 'data', dims: [1, 3, 16, 16], elemType: DT.INT64 }]), 'E_CONVERT_INPUT', /is int64; squeezewasm needs a float32 image input/],
    ['two inputs', (g) => void g.inputs.push({ name: 'extra', dims: [1] }), 'E_CONVERT_INPUT', /2 inputs \("data", "extra"\)/],
    ['two outputs', (g) => void g.outputs.push({ name: 'gap_out' }), 'E_CONVERT_GRAPH', /2 outputs/],
    ['an old opset', (g) => void (g.opset = 6), 'E_CONVERT_OPSET', /opset 6; squeezewasm converts opset 7 or newer/],
    ['an unsorted graph', (g) => void g.nodes.reverse(), 'E_CONVERT_GRAPH', /Softmax node "softmax": input "logits" is not produced by any earlier node \(the graph must be topologically sorted\)/],
    ['a tensor defined twice', (g) => void (node(g, 'relu1').outputs[0] = 'data'), 'E_CONVERT_GRAPH', /output "data" is defined more than once/],
    ['a bias that does not match the weight', (g) => void (g.initializers![8] = weight('cls_W', [6, 6, 1, 1], 9)), 'E_CONVERT_TENSOR', /bias "cls_b" has shape \[5\], expected \[6\]/],
    ['a window larger than its input', (g) => void Object.assign(node(g, 'pool1').attrs!, { kernel_shape: [9, 9] }), 'E_CONVERT_GRAPH', /MaxPool node "pool1": a 9x9 window does not fit its 7x7 input/],
  ])('refuses %s', (_, edit, code, pattern) => {
    expectRefusal(edit, code, pattern);
  });

  it('reports structural problems found by shape inference as ConvertError', () => {
    expectRefusal((g) => {
      node(g, 'conv1').attrs!.pads = [65, 65, 65, 65];
    }, 'E_CONVERT_GRAPH', /^the converted network is not valid: op 0 \(conv -> "relu1_out"\): pads must be four integers in 0\.\.64/);
    expect(() => convert(miniSqueezeNet().bytes, { labels: ['a'] })).toThrow(/the network has 5 outputs but the file has 1 labels/);
    expectRefusal((g) => {
      replace(g, 'softmax', { ...node(g, 'softmax'), outputs: ['p0'] }, { op: 'Relu', name: 'late', inputs: ['p0'], outputs: ['prob'] });
    }, 'E_CONVERT_GRAPH', /op 8 \(softmax -> "p0"\): softmax must be the last op/);
  });
});

describe('hostile bytes', () => {
  const { bytes } = miniSqueezeNet();

  it('refuses non-ONNX input with a ConvertError', () => {
    expect(() => convert(new Uint8Array(0))).toThrow(/ModelProto: the model has no graph/);
    expect(() => convert(new TextEncoder().encode('{"not": "onnx"}'))).toThrow(ConvertError);
    expect(() => convert(new ProtoWriter().varint(7, 1).finish())).toThrow(/field 7 at byte 0 has wire type 0 \(varint\), expected 2/);
  });

  it('refuses every truncation of a valid model', () => {
    for (let n = 0; n < bytes.length; n++) {
      expect(() => convert(bytes.subarray(0, n)), `truncated to ${n} bytes`).toThrow(ConvertError);
    }
  });

  it('either converts or throws ConvertError for random corruptions', () => {
    const r = rng(3);
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const b = bytes.slice();
      for (let k = 1 + Math.floor(r() * 3); k > 0; k--) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
      try {
        convert(b);
      } catch (e) {
        expect(e).toBeInstanceOf(ConvertError);
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('refuses a tensor that claims huge dims without allocating them', () => {
    expectRefusal((g) => {
      g.initializers![1] = { name: 'conv1_b', dims: [2 ** 31], floats: [1, 2, 3, 4] };
    }, 'E_CONVERT_TENSOR', /bias "conv1_b" has shape \[2147483648\], expected \[4\]/);
    expectRefusal((g) => {
      g.nodes.splice(-3, 3, { op: 'GlobalAveragePool', name: 'gap', inputs: ['cls_relu'], outputs: ['g'] },
        { op: 'Reshape', name: 'reshape', inputs: ['g', 'shape'], outputs: ['prob'] });
      g.initializers!.push({ name: 'shape', dims: [2 ** 40, 2 ** 20], ints: [1, -1] });
    }, 'E_CONVERT_TENSOR', /has invalid dims/);
  });
});

describe('parseOnnx', () => {
  it('decodes opsets, nodes, attributes and shapes', () => {
    const m = parseOnnx(miniSqueezeNet().bytes);
    expect(m.opsetImports).toEqual([{ domain: '', version: 13 }]);
    expect(m.graph.inputs).toEqual([{ name: 'data', elemType: 1, dims: [1, 3, 16, 16] }]);
    expect(m.graph.nodes[2]).toMatchObject({ opType: 'MaxPool', name: 'pool1', inputs: ['relu1_out'], outputs: ['pool1_out'] });
    expect(m.graph.nodes[2].attributes.find((a) => a.name === 'ceil_mode')).toMatchObject({ type: 2, i: 1 });
    expect(m.graph.initializers[0]).toMatchObject({ name: 'conv1_W', dims: Float64Array.of(4, 3, 3, 3), dataType: 1 });
  });

  it('reads unpacked repeated dims and float_data as older writers emit them', () => {
    const t = new ProtoWriter().varint(1, 2).varint(1, 1).varint(2, 1).float(4, 1.5).float(4, -2).string(8, 'w');
    const graph = new ProtoWriter().message(5, t);
    const m = parseOnnx(new ProtoWriter().message(7, graph).finish());
    expect(m.graph.initializers[0]).toMatchObject({ name: 'w', dims: Float64Array.of(2, 1), floatData: Float32Array.of(1.5, -2) });
  });

  it('refuses sparse initializers', () => {
    const graph = new ProtoWriter().message(15, new ProtoWriter());
    expect(() => parseOnnx(new ProtoWriter().message(7, graph).finish())).toThrow(/sparse initializers/);
  });
});

describe('bundled weights', () => {
  const load = (name: string): Model => readModel(new Uint8Array(readFileSync(new URL(`../../weights/${name}`, import.meta.url))));
  const count = (m: Model, op: string): number => m.ops.filter((o) => o.op === op).length;
  const labels = readFileSync(new URL('../../weights/imagenet-labels.txt', import.meta.url), 'utf8').trim().split('\n');

  it('squeezenet1.1-f32.sqz: RGB 224, ImageNet normalisation, 26 convs, logits output', () => {
    const m = load('squeezenet1.1-f32.sqz');
    expect(m.name).toBe('squeezenet1.1-f32');
    expect(m.input).toEqual({ name: 'data', height: 224, width: 224, channelOrder: 'RGB', resizeShorter: 256, divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    expect(m.labels).toHaveLength(1000);
    expect(labels).toHaveLength(1000);
    expect(m.labels[0]).toBe('tench');
    expect(m.labels[1]).toBe('goldfish');
    expect(m.labels[2]).toBe('great white shark');
    expect([count(m, 'conv'), count(m, 'maxpool'), count(m, 'concat'), count(m, 'globalavgpool'), count(m, 'softmax'), count(m, 'relu')]).toEqual([26, 3, 8, 1, 0, 0]);
    expect(m.ops.every((o) => o.op !== 'conv' || o.relu)).toBe(true);
    expect(m.output).toBe('logits');
    expect(m.provenance.license).toBe('Apache-2.0');
    expect(m.provenance.licenseText).toMatch(/squeezenet1\.1-7/);
  });

  it('squeezenet1.0-f32.sqz: BGR 227, Caffe mean, 26 convs, conv_final padded by 1, softmax output', () => {
    const m = load('squeezenet1.0-f32.sqz');
    expect(m.name).toBe('squeezenet1.0-f32');
    expect(m.input).toEqual({ name: 'data', height: 227, width: 227, channelOrder: 'BGR', resizeShorter: 256, divisor: 1, mean: [104, 117, 123], std: [1, 1, 1] });
    expect(m.labels).toHaveLength(1000);
    expect(m.labels[999]).toBe('toilet tissue');
    expect([count(m, 'conv'), count(m, 'maxpool'), count(m, 'concat'), count(m, 'globalavgpool'), count(m, 'softmax'), count(m, 'relu')]).toEqual([26, 3, 8, 1, 1, 0]);
    const final = m.ops.find((o): o is ConvOp => o.op === 'conv' && o.weight === 'conv_final_W')!;
    expect(final).toMatchObject({ kernel: [1, 1], pads: [1, 1, 1, 1], relu: true });
    expect(m.output).toBe('prob');
    expect(m.provenance.license).toBe('BSD-2-Clause');
    expect(m.provenance.licenseText).toBe(readFileSync(new URL('../../weights/LICENSE-squeezenet1.0.txt', import.meta.url), 'utf8'));
  });
});

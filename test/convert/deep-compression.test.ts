import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledProvenance, REFERENCE_MODELS } from '../../bench/reference-models.js';
import type { ConvertMeta } from '../../src/convert/common.js';
import { convertDeepCompression } from '../../src/convert/deep-compression.js';
import { parseLabels } from '../../src/convert/labels.js';
import { ConvertError, LimitError } from '../../src/errors.js';
import { createClassifier } from '../../src/index.js';
import { opInputs } from '../../src/model/graph.js';
import type { ConvOp, Model, Op } from '../../src/model/format.js';
import { readModel } from '../../src/model/read.js';
import { writeModel } from '../../src/model/write.js';
import { kernelsModule, randInt, rng } from '../helpers/wasm.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

const fixtures = new URL('../fixtures/', import.meta.url);
const weights = new URL('../../weights/', import.meta.url);
const net = new Uint8Array(readFileSync(new URL('deep-compression/compressed_SqueezeNet.net', fixtures)));
const prototxt = readFileSync(new URL('deep-compression/deploy.prototxt', fixtures), 'utf8');

// The metadata weights/make-weights.ts gives squeezenet1.0-f32, from the committed copies of its inputs.
const ref = REFERENCE_MODELS.find((m) => m.bundled === 'squeezenet1.0-f32')!;
const meta: ConvertMeta = {
  name: ref.bundled,
  input: ref.input,
  labels: parseLabels(readFileSync(new URL('imagenet-labels.txt', weights), 'utf8')),
  provenance: bundledProvenance(ref, readFileSync(new URL(ref.licenseFile, weights), 'utf8')),
};
const onnxBytes = new Uint8Array(readFileSync(new URL('squeezenet1.0-f32.sqz', weights)));
const fromOnnx = readModel(onnxBytes);

const convert = (bytes: Uint8Array = net, text: string = prototxt): Model => convertDeepCompression(bytes, text, meta);

/** An op with its tensor names taken out: what must agree between two converters that name tensors differently. */
function params(op: Op): Record<string, unknown> {
  const { output: _o, ...rest } = op as Op & { input?: string; inputs?: string[]; weight?: string; bias?: string };
  delete rest.input;
  delete rest.inputs;
  delete rest.weight;
  delete rest.bias;
  return rest;
}

/** Expects `run` to throw a ConvertError with `code` whose message matches `pattern`. */
function expectRefusal(run: () => unknown, code: string, pattern: RegExp): void {
  expect(expectSqueezeError(thrown(run), ConvertError, code, pattern).message).not.toMatch(/\n/);
}

const patched = (edit: (bytes: Uint8Array, view: DataView) => void): Uint8Array => {
  const bytes = net.slice();
  edit(bytes, new DataView(bytes.buffer));
  return bytes;
};

describe('the Deep Compression release of SqueezeNet v1.0', () => {
  const model = convert();

  it('ships with its BSD license, the same text the bundled weights carry', () => {
    expect(net.length).toBe(675763);
    expect(readFileSync(new URL('deep-compression/LICENSE', fixtures), 'utf8')).toBe(model.provenance.licenseText);
    expect(model.provenance.license).toBe('BSD-2-Clause');
  });

  it('maps layer by layer onto the model the ONNX path made: same ops, same parameters, same wiring', () => {
    expect(model.ops.map((op) => op.op)).toEqual(fromOnnx.ops.map((op) => op.op));
    const names = new Map([[model.input.name, fromOnnx.input.name]]);
    model.ops.forEach((op, i) => {
      const other = fromOnnx.ops[i];
      expect(params(op)).toEqual(params(other));
      expect(opInputs(op).map((x) => names.get(x))).toEqual(opInputs(other));
      names.set(op.output, other.output);
    });
    expect(names.get(model.output)).toBe(fromOnnx.output);
    expect(model.input).toEqual(fromOnnx.input);
    expect(model.labels).toEqual(fromOnnx.labels);
    expect(model.provenance).toEqual(fromOnnx.provenance);
  });

  it('decodes weights and biases bit-identical to the ONNX path, layer by layer', () => {
    const convs = (m: Model) => m.ops.filter((op): op is ConvOp => op.op === 'conv');
    const pairs = convs(model).map((op, i) => [op, convs(fromOnnx)[i]] as const);
    let tensors = 0;
    let values = 0;
    let zeros = 0;
    for (const [a, b] of pairs) {
      for (const [x, y] of [[a.weight, b.weight], [a.bias!, b.bias!]]) {
        const mine = model.tensors.get(x)!;
        const theirs = fromOnnx.tensors.get(y)!;
        expect(mine.shape, x).toEqual(theirs.shape);
        // Compared as bit patterns: -0 and 0, or two NaNs, would pass a float comparison.
        const bits = new Uint32Array(mine.data.buffer, mine.data.byteOffset, mine.data.length);
        const expected = new Uint32Array(theirs.data.slice().buffer);
        expect(bits.every((v, k) => v === expected[k]), x).toBe(true);
        tensors++;
        values += bits.length;
        if (x === a.weight) zeros += bits.filter((v) => v === 0).length;
      }
    }
    expect(pairs).toHaveLength(26);
    expect(tensors).toBe(52);
    expect(values).toBe(1248424);
    // Pruned: 2/3 of the weights are zero (what the stored counts say, less the filler entries).
    expect(zeros).toBeGreaterThan(0.6 * values);
    expect(model.tensors.size).toBe(52);
  });

  it('writes the committed squeezenet1.0-f32.sqz byte for byte', () => {
    const bytes = writeModel(model);
    expect(bytes.length).toBe(onnxBytes.length);
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(onnxBytes))).toBe(0);
  });

  it('classifies the fixture images exactly as the bundled model does', async () => {
    const mine = await createClassifier(kernelsModule(), writeModel(model));
    const bundled = await createClassifier(kernelsModule(), onnxBytes);
    const images = readdirSync(new URL('images/', fixtures)).sort();
    expect(images.length).toBeGreaterThanOrEqual(6);
    for (const file of images) {
      const bytes = new Uint8Array(readFileSync(new URL(`images/${file}`, fixtures)));
      const a = mine.classifySync(bytes);
      expect(a.top[0].label.replace(/ /g, '_')).toBe(file.replace(/^n\d+_/, '').replace(/\.\w+$/, ''));
      expect(Array.from(a.probabilities)).toEqual(Array.from(bundled.classifySync(bytes).probabilities));
    }
    mine.dispose();
    bundled.dispose();
  }, 30_000);
});

describe('a damaged .net file is refused with one clear line', () => {
  it.each([
    ['empty', 0, /table of 26 weight counts ends at byte 104/],
    ['inside the count table', 50, /table of 26 weight counts/],
    ['inside conv1\'s codebook', 104 + 500, /layer "conv1"'s codebook/],
    ['inside conv1\'s codes', 104 + 1024 + 384 + 10, /layer "conv1"'s codes/],
    ['by its last byte', net.length - 1, /layer "conv_final"'s gaps ends at byte 675763/],
  ])('truncated %s', (_what, length, pattern) => {
    expectRefusal(() => convert(net.subarray(0, length)), 'E_CONVERT_TRUNCATED', pattern);
    expectRefusal(() => convert(net.subarray(0, length)), 'E_CONVERT_TRUNCATED', /truncated, or the prototxt \(26 convolution layers\) is not this file's network/);
  });

  it('with bytes after the last layer', () => {
    const longer = new Uint8Array(net.length + 3);
    longer.set(net);
    expectRefusal(() => convert(longer), 'E_CONVERT_LAYERS', /^3 bytes are left after the 26 convolution layers/);
  });

  it('with a count larger than its layer', () => {
    expectRefusal(() => convert(patched((_, v) => v.setUint32(0, 14113, true))), 'E_CONVERT_SPARSE', /layer "conv1" stores 14113 weights but has only 14112 \(\[96,3,7,7\]\)/);
    expectRefusal(() => convert(patched((_, v) => v.setUint32(25 * 4, 0xffffffff, true))), 'E_CONVERT_SPARSE', /layer "conv_final" stores 4294967295 weights/);
  });

  it('with a count that disagrees with the data that follows', () => {
    expectRefusal(() => convert(patched((_, v) => v.setUint32(0, v.getUint32(0, true) + 2, true))), 'E_CONVERT_TRUNCATED', /conv_final/);
    expectRefusal(() => convert(patched((_, v) => v.setUint32(25 * 4, v.getUint32(25 * 4, true) - 2, true))), 'E_CONVERT_LAYERS', /^3 bytes are left/);
  });

  it('with gaps that walk past the end of a layer', () => {
    // conv_final's gaps are the file's last bytes: all 15s move 16 positions per stored weight.
    const nz = new DataView(net.buffer, net.byteOffset).getUint32(25 * 4, true);
    const bytes = patched((b) => b.fill(0xff, b.length - Math.ceil(nz / 2)));
    expectRefusal(() => convert(bytes), 'E_CONVERT_SPARSE', /layer "conv_final": stored weight 32000 of 105973 lands at position 512015, past the layer's 512000 weights/);
  });

  it('with a NaN bias', () => {
    expectRefusal(() => convert(patched((_, v) => v.setFloat32(104 + 1024, NaN, true))), 'E_CONVERT_TENSOR', /layer "conv1": its codebook or biases hold NaN/);
  });

  it('survives random damage: either a valid model or a ConvertError, never a crash', () => {
    const r = rng(7);
    for (let i = 0; i < 40; i++) {
      const bytes = net.slice(0, i % 4 === 0 ? randInt(r, 0, net.length) : net.length);
      // Mostly in the count table and the layer headers, where damage changes the layout.
      for (let k = randInt(r, 1, 4); k > 0; k--) bytes[randInt(r, 0, Math.min(bytes.length, i % 2 ? 2000 : bytes.length) - 1)] = randInt(r, 0, 255);
      try {
        convert(bytes);
      } catch (e) {
        expect(e).toBeInstanceOf(ConvertError);
      }
    }
  });
});

describe('a prototxt that does not fit the .net file', () => {
  /** The prototxt without its layers from `name` on. */
  const cutAt = (name: string): string => prototxt.slice(0, prototxt.indexOf(`layer {\n  name: "${name}"`));

  it('with fewer convolution layers', () => {
    const text = `${cutAt('conv_final')}layer { name: "gap" type: "Pooling" bottom: "fire9/concat" top: "gap" pooling_param { pool: AVE global_pooling: true } }`;
    expectRefusal(() => convert(net, text), 'E_CONVERT_LAYERS', /bytes are left after the 25 convolution layers of the prototxt: the file holds more layers than the prototxt describes/);
  });

  it('with more convolution layers', () => {
    const extra = 'layer { name: "extra" type: "Convolution" bottom: "conv_final" top: "conv_final" convolution_param { num_output: 1000 kernel_size: 1 } }\n';
    const text = prototxt.replace('layer {\n  name: "pool_final"', `${extra}layer {\n  name: "pool_final"`);
    const error = thrown(() => convert(net, text));
    expect(error).toBeInstanceOf(ConvertError);
    expect((error as Error).message).toMatch(/the prototxt \(27 convolution layers\) is not this file's network/);
  });

  it('with another layer size', () => {
    const text = prototxt.replace(/(name: "fire2\/conv1x1_1"[^]*?num_output: )16/, (_, head) => `${head}17`);
    expect(text).not.toBe(prototxt);
    expect(() => convert(net, text)).toThrow(ConvertError);
  });

  it('too large to allocate is refused before anything is decoded', () => {
    const huge = prototxt.replace(/(name: "conv_final"[^]*?num_output: )1000/, (_, head) => `${head}16384`).replace(/(name: "conv_final"[^]*?kernel_size: )1/, (_, head) => `${head}15`);
    expect(() => convert(net, huge)).toThrow(LimitError);
    expectRefusal(() => convert(net, prototxt.replace('num_output: 1000', 'num_output: 1000000000')), 'E_CONVERT_ATTR', /num_output 1000000000 is out of range/);
  });
});

/** Encodes dense float layers as a Deep Compression .net file, with filler entries for runs of more than 15 zeros. */
function encodeNet(layers: { weight: Float32Array; bias: Float32Array }[]): Uint8Array {
  const parts: number[][] = [];
  const counts: number[] = [];
  for (const { weight, bias } of layers) {
    const codebook = [0, ...new Set([...weight].filter((v) => v !== 0))];
    expect(codebook.length).toBeLessThanOrEqual(256);
    const codes: number[] = [];
    const gaps: number[] = [];
    let previous = -1;
    weight.forEach((v, i) => {
      if (v === 0) return;
      while (i - previous - 1 > 15) {
        codes.push(0);
        gaps.push(15);
        previous += 16;
      }
      codes.push(codebook.indexOf(v));
      gaps.push(i - previous - 1);
      previous = i;
    });
    counts.push(codes.length);
    const floats = new Uint8Array(new Float32Array([...codebook, ...new Array(256 - codebook.length).fill(0), ...bias]).buffer);
    const packed = Array.from({ length: Math.ceil(gaps.length / 2) }, (_, k) => gaps[2 * k] | ((gaps[2 * k + 1] ?? 0) << 4));
    parts.push([...floats, ...codes, ...packed]);
  }
  return new Uint8Array([...new Uint8Array(new Uint32Array(counts).buffer), ...parts.flat()]);
}

/** Sparse weights from a few distinct values, with runs of zeros longer than a 4-bit gap reaches. */
function sparse(count: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: count }, () => (r() < 0.3 ? Math.fround(randInt(r, -20, 20) / 8) : 0));
}

describe('convertDeepCompression on small networks', () => {
  const tiny = `name: "tiny"  # a comment
input: "data"
input_shape { dim: 1 dim: 3 dim: 9 dim: 9 }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
  param { lr_mult: 1 } convolution_param { num_output: 4 kernel_size: 3 stride: 2 weight_filler { type: "xavier" } } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: AVE kernel_size: 2 stride: 1 pad: 1 } }
layer { name: "drop" type: "Dropout" bottom: "pool1" top: "pool1" dropout_param { dropout_ratio: 0.5 } }
layer { name: "conv2" type: "Convolution" bottom: "pool1" top: "conv2" convolution_param { num_output: 5 kernel_h: 1 kernel_w: 1 } }
layer { name: "gap" type: "Pooling" bottom: "conv2" top: "gap" pooling_param { pool: AVE global_pooling: true } }
layer { name: "softmax" type: "Softmax" bottom: "gap" top: "scores" }
`;
  const layers = [
    { weight: sparse(4 * 3 * 3 * 3, 1), bias: Float32Array.from([0.5, -0.25, 1, 2]) },
    { weight: sparse(5 * 4, 2), bias: Float32Array.from([1, 2, 3, 4, 5]) },
  ];
  // A long zero run needs filler entries.
  layers[0].weight.fill(0, 20, 70);
  const tinyNet = encodeNet(layers);
  const { height: _h, width: _w, ...preprocessing } = ref.input;
  const tinyMeta: ConvertMeta = { ...meta, name: 'tiny', input: { ...preprocessing, resizeShorter: 12 }, labels: ['a', 'b', 'c', 'd', 'e'] };
  const m = convertDeepCompression(tinyNet, tiny, tinyMeta);

  it('translates every layer, keeps a Softmax the prototxt has, and names things after the layers', () => {
    expect(m.ops).toEqual([
      { op: 'conv', input: 'data', output: 'relu1_out', weight: 'conv1_W', bias: 'conv1_b', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], relu: true },
      { op: 'avgpool', input: 'relu1_out', output: 'pool1_out', kernel: [2, 2], stride: [1, 1], pads: [1, 1, 1, 1], ceil: true, countIncludePad: true },
      { op: 'conv', input: 'pool1_out', output: 'conv2_out', weight: 'conv2_W', bias: 'conv2_b', kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], relu: false },
      { op: 'globalavgpool', input: 'conv2_out', output: 'gap_out' },
      { op: 'softmax', input: 'gap_out', output: 'scores' },
    ]);
    expect(m.output).toBe('scores');
    expect(m.input).toMatchObject({ name: 'data', height: 9, width: 9 });
    readModel(writeModel(m));
  });

  it('decodes the weights exactly, filler entries included', () => {
    expect([...m.tensors.get('conv1_W')!.data]).toEqual([...layers[0].weight]);
    expect([...m.tensors.get('conv2_W')!.data]).toEqual([...layers[1].weight]);
    expect([...m.tensors.get('conv1_b')!.data]).toEqual([...layers[0].bias]);
    expect(m.tensors.get('conv1_W')!.shape).toEqual([4, 3, 3, 3]);
  });

  it('reads an Input layer, FLOOR rounding and MAX pooling', () => {
    const text = tiny
      .replace('input: "data"\ninput_shape { dim: 1 dim: 3 dim: 9 dim: 9 }', 'layer { name: "in" type: "Input" top: "data" input_param { shape { dim: 10 dim: 3 dim: 9 dim: 9 } } }')
      .replace('pool: AVE kernel_size: 2 stride: 1 pad: 1', 'pool: MAX kernel_size: 3 stride: 2 round_mode: FLOOR');
    const other = convertDeepCompression(tinyNet, text, tinyMeta);
    expect(other.ops[1]).toEqual({ op: 'maxpool', input: 'relu1_out', output: 'pool1_out', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: false });
  });

  it.each([
    ['an unsupported layer', tiny.replace('type: "Dropout"', 'type: "LRN"'), 'E_CONVERT_OP', /^Caffe layer "drop": unsupported Caffe layer type "LRN"; squeezewasm converts Input, Convolution/],
    ['a grouped convolution', tiny.replace('num_output: 5', 'num_output: 5 group: 2'), 'E_CONVERT_ATTR', /layer "conv2", convolution_param: group 2 is not supported/],
    ['a leaky ReLU', tiny.replace('top: "conv1" }', 'top: "conv1" relu_param { negative_slope: 0.1 } }'), 'E_CONVERT_ATTR', /leaky ReLU/],
    ['an unknown field', tiny.replace('stride: 2 weight', 'stride: 2 axis: 1 weight'), 'E_CONVERT_ATTR', /layer "conv1", convolution_param: field "axis" \(line 5\) is not supported/],
    ['a phase rule', tiny.replace('name: "drop"', 'name: "drop" include { phase: TRAIN }'), 'E_CONVERT_ATTR', /field "include"/],
    ['a missing blob', tiny.replace('bottom: "pool1" top: "conv2"', 'bottom: "pool2" top: "conv2"'), 'E_CONVERT_GRAPH', /layer "conv2": reads blob "pool2", which no earlier layer produces/],
    ['a global max pool', tiny.replace('pool: AVE global_pooling', 'pool: MAX global_pooling'), 'E_CONVERT_ATTR', /global MAX pooling is not supported/],
    ['two inputs', tiny.replace('input: "data"', 'input: "data" input: "more"'), 'E_CONVERT_INPUT', /has 2 inputs/],
    ['a grey image input', tiny.replace('dim: 1 dim: 3', 'dim: 1 dim: 1'), 'E_CONVERT_INPUT', /input "data" has shape \[1,1,9,9\]/],
    ['V1 layers', 'layers { name: "a" type: CONVOLUTION }', 'E_CONVERT_PROTOTXT', /old "layers" format/],
    ['a syntax error', tiny.replace('global_pooling: true } }', 'global_pooling: true } } }'), 'E_CONVERT_PROTOTXT', /^prototxt line 10, column \d+: expected a field name, found "}"/],
    ['a softmax before the end', `${tiny}layer { name: "r" type: "ReLU" bottom: "scores" top: "scores" }`, 'E_CONVERT_GRAPH', /softmax must be the last op/],
  ])('refuses %s', (_what, text, code, pattern) => {
    expectRefusal(() => convertDeepCompression(tinyNet, text, tinyMeta), code, pattern);
  });
});

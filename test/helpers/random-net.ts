import type { ConvOp, InputSpec, Model, Op, Pads, Tensor } from '../../src/model/format.js';
import { activationQuant, buildInt8, i16Tensors, poolLast, quantGroups, rangeToQuant } from '../../src/convert/quantize.js';
import { validateModel, type ValidModel } from '../../src/model/validate.js';
import { referenceRun } from './reference-net.js';
import { randInt } from './wasm.js';

/** An RGB input of random size: height in lo..hi, width within 3 of it. */
function randomInput(r: () => number, lo: number, hi: number): InputSpec {
  const size = randInt(r, lo, hi);
  return { name: 'data', height: size, width: size + randInt(r, -3, 3), channelOrder: 'RGB', resizeShorter: 64, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] };
}

/**
 * A small random network with every op the runtime has: a strided stem conv with random padding,
 * ceil-mode max pool, two Fire modules (the second's first expand output also feeds a side branch,
 * a 1x1 max pool, so its concat cannot be done in place; with `fire2Side` the first's too),
 * average pool, stand-alone ReLU, a 1x1 pad-1 classifier conv, global average pool and optionally
 * softmax.
 */
export function randomFireNet(r: () => number, opts: { softmax?: boolean; fire2Side?: boolean } = {}): Model {
  const tensors = new Map<string, Tensor>();
  const ops: Op[] = [];
  const channels = new Map<string, number>([['data', 3]]);
  const weight = (name: string, shape: number[]): string => {
    const n = shape.reduce((a, b) => a * b, 1);
    tensors.set(name, { dtype: 'f32', shape, data: Float32Array.from({ length: n }, () => (r() * 2 - 1) / Math.sqrt(n / shape[0])) });
    return name;
  };
  const conv = (input: string, output: string, oc: number, kernel: [number, number], stride: [number, number], pads: Pads, relu: boolean): void => {
    const ic = channels.get(input)!;
    const op: ConvOp = { op: 'conv', input, output, weight: weight(`${output}.w`, [oc, ic, ...kernel]), kernel, stride, pads, relu };
    if (r() < 0.8) op.bias = weight(`${output}.b`, [oc]);
    ops.push(op);
    channels.set(output, oc);
  };
  const fire = (input: string, name: string, side: boolean): string => {
    conv(input, `${name}.sq`, randInt(r, 2, 13), [1, 1], [1, 1], [0, 0, 0, 0], true);
    conv(`${name}.sq`, `${name}.e1`, randInt(r, 1, 19), [1, 1], [1, 1], [0, 0, 0, 0], true);
    conv(`${name}.sq`, `${name}.e3`, randInt(r, 1, 19), [3, 3], [1, 1], [1, 1, 1, 1], true);
    const inputs = [`${name}.e1`, `${name}.e3`];
    if (side) {
      ops.push({ op: 'maxpool', input: `${name}.e1`, output: `${name}.side`, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], ceil: false });
      channels.set(`${name}.side`, channels.get(`${name}.e1`)!);
      inputs.push(`${name}.side`);
    }
    ops.push({ op: 'concat', inputs, output: `${name}.cat`});
    channels.set(`${name}.cat`, inputs.reduce((s, n) => s + channels.get(n)!, 0));
    return `${name}.cat`;
  };

  const k = [1, 3, 5, 7][randInt(r, 0, 3)];
  const pad = (): number => randInt(r, 0, k - 1);
  conv('data', 'stem', randInt(r, 4, 21), [k, k], [randInt(r, 1, 2), randInt(r, 1, 2)], [pad(), pad(), pad(), pad()], true);
  ops.push({ op: 'maxpool', input: 'stem', output: 'pool1', kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], ceil: true });
  channels.set('pool1', channels.get('stem')!);
  let x = fire('pool1', 'fire2', opts.fire2Side ?? false);
  x = fire(x, 'fire3', true);
  ops.push({ op: 'avgpool', input: x, output: 'pool2', kernel: [2, 2], stride: [1, 1], pads: [1, 0, 0, 1], ceil: r() < 0.5, countIncludePad: r() < 0.5 });
  ops.push({ op: 'relu', input: 'pool2', output: 'relu2' });
  channels.set('relu2', channels.get(x)!);
  const classes = randInt(r, 3, 11);
  conv('relu2', 'final', classes, [1, 1], [1, 1], [1, 1, 1, 1], true);
  ops.push({ op: 'globalavgpool', input: 'final', output: 'gap' });
  let output = 'gap';
  if (opts.softmax) {
    ops.push({ op: 'softmax', input: 'gap', output: 'prob' });
    output = 'prob';
  }
  return {
    name: 'random-fire',
    precision: 'f32',
    input: randomInput(r, 17, 40),
    ops,
    output,
    labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
    tensors,
    provenance: { source: 'test', license: 'none' },
  };
}

/**
 * A small random residual network in the SqueezeNeXt manner, a DAG: a strided stem, a block with
 * an identity skip (1x1, 3x1, 1x3, 1x1 and an add with ReLU), a downsampling block with a strided
 * 1x1 shortcut, a long skip across two convs (one clamped like ReLU6) into an add without ReLU, a
 * global average pool and a 1x1 conv on the pooled features (a Gemm classifier).
 */
export function randomResidualNet(r: () => number): Model {
  const tensors = new Map<string, Tensor>();
  const ops: Op[] = [];
  const channels = new Map<string, number>([['data', 3]]);
  const conv = (input: string, output: string, oc: number, kernel: [number, number], stride: number, pads: Pads, relu: boolean, max?: number): string => {
    const ic = channels.get(input)!;
    const n = ic * kernel[0] * kernel[1];
    const w = Float32Array.from({ length: oc * n }, () => (r() * 2 - 1) * Math.sqrt(3 / n));
    tensors.set(`${output}.w`, { dtype: 'f32', shape: [oc, ic, ...kernel], data: w });
    tensors.set(`${output}.b`, { dtype: 'f32', shape: [oc], data: Float32Array.from({ length: oc }, () => r() * 0.2 - 0.1) });
    ops.push({ op: 'conv', input, output, weight: `${output}.w`, bias: `${output}.b`, kernel, stride: [stride, stride], pads, relu, ...(max === undefined ? {} : { max }) });
    channels.set(output, oc);
    return output;
  };
  const add = (a: string, b: string, output: string, relu: boolean): string => {
    ops.push({ op: 'add', inputs: [a, b], output, relu });
    channels.set(output, channels.get(a)!);
    return output;
  };
  const none: Pads = [0, 0, 0, 0];
  const c0 = randInt(r, 3, 13), c1 = randInt(r, 4, 19);
  const stem = conv('data', 'stem', c0, [3, 3], 2, [1, 1, 1, 1], true);
  let y = conv(stem, 'b1.sq', randInt(r, 2, 9), [1, 1], 1, none, true);
  y = conv(y, 'b1.k31', randInt(r, 2, 9), [3, 1], 1, [1, 0, 1, 0], true);
  y = conv(y, 'b1.k13', randInt(r, 2, 9), [1, 3], 1, [0, 1, 0, 1], true);
  const b1 = add(conv(y, 'b1.ex', c0, [1, 1], 1, none, false), stem, 'b1', true);
  y = conv(b1, 'b2.sq', randInt(r, 2, 9), [1, 1], 2, none, true);
  const b2 = add(conv(y, 'b2.ex', c1, [1, 1], 1, none, false), conv(b1, 'b2.short', c1, [1, 1], 2, none, false), 'b2', r() < 0.5);
  y = conv(b2, 'b3.k33', randInt(r, 2, 9), [3, 3], 1, [1, 1, 1, 1], true, 0.5 + r());
  const b3 = add(b2, conv(y, 'b3.ex', c1, [1, 1], 1, none, false), 'b3', false);
  ops.push({ op: 'globalavgpool', input: b3, output: 'gap' });
  channels.set('gap', c1);
  const classes = randInt(r, 3, 11);
  conv('gap', 'fc', classes, [1, 1], 1, none, false);
  return {
    name: 'random-residual',
    precision: 'f32',
    input: randomInput(r, 15, 30),
    ops,
    output: 'fc',
    labels: Array.from({ length: classes }, (_, i) => `class ${i}`),
    tensors,
    provenance: { source: 'test', license: 'none' },
  };
}

/**
 * A random int8 network: `model` (default a {@link randomFireNet} with both side branches, so that
 * i16 nets copy an int16 concat input; global average pools moved last, as the quantizer does)
 * quantized with activation ranges taken from a float64 run on a random input, so values span the
 * quantized ranges as in real use. With `u7`, every activation but the input is u7.
 */
export function randomInt8Net(r: () => number, opts: { i16Input: boolean; i16?: boolean; u7?: boolean; model?: Model }): ValidModel {
  const model = validateModel(poolLast(opts.model ?? randomFireNet(r, { fire2Side: true })));
  const { height: h, width: w } = model.input;
  const acts = referenceRun(model, { c: 3, h, w, data: Float64Array.from({ length: 3 * h * w }, () => r() * 4 - 2) });
  const groups = quantGroups(model);
  const ranges = new Map<string, [number, number]>();
  for (const [name, group] of groups) {
    const [lo, hi] = ranges.get(group) ?? [0, 0];
    const data = acts.get(name)!.data;
    ranges.set(group, [Math.min(lo, ...data), Math.max(hi, ...data)]);
  }
  const u7 = new Set(opts.u7 ? [...groups.values()].filter((g) => g !== groups.get(model.input.name)) : []);
  const quant = activationQuant(model, groups, ranges, opts.i16 ? i16Tensors(model) : undefined, u7);
  if (!opts.i16Input) quant.set('data', rangeToQuant(-2, 2));
  return validateModel(buildInt8(model, quant));
}

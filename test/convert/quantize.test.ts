import { describe, expect, it } from 'vitest';
import { Classifier, type Pixels } from '../../src/classifier.js';
import { equalize, poolLast, quantizeModel, rangeToQuant, type RangeMethod } from '../../src/convert/quantize.js';
import type { AddOp, Model, Tensor } from '../../src/model/format.js';
import { writeModel } from '../../src/model/write.js';
import { readModel } from '../../src/model/read.js';
import { validateModel } from '../../src/model/validate.js';
import { run } from '../../src/runtime/run.js';
import { randomFireNet, randomResidualNet } from '../helpers/random-net.js';
import { kernelsModule, randInt, rng } from '../helpers/wasm.js';

/** Smooth random images (so neighbouring pixels correlate, as in photos). */
function images(seed: number, n: number): Pixels[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const width = randInt(r, 40, 90), height = randInt(r, 40, 90);
    const f = [r() * 0.3, r() * 0.3, r() * 0.3];
    const data = new Uint8Array(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) data[(y * width + x) * 4 + c] = Math.round(127.5 + 127 * Math.sin(f[c] * x + (c + 1) * f[(c + 1) % 3] * y));
      }
    }
    return { data, width, height };
  });
}

describe('quantizeModel', () => {
  const model = validateModel(randomFireNet(rng(77)));
  const calibration = images(5, 12);

  it('is deterministic: the same model and images give the same bytes', async () => {
    const a = await quantizeModel(model, calibration, kernelsModule());
    const b = await quantizeModel(model, calibration, kernelsModule());
    expect(writeModel(b.model)).toEqual(writeModel(a.model));
    expect(a.candidates.map((c) => c.method)).toEqual(['minmax', 'percentile', 'mse']);
    expect(a.calibrationImages).toBe(12);
  });

  it('writes a valid int8 model whose outputs follow the float model', async () => {
    const { model: int8 } = await quantizeModel(model, calibration, kernelsModule());
    const back = readModel(writeModel(int8));
    expect(back.precision).toBe('int8');
    expect(back.quant!.get('data')!.dtype).toBe('i16');
    const f = await Classifier.fromModel(model, kernelsModule());
    const q = await Classifier.fromModel(back, kernelsModule());
    for (const image of images(99, 6)) {
      const want = f.classifySync(image).logits;
      const got = q.classifySync(image).logits;
      const range = Math.max(...want) - Math.min(...want);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.1 * range + 1e-3));
    }
  });

  it('keeps pruned weights at zero through equalization and GPTQ', async () => {
    const r = rng(31);
    const tensors = new Map(model.tensors);
    for (const op of model.ops) {
      if (op.op !== 'conv') continue;
      const t = model.tensors.get(op.weight)!;
      tensors.set(op.weight, { ...t, data: Float32Array.from(t.data, (v) => (r() < 0.6 ? 0 : v)) } as Tensor);
    }
    const pruned = validateModel({ ...model, tensors });
    const { model: int8 } = await quantizeModel(pruned, calibration, kernelsModule());
    let zeros = 0;
    for (const op of pruned.ops) {
      if (op.op !== 'conv') continue;
      const w = pruned.tensors.get(op.weight)!.data;
      const q = int8.tensors.get(op.weight)!.data;
      w.forEach((v, i) => {
        if (v !== 0) return;
        zeros++;
        expect(q[i]).toBe(0);
      });
    }
    expect(zeros).toBeGreaterThan(100);
  });

  it('equalization leaves the float network function unchanged', async () => {
    const channelMax = new Map<string, Float64Array>();
    const r = rng(3);
    for (const op of model.ops) if (op.op === 'conv') channelMax.set(op.output, Float64Array.from({ length: model.tensors.get(op.weight)!.shape[0] }, () => 0.1 + 10 * r()));
    const eq = equalize(model, channelMax);
    const a = await Classifier.fromModel(model, kernelsModule());
    const b = await Classifier.fromModel(validateModel(eq), kernelsModule());
    let changed = false;
    for (const [name, t] of eq.tensors) if (t.data !== model.tensors.get(name)!.data) changed = true;
    expect(changed).toBe(true);
    for (const image of images(11, 4)) {
      a.setInput(image);
      b.setInput(image);
      const x = run(a.planned), y = run(b.planned);
      x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-4 * (1 + Math.abs(v))));
    }
  });

  it('with u7 auto, makes conv inputs 7-bit only within the agreement tolerance, and all of them when anything goes', async () => {
    const opts = { methods: ['minmax'] as const, gptq: false, u7: 'auto' as const };
    const tight = await quantizeModel(model, calibration, kernelsModule(), { ...opts, methods: ['minmax'], u7Tolerance: 0 });
    const u7 = tight.u7!;
    expect(u7.result.agreement).toBeGreaterThanOrEqual(u7.base.agreement);
    expect(u7.alone.length).toBeGreaterThan(3);
    for (const g of u7.groups) expect(tight.model.quant!.get(g)!.dtype).toBe('u7');
    const loose = await quantizeModel(model, calibration, kernelsModule(), { ...opts, methods: ['minmax'], u7Tolerance: 1 });
    expect(loose.u7!.groups.length).toBe(loose.u7!.alone.length);
    expect(loose.u7!.macsShare).toBe(1);
    const back = readModel(writeModel(loose.model));
    expect(new Uint32Array(writeModel(loose.model).buffer, 4, 1)[0]).toBe(3);
    const q = await Classifier.fromModel(back, kernelsModule());
    const f = await Classifier.fromModel(model, kernelsModule());
    for (const image of images(97, 4)) {
      const want = f.classifySync(image).logits;
      const got = q.classifySync(image).logits;
      const range = Math.max(...want) - Math.min(...want);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.25 * range + 1e-3));
    }
  });

  it('with u8 auto, makes 13-bit conv inputs (the network input too) 8-bit within the tolerance, then u7 on top of them', async () => {
    const opts = { methods: ['minmax', 'mse'] as RangeMethod[], gptq: false, u8: 'auto' as const };
    const tight = await quantizeModel(model, calibration, kernelsModule(), { ...opts, u8Tolerance: 0 });
    const u8 = tight.u8!;
    expect(u8.result.agreement).toBeGreaterThanOrEqual(u8.base.agreement);
    expect(u8.alone.some((c) => c.group === model.input.name)).toBe(true);
    for (const g of u8.groups) expect(tight.model.quant!.get(g)!.dtype).toBe('u8');
    const loose = await quantizeModel(model, calibration, kernelsModule(), { ...opts, u8Tolerance: 1, u7: 'auto', u7Tolerance: 0 });
    expect(loose.u8!.groups.length).toBe(loose.u8!.alone.length);
    expect(loose.u8!.macsShare).toBe(1);
    expect(loose.u7!.base).toEqual(loose.u8!.result);
    const convInputs = loose.model.checked.filter((c) => c.op.op === 'conv').map((c) => c.inputs[0].dtype);
    expect(convInputs.every((t) => t === 'u8' || t === 'u7')).toBe(true);
  });

  it('makes 0.0 exactly representable and covers every range to within one step', () => {
    for (const [lo, hi] of [[-1, 3], [0, 5], [-2.5, -0.5], [0.5, 7], [-3, 0]]) {
      const q = rangeToQuant(lo, hi);
      expect(q.zeroPoint).toBeGreaterThanOrEqual(0);
      expect(q.zeroPoint).toBeLessThanOrEqual(255);
      expect(q.scale * (255 - q.zeroPoint)).toBeGreaterThanOrEqual(Math.max(hi, 0) - q.scale);
      expect(q.scale * (0 - q.zeroPoint)).toBeLessThanOrEqual(Math.min(lo, 0) + q.scale);
    }
  });
});

describe('quantizing residual networks with a classifier after the pool', () => {
  const model = validateModel(randomResidualNet(rng(78)));
  const calibration = images(6, 8);

  it('poolLast moves the global average pool behind the 1x1 conv without changing the float function', async () => {
    const moved = poolLast(model);
    expect(moved.ops.slice(-2)).toEqual([
      { ...model.ops.at(-1), input: 'b3', output: 'gap' },
      { op: 'globalavgpool', input: 'gap', output: 'fc' },
    ]);
    expect(poolLast(randomFireNet(rng(1))).ops).toEqual(randomFireNet(rng(1)).ops);
    const a = await Classifier.fromModel(model, kernelsModule());
    const b = await Classifier.fromModel(validateModel(moved), kernelsModule());
    for (const image of calibration) {
      const x = a.classifySync(image).logits, y = b.classifySync(image).logits;
      x.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-5 * (1 + Math.abs(v))));
    }
  });

  it('writes a valid int8 model with requantizing adds whose outputs follow the float model', async () => {
    const { model: int8 } = await quantizeModel(model, calibration, kernelsModule(), { methods: ['minmax', 'mse'] });
    const back = readModel(writeModel(int8));
    const adds = back.ops.filter((op): op is AddOp => op.op === 'add');
    expect(adds).toHaveLength(3);
    for (const op of adds) {
      const out = back.quant!.get(op.output)!.scale;
      op.inputs.forEach((x, i) => expect(Math.abs(op.multipliers![i] - (back.quant!.get(x)!.scale / out) * 2 ** op.shift!)).toBeLessThanOrEqual(0.5));
    }
    const f = await Classifier.fromModel(model, kernelsModule());
    const q = await Classifier.fromModel(back, kernelsModule());
    for (const image of images(98, 6)) {
      const want = f.classifySync(image).logits;
      const got = q.classifySync(image).logits;
      const range = Math.max(...want) - Math.min(...want);
      got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.1 * range + 1e-3));
    }
  });

  it('keeps the residual stream in int16: add outputs read by convs and adds are i16, and each add reads one type', async () => {
    const { model: int8 } = await quantizeModel(model, calibration, kernelsModule(), { methods: ['minmax'], gptq: false });
    const dtype = (name: string) => int8.quant!.get(name)!.dtype;
    // b1 feeds two convs, b2 a conv and the add b3, b3 the classifier conv (moved in front of the pool).
    expect(['b1', 'b2', 'b3'].map(dtype)).toEqual(['i16', 'i16', 'i16']);
    for (const op of int8.ops) if (op.op === 'add') expect(dtype(op.inputs[0])).toBe(dtype(op.inputs[1]));
    const narrow = await quantizeModel(model, calibration, kernelsModule(), { methods: ['minmax'], gptq: false, activations: 'u8' });
    expect(['b1', 'b2', 'b3'].map((name) => narrow.model.quant!.get(name)!.dtype)).toEqual(['u8', 'u8', 'u8']);
  });

  it('validation checks an int8 add: its multipliers against the scales, the overflow bound, its activation types', async () => {
    const { model: int8 } = await quantizeModel(model, calibration, kernelsModule(), { methods: ['minmax'], gptq: false });
    const at = int8.ops.findIndex((op) => op.op === 'add');
    const edit = (change: Partial<AddOp>): Model => ({ ...int8, ops: int8.ops.map((op, i) => (i === at ? { ...op, ...change } : op)) as Model['ops'] });
    const add = int8.ops[at] as AddOp;
    expect(() => validateModel(edit({ multipliers: [add.multipliers![0] + 2, add.multipliers![1]] }))).toThrow(/multiplier 0 is \d+ but the scales give/);
    expect(() => validateModel(edit({ shift: 0 }))).toThrow(/shift must be an integer in 1\.\.62/);
    expect(() => validateModel(edit({ multipliers: [2 ** 31 - 1, 2 ** 31 - 1], shift: 1 }))).toThrow(/multiplier 0|could overflow/);
    expect(() => validateModel(edit({ multipliers: undefined }))).toThrow(/multipliers must be two integers/);
    const quant = new Map(int8.quant);
    const other = quant.get(add.inputs[1])!.dtype === 'i16' ? 'u8' : 'i16';
    quant.set(add.inputs[0], { ...quant.get(add.inputs[0])!, dtype: other, zeroPoint: 0 });
    expect(() => validateModel({ ...int8, quant })).toThrow(/add reads two u8 or two i16 activations and writes u8 or i16/);
  });
});

import { describe, expect, it } from 'vitest';
import { Classifier, type Pixels } from '../../src/classifier.js';
import { equalize, quantizeModel, rangeToQuant } from '../../src/convert/quantize.js';
import type { Model, Tensor } from '../../src/model/format.js';
import { writeModel } from '../../src/model/write.js';
import { readModel } from '../../src/model/read.js';
import { run } from '../../src/runtime/run.js';
import { randomFireNet } from '../helpers/random-net.js';
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
  const model = randomFireNet(rng(77));
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
    const pruned: Model = { ...model, tensors };
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
    const b = await Classifier.fromModel(eq, kernelsModule());
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

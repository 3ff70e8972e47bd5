import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClassifier, createFeatureExtractor } from '../../src/index.js';
import { readModel } from '../../src/model/read.js';
import { writeModel } from '../../src/model/write.js';
import { ArgumentError, headModel, loadClassifier, loadFeatureExtractor, readModelFile, trainClassifier, type FeatureExtractor, type TrainExample } from '../../src/node.js';
import { classifierOps, featureModel } from '../../src/transfer/features.js';
import { argmax, headLogits } from '../../src/transfer/softmax.js';
import { kernelsModule } from '../helpers/wasm.js';

const imagesDir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const images = readdirSync(imagesDir)
  .sort()
  .map((file) => ({ file, bytes: new Uint8Array(readFileSync(join(imagesDir, file))) }));
// Two classes among the six fixture images.
const LABELS = ['animal', 'thing'];
const labelOf = (file: string): number => (/train|boot/.test(file) ? 1 : 0);

let fx: FeatureExtractor;
let examples: TrainExample[];
beforeAll(async () => {
  fx = await loadFeatureExtractor();
  examples = images.map(({ file, bytes }) => ({ features: fx.extract(bytes), label: labelOf(file) }));
}, 60_000);
afterAll(() => fx.dispose());

describe('feature extraction', () => {
  it('gives the 512 averaged channels of SqueezeNet 1.1 fire9, the exact mean of the dequantized map', () => {
    expect(fx.layer).toBe('fire7');
    expect(fx.dim).toBe(512);
    const { pooled, map } = examples[0].features;
    expect(map).toMatchObject({ h: 13, w: 13, c: 512, quant: fx.base.quant!.get('fire7') });
    const { scale, zeroPoint } = map.quant!;
    for (const c of [0, 100, 511]) {
      let sum = 0;
      for (let p = 0; p < 169; p++) sum += map.data[p * 512 + c] - zeroPoint;
      expect(pooled[c]).toBe(Math.fround((sum * scale) / 169));
    }
    expect(fx.features(images[0].bytes)).toEqual(pooled);
  });

  it('cuts the network at the classifier: no conv10, a pool of the feature layer as output', () => {
    const m = featureModel(fx.base);
    expect(m.ops.some((op) => op.output === classifierOps(fx.base).conv.output)).toBe(false);
    expect(m.ops[m.ops.length - 1]).toEqual({ op: 'globalavgpool', input: 'fire7', output: 'fire7_mean' });
    expect(m.labels).toHaveLength(512);
    expect(m.quant!.get('fire7_mean')).toMatchObject({ dtype: 'i32' });
    expect(m.tensors.has('conv25_W')).toBe(false);
  });

  it('works through the index entry (Workers) and refuses networks without a classifier to cut', async () => {
    const viaIndex = await createFeatureExtractor(kernelsModule(), await readModelFile('squeezenet1.1-int8'));
    expect(viaIndex.features(images[1].bytes)).toEqual(examples[1].features.pooled);
    viaIndex.dispose();
    expect(() => viaIndex.features(images[1].bytes)).toThrow(/disposed/);
    const noPool = { ...fx.base, ops: fx.base.ops.slice(0, -1), output: 'relu25' };
    expect(() => classifierOps(noPool)).toThrow(ArgumentError);
    expect(() => classifierOps(noPool)).toThrow(/does not end in a convolution and a global average pool/);
  });
});

// Each test plans one or two whole networks; the shared development machine is slow at times.
describe('transfer learning: a trained head as a model file', { timeout: 60_000 }, () => {
  it('writes an int8 model that reads back, is labelled with the class names and agrees with the float head', async () => {
    const { model, head, report } = await trainClassifier(fx, examples, LABELS, { name: 'two' });
    expect(report.agreement).toBe(1);
    expect(report.modelAccuracy).toBe(1);
    const bytes = writeModel(model);
    const back = readModel(bytes);
    expect(back.labels).toEqual(LABELS);
    expect(back.name).toBe('two');
    expect(back.precision).toBe('int8');
    // conv10 is gone: the new head is a 1x1 conv without ReLU to 2 classes.
    expect(back.ops.slice(-2)).toMatchObject([
      { op: 'conv', input: 'fire7', kernel: [1, 1], pads: [0, 0, 0, 0], relu: false },
      { op: 'globalavgpool', output: 'logits' },
    ]);
    expect(back.tensors.get('head_W')).toMatchObject({ dtype: 'i8', shape: [2, 512, 1, 1] });
    expect(back.tensors.has('conv25_W')).toBe(false);
    expect(back.provenance.license).toBe('Apache-2.0');
    expect(bytes.length).toBeLessThan(800_000);

    // Classifying the images end to end gives the float head's class and nearly its logits.
    const net = await loadClassifier(bytes);
    for (const [i, { bytes: image }] of images.entries()) {
      const { top, logits } = net.classifySync(image, { top: 2 });
      const float = headLogits(head, examples[i].features.pooled);
      expect(top[0]).toMatchObject({ index: argmax(float), label: LABELS[examples[i].label] });
      for (let k = 0; k < 2; k++) expect(Math.abs(logits[k] - float[k])).toBeLessThan(0.05 * Math.max(1, Math.abs(float[k])));
    }
    net.dispose();
  });

  it('is deterministic: the same examples and options give the same bytes', async () => {
    const a = writeModel((await trainClassifier(fx, examples, LABELS, { seed: 3 })).model);
    const b = writeModel((await trainClassifier(fx, examples, LABELS, { seed: 3 })).model);
    expect(b).toEqual(a);
  });

  it('runs in the Worker entry: createClassifier on the trained file', async () => {
    const { model } = await trainClassifier(fx, examples, LABELS);
    const node = await loadClassifier(writeModel(model));
    const worker = await createClassifier(kernelsModule(), writeModel(model));
    for (const { bytes } of images) expect(worker.classifySync(bytes).probabilities).toEqual(node.classifySync(bytes).probabilities);
    expect(worker.labels).toEqual(LABELS);
    node.dispose();
    worker.dispose();
  });

  it('trains on a float base and on SqueezeNet 1.0 (padded conv_final, softmax op) too', async () => {
    for (const name of ['squeezenet1.1-f32', 'squeezenet1.0-int8']) {
      const base = await loadFeatureExtractor(name);
      const ex = images.map(({ file, bytes }) => ({ features: base.extract(bytes), label: labelOf(file) }));
      const { model, report } = await trainClassifier(base, ex, LABELS);
      expect(report.agreement).toBe(1);
      const back = readModel(writeModel(model));
      expect(back.precision).toBe(base.base.precision);
      expect(back.ops[back.ops.length - 1].op).toBe(name === 'squeezenet1.0-int8' ? 'softmax' : 'globalavgpool');
      const net = await loadClassifier(writeModel(model));
      images.forEach(({ bytes }, i) => expect(net.classifySync(bytes).top[0].index).toBe(ex[i].label));
      net.dispose();
      base.dispose();
    }
  });

  it('refuses mismatched heads and labels', async () => {
    const { head } = await trainClassifier(fx, examples, LABELS);
    expect(() => headModel(fx.base, head, { name: 'x', labels: ['a'], provenance: fx.base.provenance, range: [-1, 1] })).toThrow(/2 classes but 1 labels/);
    expect(() => headModel(fx.base, head, { name: 'x', labels: LABELS, provenance: fx.base.provenance })).toThrow(/range/);
    expect(() => headModel(fx.base, { ...head, dim: 3 }, { name: 'x', labels: LABELS, provenance: fx.base.provenance, range: [-1, 1] })).toThrow(/512/);
    await expect(trainClassifier(fx, examples, ['a', 'a'])).rejects.toThrow(/distinct/);
    await expect(trainClassifier(fx, examples, ['a', 'b', 'c'])).rejects.toThrow(/class 2 has no examples/);
  });
});

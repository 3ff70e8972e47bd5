import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { mulberry32 } from '../../src/random.js';
import { argmax, headLogits, stratifiedSplit, trainSoftmax, type LinearHead } from '../../src/transfer/softmax.js';

/** A standard normal deviate (Box-Muller) from `r`. */
const normal = (r: () => number): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/**
 * Gaussian blobs in `dim` dimensions, one centre per class (drawn from `seed`) at distance about
 * `spread` from the origin, unit noise (drawn from `noiseSeed`), on features of very different
 * scales and offsets (as pooled activations are).
 */
function blobs(seed: number, classes: number, perClass: number[], dim: number, spread: number, noiseSeed = seed + 1000): { x: Float32Array[]; y: number[] } {
  const c = mulberry32(seed);
  const centres = Array.from({ length: classes }, () => Array.from({ length: dim }, () => (normal(c) * spread) / Math.sqrt(dim)));
  const r = mulberry32(noiseSeed);
  const scale = Array.from({ length: dim }, (_, j) => 10 ** ((j % 5) - 2));
  const x: Float32Array[] = [];
  const y: number[] = [];
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < perClass[k]; i++) {
      x.push(Float32Array.from({ length: dim }, (_, j) => (centres[k][j] + normal(r)) * scale[j] + 3 * scale[j]));
      y.push(k);
    }
  }
  return { x, y };
}

const accuracy = (head: LinearHead, x: Float32Array[], y: number[]): number => x.filter((v, i) => argmax(headLogits(head, v)) === y[i]).length / x.length;

describe('softmax head training', () => {
  it('decreases the training loss', () => {
    const { x, y } = blobs(1, 3, [30, 20, 10], 16, 3);
    const { report } = trainSoftmax(x, y, 3, { validation: 0, maxEpochs: 300, l2: 0.01 });
    expect(report.loss).toHaveLength(301);
    expect(report.loss[0]).toBeCloseTo(Math.log(3), 12);
    // Step 1/L from a bound on the curvature: the loss falls at every step, not only overall
    // (up to rounding once it has converged).
    for (let e = 1; e < report.loss.length; e++) expect(report.loss[e]).toBeLessThanOrEqual(report.loss[e - 1] + 1e-12);
    expect(report.loss[300]).toBeLessThan(0.25 * report.loss[0]);
    expect(report.loss[10]).toBeLessThan(report.loss[1]);
  });

  it('reaches 100 % on a separable problem, on the training set and on new samples', () => {
    const train = blobs(2, 4, [25, 12, 8, 30], 32, 12);
    const { head, report } = trainSoftmax(train.x, train.y, 4, { seed: 3 });
    expect(report.trainAccuracy).toBe(1);
    expect(report.validationAccuracy).toBe(1);
    expect(accuracy(head, train.x, train.y)).toBe(1);
    const fresh = blobs(2, 4, [50, 50, 50, 50], 32, 12, 77);
    expect(accuracy(head, fresh.x, fresh.y)).toBe(1);
  });

  it('stops early when validation accuracy falls, and refits on every example for the best epoch count', () => {
    // Few noisy examples in many dimensions and no L2: training on fits the noise.
    const { x, y } = blobs(3, 2, [20, 20], 200, 2);
    const { report } = trainSoftmax(x, y, 2, { seed: 5, validation: 0.25, maxEpochs: 2000, patience: 50, l2: 0 });
    expect(report.validationExamples).toBe(10);
    expect(report.epochsRun).toBeLessThan(2000);
    expect(report.epochsRun).toBe(report.epochs + 50);
    expect(report.loss).toHaveLength(report.epochs + 1);
    expect(report.validationAccuracy).toBe(0.9);
    // Without validation it trains maxEpochs epochs.
    expect(trainSoftmax(x, y, 2, { validation: 0, maxEpochs: 30 }).report).toMatchObject({ epochs: 30, epochsRun: 0, validationExamples: 0 });
  });

  it('is deterministic: the same inputs and seed give the same head, another seed another split', () => {
    const { x, y } = blobs(6, 3, [15, 9, 12], 24, 3);
    const a = trainSoftmax(x, y, 3, { seed: 7 });
    const b = trainSoftmax(x, y, 3, { seed: 7 });
    expect(new Uint8Array(b.head.weight.buffer)).toEqual(new Uint8Array(a.head.weight.buffer));
    expect(new Uint8Array(b.head.bias.buffer)).toEqual(new Uint8Array(a.head.bias.buffer));
    expect(b.report).toEqual(a.report);
    expect(stratifiedSplit(y, 0.2, 8).held).not.toEqual(stratifiedSplit(y, 0.2, 7).held);
  });

  it('folds the standardization into the head: constant features and any feature scale work', () => {
    const { x, y } = blobs(9, 2, [10, 10], 8, 8);
    for (const v of x) v[3] = 42; // no variance: must not become NaN
    const { head } = trainSoftmax(x, y, 2, { validation: 0, maxEpochs: 200 });
    expect(head.weight.every(Number.isFinite) && head.bias.every(Number.isFinite)).toBe(true);
    expect(accuracy(head, x, y)).toBe(1);
    // A constant feature carries nothing: its standardized value is 0, so its weight never moves from 0.
    expect(head.weight[3]).toBe(0);
    expect(head.weight[8 + 3]).toBe(0);
  });

  it('splits every class, never emptying one', () => {
    const y = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2];
    const { kept, held } = stratifiedSplit(y, 0.2, 1);
    expect([...kept, ...held].sort((a, b) => a - b)).toEqual(y.map((_, i) => i));
    expect(held.map((i) => y[i]).sort()).toEqual([0, 0, 1]);
    expect(new Set(kept.map((i) => y[i]))).toEqual(new Set([0, 1, 2]));
    expect(stratifiedSplit(y, 0, 1).held).toEqual([]);
  });

  it.each([
    [[new Float32Array(2)], [0], 1, {}, /at least 2 classes/],
    [[new Float32Array(2)], [0, 1], 2, {}, /one label per feature vector/],
    [[new Float32Array(2), new Float32Array(3)], [0, 1], 2, {}, /must all have 2 finite values/],
    [[new Float32Array([0, NaN]), new Float32Array(2)], [0, 1], 2, {}, /finite/],
    [[new Float32Array(2), new Float32Array(2)], [0, 2], 2, {}, /labels must be integers in 0\.\.1/],
    [[new Float32Array(2), new Float32Array(2)], [0, 0], 2, {}, /class 1 has no examples/],
    [[new Float32Array(2), new Float32Array(2)], [0, 1], 2, { validation: 1 }, /validation must be a fraction/],
    [[new Float32Array(2), new Float32Array(2)], [0, 1], 2, { l2: -1 }, /l2 must be/],
    [[new Float32Array(2), new Float32Array(2)], [0, 1], 2, { maxEpochs: 0 }, /maxEpochs/],
  ])('refuses bad input %#', (x, y, classes, options, message) => {
    expect(() => trainSoftmax(x, y, classes, options)).toThrow(ArgumentError);
    expect(() => trainSoftmax(x, y, classes, options)).toThrow(message);
  });
});

import { describe, expect, it } from 'vitest';
import { softmax, topK } from '../../src/runtime/output.js';
import { randInt, rng } from '../helpers/wasm.js';

/** The definition: every index sorted by value, largest first, ties by index. */
function sortedTop(values: ArrayLike<number>, k: number): number[] {
  const order = Array.from({ length: values.length }, (_, i) => i);
  order.sort((a, b) => values[b] - values[a] || a - b);
  return order.slice(0, Math.max(0, Math.min(k, values.length)));
}

describe('topK and softmax', () => {
  it('topK gives the sorted definition for every k, with many ties among the values', () => {
    const r = rng(3);
    for (let trial = 0; trial < 300; trial++) {
      const n = randInt(r, 0, 60);
      // Few distinct values, so that ties are common, including at the cut.
      const values = Float32Array.from({ length: n }, () => randInt(r, -4, 4) / 2);
      for (const k of [0, 1, 2, 5, 32, 33, n, n + 3]) expect(topK(values, k)).toEqual(sortedTop(values, k));
    }
  });

  it('softmax sums to 1, keeps the order, and survives logits far from 0', () => {
    const logits = Float32Array.of(1000, 999, -50, 1000);
    const p = softmax(logits);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(p[0]).toBe(p[3]);
    expect(p[0]).toBeGreaterThan(p[1]);
    expect(p[1] / p[0]).toBeCloseTo(Math.exp(-1), 6);
    expect(p[2]).toBe(0);
  });
});

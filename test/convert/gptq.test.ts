import { describe, expect, it } from 'vitest';
import { gptqQuantize } from '../../src/convert/gptq.js';
import { rng } from '../helpers/wasm.js';

const k = 72;
const rows = 16;
const r = rng(8);
const gauss = (): number => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

/**
 * E[x x^T] of post-ReLU inputs driven by a few shared factors, as neighbouring pixels and channels
 * of a real layer are: strongly correlated inputs are what makes GPTQ move weights a long way, far
 * enough to push a pruned weight off zero if it were allowed to.
 */
const h = (() => {
  const m = new Float64Array(k * k);
  const samples = 400;
  const rank = 4;
  const load = Array.from({ length: k * rank }, gauss);
  for (let s = 0; s < samples; s++) {
    const z = Array.from({ length: rank }, gauss);
    const x = Array.from({ length: k }, (_, i) => Math.max(0, 0.2 * gauss() + z.reduce((v, zi, a) => v + load[i * rank + a] * zi, 0)));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) m[i * k + j] += (x[i] * x[j]) / samples;
  }
  return m;
})();

// Rows 0-5 dense, 6-14 pruned (about 60 % exact zeros), 15 all zero.
const weights = Float32Array.from({ length: rows * k }, (_, i) => {
  const row = Math.floor(i / k);
  return row === 15 || (row >= 6 && r() < 0.6) ? 0 : gauss();
});
// The int8 grid of the quantizer: per-row max / 127.
const scales = Float32Array.from({ length: rows }, (_, n) => Math.max(...weights.subarray(n * k, (n + 1) * k).map(Math.abs)) / 127 || 1);

/** The layer's output error (w - s q)^T H (w - s q) of row n. */
function outputError(q: Int8Array, n: number): number {
  const e = Array.from({ length: k }, (_, i) => weights[n * k + i] - scales[n] * q[n * k + i]);
  let sum = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) sum += e[i] * h[i * k + j] * e[j];
  return sum;
}

describe('GPTQ weight rounding', () => {
  const q = gptqQuantize(weights, rows, h, scales);

  it('keeps every pruned (exactly zero) weight at zero', () => {
    weights.forEach((w, i) => {
      if (w === 0) expect(q[i]).toBe(0);
    });
    expect(q.subarray(15 * k).every((v) => v === 0)).toBe(true);
  });

  it('quantizes dense rows exactly as without the pruned rows beside them', () => {
    expect(gptqQuantize(weights.subarray(0, 6 * k), 6, h, scales.subarray(0, 6))).toEqual(q.subarray(0, 6 * k));
  });

  it('compensates rounding errors on the unpruned weights: a smaller output error than rounding to nearest', () => {
    const nearest = Int8Array.from(weights, (w, i) => Math.round(w / scales[Math.floor(i / k)]));
    let gptq = 0;
    let plain = 0;
    for (let n = 6; n < 15; n++) {
      gptq += outputError(q, n);
      plain += outputError(nearest, n);
    }
    expect(gptq).toBeLessThan(0.5 * plain);
    // It did move weights off their nearest grid point to get there.
    expect(q.subarray(6 * k, 15 * k)).not.toEqual(nearest.subarray(6 * k, 15 * k));
  });
});

import { describe, expect, it } from 'vitest';
import { planModel } from '../../src/runtime/plan.js';
import { run } from '../../src/runtime/run.js';
import { inferShapes } from '../../src/model/graph.js';
import { randomFireNet } from '../helpers/random-net.js';
import { referenceRun } from '../helpers/reference-net.js';
import { freshKernels, rng } from '../helpers/wasm.js';

describe('planModel + run', () => {
  it('matches a float64 reference interpreter on random Fire networks (SIMD and scalar kernels)', async () => {
    const r = rng(7);
    for (let trial = 0; trial < 12; trial++) {
      const model = randomFireNet(r, { softmax: trial % 2 === 0 });
      const { height: h, width: w } = model.input;
      const chw = Float64Array.from({ length: 3 * h * w }, () => r() * 2 - 1);
      const expected = referenceRun(model, { c: 3, h, w, data: chw });
      const logitsName = model.ops[model.ops.length - 1].op === 'softmax' ? 'gap' : model.output;
      const want = expected.get(logitsName)!.data;
      for (const variant of ['simd', 'ref'] as const) {
        const plan = planModel(model, await freshKernels(), variant);
        const input = new Float32Array(plan.kernels.memory.buffer, plan.input.ptr, h * w * 3);
        for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) input[i * 3 + c] = chw[c * h * w + i];
        const got = run(plan);
        expect(got.length).toBe(want.length);
        const scale = Math.max(1, ...Array.from(want, Math.abs));
        got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(1e-5 * scale));
        expect(plan.endsInSoftmax).toBe(trial % 2 === 0);
      }
    }
  });

  it('writes Fire expand outputs straight into the concat buffer and shares arena memory', async () => {
    const model = randomFireNet(rng(3));
    const plan = planModel(model, await freshKernels());
    // fire2's concat is in place (no copy step); in fire3, e1 also feeds the side branch, so only
    // e1 is copied while e3 and the side branch write into the concat buffer directly.
    expect(plan.steps.filter((s) => s.name === 'fire2.cat')).toHaveLength(0);
    expect(plan.steps.filter((s) => s.name === 'fire3.cat')).toHaveLength(1);
    const shapes = inferShapes(model);
    let total = 0;
    for (const [, s] of shapes) total += s.c * s.h * s.w * 4;
    expect(plan.arenaBytes).toBeLessThan(total);
  });
});

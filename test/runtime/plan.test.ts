import { describe, expect, it } from 'vitest';
import { readModel } from '../../src/model/read.js';
import { storageTypes } from '../../src/runtime/place.js';
import { planModel } from '../../src/runtime/plan.js';
import { run } from '../../src/runtime/run.js';
import { validateModel } from '../../src/model/validate.js';
import { randomFireNet, randomResidualNet } from '../helpers/random-net.js';
import { referenceRun } from '../helpers/reference-net.js';
import { readFileSync } from 'node:fs';
import { freshKernels, rng } from '../helpers/wasm.js';

describe('planModel + run', () => {
  it('matches a float64 reference interpreter on random Fire networks (SIMD and scalar kernels, float Winograd on and off)', async () => {
    const r = rng(7);
    for (let trial = 0; trial < 12; trial++) {
      const model = randomFireNet(r, { softmax: trial % 2 === 0 });
      const { height: h, width: w } = model.input;
      const chw = Float64Array.from({ length: 3 * h * w }, () => r() * 2 - 1);
      const expected = referenceRun(model, { c: 3, h, w, data: chw });
      const logitsName = model.ops[model.ops.length - 1].op === 'softmax' ? 'gap' : model.output;
      const want = expected.get(logitsName)!.data;
      for (const [variant, winograd] of [['simd', true], ['simd', false], ['ref', true]] as const) {
        const plan = planModel(validateModel(model), await freshKernels(), { variant, winograd });
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

  it('runs residual DAGs (adds, a skip across several ops, strided 1x1, 3x1 and 1x3 convs, a clamped conv, a conv after the pool) like the reference', async () => {
    const r = rng(11);
    for (let trial = 0; trial < 8; trial++) {
      const model = randomResidualNet(r);
      const { height: h, width: w } = model.input;
      const chw = Float64Array.from({ length: 3 * h * w }, () => r() * 2 - 1);
      const expected = referenceRun(model, { c: 3, h, w, data: chw });
      for (const variant of ['simd', 'ref'] as const) {
        const plan = planModel(validateModel(model), await freshKernels(), { variant });
        const input = new Float32Array(plan.kernels.memory.buffer, plan.input.ptr, h * w * 3);
        for (let c = 0; c < 3; c++) for (let i = 0; i < h * w; i++) input[i * 3 + c] = chw[c * h * w + i];
        // Every step's output, read right after it runs, against the reference.
        for (const step of plan.steps) {
          step.run();
          const v = step.output;
          const want = expected.get(step.name)!;
          const f = new Float32Array(plan.kernels.memory.buffer);
          const scale = Math.max(1, ...Array.from(want.data, Math.abs));
          for (let p = 0; p < v.h * v.w; p++) {
            for (let c = 0; c < v.c; c++) expect(Math.abs(f[(v.ptr + p * v.stride) / 4 + c] - want.data[c * v.h * v.w + p])).toBeLessThan(1e-5 * scale);
          }
        }
      }
    }
  });

  it('runs float 3x3 stride-1 pad-1 convs as Winograd F(4x4, 3x3) where that saves multiplies, unless told not to', async () => {
    const r = rng(9);
    let winogradSteps = 0;
    for (let trial = 0; trial < 6; trial++) {
      const model = validateModel(randomFireNet(r));
      for (const winograd of [true, false]) {
        const plan = planModel(model, await freshKernels(), { winograd });
        for (const step of plan.steps.filter((s) => s.name.endsWith('.e3'))) {
          // Whole 4x4 tiles must cover fewer pixels than 4x the map: a 1- or 2-pixel side wastes too many.
          const { h, w } = step.inputs[0];
          const wins = winograd && Math.ceil(h / 4) * Math.ceil(w / 4) * 4 < h * w;
          expect(step.warm?.kernel).toBe(wins ? 'f32_winograd3x3_simd' : 'f32_igemm_4x8_simd');
          if (wins) winogradSteps++;
        }
      }
    }
    expect(winogradSteps).toBeGreaterThan(4);
  });

  it('stores u8 conv inputs as i16 where the plan cannot read them as one plane (dot16, relaxed: same sums) and as bytes where it can, the clamp staying 0..255', async () => {
    const model = readModel(new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.1-int8.sqz', import.meta.url))));
    const u8 = model.checked.filter((c) => c.op.op === 'conv' && c.output.dtype === 'u8').map((c) => c.output);
    expect(u8.length).toBeGreaterThan(5);
    const [dot16, relaxed, u8Dot] = (['dot16', 'relaxed', 'relaxed-u8'] as const).map((d) => storageTypes(model, d));
    for (const a of u8) expect([dot16(a.name), relaxed(a.name), u8Dot(a.name)]).toEqual(['i16', 'i16', 'u8']);
    expect(dot16(model.input.name)).toBe('i16');
    const plan = planModel(model, await freshKernels(), { int8Dot: 'dot16', warm: true });
    const u8Steps = plan.steps.filter((st) => u8.some((a) => a.name === st.name));
    for (const st of u8Steps) expect(st.output.dtype).toBe('i16');
    const readers = plan.steps.filter((st) => st.op === 'conv' && model.checked.find((c) => c.op.output === st.name)!.inputs[0].dtype === 'u8');
    expect(readers.length).toBeGreaterThan(5);
    for (const st of readers) expect(st.warm?.kernel).toMatch(/^i16_/);
    // Random inputs over the whole u8 range: every u8 value must still be clamped to 0..255.
    const r = rng(3);
    new Int16Array(plan.kernels.memory.buffer, plan.input.ptr, plan.input.h * plan.input.w * 3).forEach((_, i, a) => (a[i] = Math.floor(r() * 256)));
    let [lo, hi] = [Infinity, -Infinity];
    for (const st of plan.steps) {
      st.run();
      if (!u8Steps.includes(st)) continue;
      // Read now: the arena reuses the buffer later.
      const v = st.output;
      for (let p = 0; p < v.h * v.w; p++) for (const q of new Int16Array(plan.kernels.memory.buffer, v.ptr + p * v.stride, v.c)) [lo, hi] = [Math.min(lo, q), Math.max(hi, q)];
    }
    expect(lo).toBe(0);
    expect(hi).toBeGreaterThan(127);
    expect(hi).toBeLessThanOrEqual(255);
  });

  it('keeps a skip branch alive until its add and reuses memory around it', async () => {
    const model = validateModel(randomResidualNet(rng(5)));
    const plan = planModel(model, await freshKernels());
    const bytes = (v: { ptr: number; stride: number; h: number; w: number }): [number, number] => [v.ptr, v.ptr + v.h * v.w * v.stride];
    const overlap = (a: [number, number], b: [number, number]): boolean => a[0] < b[1] && b[0] < a[1];
    // b2 is written before b3.k33 and b3.ex and read by the add b3: nothing in between may write over it.
    const steps = plan.steps.map((s) => s.name);
    const b2 = bytes(plan.steps[steps.indexOf('b2')].output);
    for (const name of ['b3.k33', 'b3.ex']) expect(overlap(bytes(plan.steps[steps.indexOf(name)].output), b2)).toBe(false);
    expect(plan.steps[steps.indexOf('b3')].inputs.map((v) => v.ptr)).toContain(b2[0]);
    let total = 0;
    for (const [, { shape: s }] of model.acts) total += s.c * s.h * s.w * 4;
    expect(plan.arenaBytes).toBeLessThan(total);
  });

  it('writes Fire expand outputs straight into the concat buffer and shares arena memory', async () => {
    const model = validateModel(randomFireNet(rng(3)));
    const plan = planModel(model, await freshKernels());
    // fire2's concat is in place (no copy step); in fire3, e1 also feeds the side branch, so only
    // e1 is copied while e3 and the side branch write into the concat buffer directly.
    expect(plan.steps.filter((s) => s.name === 'fire2.cat')).toHaveLength(0);
    expect(plan.steps.filter((s) => s.name === 'fire3.cat')).toHaveLength(1);
    let total = 0;
    for (const [, { shape: s }] of model.acts) total += s.c * s.h * s.w * 4;
    expect(plan.arenaBytes).toBeLessThan(total);
  });
});

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/index.js';
import type { Model } from '../../src/model/format.js';
import type { ValidModel } from '../../src/model/validate.js';
import { planModel, type PlanOptions } from '../../src/runtime/plan.js';
import type { KernelVariant, Plan } from '../../src/runtime/types.js';
import type { KernelExports } from '../../src/wasm/kernels.js';
import { randomInt8Net } from '../helpers/random-net.js';
import { freshKernels, kernelsModule, rng } from '../helpers/wasm.js';

const SPMM = ['u8_spmm_16x1c2_simd', 'i16_spmm_16x1c2_simd', 'u8_spmm_ref', 'i16_spmm_ref'] as const;

/** Plans `model` in a fresh instance whose sparse kernels count their calls, so tests see which path ran. */
async function countingPlan(model: ValidModel, variant: KernelVariant, options: PlanOptions): Promise<{ plan: Plan; sparseCalls: () => number }> {
  const k = await freshKernels();
  let calls = 0;
  const counted = { ...k } as KernelExports;
  for (const name of SPMM) {
    counted[name] = (...args) => {
      calls++;
      k[name](...args);
    };
  }
  return { plan: planModel(model, counted, { ...options, variant }), sparseCalls: () => calls };
}

const convs1x1 = (model: Model): number => model.ops.filter((op) => op.op === 'conv' && op.kernel.every((k) => k === 1) && op.stride.every((s) => s === 1)).length;

/** Runs every plan step by step on the same input and expects the same bytes from each step. */
function expectSameSteps(plans: Plan[], input: Uint8Array): void {
  for (const p of plans) new Uint8Array(p.kernels.memory.buffer, p.input.ptr, input.length).set(input);
  plans[0].steps.forEach((step, i) => {
    const [first, ...rest] = plans.map((p) => {
      p.steps[i].run();
      const o = p.steps[i].output;
      return new Uint8Array(p.kernels.memory.buffer, o.ptr, o.h * o.w * o.stride).slice();
    });
    // Buffer.compare: toEqual is slow on tensors of 100k+ bytes.
    for (const bytes of rest) expect(Buffer.compare(bytes, first), step.name).toBe(0);
  });
}

describe('sparse 1x1 convs in int8 networks', () => {
  it('give the dense plan\'s bytes at every step (pruned random networks, u8/i16 activations, padded classifier conv, empty rows)', async () => {
    const r = rng(57);
    for (let trial = 0; trial < 8; trial++) {
      const model = randomInt8Net(r, { i16Input: trial % 2 === 0, i16: trial % 4 < 2 });
      for (const op of model.ops) {
        if (op.op !== 'conv') continue;
        const w = model.tensors.get(op.weight)!.data;
        const per = w.length / model.tensors.get(op.weight)!.shape[0];
        for (let n = 0; n * per < w.length; n++) {
          // Some output channels lose every weight; the rest keep a random share.
          const keep = r() < 0.2 ? 0 : r();
          for (let i = n * per; i < (n + 1) * per; i++) if (r() >= keep) w[i] = 0;
        }
      }
      const n = model.input.height * model.input.width * 3;
      const input = model.quant!.get('data')!.dtype === 'i16'
        ? new Uint8Array(Int16Array.from({ length: n }, () => Math.round((r() * 2 - 1) * 4095)).buffer)
        : Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
      const dense = await countingPlan(model, 'ref', { winograd: false, sparseDensity: 0 });
      const simd = await countingPlan(model, 'simd', { sparseDensity: 1 });
      const ref = await countingPlan(model, 'ref', { sparseDensity: 1 });
      expectSameSteps([dense.plan, simd.plan, ref.plan], input);
      expect(dense.sparseCalls()).toBe(0);
      // Every 1x1 stride-1 conv of the net (squeezes, 1x1 expands, classifier) ran sparse.
      expect([simd.sparseCalls(), ref.sparseCalls()]).toEqual([convs1x1(model), convs1x1(model)]);
    }
  });
});

describe('squeezenet1.0-int8 with sparse planning', () => {
  const fixtures = new URL('../fixtures/images/', import.meta.url);
  const images = readdirSync(fixtures).sort();
  const bytes = new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.0-int8.sqz', import.meta.url)));

  it.each(images)('%s: every layer\'s output bytes equal the dense plan\'s', async (file) => {
    const net = await createClassifier(kernelsModule(), bytes);
    net.setInput(new Uint8Array(readFileSync(new URL(file, fixtures))));
    const { ptr, h, w, elem } = net.planned.input;
    const input = new Uint8Array(net.planned.kernels.memory.buffer, ptr, h * w * 3 * elem).slice();
    const dense = await countingPlan(net.model, 'simd', { sparseDensity: 0 });
    const chosen = await countingPlan(net.model, 'simd', {});
    const all = await countingPlan(net.model, 'simd', { sparseDensity: 1 });
    expectSameSteps([dense.plan, chosen.plan, all.plan], input);
    // The default threshold picks conv_final (21 % nonzero; the other 1x1 convs keep over half).
    expect([dense.sparseCalls(), chosen.sparseCalls(), all.sparseCalls()]).toEqual([0, 1, convs1x1(net.model)]);
  });
});

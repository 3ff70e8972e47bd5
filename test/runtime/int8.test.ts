import { describe, expect, it } from 'vitest';
import type { ValidModel } from '../../src/model/validate.js';
import { planModel } from '../../src/runtime/plan.js';
import type { KernelVariant } from '../../src/runtime/types.js';
import { run } from '../../src/runtime/run.js';
import { randomInt8Net, randomResidualNet } from '../helpers/random-net.js';
import { referenceRun } from '../helpers/reference-net.js';
import { freshKernels, rng } from '../helpers/wasm.js';

async function runInt8(model: ValidModel, input: Uint8Array | Int16Array, variant: KernelVariant, winograd: boolean): Promise<Float32Array> {
  const plan = planModel(model, await freshKernels(), { variant, winograd });
  const slot = plan.input.dtype === 'i16' ? new Int16Array(plan.kernels.memory.buffer, plan.input.ptr, input.length) : new Uint8Array(plan.kernels.memory.buffer, plan.input.ptr, input.length);
  slot.set(input);
  return run(plan);
}

describe('int8 network execution', () => {
  it('gives identical outputs with SIMD or scalar kernels, direct or Winograd 3x3, u8 or i16 activations (random networks, odd channels)', async () => {
    const r = rng(41);
    for (let trial = 0; trial < 10; trial++) {
      const i16 = trial % 4 < 2;
      const model = randomInt8Net(r, { i16Input: trial % 2 === 0, i16 });
      // i16 nets carry the squeeze outputs into the expand convs (direct 1x1, Winograd 3x3), the
      // stem through its max pool and the Fire outputs through their concats as i16; what the
      // average pool reads stays u8.
      const i16Tensors = ['fire2.sq', 'fire3.sq', 'stem', 'pool1', 'fire2.e1', 'fire2.side', 'fire2.cat'];
      expect(i16Tensors.every((t) => model.quant!.get(t)!.dtype === (i16 ? 'i16' : 'u8'))).toBe(true);
      const pool2 = model.ops.find((op) => op.op === 'avgpool')!;
      expect(model.quant!.get(pool2.input)!.dtype).toBe('u8');
      const { height: h, width: w } = model.input;
      const i16In = model.quant!.get('data')!.dtype === 'i16';
      const input = i16In ? Int16Array.from({ length: h * w * 3 }, () => Math.round((r() * 2 - 1) * 4095)) : Uint8Array.from({ length: h * w * 3 }, () => Math.floor(r() * 256));
      const reference = await runInt8(model, input, 'ref', false);
      for (const [variant, winograd] of [['simd', false], ['simd', true], ['ref', true]] as const) {
        expect(await runInt8(model, input, variant, winograd)).toEqual(reference);
      }
      expect(reference.some((v) => v !== 0)).toBe(true);
    }
  });

  it('runs residual networks (int8 adds with and without ReLU, a clamped conv, the pool moved last) identically with SIMD or scalar kernels, close to float', async () => {
    const r = rng(43);
    for (let trial = 0; trial < 6; trial++) {
      const float = randomResidualNet(r);
      const model = randomInt8Net(r, { i16Input: false, i16: trial % 2 === 0, model: float });
      expect(model.ops.at(-1)).toMatchObject({ op: 'globalavgpool', output: 'fc' });
      expect(model.ops.filter((op) => op.op === 'add').every((op) => op.op === 'add' && op.shift! > 0 && op.multipliers!.length === 2)).toBe(true);
      const { height: h, width: w } = model.input;
      const qIn = model.quant!.get('data')!;
      const x = Float64Array.from({ length: 3 * h * w }, () => r() * 4 - 2);
      const input = Uint8Array.from({ length: h * w * 3 }, (_, i) => Math.min(255, Math.max(0, Math.round(x[(i % 3) * h * w + Math.floor(i / 3)] / qIn.scale) + qIn.zeroPoint)));
      const reference = await runInt8(model, input, 'ref', false);
      expect(await runInt8(model, input, 'simd', true)).toEqual(reference);
      const want = referenceRun(float, { c: 3, h, w, data: x }).get('fc')!.data;
      const range = Math.max(...want) - Math.min(...want);
      reference.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThan(0.1 * range));
    }
  });
});

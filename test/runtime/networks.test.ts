import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/index.js';
import { readModel } from '../../src/model/read.js';
import { topK } from '../../src/runtime/output.js';
import { run } from '../../src/runtime/run.js';
import { readNpy } from '../helpers/npy.js';
import { kernelsModule } from '../helpers/wasm.js';

const fixtures = new URL('../fixtures/', import.meta.url);
const images = readdirSync(new URL('images/', fixtures)).sort();
const weights = (name: string) => new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));
const load = (name: string) => createClassifier(kernelsModule(), weights(name));

// Goldens: onnxruntime-web 1.30 on the same preprocessed fixtures (test/fixtures/make-goldens.ts).
describe.each([
  ['squeezenet1.1-f32', 'squeezenet1.1'],
  ['squeezenet1.0-f32', 'squeezenet1.0'],
])('%s against onnxruntime goldens', (model, golden) => {
  const goldens = JSON.parse(readFileSync(new URL(`goldens/${golden}.json`, fixtures), 'utf8')).images as Record<string, { probabilities: number[] }>;

  it('covers every fixture image', () => {
    expect(Object.keys(goldens).sort()).toEqual(images);
  });

  it.each(images)('%s: probabilities within 1e-4 and the same top-5', async (file) => {
    const net = await load(model);
    const result = net.classifySync(new Uint8Array(readFileSync(new URL(`images/${file}`, fixtures))));
    const want = goldens[file].probabilities;
    let maxDiff = 0;
    result.probabilities.forEach((p, i) => (maxDiff = Math.max(maxDiff, Math.abs(p - want[i]))));
    expect(maxDiff).toBeLessThanOrEqual(1e-4);
    expect(topK(result.probabilities, 5)).toEqual(topK(want, 5));
    // Each fixture's file name carries its true class, which both models get right.
    expect(result.top[0].label.replace(/ /g, '_')).toBe(file.replace(/^n\d+_/, '').replace(/\.\w+$/, ''));
  });
});

describe('squeezenet1.1-f32 on the model zoo reference pair', () => {
  it('reproduces output_0.npy from input_0.npy', async () => {
    const net = await load('squeezenet1.1-f32');
    const input = readNpy(new Uint8Array(readFileSync(new URL('reference/input_0.npy', fixtures))));
    const expected = readNpy(new Uint8Array(readFileSync(new URL('reference/output_0.npy', fixtures))));
    expect(input.shape).toEqual([1, 3, 224, 224]);
    const plan = net.planned;
    const slot = new Float32Array(plan.kernels.memory.buffer, plan.input.ptr, 224 * 224 * 3);
    for (let c = 0; c < 3; c++) for (let i = 0; i < 224 * 224; i++) slot[i * 3 + c] = input.data[c * 224 * 224 + i];
    const logits = run(plan);
    let maxDiff = 0;
    let maxAbs = 0;
    logits.forEach((v, i) => {
      maxDiff = Math.max(maxDiff, Math.abs(v - expected.data[i]));
      maxAbs = Math.max(maxAbs, Math.abs(expected.data[i]));
    });
    // onnxruntime itself reproduces this pair to 1.1e-4 on logits of magnitude ~280.
    expect(maxAbs).toBeGreaterThan(100);
    expect(maxDiff).toBeLessThan(5e-4);
    expect(topK(logits, 5)).toEqual(topK(expected.data, 5));
  });
});

describe.each(['squeezenet1.1', 'squeezenet1.0'])('%s-int8 on the fixtures', (base) => {
  const goldens = JSON.parse(readFileSync(new URL(`goldens/${base}-int8.json`, fixtures), 'utf8')).images as Record<string, { outputSums: number[] }>;

  it.each(images)('%s: SIMD (with Winograd) reproduces the scalar reference goldens exactly and agrees with f32 in top-1', async (file) => {
    const int8 = await load(`${base}-int8`);
    const f32 = await load(`${base}-f32`);
    const bytes = new Uint8Array(readFileSync(new URL(`images/${file}`, fixtures)));
    const result = int8.classifySync(bytes);
    const { ptr, c } = int8.planned.output;
    expect(Array.from(new Int32Array(int8.planned.kernels.memory.buffer, ptr, c))).toEqual(goldens[file].outputSums);
    expect(result.top[0].index).toBe(f32.classifySync(bytes).top[0].index);
  });
});

describe('bundled weights', () => {
  it('squeezenet1.0-int8 keeps the pruning: every weight zero in squeezenet1.0-f32 is zero, and the file stores them sparse', () => {
    const f32 = readModel(weights('squeezenet1.0-f32'));
    const int8 = readModel(weights('squeezenet1.0-int8'));
    let pruned = 0;
    for (const op of f32.ops) {
      if (op.op !== 'conv') continue;
      const w = f32.tensors.get(op.weight)!.data;
      const q = int8.tensors.get(op.weight)!.data;
      for (let i = 0; i < w.length; i++) {
        if (w[i] !== 0) continue;
        pruned++;
        if (q[i] !== 0) expect.fail(`${op.weight}[${i}] is pruned in the f32 model but ${q[i]} in the int8 one`);
      }
    }
    expect(pruned).toBe(828527);
    expect(new DataView(weights('squeezenet1.0-int8').buffer).getUint32(4, true)).toBe(2);
  });

  it('each squeezenet1.1 file has the lowest format version its content needs: f32 1, int8 2 (tensors stored sparse, no u7 activations)', () => {
    const version = (name: string): number => new DataView(weights(name).buffer).getUint32(4, true);
    expect(version('squeezenet1.1-f32')).toBe(1);
    expect([...readModel(weights('squeezenet1.1-int8')).quant!.values()].some((q) => q.dtype === 'u7')).toBe(false);
    expect(version('squeezenet1.1-int8')).toBe(2);
  });
});

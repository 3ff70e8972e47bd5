import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { convertTflite } from '../../src/convert/tflite.js';
import { ConvertError } from '../../src/errors.js';
import { readModel } from '../../src/model/read.js';
import { writeModel } from '../../src/model/write.js';
import { softmax } from '../../src/runtime/output.js';
import { planModel } from '../../src/runtime/plan.js';
import { run } from '../../src/runtime/run.js';
import { modelToTflite } from '../../bench/peers/tflite-writer.js';
import { freshKernels } from '../helpers/wasm.js';
import { asGolden, convertGolden, goldenPixels, loadManifest, planGolden, runGolden } from '../helpers/tflite-goldens.js';

const { manifest, at } = loadManifest('test/fixtures/tflite/manifest.json');
const models = Object.entries(manifest.models);


describe('TFLite import: outputs against TensorFlow Lite\'s reference interpreter', () => {
  it('the fixtures cover every op the importer reads, float and int8', () => {
    const ops = new Set(models.flatMap(([, m]) => m.ops));
    for (const op of ['CONV_2D', 'MAX_POOL_2D', 'AVERAGE_POOL_2D', 'MEAN', 'CONCATENATION', 'ADD', 'PAD', 'RESHAPE', 'FULLY_CONNECTED', 'SOFTMAX', 'QUANTIZE', 'DEQUANTIZE']) {
      expect(ops, op).toContain(op);
    }
  });

  for (const [name, model] of models) {
    const int8 = name.endsWith('int8');
    for (const variant of ['simd', 'ref'] as const) {
      it(`${name} (${variant} kernels): ${int8 ? 'every output value bit-identical' : 'within 1e-5 of the output range'} on ${model.goldens.length} images`, async () => {
        const converted = convertGolden(readFileSync(at(model.file)), model);
        const plan = await planGolden(readModel(writeModel(converted)), variant);
        for (const g of model.goldens) {
          const out = asGolden(model, runGolden(plan, model.input_from_pixels, goldenPixels(at, g.pixels), softmax), int8);
          if (int8) expect(out, g.image).toEqual(g.output);
          else {
            const range = Math.max(...g.output) - Math.min(...g.output);
            out.forEach((v, i) => expect(Math.abs(v - g.output[i]), `${g.image}[${i}]`).toBeLessThanOrEqual(1e-5 * range));
          }
        }
      });
    }
  }
});

describe('TFLite import: round trip through the benchmark\'s .tflite writer', () => {
  // bench/peers/tflite-writer.ts writes the bundled float models as TFLite graphs (PADs for
  // SqueezeNet 1.0's ceil-mode pools, NHWC weights); reading them back must give the same network.
  it.each(['squeezenet1.1-f32', 'squeezenet1.0-f32'])('%s gives the same logits, bit for bit', async (name) => {
    const m = readModel(readFileSync(`weights/${name}.sqz`));
    const back = convertTflite(modelToTflite(m, { stopBeforeSoftmax: true }), { name, input: { ...m.input }, labels: m.labels, provenance: m.provenance });
    const outs: Float32Array[] = [];
    for (const model of [m, back]) {
      const plan = planModel(model, await freshKernels());
      const x = new Float32Array(plan.kernels.memory.buffer, plan.input.ptr, plan.input.h * plan.input.w * 3);
      x.forEach((_, i) => (x[i] = Math.sin(i * 0.37) * 2));
      outs.push(run(plan));
    }
    expect(outs[1]).toEqual(outs[0]);
  });
});

describe('TFLite import: what it refuses', () => {
  const bytes = readFileSync(at(manifest.models['keras-squeezenet-int8'].file));
  const meta = { name: 'm', input: { channelOrder: 'RGB' as const, divisor: 1, mean: [128, 128, 128] as [number, number, number], std: [128, 128, 128] as [number, number, number], resizeShorter: 110 }, labels: ['a', 'b', 'c', 'd', 'e'], provenance: { source: 's', license: 'l' } };

  it('a label count that does not match the classes', () => {
    expect(() => convertTflite(bytes, { ...meta, labels: ['a'] })).toThrow(ConvertError);
  });

  it('an op it does not convert, naming it (DEPTHWISE_CONV_2D)', () => {
    const file = readFileSync(at('refused-depthwise.tflite'));
    expect(() => convertTflite(file, { ...meta, labels: ['a', 'b', 'c', 'd'] })).toThrow(/unsupported TFLite op "DEPTHWISE_CONV_2D" \(op #1 /);
  });

  it('a dynamic-range model (float activations, int8 weights), saying how to convert it instead', () => {
    const file = readFileSync(at('refused-dynamic-range.tflite'));
    expect(() => convertTflite(file, { ...meta, labels: ['a', 'b', 'c', 'd'] })).toThrow(/dynamic-range .* full-integer int8/);
  });

  it('bytes that are not a .tflite file', () => {
    expect(() => convertTflite(new Uint8Array(64), meta)).toThrow(ConvertError);
  });
});

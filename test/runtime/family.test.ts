import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Classifier, type Pixels } from '../../src/classifier.js';
import { convertOnnx } from '../../src/convert/onnx.js';
import { quantizeModel } from '../../src/convert/quantize.js';
import { decodeImage } from '../../src/image/decode.js';
import { preprocessNCHW } from '../../src/image/preprocess.js';
import type { GraphSpec } from '../helpers/onnx-builder.js';
import { buildOnnx } from '../helpers/onnx-builder.js';
import { readModel } from '../../src/model/read.js';
import type { ValidModel } from '../../src/model/validate.js';
import { topK } from '../../src/runtime/output.js';
import { run } from '../../src/runtime/run.js';
import { squeezeNet11, squeezeNext23 } from '../helpers/family-graphs.js';
import { ortRunAll } from '../helpers/ort.js';
import { kernelsModule } from '../helpers/wasm.js';

// The SqueezeNet family at full size against onnxruntime-web. The graphs are built here with
// random weights in the layouts of ../shared/models/synthetic (which tests may not read); the
// int8 SqueezeNeXt converted from the real synthetic file, and onnxruntime's outputs for it, are
// committed fixtures (bench/family.ts --fixtures writes them and measures the whole files).

const fixtures = new URL('../fixtures/', import.meta.url);
const files = readdirSync(new URL('images/', fixtures)).sort();
const images: Pixels[] = files.map((f) => decodeImage(new Uint8Array(readFileSync(new URL(`images/${f}`, fixtures)))));
const imagenet = { channelOrder: 'RGB', resizeShorter: 256, divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** f32 logits may differ from onnxruntime's by this fraction of the logit range (measured: below 1e-6). */
const F32_TOLERANCE = 1e-3;
/**
 * int8 logits may differ from f32's by this fraction of the f32 logit range (docs/quantization.md;
 * measured: 1e-2 with the 6-image calibration without GPTQ below, under 1e-3 for the committed
 * SqueezeNeXt calibrated on 64 sample images), and their top-1 must be f32's on every fixture.
 */
const INT8_TOLERANCE = 0.02;

function convert(spec: GraphSpec): ValidModel {
  return convertOnnx(buildOnnx(spec), {
    name: 'family-f32', input: { ...imagenet, mean: [...imagenet.mean], std: [...imagenet.std] },
    labels: Array.from({ length: 1000 }, (_, i) => String(i)), provenance: { source: 'test', license: 'none' },
  });
}


/** Max |a - b| over the range of `ref`. */
function relativeError(got: Float32Array, ref: Float32Array): number {
  const range = Math.max(...ref) - Math.min(...ref);
  let diff = 0;
  ref.forEach((v, i) => (diff = Math.max(diff, Math.abs(got[i] - v))));
  return diff / range;
}

function expectInt8Follows(got: Float32Array, want: Float32Array, what: string): void {
  expect(relativeError(got, want), what).toBeLessThan(INT8_TOLERANCE);
  expect(topK(got, 1)[0], what).toBe(topK(want, 1)[0]);
}

describe.each<[string, (seed: number) => GraphSpec]>([
  ['SqueezeNeXt-23 (BatchNormalization, 3x1 and 1x3 convs, residual adds, Gemm)', squeezeNext23],
  ['SqueezeNet 1.1 in the torchvision layout', squeezeNet11],
])('%s, random weights, full size', (_, make) => {
  const model = convert(make(7));

  it(`f32 agrees with onnxruntime-web on the fixture images (max |logit difference| <= ${F32_TOLERANCE} of the range, same top-1)`, async () => {
    const { height: h, width: w } = model.input;
    const want = await ortRunAll(buildOnnx(make(7)), 'input', [1, 3, h, w], images.map((img) => preprocessNCHW(img.data as Uint8Array, img.width, img.height, model.input)));
    const net = await Classifier.fromModel(model, kernelsModule());
    images.forEach((image, i) => {
      const ref = [...want[i].values()][0];
      const got = net.classifySync(image).logits;
      expect(relativeError(got, ref), files[i]).toBeLessThan(F32_TOLERANCE);
      expect(topK(got, 1), files[i]).toEqual(topK(ref, 1));
    });
  }, 60_000);

  it(`int8 calibrated on the fixture images follows f32 (logits within ${INT8_TOLERANCE} of the range, same top-1)`, async () => {
    const { model: int8 } = await quantizeModel(model, images, kernelsModule(), { methods: ['mse'], gptq: false });
    const f32 = await Classifier.fromModel(model, kernelsModule());
    const q = await Classifier.fromModel(int8, kernelsModule());
    images.forEach((image, i) => expectInt8Follows(q.classifySync(image).logits, f32.classifySync(image).logits, files[i]));
  }, 120_000);
});

describe('int8 SqueezeNeXt-23 converted from squeezenext23-synthetic.onnx (committed fixture)', () => {
  const dir = new URL('family/', fixtures);
  const bytes = new Uint8Array(readFileSync(new URL('squeezenext23-synthetic-int8.sqz', dir)));
  const goldens = JSON.parse(readFileSync(new URL('squeezenext23-synthetic.json', dir), 'utf8')).images as Record<string, { onnxruntimeLogits: number[]; int8OutputSums: number[] }>;

  it('covers every fixture image', () => {
    expect(Object.keys(goldens).sort()).toEqual(files);
  });

  it('reproduces the int8 goldens exactly with SIMD and scalar kernels and follows onnxruntime f32', async () => {
    const model = readModel(bytes);
    expect(model.ops.filter((op) => op.op === 'add')).toHaveLength(21);
    const sums = (net: Classifier, image: Pixels): number[] => {
      net.setInput(image);
      run(net.planned);
      const { ptr, c } = net.planned.output;
      return Array.from(new Int32Array(net.planned.kernels.memory.buffer, ptr, c));
    };
    const simd = await Classifier.fromModel(model, kernelsModule());
    images.forEach((image, i) => {
      const golden = goldens[files[i]];
      expect(sums(simd, image), files[i]).toEqual(golden.int8OutputSums);
      expectInt8Follows(simd.classifySync(image).logits, Float32Array.from(golden.onnxruntimeLogits), files[i]);
    });
    // The scalar reference kernels are slow: one image.
    expect(sums(await Classifier.fromModel(model, kernelsModule(), { kernels: 'ref' }), images[0])).toEqual(goldens[files[0]].int8OutputSums);
  }, 120_000);
});

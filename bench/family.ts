/**
 * The synthetic SqueezeNet-family graphs in <shared>/models/synthetic (random weights, so only
 * agreement means anything): converts each, then measures
 * - f32 against onnxruntime-web: max |logit difference| relative to onnxruntime's logit range
 *   (max - min), and top-1 agreement, on the fixture images and the held-out sample images;
 * - int8 (quantized with `--calibrate` sample images) against f32: top-1 agreement and the max
 *   |logit difference| relative to the f32 range, on the calibration images, on as many other
 *   sample images, and on the fixture images.
 * With --fixtures it also writes test/fixtures/family/: the int8 SqueezeNeXt and its goldens
 * (onnxruntime's f32 logits and the int8 output sums on the fixture images).
 *
 *   npm run eval:family -- [sharedDir] [--calibrate 64] [--fixtures]      (default ../shared)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-web';
import { Classifier, type Pixels } from '../src/classifier.js';
import { convertOnnx } from '../src/convert/onnx.js';
import { quantizeModel } from '../src/convert/quantize.js';
import { decodeImage } from '../src/image/decode.js';
import { preprocessNCHW } from '../src/image/preprocess.js';
import { writeModel } from '../src/model/write.js';
import { kernelsModule } from '../src/node.js';
import { topK } from '../src/runtime/output.js';
import { run } from '../src/runtime/run.js';

const { values, positionals } = parseArgs({ options: { calibrate: { type: 'string', default: '64' }, fixtures: { type: 'boolean' } }, allowPositionals: true });
const shared = positionals[0] ?? '../shared';
const calibrate = Number(values.calibrate);
ort.env.wasm.numThreads = 1;

/** The synthetic graphs and the preprocessing they are converted with (ImageNet's; the input size comes from the ONNX file). */
const MODELS = [
  { name: 'squeezenet1.1-synthetic', file: 'squeezenet1_1-synthetic.onnx' },
  { name: 'squeezenext23-synthetic', file: 'squeezenext23-synthetic.onnx' },
];
const PREPROCESSING = { channelOrder: 'RGB', resizeShorter: 256, divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

const fixtureDir = 'test/fixtures/images';
const fixtureFiles = readdirSync(fixtureDir).sort();
const fixtures = fixtureFiles.map((f) => decodeImage(new Uint8Array(readFileSync(join(fixtureDir, f)))));
const sampleDir = join(shared, 'imagenet-sample');
const sample = readdirSync(sampleDir).filter((f) => f.endsWith('.JPEG')).sort();
// Every other sample image calibrates, the ones between are held out.
const decode = (files: string[]): Pixels[] => files.map((f) => decodeImage(new Uint8Array(readFileSync(join(sampleDir, f)))));
const calibration = decode(sample.filter((_, i) => i % 2 === 0).slice(0, calibrate));
const heldOut = decode(sample.filter((_, i) => i % 2 === 1).slice(0, calibrate));


function logitsOf(net: Classifier, image: Pixels): Float32Array {
  net.setInput(image);
  return run(net.planned);
}

interface Agreement {
  /** Max |got - ref| over the range of `ref`. */
  relative: number;
  agree: boolean;
  /** The gap between ref's two largest logits over its range: how close the top-1 call was. */
  margin: number;
}

function compare(got: Float32Array, ref: Float32Array): Agreement {
  let diff = 0, lo = Infinity, hi = -Infinity;
  ref.forEach((v, i) => {
    diff = Math.max(diff, Math.abs(got[i] - v));
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  });
  const [first, second] = topK(ref, 2);
  return { relative: diff / (hi - lo), agree: topK(got, 1)[0] === first, margin: (ref[first] - ref[second]) / (hi - lo) };
}

function summary(rows: Agreement[]): string {
  const misses = rows.filter((r) => !r.agree).map((r) => (100 * r.margin).toFixed(2));
  const where = misses.length ? ` (the misses had top-2 margins of ${misses.join(', ')} % of the range)` : '';
  return `top-1 agreement ${rows.length - misses.length}/${rows.length}${where}, max |logit diff| / range ${Math.max(...rows.map((r) => r.relative)).toExponential(2)}`;
}

const wasm = await kernelsModule('plain');
const labels = Array.from({ length: 1000 }, (_, i) => String(i));
for (const m of MODELS) {
  const onnx = new Uint8Array(readFileSync(join(shared, 'models', 'synthetic', m.file)));
  const model = convertOnnx(onnx, {
    name: `${m.name}-f32`, input: { ...PREPROCESSING, mean: [...PREPROCESSING.mean], std: [...PREPROCESSING.std] }, labels,
    provenance: { source: `${m.file}: random weights`, license: 'none' },
  });
  const session = await ort.InferenceSession.create(onnx);
  const { height: h, width: w } = model.input;
  const reference = async (image: Pixels): Promise<Float32Array> => {
    const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', preprocessNCHW(image.data as Uint8Array, image.width, image.height, model.input), [1, 3, h, w]) });
    return out[session.outputNames[0]].data as Float32Array;
  };
  const f32 = await Classifier.fromModel(model, wasm);
  const kinds = new Map<string, number>();
  for (const op of model.ops) kinds.set(op.op, (kinds.get(op.op) ?? 0) + 1);
  const counts = [...kinds].map(([k, n]) => `${n} ${k}`).join(', ');
  console.log(`\n${m.name}: ${m.file} -> ${counts}; input ${w}x${h}`);

  const ortFixtures: Float32Array[] = [];
  for (const image of fixtures) ortFixtures.push(await reference(image));
  const ortHeldOut: Float32Array[] = [];
  for (const image of heldOut) ortHeldOut.push(await reference(image));
  await session.release();
  console.log(`  f32 vs onnxruntime, ${fixtures.length} fixture images: ${summary(fixtures.map((img, i) => compare(logitsOf(f32, img), ortFixtures[i])))}`);
  console.log(`  f32 vs onnxruntime, ${heldOut.length} sample images: ${summary(heldOut.map((img, i) => compare(logitsOf(f32, img), ortHeldOut[i])))}`);

  const t0 = performance.now();
  const q = await quantizeModel(model, calibration, wasm);
  const int8 = await Classifier.fromModel(q.model, wasm);
  console.log(`  int8: calibrated on ${calibration.length} sample images in ${((performance.now() - t0) / 1000).toFixed(0)} s, range method ${q.chosen} (${q.candidates.map((c) => `${c.method} ${(100 * c.agreement).toFixed(1)} %`).join(', ')})`);
  for (const [what, images] of [['calibration', calibration], ['held-out sample', heldOut], ['fixture', fixtures]] as const) {
    console.log(`  int8 vs f32, ${images.length} ${what} images: ${summary(images.map((img) => compare(logitsOf(int8, img), logitsOf(f32, img))))}`);
  }

  if (values.fixtures && m.name.startsWith('squeezenext')) {
    const dir = 'test/fixtures/family';
    mkdirSync(dir, { recursive: true });
    const file = writeModel(q.model);
    writeFileSync(join(dir, `${m.name}-int8.sqz`), file);
    const entries = fixtureFiles.map((f, i) => {
      int8.setInput(fixtures[i]);
      run(int8.planned);
      const { ptr, c } = int8.planned.output;
      const sums = Array.from(new Int32Array(int8.planned.kernels.memory.buffer, ptr, c));
      // 9 significant digits identify a float32 exactly.
      const logits = Array.from(ortFixtures[i], (v) => Number(v.toPrecision(9)));
      return `    ${JSON.stringify(f)}: { "onnxruntimeLogits": ${JSON.stringify(logits)}, "int8OutputSums": ${JSON.stringify(sums)} }`;
    });
    const json = `{\n  "model": ${JSON.stringify(m.file)},\n  "onnxruntime": ${JSON.stringify(ort.env.versions.web)},\n  "images": {\n${entries.join(',\n')}\n  }\n}\n`;
    writeFileSync(join(dir, `${m.name}.json`), json);
    console.log(`  wrote ${dir}/${m.name}-int8.sqz (${file.length} bytes) and ${m.name}.json`);
  }
}

/**
 * Builds the bundled weights in weights/ from the shared ONNX models: the float32 .sqz files,
 * their int8 versions (calibrated on every image of imagenet-sample, see docs/quantization.md),
 * the ImageNet label list, and the license / notice files that must travel with them.
 * Deterministic: the same inputs give the same bytes. Needs the built wasm (npm run build:wasm).
 *
 * Usage: npm run weights -- [sharedDir] [--only squeezenet1.0|squeezenet1.1]
 * (sharedDir defaults to ../shared next to the repository; --only rebuilds that model's two files)
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundledProvenance, REFERENCE_MODELS } from '../bench/reference-models.js';
import { INT8_MODEL_BUDGETS } from '../bench/sizes.js';
import { parseLabels } from '../src/convert/labels.js';
import type { ConvertMeta } from '../src/convert/common.js';
import { convertOnnx } from '../src/convert/onnx.js';
import { quantizeModel } from '../src/convert/quantize.js';
import { writeModel } from '../src/model/write.js';

const { values: args, positionals } = parseArgs({ options: { only: { type: 'string' } }, allowPositionals: true });
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(repo, positionals[0] ?? '../shared');
const out = join(repo, 'weights');

/** Size budget of the bundled float models (the int8 ones: bench/sizes.ts); all ship in the npm package. */
const MAX_MODEL_BYTES = 6 * 1024 * 1024;

const labelsText = readFileSync(join(shared, 'imagenet-sample/labels.txt'), 'utf8');
const labels = parseLabels(labelsText);
if (labels.length !== 1000) throw new Error(`expected 1000 ImageNet labels, found ${labels.length}`);

const bsdLicense = readFileSync(join(shared, 'models/squeezenet1.0-deep-compression/LICENSE'), 'utf8');
const apacheNotice = `SqueezeNet 1.1 weights (squeezewasm file squeezenet1.1-f32.sqz)

Source: ONNX model zoo, model squeezenet1.1-7
(https://github.com/onnx/models/tree/main/validated/vision/classification/squeezenet),
which was converted from the MXNet Gluon model zoo (Apache MXNet / GluonCV).

Licensed under the Apache License, Version 2.0 (the "License"); you may not use these weights
except in compliance with the License. You may obtain a copy of the License at
http://www.apache.org/licenses/LICENSE-2.0. Unless required by applicable law or agreed to in
writing, the weights are distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY
KIND, either express or implied.

Modifications: the float32 weights are stored unchanged in the squeezewasm model format; each
ReLU is fused into the convolution before it and the final Flatten is removed.

SqueezeNet: Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer, "SqueezeNet: AlexNet-level accuracy
with 50x fewer parameters and <0.5MB model size", arXiv:1602.07360, 2016.
`;

const licenseTexts: Record<string, string> = { 'LICENSE-squeezenet1.0.txt': bsdLicense, 'NOTICE-squeezenet1.1.txt': apacheNotice };
const models: { onnx: string; meta: ConvertMeta }[] = REFERENCE_MODELS.map((ref) => ({
  onnx: ref.file,
  meta: { name: ref.bundled, input: ref.input, labels, provenance: bundledProvenance(ref, licenseTexts[ref.licenseFile]) },
}));

const selected = models.filter(({ meta }) => args.only === undefined || meta.name === `${args.only}-f32`);
if (selected.length === 0) throw new Error(`--only ${args.only}: no such model; use ${models.map(({ meta }) => meta.name.replace(/-f32$/, '')).join(' or ')}`);

const sampleDir = join(shared, 'imagenet-sample');
const calibration = readdirSync(sampleDir)
  .filter((f) => f.endsWith('.JPEG'))
  .sort()
  .map((f) => new Uint8Array(readFileSync(join(sampleDir, f))));
const wasm = new WebAssembly.Module(readFileSync(join(repo, 'dist/squeezewasm.wasm')));

mkdirSync(out, { recursive: true });
for (const { onnx, meta } of selected) {
  const model = convertOnnx(new Uint8Array(readFileSync(join(shared, 'models', onnx))), meta);
  const bytes = writeModel(model);
  if (bytes.length > MAX_MODEL_BYTES) throw new Error(`${meta.name} is ${bytes.length} bytes, over the ${MAX_MODEL_BYTES}-byte budget`);
  writeFileSync(join(out, `${meta.name}.sqz`), bytes);
  console.log(`weights/${meta.name}.sqz: ${bytes.length} bytes, ${model.ops.length} ops, ${model.tensors.size} tensors`);

  const result = await quantizeModel(model, calibration, wasm, { u8: 'auto' });
  const u8 = result.u8!;
  const int8 = {
    ...result.model,
    provenance: {
      ...model.provenance,
      notes: `${model.provenance.notes} Quantized to int8 by squeezewasm (per-channel int8 weights with GPTQ rounding, cross-layer equalization, 13-bit int16 activations with ${result.chosen} ranges, ${u8.groups.length ? `8-bit inputs with ${u8.method} ranges for the convs reading ${u8.groups.join(', ')}` : 'no 8-bit conv inputs'}), calibrated on the ${result.calibrationImages} images of the ImageNet sample (every other class).`,
    },
  };
  const int8Bytes = writeModel(int8);
  const budget = INT8_MODEL_BUDGETS[int8.name];
  if (int8Bytes.length > budget) throw new Error(`${int8.name} is ${int8Bytes.length} bytes, over the ${budget}-byte budget`);
  writeFileSync(join(out, `${int8.name}.sqz`), int8Bytes);
  const report = result.candidates.map((c) => `${c.method} ${(100 * c.agreement).toFixed(1)}%`).join(', ');
  console.log(`weights/${int8.name}.sqz: ${int8Bytes.length} bytes; agreement ${report}; chose ${result.chosen}`);
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;
  console.log(`  u8 (${u8.method} ranges): ${u8.groups.join(', ') || 'none'} (${pct(u8.macsShare)} of the conv MACs), agreement ${pct(u8.result.agreement)} (without: ${pct(u8.base.agreement)})`);
  console.log(`  each alone: ${u8.alone.map((a) => `${a.group} ${pct(a.agreement)}`).join(', ')}`);
}
writeFileSync(join(out, 'imagenet-labels.txt'), labelsText);
for (const [file, text] of Object.entries(licenseTexts)) writeFileSync(join(out, file), text);
console.log(`weights/imagenet-labels.txt, ${Object.keys(licenseTexts).join(', ')} written`);

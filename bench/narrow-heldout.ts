/**
 * `npx tsx bench/narrow-heldout.ts even|odd [--shared ../shared]`: the u8 search of `quantize --u8
 * auto` held out. Quantizes SqueezeNet 1.1 calibrated (and searched) on one half of the sorted
 * ImageNet sample, then measures the int8 model's top-1 agreement with float32 on the other half,
 * which the search never saw (docs/quantization.md, "u8"). Prints one JSON line. Needs
 * `npm run build:wasm`; takes about 6 minutes.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Classifier } from '../src/classifier.js';
import { parseLabels } from '../src/convert/labels.js';
import { convertOnnx } from '../src/convert/onnx.js';
import { quantizeModel } from '../src/convert/quantize.js';
import { decodeImage } from '../src/image/decode.js';
import type { ValidModel } from '../src/model/validate.js';
import { validateModel } from '../src/model/validate.js';
import { packageFile } from '../src/node.js';
import { bundledProvenance, REFERENCE_MODELS } from './reference-models.js';

const { values, positionals } = parseArgs({ options: { shared: { type: 'string', default: '../shared' } }, allowPositionals: true });
if (positionals[0] !== 'even' && positionals[0] !== 'odd') throw new Error('usage: bench/narrow-heldout.ts even|odd [--shared dir]');
const half = positionals[0] === 'even' ? 0 : 1;
const shared = values.shared!;
const ref = REFERENCE_MODELS.find((r) => r.bundled === 'squeezenet1.1-f32')!;
const labels = parseLabels(readFileSync(join(shared, 'imagenet-sample/labels.txt'), 'utf8'));
const model = convertOnnx(new Uint8Array(readFileSync(join(shared, 'models', ref.file))), { name: ref.bundled, input: ref.input, labels, provenance: bundledProvenance(ref, '') });
const dir = join(shared, 'imagenet-sample');
const images = readdirSync(dir).filter((f) => f.endsWith('.JPEG')).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));
const [calibration, heldOut] = [images.filter((_, i) => i % 2 === half), images.filter((_, i) => i % 2 !== half)];
const wasm = new WebAssembly.Module(readFileSync(packageFile('dist/squeezewasm.wasm')));
const result = await quantizeModel(model, calibration, wasm, { u8: 'auto' });
const float = await Classifier.fromModel(validateModel(model), wasm, { decode: decodeImage });
const agreement = async (m: ValidModel): Promise<number> => {
  const q = await Classifier.fromModel(m, wasm, { decode: decodeImage });
  return heldOut.filter((image) => q.classifySync(image).top[0].index === float.classifySync(image).top[0].index).length / heldOut.length;
};
const u8 = result.u8!;
console.log(JSON.stringify({ calibratedOn: positionals[0], groups: u8.groups.length, macsShare: u8.macsShare, inSample: u8.result.agreement, inSampleAllI16: u8.base.agreement, heldOut: await agreement(result.model) }));

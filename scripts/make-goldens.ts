/**
 * Writes the test fixtures that come from onnxruntime, so that the tests never need ../shared:
 * - test/fixtures/goldens/<model>.json: onnxruntime-web's class probabilities for every fixture image,
 *   preprocessed by src/image;
 * - test/fixtures/reference/: the model zoo's reference input and output of squeezenet1.1.
 * With --images it first re-creates test/fixtures/images from the ImageNet sample: each image resized
 * (by src/image/preprocess) so that its shorter side is 256, then encoded as JPEG quality 90, or PNG.
 * It fails if a model misclassifies a fixture.
 *
 *   npx tsx scripts/make-goldens.ts [sharedDir] [--images]      (default ../shared)
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import * as ort from 'onnxruntime-web';
import { decodeImage, type DecodedImage } from '../src/image/decode.js';
import { preprocess, toNCHW } from '../src/image/preprocess.js';
import { REFERENCE_MODELS } from './reference-models.js';

/** Both models classify these correctly with a clear margin; the PNG one tests the other decoder. */
const FIXTURES = [
  'n02510455_giant_panda.jpg',
  'n02123597_Siamese_cat.jpg',
  'n02108551_Tibetan_mastiff.jpg',
  'n02917067_bullet_train.jpg',
  'n03124043_cowboy_boot.jpg',
  'n01614925_bald_eagle.png',
];

const args = process.argv.slice(2);
const shared = args.find((a) => !a.startsWith('--')) ?? '../shared';
const fixtures = 'test/fixtures';
ort.env.wasm.numThreads = 1;

/** Scales an image so that its shorter side is `size`, the same way the network input is resized. */
function resizeShorter(img: DecodedImage, size: number): DecodedImage {
  const short = Math.min(img.width, img.height);
  const width = Math.round((size * img.width) / short);
  const height = Math.round((size * img.height) / short);
  const rgb = new Float32Array(width * height * 3);
  // A crop as large as the resized image, with identity normalisation, is the resized image itself.
  preprocess(img.data, img.width, img.height, { name: '', width, height, channelOrder: 'RGB', resizeShorter: size, divisor: 1, mean: [0, 0, 0], std: [1, 1, 1] }, rgb);
  const data = new Uint8Array(width * height * 4).fill(255);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < 3; c++) data[i * 4 + c] = Math.round(rgb[i * 3 + c]);
  return { width, height, data };
}

function makeImages(): void {
  mkdirSync(join(fixtures, 'images'), { recursive: true });
  for (const file of FIXTURES) {
    const source = decodeImage(readFileSync(join(shared, 'imagenet-sample', file.replace(/\.\w+$/, '.JPEG'))));
    const img = resizeShorter(source, 256);
    const bytes = file.endsWith('.png')
      ? encodePng({ width: img.width, height: img.height, data: rgbOnly(img.data), channels: 3, depth: 8 })
      : jpeg.encode(img, 90).data;
    writeFileSync(join(fixtures, 'images', file), bytes);
    console.log(`${file}: ${source.width}x${source.height} -> ${img.width}x${img.height}, ${bytes.length} bytes`);
  }
}

function rgbOnly(rgba: Uint8Array): Uint8Array {
  const rgb = new Uint8Array((rgba.length / 4) * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) rgb.set(rgba.subarray(i, i + 3), j);
  return rgb;
}

function softmax(logits: Float32Array): Float32Array {
  const max = Math.max(...logits);
  const e = Array.from(logits, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return Float32Array.from(e, (v) => v / sum);
}

async function makeGoldens(): Promise<void> {
  const synsets = readFileSync(join(shared, 'imagenet-sample', 'labels.txt'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' ')[0]);
  const files = [...FIXTURES].sort();
  mkdirSync(join(fixtures, 'goldens'), { recursive: true });
  let failures = 0;
  for (const m of REFERENCE_MODELS) {
    const session = await ort.InferenceSession.create(readFileSync(join(shared, 'models', m.file)));
    const { height, width } = m.input;
    const nhwc = new Float32Array(height * width * 3);
    const entries: string[] = [];
    for (const file of files) {
      const img = decodeImage(readFileSync(join(fixtures, 'images', file)));
      preprocess(img.data, img.width, img.height, m.input, nhwc);
      const result = await session.run({ data: new ort.Tensor('float32', toNCHW(nhwc, height, width), [1, 3, height, width]) });
      const raw = result[m.output].data as Float32Array;
      const p = m.output === 'logits' ? softmax(raw) : raw;
      const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
      const label = synsets.indexOf(file.split('_')[0]);
      const ok = order[0] === label;
      if (!ok) failures++;
      console.log(`${m.name} ${file}: top-1 ${order[0]} (${p[order[0]].toFixed(4)}), runner-up ${p[order[1]].toFixed(4)}${ok ? '' : `  WRONG, expected ${label}`}`);
      // 9 significant digits identify a float32 exactly.
      const probabilities = Array.from(p, (v) => Number(Math.fround(v).toPrecision(9)));
      entries.push(`    ${JSON.stringify(file)}: { "probabilities": ${JSON.stringify(probabilities)} }`);
    }
    await session.release();
    const json = `{\n  "model": ${JSON.stringify(m.name)},\n  "onnxruntime": ${JSON.stringify(ort.env.versions.web)},\n  "images": {\n${entries.join(',\n')}\n  }\n}\n`;
    writeFileSync(join(fixtures, 'goldens', `${m.name}.json`), json);
  }
  if (failures > 0) throw new Error(`${failures} fixture classifications are wrong; pick other fixture images`);
}

if (args.includes('--images')) makeImages();
await makeGoldens();
mkdirSync(join(fixtures, 'reference'), { recursive: true });
for (const f of ['input_0.npy', 'output_0.npy']) {
  // Copied by content: the shared originals are read-only and copyFileSync would keep that mode.
  writeFileSync(join(fixtures, 'reference', f), readFileSync(join(shared, 'models', 'squeezenet1.1-reference', f)));
}
console.log(`wrote ${fixtures}/goldens and ${fixtures}/reference`);

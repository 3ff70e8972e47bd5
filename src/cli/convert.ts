import { convertDeepCompression } from '../convert/deep-compression.js';
import { convertOnnx } from '../convert/onnx.js';
import { convertTflite } from '../convert/tflite.js';
import { readTflite } from '../convert/tflite-read.js';
import { parseLabels } from '../convert/labels.js';
import { readBoundedFile } from '../files.js';
import type { InputSpec } from '../model/format.js';
import { writeModel } from '../model/write.js';
import { packageFile } from '../node-load.js';
import { writeFileAtomic } from './files.js';
import { UsageError, type Command } from './command.js';

type Preprocessing = Pick<InputSpec, 'channelOrder' | 'divisor' | 'mean' | 'std' | 'resizeShorter'>;

/**
 * The conventions image classifiers come in: torchvision's and Caffe's ImageNet normalisations,
 * and keras.applications' others ("tf": -1..1; "unit": 0..1; "raw": 0..255, for models that
 * rescale inside). keras.applications' "caffe" and "torch" modes are `caffe` and `imagenet`.
 */
const PRESETS: Record<string, Preprocessing> = {
  imagenet: { channelOrder: 'RGB', divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], resizeShorter: 256 },
  caffe: { channelOrder: 'BGR', divisor: 1, mean: [104, 117, 123], std: [1, 1, 1], resizeShorter: 256 },
  tf: { channelOrder: 'RGB', divisor: 1, mean: [127.5, 127.5, 127.5], std: [127.5, 127.5, 127.5], resizeShorter: 256 },
  unit: { channelOrder: 'RGB', divisor: 255, mean: [0, 0, 0], std: [1, 1, 1], resizeShorter: 256 },
  raw: { channelOrder: 'RGB', divisor: 1, mean: [0, 0, 0], std: [1, 1, 1], resizeShorter: 256 },
};

/** A .tflite file: "TFL3" after the root offset, or the extension. */
const isTflite = (path: string, bytes: Uint8Array): boolean => /\.tflite$/i.test(path) || new TextDecoder().decode(bytes.subarray(4, 8)) === 'TFL3';

function triple(value: unknown, flag: string): [number, number, number] {
  const v = String(value).split(',').map(Number);
  if (v.length !== 3 || !v.every(Number.isFinite)) throw new UsageError(`${flag} takes three comma-separated numbers, got "${String(value)}"`);
  return v as [number, number, number];
}

/** Source models are read whole; far beyond any SqueezeNet (5 MB), short of exhausting memory. */
const MAX_SOURCE_BYTES = 2 ** 30;

/**
 * Labels, license and prototxt files are read whole into a string: the largest published are a few
 * hundred KB, and a string must stay far below V8's longest (2^29 - 24 characters).
 */
const MAX_TEXT_BYTES = 4 * 1024 * 1024;

function readInput(path: string, what: string): Uint8Array {
  return readBoundedFile(path, MAX_SOURCE_BYTES, { what, code: 'E_INPUT_FILE', limit: 'maxSourceBytes' });
}

function readText(path: string, what: string): string {
  return new TextDecoder().decode(readBoundedFile(path, MAX_TEXT_BYTES, { what, code: 'E_INPUT_FILE', limit: 'maxTextBytes' }));
}

/** The input height of a .tflite classifier (its [1, H, W, 3] input), for the default resize. */
function tfliteInputSize(bytes: Uint8Array): number {
  const g = readTflite(bytes);
  return g.tensors[g.inputs[0]]?.shape[1] ?? 224;
}

/** `squeezewasm convert`: ONNX, TFLite or Deep Compression -> squeezewasm model file. */
export const convertCommand: Command = {
  usage: `squeezewasm convert <model.onnx | model.tflite> -o <model.sqz> [options]
squeezewasm convert <compressed.net> --prototxt <deploy.prototxt> -o <model.sqz> [options]

  -o, --output        the model file to write (refuses to overwrite without --force)
  --prototxt          the Caffe deploy.prototxt of a Deep Compression .net file (which is
                      recognised by its extension or by this option)
  --name              model name (default: the output file's name)
  --preset            imagenet (RGB, x/255, torchvision mean/std; default for ONNX),
                      caffe (BGR, x - mean; default for Deep Compression),
                      tf (RGB, x/127.5 - 1; default for TFLite), unit (x/255), raw (x)
  --channel-order     RGB or BGR          --divisor  pixel divisor before mean/std
  --mean a,b,c        --std a,b,c         (in the network's channel order)
  --resize            shorter side before the centre crop (default 256; for TFLite, the
                      input size x 256/224)
  --labels            labels file, one class per line ("<synset> <label>" lines are understood);
                      default: the 1000 ImageNet classes
  --source, --license provenance recorded in the file
  --license-file      a file whose text (the license or notice) is recorded with the weights
  --force             overwrite an existing output file`,
  options: {
    output: { type: 'string', short: 'o' },
    prototxt: { type: 'string' },
    name: { type: 'string' },
    preset: { type: 'string' },
    'channel-order': { type: 'string' },
    divisor: { type: 'string' },
    mean: { type: 'string' },
    std: { type: 'string' },
    resize: { type: 'string' },
    labels: { type: 'string' },
    source: { type: 'string' },
    license: { type: 'string' },
    'license-file': { type: 'string' },
    force: { type: 'boolean' },
  },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError('convert needs exactly one ONNX, TFLite or Deep Compression file');
    const [source] = positionals;
    const output = values.output as string | undefined;
    if (!output) throw new UsageError('convert needs an output file: -o model.sqz');
    const prototxt = values.prototxt as string | undefined;
    const deepCompression = prototxt !== undefined || /\.net$/i.test(source);
    if (deepCompression && prototxt === undefined) throw new UsageError(`${source} is a Deep Compression file: give its network with --prototxt deploy.prototxt`);
    const bytes = readInput(source, deepCompression ? 'Deep Compression file' : 'model file');
    const tflite = !deepCompression && isTflite(source, bytes);
    const presetName = (values.preset as string | undefined) ?? (deepCompression ? 'caffe' : tflite ? 'tf' : 'imagenet');
    const preset = PRESETS[presetName];
    if (!preset) throw new UsageError(`unknown --preset "${presetName}" (presets: ${Object.keys(PRESETS).join(', ')})`);
    const input: Preprocessing = { ...preset };
    if (values['channel-order'] !== undefined) {
      const order = String(values['channel-order']).toUpperCase();
      if (order !== 'RGB' && order !== 'BGR') throw new UsageError('--channel-order must be RGB or BGR');
      input.channelOrder = order;
    }
    if (values.divisor !== undefined) input.divisor = Number(values.divisor);
    if (values.mean !== undefined) input.mean = triple(values.mean, '--mean');
    if (values.std !== undefined) input.std = triple(values.std, '--std');
    if (values.resize !== undefined) input.resizeShorter = Number(values.resize);
    else if (tflite) input.resizeShorter = Math.round((tfliteInputSize(bytes) * 256) / 224);
    const labelsFile = (values.labels as string | undefined) ?? packageFile('weights/imagenet-labels.txt');
    const labels = parseLabels(readText(labelsFile, 'labels file'));
    const licenseFile = values['license-file'] as string | undefined;
    const meta = {
      name: (values.name as string | undefined) ?? output.replace(/^.*[\\/]/, '').replace(/\.sqz$/, ''),
      input,
      labels,
      provenance: {
        source: (values.source as string | undefined) ?? source,
        license: (values.license as string | undefined) ?? 'unknown',
        ...(licenseFile === undefined ? {} : { licenseText: readText(licenseFile, 'license file') }),
      },
    };
    const model = prototxt !== undefined
      ? convertDeepCompression(bytes, readText(prototxt, 'prototxt'), meta)
      : tflite ? convertTflite(bytes, meta) : convertOnnx(bytes, meta);
    await writeFileAtomic(output, writeModel(model), Boolean(values.force));
    console.log(`${output}: ${model.ops.length} ops, ${model.labels.length} classes, ${model.input.width}x${model.input.height} ${model.input.channelOrder}`);
  },
};

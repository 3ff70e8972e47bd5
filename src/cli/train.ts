import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { fsReason } from '../files.js';
import { ArgumentError } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import { writeModel } from '../model/write.js';
import { DEFAULT_MODEL, kernelsModule, withModelBytes } from '../node-load.js';
import { printable, printableJson } from '../text.js';
import { FeatureExtractor } from '../transfer/features.js';
import { SOFTMAX_DEFAULTS } from '../transfer/softmax.js';
import { trainClassifier, type TrainExample } from '../transfer/train.js';
import { UsageError, type Command } from './command.js';
import { imageFiles, writeFileAtomic } from './files.js';
import { imageOptions, inFile, ORIENTATION_OPTION, orientationUsage, readImageFile } from './input.js';

/** The class folders of a training folder, sorted by name, with their images. */
async function classFolders(dir: string): Promise<{ label: string; files: string[] }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    throw new ArgumentError('E_TRAINING_DIR', `cannot read training folder ${dir}: ${fsReason(e)}`);
  }
  const classes = [];
  for (const name of names.filter((n) => !n.startsWith('.')).sort()) {
    const path = join(dir, name);
    const info = await stat(path).catch((e: unknown) => {
      throw new ArgumentError('E_TRAINING_DIR', `cannot read ${path} in training folder ${dir}: ${fsReason(e)}`);
    });
    if (!info.isDirectory()) continue;
    const files = await imageFiles(path, 'class folder', 'E_TRAINING_DIR');
    if (files.length === 0) throw new ArgumentError('E_TRAINING_DIR', `class folder ${path} has no JPEG or PNG images`);
    classes.push({ label: name, files });
  }
  if (classes.length < 2) throw new ArgumentError('E_TRAINING_DIR', `${dir} has ${classes.length} class folder(s); training needs one sub-folder per class, at least 2`);
  return classes;
}

/** A numeric option, or undefined when absent. */
function numberOption(values: Record<string, string | boolean | undefined>, name: string, valid: (v: number) => boolean, what: string): number | undefined {
  if (values[name] === undefined) return undefined;
  const v = Number(values[name]);
  if (String(values[name]).trim() === '' || !valid(v)) throw new UsageError(`--${name} must be ${what}, got "${String(values[name])}"`);
  return v;
}

const percent = (v: number | undefined): string => (v === undefined ? '-' : `${(100 * v).toFixed(1)} %`);

/** `squeezewasm train`: a new classifier from a folder of class folders. */
export const trainCommand: Command = {
  usage: `squeezewasm train <dir> -o <model.sqz> [options]

  <dir>         one sub-folder per class, named after the class, holding its JPEG/PNG images
  -o, --output  the model file to write (refuses to overwrite without --force)
  --model       the network whose features are used and whose classifier is replaced: a bundled
                model's name or a model file (default: ${DEFAULT_MODEL})
  --name        model name (default: the output file's name)
  --seed        seed of the validation split (default ${SOFTMAX_DEFAULTS.seed})
  --val         fraction of each class held out to choose the number of epochs (default
                ${SOFTMAX_DEFAULTS.validation}; 0 trains --epochs epochs without early stopping)
  --l2          L2 penalty on the weights of standardized features (default ${SOFTMAX_DEFAULTS.l2})
  --epochs      most epochs to train (default ${SOFTMAX_DEFAULTS.maxEpochs})
  --json        print the report as one JSON object
  --force       overwrite an existing output file
${orientationUsage(16)}

Extracts the features of every image (int8 SqueezeNet 1.1: fire9's 512 channels, averaged), trains
a softmax head on them and writes a model that classify, the API and the Worker run like any other.
The same folder and options give the same file, byte for byte.`,
  options: {
    output: { type: 'string', short: 'o' },
    model: { type: 'string' },
    name: { type: 'string' },
    seed: { type: 'string' },
    val: { type: 'string' },
    l2: { type: 'string' },
    epochs: { type: 'string' },
    json: { type: 'boolean' },
    force: { type: 'boolean' },
    ...ORIENTATION_OPTION,
  },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError('train needs exactly one folder of class folders');
    const output = values.output as string | undefined;
    if (!output) throw new UsageError('train needs an output file: -o model.sqz');
    const options = {
      seed: numberOption(values, 'seed', (v) => Number.isInteger(v) && v >= 0 && v < 2 ** 32, 'an integer in 0..2^32-1'),
      validation: numberOption(values, 'val', (v) => v >= 0 && v < 1, 'a fraction in [0, 1)'),
      l2: numberOption(values, 'l2', (v) => v >= 0 && Number.isFinite(v), 'a non-negative number'),
      maxEpochs: numberOption(values, 'epochs', (v) => Number.isInteger(v) && v >= 1, 'a positive integer'),
    };
    const t0 = performance.now();
    const classes = await classFolders(positionals[0]);
    const files = classes.flatMap((c, label) => c.files.map((file) => ({ file, label })));
    // The plain build on every Node: with a float base, the relaxed build's FMA would move the
    // features in the last bits, and the same folder must give the same bytes wherever it runs.
    const wasm = await kernelsModule('plain');
    const extractor = await withModelBytes((values.model as string | undefined) ?? DEFAULT_MODEL, (bytes) => FeatureExtractor.create(bytes, wasm, { decode: decodeImage }));
    const bar = new cliProgress.SingleBar({ format: 'features {bar} {value}/{total}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
    bar.start(files.length, 0);
    const examples: TrainExample[] = [];
    for (const { file, label } of files) {
      try {
        const bytes = await readImageFile(file);
        examples.push({ features: inFile(file, () => extractor.extract(bytes, imageOptions(values))), label });
      } catch (e) {
        bar.stop();
        throw e;
      }
      bar.increment();
    }
    bar.stop();
    const t1 = performance.now();
    const name = (values.name as string | undefined) ?? output.replace(/^.*[\\/]/, '').replace(/\.sqz$/, '');
    const { model, report } = await trainClassifier(extractor, examples, classes.map((c) => c.label), { ...options, name });
    extractor.dispose();
    const features = { base: extractor.base.name, layer: extractor.layer, dim: extractor.dim };
    const bytes = writeModel(model);
    await writeFileAtomic(output, bytes, Boolean(values.force));
    const t2 = performance.now();
    const ms = { features: Math.round(t1 - t0), training: Math.round(t2 - t1), total: Math.round(t2 - t0) };
    if (values.json) {
      console.log(printableJson({
        output,
        bytes: bytes.length,
        precision: model.precision,
        labels: model.labels,
        images: classes.map((c) => c.files.length),
        features,
        epochs: report.epochs,
        epochsRun: report.epochsRun,
        validationImages: report.validationExamples,
        validationLoss: report.validationLoss,
        validationAccuracy: report.validationAccuracy,
        trainAccuracy: report.trainAccuracy,
        modelAccuracy: report.modelAccuracy,
        agreement: report.agreement,
        headRange: report.headRange,
        ms,
      }));
      return;
    }
    console.log(`classes: ${classes.map((c) => `${printable(c.label)} (${c.files.length})`).join(', ')}`);
    console.log(`features: ${printable(features.base)} ${printable(features.layer)}, ${features.dim} per image, ${files.length} images in ${(ms.features / 1000).toFixed(1)} s`);
    console.log(
      report.validationExamples > 0
        ? `training: validation loss lowest after ${report.epochs} of ${report.epochsRun} epochs on ${report.validationExamples} held-out images (accuracy ${percent(report.validationAccuracy)}); refit on all ${report.examples} for ${report.epochs} epochs`
        : `training: ${report.epochs} epochs on all ${report.examples} images`,
    );
    console.log(`model: accuracy on the training images ${percent(report.modelAccuracy)}, top-1 agreement with the float head ${percent(report.agreement)}`);
    console.log(`${output}: ${model.precision}, ${model.labels.length} classes, ${bytes.length} bytes, ${(ms.total / 1000).toFixed(1)} s in total`);
  },
};

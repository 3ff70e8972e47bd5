import { loadFeatureExtractor } from '../node-load.js';
import { printable, printableJson } from '../text.js';
import { eachFile, UsageError, type Command } from './command.js';
import { imageOptions, inFile, ORIENTATION_OPTION, orientationUsage, readImageFile } from './input.js';

/** Six significant digits: as much as features carry that matters, in a tenth of the characters of float64. */
const short = (v: number): number => Number(v.toPrecision(6));

/** A CSV field: control characters escaped ({@link printable}), quoted when it has a comma or a quote. */
const csv = (s: string): string => {
  const field = printable(s);
  return /[",]/.test(field) ? `"${field.replace(/"/g, '""')}"` : field;
};

/** `squeezewasm features`: the pooled feature vector of each image, as CSV or JSON lines. */
export const featuresCommand: Command = {
  usage: `squeezewasm features <image...> [--model name|file] [--json] [--ignore-orientation]

  --model   the network (a bundled model's name or a model file; default: the default model): the
            features are the channels its classifier reads, averaged over the image (SqueezeNet 1.1:
            fire9, 512 values)
  --json    one JSON object per image and line: {"file", "features": [...]}
${orientationUsage(12)}

Prints CSV by default: a header row (file, then one column per feature, named layer[channel]) and
one row per image. Values have 6 significant digits.`,
  options: { model: { type: 'string' }, json: { type: 'boolean' }, ...ORIENTATION_OPTION },
  async run(files, values) {
    if (files.length === 0) throw new UsageError('features needs at least one image file');
    const extractor = await loadFeatureExtractor(values.model as string | undefined);
    if (!values.json) console.log(['file', ...Array.from({ length: extractor.dim }, (_, i) => `${extractor.layer}[${i}]`)].map(csv).join(','));
    await eachFile(files, 'images', async (file) => {
      const bytes = readImageFile(file);
      const features = inFile(file, () => Array.from(extractor.features(bytes, imageOptions(values)), short));
      console.log(values.json ? printableJson({ file, features }) : [csv(file), ...features].join(','));
    });
  },
};

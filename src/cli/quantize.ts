import cliProgress from 'cli-progress';
import { quantizeModel, type RangeMethod } from '../convert/quantize.js';
import { ArgumentError } from '../errors.js';
import { readModel } from '../model/read.js';
import { writeModel } from '../model/write.js';
import { kernelsModule, withModelBytes } from '../node-load.js';
import { UsageError, type Command } from './command.js';
import { imageFiles, writeFileAtomic } from './files.js';
import { imageOptions, ORIENTATION_OPTION, orientationUsage, readImageFile } from './input.js';

const METHODS: RangeMethod[] = ['minmax', 'percentile', 'mse'];

/** `squeezewasm quantize`: float model -> int8 model, calibrated on a folder of images. */
export const quantizeCommand: Command = {
  usage: `squeezewasm quantize <model.sqz|name> --calibrate <dir> -o <model.int8.sqz> [options]

  --calibrate   folder of JPEG/PNG images from the distribution the model will see
  -o, --output  the int8 model file to write (refuses to overwrite without --force)
  --method      auto (default: try minmax, percentile and mse; keep the best agreement) or one of them
  --limit       use at most this many images (evenly spread over the sorted folder)
  --activations i16 (default: 13-bit int16 activations wherever the kernels take them) or u8 (all uint8)
  --u8          auto: 8-bit instead of 13-bit conv inputs where agreement allows (faster on CPUs with
                a one-instruction relaxed dot product: AVX-VNNI, Arm dotprod), or none (default)
  --u7          auto: then 7-bit conv inputs where agreement allows (faster still only where the
                relaxed dot is exact on 7 bits alone), or none (default)
  --force       overwrite an existing output file
${orientationUsage(16)}`,
  options: {
    calibrate: { type: 'string' },
    output: { type: 'string', short: 'o' },
    method: { type: 'string' },
    limit: { type: 'string' },
    activations: { type: 'string' },
    u8: { type: 'string' },
    u7: { type: 'string' },
    force: { type: 'boolean' },
    ...ORIENTATION_OPTION,
  },
  async run(positionals, values) {
    if (positionals.length !== 1) throw new UsageError('quantize needs exactly one float model (a file or a bundled name)');
    const dir = values.calibrate as string | undefined;
    const output = values.output as string | undefined;
    if (!dir) throw new UsageError('quantize needs calibration images: --calibrate <dir>');
    if (!output) throw new UsageError('quantize needs an output file: -o model.int8.sqz');
    const method = (values.method as string | undefined) ?? 'auto';
    if (method !== 'auto' && !METHODS.includes(method as RangeMethod)) throw new UsageError(`--method must be auto, ${METHODS.join(', ')}`);
    const activations = (values.activations as string | undefined) ?? 'i16';
    if (activations !== 'i16' && activations !== 'u8') throw new UsageError('--activations must be i16 or u8');
    const [u8, u7] = (['u8', 'u7'] as const).map((flag) => {
      const v = (values[flag] as string | undefined) ?? 'none';
      if (v !== 'auto' && v !== 'none') throw new UsageError(`--${flag} must be auto or none`);
      return v;
    });
    let files = await imageFiles(dir, 'calibration folder', 'E_CALIBRATION_DIR');
    if (values.limit !== undefined) {
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1) throw new UsageError('--limit must be a positive integer');
      if (limit < files.length) files = Array.from({ length: limit }, (_, i) => files[Math.floor((i * files.length) / limit)]);
    }
    if (files.length < 4) throw new ArgumentError('E_CALIBRATION_DIR', `${dir} has ${files.length} images; calibration needs at least 4`);

    const model = await withModelBytes(positionals[0], readModel);
    const images = await Promise.all(files.map((f) => readImageFile(f)));
    const bar = new cliProgress.SingleBar(
      { format: 'quantize {phase} {bar} {value}/{total}', hideCursor: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    let phase = '';
    // The plain build on every Node: the relaxed build's FMA moves float activations in the last
    // bits, and the same calibration must give the same bytes wherever it runs.
    const result = await quantizeModel(model, images, await kernelsModule('plain'), {
      methods: method === 'auto' ? METHODS : [method as RangeMethod],
      activations,
      u8,
      u7,
      ...imageOptions(values),
      onProgress(p, done, total) {
        if (p !== phase) {
          if (phase) bar.stop();
          phase = p;
          bar.start(total, 0, { phase: p.padEnd(7) });
        }
        bar.update(done);
      },
    });
    bar.stop();
    await writeFileAtomic(output, writeModel(result.model), Boolean(values.force));
    for (const c of result.candidates) {
      console.log(`${c.method.padEnd(10)} agreement ${(100 * c.agreement).toFixed(1)} %  mean |logit error| ${c.logitError.toFixed(4)}${c.method === result.chosen ? '  (chosen)' : ''}`);
    }
    for (const type of ['u8', 'u7'] as const) {
      const report = result[type];
      if (!report) continue;
      const { groups, macsShare, result: a, base } = report;
      console.log(`${type}: ${groups.length} conv inputs (${(100 * macsShare).toFixed(1)} % of the conv MACs), agreement ${(100 * a.agreement).toFixed(1)} % (without: ${(100 * base.agreement).toFixed(1)} %)`);
    }
    console.log(`${output}: int8 weights, ${activations} activations, calibrated on ${result.calibrationImages} images`);
  },
};

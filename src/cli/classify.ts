import { loadClassifier } from '../node-load.js';
import { printable, printableJson } from '../text.js';
import { eachFile, UsageError, type Command } from './command.js';
import { imageOptions, inFile, ORIENTATION_OPTION, orientationUsage, readImageFile } from './input.js';

/** `squeezewasm classify`: top-k labels for each image, as a table or as JSON lines. */
export const classifyCommand: Command = {
  usage: `squeezewasm classify <image...> [--model name|file] [--top 5] [--json] [--ignore-orientation]

  --model   a bundled model's name (see "squeezewasm models") or a model file; default: the default model
  --top     how many classes to show per image (default 5)
  --json    one JSON object per image and line: {"file", "top": [{"index", "label", "probability"}], "ms"}
${orientationUsage(12)}`,
  options: { model: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, ...ORIENTATION_OPTION },
  async run(files, values) {
    if (files.length === 0) throw new UsageError('classify needs at least one image file');
    const top = Number(values.top ?? 5);
    if (!Number.isInteger(top) || top < 1) throw new UsageError(`--top must be a positive integer, got "${String(values.top)}"`);
    const net = await loadClassifier(values.model as string | undefined);
    await eachFile(files, 'images', async (file) => {
      const bytes = readImageFile(file);
      const t0 = performance.now();
      const result = inFile(file, () => net.classifySync(bytes, { top, ...imageOptions(values) }));
      const ms = performance.now() - t0;
      if (values.json) {
        console.log(printableJson({ file, top: result.top, ms: Math.round(ms * 100) / 100 }));
        return;
      }
      console.log(`${printable(file)}  (${printable(net.name)}, ${ms.toFixed(1)} ms)`);
      const labels = result.top.map((p) => printable(p.label));
      const width = Math.max(...labels.map((l) => l.length));
      result.top.forEach((p, i) => {
        console.log(`  ${String(i + 1).padStart(2)}. ${labels[i].padEnd(width)}  ${(p.probability * 100).toFixed(2).padStart(6)} %  (class ${p.index})`);
      });
    });
  },
};

/**
 * The `squeezewasm` command. Every failure becomes one line on stderr and a non-zero exit;
 * `--debug` adds the stack trace.
 * @packageDocumentation
 */
import { parseArgs } from 'node:util';
import { SqueezeError } from '../errors.js';
import { printable } from '../text.js';
import { classifyCommand } from './classify.js';
import { printError, UsageError, type Command } from './command.js';

// The other commands' modules load only when they run: classifying an image (the main job, loaded
// with this module) does not parse the converters or load the progress bar.
const COMMANDS: Record<string, () => Promise<Command>> = {
  classify: async () => classifyCommand,
  models: async () => (await import('./models.js')).modelsCommand,
  info: async () => (await import('./info.js')).infoCommand,
  convert: async () => (await import('./convert.js')).convertCommand,
  quantize: async () => (await import('./quantize.js')).quantizeCommand,
  features: async () => (await import('./features.js')).featuresCommand,
  train: async () => (await import('./train.js')).trainCommand,
};

const HELP = `squeezewasm - SqueezeNet image classification in WebAssembly

Usage:
  squeezewasm classify <image...> [--model name|file] [--top 5] [--json]
  squeezewasm models [--json]
  squeezewasm info <name|file> [--json]
  squeezewasm convert <model.onnx> -o <model.sqz> [options]
  squeezewasm convert <compressed.net> --prototxt <deploy.prototxt> -o <model.sqz> [options]
  squeezewasm quantize <model.sqz|name> --calibrate <dir> -o <model.int8.sqz> [options]
  squeezewasm features <image...> [--model name|file] [--json]
  squeezewasm train <dir of class folders> -o <model.sqz> [options]

Run "squeezewasm <command> --help" for a command's options. Add --debug to see stack traces.`;

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return;
  }
  const load = COMMANDS[name];
  if (!load) throw new UsageError(`unknown command "${name}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.usage);
    return;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...command.options, debug: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  await command.run(parsed.positionals, parsed.values as Record<string, string | boolean | undefined>);
}

const argv = process.argv.slice(2);
main(argv).catch((error: unknown) => {
  const debug = argv.includes('--debug');
  if (error instanceof UsageError) {
    printError(`${error.message} (try "squeezewasm --help")`);
    process.exitCode = 2;
  } else {
    printError(error instanceof SqueezeError ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)} (please report it; --debug shows where)`);
    process.exitCode = 1;
  }
  // Only the stack's frames: its first lines repeat the message, which was printed escaped above.
  const frames = debug && error instanceof Error ? (error.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)) : [];
  for (const frame of frames) process.stderr.write(`${printable(frame)}\n`);
});

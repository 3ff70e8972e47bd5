import type { ParseArgsConfig } from 'node:util';
import { ArgumentError, SqueezeError } from '../errors.js';
import { printable } from '../text.js';

/** A CLI command: its options (for util.parseArgs), usage text, and what it does with the parsed arguments. */
export interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, string | boolean | undefined>): Promise<void>;
}

/** A mistake in how the command was called: printed with a hint to `--help` on the same line, exit code 2. */
export class UsageError extends Error {}

/**
 * Prints one error line, in the form every squeezewasm error takes on stderr. Whatever the message
 * holds (a name from a file, a path from a folder listing), it stays one line that cannot move the
 * cursor, end the line or send the terminal an escape sequence.
 */
export function printError(message: string): void {
  process.stderr.write(`squeezewasm: ${printable(message)}\n`);
}

/**
 * Runs `each` on every file; a typed error for one file is printed as one line and the others go
 * on, so one corrupt image in a batch costs only its own result. Any failure still ends in a
 * non-zero exit.
 * @throws ArgumentError `E_SOME_FILES_FAILED` after the loop if any file failed; untyped errors at once.
 */
export async function eachFile(files: string[], what: string, each: (file: string) => Promise<void>): Promise<void> {
  let failed = 0;
  for (const file of files) {
    try {
      await each(file);
    } catch (e) {
      if (!(e instanceof SqueezeError) || files.length === 1) throw e;
      printError(e.message);
      failed++;
    }
  }
  if (failed > 0) throw new ArgumentError('E_SOME_FILES_FAILED', `${failed} of ${files.length} ${what} failed (errors above)`);
}

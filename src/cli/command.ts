import type { ParseArgsConfig } from 'node:util';

/** A CLI command: its options (for util.parseArgs), usage text, and what it does with the parsed arguments. */
export interface Command {
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run(positionals: string[], values: Record<string, string | boolean | undefined>): Promise<void>;
}

/** A mistake in how the command was called: printed with a hint to `--help`, exit code 2. */
export class UsageError extends Error {}

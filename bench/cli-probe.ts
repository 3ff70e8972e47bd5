/**
 * `squeezewasm classify --json` in a fresh Node process with bench/cold-probe.mjs preloaded: what
 * bench:cold and bench:decode measure of the CLI.
 * @packageDocumentation
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { packageFile } from '../src/node.js';

/** One probed CLI run: Node's start-up and the CLI's time after it (ms), peak RSS (MB), and what it printed. */
export interface ProbedRun {
  node: number;
  cli: number;
  rssMB: number;
  status: number | null;
  stdout: string;
  /** stderr without the probe's line: the CLI's error, if any. */
  error: string;
}

/** Classifies `image` with the CLI (`args` added, e.g. `--model`) in a fresh process. */
export function probedClassify(image: string, args: string[] = []): ProbedRun {
  const probe = pathToFileURL(packageFile('bench/cold-probe.mjs')).href;
  const r = spawnSync(process.execPath, ['--import', probe, packageFile('bin/squeezewasm.js'), 'classify', image, ...args, '--json'], { encoding: 'utf8' });
  const lines = r.stderr.trim().split('\n');
  const { node, cli, rssMB } = JSON.parse(lines.at(-1)!);
  return { node, cli, rssMB, status: r.status, stdout: r.stdout, error: lines.slice(0, -1).join(' ') };
}

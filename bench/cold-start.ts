/**
 * `npm run bench:cold [-- --runs 10 --model squeezenet1.1-int8]`: cold start as the CLI meets it,
 * each run a fresh Node process. Two measurements:
 * - the CLI itself, `squeezewasm classify <fixture JPEG> --json`, from the end of Node's own
 *   start-up (reported apart) to the process's exit, timed by a preloaded probe
 *   (bench/cold-probe.mjs), with the process's peak RSS;
 * - the same work through the library (bench/cold-child.mjs), in phases: importing `dist/node.js`;
 *   loading the bundled model (read, validate, instantiate the wasm, plan, pack); classifying the
 *   JPEG (decode, preprocess, the first inference).
 * Prints medians and writes bench/out/cold-start.json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { packageFile } from '../src/node.js';
import { probedClassify } from './cli-probe.js';
import { fmt, stats, table } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, model: { type: 'string', default: 'squeezenet1.1-int8' } } });
const image = packageFile('test/fixtures/images/n02510455_giant_panda.jpg');
const runs = Number(values.runs);

/** Runs Node on `args`; stdout and stderr, or an error naming what failed. */
function node(args: string[]): { stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r;
}

const phases = ['node', 'cli', 'rssMB', 'import', 'load', 'classify', 'total'] as const;
const labels: Record<(typeof phases)[number], string> = {
  node: "Node's start-up (not counted)", cli: 'CLI: classify one JPEG, to exit', rssMB: 'CLI: peak RSS (MB)',
  import: 'library: import', load: 'library: load model', classify: 'library: first image', total: 'library: total',
};
const samples = Object.fromEntries(phases.map((p) => [p, [] as number[]])) as Record<(typeof phases)[number], number[]>;
for (let i = 0; i < runs; i++) {
  // One run of each kind per round, so a slow stretch of this shared machine hits both.
  const probe = probedClassify(image, ['--model', values.model!]);
  if (probe.status !== 0 || JSON.parse(probe.stdout).top.length === 0) throw new Error(`the CLI gave no result: ${probe.error}`);
  const lib = JSON.parse(node([packageFile('bench/cold-child.mjs'), values.model!, image]).stdout);
  const r = { ...lib, ...probe };
  for (const p of phases) samples[p].push(r[p]);
}
const rows = phases.map((p) => ({ phase: p, ...stats(samples[p]) }));
console.log(`cold start of ${values.model}, ${runs} fresh processes of each kind, Node ${process.version} (ms)\n`);
table(['', 'median', 'p10', 'p90'], rows.map((r) => [labels[r.phase], fmt(r.median, 1), fmt(r.p10, 1), fmt(r.p90, 1)]), 1);
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/cold-start.json'), `${JSON.stringify({ model: values.model, node: process.version, runs, rows }, null, 2)}\n`);

/**
 * `npm run bench:cold [-- --runs 10 --model squeezenet1.1-int8]`: cold start of the built package as
 * the CLI meets it, each run a fresh Node process (`bench/cold-child.mjs`): importing `dist/node.js`,
 * loading the bundled model (read, validate, instantiate the wasm, plan, pack), and classifying one
 * fixture JPEG (decode, preprocess, the first inference). Node's own start-up, before the child's
 * first line, is reported apart. Prints medians and writes bench/out/cold-start.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { packageFile } from '../src/node.js';
import { fmt, stats, table } from './stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' }, model: { type: 'string', default: 'squeezenet1.1-int8' } } });
const image = packageFile('test/fixtures/images/n02510455_giant_panda.jpg');
const phases = ['node', 'import', 'load', 'classify', 'total', 'rssMB'] as const;
const samples: Record<(typeof phases)[number], number[]> = { node: [], import: [], load: [], classify: [], total: [], rssMB: [] };
for (let i = 0; i < Number(values.runs); i++) {
  const out = execFileSync(process.execPath, [packageFile('bench/cold-child.mjs'), values.model!, image], { encoding: 'utf8' });
  const r = JSON.parse(out) as Record<(typeof phases)[number], number>;
  for (const p of phases) samples[p].push(r[p]);
}
const rows = phases.map((p) => ({ phase: p, ...stats(samples[p]) }));
console.log(`cold start of ${values.model}, ${values.runs} fresh processes, Node ${process.version} (ms; rssMB: peak RSS in MB)\n`);
table(['phase', 'median', 'p10', 'p90'], rows.map((r) => [r.phase, fmt(r.median, 1), fmt(r.p10, 1), fmt(r.p90, 1)]), 1);
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/cold-start.json'), `${JSON.stringify({ model: values.model, node: process.version, runs: Number(values.runs), rows }, null, 2)}\n`);

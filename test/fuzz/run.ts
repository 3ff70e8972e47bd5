/**
 * `npm run fuzz`: the long fuzzing run. The same generators as the test suite, with many more cases
 * in chunks of fresh seeds; prints a table and writes bench/out/fuzz.json.
 *
 *   npm run fuzz -- [--cases 1000000] [--seed 1] [--only models|images]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { failureCount, mergeReports, type FuzzReport } from './harness.js';
import { fuzzImages } from './images.js';
import { fuzzModels } from './models.js';

const { values } = parseArgs({
  options: { cases: { type: 'string', default: '1000000' }, seed: { type: 'string', default: '1' }, only: { type: 'string' } },
});
const cases = Number(values.cases);
const seed = Number(values.seed);
if (!(Number.isInteger(cases) && cases > 0 && Number.isInteger(seed))) throw new Error('--cases and --seed must be integers');

const CHUNK = 50_000;
const real = ['squeezenet1.1-int8', 'squeezenet1.0-int8', 'squeezenet1.1-f32'].map((m) => new Uint8Array(readFileSync(new URL(`../../weights/${m}.sqz`, import.meta.url))));
const kinds: Record<string, (seed: number, n: number, progress: (done: number) => void) => Promise<FuzzReport>> = {
  models: (s, n, onProgress) => fuzzModels({ seed: s, cases: n, real, realEvery: 200, onProgress }),
  images: (s, n, onProgress) => fuzzImages({ seed: s, cases: n, onProgress }),
};

const results: Record<string, FuzzReport & { seconds: number }> = {};
for (const [kind, fuzz] of Object.entries(kinds)) {
  if (values.only && values.only !== kind) continue;
  const bar = new SingleBar({ format: `${kind.padEnd(7)} {bar} {value}/{total} cases, {eta_formatted} left`, etaBuffer: 2000 });
  bar.start(cases, 0);
  const start = performance.now();
  let total: FuzzReport | undefined;
  for (let done = 0, chunk = 0; done < cases; chunk++) {
    const n = Math.min(CHUNK, cases - done);
    const report = await fuzz(seed * 1000 + chunk, n, (d) => bar.update(done + Math.min(d, n)));
    total = total ? mergeReports(total, report) : report;
    done += n;
  }
  bar.stop();
  results[kind] = { ...total!, seconds: (performance.now() - start) / 1000 };
}

const rows = Object.entries(results).map(([kind, r]) => ({
  kind,
  cases: r.cases,
  failures: failureCount(r),
  'max case ms': Math.round(r.maxCaseMs),
  seconds: Math.round(r.seconds),
  outcomes: Object.entries(r.outcomes).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', '),
}));
console.table(rows);
for (const [kind, r] of Object.entries(results)) {
  console.log(`${kind}: slowest case ${r.maxCaseMs.toFixed(0)} ms: ${r.slowest}`);
  for (const f of r.failures.slice(0, 20)) console.log(`FAILURE ${f.id}\n  ${f.error}`);
}
const out = new URL('../../bench/out/', import.meta.url);
mkdirSync(out, { recursive: true });
writeFileSync(new URL('fuzz.json', out), `${JSON.stringify({ date: new Date().toISOString(), node: process.version, seed, results }, null, 1)}\n`);
console.log('wrote bench/out/fuzz.json');
if (Object.values(results).some((r) => failureCount(r) > 0)) process.exitCode = 1;

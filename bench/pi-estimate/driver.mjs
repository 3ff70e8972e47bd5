// The part of `npm run bench:pi` (bench/pi-estimate/estimate.ts) that runs in the Node being
// studied: the host's, or an arm64 or x64 one under qemu user-mode emulation. Plain JavaScript on
// the built package (dist/), because that Node has no TypeScript loader.
//
//   node [V8 flags] bench/pi-estimate/driver.mjs trace <config...>
//     Loads every config, then runs each step of each config once between calls of a marker
//     function (MARKER, a kernel export no plan calls at run time), so that a trace of the wasm
//     code executed (qemu -d exec) splits into the steps. Prints a line
//     `pi-estimate: {"marker": ..., "segments": [...]}` naming the steps in order.
//   node [V8 flags] bench/pi-estimate/driver.mjs time <rounds> <config...>
//     Times every step with runTimed, the configs taking turns each round (the machine is shared
//     and its speed drifts); prints `pi-estimate: {"configs": [...], "ghz": ...}` with each step's
//     and each whole inference's minimum over the rounds, and the core's clock as a chain of
//     dependent 32-bit multiplies measures it between rounds (3 cycles each on Intel and AMD cores
//     since 2008), also the best of the rounds: a VM shows no clock rate, and its boost varies.
//
// A config is `<bundled model>` or `<int8 model>:<dot16|relaxed>` (the int8Dot load option).
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Returns a constant; used only when a plan with int8 Winograd layers is made, never by a step. */
const MARKER = 'winograd3x3_scratch_m';

const { loadClassifier } = await import(`${root}dist/node.js`);
const [mode, ...rest] = process.argv.slice(2);
const rounds = mode === 'time' ? Number(rest.shift()) : 0;
if (!['trace', 'time'].includes(mode) || rest.length === 0 || (mode === 'time' && !(rounds > 0))) {
  console.error('usage: driver.mjs trace <config...> | driver.mjs time <rounds> <config...>');
  process.exit(2);
}

const images = `${root}test/fixtures/images/`;
const image = new Uint8Array(readFileSync(images + readdirSync(images).sort()[0]));
const nets = [];
for (const config of rest) {
  const [model, int8Dot] = config.split(':');
  const net = await loadClassifier(model, int8Dot ? { int8Dot } : {});
  if (int8Dot && net.planned.int8Dot !== int8Dot) throw new Error(`${config}: planned with ${net.planned.int8Dot}`);
  net.setInput(image);
  nets.push({ config, net });
}
const steps = (net) => net.planned.steps;

if (mode === 'trace') {
  // Loading warmed every kernel up, so each is compiled (--no-liftoff: by the optimizing compiler)
  // before the marked steps run. The marker is called once before them and after each.
  const marker = nets[0].net.planned.kernels[MARKER];
  const segments = [];
  marker();
  for (const { config, net } of nets) {
    for (const s of steps(net)) {
      s.run();
      marker();
      segments.push({ config, step: s.name, op: s.op, macs: s.macs, kernel: s.warm?.kernel ?? '' });
    }
  }
  console.log(`pi-estimate: ${JSON.stringify({ marker: MARKER, segments })}`);
} else {
  const now = () => performance.now();
  /** Multiplies `n` times in one dependency chain; `a`, `b` are arguments so nothing folds. */
  const chain = (n, a, b) => {
    let x = 1;
    for (let i = 0; i < n; i += 2) x = Math.imul(Math.imul(x, a), b);
    return x;
  };
  let ghz = 0;
  const clock = () => {
    const n = 2e6;
    const t0 = now();
    chain(n, 0x9e3779b1 | 0, 0x85ebca6b | 0);
    ghz = Math.max(ghz, (3 * n) / ((now() - t0) * 1e6));
  };
  const results = nets.map(({ config, net }) => ({ config, steps: steps(net).map((s) => ({ step: s.name, op: s.op, macs: s.macs, ms: Infinity })), ms: Infinity }));
  // Warm-up: V8 optimizes the kernels and the machine's caches settle.
  for (let i = 0; i < 5; i++) for (const { net } of nets) net.runTimed(now);
  for (let i = 0; i < 20; i++) clock();
  for (let round = 0; round < rounds; round++) {
    clock();
    nets.forEach(({ net }, n) => {
      const { ms } = net.runTimed(now);
      let total = 0;
      ms.forEach((t, j) => {
        results[n].steps[j].ms = Math.min(results[n].steps[j].ms, t);
        total += t;
      });
      results[n].ms = Math.min(results[n].ms, total);
    });
  }
  console.log(`pi-estimate: ${JSON.stringify({ configs: results, ghz })}`);
}

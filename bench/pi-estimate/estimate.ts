/**
 * `npm run bench:pi [-- --rounds 30] [--config <config>...] [--out bench/out]`: estimates
 * squeezewasm's speed on a Raspberry Pi 4 (Cortex-A72, 1.8 GHz) and Pi 5 (Cortex-A76, 2.4 GHz)
 * without one, and checks the method on this x86 machine, where it can be measured.
 *
 * 1. Which code runs, how often (trace.ts): the official Node 24 arm64 build runs the bundled models
 *    under qemu with `-cpu cortex-a72` and `-cpu cortex-a76` (V8 compiles for the CPU it sees: on
 *    the A76 the relaxed int8 dot product becomes `sdot`), and qemu counts every execution of every
 *    piece of the wasm code, per layer (bench/pi-estimate/driver.mjs marks the layers).
 * 2. What it costs (cost.ts): llvm-mca 19 gives each piece's cycles on a model of the core:
 *    `-mcpu=cortex-a72` for the Pi 4 (LLVM times it with its Cortex-A57 model, the A72's direct
 *    predecessor), and `-mcpu=neoverse-n1` for the Pi 5, because LLVM has no model of its own for
 *    the Cortex-A76 (its `-mcpu=cortex-a76` also uses the A57's, reported beside it) while the
 *    Neoverse N1 is the A76's core in its server version.
 *    Cycles / clock = estimated time.
 * 3. Validation: the same on x64 (Node 24 x64 under `qemu-x86_64 -cpu max`, whose code this script
 *    checks is the code native Node runs here, llvm-mca `-mcpu=sapphirerapids`), compared with
 *    per-layer times measured natively (runTimed minima, models taking turns) at the clock the
 *    driver measures. Native V8 would lower the relaxed dot to AVX-VNNI, which qemu lacks, so the
 *    native run has `--no-enable-avx-vnni`: both then run the same code.
 *
 * What llvm-mca does not model (caches and memory, branch prediction, V8's JS-to-wasm calls) is what
 * the x86 ratios measure. Needs dist/ (the npm script builds it), qemu-user-static, the arm64 cross
 * libraries (as test:arm) and llvm-19 (llvm-mc-19, llvm-mca-19). Downloads Node 24 for arm64 and
 * x64 into .cache/ (scripts/fetch-node.sh). Takes about 20 minutes on two cores:
 * qemu logs some 10^8 block executions per emulated CPU.
 * Prints markdown tables and writes <out>/pi-estimate.json and <out>/pi-estimate.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { packageFile } from '../../src/node.js';
import { costSteps, type Model, type StepCost } from './cost.js';
import { driverResult, optimizedCode, timeNatively, traceMachine, type Machine, type Segment, type Trace } from './trace.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '30' },
    config: { type: 'string', multiple: true },
    out: { type: 'string', default: 'bench/out' },
  },
});
const NODE24 = '24.22.3';
const CONFIGS = values.config ?? [
  'squeezenet1.1-int8:dot16', 'squeezenet1.1-int8:relaxed', 'squeezenet1.1-f32',
  'squeezenet1.0-int8:dot16', 'squeezenet1.0-int8:relaxed', 'squeezenet1.0-f32',
];
const wasm = packageFile('dist/squeezewasm-relaxed.wasm');
const fetchNode = (platform: string, cache: string): string =>
  execFileSync('bash', [packageFile('scripts/fetch-node.sh'), platform, NODE24, packageFile(cache)], { stdio: ['ignore', 'pipe', 'inherit'] }).toString().trim();
const arm64Node = fetchNode('linux-arm64', '.cache/arm');
const x64Node = fetchNode('linux-x64', '.cache/relaxed');

interface Target {
  name: string;
  machine: Machine;
  model: Model;
  /** Clock in GHz; the x64 one is measured. */
  ghz: number;
  /** Further llvm-mca models costed on the same trace (reported per image only). */
  alternatives?: Model[];
}
const arm = (cpu: string): Machine => ({ arch: 'arm64', qemu: ['qemu-aarch64-static', '-cpu', cpu, '-L', '/usr/aarch64-linux-gnu'], node: arm64Node });
const TARGETS: Target[] = [
  { name: 'Pi 4', machine: arm('cortex-a72'), model: { triple: 'aarch64', mcpu: 'cortex-a72' }, ghz: 1.8 },
  { name: 'Pi 5', machine: arm('cortex-a76'), model: { triple: 'aarch64', mcpu: 'neoverse-n1' }, ghz: 2.4, alternatives: [{ triple: 'aarch64', mcpu: 'cortex-a76' }] },
  { name: 'x64', machine: { arch: 'x64', qemu: ['qemu-x86_64-static', '-cpu', 'max'], node: x64Node }, model: { triple: 'x86_64', mcpu: 'sapphirerapids' }, ghz: 0 },
];

/** Runs `jobs` two at a time (this machine has two cores; each trace keeps one busy). */
async function pairwise<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all([worker(), worker()]);
  return results;
}

const t0 = performance.now();
const log = (s: string): void => console.error(`[${((performance.now() - t0) / 1000).toFixed(0)} s] ${s}`);
const traces = await pairwise(
  TARGETS.map((t) => async () => {
    log(`${t.name}: tracing ${CONFIGS.length} configs under ${t.machine.qemu.join(' ')}`);
    const trace = await traceMachine(t.machine, CONFIGS, wasm);
    log(`${t.name}: traced`);
    return trace;
  }),
);

// Native x64 timing, after the traces so that they do not compete for the cores.
log(`x64: timing natively, ${values.rounds} rounds`);
const native = await timeNatively(x64Node, ['--no-enable-avx-vnni'], Number(values.rounds), CONFIGS);
const measured = driverResult<{ configs: { config: string; steps: { step: string; ms: number }[]; ms: number }[]; ghz: number }>(native);
TARGETS[2].ghz = measured.ghz;
const x64 = traces[2];
const nativeCode = optimizedCode(native, 'x64');
const differs = [...x64.code.keys()].filter((i) => {
  const a = x64.code.get(i)!.instructions;
  const b = nativeCode.get(i)?.instructions;
  return !b || a.length !== b.length || a.some((ins, k) => ins.bytes.join() !== b[k].bytes.join());
});
const sameCode = differs.length === 0 ? 'native code identical to the traced code' : `native code DIFFERS from the traced code in ${differs.map((i) => x64.names.get(i) ?? i).join(', ')}`;
log(`x64: ${sameCode}; clock ${measured.ghz.toFixed(2)} GHz`);

const costs = TARGETS.map((t, i) => costSteps(traces[i], t.machine.arch, t.model));
const alternatives = TARGETS.map((t, i) => (t.alternatives ?? []).map((m) => ({ model: m, costs: costSteps(traces[i], t.machine.arch, m) })));

// --- Tables ---------------------------------------------------------------------------------------
const f = (x: number, d = 2): string => x.toFixed(d);
const lines: string[] = [];
const out = (s = ''): void => {
  lines.push(s);
  console.log(s);
};
const table = (head: string[], rows: string[][]): void => {
  out(`| ${head.join(' | ')} |`);
  out(`| ${head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`);
  for (const r of rows) out(`| ${r.join(' | ')} |`);
  out();
};
/** The indices of `config`'s steps in a trace, in order. */
const stepsOf = (trace: Trace, config: string): number[] => trace.segments.flatMap((seg, i) => (seg.config === config ? [i] : []));
const msOf = (c: StepCost, ghz: number): number => c.cycles / ghz / 1e6;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
/** The kernel a step calls, else the function with the most cycles in it. */
const kernelOf = (seg: Segment, c: StepCost): string => seg.kernel || ([...c.byFunction].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '');
const estimate = (t: number, config: string, cs = costs[t]): number[] => stepsOf(traces[t], config).map((i) => msOf(cs[i], TARGETS[t].ghz));
const measuredOf = (config: string) => measured.configs.find((c) => c.config === config)!;
const [pi4, pi5] = TARGETS;

out(`squeezewasm on a Raspberry Pi, estimated: Node ${NODE24} arm64 under qemu (traced), llvm-mca 19 (Pi 4: -mcpu=${pi4.model.mcpu} at ${pi4.ghz} GHz, Pi 5: -mcpu=${pi5.model.mcpu} at ${pi5.ghz} GHz); ${new Date().toISOString().slice(0, 10)}`);
out();
out('Per image, one thread (ms, sum of the layers):');
out();
table(
  ['model', 'int8 dot', 'Pi 4', 'Pi 5', ...alternatives[1].map((a) => `Pi 5, -mcpu=${a.model.mcpu}`), 'instructions (Pi 4 / Pi 5)'],
  CONFIGS.map((config) => {
    const [model, dot = ''] = config.split(':');
    const instr = [0, 1].map((t) => (sum(stepsOf(traces[t], config).map((i) => costs[t][i].instructions)) / 1e6).toFixed(0)).join(' / ');
    return [model, dot, f(sum(estimate(0, config)), 1), f(sum(estimate(1, config)), 1), ...alternatives[1].map((a) => f(sum(estimate(1, config, a.costs)), 1)), `${instr} M`];
  }),
);

for (const base of new Set(CONFIGS.map((c) => c.split('-')[0]))) {
  const configs = CONFIGS.filter((c) => c.startsWith(`${base}-`));
  const idx = stepsOf(traces[0], configs[0]);
  const columns = configs.map((c) => estimate(0, c).map((ms, k) => [ms, estimate(1, c)[k]]));
  out(`${base}: per layer, estimated ms on the Pi 4 / Pi 5, and the kernel the step calls`);
  out();
  table(
    ['layer', 'op', 'MMAC', ...configs.flatMap((c) => [`${c.split('-')[1]} Pi 4`, `${c.split('-')[1]} Pi 5`, 'kernel'])],
    idx.map((i, k) => {
      const seg = traces[0].segments[i];
      const cells = configs.flatMap((c, n) => [f(columns[n][k][0], 3), f(columns[n][k][1], 3), kernelOf(traces[1].segments[stepsOf(traces[1], c)[k]], costs[1][stepsOf(traces[1], c)[k]])]);
      return [seg.step, seg.op, f(seg.macs / 1e6, 1), ...cells];
    }),
  );
}

out(`Validation on this machine (${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} vCPUs): llvm-mca -mcpu=${TARGETS[2].model.mcpu} at the measured ${f(measured.ghz)} GHz against the minimum of ${values.rounds} runs of each layer (${sameCode})`);
out();
const ratios: { kernel: string; est: number; meas: number }[] = [];
for (const config of CONFIGS) {
  const idx = stepsOf(x64, config);
  const est = estimate(2, config);
  const meas = measuredOf(config).steps.map((s) => s.ms);
  idx.forEach((i, k) => ratios.push({ kernel: kernelOf(x64.segments[i], costs[2][i]), est: est[k], meas: meas[k] }));
}
table(
  ['model', 'int8 dot', 'estimate ms', 'measured: sum of layer minima', 'measured / estimate', 'fastest whole inference'],
  CONFIGS.map((config) => {
    const [model, dot = ''] = config.split(':');
    const est = sum(estimate(2, config));
    const meas = sum(measuredOf(config).steps.map((s) => s.ms));
    return [model, dot, f(est), f(meas), f(meas / est), f(measuredOf(config).ms)];
  }),
);
// On a quiet machine the fastest whole inference is within a few % of the sum of its layers'
// minima; when other work takes the cores no round is clean, and neither figure can be trusted.
const busy = CONFIGS.filter((c) => measuredOf(c).ms > 1.1 * sum(measuredOf(c).steps.map((s) => s.ms)));
if (busy.length) out(`WARNING: the fastest whole inference is over 10 % slower than the sum of the layer minima for ${busy.join(', ')}: the machine was busy while timing, so the measured side of this validation is unreliable; run again on a quiet machine.\n`);
out('Measured / estimate per layer, by the kernel that carries it (all models): median, range, and over the kernel\'s total time');
out();
const kernels = [...new Set(ratios.map((r) => r.kernel))];
table(
  ['kernel', 'layers', 'median', 'range', 'total'],
  kernels.map((kernel) => {
    const rs = ratios.filter((r) => r.kernel === kernel);
    const q = rs.map((r) => r.meas / r.est).sort((a, b) => a - b);
    return [kernel, String(rs.length), f(q[q.length >> 1]), `${f(q[0])}-${f(q.at(-1)!)}`, f(sum(rs.map((r) => r.meas)) / sum(rs.map((r) => r.est)))];
  }),
);
const base11 = CONFIGS.filter((c) => c.startsWith('squeezenet1.1-'));
out('squeezenet1.1 on this machine, per layer: estimate / measured ms');
out();
table(
  ['layer', 'op', ...base11.map((c) => c.split('-')[1]), ...base11.map((c) => `${c.split('-')[1]} ratio`)],
  stepsOf(x64, base11[0]).map((i, k) => {
    const seg = x64.segments[i];
    const pairs = base11.map((c) => [estimate(2, c)[k], measuredOf(c).steps[k].ms]);
    return [seg.step, seg.op, ...pairs.map(([e, m]) => `${f(e, 3)} / ${f(m, 3)}`), ...pairs.map(([e, m]) => f(m / e))];
  }),
);

out('Share of the estimated cycles by kernel, Pi 4 / Pi 5 (%):');
out();
for (const config of CONFIGS) {
  const shares = [0, 1].map((t) => {
    const by = new Map<string, number>();
    for (const i of stepsOf(traces[t], config)) for (const [fn, c] of costs[t][i].byFunction) by.set(fn, (by.get(fn) ?? 0) + c);
    const all = sum([...by.values()]);
    return new Map([...by].map(([fn, c]) => [fn, (100 * c) / all]));
  });
  const names = [...shares[1].keys()].sort((a, b) => shares[1].get(b)! - shares[1].get(a)!);
  out(`- ${config}: ${names.map((n) => `${n} ${f(shares[0].get(n) ?? 0, 0)} / ${f(shares[1].get(n)!, 0)}`).join(', ')}`);
}
out();

mkdirSync(packageFile(values.out), { recursive: true });
const json = {
  date: new Date().toISOString(), node: NODE24, configs: CONFIGS, measuredGhz: measured.ghz, sameCode,
  // Per image (ms): the tables' first rows, so that a reader of the JSON need not add up the steps.
  perImage: CONFIGS.map((config) => ({
    config, pi4: sum(estimate(0, config)), pi5: sum(estimate(1, config)),
    x64Estimate: sum(estimate(2, config)), x64Measured: sum(measuredOf(config).steps.map((s) => s.ms)),
  })),
  targets: TARGETS.map((t, i) => ({
    name: t.name, qemu: t.machine.qemu, mcpu: t.model.mcpu, ghz: t.ghz,
    steps: traces[i].segments.map((seg, j) => ({ ...seg, cycles: costs[i][j].cycles, instructions: costs[i][j].instructions, ms: msOf(costs[i][j], t.ghz), byFunction: Object.fromEntries(costs[i][j].byFunction) })),
    alternatives: alternatives[i].map((a) => ({ mcpu: a.model.mcpu, cycles: a.costs.map((c) => c.cycles) })),
  })),
  measured: measured.configs,
};
writeFileSync(packageFile(`${values.out}/pi-estimate.json`), JSON.stringify(json, null, 1));
writeFileSync(packageFile(`${values.out}/pi-estimate.md`), lines.join('\n'));
log(`wrote ${values.out}/pi-estimate.json and pi-estimate.md`);

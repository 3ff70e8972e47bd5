/**
 * `npx tsx bench/sparse.ts [--model squeezenet1.0-int8] [--runs 100] [--densities 0.2,0.3,...]`:
 * the sparse 1x1 kernel against the dense one, on the same layer in the same process, in turns
 * (the machine's speed drifts, so only ratios measured side by side mean much).
 *
 * 1. As shipped: each 1x1 conv's weight density and its time on either kernel, and whole
 *    inferences with sparse planning off and at the default threshold.
 * 2. Break-even: every 1x1 conv pruned at random to each density, time sparse / dense; this is
 *    what SPARSE_MAX_DENSITY (src/runtime/ops/sparse.ts) was chosen from.
 * Timings are minima over the runs, the statistic least disturbed by other load on the machine.
 */
import { parseArgs } from 'node:util';
import { readModelFile, kernelsModule } from '../src/node.js';
import { readModel } from '../src/model/read.js';
import type { ConvOp, Model, Tensor } from '../src/model/format.js';
import { validateModel, type ValidModel } from '../src/model/validate.js';
import { SPARSE_MAX_DENSITY } from '../src/runtime/ops/sparse.js';
import { JS_SCAN } from '../src/model/scan.js';
import { planModel } from '../src/runtime/plan.js';
import { run } from '../src/runtime/run.js';
import type { Plan } from '../src/runtime/types.js';
import { instantiateKernels } from '../src/wasm/kernels.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'squeezenet1.0-int8' },
    runs: { type: 'string', default: '100' },
    densities: { type: 'string', default: '0.2,0.3,0.4,0.5,0.6,0.7' },
  },
});
const runs = Number(values.runs);
const bytes = await readModelFile(values.model!);
const wasm = await kernelsModule();

const plan = async (model: ValidModel, sparseDensity?: number): Promise<Plan> => {
  const p = planModel(model, await instantiateKernels(wasm), { sparseDensity });
  run(p);
  return p;
};
const pointwise = (model: Model): ConvOp[] => model.ops.filter((op): op is ConvOp => op.op === 'conv' && op.kernel[0] === 1 && op.kernel[1] === 1);

/** Minimum time in ms of each function over `runs` rounds, the functions taking turns. */
function race(fns: (() => void)[]): number[] {
  const best = fns.map(() => Infinity);
  for (let r = -3; r < runs; r++) {
    fns.forEach((fn, i) => {
      const t0 = performance.now();
      fn();
      if (r >= 0) best[i] = Math.min(best[i], performance.now() - t0);
    });
  }
  return best;
}

function table(header: string[], body: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n') + '\n');
}

const model = readModel(bytes);
const density = (m: Model, op: ConvOp): number => JS_SCAN.nonzeros(m.tensors.get(op.weight)!.data as Int8Array) / m.tensors.get(op.weight)!.data.length;
const shape = (op: ConvOp): string => {
  const x = model.act(op.input).shape, y = model.act(op.output).shape;
  return `${x.c}->${y.c} ${x.h}x${x.w} ${model.quant!.get(op.input)!.dtype}->${model.quant!.get(op.output)!.dtype}`;
};

const [dense, chosen, all] = [await plan(model, 0), await plan(model), await plan(model, 1)];
console.log(`${values.model}, min of ${runs} runs, default threshold ${SPARSE_MAX_DENSITY}\n`);
table(
  ['1x1 conv', 'shape', 'density', 'dense ms', 'sparse ms', 'ratio', 'planned'],
  pointwise(model).map((op) => {
    const i = dense.steps.findIndex((s) => s.name === op.output);
    const [d, s] = race([() => dense.steps[i].run(), () => all.steps[i].run()]);
    const dense1 = density(model, op);
    return [op.output, shape(op), dense1.toFixed(3), d.toFixed(3), s.toFixed(3), (s / d).toFixed(2), dense1 <= SPARSE_MAX_DENSITY ? 'sparse' : 'dense'];
  }),
);
const [d, c] = race([() => run(dense), () => run(chosen)]);
console.log(`inference: dense ${d.toFixed(2)} ms, default planning ${c.toFixed(2)} ms (${(d - c).toFixed(2)} ms less)\n`);

// Pruned at random: one deterministic generator, the same pruning for both plans.
const densities = values.densities!.split(',').map(Number);
const ratios = new Map<string, string[]>();
let seed = 1;
const random = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
for (const d of densities) {
  const tensors = new Map(model.tensors);
  for (const op of pointwise(model)) {
    const w = Int8Array.from(model.tensors.get(op.weight)!.data as Int8Array, (v) => (random() < d ? v || 1 : 0));
    tensors.set(op.weight, { ...model.tensors.get(op.weight)!, data: w } as Tensor);
  }
  const pruned = validateModel({ ...model, tensors });
  const [a, b] = [await plan(pruned, 0), await plan(pruned, 1)];
  for (const op of pointwise(pruned)) {
    const i = a.steps.findIndex((s) => s.name === op.output);
    const [td, ts] = race([() => a.steps[i].run(), () => b.steps[i].run()]);
    ratios.set(op.output, [...(ratios.get(op.output) ?? []), (ts / td).toFixed(2)]);
  }
}
console.log('sparse / dense time, every 1x1 conv pruned at random to each density');
table(['1x1 conv', 'shape', ...densities.map(String)], pointwise(model).map((op) => [op.output, shape(op), ...ratios.get(op.output)!]));

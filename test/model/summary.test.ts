import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClassifier } from '../../src/index.js';
import { readModel } from '../../src/model/read.js';
import { summarizeModel } from '../../src/model/summary.js';
import { kernelsModule } from '../helpers/wasm.js';

describe.each(['squeezenet1.1-int8', 'squeezenet1.0-f32'])('summarizeModel(%s)', (name) => {
  const bytes = new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));
  const summary = summarizeModel(readModel(bytes), bytes.length);

  it('counts the MACs the planner counts, layer by layer', async () => {
    const net = await createClassifier(kernelsModule(), bytes);
    const planned = new Map(net.planned.steps.filter((s) => s.op === 'conv').map((s) => [s.name, s.macs]));
    const convs = summary.layers.filter((l) => l.op === 'conv');
    expect(convs.length).toBe(planned.size);
    for (const l of convs) expect(l.macs, l.name).toBe(planned.get(l.name));
    expect(summary.totals.macs).toBe(net.planned.steps.reduce((s, step) => s + step.macs, 0));
    net.dispose();
  });

  it('adds up its layers', () => {
    const sum = (f: (l: (typeof summary.layers)[number]) => number | undefined) => summary.layers.reduce((s, l) => s + (f(l) ?? 0), 0);
    expect(summary.totals).toEqual({ params: sum((l) => l.params), macs: sum((l) => l.macs), weights: sum((l) => l.weights), zeroWeights: sum((l) => l.zeroWeights), fileBytes: bytes.length });
    expect(summary.layers.every((l) => l.op !== 'conv' || l.sparsity === l.zeroWeights! / l.weights!)).toBe(true);
  });
});

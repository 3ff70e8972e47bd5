import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ModelSummary } from '../../src/model/summary.js';
import { cli } from '../helpers/cli.js';

const weights = (name: string): string => fileURLToPath(new URL(`../../weights/${name}`, import.meta.url));

async function json(model: string): Promise<ModelSummary> {
  const r = await cli('info', model, '--json');
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as ModelSummary;
}

const millions = (n: number): string => (n / 1e6).toFixed(1);

describe('squeezewasm info', () => {
  it('squeezenet1.1: 1,235,496 parameters, 349.2 M MACs, dense; by name or path alike', async () => {
    for (const model of ['squeezenet1.1-f32', weights('squeezenet1.1-f32.sqz')]) {
      const s = await json(model);
      expect(s.totals.params).toBe(1235496);
      expect(millions(s.totals.macs)).toBe('349.2');
      expect(s.totals.fileBytes).toBe(statSync(weights('squeezenet1.1-f32.sqz')).size);
      expect(s.totals.zeroWeights).toBeLessThan(0.001 * s.totals.weights);
      expect(s.layers[0]).toMatchObject({ name: 'relu0', op: 'conv', relu: true, output: { c: 64, h: 111, w: 111 }, kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0], params: 1792, macs: 111 * 111 * 64 * 27, weightType: 'f32', activation: 'f32' });
      expect(s.provenance.license).toBe('Apache-2.0');
      expect(s.provenance.licenseText).toContain('Licensed under the Apache License, Version 2.0');
    }
  });

  it('squeezenet1.0: 1,248,424 parameters, 861.3 M MACs, conv_final 80 % zeros, the BSD license text', async () => {
    const s = await json('squeezenet1.0-f32');
    expect(s.totals.params).toBe(1248424);
    expect(millions(s.totals.macs)).toBe('861.3');
    const final = s.layers.find((l) => l.name === 'relu_conv_final_out')!;
    expect(final).toMatchObject({ op: 'conv', output: { c: 1000, h: 15, w: 15 }, pads: [1, 1, 1, 1], params: 513000, weights: 512000 });
    expect(final.sparsity).toBeGreaterThan(0.79);
    expect(final.sparsity).toBeLessThan(0.81);
    // Two thirds of all weights are pruned.
    expect(s.totals.zeroWeights / s.totals.weights).toBeGreaterThan(0.6);
    expect(s.provenance.licenseText).toBe(readFileSync(weights('LICENSE-squeezenet1.0.txt'), 'utf8'));
  });

  it('int8 models: int8 weights, i16 activations and i32 sums, the same parameters and MACs as their float source', async () => {
    const s = await json('squeezenet1.0-int8');
    expect(s.precision).toBe('int8');
    expect(s.input.activation).toBe('i16');
    expect(s.totals.params).toBe(1248424);
    expect(millions(s.totals.macs)).toBe('861.3');
    const types = new Set(s.layers.map((l) => `${l.op}:${l.weightType ?? '-'}:${l.activation}`));
    expect([...types].sort()).toEqual(['concat:-:i16', 'conv:i8:i16', 'globalavgpool:-:i32', 'maxpool:-:i16', 'softmax:-:f32']);
  });

  it('prints a table with totals, the provenance and the license text', async () => {
    const r = await cli('info', 'squeezenet1.0-int8');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^squeezenet1\.0-int8: int8, 1000 classes, 39 ops\ninput "data": 3x227x227 BGR \(i16\)/);
    expect(out).toMatch(/\n\s*#\s+layer\s+op\s+output\s+kernel\s+stride\s+pad\s+params\s+MACs\s+zeros\s+weights\s+act\s+scale, zero point\n/);
    expect(out).toMatch(/\n\s*1\s+relu_conv1_out\s+conv\+relu\s+96x111x111\s+7x7\s+2\s+0\s+14,208\s+173\.9 M\s+\d+\.\d %\s+int8 per-channel\s+i16\s+[0-9.e-]+ z 0\n/);
    expect(out).toMatch(/\n37\s+relu_conv_final_out\s+conv\+relu\s+1000x15x15\s+1x1\s+1\s+1\s+513,000\s+115\.2 M\s+(79|80)\.\d %\s+int8 per-channel\s+i16\s+[0-9.e-]+ z 0\n/);
    expect(out).toMatch(/\n38\s+pool_final_out\s+globalavgpool\s+1000x1x1\s+i32\s+[0-9.e-]+ z 0\n/);
    expect(out).toMatch(/\n\s+total\s+1,248,424\s+861\.3 M\s+6\d\.\d %\n/);
    expect(out).toContain(`1,248,424 parameters, 861.3 M multiply-accumulates per image`);
    expect(out).toContain(`file ${statSync(weights('squeezenet1.0-int8.sqz')).size.toLocaleString('en-US')} bytes`);
    expect(out).toMatch(/\nlicense: BSD-2-Clause\n/);
    const license = readFileSync(weights('LICENSE-squeezenet1.0.txt'), 'utf8').trimEnd().split('\n');
    expect(out).toContain(`license text:\n\n${license.map((line) => (line ? `  ${line}` : '')).join('\n')}`);
  });

  it.each([
    [[], 2, /info needs exactly one model/],
    [['nope.sqz'], 1, /^squeezewasm: cannot read model "nope\.sqz": no such file and not a bundled model/],
    [[weights('imagenet-labels.txt')], 1, /^squeezewasm: model .*imagenet-labels\.txt: not a squeezewasm model/],
  ])('%j fails with one clear line and exit code %i', async (args, code, message) => {
    const r = await cli('info', ...args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stdout).toBe('');
  });
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fuzzModels } from './models.js';

const bundled = readFileSync(new URL('../../weights/squeezenet1.1-int8.sqz', import.meta.url));

describe('model file fuzzing', () => {
  it('ends every one of 10,000 hostile model files in a typed error or a result equal to the reference kernels', async () => {
    const report = await fuzzModels({ seed: 20261126, cases: 10_000, real: [new Uint8Array(bundled)], realEvery: 200 });
    console.log(`model fuzz: ${report.cases} cases, slowest ${report.maxCaseMs.toFixed(0)} ms (${report.slowest})`, report.outcomes);
    expect(report.failures).toEqual([]);
    expect(report.cases).toBeGreaterThanOrEqual(10_000);
    // The mix shows the edits reach past the checksum into every layer of checks.
    for (const code of ['ok', 'E_MODEL_CHECKSUM', 'E_MODEL_TRUNCATED', 'E_MODEL_HEADER', 'E_MODEL_RANGE', 'E_MODEL_SHAPE', 'E_MODEL_GRAPH', 'E_MODEL_OP', 'E_MODEL_QUANT', 'E_MODEL_TENSOR']) {
      expect(report.outcomes[code], code).toBeGreaterThan(20);
    }
    expect(Object.keys(report.outcomes).filter((k) => k.startsWith('E_LIMIT:')).length).toBeGreaterThan(0);
  }, 240_000);
});

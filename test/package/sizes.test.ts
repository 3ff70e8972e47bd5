import { describe, expect, it } from 'vitest';
import { measureSizes } from '../../bench/sizes.js';

describe('size budgets', () => {
  it.each(measureSizes().map((r) => [r.what, r] as const))('%s stays within its budget', (_what, r) => {
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.bytes).toBeLessThanOrEqual(r.budget);
  });
});

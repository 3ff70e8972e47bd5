import { describe, expect, it } from 'vitest';
import { fuzzImages } from './images.js';

// CI's share of the image fuzzing; the long run (a million cases and more) is `npm run fuzz`.
// A fixed seed, so that a failure's id reproduces it.
const SEED = 20_261_127;
const CASES = 10_000;

describe('image fuzzing', () => {
  it(`ends each of ${CASES} hostile images in a typed error or a correct result, with the runtime unchanged`, { timeout: 180_000 }, async () => {
    const t0 = performance.now();
    const report = await fuzzImages({ seed: SEED, cases: CASES });
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `image fuzz, seed ${SEED}: ${report.cases} cases in ${seconds.toFixed(1)} s, ${report.failures.length} failures, ` +
        `slowest case ${report.maxCaseMs.toFixed(1)} ms (${report.slowest})\n  outcomes ${JSON.stringify(report.outcomes)}`,
    );
    expect(report.cases).toBe(CASES);
    expect(report.failures).toEqual([]);
    for (const outcome of ['ok', 'E_IMAGE_DECODE', 'E_IMAGE_FORMAT', 'E_LIMIT:maxImagePixels', 'E_LIMIT:maxImageSide', 'E_ARGUMENT']) {
      expect(report.outcomes[outcome] ?? 0, outcome).toBeGreaterThanOrEqual(20);
    }
  });
});

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { relaxedSimdSupported } from '../../src/wasm/kernels.js';

interface ChildResult {
  final: boolean;
  auto: string;
  forced: string;
  checks: number;
  failures: string[];
}

/** Runs p7-child.ts in a child Node with relaxed SIMD (the flag on Node 20). */
function runP7Child(node = process.execPath, flags = relaxedSimdSupported() ? [] : ['--experimental-wasm-relaxed-simd']): ChildResult {
  const child = fileURLToPath(new URL('./p7-child.ts', import.meta.url));
  const out = execFileSync(node, [...flags, '--import', 'tsx', child], { encoding: 'utf8', timeout: 170_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as ChildResult;
}

// Node 22+ has the final relaxed SIMD: the checks run here. Node 20 has a draft behind a flag,
// whose relaxed dot computes twice the sum: squeezewasm must keep it on dot16 (and CI runs the
// checks under Node 24 too: npm run test:relaxed).
describe('int8 on the relaxed dot product (p7_igemm)', () => {
  it('equals its scalar reference and the dot16 path bit for bit (kernels, splits, random u8 / u7 / i16 networks, the bundled models), or stays on dot16 where the engine\'s relaxed dot is a draft', () => {
    const result = runP7Child();
    const major = Number(process.versions.node.split('.')[0]);
    expect(result.final).toBe(major >= 22);
    expect(result.failures).toEqual([]);
    if (result.final) {
      expect(result.checks).toBeGreaterThan(800);
      expect(result.forced).toBe('planned');
    } else {
      expect(result.auto).toBe('dot16');
      expect(result.forced).toBe('ArgumentError');
    }
  }, 180_000);
});

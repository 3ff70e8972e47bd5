import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArgumentError } from '../../src/errors.js';
import { kernelsModule, relaxedSimdSupported } from '../../src/node.js';

/** Float outputs of the two builds may differ by this much, relative to the output's range (docs/performance.md). */
const F32_TOLERANCE = 1e-5;

describe('kernel builds', () => {
  it('detects relaxed SIMD the way the engine judges the relaxed build', async () => {
    const relaxed = readFileSync(new URL('../../dist/squeezewasm-relaxed.wasm', import.meta.url));
    expect(relaxedSimdSupported()).toBe(WebAssembly.validate(relaxed));
    if (relaxedSimdSupported()) await expect(kernelsModule('relaxed')).resolves.toBeInstanceOf(WebAssembly.Module);
    else await expect(kernelsModule('relaxed')).rejects.toThrow(ArgumentError);
    expect(WebAssembly.validate(readFileSync(new URL('../../dist/squeezewasm.wasm', import.meta.url)))).toBe(true);
  });

  // 48 inferences in a child Node: about 3 s of CPU, more than the default 5 s timeout on a loaded machine.
  it('relaxed SIMD: int8 bit-identical to the plain build, float within tolerance, picked by default', { timeout: 60_000 }, () => {
    // Node 20 runs relaxed SIMD only behind a flag that later Nodes reject: a child process.
    const child = fileURLToPath(new URL('./relaxed-child.mjs', import.meta.url));
    const flags = relaxedSimdSupported() ? [] : ['--experimental-wasm-relaxed-simd'];
    const out = JSON.parse(execFileSync(process.execPath, [...flags, child], { encoding: 'utf8', maxBuffer: 1 << 28 })) as {
      supported: boolean;
      defaultIsRelaxed: boolean;
      outputs: Record<string, [number[][], number[][]]>;
    };
    expect(out.supported).toBe(true);
    expect(out.defaultIsRelaxed).toBe(true);
    expect(Object.keys(out.outputs)).toHaveLength(4);
    for (const [name, [simd, relaxed]] of Object.entries(out.outputs)) {
      expect(simd.length).toBeGreaterThan(0);
      simd.forEach((a, i) => {
        const b = relaxed[i];
        if (name.endsWith('-int8')) {
          expect(b, `${name} image ${i}`).toEqual(a);
          return;
        }
        const range = Math.max(...a) - Math.min(...a);
        const diff = Math.max(...a.map((v, c) => Math.abs(v - b[c])));
        expect(diff / range, `${name} image ${i}`).toBeLessThanOrEqual(F32_TOLERANCE);
        expect(b.indexOf(Math.max(...b)), `${name} image ${i} top-1`).toBe(a.indexOf(Math.max(...a)));
      });
    }
  });
});

import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

// The package as a user gets it: npm pack, installed into an empty project.
const root = fileURLToPath(new URL('../../', import.meta.url));
const panda = join(root, 'test/fixtures/images/n02510455_giant_panda.jpg');
let project = '';

const run = (cmd: string, args: string[], cwd = project): string => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'squeezewasm-pack-'));
  // dist/ is already built by `npm test`; --ignore-scripts keeps pack from building again.
  const tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', project], root).trim().split('\n').pop()!;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'smoke', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(project, tarball)]);
}, 180_000);

// Each step starts node or tsc on a whole package: seconds, more on a loaded machine.
describe('the packed npm package', { timeout: 60_000 }, () => {
  it('ships the built entries, the wasm and the bundled models, and not the sources', () => {
    const files = run('npm', ['pack', '--ignore-scripts', '--dry-run', '--json'], root);
    const paths = (JSON.parse(files)[0].files as { path: string }[]).map((f) => f.path);
    for (const p of ['dist/node.js', 'dist/node.cjs', 'dist/core.js', 'dist/index.js', 'dist/browser.js', 'dist/squeezewasm.wasm', 'dist/types/node.d.ts', 'bin/squeezewasm.js', 'weights/squeezenet1.1-int8.sqz', 'weights/LICENSE-squeezenet1.0.txt']) {
      expect(paths).toContain(p);
    }
    expect(paths.some((p) => p.startsWith('src/') || p.startsWith('assembly/') || p.startsWith('test/'))).toBe(false);
  });

  it('classifies through the ESM API', () => {
    writeFileSync(join(project, 'esm.mjs'), `import { loadClassifier, quantizeModel, convertOnnx, convertDeepCompression } from 'squeezewasm';
import { readFileSync } from 'node:fs';
const net = await loadClassifier();
const { top } = await net.classify(readFileSync(${JSON.stringify(panda)}));
console.log(JSON.stringify({ name: net.name, label: top[0].label, prepare: [typeof convertOnnx, typeof convertDeepCompression, typeof quantizeModel] }));`);
    expect(JSON.parse(run('node', ['esm.mjs']))).toEqual({ name: 'squeezenet1.1-int8', label: 'giant panda', prepare: ['function', 'function', 'function'] });
  });

  it('classifies through the CommonJS API', () => {
    writeFileSync(join(project, 'cjs.cjs'), `const { loadClassifier } = require('squeezewasm');
loadClassifier('squeezenet1.0-f32').then((net) => {
  const { top } = net.classifySync(require('node:fs').readFileSync(${JSON.stringify(panda)}));
  console.log(JSON.stringify({ name: net.name, label: top[0].label }));
});`);
    expect(JSON.parse(run('node', ['cjs.cjs']))).toEqual({ name: 'squeezenet1.0-f32', label: 'giant panda' });
  });

  it('exposes the dependency-free core entry', () => {
    writeFileSync(join(project, 'core.mjs'), `import * as core from 'squeezewasm/core';
console.log(JSON.stringify({ hasClassifier: typeof core.Classifier, hasSummary: typeof core.summarizeModel, hasDecoder: 'decodeImage' in core }));`);
    expect(JSON.parse(run('node', ['core.mjs']))).toEqual({ hasClassifier: 'function', hasSummary: 'function', hasDecoder: false });
  });

  it('runs the CLI with npx', () => {
    const out = run('npx', ['--no-install', 'squeezewasm', 'classify', panda, '--json']);
    expect(JSON.parse(out).top[0].label).toBe('giant panda');
  });

  it('type-checks a strict TypeScript consumer against the shipped .d.ts', () => {
    writeFileSync(join(project, 'consumer.ts'), `import { loadClassifier, SqueezeError, type Classification } from 'squeezewasm';
const net = await loadClassifier('squeezenet1.1-int8');
const result: Classification = net.classifySync(new Uint8Array(0));
const label: string = result.top[0].label;
const p: number = result.probabilities[0];
// @ts-expect-error top entries have no 'score'
result.top[0].score;
export { label, p, SqueezeError };`);
    const tsc = join(root, 'node_modules/typescript/bin/tsc');
    run('node', [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'consumer.ts']);
  });
});

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { miniSqueezeNet } from '../helpers/onnx-builder.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function filesUnder(dir: string, pattern: RegExp): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => pattern.test(f) && statSync(join(root, f)).isFile());
}

/** Dynamic code and network access, as they appear in source and in bundles. */
const FORBIDDEN: [string, RegExp][] = [
  ['eval', /(?<![\w.])eval\s*\(/g],
  ['Function constructor', /(?<![\w.])(new\s+)?Function\s*\(/g],
  // The CLI loads its own command modules on demand: a literal relative path is no dynamic code.
  ['dynamic import', /(?<![\w.])import\s*\((?!\s*['"]\.\.?\/[\w./-]+['"]\s*\))/g],
  ['fetch', /(?<![\w.])fetch\s*\(/g],
  ['XMLHttpRequest', /XMLHttpRequest/g],
  ['WebSocket', /WebSocket/g],
  ['network modules', /['"](node:)?(https?|http2|net|tls|dgram|dns)['"]/g],
  ['subprocesses', /['"](node:)?(child_process|worker_threads|cluster)['"]/g],
];

/** Every occurrence of a forbidden pattern in `files`, as "file: what". */
function findings(files: string[]): string[] {
  const found: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    for (const [what, re] of FORBIDDEN) for (const _ of text.matchAll(re)) found.push(`${f}: ${what}`);
  }
  return found;
}

describe('security hygiene', () => {
  it('the source has no dynamic code and no network access; only the browser entry fetches (its own wasm and weights)', () => {
    expect(findings([...filesUnder('src', /\.ts$/), ...filesUnder('assembly', /\.ts$/)])).toEqual(['src/browser.ts: fetch']);
  });

  it('neither do the bundles, dependencies included', () => {
    const bundles = filesUnder('dist', /\.(c?js)$/);
    expect(bundles.length).toBeGreaterThan(4);
    expect(findings(bundles)).toEqual(['dist/browser.js: fetch']);
  });

  /** Runs the CLI under Node's permission model: it may read only its own package files and `reads`, write only `writes`. */
  function confined(args: string[], reads: string[], writes: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
    const own = ['bin/', 'dist/', 'weights/', 'node_modules/', 'package.json'].map((p) => join(root, p));
    const flags = ['--experimental-permission', '--no-warnings', ...[...own, ...reads].map((p) => `--allow-fs-read=${p}`), ...writes.map((p) => `--allow-fs-write=${p}`)];
    return new Promise((resolve) => {
      execFile(process.execPath, [...flags, join(root, 'bin/squeezewasm.js'), ...args], (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
      });
    });
  }

  it('the CLI reads nothing but its own files and the paths it is given, and starts no process', async () => {
    const panda = join(root, 'test/fixtures/images/n02510455_giant_panda.jpg');
    const ok = await confined(['classify', panda, '--json'], [panda]);
    expect(ok.stderr).toBe('');
    expect(JSON.parse(ok.stdout).top[0].label).toBe('giant panda');
    // The check has teeth: without the image on the list, reading it is denied.
    const denied = await confined(['classify', panda], []);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/ERR_ACCESS_DENIED/);

    const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-confined-'));
    const onnx = join(dir, 'mini.onnx');
    const labels = join(dir, 'labels.txt');
    writeFileSync(onnx, miniSqueezeNet().bytes);
    writeFileSync(labels, 'a\nb\nc\nd\ne\n');
    const out = join(dir, 'mini.sqz');
    // Outputs are written through a temporary file beside them, so the output folder is writable and readable.
    const converted = await confined(['convert', onnx, '--labels', labels, '-o', out], [onnx, labels, `${dir}/`], [`${dir}/`]);
    expect(converted.stderr).toBe('');
    expect(converted.code).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(1000);
  });
});

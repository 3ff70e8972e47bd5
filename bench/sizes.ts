/**
 * Size budgets of what squeezewasm ships, measured on the build output. `npm run build` prints
 * them and fails when one is exceeded; test/package/sizes.test.ts checks them too.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { buildSync } from 'esbuild';

/** One measured artifact and its budget in bytes. */
export interface SizeRow {
  what: string;
  bytes: number;
  gzip: number;
  budget: number;
}

/**
 * Budgets of the bundled int8 models, in bytes (weights/make-weights.ts refuses to write a larger
 * one). SqueezeNet 1.0 is pruned and stored sparse (docs/model-format.md), so it gets less.
 */
export const INT8_MODEL_BUDGETS: Readonly<Record<string, number>> = {
  'squeezenet1.1-int8': 1.4e6,
  'squeezenet1.0-int8': 800e3,
};

const root = new URL('../', import.meta.url);
const file = (rel: string): Uint8Array => readFileSync(new URL(rel, root));

/** Measures the wasm, the core JS (bundled and minified, as an app would ship it) and the int8 models. */
export function measureSizes(): SizeRow[] {
  const core = buildSync({ entryPoints: [fileURLToPath(new URL('dist/core.js', root))], bundle: true, minify: true, format: 'esm', write: false }).outputFiles[0].contents;
  const row = (what: string, bytes: Uint8Array, budget: number): SizeRow => ({ what, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, budget });
  return [
    row('dist/squeezewasm.wasm', file('dist/squeezewasm.wasm'), 67 * 1024),
    // The relaxed build also holds the relaxed-dot int8 kernel with its epilogue inlined (3.2 KB, 7 % faster).
    row('dist/squeezewasm-relaxed.wasm', file('dist/squeezewasm-relaxed.wasm'), 72 * 1024),
    // Includes the argument checks of every public entry and the escaping of text from files (2.3 KB).
    row('core JS (dist/core.js, minified)', core, 70 * 1024),
    ...Object.entries(INT8_MODEL_BUDGETS).map(([name, budget]) => row(`weights/${name}.sqz`, file(`weights/${name}.sqz`), budget)),
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = measureSizes();
  for (const r of rows) {
    const ok = r.bytes <= r.budget ? 'ok' : 'OVER BUDGET';
    console.log(`${r.what.padEnd(36)} ${String(r.bytes).padStart(9)} B  gzip ${String(r.gzip).padStart(9)} B  budget ${String(Math.round(r.budget)).padStart(9)} B  ${ok}`);
  }
  if (rows.some((r) => r.bytes > r.budget)) process.exit(1);
}

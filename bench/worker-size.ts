/**
 * The Cloudflare Worker in examples/worker as `wrangler deploy` uploads it: bundled the way wrangler
 * bundles it, measured the way it is uploaded, then timed in workerd (Miniflare).
 * `npm run bench:worker` prints the sizes and the latency; test/worker/worker.test.ts reuses
 * buildWorker and startWorker.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Plugin } from 'esbuild';
import { Miniflare } from 'miniflare';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const WORKER_DIR = join(ROOT, 'examples/worker');

/** The goal for the gzipped upload: SqueezeNet 1.1 int8 plus code. */
export const WORKER_GZIP_BUDGET = 1.5 * 1024 * 1024;

type ModuleType = 'ESModule' | 'CompiledWasm' | 'Data' | 'Text';

/** One module of the upload: the bundle first, then what the module rules kept out of it. */
export interface WorkerModule {
  /** Module name, as the bundle imports it (`<sha1>-<file>` for rule modules, like wrangler). */
  name: string;
  type: ModuleType;
  bytes: Uint8Array;
}

/** A built Worker, written to `dir` (whose previous contents buildWorker removes, stale hashed modules included). */
export interface WorkerBundle {
  dir: string;
  compatibilityDate: string;
  modules: WorkerModule[];
}

interface WranglerConfig {
  main: string;
  compatibilityDate: string;
  rules: { type: ModuleType; globs: string[] }[];
}

/** Reads the keys of examples/worker/wrangler.toml that bundling needs (only the TOML subset that file uses). */
function readWranglerConfig(): WranglerConfig {
  const toml = readFileSync(join(WORKER_DIR, 'wrangler.toml'), 'utf8').replace(/#.*$/gm, '');
  const [top, ...ruleTables] = toml.split(/^\[\[rules\]\]\s*$/m);
  const str = (table: string, key: string): string => {
    const m = new RegExp(`^${key}\\s*=\\s*"([^"]*)"`, 'm').exec(table);
    if (!m) throw new Error(`examples/worker/wrangler.toml: no ${key}`);
    return m[1];
  };
  const rules = ruleTables.map((t) => ({
    type: str(t, 'type') as ModuleType,
    globs: [...(/^globs\s*=\s*\[([^\]]*)\]/m.exec(t)?.[1] ?? '').matchAll(/"([^"]*)"/g)].map((m) => m[1]),
  }));
  return { main: str(top, 'main'), compatibilityDate: str(top, 'compatibility_date'), rules };
}

/** wrangler matches rule globs with glob-to-regexp's defaults, where `*` is any run of characters, `/` included. */
function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|[\]\\/?]/g, '\\$&').replace(/\*/g, '.*')}$`);
}

// Marks a resolution these plugins started themselves, so that neither intercepts it again.
const OWN = Symbol('own resolution');

/**
 * Where to resolve `path` from: 'squeezewasm' and its subpaths from this repository, through its
 * exports map, as the example's `"squeezewasm": "file:../.."` dependency does once installed.
 */
const resolveDirFor = (path: string, resolveDir: string): string => (/^squeezewasm(\/|$)/.test(path) ? ROOT : resolveDir);

function squeezewasmFromRepo(): Plugin {
  return {
    name: 'squeezewasm-from-repo',
    setup(b) {
      b.onResolve({ filter: /^squeezewasm(\/|$)/ }, async (args) => {
        if (args.pluginData === OWN) return undefined;
        const r = await b.resolve(args.path, { kind: args.kind, resolveDir: ROOT, pluginData: OWN });
        return r.errors.length > 0 ? { errors: r.errors } : { path: r.path, external: r.external, sideEffects: r.sideEffects };
      });
    },
  };
}

/** wrangler's module rules: a matching import becomes an external module `./<sha1>-<name>` uploaded beside the bundle. */
function moduleRules(rules: WranglerConfig['rules'], collected: Map<string, WorkerModule>): Plugin {
  return {
    name: 'module-rules',
    setup(b) {
      for (const { type, globs } of rules) {
        for (const glob of globs) {
          b.onResolve({ filter: globToRegExp(glob) }, async (args) => {
            if (args.pluginData === OWN) return undefined;
            const r = await b.resolve(args.path, { kind: args.kind, resolveDir: resolveDirFor(args.path, args.resolveDir), importer: args.importer, pluginData: OWN });
            if (r.errors.length > 0) return { errors: r.errors };
            const bytes = new Uint8Array(readFileSync(r.path));
            const name = `${createHash('sha1').update(bytes).digest('hex')}-${basename(args.path)}`;
            collected.set(name, { name, type, bytes });
            return { path: `./${name}`, external: true };
          });
        }
      }
    },
  };
}

/**
 * Bundles examples/worker with the options `wrangler deploy` uses (esm, es2022, browser platform,
 * conditions workerd/worker/browser, no minification) and writes the bundle and its modules to `dir`.
 */
export async function buildWorker(dir: string): Promise<WorkerBundle> {
  const config = readWranglerConfig();
  const collected = new Map<string, WorkerModule>();
  const result = await build({
    entryPoints: [join(WORKER_DIR, config.main)],
    absWorkingDir: WORKER_DIR,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    loader: { '.js': 'jsx', '.mjs': 'jsx', '.cjs': 'jsx' },
    outdir: dir,
    entryNames: basename(config.main, extname(config.main)),
    write: false,
    logLevel: 'silent',
    // Rules first: they must see 'squeezewasm/squeezewasm.wasm' before it resolves to a file esbuild cannot load.
    plugins: [moduleRules(config.rules, collected), squeezewasmFromRepo()],
  });
  const [main] = result.outputFiles;
  const modules: WorkerModule[] = [{ name: basename(main.path), type: 'ESModule', bytes: main.contents }, ...collected.values()];
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const m of modules) writeFileSync(join(dir, m.name), m.bytes);
  return { dir, compatibilityDate: config.compatibilityDate, modules };
}

/** Runs a built Worker in workerd. The caller disposes the returned Miniflare. */
export function startWorker(bundle: WorkerBundle): Miniflare {
  return new Miniflare({
    compatibilityDate: bundle.compatibilityDate,
    modulesRoot: bundle.dir,
    modules: bundle.modules.map((m) => ({ type: m.type, path: join(bundle.dir, m.name), contents: m.bytes })),
  });
}

/** Sizes of the upload in bytes. */
export interface WorkerSize {
  /** Each module raw and gzipped (default level, as wrangler reports). */
  rows: { name: string; type: ModuleType; bytes: number; gzip: number }[];
  bytes: number;
  /** Sum of the modules gzipped one by one. */
  gzip: number;
  /** wrangler's "Total Upload" gzip: all modules gzipped together. */
  uploadGzip: number;
}

export function measureWorker(bundle: WorkerBundle): WorkerSize {
  const rows = bundle.modules.map((m) => ({ name: m.name, type: m.type, bytes: m.bytes.length, gzip: gzipSync(m.bytes).length }));
  const sum = (k: 'bytes' | 'gzip') => rows.reduce((s, r) => s + r[k], 0);
  return { rows, bytes: sum('bytes'), gzip: sum('gzip'), uploadGzip: gzipSync(Buffer.concat(bundle.modules.map((m) => m.bytes))).length };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Round-trip and in-Worker (`ms`) times of POSTing `image`: the first request, which creates the classifier, then `runs` after `warmup`. */
async function measureLatency(mf: Miniflare, image: Uint8Array, warmup: number, runs: number) {
  const post = async () => {
    const t0 = performance.now();
    const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: image });
    const body = (await res.json()) as { ms: number };
    if (res.status !== 200) throw new Error(`POST answered ${res.status}: ${JSON.stringify(body)}`);
    return { roundTrip: performance.now() - t0, inWorker: body.ms };
  };
  const first = await post();
  for (let i = 0; i < warmup; i++) await post();
  const timed = [];
  for (let i = 0; i < runs; i++) timed.push(await post());
  return { first, roundTrip: median(timed.map((t) => t.roundTrip)), inWorker: median(timed.map((t) => t.inWorker)) };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bundle = await buildWorker(join(ROOT, 'bench/out/worker'));
  const size = measureWorker(bundle);
  const kib = (n: number) => `${(n / 1024).toFixed(1).padStart(8)} KiB`;
  console.log(`examples/worker as uploaded (written to ${bundle.dir}):`);
  for (const r of size.rows) console.log(`  ${r.type.padEnd(12)} ${r.name.padEnd(62)} ${String(r.bytes).padStart(9)} B ${kib(r.bytes)}  gzip ${String(r.gzip).padStart(9)} B ${kib(r.gzip)}`);
  console.log(`  ${'total'.padEnd(75)} ${String(size.bytes).padStart(9)} B ${kib(size.bytes)}  gzip ${String(size.gzip).padStart(9)} B ${kib(size.gzip)}`);
  console.log(`  wrangler's "Total Upload" (all modules gzipped together): ${kib(size.uploadGzip).trim()}`);
  const over = size.gzip > WORKER_GZIP_BUDGET;
  console.log(`  gzipped total vs budget ${kib(WORKER_GZIP_BUDGET).trim()}: ${over ? 'OVER BUDGET' : 'ok'}`);

  const mf = startWorker(bundle);
  try {
    await mf.ready;
    const panda = new Uint8Array(readFileSync(join(ROOT, 'test/fixtures/images/n02510455_giant_panda.jpg')));
    const runs = 30;
    const t = await measureLatency(mf, panda, 5, runs);
    console.log(`\nworkerd (Miniflare), POST test/fixtures/images/n02510455_giant_panda.jpg:`);
    console.log(`  first request (workerd running; creates the classifier): ${t.first.roundTrip.toFixed(1)} ms round trip, ms field ${t.first.inWorker}`);
    console.log(`  median of ${runs} sequential requests after 5 warm-up: ${t.roundTrip.toFixed(1)} ms round trip, ms field (decode + preprocess + inference) ${t.inWorker}`);
  } finally {
    await mf.dispose();
  }
  if (over) process.exit(1);
}

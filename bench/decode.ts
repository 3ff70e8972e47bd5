/**
 * `npm run bench:decode [-- --runs 5 --image test/fixtures/images/n02123597_Siamese_cat.jpg --sizes 1,3,12,24,48]`:
 * what a photo costs the CLI, by size and format. From one image it makes 4:3 photos of each size
 * in megapixels (bilinear upscaling), as baseline and progressive JPEGs (libjpeg-turbo's cjpeg,
 * quality 90, 4:2:0, as phone cameras write them) and, at 12 MP, a PNG; then classifies each with
 * `squeezewasm classify --json` in a fresh process, taking turns in rounds, and reports the time
 * from the end of Node's start-up to exit and the peak RSS (bench/cold-probe.mjs), beside the
 * original image. An image the CLI refuses (a limit) is reported with its error.
 *
 * Needs `npm run build` (dist/) and cjpeg (Debian: libjpeg-turbo-progs). Images go to
 * bench/out/decode-images/ (made once, reused); results to bench/out/decode.json.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { setDecoderModule } from '../src/image/codec.js';
import { decodeImage } from '../src/image/decode.js';
import { packageFile } from '../src/node.js';
import { probedClassify } from './cli-probe.js';
import { png, upscale } from './photos.js';
import { fmt, stats, table } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    image: { type: 'string', default: packageFile('test/fixtures/images/n02123597_Siamese_cat.jpg') },
    sizes: { type: 'string', default: '1,3,12,24,48' },
  },
});
const runs = Number(values.runs);
const sizes = values.sizes!.split(',').map(Number);
if (!(runs > 0) || !sizes.every((s) => s > 0)) throw new Error('--runs and --sizes must be positive numbers');
if (spawnSync('cjpeg', ['-version']).error) throw new Error('bench:decode needs cjpeg: apt-get install -y libjpeg-turbo-progs');

const dir = packageFile('bench/out/decode-images');
mkdirSync(dir, { recursive: true });
setDecoderModule(new WebAssembly.Module(readFileSync(packageFile('dist/squeezewasm.wasm'))));

/** The photos of every size (made on first use): name -> file. */
function photos(): { name: string; file: string }[] {
  const src = decodeImage(new Uint8Array(readFileSync(values.image!)));
  const list = [{ name: `original ${src.width}x${src.height}`, file: values.image! }];
  for (const mp of sizes) {
    const w = Math.round(Math.sqrt((mp * 1e6 * 4) / 3)), h = Math.round((w * 3) / 4);
    const ppm = join(dir, `${mp}mp.ppm`);
    const files = { baseline: join(dir, `${mp}mp.jpg`), progressive: join(dir, `${mp}mp-progressive.jpg`), png: join(dir, `${mp}mp.png`) };
    const wantPng = mp === 12;
    if (!existsSync(files.baseline) || !existsSync(files.progressive) || (wantPng && !existsSync(files.png))) {
      const rgb = upscale(src, w, h);
      writeFileSync(ppm, Buffer.concat([Buffer.from(`P6\n${w} ${h}\n255\n`), rgb]));
      execFileSync('cjpeg', ['-quality', '90', '-sample', '2x2', '-outfile', files.baseline, ppm]);
      execFileSync('cjpeg', ['-quality', '90', '-sample', '2x2', '-progressive', '-outfile', files.progressive, ppm]);
      rmSync(ppm);
      if (wantPng) writeFileSync(files.png, png(rgb, w, h));
    }
    list.push({ name: `${mp} MP baseline JPEG ${w}x${h}`, file: files.baseline }, { name: `${mp} MP progressive JPEG`, file: files.progressive });
    if (wantPng) list.push({ name: `${mp} MP PNG`, file: files.png });
  }
  return list;
}

/** One CLI run: ms from the end of Node's start-up to exit, peak RSS in MB, top-1, or the error line. */
function classify(file: string): { ms: number; rssMB: number; top1?: string; error?: string } {
  const r = probedClassify(file);
  if (r.status !== 0) return { ms: r.cli, rssMB: r.rssMB, error: r.error };
  return { ms: r.cli, rssMB: r.rssMB, top1: JSON.parse(r.stdout).top[0].label };
}

const list = photos();
const samples = list.map(() => ({ ms: [] as number[], rssMB: [] as number[], top1: '', error: '' }));
for (let round = 0; round < runs; round++) {
  list.forEach(({ file }, i) => {
    const r = classify(file);
    samples[i].ms.push(r.ms);
    samples[i].rssMB.push(r.rssMB);
    samples[i].top1 = r.top1 ?? '';
    samples[i].error = r.error ?? '';
  });
}
const rows = list.map(({ name, file }, i) => {
  const t = stats(samples[i].ms);
  return { name, file: basename(file), bytes: readFileSync(file).length, median_ms: t.median, min_ms: t.min, peak_rss_mb: Math.max(...samples[i].rssMB), top1: samples[i].top1, error: samples[i].error };
});
console.log(`squeezewasm classify, one image per fresh process, ${runs} rounds, Node ${process.version}; ms from the end of Node's start-up to exit\n`);
table(
  ['image', 'file bytes', 'median ms', 'min ms', 'peak RSS MB', 'top-1 or error'],
  rows.map((r) => [r.name, String(r.bytes), fmt(r.median_ms, 1), fmt(r.min_ms, 1), fmt(r.peak_rss_mb, 1), r.error || r.top1]),
  1,
);
mkdirSync(packageFile('bench/out'), { recursive: true });
writeFileSync(packageFile('bench/out/decode.json'), `${JSON.stringify({ node: process.version, runs, rows }, null, 2)}\n`);

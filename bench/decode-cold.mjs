/**
 * `node bench/decode-cold.mjs [image] [runs]` (after `npm run build`): the first decodeImage of a
 * fresh Node process, as the CLI meets it: dist/node.js compiles the kernels module on first use,
 * so the time includes reading and compiling it, instantiating the decoder and decoding on V8's
 * first-tier code. Prints the median and fastest of `runs` processes (default 15), and the second
 * decode of the same process for comparison.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const [image = fileURLToPath(new URL('../test/fixtures/images/n02510455_giant_panda.jpg', import.meta.url)), runs = '15', child] = process.argv.slice(2);

if (child) {
  const { decodeImage } = await import('../dist/node.js');
  const bytes = new Uint8Array(readFileSync(image));
  const t0 = performance.now();
  decodeImage(bytes);
  const t1 = performance.now();
  decodeImage(bytes);
  const t2 = performance.now();
  console.log(JSON.stringify({ first: t1 - t0, second: t2 - t1 }));
} else {
  const samples = Array.from({ length: Number(runs) }, () =>
    JSON.parse(execFileSync(process.execPath, [fileURLToPath(import.meta.url), image, runs, 'child'], { encoding: 'utf8' })),
  );
  for (const key of ['first', 'second']) {
    const v = samples.map((s) => s[key]).sort((a, b) => a - b);
    console.log(`${key} decodeImage: median ${v[v.length >> 1].toFixed(2)} ms, fastest ${v[0].toFixed(2)} ms (${runs} fresh processes)`);
  }
}

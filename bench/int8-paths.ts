/**
 * `node --import tsx bench/int8-paths.ts <model.sqz>:<int8 dot> ...`: int8 models on the dot products
 * named (`dot16`; under Node 24 `relaxed`, and `relaxed-u8` on x86 with AVX-VNNI or `relaxed-s8` on
 * Arm with sdot), in one process, taking turns (60 runs each), so the machine's drift hits all
 * alike. Prints each one's sum of per-layer minima and the minimum and median of whole inferences,
 * in ms: how the activation types a quantization chose (u8, u7 or wider) and the kernels they run
 * on trade against each other (docs/performance.md, "Speed against agreement").
 */
import { readFileSync } from 'node:fs';
import { loadClassifier, packageFile } from '../src/node.js';
import { INT8_DOTS, type Int8Dot } from '../src/runtime/types.js';
import { stats } from './stats.js';

const image = new Uint8Array(readFileSync(packageFile('test/fixtures/images/n02510455_giant_panda.jpg')));
const runs = 60;
const contenders = [];
for (const arg of process.argv.slice(2)) {
  const [file, int8Dot] = arg.split(':');
  if (!(INT8_DOTS as readonly string[]).includes(int8Dot)) throw new Error(`${arg}: expected <model.sqz>:<${INT8_DOTS.join('|')}>`);
  const net = await loadClassifier(new Uint8Array(readFileSync(file)), { int8Dot: int8Dot as Int8Dot });
  net.setInput(image);
  contenders.push({ arg, net, layers: new Float64Array(net.planned.steps.length).fill(Infinity), whole: [] as number[] });
}
if (contenders.length === 0) throw new Error(`usage: bench/int8-paths.ts <model.sqz>:<${INT8_DOTS.join('|')}> ...`);
for (let r = 0; r < runs; r++) {
  for (const c of contenders) {
    const t0 = performance.now();
    const { ms } = c.net.runTimed(() => performance.now());
    c.whole.push(performance.now() - t0);
    ms.forEach((v, i) => (c.layers[i] = Math.min(c.layers[i], v)));
  }
}
console.log(`Node ${process.version}, ${runs} runs each in turns (ms)`);
for (const c of contenders) {
  const w = stats(c.whole);
  console.log(`${c.arg.padEnd(48)} layer minima ${c.layers.reduce((a, b) => a + b, 0).toFixed(2)}  whole min ${w.min.toFixed(2)}  median ${w.median.toFixed(2)}`);
}

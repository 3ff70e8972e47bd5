/**
 * `npx tsx bench/op-cost.ts [--ops 20] [--side 160]`: what one unit of work (`maxMacs`) costs on
 * this machine, per op kind, channel count and precision. Each case is an op chain
 * (test/helpers/op-chain.ts: `--ops` copies of one op on a `--side`-square activation, between a
 * 1x1 stem conv and a 1x1 classifier), timed per image (median of 7) and divided by the network's
 * work as src/model/validate.ts counts it. The last column is how long a network made only of that
 * op would run at the default `maxMacs`: `WORK_WEIGHTS` are set so that it stays near a second
 * (docs/trust.md, "Work limits").
 */
import { parseArgs } from 'node:util';
import { writeModel } from '../src/model/write.js';
import { loadClassifier } from '../src/node.js';
import { DEFAULT_RUN_LIMITS } from '../src/runtime/types.js';
import { CHAIN_KINDS, int8Chain, opChain } from '../test/helpers/op-chain.js';

const { values } = parseArgs({ options: { ops: { type: 'string', default: '20' }, side: { type: 'string', default: '160' } } });
const [length, side] = [Number(values.ops), Number(values.side)];
const pixels = { width: side, height: side, data: new Uint8Array(side * side * 4).fill(128) };

console.log(`op chains of ${length} on ${side}x${side}, Node ${process.version}; seconds per image at maxMacs ${DEFAULT_RUN_LIMITS.maxMacs.toExponential(0)}`);
let worst = 0;
for (const kind of CHAIN_KINDS) {
  for (const channels of [1, 3, 16, 64]) {
    const f32 = opChain(kind, length, side, channels);
    for (const model of [f32, int8Chain(f32)]) {
      const net = await loadClassifier(writeModel(model), { limits: { maxMacs: 1e12, maxMemoryBytes: 2 ** 31 } });
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const t = performance.now();
        await net.classify(pixels);
        times.push(performance.now() - t);
      }
      net.dispose();
      const ms = times.sort((a, b) => a - b)[3];
      const ns = (ms * 1e6) / model.work;
      const seconds = (ns * DEFAULT_RUN_LIMITS.maxMacs) / 1e9;
      worst = Math.max(worst, seconds);
      console.log(`${kind.padEnd(8)} c=${String(channels).padEnd(3)} ${model.precision.padEnd(5)} ${ms.toFixed(1).padStart(8)} ms ${ns.toFixed(3).padStart(7)} ns/unit ${seconds.toFixed(2).padStart(6)} s`);
    }
  }
}
console.log(`worst: ${worst.toFixed(2)} s per image at the default limit`);

// One cold start through the library (see bench/cold-start.ts): prints its phases as JSON. Plain
// JS, so no loader runs first.
import { readFileSync } from 'node:fs';

const [model, image] = process.argv.slice(2);
const t0 = performance.now();
const { loadClassifier } = await import('../dist/node.js');
const t1 = performance.now();
const net = await loadClassifier(model);
const t2 = performance.now();
const { top } = await net.classify(readFileSync(image), { top: 1 });
const t3 = performance.now();
if (top.length !== 1) throw new Error('no result');
console.log(JSON.stringify({ import: t1 - t0, load: t2 - t1, classify: t3 - t2, total: t3 - t0 }));

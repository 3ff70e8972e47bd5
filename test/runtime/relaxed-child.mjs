// Run by relaxed.test.ts in a Node with relaxed SIMD: classifies the fixture images with every
// bundled model on both kernel builds and prints the raw outputs as JSON.
import { readdirSync, readFileSync } from 'node:fs';
import { BUNDLED_MODELS, createClassifier, kernelsModule, relaxedSimdSupported } from '../../dist/node.js';

const dir = new URL('../fixtures/images/', import.meta.url);
const images = readdirSync(dir).sort().map((f) => new Uint8Array(readFileSync(new URL(f, dir))));
const [plain, relaxed] = await Promise.all([kernelsModule('plain'), kernelsModule('relaxed')]);
const outputs = {};
for (const name of BUNDLED_MODELS) {
  const bytes = new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));
  const nets = await Promise.all([plain, relaxed].map((m) => createClassifier(m, bytes)));
  outputs[name] = nets.map((net) => images.map((image) => [...net.classifySync(image).logits]));
  for (const net of nets) net.dispose();
}
console.log(JSON.stringify({ supported: relaxedSimdSupported(), defaultIsRelaxed: (await kernelsModule()) === relaxed, outputs }));

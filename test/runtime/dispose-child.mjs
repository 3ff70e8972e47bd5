// Run by dispose.test.ts under node --expose-gc: loads, uses and disposes models in a loop, keeping
// every other one referenced after dispose(), and prints how many of the wasm memories and of the
// dropped objects the garbage collector freed.
import { readFileSync } from 'node:fs';
import { BUNDLED_MODELS, loadClassifier, loadFeatureExtractor } from '../../dist/node.js';

const CYCLES = 50;
const image = new Uint8Array(readFileSync(new URL('../fixtures/images/n02510455_giant_panda.jpg', import.meta.url)));
const created = { memory: 0, dropped: 0 };
const freed = { memory: 0, dropped: 0 };
const registry = new FinalizationRegistry((kind) => freed[kind]++);

// Every instance's memory, classifiers' and feature extractors' alike, without reaching into either.
const instantiate = WebAssembly.instantiate;
WebAssembly.instantiate = async (...args) => {
  const result = await instantiate(...args);
  const instance = result instanceof WebAssembly.Instance ? result : result.instance;
  registry.register(instance.exports.memory, 'memory');
  created.memory++;
  return result;
};

/** One cycle: load, use, dispose; returns the disposed object. */
async function cycle(i) {
  const model = BUNDLED_MODELS[i % BUNDLED_MODELS.length];
  if (i % 5 === 4) {
    const fx = await loadFeatureExtractor(model);
    fx.features(image);
    fx.dispose();
    return fx;
  }
  const net = await loadClassifier(model);
  await net.classify(image);
  net.dispose();
  return net;
}

// In a function of its own, so that no stale register of this frame holds the last object dropped.
async function cycles() {
  const kept = [];
  for (let i = 0; i < CYCLES; i++) {
    if (i % 2 === 0) {
      kept.push(await cycle(i));
    } else {
      registry.register(await cycle(i), 'dropped');
      created.dropped++;
    }
  }
  return kept;
}
const kept = await cycles();

// A dead memory is found by the second full collection; its callback runs in a later turn.
let rounds = 0;
while (rounds < 50 && (freed.memory < created.memory || freed.dropped < created.dropped)) {
  globalThis.gc();
  await new Promise((resolve) => setTimeout(resolve, 10));
  rounds++;
}
console.log(JSON.stringify({ created, freed, rounds, kept: kept.length }));

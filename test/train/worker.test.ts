import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Miniflare } from 'miniflare';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildWorker, startWorker } from '../../bench/worker-size.js';
import { loadClassifier, loadFeatureExtractor, trainClassifier, writeModel, type Prediction } from '../../src/node.js';

// The Worker example of examples/worker, deployed with a trained model in place of the bundled one.
const imagesDir = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const images = readdirSync(imagesDir)
  .sort()
  .map((file) => ({ file, bytes: new Uint8Array(readFileSync(join(imagesDir, file))) }));
const LABELS = ['animal', 'thing'];

let dir = '';
let mf: Miniflare;
let model: Uint8Array;

beforeAll(async () => {
  const fx = await loadFeatureExtractor();
  const examples = images.map(({ file, bytes }) => ({ features: fx.extract(bytes), label: /train|boot/.test(file) ? 1 : 0 }));
  model = writeModel((await trainClassifier(fx, examples, LABELS, { name: 'animal-or-thing' })).model);
  fx.dispose();
  dir = mkdtempSync(join(tmpdir(), 'squeezewasm-train-worker-'));
  const bundle = await buildWorker(dir);
  // The model is a Data module: swapping its bytes is what deploying with another .sqz file does.
  mf = startWorker({ ...bundle, modules: bundle.modules.map((m) => (m.type === 'Data' ? { ...m, bytes: model } : m)) });
  await mf.ready;
}, 120_000);

afterAll(async () => {
  await mf?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a trained model in the Cloudflare Worker (workerd)', () => {
  it('classifies with the new labels, exactly as the Node API does', async () => {
    const net = await loadClassifier(model);
    for (const { bytes } of images) {
      const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: bytes });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { top: Prediction[]; model: string };
      expect(body.model).toBe('animal-or-thing');
      const want = net.classifySync(bytes, { top: 5 }).top;
      expect(body.top.map((p) => [p.index, p.label])).toEqual(want.map((p) => [p.index, p.label]));
      body.top.forEach((p, i) => expect(Math.abs(p.probability - want[i].probability)).toBeLessThanOrEqual(1e-6));
    }
    net.dispose();
  });
});

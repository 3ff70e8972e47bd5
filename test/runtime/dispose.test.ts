import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ArgumentError, decodeImage, loadClassifier, loadFeatureExtractor, SqueezeError } from '../../src/node.js';

const dir = new URL('../fixtures/images/', import.meta.url);
const images = readdirSync(dir)
  .sort()
  .map((file) => {
    const bytes = new Uint8Array(readFileSync(new URL(file, dir)));
    return { bytes, pixels: decodeImage(bytes) };
  });
const corrupt = images[1].bytes.slice(0, images[1].bytes.length >> 1);

function expectDisposed(f: () => unknown): void {
  expect(f).toThrow(ArgumentError);
  expect(f).toThrow(expect.objectContaining({ code: 'E_DISPOSED' }));
}

describe('dispose()', () => {
  it('leaves a classifier that refuses to run with E_DISPOSED, whatever the input, and keeps its name and labels', async () => {
    const net = await loadClassifier();
    net.dispose();
    await expect(net.classify(images[0].bytes)).rejects.toMatchObject({ name: 'ArgumentError', code: 'E_DISPOSED' });
    // Refused before decoding: a corrupt image gives the same error, not an ImageError.
    await expect(net.classify(corrupt)).rejects.toMatchObject({ code: 'E_DISPOSED' });
    expectDisposed(() => net.classifySync(images[0].pixels));
    expectDisposed(() => net.setInput(images[0].bytes));
    expectDisposed(() => net.runTimed(() => 0));
    expectDisposed(() => net.planned);
    expect(net.name).toBe('squeezenet1.1-int8');
    expect(net.labels).toHaveLength(1000);
    expect(() => net.dispose()).not.toThrow();
  });

  it('leaves a feature extractor that refuses to run with E_DISPOSED', async () => {
    const fx = await loadFeatureExtractor();
    fx.dispose();
    expectDisposed(() => fx.features(images[0].bytes));
    expectDisposed(() => fx.extract(images[0].pixels));
    expect(fx.dim).toBe(512);
    expect(() => fx.dispose()).not.toThrow();
  });

  // Finalization is observable only after a forced collection: a child Node with --expose-gc.
  it('frees the wasm memory of every loaded model, also of disposed objects still referenced, and keeps no reference to dropped ones', { timeout: 120_000 }, () => {
    const child = fileURLToPath(new URL('./dispose-child.mjs', import.meta.url));
    const out = JSON.parse(execFileSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8' })) as {
      created: { memory: number; dropped: number };
      freed: { memory: number; dropped: number };
      kept: number;
    };
    expect(out.created).toEqual({ memory: 50, dropped: 25 });
    expect(out.kept).toBe(25);
    expect(out.freed).toEqual(out.created);
  });
});

describe('wasm memory', () => {
  it.each(['squeezenet1.1-int8', 'squeezenet1.0-f32'])('%s: stays the same buffer, of the same size, across repeated inferences and refused inputs', { timeout: 60_000 }, async (model) => {
    const net = await loadClassifier(model);
    const memory = net.planned.kernels.memory;
    // Growing a memory detaches its buffer and makes a new one, so the same object means it never grew.
    const buffer = memory.buffer;
    const bytes = buffer.byteLength;
    expect(net.planned.memoryBytes).toBeLessThanOrEqual(bytes);
    for (let round = 0; round < 3; round++) {
      for (const { bytes: encoded, pixels } of images) {
        await net.classify(encoded);
        await net.classify(pixels);
      }
      await expect(net.classify(corrupt)).rejects.toBeInstanceOf(SqueezeError);
      await expect(net.classify({ ...images[0].pixels, width: images[0].pixels.width + 1 })).rejects.toBeInstanceOf(SqueezeError);
      expect(memory.buffer).toBe(buffer);
      expect(memory.buffer.byteLength).toBe(bytes);
    }
    net.dispose();
  });
});

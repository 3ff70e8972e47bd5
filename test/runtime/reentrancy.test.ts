import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ArgumentError, BUNDLED_MODELS, ImageError, decodeImage, loadClassifier, loadFeatureExtractor, type Classification, type ImageInput,
} from '../../src/node.js';
import { rng } from '../helpers/wasm.js';

// A classifier has one input slot and one activation arena. A Worker (or any async server) handling
// overlapping requests calls classify() on one instance while earlier calls are still pending, so an
// await anywhere between writing the input and reading the output would let one call run on
// another's image. Each call here starts after a random number of awaits, so that with such an
// await the calls would interleave there, and must give bit for bit what the image gives alone.

const dir = new URL('../fixtures/images/', import.meta.url);
const images = readdirSync(dir)
  .sort()
  .map((file) => {
    const bytes = new Uint8Array(readFileSync(new URL(file, dir)));
    return { file, bytes, pixels: decodeImage(bytes) };
  });
const jpeg = images.find((i) => i.file.endsWith('.jpg'))!;

/** Inputs every call must refuse, with the error class and code each must throw. */
const BAD: { input: ImageInput; error: typeof ImageError | typeof ArgumentError; code: string }[] = [
  { input: jpeg.bytes.slice(0, jpeg.bytes.length >> 1), error: ImageError, code: 'E_IMAGE_DECODE' },
  { input: new Uint8Array(256).fill(7), error: ImageError, code: 'E_IMAGE_FORMAT' },
  { input: { ...jpeg.pixels, data: jpeg.pixels.data.subarray(4) }, error: ArgumentError, code: 'E_ARGUMENT' },
];

const bits = (f: Float32Array): number[] => Array.from(new Uint32Array(f.buffer, f.byteOffset, f.length));

/** Everything a result holds, as exact bits. */
const exactly = (c: Classification) => ({ top: c.top, logits: bits(c.logits), probabilities: bits(c.probabilities) });

/** Fisher-Yates with a seeded generator, so that a failing order reproduces. */
function shuffle<T>(xs: T[], r: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Up to three microtask turns, or a macrotask turn: calls start out of step with each other. */
async function stagger(r: () => number): Promise<void> {
  const n = Math.floor(r() * 5);
  if (n === 4) await new Promise((resolve) => setImmediate(resolve));
  else for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('overlapping calls on one instance', () => {
  it.each(BUNDLED_MODELS)('%s: concurrent classify() calls, invalid inputs among them, each get the result of their image alone', { timeout: 120_000 }, async (model) => {
    const net = await loadClassifier(model);
    const alone = images.map(({ bytes }) => exactly(net.classifySync(bytes, { top: 5 })));
    images.forEach(({ pixels }, k) => expect(exactly(net.classifySync(pixels, { top: 5 })), images[k].file).toEqual(alone[k]));

    const r = rng(7);
    type Call = { image: number; input: ImageInput } | { bad: (typeof BAD)[number] };
    const calls: Call[] = shuffle(
      [
        ...[0, 1].flatMap(() => images.flatMap(({ bytes, pixels }, image) => [{ image, input: bytes }, { image, input: pixels }])),
        ...[0, 1].flatMap(() => BAD.map((bad) => ({ bad }))),
      ],
      r,
    );
    const settled = await Promise.allSettled(
      calls.map(async (call) => {
        await stagger(r);
        return net.classify('bad' in call ? call.bad.input : call.input, { top: 5 });
      }),
    );
    settled.forEach((outcome, i) => {
      const call = calls[i];
      if ('bad' in call) {
        expect(outcome.status, `call ${i}`).toBe('rejected');
        const reason = (outcome as PromiseRejectedResult).reason as ImageError;
        expect(reason, `call ${i}`).toBeInstanceOf(call.bad.error);
        expect(reason.code, `call ${i}`).toBe(call.bad.code);
      } else {
        expect(outcome.status, `call ${i}`).toBe('fulfilled');
        expect(exactly((outcome as PromiseFulfilledResult<Classification>).value), `call ${i}: ${images[call.image].file}`).toEqual(alone[call.image]);
      }
    });
    net.dispose();
  });

  it.each(['squeezenet1.1-int8', 'squeezenet1.1-f32'])(
    '%s: interleaved feature extraction (and a classifier on the same kernels module) gives each image its own features',
    { timeout: 120_000 },
    async (model) => {
      const fx = await loadFeatureExtractor(model);
      const net = await loadClassifier(model);
      const alone = images.map(({ bytes }) => {
        const { pooled, map } = fx.extract(bytes);
        return { pooled: bits(pooled), map: Array.from(map.data) };
      });
      const classified = images.map(({ bytes }) => exactly(net.classifySync(bytes)));

      // The extractor has no async API; callers interleave it with their own awaits, as a Worker would.
      const r = rng(11);
      const order = shuffle([...images.keys(), ...images.keys()], r);
      const got = await Promise.all(
        order.map(async (k) => {
          await stagger(r);
          const features = bits(fx.features(images[k].pixels));
          await stagger(r);
          const { pooled, map } = fx.extract(images[k].bytes);
          const classification = exactly(await net.classify(images[k].bytes));
          return { features, pooled: bits(pooled), map: Array.from(map.data), classification };
        }),
      );
      got.forEach((g, i) => {
        const k = order[i];
        expect(g.features, images[k].file).toEqual(alone[k].pooled);
        expect({ pooled: g.pooled, map: g.map }, images[k].file).toEqual(alone[k]);
        expect(g.classification, images[k].file).toEqual(classified[k]);
      });
      fx.dispose();
      net.dispose();
    },
  );
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ArgumentError, LimitError, ModelFormatError } from '../../src/errors.js';
import { createClassifier } from '../../src/index.js';
import { DEFAULT_LIMITS, resolveLimits } from '../../src/limits.js';
import type { Model } from '../../src/model/format.js';
import { encodeModel } from '../../src/model/write.js';
import { ensureMemory } from '../../src/wasm/kernels.js';
import { randomFireNet } from '../helpers/random-net.js';
import { CHAIN_KINDS, opChain } from '../helpers/op-chain.js';
import { readModel } from '../../src/model/read.js';
import { validateModel } from '../../src/model/validate.js';
import { kernelsModule, rng } from '../helpers/wasm.js';
import { expectLimitError, expectSqueezeError, rejection } from '../helpers/errors.js';

const weights = (name: string) => new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));
const panda = new Uint8Array(readFileSync(new URL('../fixtures/images/n02510455_giant_panda.jpg', import.meta.url)));

/** Expects `work` to fail with a LimitError naming `limit`. */
async function hits(work: () => Promise<unknown>, limit: string): Promise<void> {
  expectLimitError(await rejection(work()), limit);
}

describe('limits', () => {
  it('resolve over the documented defaults and refuse unknown names and non-positive values', () => {
    expect(DEFAULT_LIMITS).toEqual({
      maxFileBytes: 64 * 2 ** 20, maxHeaderBytes: 4 * 2 ** 20, maxTensorElements: 16 * 2 ** 20, maxTensorBytes: 64 * 2 ** 20,
      maxImageBytes: 64 * 2 ** 20, maxImagePixels: 50e6, maxImageSide: 16384,
      maxMemoryBytes: 256 * 2 ** 20, maxMacs: 10e9,
    });
    expect(resolveLimits({ maxMacs: 5 }).maxMacs).toBe(5);
    expect(resolveLimits({ maxMacs: undefined }).maxMacs).toBe(10e9);
    expect(() => resolveLimits({ maxPixels: 5 } as never)).toThrow(ArgumentError);
    expect(() => resolveLimits({ maxMacs: 0 })).toThrow(/maxMacs must be a positive number/);
    expect(() => resolveLimits({ maxMacs: NaN })).toThrow(ArgumentError);
  });

  it('refuse a network that needs more work or memory than allowed, before growing memory', async () => {
    const wasm = kernelsModule();
    const ok = await createClassifier(wasm, weights('squeezenet1.0-int8'));
    expect(ok.planned.memoryBytes).toBeLessThan(DEFAULT_LIMITS.maxMemoryBytes);
    await hits(() => createClassifier(wasm, weights('squeezenet1.0-int8'), { limits: { maxMacs: 8e8 } }), 'maxMacs');
    await hits(() => createClassifier(wasm, weights('squeezenet1.1-f32'), { limits: { maxMemoryBytes: 4 * 2 ** 20 } }), 'maxMemoryBytes');
    await hits(() => createClassifier(wasm, weights('squeezenet1.1-f32'), { limits: { maxFileBytes: 2 ** 20 } }), 'maxFileBytes');
  });

  it('count what pools, adds, ReLUs, copies and thin convs cost: a small op-chain file that would run for seconds is refused under the defaults', async () => {
    for (const kind of CHAIN_KINDS) {
      // Counted one unit per value (and per MAC), as before, each of these is within the default limit.
      const bomb = opChain(kind, kind.endsWith('pool') ? 50 : 100, 2048, kind.startsWith('conv') ? 1 : 3);
      expect(encodeModel(bomb).length).toBeLessThan(64 * 1024);
      expect(bomb.work).toBeGreaterThan(DEFAULT_LIMITS.maxMacs);
      await hits(() => createClassifier(kernelsModule(), encodeModel(bomb)), 'maxMacs');
      // A short chain on a photo-sized input is fine.
      expect(opChain(kind, 4, 224, 16).work).toBeLessThan(DEFAULT_LIMITS.maxMacs / 10);
    }
    for (const name of ['squeezenet1.0-int8', 'squeezenet1.1-f32']) {
      expect(validateModel(readModel(weights(name))).work).toBeLessThan(DEFAULT_LIMITS.maxMacs / 5);
    }
  });

  it('with the defaults, refuse a valid file whose input size would need gigabytes', async () => {
    const model: Model = randomFireNet(rng(3));
    model.input = { ...model.input, height: 1500, width: 1500, resizeShorter: 1500 };
    const e = await rejection(createClassifier(kernelsModule(), encodeModel(model)));
    expect(e).toBeInstanceOf(LimitError);
    expect(['maxMemoryBytes', 'maxMacs']).toContain((e as LimitError).limit);
  });

  it('refuse an image file larger than maxImageBytes before decoding it', async () => {
    const net = await createClassifier(kernelsModule(), weights('squeezenet1.1-int8'), { limits: { maxImageBytes: panda.length - 1 } });
    await hits(() => net.classify(panda), 'maxImageBytes');
    const roomy = await createClassifier(kernelsModule(), weights('squeezenet1.1-int8'), { limits: { maxImageBytes: panda.length } });
    expect((await roomy.classify(panda)).top[0].label).toBe('giant panda');
  });

  it('turn an engine that cannot grow its memory into a LimitError', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    expect(() => ensureMemory(memory, 3 * 65536)).toThrow(LimitError);
    ensureMemory(memory, 2 * 65536);
    expect(memory.buffer.byteLength).toBe(2 * 65536);
  });

  it('refuse to rank a network output that overflowed float32', async () => {
    const model = randomFireNet(rng(4));
    model.tensors.get('final.w')!.data.fill(3e38);
    const net = await createClassifier(kernelsModule(), encodeModel(model));
    expectSqueezeError(await rejection(net.classify({ data: new Uint8Array(64 * 64 * 4).fill(200), width: 64, height: 64 })), ModelFormatError, 'E_MODEL_NUMERIC');
  });
});

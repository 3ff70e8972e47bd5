import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as browser from '../../src/browser.js';
import {
  ArgumentError, Classifier, convertDeepCompression, convertOnnx, createClassifier, createFeatureExtractor, decodeImage, headModel, kernelsModule, loadClassifier,
  loadFeatureExtractor, packageFile, quantizeModel, readModel, readModelFile, setDecoderModule, summarizeModel, trainClassifier, trainSoftmax, withModelBytes, writeModel,
  type ConvertMeta,
} from '../../src/node.js';
import { expectSqueezeError, rejection } from '../helpers/errors.js';
import { kernelsModule as testKernels } from '../helpers/wasm.js';

// Every public entry refuses an argument of the wrong type with an ArgumentError naming it,
// before it touches it: never a TypeError or RangeError from deep inside.

const bytes = new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.1-int8.sqz', import.meta.url)));
const wasm = testKernels();
const net = await createClassifier(wasm, bytes);
const fx = await createFeatureExtractor(wasm, bytes);
const pixels = { data: new Uint8Array(8 * 8 * 4), width: 8, height: 8 };
const meta: ConvertMeta = {
  name: 'm',
  input: { channelOrder: 'RGB', divisor: 255, mean: [0, 0, 0], std: [1, 1, 1], resizeShorter: 256 },
  labels: ['a'],
  provenance: { source: 's', license: 'l' },
};
const head = { dim: 512, classes: 2, weight: new Float32Array(1024), bias: new Float32Array(2) };
const nothing = (): undefined => undefined;

// [what is called, the call, the start of the message]
const CASES: [string, () => unknown, RegExp][] = [
  ['loadClassifier(123)', () => loadClassifier(123 as never), /^loadClassifier: source must be a string or a Uint8Array, got 123$/],
  ['loadClassifier({})', () => loadClassifier({} as never), /^loadClassifier: source must be .*, got an object$/],
  ['loadClassifier(null)', () => loadClassifier(null as never), /^loadClassifier: source must be .*, got null$/],
  ['loadClassifier(ArrayBuffer)', () => loadClassifier(new ArrayBuffer(64) as never), /^loadClassifier: source must be .*, got an ArrayBuffer \(wrap it: new Uint8Array\(buffer\)\)$/],
  ['loadClassifier(name, null)', () => loadClassifier(undefined, null as never), /^loadClassifier: options must be an object, got null$/],
  ['loadClassifier(name, "fast")', () => loadClassifier(undefined, 'fast' as never), /^loadClassifier: options must be an object, got "fast"$/],
  ['loadFeatureExtractor([])', () => loadFeatureExtractor([] as never), /^loadFeatureExtractor: source must be .*, got an array$/],
  ['createClassifier(bytes, wasm)', () => createClassifier(bytes as never, wasm as never), /^createClassifier: wasm must be a compiled WebAssembly.Module, got a Uint8Array$/],
  ['createClassifier(wasm, null)', () => createClassifier(wasm, null as never), /^createClassifier: model must be a Uint8Array, got null$/],
  ['createClassifier(wasm, bytes, 5)', () => createClassifier(wasm, bytes, 5 as never), /^createClassifier: options must be an object, got 5$/],
  ['createFeatureExtractor(wasm, ArrayBuffer)', () => createFeatureExtractor(wasm, bytes.buffer as never), /^createFeatureExtractor: model must be a Uint8Array, got an ArrayBuffer/],
  ['Classifier.create(null, wasm)', () => Classifier.create(null as never, wasm), /^Classifier\.create: modelBytes must be a Uint8Array, got null$/],
  ['Classifier.fromModel({}, wasm)', () => Classifier.fromModel({} as never, wasm), /^Classifier\.fromModel: model must be a ValidModel/],
  ['net.classify(img, null)', () => net.classify(pixels, null as never), /^classify: options must be an object, got null$/],
  ['net.classifySync(img, 5)', () => net.classifySync(pixels, 5 as never), /^classifySync: options must be an object, got 5$/],
  ['net.setInput(img, [])', () => net.setInput(pixels, [] as never), /^setInput: options must be an object, got an array$/],
  ['net.runTimed(null)', () => net.runTimed(null as never), /^runTimed: now must be a function, got null$/],
  ['net.classify(img, { orientation: 1n })', () => net.classify(pixels, { orientation: 1n as never }), /^orientation must be "apply" or "ignore", got 1$/],
  ['fx.features(img, null)', () => fx.features(pixels, null as never), /^features: options must be an object, got null$/],
  ['fx.extract(img, 0)', () => fx.extract(pixels, 0 as never), /^extract: options must be an object, got 0$/],
  ['readModel(null)', () => readModel(null as never), /^readModel: bytes must be a Uint8Array, got null$/],
  ['readModel(bytes, null)', () => readModel(bytes, null as never), /^readModel: overrides must be an object, got null$/],
  ['writeModel(null)', () => writeModel(null as never), /^writeModel: model must be an object, got null$/],
  ['writeModel({})', () => writeModel({} as never), /^writeModel: model\.tensors must be a Map, got undefined$/],
  ['summarizeModel(net.model, "5")', () => summarizeModel(net.model, '5' as never), /^summarizeModel: fileBytes must be a number or undefined, got "5"$/],
  ['summarizeModel({})', () => summarizeModel({} as never), /^summarizeModel: model must be a ValidModel/],
  ['decodeImage(bytes, null)', () => decodeImage(bytes, null as never), /^decodeImage: limits must be an object, got null$/],
  ['decodeImage(bytes, {}, 5)', () => decodeImage(bytes, {}, 5 as never), /^decodeImage: options must be an object, got 5$/],
  ['setDecoderModule(null)', () => setDecoderModule(null as never), /^setDecoderModule: module must be a compiled WebAssembly.Module or a function, got null$/],
  ['convertOnnx(null, meta)', () => convertOnnx(null as never, meta), /^convertOnnx: bytes must be a Uint8Array, got null$/],
  ['convertOnnx(bytes, null)', () => convertOnnx(bytes, null as never), /^convertOnnx: meta must be an object, got null$/],
  ['convertOnnx(bytes, labels "a")', () => convertOnnx(bytes, { ...meta, labels: 'a' as never }), /^convertOnnx: meta\.labels must be an array, got "a"$/],
  ['convertDeepCompression(bytes, 5, meta)', () => convertDeepCompression(bytes, 5 as never, meta), /^convertDeepCompression: prototxt must be a string, got 5$/],
  ['convertDeepCompression(bytes, "", provenance null)', () => convertDeepCompression(bytes, '', { ...meta, provenance: null as never }), /^convertDeepCompression: meta\.provenance must be an object, got null$/],
  ['quantizeModel(null, [], wasm)', () => quantizeModel(null as never, [], wasm), /^quantizeModel: model must be a ValidModel/],
  ['quantizeModel(model, null, wasm)', () => quantizeModel(net.model, null as never, wasm), /^quantizeModel: images must be an array, got null$/],
  ['quantizeModel(model, [], "wasm")', () => quantizeModel(net.model, [], 'wasm' as never), /^quantizeModel: wasm must be a compiled WebAssembly.Module, got "wasm"$/],
  ['trainClassifier({}, [], [])', () => trainClassifier({} as never, [], []), /^trainClassifier: extractor must be a FeatureExtractor, got an object$/],
  ['trainClassifier(fx, [], [], null)', () => trainClassifier(fx, [], [], null as never), /^trainClassifier: options must be an object, got null$/],
  ['trainSoftmax(null, [], 2)', () => trainSoftmax(null as never, [], 2), /^trainSoftmax: features must be an array, got null$/],
  ['trainSoftmax([], [], "2")', () => trainSoftmax([], [], '2' as never), /^trainSoftmax: classes must be a number, got "2"$/],
  ['headModel(null, head, options)', () => headModel(null as never, head, { name: 'h', labels: ['a', 'b'], provenance: meta.provenance }), /^headModel: base must be a ValidModel/],
  ['headModel(model, head, {})', () => headModel(net.model, head, {} as never), /^headModel: options\.labels must be an array, got undefined$/],
  ['kernelsModule(1n)', () => kernelsModule(1n as never), /^unknown kernel build 1; the builds are plain, relaxed$/],
  ['readModelFile(5)', () => readModelFile(5 as never), /^readModelFile: nameOrPath must be a string, got 5$/],
  ['withModelBytes(null, load)', () => withModelBytes(null as never, nothing), /^withModelBytes: source must be a string or a Uint8Array, got null$/],
  ['withModelBytes(bytes, null)', () => withModelBytes(bytes, null as never), /^withModelBytes: load must be a function, got null$/],
  ['packageFile(null)', () => packageFile(null as never), /^packageFile: relative must be a string, got null$/],
  ['browser loadClassifier(ArrayBuffer)', () => browser.loadClassifier(new ArrayBuffer(8) as never), /^loadClassifier: source must be a URL or a string or a Uint8Array, got an ArrayBuffer/],
  ['browser loadClassifier(url, null)', () => browser.loadClassifier(browser.DEFAULT_MODEL_URL, null as never), /^loadClassifier: options must be an object, got null$/],
  ['browser kernelsModule(5)', () => browser.kernelsModule(5 as never), /^kernelsModule: url must be a URL or a string, got 5$/],
];

describe('public entries refuse arguments of the wrong type', () => {
  it.each(CASES)('%s: ArgumentError E_ARGUMENT naming the argument', async (_what, call, message) => {
    const error = await rejection(Promise.resolve().then(call));
    expectSqueezeError(error, ArgumentError, 'E_ARGUMENT', message);
  });

  it('a refused call leaves the classifier working', async () => {
    await rejection(net.classify(pixels, null as never));
    expect((await net.classify(pixels, { top: 2 })).top).toHaveLength(2);
  });
});

/**
 * squeezewasm for any JavaScript runtime (Cloudflare Workers, Deno, bundlers): the core plus the
 * JPEG/PNG decoder. The caller brings the compiled wasm module and the model bytes, as a Worker
 * does with its module imports:
 *
 * ```ts
 * import wasm from 'squeezewasm/squeezewasm.wasm';      // a WebAssembly.Module in workerd
 * import model from 'squeezewasm/weights/squeezenet1.1-int8.sqz';
 * const net = await createClassifier(wasm, new Uint8Array(model));
 * ```
 * @packageDocumentation
 */
import { checkArguments } from './arguments.js';
import { Classifier, type LoadOptions } from './classifier.js';
import { decodeImage } from './image/decode.js';
import { FeatureExtractor } from './transfer/features.js';

export * from './core.js';
export { decodeImage, DEFAULT_IMAGE_LIMITS } from './image/decode.js';
export { setDecoderModule } from './image/codec.js';
export { FeatureExtractor, type ExtractedFeatures, type FeatureMap } from './transfer/features.js';

/**
 * Loads a model into a new instance of the kernels module, with the image decoder wired in.
 * @param wasm the compiled kernels module (dist/squeezewasm.wasm).
 * @param model the bytes of a model file.
 * @throws ModelFormatError if the model file is invalid, ArgumentError if an argument has the wrong type.
 */
export async function createClassifier(wasm: WebAssembly.Module, model: Uint8Array, options: LoadOptions = {}): Promise<Classifier> {
  checkArguments('createClassifier', { wasm: [wasm, 'module'], model: [model, 'bytes'], options: [options, 'object'] });
  return Classifier.create(model, wasm, { decode: decodeImage, ...options });
}

/**
 * Loads a model's feature network (the model cut before its classifier, globally averaged) into a
 * new instance of the kernels module, with the image decoder wired in.
 * @param wasm the compiled kernels module (dist/squeezewasm.wasm).
 * @param model the bytes of a model file whose network ends in a convolution and a global average pool.
 * @throws ModelFormatError if the model file is invalid, ArgumentError if it has no feature layer
 *   or an argument has the wrong type.
 */
export async function createFeatureExtractor(wasm: WebAssembly.Module, model: Uint8Array, options: LoadOptions = {}): Promise<FeatureExtractor> {
  checkArguments('createFeatureExtractor', { wasm: [wasm, 'module'], model: [model, 'bytes'], options: [options, 'object'] });
  return FeatureExtractor.create(model, wasm, { decode: decodeImage, ...options });
}

/**
 * Loading the kernels and models from the package's files in Node: what the main Node entry
 * (src/node.ts) and the CLI share. Apart from src/node.ts so that the CLI's classify command
 * loads this without the converters and training that src/node.ts also exports.
 * @packageDocumentation
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { checkArguments, describe } from './arguments.js';
import { Classifier, type LoadOptions } from './classifier.js';
import { ArgumentError, SqueezeError } from './errors.js';
import { readBoundedFile } from './files.js';
import { setDecoderModule } from './image/codec.js';
import { decodeImage } from './image/decode.js';
import { DEFAULT_LIMITS, resolveLimits } from './limits.js';
import { FeatureExtractor } from './transfer/features.js';
import { KERNEL_FILES, relaxedSimdSupported, type KernelBuild } from './wasm/kernels.js';

// This file runs from src/ (tests), from dist/ (the library's bundles) or from dist/chunks/ (the
// CLI's commands): the package root is whichever parent holds package.json.
const ROOT = [new URL('../', import.meta.url), new URL('../../', import.meta.url)].find((u) => existsSync(new URL('package.json', u)))!;

/** Models shipped in weights/, by name. The first is the default. */
export const BUNDLED_MODELS: readonly string[] = ['squeezenet1.1-int8', 'squeezenet1.0-int8', 'squeezenet1.1-f32', 'squeezenet1.0-f32'];
/** The model {@link loadClassifier} loads when given none. */
export const DEFAULT_MODEL = BUNDLED_MODELS[0];

// decodeImage before any model is loaded: compile the plain build, synchronously, on first use.
setDecoderModule(() => new WebAssembly.Module(readFileSync(new URL(`dist/${KERNEL_FILES.plain}`, ROOT))));

const wasmModules = new Map<KernelBuild, Promise<WebAssembly.Module>>();

/**
 * The compiled kernels module, compiled once per process: by default the relaxed SIMD build where
 * this Node runs it (22 and later), else the plain SIMD one.
 * @throws ArgumentError for an unknown build, or 'relaxed' where this Node lacks relaxed SIMD.
 */
export function kernelsModule(build: KernelBuild = relaxedSimdSupported() ? 'relaxed' : 'plain'): Promise<WebAssembly.Module> {
  if (!Object.hasOwn(KERNEL_FILES, build)) return Promise.reject(new ArgumentError('E_ARGUMENT', `unknown kernel build ${describe(build)}; the builds are ${Object.keys(KERNEL_FILES).join(', ')}`));
  if (build === 'relaxed' && !relaxedSimdSupported()) {
    return Promise.reject(new ArgumentError('E_ARGUMENT', `Node ${process.version} has no relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)`));
  }
  let module = wasmModules.get(build);
  // Read synchronously, as model files are (src/files.ts).
  if (!module) wasmModules.set(build, (module = WebAssembly.compile(readFileSync(new URL(`dist/${KERNEL_FILES[build]}`, ROOT)))));
  return module;
}

/** Absolute path of a file shipped in the package, e.g. `weights/imagenet-labels.txt`. */
export function packageFile(relative: string): string {
  checkArguments('packageFile', { relative: [relative, 'string'] });
  return fileURLToPath(new URL(relative, ROOT));
}

/** Path of a bundled model's file, or undefined if `name` is not bundled. */
export function bundledModelPath(name: string): string | undefined {
  return BUNDLED_MODELS.includes(name) ? packageFile(`weights/${name}.sqz`) : undefined;
}

/**
 * Reads model bytes from a bundled model's name or a file path.
 * @throws ArgumentError if the file cannot be read, LimitError if it is too large to be a model.
 */
export async function readModelFile(nameOrPath: string, maxBytes = DEFAULT_LIMITS.maxFileBytes): Promise<Uint8Array> {
  checkArguments('readModelFile', { nameOrPath: [nameOrPath, 'string'], maxBytes: [maxBytes, 'number'] });
  const path = bundledModelPath(nameOrPath);
  if (!path && !existsSync(nameOrPath)) {
    throw new ArgumentError('E_MODEL_FILE', `cannot read model ${JSON.stringify(nameOrPath)}: no such file and not a bundled model (${BUNDLED_MODELS.join(', ')})`);
  }
  return readBoundedFile(path ?? nameOrPath, maxBytes, { what: 'model file', code: 'E_MODEL_FILE', limit: 'maxFileBytes' });
}

/**
 * Runs `load` on the bytes of a model given by name, path or bytes; a typed error it throws names
 * the model first, so "checksum does not match" says which file.
 */
export async function withModelBytes<T>(source: string | Uint8Array, load: (bytes: Uint8Array) => T | Promise<T>, maxBytes = DEFAULT_LIMITS.maxFileBytes): Promise<T> {
  checkArguments('withModelBytes', { source: [source, 'string', 'bytes'], load: [load, 'function'], maxBytes: [maxBytes, 'number'] });
  if (typeof source !== 'string') return load(source);
  const bytes = await readModelFile(source, maxBytes);
  try {
    return await load(bytes);
  } catch (e) {
    if (e instanceof SqueezeError) e.message = `${bundledModelPath(source) ? source : `model ${source}`}: ${e.message}`;
    throw e;
  }
}

/**
 * Loads a model: a bundled model's name (default {@link DEFAULT_MODEL}), a file path, or the bytes
 * of a model file as a Uint8Array (an ArrayBuffer is refused: wrap it, `new Uint8Array(buffer)`).
 * @throws ModelFormatError if the file is not a valid model, ArgumentError if it cannot be read or
 *   an argument has the wrong type.
 */
export async function loadClassifier(source: string | Uint8Array = DEFAULT_MODEL, options: LoadOptions = {}): Promise<Classifier> {
  checkArguments('loadClassifier', { source: [source, 'string', 'bytes'], options: [options, 'object'] });
  const wasm = await kernelsModule();
  return withModelBytes(source, (bytes) => Classifier.create(bytes, wasm, { decode: decodeImage, ...options }), resolveLimits(options.limits).maxFileBytes);
}

/**
 * Loads the feature network of a model (default {@link DEFAULT_MODEL}: the 512 channels of
 * SqueezeNet 1.1's fire9, averaged): a bundled model's name, a file path, or the bytes of a model
 * file as a Uint8Array (as {@link loadClassifier} takes them).
 * @throws ModelFormatError if the file is not a valid model, ArgumentError if it cannot be read,
 *   has no feature layer or an argument has the wrong type.
 */
export async function loadFeatureExtractor(source: string | Uint8Array = DEFAULT_MODEL, options: LoadOptions = {}): Promise<FeatureExtractor> {
  checkArguments('loadFeatureExtractor', { source: [source, 'string', 'bytes'], options: [options, 'object'] });
  const wasm = await kernelsModule();
  return withModelBytes(source, (bytes) => FeatureExtractor.create(bytes, wasm, { decode: decodeImage, ...options }), resolveLimits(options.limits).maxFileBytes);
}

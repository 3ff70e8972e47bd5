/**
 * squeezewasm in the browser: the main entry plus loading the kernels and models over HTTP from
 * where the package is served (dist/ next to weights/).
 *
 * ```ts
 * import { loadClassifier } from 'squeezewasm';       // resolves here under the "browser" condition
 * const net = await loadClassifier();
 * const { top } = await net.classify(new Uint8Array(await file.arrayBuffer()));
 * ```
 * @packageDocumentation
 */
import { checkArguments } from './arguments.js';
import type { Classifier, LoadOptions } from './classifier.js';
import { ArgumentError } from './errors.js';
import { createClassifier } from './index.js';
import { KERNEL_FILES, relaxedSimdSupported } from './wasm/kernels.js';

export * from './index.js';

/** The model {@link loadClassifier} loads when given none. */
export const DEFAULT_MODEL_URL = new URL('../weights/squeezenet1.1-int8.sqz', import.meta.url);

let wasmModule: Promise<WebAssembly.Module> | undefined;

/**
 * The compiled kernels module, fetched and compiled once per page: by default the relaxed SIMD
 * build where the browser runs it, else the plain SIMD one, both next to this file.
 */
export function kernelsModule(url: URL | string = new URL(`./${KERNEL_FILES[relaxedSimdSupported() ? 'relaxed' : 'plain']}`, import.meta.url)): Promise<WebAssembly.Module> {
  checkArguments('kernelsModule', { url: [url, 'url', 'string'] });
  wasmModule ??= fetchBytes(url).then((bytes) => WebAssembly.compile(bytes));
  return wasmModule;
}

async function fetchBytes(url: URL | string): Promise<ArrayBuffer> {
  const response = await fetch(url);
  if (!response.ok) throw new ArgumentError('E_FETCH', `cannot fetch ${String(url)}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/**
 * Loads a model from a URL (default: the bundled int8 SqueezeNet 1.1) or from its bytes as a
 * Uint8Array (an ArrayBuffer is refused: wrap it, `new Uint8Array(buffer)`).
 * @throws ModelFormatError if the file is not a valid model, ArgumentError if it cannot be fetched
 *   or an argument has the wrong type.
 */
export async function loadClassifier(source: URL | string | Uint8Array = DEFAULT_MODEL_URL, options: LoadOptions = {}): Promise<Classifier> {
  checkArguments('loadClassifier', { source: [source, 'url', 'string', 'bytes'], options: [options, 'object'] });
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(await fetchBytes(source));
  return createClassifier(await kernelsModule(), bytes, options);
}

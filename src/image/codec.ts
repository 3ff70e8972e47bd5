/**
 * The wasm side of image handling. The JPEG and PNG decoders and the input preprocessing live in
 * the kernels module (assembly/image/), but run in an instance of their own: an image's buffers
 * never grow a model's memory, and a corrupt file that traps cannot leave a model's arena
 * half-written.
 * @packageDocumentation
 */

import { checkArguments } from '../arguments.js';
import { ArgumentError, ImageError } from '../errors.js';
import { instantiateKernelsSync, type KernelExports } from '../wasm/kernels.js';
import { Scratch } from '../wasm/scratch.js';

type ModuleSource = WebAssembly.Module | (() => WebAssembly.Module);

let source: ModuleSource | undefined;
let instance: KernelExports | undefined;

/** Memory a decoder instance may keep between images; past it, the instance is dropped after use. */
const KEEP_BYTES = 32 * 2 ** 20;

/**
 * Sets the kernels module that {@link decodeImage} decodes with (any build: the decoders use plain
 * SIMD only). Loading a model offers its module when none is set, so a page or Worker that loads a
 * model first needs no call; the Node entry compiles dist/squeezewasm.wasm on first use.
 * @param module - The compiled module, or a function compiling it synchronously on first use.
 * @throws {@link ArgumentError} if `module` is neither.
 */
export function setDecoderModule(module: ModuleSource): void {
  checkArguments('setDecoderModule', { module: [module, 'module', 'function'] });
  source = module;
  instance = undefined;
}

/** Offers a loaded model's module: used unless a module (not just a lazy compiler) is already set. */
export function offerDecoderModule(module: WebAssembly.Module): void {
  if (source instanceof WebAssembly.Module) return;
  source = module;
  instance = undefined;
}

function codecInstance(): KernelExports {
  if (instance) return instance;
  if (source === undefined) {
    throw new ArgumentError('E_NO_DECODER', 'decoding an image needs the kernels module: load a model first, or pass the compiled module to setDecoderModule');
  }
  const module = typeof source === 'function' ? source() : source;
  source = module;
  instance = instantiateKernelsSync(module);
  return instance;
}

/**
 * Runs `use` with the decoder instance's memory, from its start. A trap (a decoder reading past
 * its memory on a corrupt file) becomes an ImageError, and the instance is dropped afterwards if
 * it trapped or grew past {@link KEEP_BYTES}, so one large image does not pin its memory.
 * @param format - Named in the error a trap becomes, e.g. "JPEG".
 */
export function withCodec<T>(format: string, use: (memory: Scratch) => T): T {
  const exports = codecInstance();
  let ok = false;
  try {
    const result = use(new Scratch(exports));
    ok = true;
    return result;
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw new ImageError('E_IMAGE_DECODE', `${format} data is corrupt (the decoder stopped: ${e.message})`);
    throw e;
  } finally {
    if (!ok || exports.memory.buffer.byteLength > KEEP_BYTES) instance = undefined;
  }
}

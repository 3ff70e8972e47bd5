/**
 * The kernels module from the host's side: its exports (typed from src/wasm/signatures.ts, which
 * the build generates from the AssemblyScript sources), calls by named arguments, instantiation and
 * memory growth. One instance per loaded model: its linear memory holds that model's packed weights
 * and activations (src/runtime/memory.ts), and disposing the model drops the instance.
 * @packageDocumentation
 */
import { LimitError } from '../errors.js';
import { PARAMETERS, type KernelExports } from './signatures.js';

export type { KernelExports };

/** Every function the kernels module exports. */
export type KernelName = keyof typeof PARAMETERS;

type Split<S extends string> = S extends `${infer H} ${infer T}` ? [H, ...Split<T>] : S extends '' ? [] : [S];
type Names<K extends KernelName> = Split<(typeof PARAMETERS)[K]>;

/**
 * The arguments of kernel `K` by name, each typed as the kernel declares it. A missing, extra or
 * misspelt name does not compile, and neither does a swap: there are no positions to swap.
 */
export type KernelArgs<K extends KernelName> = {
  readonly [I in keyof Names<K> as I extends `${number}` ? Names<K>[I] : never]: Parameters<KernelExports[K]>[I & keyof Parameters<KernelExports[K]>];
};

const order = new Map<KernelName, string[]>();

/** `args` in the kernel's parameter order. */
function positional<K extends KernelName>(name: K, args: KernelArgs<K>): unknown[] {
  let names = order.get(name);
  if (!names) order.set(name, (names = PARAMETERS[name] === '' ? [] : PARAMETERS[name].split(' ')));
  return names.map((p) => (args as Record<string, unknown>)[p]);
}

/** Calls kernel `name` of `kernels` with named arguments. */
export function callKernel<K extends KernelName>(kernels: KernelExports, name: K, args: KernelArgs<K>): ReturnType<KernelExports[K]> {
  return (kernels[name] as (...a: unknown[]) => ReturnType<KernelExports[K]>)(...positional(name, args));
}

/** Kernel `name` of `kernels` with its arguments bound by name: a plan step's call, ready to repeat. */
export function bindKernel<K extends KernelName>(kernels: KernelExports, name: K, args: KernelArgs<K>): () => void {
  return (kernels[name] as (...a: unknown[]) => void).bind(undefined, ...positional(name, args)) as () => void;
}

const WASM_PAGE = 65536;

/** Instantiates the kernels module. Kernels never import anything; `abort` only exists for asc's runtime stub. */
export async function instantiateKernels(module: WebAssembly.Module): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, { env: { abort: kernelAbort } });
  return instance.exports as unknown as KernelExports;
}

/** The same, synchronously (for the image decoders' instance, which is made on first use). */
export function instantiateKernelsSync(module: WebAssembly.Module): KernelExports {
  return new WebAssembly.Instance(module, { env: { abort: kernelAbort } }).exports as unknown as KernelExports;
}

function kernelAbort(): never {
  throw new WebAssembly.RuntimeError('squeezewasm kernel aborted');
}

/**
 * Grows `memory` so that it holds at least `bytes` bytes.
 * @throws LimitError `engineMemory` if the engine cannot grow it (out of memory, or past 4 GiB).
 */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
  } catch {
    throw new LimitError('engineMemory', `the WebAssembly engine could not grow memory to ${bytes} bytes (out of memory)`);
  }
}

/**
 * The two builds of the kernels: `plain` (WebAssembly SIMD, runs everywhere squeezewasm does) and
 * `relaxed` (the same kernels with relaxed SIMD, where the engine has it). Only the float path
 * differs: the relaxed build fuses each multiply-add into one FMA, so float results move in the
 * last bits (within the tolerance documented in docs/performance.md); int8 results are identical.
 */
export type KernelBuild = 'plain' | 'relaxed';

/** File name of each build in dist/ (and in the package's exports). */
export const KERNEL_FILES: Record<KernelBuild, string> = { plain: 'squeezewasm.wasm', relaxed: 'squeezewasm-relaxed.wasm' };

/** A module whose one function is `(param v128 v128 v128) (result v128) f32x4.relaxed_madd`. */
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/**
 * Whether this engine accepts relaxed SIMD (Node 22+, Chrome 114+, workerd; Node 20 only with
 * --experimental-wasm-relaxed-simd). An engine without it rejects a module using any relaxed
 * instruction as a whole, hence a separate build rather than a branch inside one module.
 */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

import { readFileSync } from 'node:fs';
import { instantiateKernels, type KernelExports } from '../../src/wasm/kernels.js';

let compiled: WebAssembly.Module | undefined;

/** The kernels module built by `npm run build:wasm`. */
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../../build/squeezewasm.wasm', import.meta.url)));
  return compiled;
}

/** A fresh kernels instance with at least `bytes` of memory. */
export async function freshKernels(bytes = 1 << 20): Promise<KernelExports> {
  const k = await instantiateKernels(kernelsModule());
  const have = k.memory.buffer.byteLength;
  if (bytes > have) k.memory.grow(Math.ceil((bytes - have) / 65536));
  return k;
}

/** Deterministic pseudo-random numbers (mulberry32), so failures reproduce. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random integer in lo..hi inclusive. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

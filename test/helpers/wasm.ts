import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { windowOutputSize } from '../../src/model/graph.js';
import { mulberry32 } from '../../src/random.js';
import { instantiateKernels, type KernelExports } from '../../src/wasm/kernels.js';

let compiled: WebAssembly.Module | undefined;

/** The kernels module built by `npm run build:wasm`. */
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../../dist/squeezewasm.wasm', import.meta.url)));
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
export const rng = mulberry32;

/** Random integer in lo..hi inclusive. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/**
 * Runs a kernel's SIMD and scalar variants on the same random input and parameters, into two
 * outputs pre-filled with a sentinel, and expects identical bytes (gaps between strided pixels
 * included). `call` draws its parameters from the `r` it gets, runs one variant and returns how
 * many output bytes to compare.
 */
export async function compareVariants(
  seed: number,
  input: 'f32' | 'u8',
  call: (k: KernelExports, r: () => number, inp: number, out: number, variant: 'simd' | 'ref') => number,
  trials = 40,
): Promise<void> {
  const k = await freshKernels(4 << 20);
  const r = rng(seed);
  for (let trial = 0; trial < trials; trial++) {
    const base = k.heap_base();
    const outs = [base + (1 << 20), base + (2 << 20)];
    if (input === 'f32') {
      const f32 = new Float32Array(k.memory.buffer, base, (1 << 20) / 4);
      for (let i = 0; i < f32.length; i++) f32[i] = r() * 200 - 100;
    } else {
      const u8 = new Uint8Array(k.memory.buffer, base, 1 << 20);
      for (let i = 0; i < u8.length; i++) u8[i] = randInt(r, 0, 255);
    }
    let n = 0;
    for (const [i, out] of outs.entries()) {
      new Uint8Array(k.memory.buffer, out, 1 << 20).fill(0xa5);
      // The same seed gives both variants the same random parameters.
      n = call(k, rng(seed * 1000 + trial), base, out, i === 0 ? 'simd' : 'ref');
    }
    expect(new Uint8Array(k.memory.buffer, outs[0], n)).toEqual(new Uint8Array(k.memory.buffer, outs[1], n));
  }
}

/** Random pooling geometry: window, stride, padding, ceil rounding, odd channels, strided views. */
export function poolParams(r: () => number) {
  const C = randInt(r, 1, 23);
  const inStride = (C + randInt(r, 0, 5)) * 4;
  const outStride = (C + randInt(r, 0, 5)) * 4;
  const kh = randInt(r, 1, 4), kw = randInt(r, 1, 4);
  const sh = randInt(r, 1, 3), sw = randInt(r, 1, 3);
  const pt = randInt(r, 0, kh - 1), pl = randInt(r, 0, kw - 1), pb = randInt(r, 0, kh - 1), pr = randInt(r, 0, kw - 1);
  const H = randInt(r, kh, 19), W = randInt(r, kw, 19);
  const ceil = r() < 0.5;
  const OH = windowOutputSize(H, kh, sh, pt, pb, ceil), OW = windowOutputSize(W, kw, sw, pl, pr, ceil);
  return { C, inStride, outStride, kh, kw, sh, sw, pt, pl, pb, pr, H, W, OH, OW };
}

/** {@link poolParams} as a pooling kernel's window arguments, with strides for elements of `elem` bytes. */
export function windowArgs(p: ReturnType<typeof poolParams>, elem = 4) {
  const { H, W, C, OH, OW, kh, kw, sh, sw, pt, pl } = p;
  return { H, W, C, OH, OW, kh, kw, sh, sw, pt, pl, inStride: (p.inStride * elem) / 4, outStride: (p.outStride * elem) / 4 };
}

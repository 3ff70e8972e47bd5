/**
 * Which int8 dot product is faster on this engine and CPU. WebAssembly cannot see CPU features, so
 * the probe asks the instruction itself: i32x4.relaxed_dot_i8x16_i7x16_add_s is exact only while
 * its second operand is in 0..127, and outside that range its result shows how the engine lowered
 * it (values from V8 12-13, docs/performance.md "Choosing the int8 dot product"):
 *
 * | lowering                                   | dot(127, 255) x4 | dot(-128, -128) x4 |
 * | ------------------------------------------ | ---------------- | ------------------ |
 * | x86 `vpdpbusd` (AVX-VNNI): one instruction | 129540           | -65536             |
 * | x86 without it (`pmaddubsw`, saturating)   | 65534 or 131068  | -65536 or -131072  |
 * | Arm `sdot` (dot-product extension)         | -508             | 65536              |
 * | Arm without it (widening multiplies)       | -508             | -65536             |
 *
 * Timing the two kernels at load does not work: a model's first calls run V8's baseline code,
 * which on Arm lowers the instruction without `sdot`, and on x86 took the same time for both
 * kernels where the optimized relaxed one is twice as fast (measured). The baseline code's answer
 * is the optimized code's on x86; on Arm the probe function is first run long enough for V8 to
 * optimize it in the background, and asked again when the model is planned. Both paths compute the
 * same integers, so the choice never changes a result.
 * @packageDocumentation
 */
import { callKernel, type KernelExports } from '../wasm/kernels.js';
import type { Int8Dot } from './types.js';

/** Iterations of the probe's loop that make V8 optimize it (8 dots each; measured: between 35k and 40k on Node 24). */
const OPTIMIZE_ITERATIONS = 50_000;

/** Modules whose probe has been optimized, or asked to be: the optimized code serves every instance of a module. */
const started = new WeakSet<object>();

/**
 * Whether this is the relaxed build on an engine whose relaxed dot product is exact in range, as the
 * final specification makes it (Node 20's flagged draft computes twice the sum).
 */
export function relaxedDotExact(kernels: KernelExports): boolean {
  if (callKernel(kernels, 'relaxed_build', {}) === 0) return false;
  const probe = (a: number, b: number): number => callKernel(kernels, 'relaxed_dot_probe', { a, b, n: 1 });
  return probe(1, 1) === 4 && probe(-127, 127) === -64516;
}

/**
 * How the engine's relaxed dot reads an 8-bit second operand exactly, if it does: `u8` (one
 * `vpdpbusd`, unsigned and not saturated) or `s8` (one `sdot`), per the table above.
 */
export function relaxedDot8Bits(kernels: KernelExports): 'u8' | 's8' | undefined {
  if (!relaxedDotExact(kernels)) return undefined;
  const how = lowering(kernels);
  return how === 'vnni' ? 'u8' : how === 'sdot' ? 's8' : undefined;
}

/** The relaxed dot's lowering, as the table above tells it from the probe's results. */
function lowering(kernels: KernelExports): 'vnni' | 'sdot' | 'emulated' | 'arm-unknown' {
  const x86 = callKernel(kernels, 'relaxed_dot_probe', { a: 127, b: 255, n: 1 });
  if (x86 === 129540) return 'vnni';
  if (x86 !== -508) return 'emulated';
  return callKernel(kernels, 'relaxed_dot_probe', { a: -128, b: -128, n: 1 }) === 65536 ? 'sdot' : 'arm-unknown';
}

/**
 * Starts the probe for a new instance: on Arm, runs it long enough that V8 optimizes it in the
 * background while the model is read (a few milliseconds, once per module).
 * @param module - The instance's compiled module, by which the optimization is remembered.
 */
export function startInt8DotProbe(kernels: KernelExports, module: object): void {
  if (started.has(module) || !relaxedDotExact(kernels)) return;
  started.add(module);
  if (lowering(kernels) === 'arm-unknown') callKernel(kernels, 'relaxed_dot_probe', { a: -128, b: -128, n: OPTIMIZE_ITERATIONS });
}

/**
 * The int8 dot product to plan with: `relaxed-u8` where the engine lowers the relaxed dot to
 * `vpdpbusd`, `relaxed-s8` where it lowers it to `sdot`, else `dot16`. On Arm, before V8 has
 * optimized the probe, the answer is `dot16` (the same results, today's speed).
 */
export function probeInt8Dot(kernels: KernelExports): Int8Dot {
  const bits = relaxedDot8Bits(kernels);
  return bits ? `relaxed-${bits}` : 'dot16';
}

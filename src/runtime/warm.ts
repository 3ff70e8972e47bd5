/**
 * Kernel warm-up. V8 first runs wasm on its baseline compiler and optimizes a function in the
 * background once it has run enough; a kernel whose first call is a whole layer stays on baseline
 * code throughout it, which made a model's first inference twice as slow as the next.
 * @packageDocumentation
 */
import type { KernelName } from '../wasm/kernels.js';
import type { Step } from './types.js';

/**
 * Calls of each kernel in {@link warmUp}. V8 counts the code a function runs, not time: on Node 20,
 * 8 made every kernel optimized by the first inference, 12 leaves a margin. Node 24 optimizes later
 * (32 were not enough there), so the first inference there is partly on baseline code.
 */
const WARM_CALLS = 12;

/**
 * Runs each kernel among `steps` {@link WARM_CALLS} times on a small prefix of its first step, so
 * that V8 optimizes it on another core while the weights are packed and the image decoded. The
 * planner calls this before it packs (src/runtime/memory.ts): kernels compute garbage, and the
 * sparse kernel, seeing no nonzero weights yet, warms up little. About a millisecond.
 */
export function warmUp(steps: readonly Step[]): void {
  const seen = new Set<KernelName>();
  for (const { warm } of steps) {
    if (!warm || seen.has(warm.kernel)) continue;
    seen.add(warm.kernel);
    for (let i = 0; i < WARM_CALLS; i++) warm.run();
  }
}

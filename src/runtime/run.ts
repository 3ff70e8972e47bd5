/**
 * The runner: one plain loop over the planned steps, plus the float math at the very end.
 * @packageDocumentation
 */
import type { Plan, Step } from './plan.js';

/**
 * Runs every step of `plan` on whatever its input slot holds and returns a copy of the output.
 * From step `from` on, it runs only the tail of the network, on activations put in place by the caller.
 */
export function run(plan: Plan, from = 0): Float32Array {
  for (let i = from; i < plan.steps.length; i++) plan.steps[i].run();
  return outputOf(plan);
}

/**
 * Calls of each kernel in {@link warmUp}. V8 counts the code a function runs, not time: on Node 20,
 * 8 made every kernel optimized by the first inference, 12 leaves a margin. Node 24 optimizes later
 * (32 were not enough there), so the first inference there is partly on baseline code.
 */
const WARM_CALLS = 12;

/**
 * Runs each kernel among `steps` {@link WARM_CALLS} times on a small prefix of its first step. Why:
 * V8 first runs wasm on its baseline compiler and optimizes a function in the background once it
 * has run enough; a kernel's first call (a whole layer) stays on baseline code throughout, which
 * made the first inference twice as slow as the next. The planner runs this once memory is laid
 * out and before it packs the weights, so the kernels compute garbage in the arena (nothing is
 * there yet, and the packed weights are still zero) and are optimized on the other core while the
 * weights are packed and the image decoded. About a millisecond. The sparse kernel's warm-up does
 * little: with no weights packed it sees no nonzeros.
 */
export function warmUp(steps: readonly Step[]): void {
  const seen = new Set<unknown>();
  for (const { warm } of steps) {
    if (!warm || seen.has(warm.kernel)) continue;
    seen.add(warm.kernel);
    for (let i = 0; i < WARM_CALLS; i++) warm.run();
  }
}

/** Runs `plan` like {@link run}, timing each step with `now()` (milliseconds). */
export function runTimed(plan: Plan, now: () => number): { output: Float32Array; ms: Float64Array } {
  const ms = new Float64Array(plan.steps.length);
  plan.steps.forEach((step, i) => {
    const t0 = now();
    step.run();
    ms[i] = now() - t0;
  });
  return { output: outputOf(plan), ms };
}

/** The output as float logits: copied, or dequantized (real = scale x (q - zeroPoint)). */
function outputOf(plan: Plan): Float32Array {
  const { ptr, c, dtype } = plan.output;
  const memory = plan.kernels.memory.buffer;
  if (dtype === 'f32') return new Float32Array(memory, ptr, c).slice();
  const { scale, zeroPoint } = plan.outputQuant!;
  const q = dtype === 'i32' ? new Int32Array(memory, ptr, c) : new Uint8Array(memory, ptr, c);
  const out = new Float32Array(c);
  for (let i = 0; i < c; i++) out[i] = scale * (q[i] - zeroPoint);
  return out;
}

/** Softmax in float64 (no overflow: the maximum is subtracted first), returned as float32. */
export function softmax(logits: Float32Array): Float32Array {
  // Plain indexed loops: this runs once per image, often before the JIT has compiled it.
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const exp = new Float64Array(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += exp[i] = Math.exp(logits[i] - max);
  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = exp[i] / sum;
  return out;
}

/**
 * Indices of the `k` largest values, largest first; ties keep the lower index first. A small `k`
 * (the usual top 5) is one pass keeping the best so far in order, not a sort of every index.
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  const n = Math.max(0, Math.min(k, values.length));
  if (n > 32) {
    const order = Array.from({ length: values.length }, (_, i) => i);
    order.sort((a, b) => values[b] - values[a] || a - b);
    return order.slice(0, n);
  }
  const best: number[] = [];
  for (let i = 0; i < values.length && n > 0; i++) {
    const v = values[i];
    if (best.length === n && !(v > values[best[n - 1]])) continue;
    // After every kept value at least as large: equal values stay in index order.
    let at = best.length;
    while (at > 0 && v > values[best[at - 1]]) at--;
    best.splice(at, 0, i);
    if (best.length > n) best.pop();
  }
  return best;
}

/**
 * The runner: one plain loop over the planned steps.
 * @packageDocumentation
 */
import { outputOf } from './output.js';
import type { Plan } from './types.js';

/**
 * Runs every step of `plan` on whatever its input slot holds and returns the output as float logits.
 * From step `from` on, it runs only the tail of the network, on activations put in place by the caller.
 */
export function run(plan: Plan, from = 0): Float32Array {
  for (let i = from; i < plan.steps.length; i++) plan.steps[i].run();
  return outputOf(plan);
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

/**
 * How op planners make steps: the kernel variant a plan binds, and a step that calls one kernel
 * with named arguments.
 * @packageDocumentation
 */
import type { CheckedOp } from '../../model/validate.js';
import { bindKernel, type KernelArgs, type KernelName } from '../../wasm/kernels.js';
import type { KernelPair, PlanContext, Step } from '../types.js';

/** The kernel of `pair` the plan binds: SIMD, or the scalar reference. */
export function pick<P extends KernelPair>(ctx: PlanContext, pair: P): P['simd'] | P['ref'] {
  return ctx.choices.variant === 'simd' ? pair.simd : pair.ref;
}

/** Options of {@link kernelStep}. */
export interface StepOptions<K extends KernelName> {
  /** Multiply-accumulates of the step (reports only). */
  macs?: number;
  /** Arguments for a small prefix of the step's work: the step then warms its kernel up. */
  warm?: KernelArgs<K>;
}

/** A step of op `c` that calls `kernel` with `args`. */
export function kernelStep<K extends KernelName>(ctx: PlanContext, c: CheckedOp, kernel: K, args: KernelArgs<K>, options: StepOptions<K> = {}): Step {
  const warm = options.warm && { kernel, run: bindKernel(ctx.kernels, kernel, options.warm) };
  return { ...stepOf(ctx, c, options.macs ?? 0), run: bindKernel(ctx.kernels, kernel, args), warm };
}

/** The parts of a step of op `c` that do not depend on its kernel. */
export function stepOf(ctx: PlanContext, c: CheckedOp, macs: number): Omit<Step, 'run' | 'warm'> {
  return { name: c.op.output, op: c.op.op, macs, inputs: c.inputs.map((x) => ctx.view(x.name)), output: ctx.view(c.op.output) };
}

/** The data of constant `name` (absent for an absent name: an optional bias). */
export function constant<T extends Float32Array | Int8Array | Int32Array>(ctx: PlanContext, name: string | undefined): T | undefined {
  return name === undefined ? undefined : (ctx.model.tensors.get(name)!.data as T);
}

/** The most input channels of any conv in the model: what the shared conv scratch areas are sized for. */
export function maxConvChannels(ctx: PlanContext): number {
  return Math.max(...ctx.model.checked.map((c) => (c.op.op === 'conv' ? c.inputs[0].shape.c : 0)));
}

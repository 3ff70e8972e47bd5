/**
 * The planner: runs once per model. It places every activation in one arena (src/runtime/place.ts),
 * has each op's planner (src/runtime/ops/) choose its kernel, allocate its constants and bind its
 * steps, checks the limits, then warms the kernels up and packs the weights. Nothing is allocated
 * after this.
 * @packageDocumentation
 */
import { LimitError } from '../errors.js';
import type { Op } from '../model/format.js';
import type { ValidModel } from '../model/validate.js';
import type { KernelExports } from '../wasm/kernels.js';
import { ModelMemory } from './memory.js';
import { PLANNERS, type OpPlanner } from './ops/index.js';
import { TWO_PLANE_MIN_CHANNELS } from './ops/p7.js';
import { SPARSE_MAX_DENSITY } from './ops/sparse.js';
import { placeActivations, storageTypes, type Placement } from './place.js';
import { DEFAULT_RUN_LIMITS, type KernelChoices, type Plan, type PlanContext, type RunLimits } from './types.js';
import { warmUp } from './warm.js';
import { softmaxInt8Params } from '../model/tflite-arithmetic.js';

/** Planner options. */
export interface PlanOptions extends Partial<KernelChoices> {
  /** Overrides of {@link DEFAULT_RUN_LIMITS}. */
  limits?: Partial<RunLimits>;
  /** Warm the kernels up before packing the weights (src/runtime/warm.ts; Classifier does). */
  warm?: boolean;
}

/** The kernel choices of `options`: SIMD kernels, dot16, Winograd where it applies, sparse kernels up to {@link SPARSE_MAX_DENSITY}. */
function choices(options: PlanOptions): KernelChoices {
  const { variant = 'simd', int8Dot = 'dot16', winograd = true, sparseDensity = SPARSE_MAX_DENSITY, twoPlaneMinChannels = TWO_PLANE_MIN_CHANNELS } = options;
  return { variant, int8Dot, twoPlaneMinChannels, winograd, sparseDensity };
}

function context(model: ValidModel, memory: ModelMemory, placement: Placement, arena: number, kernelChoices: KernelChoices): PlanContext {
  const shared = new Map<string, number>();
  return {
    model,
    memory,
    kernels: memory.kernels,
    choices: kernelChoices,
    view: (name) => placement.view(name, arena),
    inPlace: placement.inPlace,
    shared(key, bytes) {
      if (!shared.has(key)) shared.set(key, memory.allocate(bytes()));
      return shared.get(key)!;
    },
  };
}

/**
 * Lays `model` out in the memory of a kernels instance and binds every step.
 * @param target - The instance, or its {@link ModelMemory} when the model was read through its scan.
 * @throws LimitError if the network needs more memory or work than allowed.
 */
export function planModel(model: ValidModel, target: KernelExports | ModelMemory, options: PlanOptions = {}): Plan {
  const memory = target instanceof ModelMemory ? target : new ModelMemory(target);
  const { maxMemoryBytes, maxMacs } = { ...DEFAULT_RUN_LIMITS, ...options.limits };
  if (model.work > maxMacs) throw new LimitError('maxMacs', `the network needs ${model.work.toExponential(2)} units of work per image (multiply-accumulates and their equivalents), more than the limit of ${maxMacs.toExponential(2)}`);
  const fits = (bytes: number): void => {
    if (bytes > maxMemoryBytes) throw new LimitError('maxMemoryBytes', `the network needs at least ${bytes} bytes of wasm memory, more than the limit of ${maxMemoryBytes}`);
  };
  const last = model.ops[model.ops.length - 1];
  const endsInSoftmax = last.op === 'softmax';
  const output = endsInSoftmax ? last.input : model.output;

  const kernelChoices = choices(options);
  const placement = placeActivations(model, output, storageTypes(model, kernelChoices.int8Dot));
  fits(placement.bytes);
  const ctx = context(model, memory, placement, memory.place(placement.bytes), kernelChoices);
  const steps = model.checked.flatMap((c) => (PLANNERS[c.op.op] as OpPlanner<Op> | undefined)?.(c, ctx) ?? []);
  memory.seal(fits);
  if (options.warm) memory.warm(() => warmUp(steps));
  memory.pack();
  return {
    kernels: memory.kernels,
    input: ctx.view(model.input.name),
    inputQuant: model.act(model.input.name).quant,
    output: ctx.view(output),
    outputQuant: model.act(output).quant,
    endsInSoftmax,
    ...(last.op === 'softmax' && last.rounding === 'tflite' ? { tfliteSoftmax: softmaxInt8Params(model.act(last.input).quant!.scale, last.beta) } : {}),
    steps,
    int8Dot: ctx.choices.int8Dot,
    memoryBytes: memory.bytes,
    arenaBytes: placement.bytes,
  };
}

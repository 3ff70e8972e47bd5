/**
 * The op planners, one per op family, by op kind: each turns one validated op into the steps
 * that run it (see docs/architecture.md, "Adding an op").
 * @packageDocumentation
 */
import type { Op, OpKind } from '../../model/format.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext, Step } from '../types.js';
import { planAdd } from './add.js';
import { planConv } from './conv.js';
import { planConcat, planFlatten, planRelu } from './copy.js';
import { planAvgPool, planGlobalAvgPool, planMaxPool } from './pool.js';

/** Turns op `c` into steps, allocating its constants and registering their packers in `ctx.memory`. */
export type OpPlanner<O extends Op> = (c: CheckedOp<O>, ctx: PlanContext) => Step[];

/** The planner of every op kind; a final softmax has none: it runs in float on the host (src/runtime/output.ts). */
export const PLANNERS: { [K in OpKind]: OpPlanner<Extract<Op, { op: K }>> | undefined } = {
  conv: planConv,
  maxpool: planMaxPool,
  avgpool: planAvgPool,
  globalavgpool: planGlobalAvgPool,
  concat: planConcat,
  add: planAdd,
  flatten: planFlatten,
  relu: planRelu,
  softmax: undefined,
};

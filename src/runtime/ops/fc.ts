/**
 * Planner of a fully connected layer imported from .tflite with int8 weights: TFLite's own
 * requantization in double (assembly/kernels/u8-fc.ts). The weights are widened to int16 rows
 * padded to 8, the input zero point is folded into the bias, and each output channel's scale is
 * TFLite's inputScale * weightScale / outputScale (src/model/tflite-arithmetic.ts).
 * @packageDocumentation
 */
import type { ConvOp } from '../../model/format.js';
import { fullyConnectedOutputScale } from '../../model/tflite-arithmetic.js';
import type { CheckedOp } from '../../model/validate.js';
import type { PlanContext, Step } from '../types.js';
import type { Requantization } from './requant.js';
import { constant, kernelStep, pick } from './step.js';

/** A 1x1 conv over a vector with TFLite's fully connected rounding. */
export function planFcTfl(c: CheckedOp<ConvOp>, ctx: PlanContext, rq: Requantization): Step[] {
  const { op } = c;
  const [x, y] = [ctx.view(op.input), ctx.view(op.output)];
  const [K, N] = [x.c, y.c];
  const K8 = Math.ceil(K / 8) * 8;
  const at = { w: ctx.memory.allocate(N * K8 * 2), bias: ctx.memory.allocate(N * 4), scale: ctx.memory.allocate(N * 8) };
  const [w, bias, scales] = [constant<Int8Array>(ctx, op.weight)!, constant<Int32Array>(ctx, op.bias), constant<Float32Array>(ctx, op.weightScale)!];
  const [zIn, sIn, sOut] = [c.inputs[0].quant!.zeroPoint, c.inputs[0].quant!.scale, c.output.quant!.scale];
  ctx.memory.addPacker({
    staging: 0,
    fill(stage) {
      const buffer = stage.kernels.memory.buffer;
      const [rows, b, s] = [new Int16Array(buffer, at.w, N * K8).fill(0), new Int32Array(buffer, at.bias, N), new Float64Array(buffer, at.scale, N)];
      for (let n = 0; n < N; n++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += rows[n * K8 + k] = w[n * K + k];
        b[n] = (bias ? bias[n] : 0) - zIn * sum;
        s[n] = fullyConnectedOutputScale(sIn, scales[n], sOut);
      }
    },
  });
  const args = { x: x.ptr, K, w: at.w, bias: at.bias, scale: at.scale, N, zOut: rq.zOut, qmin: rq.qmin, qmax: rq.qmax, out: y.ptr };
  return [kernelStep(ctx, c, pick(ctx, { simd: 'u8_fc_tfl_simd', ref: 'u8_fc_tfl_ref' }), args, { macs: K * N, warm: args })];
}

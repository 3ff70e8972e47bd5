/**
 * The int8 half of validation ({@link validateModel} runs it): every activation's quantization is
 * well-formed, ops that move values keep it, and each requantization matches its scales and cannot
 * overflow the kernels' 32-bit lanes.
 * @packageDocumentation
 */
import { checkConstShape, fail, isCount, tensorOf } from './check.js';
import { QUANT_RANGE, type ActShape, type AddOp, type ConvOp, type GlobalAvgPoolOp, type Model, type QuantParams, type SoftmaxOp } from './format.js';
import { addInt8Params, convMultiplier, meanInt8Params, softmaxInt8Params, type QuantizedMultiplier } from './tflite-arithmetic.js';
import { maxAbsQuantized, opInputs, readByI16Kernels, readersOf } from './graph.js';
import { quote } from '../text.js';
import type { WeightScan } from './scan.js';

/** Largest |accumulator| x multiplier / 2^shift a requantization may see: keeps the kernels' int32 lanes from wrapping. */
const MAX_REQUANT = 2 ** 31 - 512;

function quantOf(model: Model, name: string, where: string): QuantParams {
  const q = model.quant?.get(name);
  if (!q) fail('E_MODEL_QUANT', `${where}: activation ${quote(name)} has no quantization parameters`);
  return q;
}

function sameQuant(a: QuantParams, b: QuantParams): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.dtype === b.dtype;
}

/** Each activation's parameters are well-formed, and only kernels that read int16 read i16 ones. */
function checkQuantParams(model: Model, shapes: ReadonlyMap<string, ActShape>): void {
  if (!(model.quant instanceof Map)) fail('E_MODEL_QUANT', 'an int8 model needs quantization parameters for its activations');
  for (const [name, q] of model.quant) {
    if (!shapes.has(name)) fail('E_MODEL_QUANT', `quantization given for ${quote(name)}, which is not an activation`);
    if (typeof q !== 'object' || q === null || !(typeof q.scale === 'number' && Number.isFinite(q.scale) && q.scale > 0 && q.scale < 1e9)) {
      fail('E_MODEL_QUANT', `activation ${quote(name)}: scale must be a positive finite number`);
    }
    if (!(typeof q.dtype === 'string' && Object.hasOwn(QUANT_RANGE, q.dtype))) fail('E_MODEL_QUANT', `activation ${quote(name)}: dtype must be "u8", "u7", "i16" or "i32"`);
    const [lo, hi] = QUANT_RANGE[q.dtype];
    if (!isCount(q.zeroPoint, 0, lo < 0 ? 0 : hi)) {
      fail('E_MODEL_QUANT', `activation ${quote(name)}: zero point must be ${lo < 0 ? '0' : `an integer in 0..${hi}`}`);
    }
  }
  const readers = readersOf(model.ops);
  if (quantOf(model, model.input.name, 'input').dtype === 'i32') fail('E_MODEL_QUANT', 'the input must be quantized to u8, u7 or i16');
  for (const [name, q] of model.quant) {
    if (q.dtype === 'i16' && !readByI16Kernels(readers, name)) {
      fail('E_MODEL_QUANT', `activation ${quote(name)} is i16, but an average pool reads it: only convs, adds, max pools, concats, ReLUs and global average pools read int16`);
    }
    if (q.dtype === 'i32' && name !== model.output && (readers.get(name) ?? []).some((op) => op.op !== 'softmax')) {
      fail('E_MODEL_QUANT', `activation ${quote(name)} is i32 but feeds an integer op`);
    }
  }
}

/**
 * Checks an int8 model's quantization: every activation has valid parameters, ops that move
 * values without arithmetic keep them, and each conv's integer requantization matches its scales
 * and cannot overflow the kernels' 32-bit lanes.
 * @returns each conv's |w| sums per output channel, by the conv's output name.
 */
export function checkQuantization(model: Model, shapes: ReadonlyMap<string, ActShape>, scan: WeightScan): Map<string, ArrayLike<number>> {
  checkQuantParams(model, shapes);
  const absSums = new Map<string, ArrayLike<number>>();
  model.ops.forEach((op, i) => {
    const where = `op ${i} (${op.op} -> ${quote(op.output)})`;
    if ('rounding' in op && op.rounding !== undefined && op.rounding !== 'tflite' && !(op.op === 'conv' && op.rounding === 'tflite-fc')) {
      fail('E_MODEL_QUANT', `${where}: rounding must be "tflite" (or "tflite-fc" for a conv) or absent`);
    }
    if (op.op === 'softmax') {
      if (op.rounding) checkSoftmaxTfl(model, op, where);
      return; // else float, on the host
    }
    const out = quantOf(model, op.output, where);
    const ins = opInputs(op).map((x) => quantOf(model, x, where));
    if (ins.some((q) => q.dtype === 'i32')) fail('E_MODEL_QUANT', `${where}: reads an i32 activation; only softmax or the output may`);
    switch (op.op) {
      case 'conv':
        if (out.dtype === 'i32') fail('E_MODEL_QUANT', `${where}: conv output must be u8, u7 or i16`);
        if (op.rounding === 'tflite-fc' && (op.kernel[0] !== 1 || op.kernel[1] !== 1 || shapes.get(op.input)!.h !== 1 || shapes.get(op.input)!.w !== 1)) {
          fail('E_MODEL_QUANT', `${where}: a conv with TFLite fully connected rounding is 1x1 over a vector`);
        }
        absSums.set(op.output, (op.rounding ? checkTflRequant : checkRequant)(model, op, ins[0], out, where, scan));
        break;
      case 'add':
        if (out.dtype === 'i32' || (ins[0].dtype === 'i16') !== (ins[1].dtype === 'i16')) fail('E_MODEL_QUANT', `${where}: add reads two u8 or two i16 activations and writes u8 or i16 (u7 counts as u8)`);
        if (op.rounding) checkAddTfl(op, ins, out, where);
        else checkAddRequant(op, ins, out, where);
        break;
      case 'globalavgpool':
        if (op.rounding) checkMeanTfl(op, shapes.get(op.input)!, ins[0], out, where);
        else checkGlobalSum(shapes.get(op.input)!, ins[0], out, where);
        break;
      default:
        if (op.op === 'avgpool' && op.rounding && ins[0].dtype !== 'u8') fail('E_MODEL_QUANT', `${where}: an average pool with TFLite rounding reads u8`);
        if (!ins.every((q) => sameQuant(q, out))) fail('E_MODEL_QUANT', `${where}: ${op.op} must keep its input's quantization (scale and zero point)`);
    }
  });
  return absSums;
}

/** An int8 global average pool keeps exact int32 sums, scaled so that they mean the average. */
function checkGlobalSum(s: ActShape, qIn: QuantParams, out: QuantParams, where: string): void {
  const expected = qIn.scale / (s.h * s.w);
  if (out.dtype !== 'i32' || Math.abs(out.scale - expected) > 1e-6 * expected) {
    fail('E_MODEL_QUANT', `${where}: an int8 global average pool outputs i32 sums with scale inputScale / ${s.h * s.w}`);
  }
  if (maxAbsQuantized(qIn) * s.h * s.w >= 2 ** 31) fail('E_MODEL_QUANT', `${where}: the sum over ${s.h * s.w} pixels could overflow 32 bits`);
}

function checkRequant(model: Model, op: ConvOp, qIn: QuantParams, qOut: QuantParams, where: string, scan: WeightScan): ArrayLike<number> {
  const w = model.tensors.get(op.weight)!.data as Int8Array;
  const oc = model.tensors.get(op.weight)!.shape[0];
  const scales = tensorOf(model, op.weightScale, where, 'weightScale', 'f32');
  const mults = tensorOf(model, op.multiplier, where, 'multiplier', 'i32');
  checkConstShape(scales, [oc], where, 'weightScale');
  checkConstShape(mults, [oc], where, 'multiplier');
  const shift = op.shift;
  if (!isCount(shift, 1, 62)) fail('E_MODEL_QUANT', `${where}: shift must be an integer in 1..62, got ${quote(shift)}`);
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  if (w.includes(-128)) fail('E_MODEL_QUANT', `${where}: weights must be in -127..127 (symmetric)`);
  const sumAbs = scan.absSums(w, oc);
  const [sIn, sOut, pow, maxIn] = [qIn.scale, qOut.scale, 2 ** shift, maxAbsQuantized(qIn)];
  const [sws, ms] = [scales.data, mults.data];
  for (let n = 0; n < oc; n++) {
    const sw = sws[n];
    if (!(Number.isFinite(sw) && sw > 0)) fail('E_MODEL_QUANT', `${where}: weight scale ${n} must be positive and finite`);
    const m = ms[n];
    const exact = ((sIn * sw) / sOut) * pow;
    if (m < 0 || Math.abs(m - exact) > 1) {
      fail('E_MODEL_QUANT', `${where}: multiplier ${n} is ${m} but the scales give ${exact.toFixed(1)}`);
    }
    const acc = Math.abs(bias ? bias[n] : 0) + maxIn * sumAbs[n];
    if (acc >= MAX_REQUANT || (acc * m) / pow >= MAX_REQUANT) {
      fail('E_MODEL_QUANT', `${where}: channel ${n} could overflow 32-bit accumulation or requantization`);
    }
  }
  return sumAbs;
}

/**
 * An int8 add's multipliers must match the scales, and |m0 (q0 - z0) + m1 (q1 - z1)| / 2^shift
 * stay below 2^31: the kernel's 64-bit sum then cannot overflow when shifted into int32 lanes.
 * (i32 inputs were refused before: only softmax reads those.)
 */
function checkAddRequant(op: AddOp, ins: QuantParams[], out: QuantParams, where: string): void {
  const { multipliers: m, shift } = op;
  if (!isCount(shift, 1, 62)) fail('E_MODEL_QUANT', `${where}: shift must be an integer in 1..62, got ${quote(shift)}`);
  if (!Array.isArray(m) || m.length !== 2 || !m.every((v) => isCount(v, 0, 2 ** 31 - 1))) {
    fail('E_MODEL_QUANT', `${where}: multipliers must be two integers in 0..2^31-1, got ${quote(m)}`);
  }
  ins.forEach((q, i) => {
    const exact = (q.scale / out.scale) * 2 ** shift;
    if (Math.abs(m[i] - exact) > 1) fail('E_MODEL_QUANT', `${where}: multiplier ${i} is ${m[i]} but the scales give ${exact.toFixed(1)}`);
  });
  if ((maxAbsQuantized(ins[0]) * m[0] + maxAbsQuantized(ins[1]) * m[1]) / 2 ** shift >= MAX_REQUANT) {
    fail('E_MODEL_QUANT', `${where}: the rescaled sum could overflow 32 bits`);
  }
}

/** What TFLite derives from scales (`derive`); scales its arithmetic does not take (a ratio out of its range) are refused. */
function tflite<T>(derive: () => T, where: string): T {
  try {
    return derive();
  } catch (e) {
    if (e instanceof RangeError) fail('E_MODEL_QUANT', `${where}: its scales are out of the range of TFLite's arithmetic`);
    throw e;
  }
}

/** A multiplier and right shift are what TFLite derives (`m`), and the shift is one the kernels take (0..30). */
function checkTflMultiplier(mult: unknown, shift: unknown, m: QuantizedMultiplier, what: string, where: string): void {
  if (mult !== m.multiplier || shift !== -m.shift) fail('E_MODEL_QUANT', `${where}: ${what}: multiplier ${quote(mult)} and shift ${quote(shift)} are not TFLite's for these scales (${m.multiplier}, ${-m.shift})`);
  if (!isCount(shift, 0, 30)) fail('E_MODEL_QUANT', `${where}: ${what}: the right shift must be an integer in 0..30, got ${quote(shift)}`);
}

/**
 * A conv with TFLite rounding: uint8 in and out (TFLite's int8 plus 128), per channel the
 * multiplier and right shift TFLite derives from the scales (none for a fully connected layer,
 * which TFLite requantizes in double, and which must be 1x1 over a vector), and |accumulator|
 * below 2^30, which the kernels' form of TFLite's rounding needs.
 */
function checkTflRequant(model: Model, op: ConvOp, qIn: QuantParams, qOut: QuantParams, where: string, scan: WeightScan): ArrayLike<number> {
  if (qIn.dtype !== 'u8' || qOut.dtype !== 'u8') fail('E_MODEL_QUANT', `${where}: a conv with TFLite rounding reads and writes u8`);
  if (op.shift !== undefined) fail('E_MODEL_QUANT', `${where}: a conv with TFLite rounding has per-channel shifts, not shift`);
  const fc = op.rounding === 'tflite-fc';
  const weight = model.tensors.get(op.weight)!;
  const [w, oc] = [weight.data as Int8Array, weight.shape[0]];
  const scales = tensorOf(model, op.weightScale, where, 'weightScale', 'f32');
  checkConstShape(scales, [oc], where, 'weightScale');
  const [mults, shifts] = fc ? [] : [tensorOf(model, op.multiplier, where, 'multiplier', 'i32'), tensorOf(model, op.shifts, where, 'shifts', 'i32')];
  if (mults && shifts) for (const [t, role] of [[mults, 'multiplier'], [shifts, 'shifts']] as const) checkConstShape(t, [oc], where, role);
  if (w.includes(-128)) fail('E_MODEL_QUANT', `${where}: weights must be in -127..127 (symmetric)`);
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Int32Array);
  const sumAbs = scan.absSums(w, oc);
  for (let n = 0; n < oc; n++) {
    const sw = scales.data[n];
    if (!(Number.isFinite(sw) && sw > 0)) fail('E_MODEL_QUANT', `${where}: weight scale ${n} must be positive and finite`);
    if (mults && shifts) checkTflMultiplier(mults.data[n], shifts.data[n], tflite(() => convMultiplier(qIn.scale, sw, qOut.scale), where), `channel ${n}`, where);
    if (Math.abs(bias ? bias[n] : 0) + 255 * sumAbs[n] >= 2 ** 30) fail('E_MODEL_QUANT', `${where}: channel ${n} could overflow the accumulator (2^30)`);
  }
  return sumAbs;
}

/** TFLite's int8 Add: uint8 in and out, each input's and the output's multiplier as TFLite derives them (left shift 20). */
function checkAddTfl(op: AddOp, ins: QuantParams[], out: QuantParams, where: string): void {
  if (![...ins, out].every((q) => q.dtype === 'u8')) fail('E_MODEL_QUANT', `${where}: an add with TFLite rounding reads and writes u8`);
  const t = op.tflite;
  if (typeof t !== 'object' || t === null || !Array.isArray(t.multipliers) || t.multipliers.length !== 3 || !Array.isArray(t.shifts) || t.shifts.length !== 3) {
    fail('E_MODEL_QUANT', `${where}: an add with TFLite rounding needs tflite.multipliers and tflite.shifts, three each`);
  }
  const p = tflite(() => addInt8Params(ins[0].scale, ins[1].scale, out.scale), where);
  [p.input1, p.input2, p.output].forEach((m, i) => checkTflMultiplier(t.multipliers[i], t.shifts[i], m, ['input 0', 'input 1', 'output'][i], where));
}

/** TFLite's int8 MEAN: uint8 in and out, the multiplier and shift TFLite derives for the scales and the pixel count. */
function checkMeanTfl(op: GlobalAvgPoolOp, s: ActShape, qIn: QuantParams, out: QuantParams, where: string): void {
  if (qIn.dtype !== 'u8' || out.dtype !== 'u8') fail('E_MODEL_QUANT', `${where}: a global average pool with TFLite rounding reads and writes u8`);
  const m = tflite(() => meanInt8Params(qIn.scale, out.scale, s.h * s.w), where);
  if (op.multiplier !== m.multiplier || op.shift !== m.shift) {
    fail('E_MODEL_QUANT', `${where}: multiplier ${quote(op.multiplier)} and shift ${quote(op.shift)} are not TFLite's for these scales (${m.multiplier}, ${m.shift})`);
  }
  if (!isCount(op.shift, -30, 30) || 255 * s.h * s.w * 2 ** Math.max(op.shift, 0) >= 2 ** 30) fail('E_MODEL_QUANT', `${where}: the mean's shift or its shifted sum is out of range`);
}

/** TFLite's int8 softmax: a uint8 input, an output of scale 1/256 and zero point 0 (TFLite's -128), a positive beta. */
function checkSoftmaxTfl(model: Model, op: SoftmaxOp, where: string): void {
  const [x, y] = [quantOf(model, op.input, where), quantOf(model, op.output, where)];
  if (x.dtype !== 'u8' || y.dtype !== 'u8' || y.scale !== 1 / 256 || y.zeroPoint !== 0) {
    fail('E_MODEL_QUANT', `${where}: a softmax with TFLite rounding reads u8 and writes u8 with scale 1/256 and zero point 0`);
  }
  if (!(typeof op.beta === 'number' && op.beta > 0 && Number.isFinite(op.beta))) fail('E_MODEL_QUANT', `${where}: softmax beta must be a positive number`);
  tflite(() => softmaxInt8Params(x.scale, op.beta), where);
}

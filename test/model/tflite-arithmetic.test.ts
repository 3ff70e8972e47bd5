import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  activationRangeInt8,
  addInt8,
  addInt8Params,
  averagePoolInt8,
  convMultiplier,
  dequantizeInt8,
  expOnNegativeValuesQ5,
  frexp,
  fullyConnectedOutputScale,
  fullyConnectedRequantizeInt8,
  meanInt8,
  meanInt8Params,
  multiplyByQuantizedMultiplier,
  multiplyByQuantizedMultiplierGreaterThanOne,
  multiplyByQuantizedMultiplierSingleRounding,
  oneOverOnePlusXForXIn01,
  quantizeInt8,
  quantizeMultiplier,
  quantizeMultiplierSmallerThanOne,
  requantizeInt8,
  roundHalfAwayFromZero,
  roundingDivideByPOT,
  saturatingRoundingDoublingHighMul,
  softmaxInt8,
  softmaxInt8Params,
  type QuantizedMultiplier,
  type TfliteActivation,
} from '../../src/model/tflite-arithmetic.js';

// ------------------------------------------------------------------------------------------------
// The fixture written by scripts/make-tflite-op-goldens.py (TFLite's BUILTIN_REF interpreter)

interface QTensor {
  shape: number[];
  scale: number;
  zeroPoint: number;
}
interface Filter {
  shape: number[];
  scales: number[];
  zeroPoints: number[];
  data: number[];
}
interface Sample {
  input?: number[];
  input1?: number[];
  input2?: number[];
  output: number[];
}
interface Case {
  name: string;
  op: string;
  options: Record<string, string | number | boolean | number[]>;
  input: QTensor;
  input1: QTensor;
  input2: QTensor;
  output: QTensor;
  filter: Filter;
  bias: { data: number[] };
  samples: Sample[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/tflite/arithmetic.json', import.meta.url), 'utf8')) as { tensorflow: string; cases: Case[] };
const casesOf = (op: string): Case[] => fixture.cases.filter((c) => c.op === op);
const named = (cases: Case[]): Array<[string, Case]> => cases.map((c) => [c.name, c]);

/** How an int32 accumulator becomes the rescaled value, before the output zero point. */
type Requant = (acc: number, scales: { input: number; filter: number; output: number }) => number;

/** What TFLite 2.21 does for CONV_2D: QuantizeMultiplier, then gemmlowp's double rounding. */
const fixedPointDouble: Requant = (acc, s) => {
  const m = convMultiplier(s.input, s.filter, s.output);
  return multiplyByQuantizedMultiplier(acc, m.multiplier, m.shift);
};
/** The TFLITE_SINGLE_ROUNDING form. */
const fixedPointSingle: Requant = (acc, s) => {
  const m = quantizeMultiplier((Math.fround(s.input) * Math.fround(s.filter)) / Math.fround(s.output), true);
  return multiplyByQuantizedMultiplierSingleRounding(acc, m.multiplier, m.shift);
};
/** What TFLite 2.21 does for FULLY_CONNECTED: the double scale, std::round. */
const floatRequant: Requant = (acc, s) => fullyConnectedRequantizeInt8(acc, fullyConnectedOutputScale(s.input, s.filter, s.output), 0, -(2 ** 31), 2 ** 31 - 1);

/** Top/left padding TFLite uses (`ComputePaddingHeightWidth`, dilation 1): half the total, rounded down. */
function padBefore(padding: string, size: number, out: number, stride: number, filter: number): number {
  return padding === 'SAME' ? Math.floor(Math.max((out - 1) * stride + filter - size, 0) / 2) : 0;
}

/** reference_integer_ops::ConvPerChannel (int8), NHWC input, OHWI filter, with a chosen requantization. */
function conv2d(c: Case, x: number[], requant: Requant = fixedPointDouble): { out: number[]; acc: number[] } {
  const [n, h, w, cin] = c.input.shape;
  const [cout, kh, kw] = c.filter.shape;
  const [, oh, ow] = c.output.shape;
  const sh = c.options.strideH as number;
  const sw = c.options.strideW as number;
  expect([c.options.dilationH, c.options.dilationW]).toEqual([1, 1]);
  const padT = padBefore(c.options.padding as string, h, oh, sh, kh);
  const padL = padBefore(c.options.padding as string, w, ow, sw, kw);
  const { min, max } = activationRangeInt8(c.options.activation as TfliteActivation, c.output.scale, c.output.zeroPoint);
  const out: number[] = [];
  const accs: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let o = 0; o < cout; o++) {
          let acc = 0;
          for (let fy = 0; fy < kh; fy++) {
            for (let fx = 0; fx < kw; fx++) {
              const iy = oy * sh - padT + fy;
              const ix = ox * sw - padL + fx;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; // zero padding by omission
              for (let i = 0; i < cin; i++) {
                acc += c.filter.data[((o * kh + fy) * kw + fx) * cin + i] * (x[((b * h + iy) * w + ix) * cin + i] - c.input.zeroPoint);
              }
            }
          }
          acc += c.bias.data[o];
          accs.push(acc);
          const rescaled = requant(acc, { input: c.input.scale, filter: c.filter.scales[o], output: c.output.scale });
          out.push(Math.min(max, Math.max(min, rescaled + c.output.zeroPoint)));
        }
      }
    }
  }
  return { out, acc: accs };
}

/** reference_integer_ops::FullyConnected(PerChannel) (int8), filter [out, in], one scale or one per output. */
function fullyConnected(c: Case, x: number[], requant: Requant = floatRequant): { out: number[]; acc: number[] } {
  const [cout, cin] = c.filter.shape;
  const batches = x.length / cin;
  const { min, max } = activationRangeInt8(c.options.activation as TfliteActivation, c.output.scale, c.output.zeroPoint);
  const out: number[] = [];
  const accs: number[] = [];
  for (let b = 0; b < batches; b++) {
    for (let o = 0; o < cout; o++) {
      let acc = c.bias.data[o];
      for (let i = 0; i < cin; i++) acc += c.filter.data[o * cin + i] * (x[b * cin + i] - c.input.zeroPoint);
      accs.push(acc);
      const filterScale = c.filter.scales.length === 1 ? c.filter.scales[0] : c.filter.scales[o];
      const rescaled = requant(acc, { input: c.input.scale, filter: filterScale, output: c.output.scale });
      out.push(Math.min(max, Math.max(min, rescaled + c.output.zeroPoint)));
    }
  }
  return { out, acc: accs };
}

interface PoolWindow {
  sum: number;
  count: number;
}

/** reference_integer_ops::AveragePool (int8): raw sums over the part of each window inside the input. */
function averagePoolWindows(c: Case, x: number[]): PoolWindow[] {
  const [n, h, w, ch] = c.input.shape;
  const [, oh, ow] = c.output.shape;
  const { strideH, strideW, filterH, filterW, padding } = c.options as { strideH: number; strideW: number; filterH: number; filterW: number; padding: string };
  const padT = padBefore(padding, h, oh, strideH, filterH);
  const padL = padBefore(padding, w, ow, strideW, filterW);
  const windows: PoolWindow[] = [];
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < oh; oy++) {
      for (let ox = 0; ox < ow; ox++) {
        for (let k = 0; k < ch; k++) {
          const y0 = oy * strideH - padT;
          const x0 = ox * strideW - padL;
          let sum = 0;
          let count = 0;
          for (let fy = Math.max(0, -y0); fy < Math.min(filterH, h - y0); fy++) {
            for (let fx = Math.max(0, -x0); fx < Math.min(filterW, w - x0); fx++) {
              sum += x[((b * h + y0 + fy) * w + x0 + fx) * ch + k];
              count++;
            }
          }
          windows.push({ sum, count });
        }
      }
    }
  }
  return windows;
}

/** Raw sums over H and W per (batch, channel) for MEAN over axes [1, 2]. */
function meanSums(c: Case, x: number[]): { sums: number[]; count: number } {
  const [n, h, w, ch] = c.input.shape;
  const sums: number[] = [];
  for (let b = 0; b < n; b++) {
    for (let k = 0; k < ch; k++) {
      let sum = 0;
      for (let i = 0; i < h * w; i++) sum += x[(b * h * w + i) * ch + k];
      sums.push(sum);
    }
  }
  return { sums, count: h * w };
}

describe('TFLite reference int8 arithmetic: goldens from TensorFlow', () => {
  it('comes from TensorFlow 2.21 and holds every op', () => {
    expect(fixture.tensorflow).toMatch(/^2\.21\./);
    const ops = new Set(fixture.cases.map((c) => c.op));
    for (const op of ['CONV_2D', 'FULLY_CONNECTED', 'AVERAGE_POOL_2D', 'MEAN', 'ADD', 'SOFTMAX', 'QUANTIZE', 'DEQUANTIZE']) expect(ops).toContain(op);
  });

  it.each(named(casesOf('CONV_2D')))('CONV_2D %s, bit for bit', (_, c) => {
    expect(c.filter.zeroPoints.every((z) => z === 0)).toBe(true);
    for (const s of c.samples) expect(conv2d(c, s.input!).out).toEqual(s.output);
  });

  it.each(named(casesOf('FULLY_CONNECTED')))('FULLY_CONNECTED %s, bit for bit', (_, c) => {
    expect(c.filter.zeroPoints.every((z) => z === 0)).toBe(true);
    for (const s of c.samples) expect(fullyConnected(c, s.input!).out).toEqual(s.output);
  });

  it('the CONV_2D / FULLY_CONNECTED goldens reach negative accumulators and both clamps', () => {
    let negative = 0;
    let low = 0;
    let high = 0;
    let total = 0;
    for (const c of [...casesOf('CONV_2D'), ...casesOf('FULLY_CONNECTED')]) {
      for (const s of c.samples) {
        negative += (c.op === 'CONV_2D' ? conv2d : fullyConnected)(c, s.input!).acc.filter((a) => a < 0).length;
        low += s.output.filter((v) => v === -128).length;
        high += s.output.filter((v) => v === 127).length;
        total += s.output.length;
      }
    }
    expect(negative).toBeGreaterThan(total / 4);
    expect(low).toBeGreaterThan(0);
    expect(high).toBeGreaterThan(0);
  });

  it('the goldens tell the requantizations apart: CONV_2D is double rounding, FULLY_CONNECTED is the double-precision scale', () => {
    const misses = (op: 'CONV_2D' | 'FULLY_CONNECTED', requant: Requant): number => {
      let n = 0;
      for (const c of casesOf(op)) {
        for (const s of c.samples) n += (op === 'CONV_2D' ? conv2d : fullyConnected)(c, s.input!, requant).out.filter((v, i) => v !== s.output[i]).length;
      }
      return n;
    };
    expect(misses('CONV_2D', fixedPointDouble)).toBe(0);
    expect(misses('CONV_2D', fixedPointSingle)).toBeGreaterThan(0);
    expect(misses('CONV_2D', floatRequant)).toBeGreaterThan(0);
    expect(misses('FULLY_CONNECTED', floatRequant)).toBe(0);
    expect(misses('FULLY_CONNECTED', fixedPointSingle)).toBeGreaterThan(0);
    expect(misses('FULLY_CONNECTED', fixedPointDouble)).toBeGreaterThan(0);
    // the per-tensor FULLY_CONNECTED case really has one filter scale
    expect(casesOf('FULLY_CONNECTED').some((c) => c.filter.scales.length === 1)).toBe(true);
  });

  it.each(named(casesOf('AVERAGE_POOL_2D')))('AVERAGE_POOL_2D %s, bit for bit', (_, c) => {
    expect([c.input.scale, c.input.zeroPoint]).toEqual([c.output.scale, c.output.zeroPoint]);
    const { min, max } = activationRangeInt8(c.options.activation as TfliteActivation, c.output.scale, c.output.zeroPoint);
    for (const s of c.samples) {
      expect(averagePoolWindows(c, s.input!).map((win) => averagePoolInt8(win.sum, win.count, min, max))).toEqual(s.output);
    }
  });

  it('the AVERAGE_POOL_2D goldens reach border windows and exact .5 ties of both signs', () => {
    const counts = new Set<number>();
    let tiesBelow = 0;
    let tiesAbove = 0;
    for (const c of casesOf('AVERAGE_POOL_2D')) {
      for (const s of c.samples) {
        for (const { sum, count } of averagePoolWindows(c, s.input!)) {
          counts.add(count);
          const twice = (2 * Math.abs(sum)) / count;
          if (Number.isInteger(twice) && twice % 2 === 1) sum < 0 ? tiesBelow++ : tiesAbove++;
        }
      }
    }
    expect([...counts].sort()).toEqual([4, 6, 9]);
    expect(tiesBelow).toBeGreaterThan(0);
    expect(tiesAbove).toBeGreaterThan(0);
  });

  it.each(named(casesOf('MEAN')))('MEAN %s (axes [1, 2], keep_dims), bit for bit', (_, c) => {
    expect(c.options.axes).toEqual([1, 2]);
    expect(c.options.keepDims).toBe(true);
    for (const s of c.samples) {
      const { sums, count } = meanSums(c, s.input!);
      const params = meanInt8Params(c.input.scale, c.output.scale, count);
      expect(sums.map((sum) => meanInt8(sum, count, c.input.zeroPoint, c.output.zeroPoint, params))).toEqual(s.output);
    }
  });

  it('MEAN requantizes with double rounding, also when the input and output scales are equal', () => {
    const equal = casesOf('MEAN').filter((c) => c.input.scale === c.output.scale && c.input.zeroPoint === c.output.zeroPoint);
    expect(equal.length).toBeGreaterThanOrEqual(2);
    expect(casesOf('MEAN').length - equal.length).toBeGreaterThanOrEqual(2);
    // the older equal-scales path, a truncating division of the raw sum, would miss outputs
    let truncationMisses = 0;
    for (const c of equal) {
      for (const s of c.samples) {
        const { sums, count } = meanSums(c, s.input!);
        truncationMisses += sums.filter((sum, i) => Math.trunc(sum / count) !== s.output[i]).length;
      }
    }
    expect(truncationMisses).toBeGreaterThan(0);
    // and so would the single-rounding form of the same multiplier
    let singleMisses = 0;
    for (const c of casesOf('MEAN')) {
      for (const s of c.samples) {
        const { sums, count } = meanSums(c, s.input!);
        const base = quantizeMultiplier(Math.fround(c.input.scale) / Math.fround(c.output.scale), true);
        const k = Math.min(Math.floor(Math.log2(count)), 32, 31 + base.shift);
        const m = Number((BigInt(base.multiplier) << BigInt(k)) / BigInt(count));
        singleMisses += sums.filter((sum, i) => Math.max(-128, Math.min(127, multiplyByQuantizedMultiplierSingleRounding(sum - c.input.zeroPoint * count, m, base.shift - k) + c.output.zeroPoint)) !== s.output[i]).length;
      }
    }
    expect(singleMisses).toBeGreaterThan(0);
  });

  it.each(named(casesOf('ADD')))('ADD %s, bit for bit', (_, c) => {
    const params = addInt8Params(c.input1.scale, c.input2.scale, c.output.scale);
    const { min, max } = activationRangeInt8(c.options.activation as TfliteActivation, c.output.scale, c.output.zeroPoint);
    for (const s of c.samples) {
      const out = s.input1!.map((q1, i) => addInt8(q1, s.input2![i], c.input1.zeroPoint, c.input2.zeroPoint, c.output.zeroPoint, params, min, max));
      expect(out).toEqual(s.output);
    }
  });

  it('ADD requantizes with double rounding (the single-rounding form misses ties of the tied-scales case)', () => {
    let misses = 0;
    for (const c of casesOf('ADD')) {
      const [s1, s2, so] = [c.input1.scale, c.input2.scale, c.output.scale].map(Math.fround);
      const twiceMax = Math.fround(2 * Math.max(s1, s2));
      const m1 = quantizeMultiplierSmallerThanOne(s1 / twiceMax, true);
      const m2 = quantizeMultiplierSmallerThanOne(s2 / twiceMax, true);
      const mo = quantizeMultiplierSmallerThanOne(twiceMax / Math.fround(2 ** 20 * so), true);
      const { min, max } = activationRangeInt8(c.options.activation as TfliteActivation, c.output.scale, c.output.zeroPoint);
      const single = (x: number, m: QuantizedMultiplier): number => multiplyByQuantizedMultiplierSingleRounding(x, m.multiplier, m.shift);
      for (const s of c.samples) {
        s.input1!.forEach((q1, i) => {
          const sum = single((q1 - c.input1.zeroPoint) * 2 ** 20, m1) + single((s.input2![i] - c.input2.zeroPoint) * 2 ** 20, m2);
          if (Math.max(min, Math.min(max, single(sum, mo) + c.output.zeroPoint)) !== s.output[i]) misses++;
        });
      }
    }
    expect(misses).toBeGreaterThan(0);
  });

  it.each(named(casesOf('SOFTMAX')))('SOFTMAX %s (int8 in and out, gemmlowp fixed point), bit for bit', (_, c) => {
    expect([c.output.scale, c.output.zeroPoint]).toEqual([1 / 256, -128]);
    const params = softmaxInt8Params(c.input.scale, c.options.beta as number);
    const depth = c.input.shape[c.input.shape.length - 1];
    for (const s of c.samples) expect(Array.from(softmaxInt8(Int8Array.from(s.input!), params, depth))).toEqual(s.output);
  });

  it('the SOFTMAX goldens reach differences below, at and above diff_min, and the capped multiplier', () => {
    let below = 0;
    let at = 0;
    const minima = new Set<number>();
    for (const c of casesOf('SOFTMAX')) {
      const params = softmaxInt8Params(c.input.scale, c.options.beta as number);
      minima.add(params.diffMin);
      const depth = c.input.shape[c.input.shape.length - 1];
      for (const s of c.samples) {
        for (let r = 0; r < s.input!.length; r += depth) {
          const row = s.input!.slice(r, r + depth);
          const max = Math.max(...row);
          below += row.filter((q) => q - max < params.diffMin).length;
          at += row.filter((q) => q - max === params.diffMin).length;
        }
      }
    }
    expect(below).toBeGreaterThan(0);
    expect(at).toBeGreaterThan(0);
    expect(minima.size).toBe(casesOf('SOFTMAX').length);
    // beta * scale >= 32: the real multiplier is capped at 2^31 - 1 (shift 31), diff_min is 0
    expect(minima).toContain(0);
  });

  it('QUANTIZE (float32 to int8), bit for bit, ties included', () => {
    const [c] = casesOf('QUANTIZE');
    let ties = 0;
    for (const s of c.samples) {
      expect(s.input!.map((x) => quantizeInt8(x, c.output.scale, c.output.zeroPoint))).toEqual(s.output);
      ties += s.input!.filter((x) => Math.abs(Math.fround(x / c.output.scale) % 1) === 0.5).length;
    }
    expect(ties).toBeGreaterThan(50);
  });

  it.each(named(casesOf('DEQUANTIZE')))('DEQUANTIZE %s (int8 to float32), bit for bit', (_, c) => {
    for (const s of c.samples) expect(s.input!.map((q) => dequantizeInt8(q, c.input.scale, c.input.zeroPoint))).toEqual(s.output);
  });
});

// ------------------------------------------------------------------------------------------------
// Unit tests of the primitives

/** Both roundings written out with BigInt, independently of the module. */
function singleReference(x: number, m: number, shift: number): number {
  return Number((BigInt(x) * BigInt(m) + (1n << BigInt(30 - shift))) >> BigInt(31 - shift));
}
function doubleReference(x: number, m: number, shift: number): number {
  const left = BigInt(Math.max(shift, 0));
  const right = BigInt(Math.max(-shift, 0));
  const high = (BigInt(x) * (1n << left) * BigInt(m) + (1n << 30n)) >> 31n; // floor(ab / 2^31 + 1/2)
  if (right === 0n) return Number(high);
  const q = high >= 0n ? high : -high; // then halves away from zero
  const r = (q + (1n << (right - 1n))) >> right;
  return Number(high >= 0n ? r : -r);
}

describe('TFLite reference int8 arithmetic: primitives', () => {
  it('frexp matches std::frexp, subnormals included', () => {
    expect(frexp(1)).toEqual({ fraction: 0.5, exponent: 1 });
    expect(frexp(0.75)).toEqual({ fraction: 0.75, exponent: 0 });
    expect(frexp(-3)).toEqual({ fraction: -0.75, exponent: 2 });
    expect(frexp(2 ** (-1074))).toEqual({ fraction: 0.5, exponent: -1073 });
    expect(frexp(Number.MAX_VALUE).exponent).toBe(1024);
    expect(frexp(0)).toEqual({ fraction: 0, exponent: 0 });
  });

  it('roundHalfAwayFromZero is std::round', () => {
    expect([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999999999999994, 2 ** 52 + 1].map(roundHalfAwayFromZero)).toEqual([1, 2, 3, -1, -2, -3, 0, 2 ** 52 + 1]);
  });

  it('quantizeMultiplier: powers of two, round-up to 2^31, ties, flush below 2^-32, no cap unless single rounding', () => {
    const q = (multiplier: number, shift: number): QuantizedMultiplier => ({ multiplier, shift });
    expect(quantizeMultiplier(0)).toEqual(q(0, 0));
    expect(quantizeMultiplier(1)).toEqual(q(2 ** 30, 1));
    expect(quantizeMultiplier(0.5)).toEqual(q(2 ** 30, 0));
    expect(quantizeMultiplier(0.75)).toEqual(q(3 * 2 ** 29, 0));
    expect(quantizeMultiplier(3)).toEqual(q(3 * 2 ** 29, 2));
    expect(quantizeMultiplier(-0.75)).toEqual(q(-3 * 2 ** 29, 0));
    // a fraction that rounds to 2^31 becomes 2^30 one exponent up
    expect(quantizeMultiplier(1 - 2 ** (-40))).toEqual(q(2 ** 30, 1));
    // an exact half in Q31 rounds away from zero
    expect(quantizeMultiplier(0.5 + 2 ** (-32))).toEqual(q(2 ** 30 + 1, 0)); // 2^30 + 0.5
    expect(quantizeMultiplier(0.5 + 3 * 2 ** (-32))).toEqual(q(2 ** 30 + 2, 0)); // 2^30 + 1.5
    expect(quantizeMultiplier(0.5 + 2 ** (-34))).toEqual(q(2 ** 30, 0)); // 2^30 + 0.125
    expect(quantizeMultiplier(-(0.5 + 2 ** (-32)))).toEqual(q(-(2 ** 30) - 1, 0));
    // smallest exponent kept is -31; below that the multiplier is flushed to zero
    expect(quantizeMultiplier(2 ** (-32))).toEqual(q(2 ** 30, -31));
    expect(quantizeMultiplier(2 ** (-33))).toEqual(q(0, 0));
    expect(quantizeMultiplier(5e-324)).toEqual(q(0, 0));
    // large multipliers keep their exponent; only single-rounding builds cap it at 30
    expect(quantizeMultiplier(2 ** 31)).toEqual(q(2 ** 30, 32));
    expect(quantizeMultiplier(2 ** 31 - 1)).toEqual(q(2 ** 31 - 1, 31));
    expect(quantizeMultiplier(2 ** 31, true)).toEqual(q(2 ** 31 - 1, 30));
    expect(quantizeMultiplier(2 ** 29, true)).toEqual(q(2 ** 30, 30));
    expect(() => quantizeMultiplierSmallerThanOne(1)).toThrow(RangeError);
  });

  it('convMultiplier widens the float32 scales and multiplies before dividing, in double', () => {
    const si = Math.fround(0.0156818);
    const sw = Math.fround(0.00213995);
    const so = Math.fround(0.0313792);
    expect(convMultiplier(si, sw, so)).toEqual(quantizeMultiplier((si * sw) / so));
    expect(fullyConnectedOutputScale(si, sw, so)).toBe((si * sw) / so);
    // the scales are float32: a double scale is rounded to float32 first
    expect(convMultiplier(0.1, 0.2, 0.3)).toEqual(quantizeMultiplier((Math.fround(0.1) * Math.fround(0.2)) / Math.fround(0.3)));
  });

  it('saturatingRoundingDoublingHighMul rounds halves up and saturates INT32_MIN squared', () => {
    expect(saturatingRoundingDoublingHighMul(3, 2 ** 30)).toBe(2); // 1.5
    expect(saturatingRoundingDoublingHighMul(-3, 2 ** 30)).toBe(-1); // -1.5
    expect(saturatingRoundingDoublingHighMul(-5, 2 ** 30)).toBe(-2); // -2.5
    expect(saturatingRoundingDoublingHighMul(-(2 ** 31), -(2 ** 31))).toBe(2 ** 31 - 1);
    expect(saturatingRoundingDoublingHighMul(2 ** 31 - 1, 2 ** 31 - 1)).toBe(2 ** 31 - 2);
    expect(saturatingRoundingDoublingHighMul(-(2 ** 31), 2 ** 31 - 1)).toBe(-(2 ** 31) + 1);
  });

  it('roundingDivideByPOT rounds halves away from zero', () => {
    expect([roundingDivideByPOT(3, 1), roundingDivideByPOT(-3, 1), roundingDivideByPOT(-5, 2), roundingDivideByPOT(-6, 2), roundingDivideByPOT(6, 2)]).toEqual([2, -2, -1, -2, 2]);
    expect([roundingDivideByPOT(-7, 0), roundingDivideByPOT(-(2 ** 31), 31), roundingDivideByPOT(2 ** 31 - 1, 31), roundingDivideByPOT(2 ** 30, 31)]).toEqual([-7, -1, 1, 1]);
  });

  it('multiplyByQuantizedMultiplier is gemmlowp double rounding: negative x, exact halves, shift 0, left shifts, multiplier near 2^31', () => {
    const half = 2 ** 30; // 0.5
    // shift 0: only SaturatingRoundingDoublingHighMul rounds, halves up
    expect(multiplyByQuantizedMultiplier(3, half, 0)).toBe(2);
    expect(multiplyByQuantizedMultiplier(-3, half, 0)).toBe(-1);
    expect(multiplyByQuantizedMultiplier(100, half, 0)).toBe(50);
    // a right shift: an exact half after an exact product rounds away from zero; single rounding goes up
    expect(multiplyByQuantizedMultiplier(-6, half, -1)).toBe(-2);
    expect(multiplyByQuantizedMultiplierSingleRounding(-6, half, -1)).toBe(-1);
    expect(multiplyByQuantizedMultiplier(6, half, -1)).toBe(2);
    for (const shift of [-28, -20, -10, -1]) {
      expect(multiplyByQuantizedMultiplier(3 * 2 ** (-shift), half, shift)).toBe(2); // 1.5 -> 2
      expect(multiplyByQuantizedMultiplier(-3 * 2 ** (-shift), half, shift)).toBe(-2); // -1.5 -> -2
      expect(multiplyByQuantizedMultiplierSingleRounding(-3 * 2 ** (-shift), half, shift)).toBe(-1);
    }
    // double rounding: 2.9 rounds to 3, then 1.5 to 2; the exact 1.45 rounds to 1
    const m0725 = Math.round(0.725 * 2 ** 31);
    expect(multiplyByQuantizedMultiplier(4, m0725, -1)).toBe(2);
    expect(multiplyByQuantizedMultiplierSingleRounding(4, m0725, -1)).toBe(1);
    // left shifts are an int32 multiplication before the high multiply
    expect(multiplyByQuantizedMultiplier(5, half, 3)).toBe(20);
    expect(multiplyByQuantizedMultiplier(-5, half, 3)).toBe(-20);
    expect(multiplyByQuantizedMultiplier(-255, 1677721600, 23)).toBe(doubleReference(-255, 1677721600, 23));
    // multiplier near 2^31 and extreme x, against the BigInt formulas
    const top = 2 ** 31 - 1;
    for (const x of [2 ** 31 - 1, -(2 ** 31), -(2 ** 31) + 1, 12345, -12345, 1, -1, 0]) {
      for (const shift of [0, -1, -17, -31]) {
        expect(multiplyByQuantizedMultiplier(x, top, shift)).toBe(doubleReference(x, top, shift));
        expect(multiplyByQuantizedMultiplierSingleRounding(x, top, shift)).toBe(singleReference(x, top, shift));
      }
    }
    expect(multiplyByQuantizedMultiplier(2 ** 31 - 1, top, 0)).toBe(2 ** 31 - 2);
    expect(multiplyByQuantizedMultiplier(-(2 ** 31), top, 0)).toBe(-(2 ** 31) + 1);
    // random values: the module agrees with the BigInt formulas
    let seed = 7;
    const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) | 0);
    for (let i = 0; i < 2000; i++) {
      const x = next() >> (next() & 31);
      const m = (next() >>> 1) | (2 ** 30);
      const shift = -((next() >>> 0) % 32);
      expect(multiplyByQuantizedMultiplier(x, m, shift)).toBe(doubleReference(x, m, shift));
      expect(multiplyByQuantizedMultiplierSingleRounding(x, m, shift)).toBe(singleReference(x, m, shift));
    }
    expect(() => multiplyByQuantizedMultiplierSingleRounding(1, half, 31)).toThrow(RangeError);
    expect(() => multiplyByQuantizedMultiplierSingleRounding(1, half, -32)).toThrow(RangeError);
  });

  it('fullyConnectedRequantizeInt8 rounds the double product half away from zero', () => {
    expect([24, -24, 40, -40, 25, -25].map((acc) => fullyConnectedRequantizeInt8(acc, 1 / 16, 0))).toEqual([2, -2, 3, -3, 2, -2]);
    expect(fullyConnectedRequantizeInt8(-24, 1 / 16, -3, -4, 127)).toBe(-4);
    expect(fullyConnectedRequantizeInt8(100000, 0.01, 0)).toBe(127);
  });

  it('multiplyByQuantizedMultiplierGreaterThanOne shifts left in int32, then one high multiply', () => {
    expect(multiplyByQuantizedMultiplierGreaterThanOne(-3, 2 ** 30, 4)).toBe(-24);
    expect(multiplyByQuantizedMultiplierGreaterThanOne(-1, 2 ** 31 - 1, 0)).toBe(-1);
    expect(multiplyByQuantizedMultiplierGreaterThanOne(0, 2 ** 31 - 1, 31)).toBe(0);
  });

  it('requantizeInt8 adds the zero point and clamps', () => {
    const m = quantizeMultiplier(0.01);
    expect(requantizeInt8(100000, m, -10)).toBe(127);
    expect(requantizeInt8(-100000, m, -10)).toBe(-128);
    expect(requantizeInt8(150, m, -10)).toBe(-8); // 1.50000000007 -> 2
    expect(requantizeInt8(-150, m, -10)).toBe(-12); // -1.50000000007 -> -2
    expect(requantizeInt8(-150, m, -10, -10, 127)).toBe(-10); // clamped by a RELU at the zero point
  });

  it('activationRangeInt8 quantizes 0, 6, -1 and 1 in float32 and intersects with int8', () => {
    expect(activationRangeInt8('NONE', 0.1, 3)).toEqual({ min: -128, max: 127 });
    expect(activationRangeInt8('RELU', 0.1, -5)).toEqual({ min: -5, max: 127 });
    expect(activationRangeInt8('RELU6', 6 / 255, -128)).toEqual({ min: -128, max: 127 });
    expect(activationRangeInt8('RELU6', 0.05, -100)).toEqual({ min: -100, max: 20 });
    expect(activationRangeInt8('RELU6', 0.01, 0)).toEqual({ min: 0, max: 127 });
    expect(activationRangeInt8('RELU_N1_TO_1', 0.1, 0)).toEqual({ min: -10, max: 10 });
    expect(activationRangeInt8('RELU_N1_TO_1', 0.004, 0)).toEqual({ min: -128, max: 127 });
    expect(activationRangeInt8('RELU6', 0.75, -128).max).toBe(-120);
    // exact halves round away from zero; the quotient is a float32 one (6 / 2.4f rounds to 2.5f)
    expect(activationRangeInt8('RELU6', 4, 0).max).toBe(2);
    expect(activationRangeInt8('RELU_N1_TO_1', 2, 0)).toEqual({ min: -1, max: 1 });
    expect(activationRangeInt8('RELU6', 2.4, 0).max).toBe(3);
  });

  it('averagePoolInt8 rounds halves away from zero with truncating division', () => {
    expect([averagePoolInt8(3, 2), averagePoolInt8(-3, 2), averagePoolInt8(-1, 4), averagePoolInt8(-2, 4), averagePoolInt8(2, 4), averagePoolInt8(0, 9)]).toEqual([2, -2, 0, -1, 1, 0]);
    expect([averagePoolInt8(5, 3), averagePoolInt8(-5, 3), averagePoolInt8(4, 3), averagePoolInt8(-4, 3)]).toEqual([2, -2, 1, -1]);
    expect([averagePoolInt8(-1152, 9), averagePoolInt8(1143, 9), averagePoolInt8(100, 1, -128, 90)]).toEqual([-128, 127, 90]);
  });

  it('addInt8Params: left shift 20, multipliers of s / (2 max s) and 2 max s / (2^20 s_out)', () => {
    const p = addInt8Params(0.5, 0.25, 0.75);
    expect(p.leftShift).toBe(20);
    expect(p.input1).toEqual(quantizeMultiplier(0.5));
    expect(p.input2).toEqual(quantizeMultiplier(0.25));
    expect(p.output).toEqual(quantizeMultiplier(1 / (2 ** 20 * 0.75)));
    // equal scales and a zero offset: the sum comes back exactly
    const same = addInt8Params(0.1, 0.1, 0.1);
    for (const [a, b] of [[3, 4], [-100, 27], [-128, -1], [100, 27]]) expect(addInt8(a, b, 0, 0, 0, same)).toBe(Math.max(-128, Math.min(127, a + b)));
    expect(() => addInt8Params(0.1, 0.1, 1e-12)).toThrow(RangeError);
  });

  it('meanInt8Params folds 1/count into the multiplier; the same path for equal scales', () => {
    const equal = meanInt8Params(0.02, 0.02, 25);
    expect(equal).toEqual({ multiplier: Math.floor((2 ** 30 * 2 ** 4) / 25), shift: 1 - 4, count: 25 });
    expect(meanInt8Params(0.02, 0.02, 16)).toEqual({ multiplier: 2 ** 30, shift: 1 - 4, count: 16 });
    // a constant tensor q comes back as q
    for (const q of [-128, -37, 0, 5, 127]) expect(meanInt8(q * 25, 25, -3, -3, equal)).toBe(q);
    // means of exactly 0.5 and -0.5 round away from zero (double rounding; single rounding gives 0 for -0.5)
    const p16 = meanInt8Params(1, 1, 16);
    expect(meanInt8(8, 16, 0, 0, p16)).toBe(1);
    expect(meanInt8(-8, 16, 0, 0, p16)).toBe(-1);
    expect(multiplyByQuantizedMultiplierSingleRounding(-8, p16.multiplier, p16.shift)).toBe(0);
    expect(() => meanInt8(0, 24, 0, 0, equal)).toThrow(RangeError);
  });

  it('softmax parameters: multiplier of beta * scale * 2^26, diff_min from the input radius', () => {
    expect(softmaxInt8Params(0.5)).toEqual({ inputMultiplier: 2 ** 30, inputLeftShift: 26, diffMin: -31 });
    expect(softmaxInt8Params(1)).toEqual({ inputMultiplier: 2 ** 30, inputLeftShift: 27, diffMin: -15 });
    expect(softmaxInt8Params(0.1).diffMin).toBe(-Math.floor((31 * 2 ** 26) / 2 ** softmaxInt8Params(0.1).inputLeftShift));
    expect(softmaxInt8Params(100)).toEqual({ inputMultiplier: 2 ** 31 - 1, inputLeftShift: 31, diffMin: 0 });
    expect(() => softmaxInt8Params(2 ** (-27))).toThrow(RangeError);
  });

  it('gemmlowp exp_on_negative_values (Q5.26) and one_over_one_plus_x are close to exp and 1 / (1 + x)', () => {
    expect(expOnNegativeValuesQ5(0)).toBe(2 ** 31 - 1);
    for (const x of [-1e-6, -0.1, -0.25, -0.3, -1, -2.5, -7.75, -15.9, -20, -31.99]) {
      const raw = Math.round(x * 2 ** 26);
      expect(Math.abs(expOnNegativeValuesQ5(raw) / 2 ** 31 - Math.exp(raw / 2 ** 26))).toBeLessThan(5e-7);
    }
    for (const x of [0, 0.001, 0.25, 0.5, 0.999]) {
      expect(Math.abs(oneOverOnePlusXForXIn01(Math.round(x * 2 ** 31)) / 2 ** 31 - 1 / (1 + x))).toBeLessThan(1e-8);
    }
  });

  it('softmaxInt8: a single element gets 1 (127 after the zero point), equal elements share it, rows are independent', () => {
    const p = softmaxInt8Params(0.1);
    expect(Array.from(softmaxInt8(Int8Array.of(-3), p))).toEqual([127]);
    expect(Array.from(softmaxInt8(Int8Array.of(7, 7, 7, 7), p))).toEqual([-64, -64, -64, -64]);
    const two = softmaxInt8(Int8Array.of(7, 7, 7, 7, 1, 2, 3, 4), p, 4);
    expect(Array.from(two.subarray(0, 4))).toEqual([-64, -64, -64, -64]);
    expect(Array.from(two.subarray(4))).toEqual(Array.from(softmaxInt8(Int8Array.of(1, 2, 3, 4), p)));
    // below diff_min the output is exactly -128
    expect(Array.from(softmaxInt8(Int8Array.of(127, -128), softmaxInt8Params(0.5)))).toEqual([127, -128]);
    expect(() => softmaxInt8(Int8Array.of(1, 2, 3), p, 2)).toThrow(RangeError);
  });

  it('quantizeInt8 divides in float32 and rounds halves away from zero; dequantizeInt8 rounds the product once', () => {
    const s = 0.25;
    expect([0.125, -0.125, 0.375, -0.375, 0.1, 31.875, 32, -32.125, -1e9].map((x) => quantizeInt8(x, s, 0))).toEqual([1, -1, 2, -2, 0, 127, 127, -128, -128]);
    expect(quantizeInt8(0, 0.1, -34)).toBe(-34);
    expect(quantizeInt8(Number.NaN, 0.1, -34)).toBe(-34);
    // the division happens in float32: 6 / 2.4f is 2.49999990 in double but exactly 2.5 in float32
    expect(6 / Math.fround(2.4)).toBeLessThan(2.5);
    expect(quantizeInt8(6, 2.4, 0)).toBe(3);
    expect(dequantizeInt8(-128, 0.1, 5)).toBe(Math.fround(Math.fround(0.1) * -133));
    expect(dequantizeInt8(5, 0.1, 5)).toBe(0);
  });
});

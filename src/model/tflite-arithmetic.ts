/**
 * The integer arithmetic of TensorFlow Lite's reference int8 kernels, as plain scalar functions.
 *
 * Groundwork for issue 19 (TFLite import): an imported full-integer int8 `.tflite` model must give
 * outputs bit-identical to TFLite's reference interpreter (`OpResolverType.BUILTIN_REF`). Each
 * function here says which TFLite (or gemmlowp) function it mirrors; `test/model/tflite-arithmetic.test.ts`
 * checks them against single-op models run by TensorFlow 2.21's interpreter
 * (`scripts/make-tflite-op-goldens.py`, `test/fixtures/tflite/arithmetic.json`).
 *
 * What TFLite 2.21 (the `tensorflow` / `tensorflow-cpu` pip build) computes, settled against its
 * interpreter where the sources differ between versions and build flags:
 *
 * - `MultiplyByQuantizedMultiplier` is gemmlowp's DOUBLE rounding: the pip build does not define
 *   `TFLITE_SINGLE_ROUNDING`. `SaturatingRoundingDoublingHighMul` (halves up) then
 *   `RoundingDivideByPOT` (halves away from zero). CONV_2D, MEAN and ADD requantize this way: on
 *   goldens chosen to separate them, the single-rounding form misses outputs of all three.
 *   ({@link multiplyByQuantizedMultiplierSingleRounding} is the other form, for builds that define it.)
 * - FULLY_CONNECTED (int8, per-channel or per-tensor) does not use a fixed-point multiplier at all:
 *   its reference kernel requantizes in double, `round(acc * (s_in * s_w / s_out))`, halves away
 *   from zero ({@link fullyConnectedRequantizeInt8}). Both fixed-point forms miss some of its outputs.
 * - `QuantizeMultiplier` does not cap the shift at 30 (that cap only exists with single rounding).
 * - MEAN (reference kernel, int8) always goes through `QuantizedMeanOrSum`, even when the input and
 *   output scales are equal: a multiplier for `s_in / s_out` with `1 / count` folded in.
 * - SOFTMAX (reference kernel, int8 in and out) is `reference_ops::Softmax` with gemmlowp fixed
 *   point: `exp_on_negative_values` on Q5.26 differences, a Q12.19 sum, `one_over_one_plus_x` for
 *   the reciprocal. No lookup table.
 *
 * All integers are JS numbers holding int32 values; products that need 64 bits use BigInt.
 * Speed is not a goal: these are the specification the WebAssembly kernels are tested against.
 */

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** A fixed-point multiplier as TFLite stores it: `real ~= multiplier * 2^(shift - 31)`, multiplier a Q31 int32. */
export interface QuantizedMultiplier {
  /** Q0.31 significand in [2^30, 2^31), or 0 for a zero (or flushed) multiplier. */
  multiplier: number;
  /** Power-of-two exponent; positive means a left shift. */
  shift: number;
}

/** Fused activations of TFLite's builtin options that the int8 kernels turn into a clamp. */
export type TfliteActivation = 'NONE' | 'RELU' | 'RELU6' | 'RELU_N1_TO_1';

// ------------------------------------------------------------------------------------------------
// Floating-point helpers

/**
 * `std::frexp` for doubles: `x = fraction * 2^exponent` with `|fraction|` in [0.5, 1).
 * Exact (bit manipulation, subnormals included); zero, infinities and NaN come back unchanged with exponent 0.
 */
export function frexp(x: number): { fraction: number; exponent: number } {
  if (x === 0 || !Number.isFinite(x)) return { fraction: x, exponent: 0 };
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  let bias = 0;
  if (((view.getUint32(0) >>> 20) & 0x7ff) === 0) {
    view.setFloat64(0, x * 2 ** 64); // subnormal: normalise exactly
    bias = -64;
  }
  const high = view.getUint32(0);
  const exponent = ((high >>> 20) & 0x7ff) - 1022 + bias;
  view.setUint32(0, ((high & 0x800fffff) | (1022 << 20)) >>> 0);
  return { fraction: view.getFloat64(0), exponent };
}

/** `std::round` (and `TfLiteRound`): to nearest, halves away from zero. Exact for every double. */
export function roundHalfAwayFromZero(x: number): number {
  const t = Math.trunc(x);
  const rest = x - t; // exact
  if (rest >= 0.5) return t + 1;
  if (rest <= -0.5) return t - 1;
  return t;
}

/** Wraps to int32 like a C++ `static_cast<int32_t>` of an in-range-modulo-2^32 value. */
function toInt32(x: number | bigint): number {
  return typeof x === 'bigint' ? Number(BigInt.asIntN(32, x)) : x | 0;
}

function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}

// ------------------------------------------------------------------------------------------------
// Multipliers

/**
 * TFLite's `QuantizeMultiplier` (kernels/internal/quantization_util.cc): `frexp` of the double,
 * the fraction rounded half away from zero to Q31; a fraction that rounds to 2^31 becomes 2^30
 * with the exponent one higher; an exponent below -31 flushes to `{0, 0}`. Only builds with
 * `TFLITE_SINGLE_ROUNDING` (`singleRounding`; not TFLite 2.21's pip build) saturate an exponent
 * above 30 to `{2^31 - 1, 30}`.
 */
export function quantizeMultiplier(real: number, singleRounding = false): QuantizedMultiplier {
  if (real === 0) return { multiplier: 0, shift: 0 };
  const { fraction, exponent } = frexp(real);
  let shift = exponent;
  let q = roundHalfAwayFromZero(fraction * 2 ** 31);
  if (Math.abs(q) > 2 ** 31) throw new RangeError(`quantizeMultiplier(${real}): fraction out of range`);
  if (q === 2 ** 31) {
    q /= 2;
    shift += 1;
  }
  if (shift < -31) return { multiplier: 0, shift: 0 };
  if (singleRounding && shift > 30) return { multiplier: INT32_MAX, shift: 30 };
  return { multiplier: q, shift };
}

/** TFLite's `QuantizeMultiplierSmallerThanOneExp`: {@link quantizeMultiplier} for 0 < real < 1 (checked). */
export function quantizeMultiplierSmallerThanOne(real: number, singleRounding = false): QuantizedMultiplier {
  if (!(real > 0 && real < 1)) throw new RangeError(`multiplier ${real} is not in (0, 1)`);
  return quantizeMultiplier(real, singleRounding);
}

/** TFLite's `QuantizeMultiplierGreaterThanOne`: {@link quantizeMultiplier} for real > 1 (checked). */
export function quantizeMultiplierGreaterThanOne(real: number, singleRounding = false): QuantizedMultiplier {
  if (!(real > 1)) throw new RangeError(`multiplier ${real} is not above 1`);
  const m = quantizeMultiplier(real, singleRounding);
  if (m.shift < 0) throw new RangeError(`multiplier ${real} has a negative shift`);
  return m;
}

/**
 * The per-channel requantization multiplier of CONV_2D (and DEPTHWISE_CONV_2D; kernel_util.cc
 * `PopulateConvolutionQuantizationParams`, `GetQuantizedConvolutionMultipler` for per-tensor
 * filters): the three float32 scales widened to double, `(input * filter) / output` in double,
 * then {@link quantizeMultiplier}. (FULLY_CONNECTED's reference kernel uses the same double,
 * {@link fullyConnectedOutputScale}, without quantizing it.)
 */
export function convMultiplier(inputScale: number, filterScale: number, outputScale: number): QuantizedMultiplier {
  const real = (Math.fround(inputScale) * Math.fround(filterScale)) / Math.fround(outputScale);
  return quantizeMultiplier(real);
}

// ------------------------------------------------------------------------------------------------
// Fixed-point primitives (gemmlowp fixedpoint.h and TFLite common.h / common.cc)

/**
 * gemmlowp `SaturatingRoundingDoublingHighMul` (ARM `VQRDMULH`): `(a * b + nudge) / 2^31`
 * truncated towards zero, nudge `2^30` for a non-negative product and `1 - 2^30` otherwise, which
 * is `floor(a * b / 2^31 + 1/2)`: halves round up (towards +infinity, -1.5 gives -1);
 * `INT32_MIN * INT32_MIN` saturates to `INT32_MAX`.
 */
export function saturatingRoundingDoublingHighMul(a: number, b: number): number {
  if (a === INT32_MIN && b === INT32_MIN) return INT32_MAX;
  const ab = BigInt(a) * BigInt(b);
  const nudge = ab >= 0n ? 1n << 30n : 1n - (1n << 30n);
  return Number((ab + nudge) / (1n << 31n)); // BigInt division truncates towards zero, as C++ does
}

/**
 * gemmlowp `RoundingDivideByPOT`: `x / 2^exponent` (exponent 0..31) rounded to nearest, halves away
 * from zero (the remainder is compared with a threshold one higher for negative x).
 */
export function roundingDivideByPOT(x: number, exponent: number): number {
  if (exponent < 0 || exponent > 31) throw new RangeError(`roundingDivideByPOT exponent ${exponent}`);
  const mask = exponent === 31 ? INT32_MAX : (1 << exponent) - 1;
  const remainder = x & mask;
  const threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/** gemmlowp `SaturatingRoundingMultiplyByPOT<exponent>` for exponent > 0: a left shift saturating to int32. */
function saturatingShiftLeft(x: number, exponent: number): number {
  const threshold = 2 ** (31 - exponent) - 1;
  if (x > threshold) return INT32_MAX;
  if (x < -threshold) return INT32_MIN;
  return x * 2 ** exponent;
}

/**
 * TFLite's `MultiplyByQuantizedMultiplier(int32 x, int32 M, int shift)` as TFLite 2.21's pip build
 * compiles it (no `TFLITE_SINGLE_ROUNDING`; kernels/internal/common.cc): gemmlowp's double rounding,
 * `RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * 2^max(shift, 0), M), max(-shift, 0))`.
 * The left shift is an int32 multiplication (wrapping); the first rounding is half up, the second
 * half away from zero. Used by CONV_2D, ADD, MEAN (and, as `MultiplyByQuantizedMultiplierSmallerThanOneExp`,
 * by ADD's input rescaling).
 */
export function multiplyByQuantizedMultiplier(x: number, multiplier: number, shift: number): number {
  const left = shift > 0 ? shift : 0;
  const right = shift > 0 ? 0 : -shift;
  return roundingDivideByPOT(saturatingRoundingDoublingHighMul(Math.imul(x, (2 ** left) | 0), multiplier), right);
}

/**
 * The single-rounding `MultiplyByQuantizedMultiplier` of builds with `TFLITE_SINGLE_ROUNDING`
 * (common.cc; ruy's form): `(x * M + 2^(30 - shift)) >> (31 - shift)` in 64 bits, i.e. round half
 * up, shift in -31..30. NOT what TFLite 2.21's pip interpreter computes; kept because other builds
 * (and this repository's own kernels, docs/quantization.md) round once, and so that the test can
 * show the goldens tell the two apart.
 */
export function multiplyByQuantizedMultiplierSingleRounding(x: number, multiplier: number, shift: number): number {
  if (shift < -31 || shift > 30) throw new RangeError(`multiplyByQuantizedMultiplierSingleRounding shift ${shift}`);
  const totalShift = BigInt(31 - shift);
  return toInt32((BigInt(x) * BigInt(multiplier) + (1n << (totalShift - 1n))) >> totalShift);
}

// ------------------------------------------------------------------------------------------------
// CONV_2D / FULLY_CONNECTED output stage, activations

/**
 * TFLite's `CalculateActivationRangeQuantized` (kernel_util.cc) for an int8 output: RELU clamps
 * below at the quantized 0, RELU6 also above at the quantized 6, RELU_N1_TO_1 at -1 and 1, each
 * quantized as `zeroPoint + round_half_away(float(value) / float(scale))` in float32 and then
 * intersected with -128..127. NONE is the whole int8 range.
 */
export function activationRangeInt8(activation: TfliteActivation, scale: number, zeroPoint: number): { min: number; max: number } {
  const quantize = (value: number): number => zeroPoint + roundHalfAwayFromZero(Math.fround(value / Math.fround(scale)));
  switch (activation) {
    case 'NONE':
      return { min: -128, max: 127 };
    case 'RELU':
      return { min: Math.max(-128, quantize(0)), max: 127 };
    case 'RELU6':
      return { min: Math.max(-128, quantize(0)), max: Math.min(127, quantize(6)) };
    case 'RELU_N1_TO_1':
      return { min: Math.max(-128, quantize(-1)), max: Math.min(127, quantize(1)) };
    default:
      throw new RangeError(`activation ${String(activation)} has no int8 clamp`);
  }
}

/**
 * The output stage of reference_integer_ops `ConvPerChannel` (int8): the int32 accumulator
 * (`sum w * (x - zp_in) + bias`) through {@link multiplyByQuantizedMultiplier} with the channel's
 * {@link convMultiplier}, plus the output zero point, clamped to the activation range.
 */
export function requantizeInt8(acc: number, m: QuantizedMultiplier, outputZeroPoint: number, min = -128, max = 127): number {
  return clamp(multiplyByQuantizedMultiplier(acc, m.multiplier, m.shift) + outputZeroPoint, min, max);
}

/**
 * FULLY_CONNECTED's effective output scale for one output channel, as its reference int8 kernels
 * (`FullyConnectedPerChannel` / `FullyConnected` taking float scales) compute it:
 * `double(s_in) * double(s_w) / double(s_out)`, left to right. For a per-tensor filter `s_w` is its one scale.
 */
export function fullyConnectedOutputScale(inputScale: number, filterScale: number, outputScale: number): number {
  return (Math.fround(inputScale) * Math.fround(filterScale)) / Math.fround(outputScale);
}

/**
 * The output stage of TFLite 2.21's reference int8 FULLY_CONNECTED: the int32 accumulator
 * (`sum w * (x - zp_in) + bias`) times the double {@link fullyConnectedOutputScale}, rounded with
 * `std::round` (halves away from zero), cast to int32, plus the output zero point, clamped to the
 * activation range. No fixed-point multiplier is involved.
 */
export function fullyConnectedRequantizeInt8(acc: number, outputScale: number, outputZeroPoint: number, min = -128, max = 127): number {
  return clamp(toInt32(roundHalfAwayFromZero(acc * outputScale)) + outputZeroPoint, min, max);
}

// ------------------------------------------------------------------------------------------------
// AVERAGE_POOL_2D

/**
 * reference_integer_ops `AveragePool` (int8): `sum` is the int32 sum of the RAW int8 values in the
 * window (zero point included; the input and output share scale and zero point), `count` the
 * number of window pixels inside the input (border windows have fewer). Rounds the quotient to
 * nearest, halves away from zero, with C++ truncating division:
 * `sum > 0 ? (sum + count/2) / count : (sum - count/2) / count`, then clamps to [min, max]
 * (the fused activation's range).
 */
export function averagePoolInt8(sum: number, count: number, min = -128, max = 127): number {
  if (!(count > 0)) throw new RangeError(`average pool of ${count} pixels`);
  const half = Math.trunc(count / 2);
  const q = sum > 0 ? Math.trunc((sum + half) / count) : Math.trunc((sum - half) / count);
  return clamp(q | 0, min, max); // | 0: C++ integer division has no -0
}

// ------------------------------------------------------------------------------------------------
// ADD

/** What TFLite's ADD `Prepare` derives for int8 inputs and output (kernels/add.cc). */
export interface AddInt8Params {
  /** 20 for int8 (15 is the int16 general path). */
  leftShift: number;
  input1: QuantizedMultiplier;
  input2: QuantizedMultiplier;
  output: QuantizedMultiplier;
}

/**
 * ADD's `Prepare` for int8 (kernels/add.cc): `twice_max = 2 * max(s1, s2)` (float32, exact),
 * `m1 = s1 / twice_max`, `m2 = s2 / twice_max`, `m_out = twice_max / (2^20 * s_out)` in double,
 * each through `QuantizeMultiplierSmallerThanOneExp`.
 */
export function addInt8Params(inputScale1: number, inputScale2: number, outputScale: number): AddInt8Params {
  const leftShift = 20;
  const s1 = Math.fround(inputScale1);
  const s2 = Math.fround(inputScale2);
  const twiceMax = Math.fround(2 * Math.max(s1, s2));
  const scaledOutput = Math.fround(2 ** leftShift * Math.fround(outputScale)); // int * float is a float product in C++
  return {
    leftShift,
    input1: quantizeMultiplierSmallerThanOne(s1 / twiceMax),
    input2: quantizeMultiplierSmallerThanOne(s2 / twiceMax),
    output: quantizeMultiplierSmallerThanOne(twiceMax / scaledOutput),
  };
}

/**
 * reference_integer_ops `AddElementwise` (int8): each input minus its zero point, shifted left by
 * 20, rescaled with its multiplier; the int32 sum rescaled with the output multiplier (all three
 * `MultiplyByQuantizedMultiplierSmallerThanOneExp`, which for shifts <= 0 is
 * {@link multiplyByQuantizedMultiplier}: double rounding), plus the output zero point, clamped to [min, max].
 */
export function addInt8(q1: number, q2: number, zeroPoint1: number, zeroPoint2: number, outputZeroPoint: number, params: AddInt8Params, min = -128, max = 127): number {
  const shifted1 = (q1 - zeroPoint1) * 2 ** params.leftShift;
  const shifted2 = (q2 - zeroPoint2) * 2 ** params.leftShift;
  const scaled1 = multiplyByQuantizedMultiplier(shifted1, params.input1.multiplier, params.input1.shift);
  const scaled2 = multiplyByQuantizedMultiplier(shifted2, params.input2.multiplier, params.input2.shift);
  const sum = toInt32(scaled1 + scaled2);
  return clamp(multiplyByQuantizedMultiplier(sum, params.output.multiplier, params.output.shift) + outputZeroPoint, min, max);
}

// ------------------------------------------------------------------------------------------------
// MEAN

/** The multiplier reference `QuantizedMeanOrSum` applies to the zero-point-corrected sum. */
export interface MeanInt8Params extends QuantizedMultiplier {
  /** Number of elements averaged (H * W for a global average pool). */
  count: number;
}

/**
 * MEAN's multiplier for int8 (kernels/reduce.cc `PrepareMeanOrSum`, reference/reduce.h
 * `QuantizedMeanOrSum`): `QuantizeMultiplier(double(s_in) / double(s_out))`, then `1 / count` folded
 * in: `k = min(floor(log2(count)), 32, 31 + shift)`, multiplier `(M << k) / count` (int64,
 * truncating), shift `shift - k`. The same path runs when the scales are equal.
 */
export function meanInt8Params(inputScale: number, outputScale: number, count: number): MeanInt8Params {
  if (!(Number.isInteger(count) && count > 0)) throw new RangeError(`mean over ${count} elements`);
  const base = quantizeMultiplier(Math.fround(inputScale) / Math.fround(outputScale));
  let k = Math.floor(Math.log2(count));
  if (2 ** k > count) k -= 1; // guard Math.log2 rounding
  else if (2 ** (k + 1) <= count) k += 1;
  k = Math.min(k, 32, 31 + base.shift);
  const multiplier = Number((BigInt(base.multiplier) << BigInt(k)) / BigInt(count));
  return { multiplier, shift: base.shift - k, count };
}

/**
 * reference `QuantizedMeanOrSum` (int8 mean) for one output: `sumOfRawQ` is the int32 sum of the
 * raw int8 inputs, from which `zpIn * count` is subtracted; then {@link multiplyByQuantizedMultiplier}
 * (double rounding) with {@link meanInt8Params}, plus the output zero point, clamped to -128..127.
 */
export function meanInt8(sumOfRawQ: number, count: number, zpIn: number, zpOut: number, params: MeanInt8Params): number {
  if (count !== params.count) throw new RangeError(`meanInt8: params are for ${params.count} elements, not ${count}`);
  const shiftedSum = toInt32(sumOfRawQ - zpIn * count);
  return clamp(multiplyByQuantizedMultiplier(shiftedSum, params.multiplier, params.shift) + zpOut, -128, 127);
}

// ------------------------------------------------------------------------------------------------
// SOFTMAX

/** What SOFTMAX's `Prepare` derives for the reference int8 kernel (kernels/activations.cc). */
export interface SoftmaxInt8Params {
  /** Multiplier taking an input difference to Q5.26 (`input_multiplier`). */
  inputMultiplier: number;
  /** Its left shift (`input_left_shift`), 0..31. */
  inputLeftShift: number;
  /** Differences (q - max of row) below this give exp = 0 and output -128. */
  diffMin: number;
}

/**
 * TFLite's `MultiplyByQuantizedMultiplierGreaterThanOne` without `TFLITE_SINGLE_ROUNDING`:
 * `SaturatingRoundingDoublingHighMul(x * 2^shift, M)`, the left shift an int32 multiplication.
 * (With single rounding it is {@link multiplyByQuantizedMultiplierSingleRounding}; for the inputs
 * softmax gives it, |x| <= 31 * 2^(26 - shift), the two agree.)
 */
export function multiplyByQuantizedMultiplierGreaterThanOne(x: number, multiplier: number, shift: number): number {
  return saturatingRoundingDoublingHighMul(Math.imul(x, (2 ** shift) | 0), multiplier);
}

/**
 * SOFTMAX `Prepare` for the reference kernel with int8 input (`PreprocessSoftmaxScaling` with 5
 * integer bits, quantization_util.cc): `real = min(double(beta) * double(s_in) * 2^26, 2^31 - 1)`,
 * `QuantizeMultiplierGreaterThanOne(real)`; `diffMin = -floor(31 * 2^26 / 2^shift)`
 * (`CalculateInputRadius(5, shift)`). When `beta * s_in >= 32` the multiplier is `2^31 - 1` with
 * shift 31, and diffMin is 0: only the row maximum contributes.
 */
export function softmaxInt8Params(inputScale: number, beta = 1): SoftmaxInt8Params {
  const real = Math.min(Math.fround(beta) * Math.fround(inputScale) * 2 ** 26, 2 ** 31 - 1);
  const m = quantizeMultiplierGreaterThanOne(real);
  const radius = Math.floor((31 * 2 ** 26) / 2 ** m.shift);
  return { inputMultiplier: m.multiplier, inputLeftShift: m.shift, diffMin: 0 - radius }; // 0 - 0 is +0
}

/** gemmlowp `exp_on_interval_between_negative_one_quarter_and_0_excl` on a Q0.31 raw value: exp(a), Q0.31. */
function expOnIntervalBetweenNegativeOneQuarterAnd0Excl(a: number): number {
  const constantTerm = 1895147668; // exp(-1/8)
  const oneThird = 715827883;
  const mul = saturatingRoundingDoublingHighMul;
  const x = toInt32(a + (1 << 28)); // a + 1/8
  const x2 = mul(x, x);
  const x3 = mul(x2, x);
  const x4 = mul(x2, x2);
  const x4Over4 = roundingDivideByPOT(x4, 2);
  const poly = roundingDivideByPOT(toInt32(mul(toInt32(x4Over4 + x3), oneThird) + x2), 1);
  return toInt32(constantTerm + mul(constantTerm, toInt32(x + poly)));
}

/**
 * gemmlowp `exp_on_negative_values` for a Q5.26 input (the only format softmax uses): exp(a) for
 * a <= 0 as Q0.31, from the exp of `a mod 1/4` on [-1/4, 0) and a barrel shifter multiplying by
 * exp(-1/4), exp(-1/2), ..., exp(-16) for the set bits of the rest; exp(0) is `2^31 - 1`.
 */
export function expOnNegativeValuesQ5(a: number): number {
  const fractionalBits = 26;
  const oneQuarter = 1 << (fractionalBits - 2);
  const aModQuarterMinusOneQuarter = (a & (oneQuarter - 1)) - oneQuarter;
  let result = expOnIntervalBetweenNegativeOneQuarterAnd0Excl(saturatingShiftLeft(aModQuarterMinusOneQuarter, 5));
  const remainder = toInt32(aModQuarterMinusOneQuarter - a);
  const barrel: Array<[number, number]> = [
    [-2, 1672461947], // exp(-1/4)
    [-1, 1302514674], // exp(-1/2)
    [0, 790015084], // exp(-1)
    [1, 290630308], // exp(-2)
    [2, 39332535], // exp(-4)
    [3, 720401], // exp(-8)
    [4, 242], // exp(-16)
  ];
  for (const [exponent, multiplier] of barrel) {
    if (remainder & (1 << (fractionalBits + exponent))) result = saturatingRoundingDoublingHighMul(result, multiplier);
  }
  return a === 0 ? INT32_MAX : result;
}

/** gemmlowp `one_over_one_plus_x_for_x_in_0_1` on a Q0.31 raw value: 1 / (1 + a), Q0.31 (Newton-Raphson, 3 steps). */
export function oneOverOnePlusXForXIn01(a: number): number {
  const mul = saturatingRoundingDoublingHighMul;
  const halfDenominator = Number((BigInt(a) + BigInt(INT32_MAX) + 1n) / 2n); // RoundingHalfSum(a, One), sum >= 0
  const constant48Over17 = 1515870810; // Q2.29
  const constantNeg32Over17 = -1010580540; // Q2.29
  const oneQ2 = 1 << 29;
  let x = toInt32(constant48Over17 + mul(halfDenominator, constantNeg32Over17));
  for (let i = 0; i < 3; i++) {
    const halfDenominatorTimesX = mul(halfDenominator, x);
    const oneMinus = toInt32(oneQ2 - halfDenominatorTimesX);
    x = toInt32(x + saturatingShiftLeft(mul(x, oneMinus), 2)); // Rescale<2> of a Q4.27 product
  }
  return saturatingShiftLeft(x, 1); // Rescale<0>(ExactMulByPot<-1>(x))
}

/**
 * reference_ops `Softmax` for int8 input and int8 output (reference/softmax.h), row by row
 * (`depth` elements each, the last dimension): per element `d = q - max(row)`; if `d >= diffMin`,
 * `exp(d)` = {@link expOnNegativeValuesQ5} of {@link multiplyByQuantizedMultiplierGreaterThanOne}`(d)`,
 * summed as Q12.19 (`Rescale<12>`); the sum's reciprocal from
 * `GetReciprocal` (normalised by its leading zeros, `one_over_one_plus_x`); each output
 * `RoundingDivideByPOT(SRDHM(reciprocal, exp), bitsOverUnit + 23) - 128`, clamped to int8, and -128
 * where `d < diffMin`. The output quantization is fixed by TFLite: zero point -128, scale 1/256.
 */
export function softmaxInt8(input: Int8Array, params: SoftmaxInt8Params, depth = input.length): Int8Array {
  if (!(depth > 0) || input.length % depth !== 0) throw new RangeError(`softmax rows of ${depth} in ${input.length} values`);
  const output = new Int8Array(input.length);
  const exps = new Array<number>(depth);
  for (let row = 0; row < input.length; row += depth) {
    let maxInRow = -128;
    for (let c = 0; c < depth; c++) maxInRow = Math.max(maxInRow, input[row + c]);
    let sumOfExps = 0; // Q12.19
    for (let c = 0; c < depth; c++) {
      const diff = input[row + c] - maxInRow;
      if (diff >= params.diffMin) {
        exps[c] = expOnNegativeValuesQ5(multiplyByQuantizedMultiplierGreaterThanOne(diff, params.inputMultiplier, params.inputLeftShift));
        sumOfExps = toInt32(sumOfExps + roundingDivideByPOT(exps[c], 12));
      }
    }
    // GetReciprocal(sum, 12 integer bits)
    const headroomPlusOne = Math.clz32(sumOfExps);
    const bitsOverUnit = 12 - headroomPlusOne;
    const shiftedSumMinusOne = toInt32(((sumOfExps << headroomPlusOne) >>> 0) - 2 ** 31);
    const shiftedScale = oneOverOnePlusXForXIn01(shiftedSumMinusOne);
    for (let c = 0; c < depth; c++) {
      const diff = input[row + c] - maxInRow;
      if (diff >= params.diffMin) {
        const unsaturated = roundingDivideByPOT(saturatingRoundingDoublingHighMul(shiftedScale, exps[c]), bitsOverUnit + 31 - 8);
        output[row + c] = clamp(unsaturated - 128, -128, 127);
      } else {
        output[row + c] = -128;
      }
    }
  }
  return output;
}

// ------------------------------------------------------------------------------------------------
// QUANTIZE / DEQUANTIZE

/**
 * reference_ops `AffineQuantize` (QUANTIZE, float32 to int8): `zp + round_half_away(x / scale)`
 * with the division in float32, clamped to -128..127. (Where the quotient leaves int32 TFLite's
 * float-to-int cast is undefined; on x86 it gives INT32_MIN and the wrapped sum clamps to 127 even
 * for huge negative inputs. Here those saturate; NaN gives the zero point.)
 */
export function quantizeInt8(x: number, scale: number, zeroPoint: number): number {
  const q = roundHalfAwayFromZero(Math.fround(Math.fround(x) / Math.fround(scale)));
  if (Number.isNaN(q)) return clamp(zeroPoint, -128, 127);
  return clamp(q + zeroPoint, -128, 127);
}

/**
 * reference_ops `Dequantize` (DEQUANTIZE, int8 to float32): `float(double(scale) * (q - zp))`.
 * The double product is exact, so this equals the float32 product rounded once.
 */
export function dequantizeInt8(q: number, scale: number, zeroPoint: number): number {
  return Math.fround(Math.fround(scale) * (q - zeroPoint));
}

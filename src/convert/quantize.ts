/**
 * Post-training quantization (Jacob et al. 2018; docs/quantization.md): turns a float model into
 * an integer-only int8 one, calibrating activation ranges on real images.
 *
 * 0. A classifier after the global average pool is moved in front of it ({@link poolLast}).
 * 1. Observe: run the float model on every calibration image and record, for every group of
 *    activations that must share quantization (a concat and its inputs, a pool and its input),
 *    a histogram of the values.
 * 2. Candidates: ranges from min/max, from a percentile, and from MSE-optimal clipping.
 * 3. Select: build each candidate int8 model and keep the one that agrees best with the float
 *    model's top-1 on the calibration images (within one standard error: smaller logit error).
 * Deterministic: the same model and images give the same bytes.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { Classifier, type ImageInput, type ImageOptions } from '../classifier.js';
import { ArgumentError } from '../errors.js';
import { decodeImage } from '../image/decode.js';
import { I16_MAX, QUANT_RANGE, type AddOp, type ConvOp, type Model, type Op, type QuantParams, type Tensor } from '../model/format.js';
import { convMacs, readByI16Kernels, readersOf, readOnlyByConvs } from '../model/graph.js';
import { validateModel, type ValidModel } from '../model/validate.js';
import { quote } from '../text.js';
import { topK } from '../runtime/output.js';
import { run } from '../runtime/run.js';
import type { Step, View } from '../runtime/types.js';
import { readView } from '../runtime/view.js';
import { gptqQuantize, PatchCovariance } from './gptq.js';
import { chooseNarrow, type Agreement, type NarrowCandidate, type NarrowReport } from './narrow.js';

/** How activation ranges are chosen. */
export type RangeMethod = 'minmax' | 'percentile' | 'mse';

/** Options of {@link quantizeModel}; `orientation` is how every calibration image is read. */
export interface QuantizeOptions extends ImageOptions {
  /** Range methods to try; the one with the best measured agreement wins. Default: all three. */
  methods?: RangeMethod[];
  /** Percentile of values kept by the 'percentile' method (default 99.999). */
  percentile?: number;
  /** GPTQ weight rounding against the input covariance (default true); false rounds each weight to nearest. */
  gptq?: boolean;
  /** Calibration images whose conv inputs feed GPTQ's covariance (default 32). */
  gptqImages?: number;
  /** Cross-layer equalization before choosing ranges (default true). */
  equalize?: boolean;
  /** `i16` (default): 13-bit int16 activations wherever the kernels take them ({@link i16Tensors}); `u8`: every activation uint8, the classic scheme. */
  activations?: 'i16' | 'u8';
  /**
   * `auto`: make conv inputs 8-bit (u8) instead of 13-bit where the measured agreement allows
   * ({@link chooseNarrow}), so that CPUs whose relaxed dot product reads 8 bits in one instruction
   * (x86 with AVX-VNNI, Arm with the dot product) multiply them 2x faster; `none` (default): no such narrowing.
   */
  u8?: 'auto' | 'none';
  /** With `u8: 'auto'`: the top-1 agreement with float the u8 inputs may cost, as a fraction (default 0.004, 2 images in 500). */
  u8Tolerance?: number;
  /**
   * `auto`: then make conv inputs 7-bit (u7) where the measured agreement allows, so that an engine
   * whose one-instruction relaxed dot is exact on 7 bits alone multiplies them 2x faster too;
   * `none` (default): no u7 activations.
   */
  u7?: 'auto' | 'none';
  /** With `u7: 'auto'`: the top-1 agreement with float the u7 activations may cost beyond the u8 search's, as a fraction (default 0.004). */
  u7Tolerance?: number;
  /** Called as work advances: phase, done, total (for `u8` and `u7`: models measured, of at most twice the candidates). */
  onProgress?: (phase: 'observe' | 'select' | 'u8' | 'u7', done: number, total: number) => void;
}

/** What the quantizer measured for one candidate. */
export interface CandidateReport {
  method: RangeMethod;
  /** Top-1 agreement with the float model on the calibration images. */
  agreement: number;
  /** Mean absolute logit difference to the float model. */
  logitError: number;
}

/** The quantized model and how it was chosen. */
export interface QuantizeResult {
  model: ValidModel;
  chosen: RangeMethod;
  candidates: CandidateReport[];
  calibrationImages: number;
  /** With `u8: 'auto'`: what the search for u8 conv inputs tried and kept. */
  u8?: NarrowChoice;
  /** With `u7: 'auto'`: what the search for u7 activations tried and kept. */
  u7?: NarrowChoice;
}

/** What a narrowing search kept, and the range method of its narrowed groups. */
export interface NarrowChoice extends NarrowReport {
  method: RangeMethod;
}

const BINS = 2048;

/** Fewest calibration images accepted: fewer cannot measure agreement at all. */
const MIN_IMAGES = 4;

/**
 * Histogram of |values| on each side of zero with a range that doubles (merging bin pairs) as
 * larger values arrive, so one pass suffices.
 */
class Histogram {
  pos = new Float64Array(BINS);
  neg = new Float64Array(BINS);
  range = 0;
  min = 0;
  max = 0;

  add(values: Float32Array): void {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    this.min = Math.min(this.min, lo);
    this.max = Math.max(this.max, hi);
    const need = Math.max(hi, -lo);
    if (this.range === 0) this.range = need > 0 ? 2 ** Math.ceil(Math.log2(need)) : 0;
    while (need >= this.range && this.range > 0) this.grow();
    if (this.range === 0) {
      this.pos[0] += values.length;
      return;
    }
    const toBin = BINS / this.range;
    for (const v of values) {
      if (v >= 0) this.pos[Math.min(BINS - 1, Math.floor(v * toBin))]++;
      else this.neg[Math.min(BINS - 1, Math.floor(-v * toBin))]++;
    }
  }

  private grow(): void {
    for (const h of [this.pos, this.neg]) {
      for (let i = 0; i < BINS / 2; i++) h[i] = h[2 * i] + h[2 * i + 1];
      h.fill(0, BINS / 2);
    }
    this.range *= 2;
  }

  /** Smallest magnitude that keeps `fraction` of one side's values. */
  percentile(side: 'pos' | 'neg', fraction: number): number {
    const h = this[side];
    const total = h.reduce((a, b) => a + b, 0);
    let seen = 0;
    for (let i = 0; i < BINS; i++) {
      seen += h[i];
      if (seen >= fraction * total) return ((i + 1) * this.range) / BINS;
    }
    return this.range;
  }

  /**
   * Clip magnitude for one side minimising the expected squared error of quantizing it with
   * `levels` steps: rounding noise step^2/12 for values inside, squared distance for clipped ones.
   */
  mseClip(side: 'pos' | 'neg', levels: number): number {
    const h = this[side];
    const width = this.range / BINS;
    // Suffix sums of count, count*c, count*c^2 over bin centres c give the clipping error in O(1).
    const s0 = new Float64Array(BINS + 1), s1 = new Float64Array(BINS + 1), s2 = new Float64Array(BINS + 1);
    for (let i = BINS - 1; i >= 0; i--) {
      const c = (i + 0.5) * width;
      s0[i] = s0[i + 1] + h[i];
      s1[i] = s1[i + 1] + h[i] * c;
      s2[i] = s2[i + 1] + h[i] * c * c;
    }
    let best = this.range;
    let bestError = Infinity;
    for (let i = 1; i <= BINS; i++) {
      const t = i * width;
      const step = t / levels;
      const error = (s0[0] - s0[i]) * (step * step) / 12 + (s2[i] - 2 * t * s1[i] + t * t * s0[i]);
      if (error < bestError) {
        bestError = error;
        best = t;
      }
    }
    return best;
  }
}

/**
 * Cross-layer equalization (after Nagel et al. 2019, with activation ranges): for a conv whose
 * output reaches only convs (through concat, pools and ReLU, which commute with a positive
 * per-channel scale), output channel c is divided by s_c and the consumers' input channel c is
 * multiplied by it. The float function is unchanged; choosing s_c = sqrt(a_c / r_c), with a_c the
 * channel's activation range and r_c the consumers' largest weight on it, gives every channel the
 * same sqrt(a_c r_c) as activation range and as weight range, so one per-tensor activation scale
 * and per-channel weight scales both fit every channel.
 */
export function equalize(model: ValidModel, channelMax: Map<string, Float64Array>): Model {
  const tensors = new Map(model.tensors);
  // Copy on first write; later writes (another producer, or a consumer reached twice) share it.
  const copied = new Set<string>();
  const copy = (name: string): Float32Array => {
    const t = tensors.get(name)!;
    if (copied.has(name)) return t.data as Float32Array;
    copied.add(name);
    const data = Float32Array.from(t.data as Float32Array);
    tensors.set(name, { ...t, data } as Tensor);
    return data;
  };
  const readers = readersOf(model.ops);
  const channels = (name: string): number => model.act(name).shape.c;
  // Every conv that reads `name`, with the channel offset at which `name` appears in its input.
  const consumers = (name: string, offset: number, seen: string[]): [ConvOp, number][] | undefined => {
    if (name === model.output) return undefined;
    const result: [ConvOp, number][] = [];
    for (const op of readers.get(name) ?? []) {
      if (op.op === 'conv') result.push([op, offset]);
      else if (op.op === 'maxpool' || op.op === 'avgpool' || op.op === 'relu' || op.op === 'concat') {
        let off = offset;
        if (op.op === 'concat') for (const x of op.inputs.slice(0, op.inputs.indexOf(name))) off += channels(x);
        const more = consumers(op.output, off, [...seen, op.output]);
        if (!more) return undefined;
        result.push(...more);
      } else return undefined;
    }
    return result.length ? result : undefined;
  };
  for (const producer of model.ops) {
    if (producer.op !== 'conv') continue;
    const uses = consumers(producer.output, 0, []);
    const ranges = channelMax.get(producer.output);
    if (!uses || !ranges) continue;
    const w1 = copy(producer.weight);
    const b1 = producer.bias === undefined ? undefined : copy(producer.bias);
    const oc = channels(producer.output);
    const perOut = w1.length / oc;
    const weights = uses.map(([op, off]) => [copy(op.weight), channels(op.input), op.kernel[0] * op.kernel[1], off] as const);
    for (let c = 0; c < oc; c++) {
      let r = 0;
      for (const [w, inC, taps, off] of weights) {
        for (let n = 0; n < w.length / (inC * taps); n++) {
          for (let t = 0; t < taps; t++) r = Math.max(r, Math.abs(w[(n * inC + off + c) * taps + t]));
        }
      }
      const a = ranges[c];
      if (!(a > 0 && r > 0)) continue;
      const sc = Math.sqrt(a / r);
      for (let i = c * perOut; i < (c + 1) * perOut; i++) w1[i] /= sc;
      if (b1) b1[c] /= sc;
      ranges[c] = a / sc;
      for (const [w, inC, taps, off] of weights) {
        for (let n = 0; n < w.length / (inC * taps); n++) {
          for (let t = 0; t < taps; t++) w[(n * inC + off + c) * taps + t] *= sc;
        }
      }
    }
  }
  return { ...model, tensors };
}

/** Union-find over activation names: members of a group share one scale and zero point. Maps name -> group. */
export function quantGroups(model: Model): Map<string, string> {
  const parent = new Map<string, string>();
  const find = (x: string): string => {
    const p = parent.get(x) ?? x;
    if (p === x) return x;
    const r = find(p);
    parent.set(x, r);
    return r;
  };
  const union = (a: string, b: string): void => void parent.set(find(a), find(b));
  for (const op of model.ops) {
    if (op.op === 'concat') for (const x of op.inputs) union(x, op.output);
    if (op.op === 'maxpool' || op.op === 'avgpool' || op.op === 'relu' || op.op === 'flatten') union(op.input, op.output);
  }
  const groups = new Map<string, string>();
  for (const name of [model.input.name, ...model.ops.map((op) => op.output)]) groups.set(name, find(name));
  return groups;
}

/** Scale and zero point covering [lo, hi] (widened to include 0) with 256 levels (u8), or 128 (u7). */
export function rangeToQuant(lo: number, hi: number, dtype: 'u8' | 'u7' = 'u8'): QuantParams {
  const top = QUANT_RANGE[dtype][1];
  lo = Math.min(lo, 0);
  hi = Math.max(hi, 0);
  if (hi - lo < 1e-8) hi = lo + 1e-8;
  const scale = (hi - lo) / top;
  return { scale, zeroPoint: Math.min(top, Math.max(0, Math.round(-lo / scale))), dtype };
}

/** The range of the normalised input, from the preprocessing itself: no calibration needed. */
function inputRange(model: Model): [number, number] {
  const { divisor, mean, std } = model.input;
  const ends = [0, 1, 2].flatMap((c) => [(0 / divisor - mean[c]) / std[c], (255 / divisor - mean[c]) / std[c]]);
  return [Math.min(...ends), Math.max(...ends)];
}

/** A conv's weights as int8: real = scales[n] * q, per output channel n. */
export interface Int8Weights {
  q: Int8Array;
  scales: Float32Array;
}

/**
 * Symmetric per-output-channel int8 weights (scale max|w| / 127), rounded with GPTQ against the
 * input covariance `covariance` when given, else to nearest. Zero weights stay zero either way.
 */
export function roundWeights(w: Tensor, covariance?: Float64Array): Int8Weights {
  const oc = w.shape[0];
  const per = w.data.length / oc;
  const scales = new Float32Array(oc);
  for (let n = 0; n < oc; n++) {
    let maxAbs = 0;
    for (let i = n * per; i < (n + 1) * per; i++) maxAbs = Math.max(maxAbs, Math.abs(w.data[i]));
    scales[n] = maxAbs > 0 ? maxAbs / 127 : 1;
  }
  const q = covariance
    ? gptqQuantize(w.data as Float32Array, oc, covariance, scales)
    : Int8Array.from(w.data, (v, i) => Math.round(v / scales[Math.floor(i / per)]));
  return { q, scales };
}

/**
 * A conv with int8 `weights`, int32 bias, and the fixed-point requantization: a multiplier per
 * channel and one shift per layer, the largest that keeps every multiplier below 2^31. Reads the
 * float bias of `op` from `model`, writes the int8 constants into `tensors` and returns the op with
 * its quantization fields.
 */
export function quantizeConv(op: ConvOp, model: Model, qIn: QuantParams, qOut: QuantParams, tensors: Map<string, Tensor>, { q, scales }: Int8Weights): ConvOp {
  const oc = scales.length;
  const real = Array.from(scales, (s) => (qIn.scale * s) / qOut.scale);
  const shift = Math.max(1, Math.min(62, Math.floor(Math.log2((2 ** 31 - 1) / Math.max(...real)))));
  const multipliers = Int32Array.from(real, (m) => Math.min(2 ** 31 - 1, Math.round(m * 2 ** shift)));
  const out: ConvOp = { ...op, weightScale: `${op.weight}.scale`, multiplier: `${op.weight}.multiplier`, shift };
  tensors.set(op.weight, { dtype: 'i8', shape: model.tensors.get(op.weight)!.shape, data: q });
  tensors.set(out.weightScale!, { dtype: 'f32', shape: [oc], data: scales });
  tensors.set(out.multiplier!, { dtype: 'i32', shape: [oc], data: multipliers });
  if (op.bias !== undefined) {
    const b = model.tensors.get(op.bias)!.data;
    tensors.set(op.bias, { dtype: 'i32', shape: [oc], data: Int32Array.from(b, (v, n) => Math.round(v / (qIn.scale * scales[n]))) });
  }
  return out;
}

/**
 * An add's fixed-point rescaling: m_i = round(s_i / s_out * 2^shift), with the largest shift that
 * keeps both multipliers below 2^31 (docs/quantization.md).
 */
function quantizeAdd(op: AddOp, quant: Map<string, QuantParams>): AddOp {
  const out = quant.get(op.output)!.scale;
  const real = op.inputs.map((x) => quant.get(x)!.scale / out);
  const shift = Math.max(1, Math.min(62, Math.floor(Math.log2((2 ** 31 - 1) / Math.max(...real)))));
  const [m0, m1] = real.map((m) => Math.min(2 ** 31 - 1, Math.round(m * 2 ** shift)));
  return { ...op, multipliers: [m0, m1], shift };
}

/**
 * Builds the int8 model for one choice of activation quantization. `weights` (per conv output)
 * are the convs' int8 weights, e.g. from GPTQ; a conv without any gets its weights rounded to nearest.
 */
export function buildInt8(model: Model, quant: Map<string, QuantParams>, weights = new Map<string, Int8Weights>()): Model {
  const tensors = new Map<string, Tensor>();
  const ops: Op[] = model.ops.map((op) => {
    if (op.op === 'conv') {
      return quantizeConv(op, model, quant.get(op.input)!, quant.get(op.output)!, tensors, weights.get(op.output) ?? roundWeights(model.tensors.get(op.weight)!));
    }
    return op.op === 'add' ? quantizeAdd(op, quant) : op;
  });
  return { ...model, name: model.name.replace(/-f32$/, '') + '-int8', precision: 'int8', ops, tensors, quant };
}

/**
 * Moves each global average pool behind the 1x1 conv that reads it when that conv has no ReLU or
 * clamp (a Gemm classifier after the pool): both are linear, so mean(W x + b) = W mean(x) + b, and
 * the pool becomes the network output, the one place int8 has it (exact int32 sums for the float
 * softmax). The conv then runs on every pixel instead of once, a small cost for a classifier.
 * Other models are returned unchanged.
 */
export function poolLast(model: Model): Model {
  const readers = readersOf(model.ops);
  const ops = [...model.ops];
  ops.forEach((pool, i) => {
    if (pool.op !== 'globalavgpool' || pool.output === model.output) return;
    const [conv, ...others] = readers.get(pool.output) ?? [];
    if (others.length > 0 || conv?.op !== 'conv' || conv.relu || conv.max !== undefined) return;
    if (conv.kernel.some((k) => k !== 1) || conv.stride.some((k) => k !== 1) || conv.pads.some((p) => p !== 0)) return;
    // The conv takes the pool's place and output name; the pool takes the conv's, so readers of the result are unchanged.
    ops[ops.indexOf(conv)] = { op: 'globalavgpool', input: pool.output, output: conv.output };
    ops[i] = { ...conv, input: pool.input, output: pool.output };
  });
  return { ...model, ops };
}

/**
 * Activations that can be `i16`: every quantization group (tensors joined by concat, pools and ReLU
 * share one) made only of op outputs that int16 kernels read (all but the average pool) and that
 * are not the network's output; an add's two inputs share one type. In SqueezeNet that is every
 * activation but the input (whose type the preprocessing decides, see {@link activationQuant}): the
 * kernels multiply in int16 anyway, so i16 costs only memory, and 8 bits lose agreement with
 * float (docs/quantization.md).
 */
export function i16Tensors(model: Model): Set<string> {
  const readers = readersOf(model.ops);
  const groups = quantGroups(model);
  const produced = new Set(model.ops.map((op) => op.output));
  const i16 = new Set(groups.values());
  for (const [name, group] of groups) {
    if (!(produced.has(name) && name !== model.output && readByI16Kernels(readers, name))) i16.delete(group);
  }
  for (let changed = true; changed; ) {
    changed = false;
    for (const op of model.ops) {
      const [a, b] = op.op === 'add' ? op.inputs.map((x) => groups.get(x)!) : [];
      if (a !== undefined && i16.has(a) !== i16.has(b)) {
        i16.delete(a);
        i16.delete(b);
        changed = true;
      }
    }
  }
  return new Set([...groups].filter(([, group]) => i16.has(group)).map(([name]) => name));
}

/** The range each quantization group gets under `method`, from its histogram; groups in `i16` have I16_MAX steps per side, those in `u7` 127 in all. */
function groupRanges(hist: Map<string, Histogram>, methodOf: (group: string) => RangeMethod, percentile: number, i16: Set<string>, u7 = new Set<string>()): Map<string, [number, number]> {
  const ranges = new Map<string, [number, number]>();
  for (const [group, h] of hist) {
    const method = methodOf(group);
    let lo = h.min;
    let hi = h.max;
    if (method === 'percentile') {
      hi = Math.min(hi, h.percentile('pos', percentile / 100));
      lo = Math.max(lo, -h.percentile('neg', percentile / 100));
    } else if (method === 'mse' && i16.has(group) && !u7.has(group)) {
      // Symmetric around zero: each side has I16_MAX steps.
      if (hi > 0) hi = Math.min(hi, h.mseClip('pos', I16_MAX));
      if (lo < 0) lo = Math.max(lo, -h.mseClip('neg', I16_MAX));
    } else if (method === 'mse') {
      // Both sides share the 255 (u7: 127) steps in proportion to their extent.
      const steps = u7.has(group) ? 127 : 255;
      const span = hi - lo || 1;
      if (hi > 0) hi = Math.min(hi, h.mseClip('pos', Math.max(1, (steps * hi) / span)));
      if (lo < 0) lo = Math.max(lo, -h.mseClip('neg', Math.max(1, (steps * -lo) / span)));
    }
    ranges.set(group, [lo, hi]);
  }
  return ranges;
}

/** Scale covering [lo, hi] as an i16 activation: zero point 0, I16_MAX steps per side. */
function rangeToQuant16(lo: number, hi: number): QuantParams {
  return { scale: Math.max(-lo, hi, 1e-8) / I16_MAX, zeroPoint: 0, dtype: 'i16' };
}

/**
 * The quantization of every activation from its group's range: u8; u7 for the groups in `u7`; i16
 * for those in `i16` (and not in `u7`). The input's range comes from the preprocessing itself; when
 * only convs read it, it is i16 unless its group is in `u7` or `u8`. Global average pools feeding
 * the output keep exact int32 sums for the float softmax; the softmax output is float.
 */
export function activationQuant(
  model: ValidModel, groups: Map<string, string>, ranges: Map<string, [number, number]>, i16 = new Set<string>(), u7 = new Set<string>(), u8 = new Set<string>(),
): Map<string, QuantParams> {
  const of = (group: string, lo: number, hi: number, wide: boolean): QuantParams =>
    u7.has(group) ? rangeToQuant(lo, hi, 'u7') : wide ? rangeToQuant16(lo, hi) : rangeToQuant(lo, hi);
  const byGroup = new Map<string, QuantParams>();
  for (const [group, [lo, hi]] of ranges) byGroup.set(group, of(group, lo, hi, i16.has(group)));
  const [lo, hi] = inputRange(model);
  const inputGroup = groups.get(model.input.name)!;
  byGroup.set(inputGroup, of(inputGroup, lo, hi, !u8.has(inputGroup) && readOnlyByConvs(readersOf(model.ops), model.input.name)));
  const quant = new Map<string, QuantParams>();
  for (const [name, group] of groups) quant.set(name, byGroup.get(group) ?? rangeToQuant(0, 1));
  for (const op of model.ops) {
    if (op.op === 'globalavgpool') {
      const s = model.act(op.input).shape;
      quant.set(op.output, { scale: quant.get(op.input)!.scale / (s.h * s.w), zeroPoint: 0, dtype: 'i32' });
    }
    if (op.op === 'softmax') quant.delete(op.output);
  }
  return quant;
}

/**
 * Quantizes a float model to int8, calibrating on `images` (JPEG/PNG bytes or RGBA pixels).
 * @param wasm the compiled kernels module (the float and candidate int8 models run on it).
 * @throws ArgumentError if the model is not float, there are too few images or an argument has the wrong type.
 */
export async function quantizeModel(model: ValidModel, images: ImageInput[], wasm: WebAssembly.Module, options: QuantizeOptions = {}): Promise<QuantizeResult> {
  checkArguments('quantizeModel', { model: [model, 'model'], images: [images, 'array'], wasm: [wasm, 'module'], options: [options, 'object'] });
  if (model.precision !== 'f32') throw new ArgumentError('E_ARGUMENT', `quantize needs a float model; ${quote(model.name)} is ${model.precision}`);
  if (images.length < MIN_IMAGES) throw new ArgumentError('E_ARGUMENT', `calibration needs at least ${MIN_IMAGES} images, got ${images.length}`);
  const moved = validateModel(poolLast(model));
  if (moved.ops.some((op) => op.op === 'globalavgpool' && op.output !== moved.output && !moved.ops.some((o) => o.op === 'softmax' && o.input === op.output))) {
    throw new ArgumentError('E_ARGUMENT', 'int8 supports a global average pool only as the network output, or followed by a 1x1 conv without ReLU (a Gemm classifier), which is moved in front of it');
  }
  const progress = options.onProgress ?? (() => {});
  const float = options.equalize === false ? moved : validateModel(equalize(moved, await channelRanges(moved, images, wasm, options, progress)));
  const { hist, weights } = await observe(float, images, wasm, options, (done) => progress('observe', images.length + done, 2 * images.length));
  const groups = quantGroups(float);
  const i16 = options.activations === 'u8' ? new Set<string>() : new Set([...i16Tensors(float)].map((name) => groups.get(name)!));
  /** The model with `u8` and `u7` groups narrowed; ranges by `method`, and `narrowMethod` for the narrowed groups. */
  const build: Build = (method, u8 = new Set(), u7 = new Set(), narrowMethod = method) => {
    const wide = new Set([...i16].filter((g) => !u8.has(g)));
    const methodOf = (g: string): RangeMethod => (u8.has(g) || u7.has(g) ? narrowMethod : method);
    return validateModel(buildInt8(float, activationQuant(float, groups, groupRanges(hist, methodOf, options.percentile ?? 99.999, wide, u7), wide, u7, u8), weights));
  };
  const judge = await Judge.of(float, images, wasm, options);
  const methods = options.methods ?? ['minmax', 'percentile', 'mse'];
  const chosen = await bestMethod(judge, methods, (method) => build(method), (done) => progress('select', done, images.length));
  const result: QuantizeResult = { model: chosen.model, chosen: chosen.method, candidates: chosen.reports, calibrationImages: images.length };
  const inputGroup = groups.get(float.input.name)!;
  const wide = (c: NarrowCandidate): boolean => i16.has(c.group) || (c.group === inputGroup && result.model.act(float.input.name).dtype === 'i16');
  return narrowActivations(result, chosen, { candidates: narrowCandidates(float, groups), wide, build, judge, methods, options, progress });
}

/** A model quantized from the float one: ranges by `method`, `narrowMethod` for the groups made u8 or u7. */
type Build = (method: RangeMethod, u8?: Set<string>, u7?: Set<string>, narrowMethod?: RangeMethod) => ValidModel;

/** A range method's model and how it agrees with float. */
interface MethodChoice {
  method: RangeMethod;
  model: ValidModel;
  reports: CandidateReport[];
  best: CandidateReport;
}

/**
 * The range method among `methods` whose model (`make`) agrees best with float. Agreement counts
 * decide, but a difference within one standard error of the sample is noise: then the smaller
 * logit error (a finer measure of the same agreement) wins.
 */
async function bestMethod(judge: Judge, methods: RangeMethod[], make: (method: RangeMethod) => ValidModel, onDone: (done: number) => void): Promise<MethodChoice> {
  const models = methods.map(make);
  const reports = (await judge.measure(models, onDone)).map((r, i) => ({ method: methods[i], ...r }));
  const top = Math.max(...reports.map((r) => r.agreement));
  const noise = Math.sqrt((top * (1 - top)) / judge.size) + 1 / judge.size;
  const i = reports.map((r, j) => ({ r, j })).filter(({ r }) => r.agreement >= top - noise).sort((a, b) => a.r.logitError - b.r.logitError)[0].j;
  return { method: methods[i], model: models[i], reports, best: reports[i] };
}

/**
 * The narrowing searches the options ask for: u8 among the 13-bit conv inputs (`wide`), then u7
 * among all conv inputs. Each first picks the range method of its narrowed groups, on the model
 * with every candidate narrowed (fewer steps favour clipping more than 13 bits do); after a u8
 * search, the u7 groups keep its method.
 */
async function narrowActivations(
  result: QuantizeResult, chosen: MethodChoice,
  ctx: { candidates: NarrowCandidate[]; wide: (c: NarrowCandidate) => boolean; build: Build; judge: Judge; methods: RangeMethod[]; options: QuantizeOptions; progress: NonNullable<QuantizeOptions['onProgress']> },
): Promise<QuantizeResult> {
  const { build, options } = ctx;
  const search = async (phase: 'u8' | 'u7', from: Agreement, among: NarrowCandidate[], make: (set: Set<string>, narrowMethod: RangeMethod) => ValidModel, tolerance = 0.004): Promise<NarrowChoice> => {
    let measured = 0;
    const measure = async (ms: ValidModel[]): Promise<Agreement[]> => {
      const r = await ctx.judge.measure(ms, () => {});
      ctx.progress(phase, (measured += ms.length), 2 * among.length);
      return r;
    };
    const all = new Set(among.map((c) => c.group));
    const { method } = await bestMethod(ctx.judge, ctx.methods, (m) => make(all, m), () => {});
    const found = await chooseNarrow(among, from, (set) => make(set, method), measure, tolerance);
    if (found.model) result = { ...result, model: found.model };
    return { ...found.report, method };
  };
  let [u8, u8Method] = [new Set<string>(), chosen.method];
  if (options.u8 === 'auto') {
    const report = await search('u8', chosen.best, ctx.candidates.filter(ctx.wide), (set, m) => build(chosen.method, set, new Set(), m), options.u8Tolerance);
    result = { ...result, u8: report };
    [u8, u8Method] = [new Set(report.groups), report.method];
  }
  if (options.u7 === 'auto') {
    const from = result.u8?.result ?? chosen.best;
    const report = await search('u7', from, ctx.candidates, (set, m) => build(chosen.method, u8, set, u8.size ? u8Method : m), options.u7Tolerance);
    result = { ...result, u7: report };
  }
  return result;
}

/** The groups that convs read, with the multiply-accumulates of those convs: what narrowing would speed up. */
function narrowCandidates(model: ValidModel, groups: Map<string, string>): NarrowCandidate[] {
  const macs = new Map<string, number>();
  for (const { op, inputs, output } of model.checked) if (op.op === 'conv') macs.set(groups.get(op.input)!, (macs.get(groups.get(op.input)!) ?? 0) + convMacs(op, inputs[0].shape, output.shape));
  return [...macs].map(([group, m]) => ({ group, macs: m }));
}

/** Pass 1: every activation's largest |value| per channel on the float model, for equalization. */
async function channelRanges(
  model: ValidModel, images: ImageInput[], wasm: WebAssembly.Module, read: ImageOptions, progress: QuantizeOptions['onProgress'] & {},
): Promise<Map<string, Float64Array>> {
  const channelMax = new Map<string, Float64Array>();
  await observeAll(model, images, wasm, read, (name, v, values) => {
    let m = channelMax.get(name);
    if (!m) channelMax.set(name, (m = new Float64Array(v.c)));
    for (let i = 0; i < values.length; i++) m[i % v.c] = Math.max(m[i % v.c], Math.abs(values[i]));
  }, (done) => progress('observe', done, 2 * images.length));
  return channelMax;
}

/**
 * Pass 2: histograms of the activations per quantization group, and GPTQ's int8 weights from the
 * convs' input covariance. GPTQ depends on the weights and their inputs, not on the activation
 * ranges: it rounds once for every candidate.
 */
async function observe(model: ValidModel, images: ImageInput[], wasm: WebAssembly.Module, options: QuantizeOptions, progress: (done: number) => void) {
  const groups = quantGroups(model);
  const hist = new Map<string, Histogram>();
  const covariance = new Map<string, PatchCovariance>();
  const convs = new Map(model.ops.flatMap((op) => (op.op === 'conv' ? [[op.output, op] as const] : [])));
  const gptqImages = options.gptqImages ?? 32;
  await observeAll(model, images, wasm, options, (name, _v, values) => {
    const group = groups.get(name)!;
    let h = hist.get(group);
    if (!h) hist.set(group, (h = new Histogram()));
    h.add(values);
  }, progress, (step, memory, image) => {
    const op = convs.get(step.name);
    if (!op || image >= gptqImages) return;
    const x = step.inputs[0];
    let cov = covariance.get(step.name);
    if (!cov) covariance.set(step.name, (cov = new PatchCovariance(x.c, op.kernel, op.stride, [op.pads[0], op.pads[1]])));
    cov.add(memory, x, step.output.h, step.output.w, 256);
  });
  const weights = new Map(options.gptq === false ? [] : [...covariance].map(([name, c]) => [name, roundWeights(model.tensors.get(convs.get(name)!.weight)!, c.matrix())] as const));
  return { hist, weights };
}

/** Measures int8 models against the float model's logits on the calibration images, computed once. */
class Judge {
  private constructor(
    private readonly images: ImageInput[],
    private readonly wasm: WebAssembly.Module,
    private readonly read: ImageOptions,
    private readonly reference: Float32Array[],
    /** The input's resize target: images decode as each net's setInput would decode them. */
    private readonly minShortSide: number,
  ) {}

  /** Number of calibration images it measures on. */
  get size(): number {
    return this.images.length;
  }

  static async of(float: ValidModel, images: ImageInput[], wasm: WebAssembly.Module, read: ImageOptions): Promise<Judge> {
    const net = await Classifier.fromModel(float, wasm, { decode: decodeImage });
    const reference = images.map((image) => {
      net.setInput(image, read);
      return run(net.planned);
    });
    net.dispose();
    return new Judge(images, wasm, read, reference, float.input.resizeShorter);
  }

  /** Each model's {@link Agreement}; every image is decoded once for all of them. */
  async measure(models: ValidModel[], progress: (done: number) => void): Promise<Agreement[]> {
    const nets = await Promise.all(models.map((m) => Classifier.fromModel(m, this.wasm, { decode: decodeImage })));
    const sums = models.map(() => ({ agreement: 0, logitError: 0 }));
    this.images.forEach((image, i) => {
      const pixels = image instanceof Uint8Array ? decodeImage(image, {}, { minShortSide: this.minShortSide }) : image;
      const ref = this.reference[i];
      const want = topK(ref, 1)[0];
      nets.forEach((net, j) => {
        net.setInput(pixels, this.read);
        const got = run(net.planned);
        if (topK(got, 1)[0] === want) sums[j].agreement++;
        let err = 0;
        got.forEach((v, c) => (err += Math.abs(v - ref[c])));
        sums[j].logitError += err / got.length;
      });
      progress(i + 1);
    });
    for (const n of nets) n.dispose();
    const n = this.images.length;
    return sums.map((s) => ({ agreement: s.agreement / n, logitError: s.logitError / n }));
  }
}

/**
 * Runs the float model on every image and hands each activation (except global pool outputs) to
 * `visit` right after the step that writes it, before later steps reuse its memory. Values are
 * packed [pixels][channels].
 */
async function observeAll(
  model: ValidModel, images: ImageInput[], wasm: WebAssembly.Module, read: ImageOptions,
  visit: (name: string, v: View, values: Float32Array) => void, progress: (done: number) => void,
  before?: (step: Step, memory: ArrayBuffer, image: number) => void,
): Promise<void> {
  const net = await Classifier.fromModel(model, wasm, { decode: decodeImage });
  const plan = net.planned;
  images.forEach((image, i) => {
    net.setInput(image, read);
    for (const step of plan.steps) {
      before?.(step, plan.kernels.memory.buffer, i);
      step.run();
      if (step.op !== 'globalavgpool') visit(step.name, step.output, readView(plan.kernels.memory.buffer, step.output) as Float32Array);
    }
    progress(i + 1);
  });
  net.dispose();
}

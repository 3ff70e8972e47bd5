/**
 * A linear softmax classifier on feature vectors, trained in TypeScript: full-batch accelerated
 * gradient descent on standardized features, cross-entropy (optionally class-balanced) with L2 on
 * the weights, early stopping on a stratified validation split, then a refit on every example for
 * the epoch count that validation chose. Float64 throughout, in a fixed order, with a seeded split:
 * the same inputs and seed give the same head, bit for bit.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { ArgumentError } from '../errors.js';
import { mulberry32, shuffle } from '../random.js';

/** A linear classifier on raw (unstandardized) feature vectors: logits = weight x features + bias. */
export interface LinearHead {
  classes: number;
  dim: number;
  /** [classes][dim], row-major. */
  weight: Float32Array;
  bias: Float32Array;
}

/** Options of {@link trainSoftmax}. */
export interface SoftmaxOptions {
  /** Seed of the validation split (default 1). */
  seed?: number;
  /** Fraction of each class held out to choose the epoch count (default 0.2); 0 trains `maxEpochs` on everything. */
  validation?: number;
  /** L2 penalty on the weights of standardized features, (l2 / 2) x sum w^2 (default 0.1). */
  l2?: number;
  /** Most epochs (full passes over the examples, one step each) to train (default 1000). */
  maxEpochs?: number;
  /** Stop when validation accuracy has stayed below its best for this many epochs (default 200). */
  patience?: number;
  /** Weight each class's examples by n / (classes x n_class), so small classes count as much as large ones (default true). */
  balanced?: boolean;
}

/** The options' defaults. */
export const SOFTMAX_DEFAULTS: Readonly<Required<SoftmaxOptions>> = { seed: 1, validation: 0.2, l2: 0.1, maxEpochs: 1000, patience: 200, balanced: true };

/** How training went. */
export interface SoftmaxReport {
  examples: number;
  classes: number;
  /** Examples held out to choose the epoch count (0 without validation). */
  validationExamples: number;
  /** Epochs run before early stopping ended the validation phase (0 without validation). */
  epochsRun: number;
  /** Epochs of the final fit on every example: the last with the best validation accuracy, or `maxEpochs` without validation. */
  epochs: number;
  /** Validation loss and top-1 accuracy at that epoch. */
  validationLoss?: number;
  validationAccuracy?: number;
  /** Training loss (cross-entropy plus L2) of the final fit before each epoch's step, and after the last. */
  loss: number[];
  /** Top-1 accuracy of the final head on every example. */
  trainAccuracy: number;
}

/**
 * Splits example indices per class: a seeded shuffle of each class, of which round(fraction x n)
 * go to `held` (at least one when fraction > 0, never the class's last example). Sorted indices.
 */
export function stratifiedSplit(labels: readonly number[], fraction: number, seed: number): { kept: number[]; held: number[] } {
  const random = mulberry32(seed);
  const byClass = new Map<number, number[]>();
  labels.forEach((y, i) => byClass.set(y, [...(byClass.get(y) ?? []), i]));
  const kept: number[] = [];
  const held: number[] = [];
  for (const y of [...byClass.keys()].sort((a, b) => a - b)) {
    const members = shuffle(byClass.get(y)!, random);
    const n = fraction > 0 ? Math.min(members.length - 1, Math.max(1, Math.round(fraction * members.length))) : 0;
    held.push(...members.slice(0, n));
    kept.push(...members.slice(n));
  }
  const sort = (a: number[]): number[] => a.sort((x, y) => x - y);
  return { kept: sort(kept), held: sort(held) };
}

/** The head's logits for one feature vector. */
export function headLogits(head: LinearHead, x: ArrayLike<number>): Float32Array {
  const out = new Float32Array(head.classes);
  for (let k = 0; k < head.classes; k++) {
    let s = head.bias[k];
    for (let j = 0; j < head.dim; j++) s += head.weight[k * head.dim + j] * x[j];
    out[k] = s;
  }
  return out;
}

/** Index of the largest value; ties keep the lower index (as topK). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** Standardized examples of one training run, and the per-feature mean and deviation used. */
class Standardized {
  readonly z: Float64Array;
  constructor(
    readonly rows: number[],
    readonly d: number,
    readonly mean: Float64Array,
    readonly std: Float64Array,
    x: readonly Float32Array[],
  ) {
    this.z = new Float64Array(rows.length * d);
    rows.forEach((r, i) => {
      for (let j = 0; j < d; j++) this.z[i * d + j] = (x[r][j] - mean[j]) / std[j];
    });
  }

  /** Mean and deviation from `rows`; a constant feature gets deviation 1 (its weight then only decays). */
  static fit(x: readonly Float32Array[], rows: number[], d: number): Standardized {
    const mean = new Float64Array(d);
    const std = new Float64Array(d);
    for (const r of rows) for (let j = 0; j < d; j++) mean[j] += x[r][j];
    for (let j = 0; j < d; j++) mean[j] /= rows.length;
    for (const r of rows) for (let j = 0; j < d; j++) std[j] += (x[r][j] - mean[j]) ** 2;
    for (let j = 0; j < d; j++) std[j] = Math.sqrt(std[j] / rows.length) || 1;
    return new Standardized(rows, d, mean, std, x);
  }

  /** The same standardization applied to other rows. */
  apply(x: readonly Float32Array[], rows: number[]): Standardized {
    return new Standardized(rows, this.d, this.mean, this.std, x);
  }
}

// The two loops all the training time goes into, unrolled by four: V8 does not vectorize, and
// independent partial sums let the CPU overlap the multiplies.

/** sum a[i + j] x b[k + j] over j < n. */
function dot(a: Float64Array, i: number, b: Float64Array, k: number, n: number): number {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    s0 += a[i + j] * b[k + j];
    s1 += a[i + j + 1] * b[k + j + 1];
    s2 += a[i + j + 2] * b[k + j + 2];
    s3 += a[i + j + 3] * b[k + j + 3];
  }
  for (; j < n; j++) s0 += a[i + j] * b[k + j];
  return s0 + s1 + s2 + s3;
}

/** y[k + j] += alpha x x[i + j] for j < n. */
function axpy(alpha: number, x: Float64Array, i: number, y: Float64Array, k: number, n: number): void {
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    y[k + j] += alpha * x[i + j];
    y[k + j + 1] += alpha * x[i + j + 1];
    y[k + j + 2] += alpha * x[i + j + 2];
    y[k + j + 3] += alpha * x[i + j + 3];
  }
  for (; j < n; j++) y[k + j] += alpha * x[i + j];
}

/**
 * The training objective over standardized examples: class-weighted mean cross-entropy plus
 * (l2 / 2) x sum w^2 (biases are not penalized). Parameters are one array: [classes][dim] weights,
 * then [classes] biases.
 */
class Objective {
  readonly total: number;
  constructor(
    readonly data: Standardized,
    readonly y: readonly number[],
    readonly classes: number,
    readonly weights: Float64Array,
    readonly l2: number,
  ) {
    this.total = data.rows.reduce((sum, r) => sum + weights[y[r]], 0);
  }

  /** The objective at `p` and the examples classified right; with `grad`, its gradient too. */
  evaluate(p: Float64Array, grad?: Float64Array): { loss: number; correct: number } {
    const { classes: K, data } = this;
    const d = data.d;
    const logits = new Float64Array(K);
    let ce = 0;
    let correct = 0;
    grad?.fill(0);
    const { z, rows } = data;
    const bias = K * d;
    for (let i = 0; i < rows.length; i++) {
      const row = i * d;
      let max = -Infinity;
      for (let k = 0; k < K; k++) {
        const w = k * d;
        const s = p[bias + k] + dot(p, w, z, row, d);
        logits[k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k < K; k++) sum += Math.exp(logits[k] - max);
      const label = this.y[rows[i]];
      const weight = this.weights[label] / this.total;
      ce += weight * (Math.log(sum) + max - logits[label]);
      if (argmax(logits) === label) correct++;
      if (!grad) continue;
      for (let k = 0; k < K; k++) {
        const g = weight * (Math.exp(logits[k] - max) / sum - (k === label ? 1 : 0));
        const w = k * d;
        axpy(g, z, row, grad, w, d);
        grad[bias + k] += g;
      }
    }
    let penalty = 0;
    for (let i = 0; i < K * d; i++) {
      penalty += p[i] * p[i];
      if (grad) grad[i] += this.l2 * p[i];
    }
    return { loss: ce + (this.l2 / 2) * penalty, correct };
  }

  /**
   * A Lipschitz constant of the gradient: softmax cross-entropy's Hessian in the logits is at most
   * 1/2, so L <= lambda_max(sum c_i [z_i 1][z_i 1]^T / sum c_i) / 2 + l2, the eigenvalue found by
   * power iteration (from a fixed start, so the same data give the same step).
   */
  smoothness(): number {
    const { data } = this;
    const d = data.d;
    let v = new Float64Array(d + 1).fill(1 / Math.sqrt(d + 1));
    let lambda = 0;
    for (let it = 0; it < 100; it++) {
      const next = new Float64Array(d + 1);
      data.rows.forEach((r, i) => {
        const s = ((v[d] + dot(data.z, i * d, v, 0, d)) * this.weights[this.y[r]]) / this.total;
        axpy(s, data.z, i * d, next, 0, d);
        next[d] += s;
      });
      lambda = Math.hypot(...next);
      if (lambda === 0) break;
      v = next.map((x) => x / lambda);
    }
    return lambda / 2 + this.l2;
  }
}

/**
 * Nesterov's accelerated gradient descent (Nesterov 1983) with step 1/L: the momentum grows as
 * (t - 1) / (t + 2) and stops at (sqrt(kappa) - 1) / (sqrt(kappa) + 1), kappa = L / l2, the rate
 * for a strongly convex objective. No step size to tune, and no per-weight normalization: Adam,
 * tried first, moved every one of the thousands of weights by its full step at once and overshot
 * in the first epochs, so validation saw a bumpy path and early stopping misread it.
 */
class Nesterov {
  /** The iterate: the current parameters. */
  readonly x: Float64Array;
  /** Where the next gradient is taken: the iterate plus momentum. */
  readonly y: Float64Array;
  private t = 0;
  private readonly maxMomentum: number;
  constructor(size: number, private readonly step: number, l2: number) {
    this.x = new Float64Array(size);
    this.y = new Float64Array(size);
    const kappa = l2 > 0 ? 1 / (step * l2) : Infinity;
    this.maxMomentum = Number.isFinite(kappa) ? (Math.sqrt(kappa) - 1) / (Math.sqrt(kappa) + 1) : 1;
  }

  /** Moves along `grad`, the gradient at {@link y}. */
  update(grad: Float64Array): void {
    this.t++;
    const momentum = Math.min((this.t - 1) / (this.t + 2), this.maxMomentum);
    for (let i = 0; i < this.x.length; i++) {
      const next = this.y[i] - this.step * grad[i];
      this.y[i] = next + momentum * (next - this.x[i]);
      this.x[i] = next;
    }
  }
}

/** Per-class loss weights over `rows`: n / (classes x n_class) when balanced, else 1. */
function classWeights(y: readonly number[], rows: number[], classes: number, balanced: boolean): Float64Array {
  const counts = new Float64Array(classes);
  for (const r of rows) counts[y[r]]++;
  return Float64Array.from(counts, (c) => (balanced && c > 0 ? rows.length / (classes * c) : 1));
}

/**
 * Trains a softmax classifier on `features` (one vector per example) with `labels` in 0..classes-1.
 * The returned head works on raw features: the standardization is folded into its weights and bias.
 * @throws ArgumentError for inconsistent inputs, a class without examples, or bad options.
 */
export function trainSoftmax(features: readonly Float32Array[], labels: readonly number[], classes: number, options: SoftmaxOptions = {}): { head: LinearHead; report: SoftmaxReport } {
  checkArguments('trainSoftmax', { features: [features, 'array'], labels: [labels, 'array'], classes: [classes, 'number'], options: [options, 'object'] });
  const n = features.length;
  const d = features[0]?.length ?? 0;
  if (!Number.isInteger(classes) || classes < 2) throw new ArgumentError('E_ARGUMENT', `training needs at least 2 classes, got ${classes}`);
  if (n === 0 || labels.length !== n) throw new ArgumentError('E_ARGUMENT', `training needs one label per feature vector: got ${n} vectors and ${labels.length} labels`);
  if (features.some((x) => x.length !== d || !x.every(Number.isFinite))) throw new ArgumentError('E_ARGUMENT', `feature vectors must all have ${d} finite values`);
  if (labels.some((y) => !Number.isInteger(y) || y < 0 || y >= classes)) throw new ArgumentError('E_ARGUMENT', `labels must be integers in 0..${classes - 1}`);
  const counts = new Array<number>(classes).fill(0);
  for (const y of labels) counts[y]++;
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new ArgumentError('E_ARGUMENT', `class ${empty} has no examples`);
  const D = SOFTMAX_DEFAULTS;
  const [seed, fraction, l2] = [options.seed ?? D.seed, options.validation ?? D.validation, options.l2 ?? D.l2];
  const [maxEpochs, patience, balanced] = [options.maxEpochs ?? D.maxEpochs, options.patience ?? D.patience, options.balanced ?? D.balanced];
  const check = (ok: boolean, what: string): void => {
    if (!ok) throw new ArgumentError('E_ARGUMENT', what);
  };
  check(Number.isInteger(seed), `seed must be an integer, got ${seed}`);
  check(fraction >= 0 && fraction < 1, `validation must be a fraction in [0, 1), got ${fraction}`);
  check(l2 >= 0 && Number.isFinite(l2), `l2 must be a non-negative number, got ${l2}`);
  check(Number.isInteger(maxEpochs) && maxEpochs >= 1, `maxEpochs must be a positive integer, got ${maxEpochs}`);
  check(Number.isInteger(patience) && patience >= 1, `patience must be a positive integer, got ${patience}`);

  const size = classes * (d + 1);
  const grad = new Float64Array(size);
  const all = Array.from({ length: n }, (_, i) => i);
  let epochs = maxEpochs;
  let epochsRun = 0;
  let validation: { loss: number; accuracy: number } | undefined;
  const { kept, held } = stratifiedSplit(labels, fraction, seed);
  if (held.length > 0) {
    const train = Standardized.fit(features, kept, d);
    const objective = new Objective(train, labels, classes, classWeights(labels, kept, classes, balanced), l2);
    const val = new Objective(train.apply(features, held), labels, classes, classWeights(labels, held, classes, balanced), 0);
    const opt = new Nesterov(size, 1 / objective.smoothness(), l2);
    let best = { epoch: 0, ...val.evaluate(opt.x) };
    for (epochsRun = 1; epochsRun <= maxEpochs && epochsRun - best.epoch <= patience; epochsRun++) {
      objective.evaluate(opt.y, grad);
      opt.update(grad);
      const v = val.evaluate(opt.x);
      // Ties go to the later epoch: L2 is the regularizer, training runs towards its optimum for as
      // long as validation accuracy holds (the validation loss would stop it far earlier: it keeps
      // rising on the few confidently misclassified images while accuracy still improves).
      if (v.correct >= best.correct) best = { epoch: epochsRun, ...v };
    }
    epochsRun--;
    epochs = Math.max(1, best.epoch);
    validation = { loss: best.loss, accuracy: best.correct / held.length };
  }

  // The final fit: every example, the chosen number of epochs.
  const data = Standardized.fit(features, all, d);
  const objective = new Objective(data, labels, classes, classWeights(labels, all, classes, balanced), l2);
  const opt = new Nesterov(size, 1 / objective.smoothness(), l2);
  const loss: number[] = [];
  for (let e = 0; e < epochs; e++) {
    loss.push(objective.evaluate(opt.x).loss);
    objective.evaluate(opt.y, grad);
    opt.update(grad);
  }
  const final = objective.evaluate(opt.x);
  loss.push(final.loss);
  const p = opt.x;

  // Fold the standardization in: w.(x - mean)/std + b = (w/std).x + (b - sum w mean/std).
  const weight = new Float32Array(classes * d);
  const bias = new Float32Array(classes);
  for (let k = 0; k < classes; k++) {
    let b = p[classes * d + k];
    for (let j = 0; j < d; j++) {
      const w = p[k * d + j] / data.std[j];
      weight[k * d + j] = w;
      b -= w * data.mean[j];
    }
    bias[k] = b;
  }
  return {
    head: { classes, dim: d, weight, bias },
    report: {
      examples: n,
      classes,
      validationExamples: held.length,
      epochsRun,
      epochs,
      validationLoss: validation?.loss,
      validationAccuracy: validation?.accuracy,
      loss,
      trainAccuracy: final.correct / n,
    },
  };
}

/**
 * Transfer learning: a new classifier on a network's features. Trains a softmax head on extracted
 * features ({@link trainSoftmax}), writes it as a model of its own ({@link headModel}) with its
 * int8 output range calibrated on the training images' feature maps, and checks that the model,
 * run by the runtime's kernels, agrees with the float head.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { Classifier } from '../classifier.js';
import { ArgumentError } from '../errors.js';
import type { Provenance } from '../model/format.js';
import type { ValidModel } from '../model/validate.js';
import { run } from '../runtime/run.js';
import { writeView } from '../runtime/view.js';
import { quote } from '../text.js';
import { classifierOps, FeatureExtractor, type ExtractedFeatures, type FeatureMap } from './features.js';
import { headModel } from './head.js';
import { argmax, headLogits, SOFTMAX_DEFAULTS, trainSoftmax, type LinearHead, type SoftmaxOptions, type SoftmaxReport } from './softmax.js';

/** One training image: its extracted features and its class (an index into the labels). */
export interface TrainExample {
  features: ExtractedFeatures;
  label: number;
}

/** Options of {@link trainClassifier}: the training's, plus how the model is described. */
export interface TrainOptions extends SoftmaxOptions {
  /** Model name (default "classifier"). */
  name?: string;
  /** Provenance recorded in the model (default: the base model's license, and how the head was trained). */
  provenance?: Provenance;
}

/** How training went, and how the written model compares with the float head it encodes. */
export interface TrainReport extends SoftmaxReport {
  /** Top-1 agreement of the model (as the runtime runs it) with the float head, on the training images. */
  agreement: number;
  /** Top-1 accuracy of the model on the training images. */
  modelAccuracy: number;
  /** int8: the range of per-pixel class scores the head's u8 output covers. */
  headRange?: [number, number];
}

/** A trained classifier: the model to write, and the float head it encodes. */
export interface TrainResult {
  model: ValidModel;
  head: LinearHead;
  report: TrainReport;
}

/**
 * How far the head's u8 range reaches past the scores seen in training, as a fraction of their span
 * on each side: new images score beyond the training ones, and clipping them would flatten exactly
 * the confident pixels. Resolution hardly matters here, since the pool averages 169 rounding errors.
 */
export const HEAD_RANGE_MARGIN = 0.5;

/** Lowest and highest per-pixel class score of `head` over the feature maps. */
function scoreRange(head: LinearHead, maps: readonly FeatureMap[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  const x = new Float64Array(head.dim);
  for (const m of maps) {
    const { scale, zeroPoint } = m.quant ?? { scale: 1, zeroPoint: 0 };
    for (let p = 0; p < m.h * m.w; p++) {
      for (let j = 0; j < m.c; j++) x[j] = scale * (m.data[p * m.c + j] - zeroPoint);
      for (const s of headLogits(head, x)) {
        lo = Math.min(lo, s);
        hi = Math.max(hi, s);
      }
    }
  }
  return [lo, hi];
}

/**
 * Runs `model` (a head model of `extractor`'s base) on each feature map: the maps go straight into the
 * feature layer's buffer and only the head's steps run, with the same kernels as a classification.
 */
async function runHead(model: ValidModel, extractor: FeatureExtractor, maps: readonly FeatureMap[]): Promise<Float32Array[]> {
  const net = await Classifier.fromModel(model, extractor.wasm);
  try {
    const plan = net.planned;
    const first = plan.steps.findIndex((s) => s.name === classifierOps(model).conv.output);
    // The maps came out of this layer's buffer in the base network, so they have its type.
    return maps.map((m) => {
      writeView(plan.kernels.memory.buffer, plan.steps[first].inputs[0], m.data);
      return run(plan, first);
    });
  } finally {
    net.dispose();
  }
}

/**
 * Trains a classifier for `labels` on features from `extractor` and builds its model: the
 * extractor's base network with the new head in place of its classifier, int8 if the base is.
 * Deterministic: the same examples, labels and options give the same model, byte for byte.
 * @throws ArgumentError for fewer than two labels, duplicate or empty labels, a label without
 * examples, features from another network, or bad options.
 */
export async function trainClassifier(extractor: FeatureExtractor, examples: readonly TrainExample[], labels: readonly string[], options: TrainOptions = {}): Promise<TrainResult> {
  checkArguments('trainClassifier', { extractor: [extractor, FeatureExtractor], examples: [examples, 'array'], labels: [labels, 'array'], options: [options, 'object'] });
  if (labels.some((l) => typeof l !== 'string' || l === '') || new Set(labels).size !== labels.length) {
    throw new ArgumentError('E_ARGUMENT', 'labels must be distinct, non-empty strings');
  }
  const dim = extractor.dim;
  if (examples.some((e) => e.features.pooled.length !== dim || e.features.map.c !== dim)) {
    throw new ArgumentError('E_ARGUMENT', `every example needs the ${dim} features of ${quote(extractor.layer)} in ${quote(extractor.base.name)}`);
  }
  const y = examples.map((e) => e.label);
  const { head, report } = trainSoftmax(examples.map((e) => e.features.pooled), y, labels.length, options);
  const maps = examples.map((e) => e.features.map);
  const base = extractor.base;
  let headRange: [number, number] | undefined;
  if (base.precision === 'int8') {
    const [lo, hi] = scoreRange(head, maps);
    const margin = (hi - lo) * HEAD_RANGE_MARGIN;
    headRange = [lo - margin, hi + margin];
  }
  const counts = labels.map((_, k) => y.filter((v) => v === k).length);
  const model = headModel(base, head, {
    name: options.name ?? 'classifier',
    labels,
    range: headRange,
    provenance: options.provenance ?? {
      source: `${base.name} with a new classifier for ${labels.length} classes trained by squeezewasm on ${examples.length} images`,
      license: base.provenance.license,
      licenseText: base.provenance.licenseText,
      notes:
        `Features: ${base.name}'s ${extractor.layer} (${dim} channels), averaged. Head: softmax regression, ` +
        `L2 ${options.l2 ?? SOFTMAX_DEFAULTS.l2}, ${report.epochs} epochs ` +
        (report.validationExamples > 0 ? `(chosen on ${report.validationExamples} held-out images, seed ${options.seed ?? SOFTMAX_DEFAULTS.seed}), ` : '(no validation split), ') +
        `images per class: ${labels.map((l, k) => `${l} ${counts[k]}`).join(', ')}. Base model: ${base.provenance.source}.`,
    },
  });
  const outputs = await runHead(model, extractor, maps);
  let agree = 0;
  let correct = 0;
  outputs.forEach((logits, i) => {
    const top = argmax(logits);
    if (top === argmax(headLogits(head, examples[i].features.pooled))) agree++;
    if (top === y[i]) correct++;
  });
  return { model, head, report: { ...report, agreement: agree / examples.length, modelAccuracy: correct / examples.length, headRange } };
}

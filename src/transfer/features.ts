/**
 * Feature extraction for transfer learning. A classification network here ends in a convolution
 * (the classifier) followed by a global average pool; the tensor that convolution reads, globally
 * averaged, is the image's feature vector (SqueezeNet 1.1: fire9's 512 channels). The extractor runs
 * the network cut after that tensor with a global average pool as its output, planned once, so
 * features cost less than a classification. On an int8 network the pool keeps exact int32 sums:
 * the features are the exact mean of the dequantized activations.
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { Classifier, type ImageInput, type ImageOptions, type LoadOptions } from '../classifier.js';
import { ArgumentError } from '../errors.js';
import type { ConvOp, GlobalAvgPoolOp, Model, QuantParams } from '../model/format.js';
import { freshName, namesIn, opsComputing, tensorsOf } from '../model/graph.js';
import { readModel } from '../model/read.js';
import { validateModel, type ValidModel } from '../model/validate.js';
import { resolveLimits } from '../limits.js';
import { run } from '../runtime/run.js';
import type { Plan } from '../runtime/types.js';
import { readView } from '../runtime/view.js';
import { quote } from '../text.js';

/** Where a network's classifier starts: the conv that reads the feature layer and the pool after it. */
export interface ClassifierOps {
  /** The classifier convolution (SqueezeNet's conv10), which reads {@link layer}. */
  conv: ConvOp;
  /** The global average pool of the classifier's output. */
  pool: GlobalAvgPoolOp;
  /** The feature layer: the activation the classifier reads (SqueezeNet 1.1: `fire7`, the concat of fire9). */
  layer: string;
}

/**
 * Finds the classifier of `model`: the network output (or the softmax's input) must be a global
 * average pool of a convolution's output.
 * @throws ArgumentError if the network does not end that way.
 */
export function classifierOps(model: Model): ClassifierOps {
  const last = model.ops[model.ops.length - 1];
  const pooled = last.op === 'softmax' ? last.input : model.output;
  const pool = model.ops.find((op) => op.output === pooled);
  const conv = pool?.op === 'globalavgpool' ? model.ops.find((op) => op.output === pool.input) : undefined;
  if (pool?.op !== 'globalavgpool' || conv?.op !== 'conv') {
    throw new ArgumentError('E_ARGUMENT', `model ${quote(model.name)} does not end in a convolution and a global average pool, so it has no feature layer to extract`);
  }
  return { conv, pool, layer: conv.input };
}

/**
 * The feature network of `model`: its ops up to the feature layer, then a global average pool as the
 * output (one "label" per channel, named `layer[c]`). int8: the pool outputs exact int32 sums.
 */
export function featureModel(model: ValidModel): ValidModel {
  const { layer } = classifierOps(model);
  const ops = opsComputing(model.ops, layer);
  const tensors = tensorsOf(model, ops);
  const output = freshName(`${layer}_mean`, namesIn(model, ops, tensors));
  ops.push({ op: 'globalavgpool', input: layer, output });
  const { c, h, w } = model.act(layer).shape;
  let quant: Map<string, QuantParams> | undefined;
  if (model.precision === 'int8') {
    const kept = new Set([model.input.name, ...ops.map((op) => op.output)]);
    quant = new Map([...model.quant!].filter(([name]) => kept.has(name)));
    quant.set(output, { scale: quant.get(layer)!.scale / (h * w), zeroPoint: 0, dtype: 'i32' });
  }
  const labels = Array.from({ length: c }, (_, i) => `${layer}[${i}]`);
  return validateModel({ ...model, name: `${model.name}/${layer}`, ops, output, labels, tensors, quant });
}

/**
 * The feature layer of one image before pooling, as the runtime holds it: [h][w][c] (NHWC); for an
 * int8 network the quantized values (real = quant.scale x (q - quant.zeroPoint); uint8 or int16 as
 * the model stores the layer), else floats.
 */
export interface FeatureMap {
  data: Uint8Array | Int16Array | Float32Array;
  h: number;
  w: number;
  c: number;
  /** int8 networks: how the bytes map to real values. */
  quant?: QuantParams;
}

/** What {@link FeatureExtractor.extract} returns for one image. */
export interface ExtractedFeatures {
  /** The feature vector: the mean of every channel of the feature layer. */
  pooled: Float32Array;
  /** The feature layer itself (about 87 KB with SqueezeNet 1.1 int8); training uses it to calibrate an int8 head. */
  map: FeatureMap;
}

/**
 * Turns images into feature vectors with a classification network cut before its classifier.
 * Create with a platform entry's `loadFeatureExtractor` (Node) or `createFeatureExtractor`.
 *
 * ```ts
 * const fx = await loadFeatureExtractor();               // int8 SqueezeNet 1.1: 512 features of fire9
 * const v = fx.features(readFileSync('cat.jpg'));        // Float32Array(512)
 * ```
 */
export class FeatureExtractor {
  /** The whole network the features come from (its classifier included), e.g. to build a new head on. */
  readonly base: ValidModel;
  /** Name of the feature layer in {@link base}. */
  readonly layer: string;
  /** Length of a feature vector: the feature layer's channels. */
  readonly dim: number;
  /** The compiled kernels module the extractor runs on (training plans the new model on it too). */
  readonly wasm: WebAssembly.Module;
  private net: Classifier | undefined;

  private constructor(base: ValidModel, layer: string, wasm: WebAssembly.Module, net: Classifier) {
    this.base = base;
    this.layer = layer;
    this.dim = net.planned.output.c;
    this.wasm = wasm;
    this.net = net;
  }

  /**
   * Reads `modelBytes` (a classification network ending in conv + global average pool) and plans its feature network.
   * @throws ModelFormatError if the file is invalid, ArgumentError if the network has no classifier to cut off.
   */
  static async create(modelBytes: Uint8Array, wasm: WebAssembly.Module, options: LoadOptions = {}): Promise<FeatureExtractor> {
    checkArguments('FeatureExtractor.create', { modelBytes: [modelBytes, 'bytes'], wasm: [wasm, 'module'], options: [options, 'object'] });
    return FeatureExtractor.fromModel(readModel(modelBytes, resolveLimits(options.limits)), wasm, options);
  }

  /** As {@link create}, from a model already read. */
  static async fromModel(base: ValidModel, wasm: WebAssembly.Module, options: LoadOptions = {}): Promise<FeatureExtractor> {
    checkArguments('FeatureExtractor.fromModel', { base: [base, 'model'], wasm: [wasm, 'module'], options: [options, 'object'] });
    const { layer } = classifierOps(base);
    return new FeatureExtractor(base, layer, wasm, await Classifier.fromModel(featureModel(base), wasm, options));
  }

  private get planned(): Plan {
    return this.classifier.planned;
  }

  private get classifier(): Classifier {
    if (!this.net) throw new ArgumentError('E_DISPOSED', 'this feature extractor was disposed; load the model again');
    return this.net;
  }

  /**
   * The feature vector of one image (JPEG/PNG bytes or RGBA pixels), preprocessed as the network's
   * input says, turned by its EXIF orientation unless `options.orientation` is `ignore`.
   * @throws ImageError / LimitError for bad or oversized images, ArgumentError for bad arguments.
   */
  features(image: ImageInput, options: ImageOptions = {}): Float32Array {
    checkArguments('features', { options: [options, 'object'] });
    this.classifier.setInput(image, options);
    return run(this.planned);
  }

  /** The feature vector and the feature layer it averages, for training a quantized head. */
  extract(image: ImageInput, options: ImageOptions = {}): ExtractedFeatures {
    checkArguments('extract', { options: [options, 'object'] });
    const pooled = this.features(image, options);
    const plan = this.planned;
    // The pool is the last step, so its input is still intact.
    const v = plan.steps[plan.steps.length - 1].inputs[0];
    // A conv reads the feature layer, so it is never the i32 of a global pool.
    const data = readView(plan.kernels.memory.buffer, v) as FeatureMap['data'];
    return { pooled, map: { data, h: v.h, w: v.w, c: v.c, quant: this.base.quant?.get(this.layer) } };
  }

  /** Frees the extractor's wasm instance and memory. */
  dispose(): void {
    this.net?.dispose();
    this.net = undefined;
  }
}

/**
 * squeezewasm for Node: the core API plus loading the wasm module and models from disk.
 *
 * ```ts
 * import { loadClassifier } from 'squeezewasm';
 * const net = await loadClassifier();                       // bundled default model
 * const { top } = await net.classify(readFileSync('cat.jpg'));
 * console.log(top[0].label, top[0].probability);
 * ```
 * @packageDocumentation
 */
export * from './index.js';
// Model preparation (Node only: they read whole source models and calibration sets).
export type { ConvertMeta } from './convert/common.js';
export { convertOnnx } from './convert/onnx.js';
export { convertTflite } from './convert/tflite.js';
export { convertDeepCompression } from './convert/deep-compression.js';
export { quantizeModel, type QuantizeOptions, type QuantizeResult, type CandidateReport, type RangeMethod } from './convert/quantize.js';
// Transfer learning: a new classifier head trained on a network's features.
export { trainClassifier, type TrainExample, type TrainOptions, type TrainReport, type TrainResult } from './transfer/train.js';
export { trainSoftmax, type LinearHead, type SoftmaxOptions, type SoftmaxReport } from './transfer/softmax.js';
export { headModel, type HeadModelOptions } from './transfer/head.js';
export {
  BUNDLED_MODELS, DEFAULT_MODEL, bundledModelPath, kernelsModule, loadClassifier, loadFeatureExtractor, packageFile, readModelFile, withModelBytes,
} from './node-load.js';

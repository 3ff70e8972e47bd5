/**
 * squeezewasm's core: platform-independent and without dependencies. It classifies RGBA pixels;
 * to classify JPEG/PNG bytes, pass a `decode` function in {@link LoadOptions} or use the main entry
 * (`squeezewasm`), which adds the image decoders and loading helpers for each platform.
 * @packageDocumentation
 */
export { Classifier } from './classifier.js';
export type { Classification, ClassifyOptions, Decoder, ImageInput, ImageOptions, LoadOptions, Pixels, Prediction } from './classifier.js';
export type { Orientation } from './image/exif.js';
export { ArgumentError, ConvertError, ImageError, LimitError, ModelFormatError, SqueezeError } from './errors.js';
export type { ActType, InputSpec, Model, Provenance } from './model/format.js';
export type { ValidModel } from './model/validate.js';
export { readModel } from './model/read.js';
export { writeModel } from './model/write.js';
export { summarizeModel, type LayerSummary, type ModelSummary } from './model/summary.js';
export { DEFAULT_LIMITS, type Limits } from './limits.js';
export type { ReadLimits } from './model/read.js';
export type { ImageLimits } from './image/limits.js';
export type { RunLimits } from './runtime/types.js';
export { KERNEL_FILES, relaxedSimdSupported, type KernelBuild } from './wasm/kernels.js';

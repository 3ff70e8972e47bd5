/**
 * squeezewasm's platform-independent API. Platform entries re-export it and add loading helpers.
 * @packageDocumentation
 */
export { Classifier } from './classifier.js';
export type { Classification, ClassifyOptions, ImageInput, LoadOptions, Pixels, Prediction } from './classifier.js';
export { ArgumentError, ConvertError, ImageError, LimitError, ModelFormatError, SqueezeError } from './errors.js';
export type { InputSpec, Model, Provenance } from './model/format.js';
export { readModel } from './model/read.js';
export { writeModel } from './model/write.js';
export type { ReadLimits } from './model/read.js';
export type { ImageLimits } from './image/decode.js';

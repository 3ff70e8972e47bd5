/** The two ONNX reference models in ../shared/models and the input each expects (../shared/README.md). */

import type { InputSpec } from '../src/model/format.js';

export interface ReferenceModel {
  name: 'squeezenet1.1' | 'squeezenet1.0';
  /** File name in <shared>/models. */
  file: string;
  /** Name of the graph output: logits for 1.1, softmax probabilities for 1.0. */
  output: 'logits' | 'prob';
  input: InputSpec;
}

export const REFERENCE_MODELS: ReferenceModel[] = [
  {
    name: 'squeezenet1.1',
    file: 'squeezenet1.1.onnx',
    output: 'logits',
    input: {
      name: 'data', height: 224, width: 224, channelOrder: 'RGB', resizeShorter: 256,
      divisor: 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225],
    },
  },
  {
    name: 'squeezenet1.0',
    file: 'squeezenet1.0.onnx',
    output: 'prob',
    input: {
      name: 'data', height: 227, width: 227, channelOrder: 'BGR', resizeShorter: 256,
      divisor: 1, mean: [104, 117, 123], std: [1, 1, 1],
    },
  },
];

/**
 * The two ONNX reference models in ../shared/models, the input each expects (../shared/README.md),
 * and what the bundled float models made from them record about their origin. weights/make-weights.ts
 * builds the bundled files from this; the Deep Compression test rebuilds squeezenet1.0-f32 with it.
 */

import type { InputSpec, Provenance } from '../src/model/format.js';

export interface ReferenceModel {
  name: 'squeezenet1.1' | 'squeezenet1.0';
  /** File name in <shared>/models. */
  file: string;
  /** Name of the graph output: logits for 1.1, softmax probabilities for 1.0. */
  output: 'logits' | 'prob';
  input: InputSpec;
  /** The bundled float model made from it, weights/<name>.sqz. */
  bundled: string;
  /** Its provenance but the license text, which lives in weights/<licenseFile>. */
  provenance: Omit<Provenance, 'licenseText'>;
  licenseFile: string;
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
    bundled: 'squeezenet1.1-f32',
    provenance: {
      source: 'ONNX model zoo squeezenet1.1-7 (converted there from the MXNet Gluon model zoo), float32',
      license: 'Apache-2.0',
      notes: 'SqueezeNet 1.1: conv1 3x3/2 with 64 filters, pools after conv1, fire3 and fire5. Input RGB 224x224, x/255 then ImageNet mean/std.',
    },
    licenseFile: 'NOTICE-squeezenet1.1.txt',
  },
  {
    name: 'squeezenet1.0',
    file: 'squeezenet1.0.onnx',
    output: 'prob',
    // Caffe convention: BGR pixels 0..255 minus the per-channel mean, no scaling.
    input: {
      name: 'data', height: 227, width: 227, channelOrder: 'BGR', resizeShorter: 256,
      divisor: 1, mean: [104, 117, 123], std: [1, 1, 1],
    },
    bundled: 'squeezenet1.0-f32',
    provenance: {
      source: 'Deep Compression release of SqueezeNet v1.0 (Han, Iandola et al.; github.com/songhan/SqueezeNet-Deep-Compression), decoded to float32',
      license: 'BSD-2-Clause',
      notes: 'Pruned and weight-shared SqueezeNet v1.0 (1,248,424 parameters, many zero). Input BGR 227x227, Caffe mean subtraction (B 104, G 117, R 123).',
    },
    licenseFile: 'LICENSE-squeezenet1.0.txt',
  },
];

/** A bundled model's full provenance, its fields in the order the committed files store them. */
export function bundledProvenance(ref: ReferenceModel, licenseText: string): Provenance {
  const { source, license, notes } = ref.provenance;
  return { source, license, licenseText, notes };
}

/**
 * squeezewasm as a peer of the cross-runtime benchmark (`npm run bench:compare`): a bundled model
 * fed the same preprocessed tensor as every other runtime.
 * @packageDocumentation
 */
import type { CompareModel, Peer } from './peer.js';
import type { Classifier } from '../../src/classifier.js';
import { quantize } from '../../src/image/preprocess.js';
import { loadClassifier } from '../../src/node.js';
import { run } from '../../src/runtime/run.js';

/** The squeezewasm peer also hands out its classifier, for per-layer timing with `runTimed`. */
export interface SqueezewasmPeer extends Peer {
  readonly classifier: Classifier;
}

/**
 * Loads the bundled `<model>-<precision>` model and writes `input` into its input slot once.
 * `Classifier.setInput` takes only images, so this does what it does after preprocessing: the
 * float tensor as is, or quantized with the model's input quantization.
 * @param input The preprocessed image, NHWC, height x width x 3, as `preprocess` writes it.
 * @throws Error if `input` does not have the model's input size.
 */
export async function createSqueezewasmPeer(model: CompareModel, precision: 'f32' | 'int8', input: Float32Array): Promise<SqueezewasmPeer> {
  const classifier = await loadClassifier(`${model}-${precision}`);
  const plan = classifier.planned;
  const { ptr, h, w, dtype } = plan.input;
  const n = h * w * 3;
  if (input.length !== n) throw new Error(`squeezewasm: ${classifier.name} takes ${h}x${w}x3 = ${n} input values, got ${input.length}`);
  const memory = plan.kernels.memory.buffer;
  if (plan.inputQuant) quantize(input, plan.inputQuant, dtype === 'i16' ? new Int16Array(memory, ptr, n) : new Uint8Array(memory, ptr, n));
  else new Float32Array(memory, ptr, n).set(input);
  let last: Float32Array | undefined;
  return {
    runtime: 'squeezewasm',
    precision,
    classifier,
    run: () => {
      last = run(plan);
    },
    logits: async () => (last ??= run(plan)),
    dispose: () => classifier.dispose(),
  };
}

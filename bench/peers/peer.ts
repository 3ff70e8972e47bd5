/** What bench/compare.ts needs from every runtime it times. */

/**
 * Largest max |logit difference| from squeezewasm f32 an f32 peer may show on the benchmark input,
 * as a fraction of squeezewasm f32's logit range (bench/compare/child.ts checks it before timing).
 */
export const F32_LOGIT_TOLERANCE = 1e-4;

/** The networks every peer runs. */
export type CompareModel = 'squeezenet1.1' | 'squeezenet1.0';

/** One runtime with one network loaded and the input in place. */
export interface Peer {
  runtime: string;
  precision: 'f32' | 'int8';
  /** One full inference on the input given at creation, reading the output back included. */
  run(): Promise<unknown> | unknown;
  /**
   * The output of the last `run()` (running once if there was none): the network's final tensor,
   * which for the ONNX SqueezeNet 1.0 is already softmax probabilities (only top-1 is compared).
   */
  logits(): Promise<Float32Array>;
  dispose(): Promise<void> | void;
  /** Which of the runtime's wasm builds runs, where it ships several and picks one per engine. */
  build?: string;
}

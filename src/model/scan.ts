/**
 * The loops over every byte of a model that reading and planning it run: the checksum, the
 * accumulator bounds, the sparsity count. Here in TypeScript, for converters and as the tests'
 * reference; loading a model runs the same in wasm ({@link wasmScan}, docs/performance.md "Cold start").
 * @packageDocumentation
 */
import { crc32 } from './crc32.js';

/** Whole-model loops, in JS or in wasm; both give identical results. */
export interface WeightScan {
  /** CRC-32 of `bytes` (unsigned). */
  crc32(bytes: Uint8Array): number;
  /** Sum of |w| over each of the `channels` equal rows of `w`: with the largest input, the bound on a conv's accumulator. */
  absSums(w: Int8Array, channels: number): ArrayLike<number>;
  /** Number of nonzero weights. */
  nonzeros(w: Int8Array): number;
}

/** {@link WeightScan} in plain TypeScript: what readers without a kernels instance use. */
export const JS_SCAN: WeightScan = {
  crc32,
  absSums(w, channels) {
    const per = w.length / channels;
    // Float64: a row may hold 64 M weights, whose sum would not fit an int32.
    const sums = new Float64Array(channels);
    for (let n = 0; n < channels; n++) {
      let s = 0;
      for (let k = n * per; k < (n + 1) * per; k++) s += Math.abs(w[k]);
      sums[n] = s;
    }
    return sums;
  },
  nonzeros(w) {
    let count = 0;
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) count++;
    return count;
  },
};

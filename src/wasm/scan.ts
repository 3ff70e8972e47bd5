/**
 * {@link WeightScan} in a kernels instance (assembly/kernels/scan.ts): the data is copied to the
 * start of the instance's free memory, which the plan later reuses as its activation arena.
 * @packageDocumentation
 */
import type { WeightScan } from '../model/scan.js';
import { ensureMemory, type KernelExports } from './kernels.js';

/** A {@link WeightScan} that runs in `kernels`' memory; use it before the model is planned there. */
export function wasmScan(kernels: KernelExports): WeightScan {
  const base = kernels.heap_base();
  const put = (bytes: Uint8Array, extra = 0): number => {
    ensureMemory(kernels.memory, base + bytes.length + extra);
    new Uint8Array(kernels.memory.buffer, base, bytes.length).set(bytes);
    return base;
  };
  const asBytes = (w: Int8Array): Uint8Array => new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  return {
    crc32: (bytes) => kernels.crc32(put(bytes), bytes.length) >>> 0,
    absSums(w, channels) {
      // The sums (f64) go after the weights, 16-byte aligned.
      const out = base + ((w.length + 15) & ~15);
      kernels.i8_abs_sums(put(asBytes(w), out - base - w.length + 8 * channels), channels, w.length / channels, out);
      return new Float64Array(kernels.memory.buffer, out, channels).slice();
    },
    nonzeros: (w) => kernels.i8_count_nonzero(put(asBytes(w)), w.length),
  };
}

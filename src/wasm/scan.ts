/**
 * {@link WeightScan} in a kernels instance (assembly/kernels/scan.ts): the data is copied to the
 * start of the instance's free memory, which the plan later reuses as its activation arena.
 * @packageDocumentation
 */
import type { WeightScan } from '../model/scan.js';
import type { KernelExports } from './kernels.js';
import { Scratch } from './scratch.js';

/**
 * A {@link WeightScan} that runs in `kernels`' memory; use it before the model is planned there.
 * It remembers each tensor's |w| sums, which reading the file and planning both need: one scan
 * serves one load, while the tensors do not change.
 */
export function wasmScan(kernels: KernelExports): WeightScan {
  const sums = new WeakMap<Int8Array, { channels: number; sums: Float64Array }>();
  // Each call starts again at the instance's free memory.
  const scratch = (): Scratch => new Scratch(kernels);
  return {
    crc32: (bytes) => kernels.crc32(scratch().put(bytes), bytes.length) >>> 0,
    absSums(w, channels) {
      const known = sums.get(w);
      if (known?.channels === channels) return known.sums;
      const mem = scratch();
      const p = mem.put(w);
      const out = mem.alloc(8 * channels);
      kernels.i8_abs_sums(p, channels, w.length / channels, out);
      const result = new Float64Array(kernels.memory.buffer, out, channels).slice();
      sums.set(w, { channels, sums: result });
      return result;
    },
    nonzeros: (w) => kernels.i8_count_nonzero(scratch().put(w), w.length),
  };
}

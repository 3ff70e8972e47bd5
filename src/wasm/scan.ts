/**
 * {@link WeightScan} in a kernels instance (assembly/kernels/scan.ts).
 * @packageDocumentation
 */
import type { WeightScan } from '../model/scan.js';
import { callKernel, type KernelExports } from './kernels.js';
import { Scratch } from './scratch.js';

/**
 * A {@link WeightScan} that runs in `kernels`' memory, copying its data to the scratch `area()`
 * gives (each call starts over; {@link ModelMemory} gives the future arena, free while a model is
 * read and planned). It remembers each tensor's |w| sums, which reading the file and planning both
 * need: one scan serves one load, while the tensors do not change.
 */
export function wasmScan(kernels: KernelExports, area: () => Scratch = () => new Scratch(kernels)): WeightScan {
  const sums = new WeakMap<Int8Array, { channels: number; sums: Float64Array }>();
  return {
    crc32: (bytes) => callKernel(kernels, 'crc32', { p: area().put(bytes), n: bytes.length }) >>> 0,
    absSums(w, channels) {
      const known = sums.get(w);
      if (known?.channels === channels) return known.sums;
      const mem = area();
      const p = mem.put(w);
      const out = mem.alloc(8 * channels);
      callKernel(kernels, 'i8_abs_sums', { w: p, channels, per: w.length / channels, out });
      const result = new Float64Array(kernels.memory.buffer, out, channels).slice();
      sums.set(w, { channels, sums: result });
      return result;
    },
    nonzeros: (w) => callKernel(kernels, 'i8_count_nonzero', { w: area().put(w), n: w.length }),
  };
}

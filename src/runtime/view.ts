/**
 * Activations between wasm memory and the host: a strided NHWC {@link View} read out packed, or
 * packed values written in.
 * @packageDocumentation
 */
import { ARRAY_OF, type View } from './types.js';

type ActArray = Float32Array | Uint8Array | Int16Array | Int32Array;

/** A copy of activation `v`, packed [pixels][channels]. */
export function readView(memory: ArrayBuffer, v: View): ActArray {
  const Type = ARRAY_OF[v.dtype];
  const out = new Type(v.h * v.w * v.c);
  for (let p = 0; p < v.h * v.w; p++) out.set(new Type(memory, v.ptr + p * v.stride, v.c), p * v.c);
  return out;
}

/** Writes `values`, packed [pixels][channels] and of `v`'s element type, into activation `v`. */
export function writeView(memory: ArrayBuffer, v: View, values: ActArray): void {
  const Type = ARRAY_OF[v.dtype];
  for (let p = 0; p < v.h * v.w; p++) new Type(memory, v.ptr + p * v.stride, v.c).set(values.subarray(p * v.c, (p + 1) * v.c));
}

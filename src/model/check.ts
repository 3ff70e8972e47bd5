/**
 * The small checks validation is made of, shared by the reader and both halves of validation.
 * @packageDocumentation
 */
import { ModelFormatError } from '../errors.js';
import { quote } from '../text.js';
import type { DType, Model, Tensor } from './format.js';

/** Throws the {@link ModelFormatError} of a model that fails a check. */
export function fail(code: string, message: string): never {
  throw new ModelFormatError(code, message);
}

/** Whether `v` is an integer in min..max. */
export function isCount(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** The constant `name`, which must exist and be of `dtype`. */
export function tensorOf(model: Model, name: unknown, where: string, role: string, dtype: DType): Tensor {
  const t = typeof name === 'string' ? model.tensors.get(name) : undefined;
  if (!t) fail('E_MODEL_TENSOR', `${where}: ${role} tensor ${quote(name)} is not in the file's tensor table`);
  if (t.dtype !== dtype) fail('E_MODEL_TENSOR', `${where}: ${role} tensor ${quote(name)} is ${t.dtype}, expected ${dtype} in a ${model.precision} model`);
  return t;
}

/** Fails unless constant `t` has shape `expected`. */
export function checkConstShape(t: Tensor, expected: number[], where: string, role: string): void {
  if (!(t.shape.length === expected.length && t.shape.every((v, i) => v === expected[i]))) {
    fail('E_MODEL_SHAPE', `${where}: ${role} has shape [${t.shape}], expected [${expected}]`);
  }
}

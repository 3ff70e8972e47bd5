/**
 * Every limit squeezewasm enforces, in one place. A violation throws a {@link LimitError} whose
 * `limit` is the name of the field below, so a caller can raise exactly the limit that bit.
 * @packageDocumentation
 */
import { ArgumentError } from './errors.js';
import { DEFAULT_IMAGE_LIMITS, type ImageLimits } from './image/limits.js';
import { DEFAULT_READ_LIMITS, type ReadLimits } from './model/read.js';
import { DEFAULT_RUN_LIMITS, type RunLimits } from './runtime/types.js';

/** The limits on model files ({@link ReadLimits}), images ({@link ImageLimits}) and what a network may ask of the machine ({@link RunLimits}). */
export interface Limits extends ReadLimits, ImageLimits, RunLimits {}

/** The defaults: generous for SqueezeNet-sized models and phone photos, far below what would hurt a Worker or a Raspberry Pi. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({ ...DEFAULT_READ_LIMITS, ...DEFAULT_IMAGE_LIMITS, ...DEFAULT_RUN_LIMITS });

/**
 * {@link DEFAULT_LIMITS} with `overrides` applied.
 * @throws ArgumentError for an unknown limit name or a value that is not a positive number.
 */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  if (typeof overrides !== 'object' || overrides === null) throw new ArgumentError('E_ARGUMENT', 'limits must be an object');
  for (const [key, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) {
      throw new ArgumentError('E_ARGUMENT', `unknown limit ${JSON.stringify(key)}; the limits are ${Object.keys(DEFAULT_LIMITS).join(', ')}`);
    }
    if (value !== undefined && !(typeof value === 'number' && value > 0)) {
      throw new ArgumentError('E_ARGUMENT', `limit ${key} must be a positive number, got ${String(value)}`);
    }
  }
  const limits = { ...DEFAULT_LIMITS };
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) limits[key as keyof Limits] = value;
  return limits;
}

import { expect } from 'vitest';
import { LimitError, type SqueezeError } from '../../src/errors.js';

/** What `run` threw (or its promise rejected with); undefined if it returned. */
export function thrown(run: () => unknown): unknown {
  try {
    const result = run();
    if (result instanceof Promise) throw new Error('thrown() got a promise: use rejection()');
  } catch (e) {
    return e;
  }
  return undefined;
}

/** What `promise` rejected with; undefined if it resolved. */
export function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (e: unknown) => e);
}

/**
 * Expects `error` to be a `type` with `code` whose message matches `pattern` (when given), and
 * returns it typed for further checks.
 */
export function expectSqueezeError<E extends SqueezeError>(error: unknown, type: abstract new (...args: never[]) => E, code: string, pattern?: RegExp): E {
  expect(error).toBeInstanceOf(type);
  expect((error as E).code).toBe(code);
  if (pattern) expect((error as E).message).toMatch(pattern);
  return error as E;
}

/** Expects `error` to be a LimitError naming `limit`. */
export function expectLimitError(error: unknown, limit: string): LimitError {
  const e = expectSqueezeError(error, LimitError, 'E_LIMIT');
  expect(e.limit).toBe(limit);
  return e;
}

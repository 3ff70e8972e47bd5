/**
 * The type checks every public function makes on its arguments first, so that a wrong type is an
 * {@link ArgumentError} naming the argument instead of a TypeError from deep inside.
 * @packageDocumentation
 */
import { ArgumentError } from './errors.js';
import type { ValidModel } from './model/validate.js';
import { quote } from './text.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * By shape, not `instanceof`: a model read by the CommonJS build is as valid in the ES module
 * build, whose ValidModel class is another object.
 */
function isValidModel(v: unknown): boolean {
  const m = v as Partial<ValidModel>;
  return isObject(v) && Array.isArray(m.checked) && typeof m.act === 'function';
}

/** The types arguments are checked for: how a message says each, and the test. */
const KINDS = {
  bytes: ['a Uint8Array', (v: unknown) => v instanceof Uint8Array],
  string: ['a string', (v: unknown) => typeof v === 'string'],
  number: ['a number', (v: unknown) => typeof v === 'number'],
  function: ['a function', (v: unknown) => typeof v === 'function'],
  array: ['an array', Array.isArray],
  object: ['an object', isObject],
  absent: ['undefined', (v: unknown) => v === undefined],
  url: ['a URL', (v: unknown) => v instanceof URL],
  module: ['a compiled WebAssembly.Module', (v: unknown) => v instanceof WebAssembly.Module],
  model: ['a ValidModel (from readModel, a converter or training)', isValidModel],
} as const;

/**
 * A kind of {@link KINDS}, or a class whose instances are accepted (typed `Function`, which a class
 * with a private constructor is too).
 */
export type Expected = keyof typeof KINDS | Function;

/** "an Int8Array", "a FeatureExtractor"; U as in Uint8Array and URL is a consonant. */
const article = (name: string): string => `${/^[AEIO]/i.test(name) ? 'an' : 'a'} ${name}`;

/**
 * `v` for a message: a primitive's value (a string quoted), else its type. Calls none of the
 * value's own methods (a `toString` may be missing or throw), so it describes anything passed.
 */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'function') return 'a function';
  if (typeof v !== 'object') return String(v).slice(0, 40);
  if (Array.isArray(v)) return 'an array';
  if (v instanceof ArrayBuffer) return 'an ArrayBuffer (wrap it: new Uint8Array(buffer))';
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? article(name) : 'an object';
}

/**
 * Throws for the first argument that is none of the types given for it.
 * @param fn the public function, named in the message.
 * @param args each argument by name: its value, then the types it may have.
 * @throws ArgumentError `E_ARGUMENT`, e.g. "loadClassifier: source must be a string or a Uint8Array, got null".
 * @example checkArguments('loadClassifier', { source: [source, 'string', 'bytes'], options: [options, 'object'] });
 */
export function checkArguments(fn: string, args: Record<string, [value: unknown, ...expected: Expected[]]>): void {
  for (const [name, [value, ...expected]] of Object.entries(args)) {
    const accepts = (e: Expected): boolean => (typeof e === 'string' ? KINDS[e][1](value) : value instanceof e);
    if (expected.some(accepts)) continue;
    const what = expected.map((e) => (typeof e === 'string' ? KINDS[e][0] : article(e.name))).join(' or ');
    throw new ArgumentError('E_ARGUMENT', `${fn}: ${name} must be ${what}, got ${describe(value)}`);
  }
}

/**
 * Text that came from a file (labels, names, licence text), made safe to show. A model file is
 * untrusted input: a label holding a newline forges a result line, an escape sequence retitles the
 * terminal or clears it, a bidi override reorders what is read. Everything squeezewasm prints or
 * puts in an error message from a file goes through {@link printable} or {@link quote}.
 * @packageDocumentation
 */

/**
 * The characters a terminal or a log viewer acts on instead of showing: C0 controls (newline, tab,
 * ESC, ...), DEL, C1 controls (U+0080–U+009F, among them the one-byte CSI U+009B), the line and
 * paragraph separators U+2028/U+2029, and the bidi controls (U+061C, U+200E/F, U+202A–U+202E,
 * U+2066–U+2069).
 */
const UNSAFE = /[\p{Cc}\p{Bidi_Control}\u2028\u2029]/gu;

const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const code = (c: string): string => c.charCodeAt(0).toString(16);

/**
 * `s` with every control character written as a visible escape: `\n`, `\r`, `\t`, `\x1b` (up to
 * U+00FF), `\u{202e}` (above). Printable text, other scripts and emoji are left as they are.
 */
export function printable(s: string): string {
  return s.replace(UNSAFE, (c) => NAMED[c] ?? (c < '\u0100' ? `\\x${code(c).padStart(2, '0')}` : `\\u{${code(c)}}`));
}

/** Longest part of a name {@link quote} shows, in code points. */
export const QUOTE_MAX = 80;

/**
 * A name for a message: a string double-quoted, its `"` and `\` escaped as in JSON, its control
 * characters as {@link printable} writes them, cut to {@link QUOTE_MAX} code points and "…".
 * Anything else (a value of the wrong type in a file's JSON) is shown as JSON, made printable
 * and cut the same way.
 */
export function quote(value: unknown): string {
  const text = typeof value === 'string' ? value : String(JSON.stringify(value));
  const points = [...text];
  const shown = points.length > QUOTE_MAX ? `${points.slice(0, QUOTE_MAX).join('')}…` : text;
  return typeof value === 'string' ? `"${printable(shown.replace(/["\\]/g, '\\$&'))}"` : printable(shown);
}

/**
 * `JSON.stringify(value)` with the characters {@link printable} escapes that JSON leaves raw (DEL,
 * C1, U+2028/U+2029, bidi controls) written as `\uXXXX`: still valid JSON, parsing to the same
 * value, and safe to print on one line.
 */
export function printableJson(value: unknown): string {
  return JSON.stringify(value).replace(UNSAFE, (c) => `\\u${code(c).padStart(4, '0')}`);
}

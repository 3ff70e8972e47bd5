import { describe, expect, it } from 'vitest';
import { ModelFormatError } from '../../src/errors.js';
import { printable, printableJson, quote, QUOTE_MAX } from '../../src/text.js';

/** Every character a terminal or log viewer would act on instead of showing. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

describe('printable', () => {
  it.each([
    ['a\nb', 'a\\nb'],
    ['a\r\nb\tc', 'a\\r\\nb\\tc'],
    ['\x1b]0;pwned\x07', '\\x1b]0;pwned\\x07'],
    ['\x1b[2J', '\\x1b[2J'],
    ['\u009b31m', '\\x9b31m'],
    ['\x00\x7f', '\\x00\\x7f'],
    ['abc\u202edef', 'abc\\u{202e}def'],
    ['\u2066\u2069\u200f\u061c', '\\u{2066}\\u{2069}\\u{200f}\\u{61c}'],
    ['\u2028\u2029', '\\u{2028}\\u{2029}'],
  ])('escapes %j as %s', (raw, shown) => {
    expect(printable(raw)).toBe(shown);
  });

  it('leaves printable text, other scripts, emoji and backslashes as they are', () => {
    for (const s of ['giant panda', 'Siamese cat, Siamese', 'Größe – 大熊猫 – 🐼', 'a\\nb', '']) expect(printable(s)).toBe(s);
  });

  it('escapes every control character from U+0000 to U+FFFF, and nothing else of them survives', () => {
    const all = Array.from({ length: 0x10000 }, (_, c) => String.fromCharCode(c)).filter((c) => !/[\ud800-\udfff]/.test(c)).join('');
    expect(printable(all)).not.toMatch(UNSAFE);
  });
});

describe('quote', () => {
  it('double-quotes a name as JSON does, control characters escaped', () => {
    expect(quote('fire2/squeeze')).toBe('"fire2/squeeze"');
    expect(quote('say "hi" \\ bye')).toBe('"say \\"hi\\" \\\\ bye"');
    expect(quote('x\nsqueezewasm: all good\x1b[8m')).toBe('"x\\nsqueezewasm: all good\\x1b[8m"');
  });

  it(`cuts a long name to ${QUOTE_MAX} code points and "…", never inside an escape or a surrogate pair`, () => {
    expect(quote('a'.repeat(1000))).toBe(`"${'a'.repeat(QUOTE_MAX)}…"`);
    expect(quote('\n'.repeat(100))).toBe(`"${'\\n'.repeat(QUOTE_MAX)}…"`);
    expect(quote('🐼'.repeat(100))).toBe(`"${'🐼'.repeat(QUOTE_MAX)}…"`);
    expect(quote('a'.repeat(QUOTE_MAX))).toBe(`"${'a'.repeat(QUOTE_MAX)}"`);
  });

  it('shows a value of another type as printable JSON', () => {
    expect(quote(5)).toBe('5');
    expect(quote([1, 'a\u202e'])).toBe('[1,"a\\u{202e}"]');
    expect(quote(undefined)).toBe('undefined');
    expect(quote(new Array(100).fill(0))).toMatch(/^\[0,0,.*…$/);
  });
});

describe('printableJson', () => {
  it('is valid JSON that parses to the same value, with no raw control, C1, separator or bidi character', () => {
    const value = { label: 'a\x7f\u0085\u009b31m\u2028\u2029\u202e\u2066\x1b[2J\n', n: [1, 2.5], nested: { '\u202ekey': '🐼' } };
    const json = printableJson(value);
    expect(json).not.toMatch(UNSAFE);
    expect(json).toContain('\\u007f');
    expect(json).toContain('\\u2028');
    expect(JSON.parse(json)).toEqual(value);
  });
});

describe('error messages', () => {
  it('a SqueezeError message is one printable line whatever it was made from', () => {
    const e = new ModelFormatError('E_MODEL_OP', 'op "a\nsqueezewasm: all good\x1b[8m" is bad\u202e');
    expect(e.message).toBe('op "a\\nsqueezewasm: all good\\x1b[8m" is bad\\u{202e}');
    expect(e.message).not.toMatch(UNSAFE);
  });
});

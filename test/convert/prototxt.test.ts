import { describe, expect, it } from 'vitest';
import { parsePrototxt, PrototxtMessage } from '../../src/convert/prototxt.js';
import { ConvertError } from '../../src/errors.js';
import { expectSqueezeError, thrown } from '../helpers/errors.js';

/** A message as plain data: scalars as they are, messages as [name, value] lists. */
const plain = (m: PrototxtMessage): unknown[] => m.fields.map((f) => [f.name, f.value instanceof PrototxtMessage ? plain(f.value) : f.value]);

describe('parsePrototxt', () => {
  it('reads fields, nested messages in both spellings, lists, comments and escapes', () => {
    const m = parsePrototxt(`# a network
name: "net"   # trailing comment
input_dim: 1 input_dim: -3.5e1
layer {
  name: 'a\\'b\\n' type: "Convolution";
  convolution_param: { kernel_size: [3, 5], pool: MAX, flag: true }
}
layer {}
`);
    expect(plain(m)).toEqual([
      ['name', 'net'],
      ['input_dim', 1],
      ['input_dim', -35],
      ['layer', [['name', "a'b\n"], ['type', 'Convolution'], ['convolution_param', [['kernel_size', 3], ['kernel_size', 5], ['pool', 'MAX'], ['flag', 'true']]]]],
      ['layer', []],
    ]);
    expect(m.all('layer')[0].line).toBe(4);
    expect(m.all('input_dim').map((f) => f.value)).toEqual([1, -35]);
  });

  it('parses an empty file as an empty message', () => {
    expect(parsePrototxt('  # nothing\n').fields).toEqual([]);
  });

  it.each([
    ['name: "open', /line 1, column 7: unterminated string/],
    ['layer {\n  name: "a"\n', /line 3, column 1: expected "}", found "end of file"/],
    ['layer { name "a" }', /line 1, column 14: expected ":" or "{", found "a"/],
    ['}', /line 1, column 1: expected a field name, found "}"/],
    ['name: }', /line 1, column 7: expected a value, found "}"/],
    ['3: 4', /expected a field name, found "3"/],
    ['a: [1 2]', /expected "," or "]", found "2"/],
    ['a < b: 1 >', /"<\.\.\.>" message delimiters are not supported/],
    ['a { '.repeat(40), /nest deeper than 32 levels/],
  ])('refuses %j with the line and column', (text, pattern) => {
    expectSqueezeError(thrown(() => parsePrototxt(text)), ConvertError, 'E_CONVERT_PROTOTXT', pattern);
  });

  it('refuses text far larger than a network description', () => {
    expect(() => parsePrototxt(' '.repeat(4 * 1024 * 1024 + 1))).toThrow(/more than the 4194304 a network description needs/);
  });
});

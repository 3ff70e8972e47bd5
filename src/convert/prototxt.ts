/**
 * A parser for Caffe's network description, the protobuf text format of `deploy.prototxt` files.
 * It knows nothing of Caffe's schema: it returns the tree of fields, and the Deep Compression
 * reader decides what each field means.
 * @packageDocumentation
 */
import { ConvertError } from '../errors.js';
import { quote } from '../text.js';

/** A scalar field value: a number, or a string (quoted strings and bare words such as `MAX` or `true`). */
export type PrototxtScalar = string | number;

/** One field of a message, in file order. */
export interface PrototxtField {
  name: string;
  value: PrototxtScalar | PrototxtMessage;
  /** 1-based line of the field name, for error messages. */
  line: number;
}

/** A message: its fields in file order, repeated fields appearing once per value. */
export class PrototxtMessage {
  readonly fields: PrototxtField[] = [];

  /** Every value of field `name`, in file order. */
  all(name: string): PrototxtField[] {
    return this.fields.filter((f) => f.name === name);
  }
}

/** Longest accepted prototxt: Caffe's largest published networks are a few hundred KB. */
export const MAX_PROTOTXT_CHARS = 4 * 1024 * 1024;
/**
 * Most tokens (names, values and punctuation) a prototxt may have. SqueezeNet's deploy.prototxt
 * has 1,494 in 10 KB, so the largest published ones (a few hundred KB) have a few tens of thousands.
 * Each token, and the field it becomes, costs some hundred bytes, far more than its text: this
 * cap, not the length, bounds what parsing builds (a few tens of MB at most).
 */
export const MAX_PROTOTXT_TOKENS = 1 << 18;
/** Deepest accepted message nesting; Caffe's schema needs 4 (net, layer, param, filler). */
const MAX_DEPTH = 32;

type Token = { kind: 'punct' | 'word' | 'string' | 'end'; text: string; line: number; column: number };

const is = (t: Token, punct: string): boolean => t.kind === 'punct' && t.text === punct;

const PUNCT = new Set(['{', '}', ':', '[', ']', ',', ';', '<', '>']);
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', "'": "'", '\\': '\\' };
const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function fail(message: string, line: number, column: number): never {
  throw new ConvertError('E_CONVERT_PROTOTXT', `prototxt line ${line}, column ${column}: ${message}`);
}

/** The quoted string that starts at `text[start]`, its escapes resolved, and the index after its closing quote. */
function quoted(text: string, start: number, line: number, column: number): [string, number] {
  // Pieces between escapes, joined once: a concatenation per character would make a long string
  // a rope of millions of pieces, many times its size.
  const pieces: string[] = [];
  let from = start + 1;
  let i = from;
  while (text[i] !== text[start]) {
    if (i >= text.length || text[i] === '\n') fail('unterminated string', line, column);
    if (text[i] !== '\\') {
      i++;
      continue;
    }
    if (i > from) pieces.push(text.slice(from, i));
    const e = text[i + 1] ?? '';
    pieces.push(ESCAPES[e] ?? e);
    i += 2;
    from = i;
  }
  pieces.push(text.slice(from, i));
  return [pieces.join(''), i + 1];
}

/** The tokens of `text`, and a last one marking the end of the file. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let lineStart = 0;
  let i = 0;
  const push = (kind: Token['kind'], token: string, column: number): void => {
    if (tokens.length === MAX_PROTOTXT_TOKENS) {
      throw new ConvertError('E_CONVERT_LIMIT', `prototxt line ${line}: more than ${MAX_PROTOTXT_TOKENS} tokens (MAX_PROTOTXT_TOKENS), far more than a network description has`);
    }
    tokens.push({ kind, text: token, line, column });
  };
  while (i < text.length) {
    const ch = text[i];
    const column = i - lineStart + 1;
    if (ch === '\n') {
      line++;
      lineStart = ++i;
    } else if (/\s/.test(ch)) {
      i++;
    } else if (ch === '#') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (PUNCT.has(ch)) {
      push('punct', ch, column);
      i++;
    } else if (ch === '"' || ch === "'") {
      const [s, next] = quoted(text, i, line, column);
      push('string', s, column);
      i = next;
    } else {
      const start = i;
      while (i < text.length && !/[\s#"']/.test(text[i]) && !PUNCT.has(text[i])) i++;
      push('word', text.slice(start, i), column);
    }
  }
  tokens.push({ kind: 'end', text: 'end of file', line, column: i - lineStart + 1 });
  return tokens;
}

/**
 * Parses protobuf text format as Caffe writes it: `name: value`, `name { ... }` (or `name: { ... }`),
 * `name: [v1, v2]`, `#` comments, quoted strings with backslash escapes.
 * @throws ConvertError (`E_CONVERT_PROTOTXT`) naming the line and column of the first syntax error.
 */
export function parsePrototxt(text: string): PrototxtMessage {
  if (text.length > MAX_PROTOTXT_CHARS) {
    throw new ConvertError('E_CONVERT_PROTOTXT', `the prototxt has ${text.length} characters, more than the ${MAX_PROTOTXT_CHARS} a network description needs`);
  }
  const tokens = tokenize(text);
  const eof = tokens.length - 1;
  let at = 0;
  const peek = (): Token => tokens[Math.min(at, eof)];
  const unexpected = (t: Token, wanted: string): never => fail(`expected ${wanted}, found ${quote(t.text)}`, t.line, t.column);

  const scalar = (): PrototxtScalar => {
    const t = peek();
    if (t.kind === 'punct' || t.kind === 'end') unexpected(t, 'a value');
    at++;
    return t.kind === 'word' && NUMBER.test(t.text) ? Number(t.text) : t.text;
  };

  const message = (depth: number, close: string | undefined): PrototxtMessage => {
    if (depth > MAX_DEPTH) fail(`messages nest deeper than ${MAX_DEPTH} levels`, peek().line, peek().column);
    const msg = new PrototxtMessage();
    for (;;) {
      const t = peek();
      if (close !== undefined && is(t, close)) {
        at++;
        return msg;
      }
      if (t.kind === 'end') {
        if (close !== undefined) unexpected(t, `"${close}"`);
        return msg;
      }
      if (t.kind !== 'word' || NUMBER.test(t.text)) unexpected(t, 'a field name');
      at++;
      const sep = peek();
      const colon = is(sep, ':');
      if (colon) at++;
      const next = peek();
      if (is(next, '{')) {
        at++;
        msg.fields.push({ name: t.text, value: message(depth + 1, '}'), line: t.line });
      } else if (is(next, '<')) {
        fail('"<...>" message delimiters are not supported; use "{...}"', next.line, next.column);
      } else if (!colon) {
        unexpected(next, '":" or "{"');
      } else if (is(next, '[')) {
        at++;
        while (!is(peek(), ']')) {
          msg.fields.push({ name: t.text, value: scalar(), line: t.line });
          if (is(peek(), ',')) at++;
          else if (!is(peek(), ']')) unexpected(peek(), '"," or "]"');
        }
        at++;
      } else {
        msg.fields.push({ name: t.text, value: scalar(), line: t.line });
      }
      if (is(peek(), ',') || is(peek(), ';')) at++;
    }
  };

  return message(0, undefined);
}

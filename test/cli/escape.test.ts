import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvOp, Model, Tensor } from '../../src/model/format.js';
import type { ModelSummary } from '../../src/model/summary.js';
import { encodeModel, writeModel } from '../../src/model/write.js';
import { cli } from '../helpers/cli.js';

// Text from a model file (labels, names, licence) and from folder listings reaches the terminal
// only escaped: no line of its own, no escape sequence, no bidi reordering.

/** A newline, a carriage return, a window retitle, a screen clear, a one-byte CSI, a right-to-left override and a forged result line that hides the rest. */
const HOSTILE = '\n\r\x1b]0;pwned\x07\x1b[2J\u009b31m\u202e\nsqueezewasm: all good, exit 0\x1b[8m';
/** Every character that must not reach the terminal raw (the CLI's own line ends are checked apart). */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u;

const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-escape-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const names = {
  model: `model${HOSTILE}`,
  input: `image${HOSTILE}`,
  hidden: `hidden${HOSTILE}`,
  scores: `scores${HOSTILE}`,
};
const labels = [`panda${HOSTILE}`, 'cat\u202etac', '\x1b[2Jdog\u2028'];
const provenance = { source: `source${HOSTILE}`, license: `MIT${HOSTILE}`, licenseText: `Permission is granted.\nline two${HOSTILE}\r\nthe end\n`, notes: `notes${HOSTILE}` };

const f32 = (shape: number[], data: number[]): Tensor => ({ dtype: 'f32', shape, data: Float32Array.from(data) });

/** input -> 1x1 conv (4 channels, ReLU) -> 1x1 conv (3 classes) -> global average pool: every name and label hostile. */
function hostileModel(): Model {
  const conv = (input: string, output: string, relu: boolean): ConvOp =>
    ({ op: 'conv', input, output, weight: `${output}.w`, bias: `${output}.b`, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0], relu });
  return {
    name: names.model,
    precision: 'f32',
    input: { name: names.input, height: 8, width: 8, channelOrder: 'RGB', resizeShorter: 8, divisor: 255, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] },
    ops: [conv(names.input, names.hidden, true), conv(names.hidden, `${names.hidden}2`, false), { op: 'globalavgpool', input: `${names.hidden}2`, output: names.scores }],
    output: names.scores,
    labels,
    tensors: new Map([
      [`${names.hidden}.w`, f32([4, 3, 1, 1], [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1])],
      [`${names.hidden}.b`, f32([4], [0.1, 0.2, 0.3, 0.4])],
      [`${names.hidden}2.w`, f32([3, 4, 1, 1], [1, 0, 0, 0.5, 0, 1, 0, 0.25, 0, 0, 1, 0])],
      [`${names.hidden}2.b`, f32([3], [0.3, 0.2, 0.1])],
    ]),
    provenance,
  };
}

function file(name: string, bytes: Uint8Array): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

const good = file('hostile.sqz', writeModel(hostileModel()));

/**
 * The lines of one stream of a CLI run: it ends in a line end (or is empty) and no line holds a
 * control character, a C1 or bidi control, or starts a forged "squeezewasm: all good" line.
 */
function safeLines(text: string): string[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  const lines = text.slice(0, -1).split('\n');
  for (const line of lines) {
    expect(line).not.toMatch(UNSAFE);
    expect(line).not.toMatch(/^squeezewasm: all good/);
  }
  return lines;
}

describe('the CLI escapes what came from a file', () => {
  it('classify: one line per label, each label escaped, and the model name', async () => {
    const r = await cli('classify', panda, '--model', good, '--top', '3');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = safeLines(r.stdout);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toContain('model\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m');
    expect(lines.slice(1).map((l) => l.match(/^\s+\d\. (.*?)\s+[\d.]+ %/)![1]).sort()).toEqual(
      ['\\x1b[2Jdog\\u{2028}', 'cat\\u{202e}tac', 'panda\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m'],
    );
  });

  it('classify --json: one line that parses back to the labels as the file holds them', async () => {
    const r = await cli('classify', panda, '--model', good, '--top', '3', '--json');
    expect(r.code).toBe(0);
    const lines = safeLines(r.stdout);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]).top.map((p: { label: string }) => p.label).sort()).toEqual([...labels].sort());
  });

  it('classify: a file name from a folder listing is escaped too, in results and in errors', async () => {
    const named = join(dir, `panda${HOSTILE}.jpg`);
    copyFileSync(panda, named);
    const bad = file(`bad${HOSTILE}.jpg`, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2]));
    const r = await cli('classify', named, bad, '--model', good, '--top', '1');
    expect(r.code).toBe(1);
    expect(safeLines(r.stdout)[0]).toContain('panda\\n\\r\\x1b]0;pwned');
    const errors = safeLines(r.stderr);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^squeezewasm: .*bad\\n\\r\\x1b\]0;pwned.*: JPEG is truncated/);
    expect(errors[1]).toBe('squeezewasm: 1 of 2 images failed (errors above)');
  });

  it('info: names, layer names and provenance escaped; the license text keeps its lines, and only those', async () => {
    const r = await cli('info', good);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = safeLines(r.stdout);
    expect(lines[0]).toMatch(/^model\\n\\r\\x1b\]0;pwned.*: f32, 3 classes, 3 ops$/);
    expect(lines[1]).toMatch(/^input "image\\n\\r\\x1b\]0;pwned.*": 3x8x8 RGB/);
    expect(lines.filter((l) => l.includes('hidden\\n\\r\\x1b]0;pwned'))).toHaveLength(2);
    expect(lines).toContain('license: MIT\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m');
    // Its line breaks are kept (a forged line stays indented, inside the license text); the rest is escaped.
    expect(lines.slice(-5)).toEqual(['  Permission is granted.', '  line two', '  \\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}', '  squeezewasm: all good, exit 0\\x1b[8m', '  the end']);
  });

  it('info --json: one line that parses back to the strings of the file', async () => {
    const r = await cli('info', good, '--json');
    expect(r.code).toBe(0);
    const lines = safeLines(r.stdout);
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]) as ModelSummary;
    expect(s.name).toBe(names.model);
    expect(s.input.name).toBe(names.input);
    expect(s.layers.map((l) => l.name)).toEqual([names.hidden, `${names.hidden}2`, names.scores]);
    expect(s.provenance).toEqual(provenance);
  });

  it('features: the CSV header names the hostile feature layer escaped; --json parses back', async () => {
    const csv = await cli('features', panda, '--model', good);
    expect(csv.code).toBe(0);
    const lines = safeLines(csv.stdout);
    expect(lines).toHaveLength(2);
    const layer = 'hidden\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m';
    expect(lines[0]).toBe(['file', ...[0, 1, 2, 3].map((c) => `"${layer}[${c}]"`)].join(','));
    expect(lines[1].split(',')).toHaveLength(5);
    const json = await cli('features', panda, '--model', good, '--json');
    expect(JSON.parse(safeLines(json.stdout)[0]).features).toHaveLength(4);
  });

  it('train: class folder names become labels, escaped in the report and back as they were in --json', async () => {
    const tree = join(dir, 'tree');
    const classes = [`a${HOSTILE}`, 'b\u202eb'];
    for (const c of classes) {
      mkdirSync(join(tree, c), { recursive: true });
      for (const f of ['n02510455_giant_panda.jpg', 'n02123597_Siamese_cat.jpg']) copyFileSync(join(images, f), join(tree, c, f));
    }
    const human = await cli('train', tree, '--model', good, '-o', join(dir, 'trained.sqz'), '--val', '0', '--epochs', '3');
    expect(human.code).toBe(0);
    const lines = safeLines(human.stdout);
    expect(lines[0]).toBe('classes: a\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m (2), b\\u{202e}b (2)');
    const json = await cli('train', tree, '--model', good, '-o', join(dir, 'trained.sqz'), '--val', '0', '--epochs', '3', '--json', '--force');
    expect(json.code).toBe(0);
    expect(JSON.parse(safeLines(json.stdout)[0]).labels).toEqual(classes);
  });
});

describe('an error from a hostile file is one escaped line', () => {
  const broken = (edit: (m: Model) => void): Uint8Array => {
    const m = hostileModel();
    edit(m);
    return encodeModel(m);
  };
  it.each([
    ['an input no op produces', broken((m) => ((m.ops[1] as { input: string }).input = `nowhere${HOSTILE}`)), /input "nowhere\\n\\r\\x1b\]0;pwned\\x07\\x1b\[2J\\x9b31m\\u\{202e\}\\nsqueezewasm: all good, exit 0\\x1b\[8m" is not produced/],
    ['an unknown op kind', broken((m) => ((m.ops[2] as { op: string }).op = `\x1b[2J${HOSTILE}`)), /unknown op "\\x1b\[2J\\n\\r/],
    ['a missing weight', broken((m) => m.tensors.delete(`${names.hidden}.w`)), /weight tensor "hidden\\n.*" is not in the file's tensor table/],
  ])('%s: exit 1', async (_what, bytes, message) => {
    const path = file('broken.sqz', bytes);
    for (const args of [['classify', panda, '--model', path], ['info', path, '--json']]) {
      const r = await cli(...args);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = safeLines(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^squeezewasm: model .*broken\.sqz: /);
      expect(lines[0]).toMatch(message);
    }
  });

  it('a usage mistake holding control characters: one line, exit 2', async () => {
    const r = await cli('classify', panda, '--top', `3${HOSTILE}`);
    expect(r.code).toBe(2);
    const lines = safeLines(r.stderr);
    expect(lines).toEqual([`squeezewasm: --top must be a positive integer, got "3\\n\\r\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u{202e}\\nsqueezewasm: all good, exit 0\\x1b[8m" (try "squeezewasm --help")`]);
  });

  it('--debug adds only the stack frames, escaped', async () => {
    const r = await cli('info', file('debug.sqz', broken((m) => m.tensors.delete(`${names.hidden}.w`))), '--debug');
    expect(r.code).toBe(1);
    const lines = safeLines(r.stderr);
    expect(lines[0]).toMatch(/^squeezewasm: model /);
    expect(lines.length).toBeGreaterThan(1);
    for (const frame of lines.slice(1)) expect(frame).toMatch(/^\s+at /);
  });
});

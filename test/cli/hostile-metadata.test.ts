/**
 * Model files whose checksum is valid but whose metadata is hostile: provenance nested thousands of
 * levels deep, strings of megabytes, fields the format does not have. Every command must end with
 * a result or one typed error line, never an "unexpected error".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { crc32 } from '../../src/model/crc32.js';
import { FIXED_HEADER_BYTES } from '../../src/model/format.js';
import { MAX_HEADER_DEPTH, readModel } from '../../src/model/read.js';
import { summarizeModel } from '../../src/model/summary.js';
import { encodeModel, writeModel } from '../../src/model/write.js';
import { cli } from '../helpers/cli.js';

const images = fileURLToPath(new URL('../fixtures/images/', import.meta.url));
const panda = join(images, 'n02510455_giant_panda.jpg');
const base = readModel(new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.1-f32.sqz', import.meta.url))));
const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-hostile-metadata-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * The base model with `json` (any JSON text, even one JSON.stringify could not write) as the
 * provenance field `key`, sealed with a valid checksum. A placeholder string of the same length
 * is encoded and then overwritten, so that no offset moves.
 */
function withProvenance(key: string, json: string): Uint8Array {
  const placeholder = 'x'.repeat(json.length - 2);
  const bytes = encodeModel({ ...base, provenance: { ...base.provenance, [key]: placeholder } });
  const view = new DataView(bytes.buffer);
  const header = new TextDecoder().decode(bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + view.getUint32(16, true)));
  const at = FIXED_HEADER_BYTES + new TextEncoder().encode(header.slice(0, header.indexOf(`"${placeholder}"`))).length;
  bytes.set(new TextEncoder().encode(json), at);
  view.setUint32(12, crc32(bytes.subarray(16)), true);
  return bytes;
}

const nestedObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const nestedArrays = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;

function file(name: string, bytes: Uint8Array): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

/** Every command that reads a model, on `model`. */
const commands = (model: string): string[][] => [
  ['info', model],
  ['info', model, '--json'],
  ['classify', panda, '--model', model],
  ['quantize', model, '--calibrate', images, '-o', join(dir, 'out.sqz'), '--force'],
];

describe('hostile model metadata', () => {
  it.each<[string, () => Uint8Array, RegExp]>([
    ['provenance nested 5,000 objects deep', () => withProvenance('extra', nestedObjects(5000)), new RegExp(`nests arrays and objects more than ${MAX_HEADER_DEPTH} deep`)],
    ['provenance nested 200,000 objects deep', () => withProvenance('extra', nestedObjects(200000)), /more than 32 deep/],
    ['provenance nested 200,000 arrays deep', () => withProvenance('notes', nestedArrays(200000)), /more than 32 deep/],
    ['a 10 MB string in the provenance', () => encodeModel({ ...base, provenance: { ...base.provenance, notes: 'x'.repeat(10e6) } }), /model header is \d+ bytes, more than the limit of 4194304/],
    ['1 MB of notes', () => encodeModel({ ...base, provenance: { ...base.provenance, notes: 'x'.repeat(1e6) } }), /header\.provenance\.notes must be a string of at most 65536 characters/],
  ])('%s: every command says so in one typed line', async (_, make, message) => {
    const model = file('hostile.sqz', make());
    for (const args of commands(model)) {
      const r = await cli(...args);
      expect(r.stderr).not.toMatch(/unexpected error/);
      expect(r.stderr).toMatch(/^squeezewasm: model [^\n]*\n$/);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(1);
    }
  });

  it('brackets inside strings, escaped quotes among them, do not count as nesting', () => {
    const notes = `"quoted" ${'[{'.repeat(1000)} \\ ${'}]'.repeat(1000)}`;
    expect(readModel(encodeModel({ ...base, provenance: { ...base.provenance, notes } })).provenance.notes).toBe(notes);
    expect(readModel(withProvenance('extra', JSON.stringify(`\\"${'['.repeat(100)}`))).name).toBe(base.name);
  });

  it('unknown provenance fields, however large or deep within the limit, are dropped and every command works', async () => {
    // The header, the provenance and the field take 3 of the levels the reader accepts.
    const bytes = withProvenance('extra', JSON.stringify({ text: 'x'.repeat(1e6), deep: JSON.parse(nestedArrays(MAX_HEADER_DEPTH - 3)) }));
    const model = readModel(bytes);
    expect(Object.keys(model.provenance)).toEqual(['source', 'license', 'licenseText', 'notes']);
    // What quantize writes and info --json prints carries only the known fields.
    expect(readModel(writeModel(model)).provenance).toEqual(base.provenance);
    expect(JSON.stringify(summarizeModel(model).provenance)).toBe(JSON.stringify(base.provenance));

    const path = file('extra.sqz', bytes);
    const [info, json, classify] = await Promise.all(commands(path).slice(0, 3).map((args) => cli(...args)));
    expect(info.code).toBe(0);
    expect(info.stdout).toMatch(/^source: {2}.+$/m);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).provenance).toEqual(base.provenance);
    expect(classify.code).toBe(0);
    expect(classify.stdout).toMatch(/1\. giant panda/);
  });
});

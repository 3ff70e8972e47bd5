import { describe, expect, it } from 'vitest';
import { LimitError, ModelFormatError } from '../../src/errors.js';
import { crc32 } from '../../src/model/crc32.js';
import { readModel } from '../../src/model/read.js';
import { encodeModel, writeModel } from '../../src/model/write.js';
import type { ConvOp, Model } from '../../src/model/format.js';
import { randomFireNet, randomInt8Net } from '../helpers/random-net.js';
import { rng } from '../helpers/wasm.js';

const model = randomFireNet(rng(5), { softmax: true });
const file = writeModel(model);

/** Re-computes the checksum so a test can reach the checks behind it. */
function seal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, crc32(bytes.subarray(16)), true);
  return bytes;
}

/** Rewrites the JSON header (same length, so offsets stay valid) and re-seals. */
function editHeader(edit: (h: Record<string, any>) => void): Uint8Array {
  const bytes = file.slice();
  const view = new DataView(bytes.buffer);
  const len = view.getUint32(16, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(32, 32 + len)));
  edit(header);
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataOffset = view.getUint32(20, true);
  if (32 + json.length > dataOffset) throw new Error('edited header does not fit');
  bytes.fill(0x20, 32, dataOffset);
  bytes.set(json, 32);
  view.setUint32(16, json.length, true);
  return seal(bytes);
}

function rejects(bytes: Uint8Array, code: string, message: RegExp): void {
  let error: unknown;
  try {
    readModel(bytes);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelFormatError);
  expect((error as ModelFormatError).code).toBe(code);
  expect((error as Error).message).toMatch(message);
}

describe('model file', () => {
  it('round-trips: read(write(model)) has the same ops, labels, input and tensor bits', () => {
    const back = readModel(file);
    expect(back.ops).toEqual(model.ops);
    expect(back.labels).toEqual(model.labels);
    expect(back.input).toEqual(model.input);
    expect([...back.tensors.keys()]).toEqual([...model.tensors.keys()]);
    for (const [name, t] of model.tensors) expect(back.tensors.get(name)!.data).toEqual(t.data);
    expect(writeModel(back)).toEqual(file);
  });

  it('aligns every tensor blob to 64 bytes', () => {
    const len = new DataView(file.buffer).getUint32(16, true);
    const header = JSON.parse(new TextDecoder().decode(file.subarray(32, 32 + len)));
    for (const t of header.tensors) expect(t.offset % 64).toBe(0);
  });

  it('rejects truncated files at every kind of boundary', () => {
    for (const n of [0, 3, 31, 32, 100, file.length - 1]) rejects(file.subarray(0, n), 'E_MODEL_TRUNCATED', /truncated/);
  });

  it('rejects a wrong magic and other versions, with an upgrade hint for newer ones', () => {
    const magic = file.slice();
    magic[0] = 0x50;
    rejects(magic, 'E_MODEL_MAGIC', /not a squeezewasm model/);
    const newer = file.slice();
    new DataView(newer.buffer).setUint32(4, 2, true);
    rejects(newer, 'E_MODEL_VERSION', /upgrade squeezewasm/);
    const older = file.slice();
    new DataView(older.buffer).setUint32(4, 0, true);
    rejects(older, 'E_MODEL_VERSION', /convert the model again/);
  });

  it('rejects any flipped bit through the checksum', () => {
    for (const at of [20, 40, file.length - 1]) {
      const bad = file.slice();
      bad[at] ^= 0x10;
      rejects(bad, 'E_MODEL_CHECKSUM', /checksum/);
    }
  });

  it('rejects offsets out of range, misaligned or overlapping', () => {
    rejects(editHeader((h) => (h.tensors[0].offset = file.length)), 'E_MODEL_RANGE', /outside the data section/);
    rejects(editHeader((h) => (h.tensors[0].offset += 4)), 'E_MODEL_RANGE', /misaligned/);
    rejects(editHeader((h) => (h.tensors[1].offset = h.tensors[0].offset)), 'E_MODEL_RANGE', /overlap/);
    rejects(editHeader((h) => (h.tensors[0].length += 4)), 'E_MODEL_RANGE', /does not match its shape/);
  });

  it('rejects shapes that do not fit the network', () => {
    rejects(editHeader((h) => h.tensors[0].shape.reverse()), 'E_MODEL_SHAPE', /has shape .* expected/);
    rejects(editHeader((h) => (h.tensors[0].shape = [-1])), 'E_MODEL_SHAPE', /invalid shape/);
    rejects(editHeader((h) => (h.labels = h.labels.slice(1))), 'E_MODEL_SHAPE', /labels/);
    rejects(editHeader((h) => (h.input.height = 1)), 'E_MODEL_SHAPE', /does not fit/);
  });

  it('rejects unknown ops, naming them', () => {
    rejects(editHeader((h) => (h.ops[1].op = 'lstm')), 'E_MODEL_OP', /unknown op "lstm"/);
  });

  it('rejects graphs that read tensors nobody produced', () => {
    rejects(editHeader((h) => (h.ops[2].input = 'nowhere')), 'E_MODEL_GRAPH', /not produced/);
  });

  it('refuses files over the size limit before looking at them', () => {
    expect(() => readModel(file, { maxFileBytes: 1000, maxHeaderBytes: 1 << 20, maxTensorElements: 1 << 20 })).toThrow(LimitError);
  });
});

describe('int8 model file', () => {
  const int8 = randomInt8Net(rng(9), { i16Input: true, wide: true });
  const int8File = writeModel(int8);

  /** The int8 file after `edit`, encoded without the writer's validation so the reader sees it. */
  function editInt8(edit: (m: Model) => void): Uint8Array {
    const m = readModel(int8File);
    edit(m);
    return encodeModel(m);
  }

  it('round-trips quantization parameters and integer tensors', () => {
    const back = readModel(int8File);
    expect(back.precision).toBe('int8');
    expect(back.quant!.get('fire2.sq')!.dtype).toBe('i16');
    expect(back.quant).toEqual(int8.quant);
    for (const [name, t] of int8.tensors) expect(back.tensors.get(name)!.data).toEqual(t.data);
  });

  it.each([
    ['a shift out of range', (m: Model) => ((m.ops.find((o) => o.op === 'conv') as ConvOp).shift = 63), /shift must be an integer in 1..62/],
    ['a multiplier that does not match the scales', (m: Model) => {
      const conv = m.ops.find((o) => o.op === 'conv') as ConvOp;
      (m.tensors.get(conv.multiplier!)!.data as Int32Array)[0] += 1000;
    }, /multiplier 0 is .* but the scales give/],
    ['a zero or negative scale', (m: Model) => m.quant!.set(m.ops[0].output, { ...m.quant!.get(m.ops[0].output)!, scale: 0 }), /scale must be a positive finite number/],
    ['a zero point out of range', (m: Model) => m.quant!.set(m.ops[0].output, { ...m.quant!.get(m.ops[0].output)!, zeroPoint: 256 }), /zero point must be an integer in 0..255/],
    ['a missing activation', (m: Model) => m.quant!.delete(m.ops[2].output), /has no quantization parameters/],
    ['a max pool that changes scale', (m: Model) => {
      const pool = m.ops.find((o) => o.op === 'maxpool')!;
      m.quant!.set(pool.output, { ...m.quant!.get(pool.output)!, scale: 123 });
    }, /must keep its input's quantization/],
    ['weights of -128', (m: Model) => {
      const conv = m.ops.find((o) => o.op === 'conv') as ConvOp;
      (m.tensors.get(conv.weight)!.data as Int8Array)[0] = -128;
    }, /-127..127/],
    ['an accumulator that could overflow', (m: Model) => {
      const conv = m.ops.find((o) => o.op === 'conv') as ConvOp;
      (m.tensors.get(conv.bias!)!.data as Int32Array)[0] = 2 ** 31 - 1;
    }, /could overflow/],
    ['an i16 activation that a pool reads', (m: Model) => {
      const stem = m.ops.find((o) => o.op === 'conv')!.output;
      m.quant!.set(stem, { scale: 0.01, zeroPoint: 0, dtype: 'i16' });
    }, /is i16: only the input or a conv or add output, read by convs, adds and global average pools only/],
    ['an i16 activation with a zero point', (m: Model) => m.quant!.set('fire2.sq', { ...m.quant!.get('fire2.sq')!, zeroPoint: 3 }), /zero point must be 0/],
    ['float weights in an int8 model', (m: Model) => {
      const conv = m.ops.find((o) => o.op === 'conv') as ConvOp;
      const w = m.tensors.get(conv.weight)!;
      m.tensors.set(conv.weight, { dtype: 'f32', shape: w.shape, data: Float32Array.from(w.data) });
    }, /is f32, expected i8/],
  ])('rejects %s with E_MODEL_QUANT / E_MODEL_TENSOR', (_what, edit, message) => {
    let error: unknown;
    try {
      readModel(editInt8(edit));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ModelFormatError);
    expect(['E_MODEL_QUANT', 'E_MODEL_TENSOR']).toContain((error as ModelFormatError).code);
    expect((error as Error).message).toMatch(message);
  });

  it('writeModel refuses to write an invalid int8 model', () => {
    const m = readModel(int8File);
    (m.ops.find((o) => o.op === 'conv') as ConvOp).shift = 0;
    expect(() => writeModel(m)).toThrow(ModelFormatError);
  });
});

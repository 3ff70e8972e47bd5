import { describe, expect, it } from 'vitest';
import { LimitError, ModelFormatError } from '../../src/errors.js';
import { crc32 } from '../../src/model/crc32.js';
import { readModel } from '../../src/model/read.js';
import { encodeModel, writeModel } from '../../src/model/write.js';
import { FORMAT_VERSION, type ConvOp, type Model, type Tensor } from '../../src/model/format.js';
import { randomFireNet, randomInt8Net } from '../helpers/random-net.js';
import { rng } from '../helpers/wasm.js';
import { expectLimitError, expectSqueezeError, thrown } from '../helpers/errors.js';

const model = randomFireNet(rng(5), { softmax: true });
const file = writeModel(model);

/** Re-computes the checksum so a test can reach the checks behind it. */
function seal(bytes: Uint8Array): Uint8Array {
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(12, crc32(bytes.subarray(16)), true);
  return bytes;
}

/** The JSON header of a model file. */
function headerOf(bytes: Uint8Array): Record<string, any> {
  const len = new DataView(bytes.buffer, bytes.byteOffset).getUint32(16, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(32, 32 + len)));
}

/** Rewrites the JSON header (same length, so offsets stay valid) and re-seals. */
function editHeader(edit: (h: Record<string, any>) => void, source = file): Uint8Array {
  const bytes = source.slice();
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
  expectSqueezeError(thrown(() => readModel(bytes)), ModelFormatError, code, message);
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

  it('reads a file handed over as a Node Buffer, or at an offset into a larger buffer', () => {
    const padded = new Uint8Array(file.length + 24);
    padded.set(file, 8);
    for (const bytes of [Buffer.from(file), padded.subarray(8, 8 + file.length)]) {
      const back = readModel(bytes);
      for (const [name, t] of model.tensors) expect(back.tensors.get(name)!.data).toEqual(t.data);
    }
  });

  it('aligns every tensor blob to 64 bytes', () => {
    for (const t of headerOf(file).tensors) expect(t.offset % 64).toBe(0);
  });

  it('marks a file whose tensors are all dense as version 1, which older readers read', () => {
    expect(new DataView(file.buffer).getUint32(4, true)).toBe(1);
    expect(headerOf(file).tensors.every((t: Record<string, unknown>) => !('encoding' in t))).toBe(true);
  });

  it('rejects truncated files at every kind of boundary', () => {
    for (const n of [0, 3, 31, 32, 100, file.length - 1]) rejects(file.subarray(0, n), 'E_MODEL_TRUNCATED', /truncated/);
  });

  it('rejects a wrong magic and other versions, with an upgrade hint for newer ones', () => {
    const magic = file.slice();
    magic[0] = 0x50;
    rejects(magic, 'E_MODEL_MAGIC', /not a squeezewasm model/);
    const newer = file.slice();
    new DataView(newer.buffer).setUint32(4, FORMAT_VERSION + 1, true);
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

  it('rejects dead branches, and preprocessing that cannot fit or overflows', () => {
    const dead: Model = { ...model, ops: [...model.ops.slice(0, 3), { op: 'relu', input: model.ops[2].output, output: 'unread' }, ...model.ops.slice(3)] };
    rejects(encodeModel(dead), 'E_MODEL_GRAPH', /"unread": its output is never read/);
    rejects(editHeader((h) => (h.input.resizeShorter = Math.max(h.input.height, h.input.width) - 1)), 'E_MODEL_HEADER', /resizeShorter must be at least/);
    rejects(editHeader((h) => (h.input.std = [1e-320, 1, 1])), 'E_MODEL_HEADER', /must be finite/);
    rejects(editHeader((h) => (h.input.divisor = 1e-310)), 'E_MODEL_HEADER', /must be finite/);
  });

  it('refuses files over the size limit before looking at them', () => {
    expect(() => readModel(file, { maxFileBytes: 1000 })).toThrow(LimitError);
  });
});

describe('sparse tensors in a model file', () => {
  const r = rng(21);
  /** Odd-sized extra tensors (a file may hold tensors no op reads) with the given share of nonzeros. */
  const extra = (dtype: Tensor['dtype'], shape: number[], density: number): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = Array.from({ length: n }, () => (r() < density ? 1 + Math.floor(r() * 100) : 0));
    const data = dtype === 'f32' ? Float32Array.from(values, (v) => v / 7) : dtype === 'i8' ? Int8Array.from(values) : Int32Array.from(values);
    return { dtype, shape, data } as Tensor;
  };
  const sparseModel: Model = {
    ...model,
    tensors: new Map([
      ...model.tensors,
      ['pruned.f32', extra('f32', [5, 7, 9, 11], 0.3)],
      ['pruned.i8', extra('i8', [3, 5, 7, 11], 0.2)],
      ['zeros.i32', extra('i32', [1001], 0)],
      ['full.f32', extra('f32', [1001], 1)],
      ['mostly.i8', extra('i8', [1001], 0.95)],
    ]),
  };
  const sparseFile = writeModel(sparseModel);
  const encodingOf = (name: string): string | undefined => headerOf(sparseFile).tensors.find((t: Record<string, unknown>) => t.name === name).encoding;

  /** `sparseFile` with the tensor table entry of `name` edited, or its blob (from the entry's offset) edited, re-sealed. */
  function editSparse(name: string, edit: { entry?: (e: Record<string, any>) => void; blob?: (b: Uint8Array) => void }): Uint8Array {
    const edited = editHeader((h) => edit.entry?.(h.tensors.find((t: Record<string, unknown>) => t.name === name)), sparseFile);
    const at = headerOf(sparseFile).tensors.find((t: Record<string, unknown>) => t.name === name).offset;
    edit.blob?.(edited.subarray(at));
    return seal(edited);
  }

  it('stores a tensor as a bitmask exactly when that makes the file smaller, and marks the file version 2', () => {
    expect(new DataView(sparseFile.buffer).getUint32(4, true)).toBe(2);
    expect(encodingOf('pruned.f32')).toBe('bitmask');
    expect(encodingOf('pruned.i8')).toBe('bitmask');
    expect(encodingOf('zeros.i32')).toBe('bitmask');
    expect(encodingOf('full.f32')).toBeUndefined();
    expect(encodingOf('mostly.i8')).toBeUndefined();
    // The network's own random tensors have no zeros: dense.
    for (const name of model.tensors.keys()) expect(encodingOf(name)).toBeUndefined();
    const entry = headerOf(sparseFile).tensors.find((t: Record<string, unknown>) => t.name === 'pruned.f32');
    const stored = Array.from(sparseModel.tensors.get('pruned.f32')!.data).filter((v) => v !== 0).length;
    expect(entry.length).toBe(Math.ceil(3465 / 8) + 4 * stored);
  });

  it('round-trips: read(write(model)) has the same tensor bits, and writing it again gives the same file', () => {
    const back = readModel(sparseFile);
    expect([...back.tensors.keys()]).toEqual([...sparseModel.tensors.keys()]);
    for (const [name, t] of sparseModel.tensors) {
      const got = back.tensors.get(name)!;
      expect(got.dtype).toBe(t.dtype);
      expect(got.shape).toEqual(t.shape);
      expect(got.data).toEqual(t.data);
    }
    expect(writeModel(back)).toEqual(sparseFile);
  });

  it('rejects a truncated or corrupted sparse file through its length and checksum', () => {
    const at = headerOf(sparseFile).tensors.find((t: Record<string, unknown>) => t.name === 'pruned.i8').offset;
    rejects(sparseFile.subarray(0, at + 10), 'E_MODEL_TRUNCATED', /truncated/);
    const bad = sparseFile.slice();
    bad[at + 3] ^= 0x01;
    rejects(bad, 'E_MODEL_CHECKSUM', /checksum/);
  });

  it.each([
    ['a flipped mask bit', { blob: (b: Uint8Array) => void (b[3] ^= 0x01) }, /marks \d+ stored elements but the blob holds \d+/],
    ['a length one value short', { entry: (e: Record<string, any>) => void (e.length -= 1) }, /marks \d+ stored elements but the blob holds \d+/],
    ['a length shorter than the mask', { entry: (e: Record<string, any>) => void (e.length = 10) }, /not a 145-byte bitmask of 1155 elements/],
    ['a mask bit past the last element', { blob: (b: Uint8Array) => void (b[144] |= 0x80) }, /past the tensor's 1155/],
    ['an unknown encoding', { entry: (e: Record<string, any>) => void (e.encoding = 'rle') }, /unknown encoding "rle"/],
  ])('rejects %s with E_MODEL_ENCODING', (_what, edit, message) => {
    rejects(editSparse('pruned.i8', edit), 'E_MODEL_ENCODING', message);
  });

  it('rejects a sparse blob that would reach past the file with E_MODEL_RANGE', () => {
    rejects(editSparse('zeros.i32', { entry: (e) => (e.length = sparseFile.length) }), 'E_MODEL_RANGE', /outside the data section/);
  });

  it('rejects an encoding in a version 1 file', () => {
    const v1 = sparseFile.slice();
    new DataView(v1.buffer).setUint32(4, 1, true);
    rejects(seal(v1), 'E_MODEL_ENCODING', /needs format version 2, but the file is version 1/);
  });

  it('checks what the tensors decode to against maxTensorBytes before decoding any', () => {
    // A 126-byte all-zero mask declared as 16 Mi i32 elements would decode to 64 MiB on its own.
    const huge = editSparse('zeros.i32', { entry: (e) => (e.shape = [16384, 1024]) });
    expectLimitError(thrown(() => readModel(huge)), 'maxTensorBytes');
    expect(() => readModel(sparseFile, { maxTensorBytes: 1000 })).toThrow(/decode to \d+ bytes, more than the limit of 1000/);
  });
});

describe('int8 model file', () => {
  const int8 = randomInt8Net(rng(9), { i16Input: true, i16: true });
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
    ['a zero point out of range', (m: Model) => {
      // What the average pool reads is the net's one u8 activation group.
      const x = m.ops.find((o) => o.op === 'avgpool')!.input;
      m.quant!.set(x, { ...m.quant!.get(x)!, zeroPoint: 256 });
    }, /zero point must be an integer in 0..255/],
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
    ['an i16 activation that an average pool reads', (m: Model) => {
      const pool = m.ops.find((o) => o.op === 'avgpool')!;
      m.quant!.set(pool.input, { scale: 0.01, zeroPoint: 0, dtype: 'i16' });
    }, /is i16, but an average pool reads it/],
    ['an i16 activation with a zero point', (m: Model) => m.quant!.set('fire2.sq', { ...m.quant!.get('fire2.sq')!, zeroPoint: 3 }), /zero point must be 0/],
    ['float weights in an int8 model', (m: Model) => {
      const conv = m.ops.find((o) => o.op === 'conv') as ConvOp;
      const w = m.tensors.get(conv.weight)!;
      m.tensors.set(conv.weight, { dtype: 'f32', shape: w.shape, data: Float32Array.from(w.data) });
    }, /is f32, expected i8/],
  ])('rejects %s with E_MODEL_QUANT / E_MODEL_TENSOR', (_what, edit, message) => {
    const error = thrown(() => readModel(editInt8(edit)));
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

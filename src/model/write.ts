/**
 * Serialises a {@link Model} into the squeezewasm model file format (docs/model-format.md).
 * @packageDocumentation
 */
import { checkArguments } from '../arguments.js';
import { crc32 } from './crc32.js';
import { BLOB_ALIGN, FIXED_HEADER_BYTES, MAGIC, MIN_FORMAT_VERSION, type Model } from './format.js';
import { readModel, type HeaderJson, type TensorEntryJson } from './read.js';
import { encodeBitmask } from './sparse.js';

const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/**
 * Encodes `model` as a model file. The result is read back through {@link readModel}, which
 * validates it, before it is returned: a written file always passes the reader's checks.
 * @throws ModelFormatError if the model is not valid, ArgumentError if it is not an object with
 *   its tensors (and any quantization) in Maps.
 */
export function writeModel(model: Model): Uint8Array {
  checkArguments('writeModel', { model: [model, 'object'] });
  checkArguments('writeModel', { 'model.tensors': [model.tensors, Map], 'model.quant': [model.quant, Map, 'absent'] });
  const out = encodeModel(model);
  readModel(out);
  return out;
}

/** The lowest version that describes the file: 4 with TFLite rounding, 3 with a u7 activation, 2 with a sparse tensor, else 1. */
function formatVersion(model: Model, entries: TensorEntryJson[]): number {
  if (model.ops.some((op) => 'rounding' in op && op.rounding !== undefined)) return 4;
  if ([...(model.quant?.values() ?? [])].some((q) => q.dtype === 'u7')) return 3;
  return entries.some((e) => e.encoding) ? 2 : MIN_FORMAT_VERSION;
}

/**
 * Encodes `model` without validating it (tests use this to build hostile files). Each tensor is
 * stored as a bitmask when that makes its 64-byte-aligned blob, and so the file, smaller; the file
 * is marked version 1 when every tensor is dense, so older readers still read it.
 */
export function encodeModel(model: Model): Uint8Array {
  const names = [...model.tensors.keys()];
  const entries: TensorEntryJson[] = [];
  const blobs: Uint8Array[] = [];
  // Offsets depend on the header length, which depends on the offsets' digits: lay out the blobs
  // relative to zero first, then shift them all once the header size is known.
  let rel = 0;
  for (const name of names) {
    const t = model.tensors.get(name)!;
    const dense = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    const sparse = encodeBitmask(t.data);
    const bitmask = align(sparse.length, BLOB_ALIGN) < align(dense.length, BLOB_ALIGN);
    const blob = bitmask ? sparse : dense;
    entries.push({ name, dtype: t.dtype, shape: t.shape, offset: rel, length: blob.length, ...(bitmask ? { encoding: 'bitmask' as const } : {}) });
    blobs.push(blob);
    rel = align(rel + blob.length, BLOB_ALIGN);
  }
  const header: HeaderJson = {
    name: model.name,
    precision: model.precision,
    ...(model.quant ? { quant: Object.fromEntries(model.quant) } : {}),
    input: model.input,
    ops: model.ops,
    output: model.output,
    labels: model.labels,
    provenance: model.provenance,
    tensors: entries,
  };
  let dataOffset = 0;
  let json = '';
  for (;;) {
    json = JSON.stringify({ ...header, tensors: entries.map((e) => ({ ...e, offset: e.offset + dataOffset })) });
    const needed = align(FIXED_HEADER_BYTES + new TextEncoder().encode(json).length, BLOB_ALIGN);
    if (needed <= dataOffset) break;
    dataOffset = needed;
  }
  const jsonBytes = new TextEncoder().encode(json);
  const fileLength = dataOffset + rel;
  const out = new Uint8Array(fileLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, formatVersion(model, entries), true);
  view.setUint32(8, fileLength, true);
  view.setUint32(16, jsonBytes.length, true);
  view.setUint32(20, dataOffset, true);
  out.set(jsonBytes, FIXED_HEADER_BYTES);
  entries.forEach((e, i) => out.set(blobs[i], dataOffset + e.offset));
  view.setUint32(12, crc32(out.subarray(16)), true);
  return out;
}

/**
 * The `bitmask` tensor encoding of model format version 2 (docs/model-format.md): a pruned
 * tensor's zeros cost one bit each instead of a whole element. The runtime never sees it: the
 * reader decodes every tensor to its dense form.
 * @packageDocumentation
 */
import { ModelFormatError } from '../errors.js';
import { ELEMENT_BYTES, type DType, type Tensor } from './format.js';

/** Bytes of the bitmask of an `elements`-long tensor. */
export const maskBytes = (elements: number): number => Math.ceil(elements / 8);

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, b) => {
  let n = 0;
  for (let v = b; v; v >>= 1) n += v & 1;
  return n;
});

/**
 * Encodes a tensor's elements as a bitmask blob: bit i (byte i >> 3, bit i & 7, least significant
 * first) is set when element i is not all-zero bits, then those elements in order, little-endian.
 * Zero means all-zero bits, so -0.0 is stored as a value and every tensor round-trips bit for bit.
 */
export function encodeBitmask(data: Tensor['data']): Uint8Array {
  const size = data.BYTES_PER_ELEMENT;
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const mask = new Uint8Array(maskBytes(data.length));
  let stored = 0;
  for (let i = 0; i < data.length; i++) {
    for (let b = i * size; b < (i + 1) * size; b++) {
      if (bytes[b] !== 0) {
        mask[i >> 3] |= 1 << (i & 7);
        stored++;
        break;
      }
    }
  }
  const out = new Uint8Array(mask.length + stored * size);
  out.set(mask);
  let at = mask.length;
  for (let i = 0; i < data.length; i++) {
    if (mask[i >> 3] & (1 << (i & 7))) {
      for (let b = i * size; b < (i + 1) * size; b++) out[at++] = bytes[b];
    }
  }
  return out;
}

/**
 * Decodes a bitmask blob of a tensor of `elements` elements of `dtype` into its dense typed array.
 * The caller has checked that the blob lies inside the file and that `elements` is within limits;
 * this checks the blob itself before allocating the dense array.
 * @param where names the tensor in error messages.
 * @throws ModelFormatError (`E_MODEL_ENCODING`) if the blob length, the bitmask's set bits and the
 * number of stored values disagree, or bits past the last element are set.
 */
export function decodeBitmask(blob: Uint8Array, dtype: DType, elements: number, where: string): Tensor['data'] {
  const size = ELEMENT_BYTES[dtype];
  const maskLength = maskBytes(elements);
  const valueBytes = blob.length - maskLength;
  if (valueBytes < 0 || valueBytes % size !== 0 || valueBytes > elements * size) {
    fail(`${where}: a ${blob.length}-byte blob is not a ${maskLength}-byte bitmask of ${elements} elements followed by whole ${dtype} values`);
  }
  const mask = blob.subarray(0, maskLength);
  if (elements % 8 !== 0 && mask[maskLength - 1] >> (elements % 8) !== 0) {
    fail(`${where}: the bitmask marks elements past the tensor's ${elements}`);
  }
  let set = 0;
  for (const b of mask) set += POPCOUNT[b];
  if (set !== valueBytes / size) fail(`${where}: the bitmask marks ${set} stored elements but the blob holds ${valueBytes / size}`);

  const dense = new Uint8Array(elements * size);
  let at = maskLength;
  for (let byte = 0; byte < maskLength; byte++) {
    const bits = mask[byte];
    if (bits === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (bits & (1 << bit)) {
        const i = byte * 8 + bit;
        for (let b = i * size; b < (i + 1) * size; b++) dense[b] = blob[at++];
      }
    }
  }
  return dtype === 'f32' ? new Float32Array(dense.buffer) : dtype === 'i8' ? new Int8Array(dense.buffer) : new Int32Array(dense.buffer);
}

function fail(message: string): never {
  throw new ModelFormatError('E_MODEL_ENCODING', message);
}

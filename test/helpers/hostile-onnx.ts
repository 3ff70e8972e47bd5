/**
 * Hostile ONNX files of tens of megabytes, built straight into byte arrays (the ProtoWriter of
 * onnx-builder.ts keeps a JS number per byte, too slow and too large at this size). Each is a
 * well-formed protobuf, so it reaches the converter's caps rather than a framing error.
 */
import { concat } from './image-files.js';

/** The varint bytes of a non-negative `n`. */
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 128)) out.push((n % 128) | 0x80);
  out.push(n);
  return out;
}

/** The key byte of a length-delimited field (field numbers below 16). */
export const key = (field: number): number => (field << 3) | 2;

/** A length-delimited field `field` holding `body`. */
export function field(field: number, body: Uint8Array | number[]): Uint8Array {
  return concat([key(field)], varint(body.length), body);
}

/** `pattern` repeated `times` times. */
export function repeat(pattern: number[], times: number): Uint8Array {
  const out = new Uint8Array(pattern.length * times);
  out.set(pattern);
  for (let filled = pattern.length; filled < out.length; filled *= 2) out.copyWithin(filled, 0, Math.min(filled, out.length - filled));
  return out;
}

/** `depth` messages, each the only field (number `field`) of the one around it, the innermost empty. */
export function nested(field: number, depth: number): Uint8Array {
  const lengths = [0];
  for (let i = 1; i < depth; i++) lengths.push(lengths[i - 1] + 1 + varint(lengths[i - 1]).length);
  const out = new Uint8Array(lengths[depth - 1] + 1 + varint(lengths[depth - 1]).length);
  let at = 0;
  for (let i = depth - 1; i >= 0; i--) {
    out[at++] = key(field);
    for (const b of varint(lengths[i])) out[at++] = b;
  }
  return out;
}

/** A ModelProto (IR version 7, opset 13) whose graph holds `graph`. */
export function onnxModel(graph: Uint8Array): Uint8Array {
  return concat([0x08, 7], field(7, graph), field(8, [0x10, 13]));
}

/** ONNX field numbers the hostile files fill. */
export const F = {
  graph: { node: 1, initializer: 5, input: 11 },
  node: { input: 1, opType: 4, attribute: 5 },
  attribute: { name: 1, t: 5, g: 6, ints: 8 },
  tensor: { dims: 1, floatData: 4, int64Data: 7, name: 8 },
  valueInfo: { name: 1, type: 2 },
} as const;

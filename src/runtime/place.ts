/**
 * Placement: where each activation lives in the arena. Buffers whose lifetimes (first writer to
 * last reader) do not overlap share bytes, and a Fire module's concat happens in place: each input
 * that only the concat reads is written straight into its channel slice of the concat's buffer.
 * @packageDocumentation
 */
import type { ActType } from '../model/format.js';
import { readersOf } from '../model/graph.js';
import type { ValidModel } from '../model/validate.js';
import { alignUp } from './memory.js';
import { elemBytes, type Int8Dot, type View } from './types.js';

/** Slack after every buffer: int8 kernels read pairs, so a run of odd length reads one byte past. */
const SLACK = 16;

interface Buffer {
  bytes: number;
  first: number;
  last: number;
  offset: number;
}

/** Where every activation of a model goes. */
export interface Placement {
  /** Bytes of the arena. */
  bytes: number;
  /** The view of activation `name`, given where the arena starts. */
  view(name: string, arena: number): View;
  /** Whether `name` lives inside a concat's buffer (its producer writes it there). */
  inPlace(name: string): boolean;
}

/**
 * Tensors that can live inside a concat's buffer: read by nothing but that one concat (every kernel
 * writes strided output). Returns tensor -> [concat output, channel offset].
 */
function concatAliases(model: ValidModel): Map<string, [string, number]> {
  const readers = readersOf(model.ops);
  const aliases = new Map<string, [string, number]>();
  for (const { op, inputs } of model.checked) {
    if (op.op !== 'concat') continue;
    let offset = 0;
    for (const x of inputs) {
      if (readers.get(x.name)!.length === 1 && x.name !== model.input.name && x.name !== model.output) aliases.set(x.name, [op.output, offset]);
      offset += x.shape.c;
    }
  }
  return aliases;
}

/** Greedy by size (TFLite's arena planner): big buffers first, each at the lowest offset free during its lifetime. */
function placeBuffers(buffers: Buffer[]): number {
  const placed: Buffer[] = [];
  let total = 0;
  for (const b of [...buffers].sort((x, y) => y.bytes - x.bytes)) {
    const busy = placed.filter((o) => o.first <= b.last && b.first <= o.last).sort((x, y) => x.offset - y.offset);
    let offset = 0;
    for (const o of busy) {
      if (offset + b.bytes <= o.offset) break;
      offset = Math.max(offset, o.offset + o.bytes);
    }
    b.offset = offset;
    placed.push(b);
    total = Math.max(total, offset + b.bytes);
  }
  return total;
}

/**
 * The type each activation is stored as: its own, except that on the dot16 kernels u7 activations
 * with zero point 0 are stored as i16. The dot16 kernels widen bytes to int16 before multiplying,
 * so an int16 tensor is read in one step where bytes take two (SqueezeNet 1.1's u7 convs ran up
 * to 1.6x slower as u8), and with zero point 0 both compute the same integer sums: the results
 * are the same bits. Only when no u7 tensor is read by an average pool or an add, which have no
 * int16 kernel or must see both inputs alike, so that every tensor of a quantization group keeps
 * one type.
 */
export function storageTypes(model: ValidModel, int8Dot: Int8Dot): (name: string) => ActType {
  const readers = readersOf(model.ops);
  const u7 = model.checked.map((c) => c.output).filter((a) => a.dtype === 'u7');
  if (model.act(model.input.name).dtype === 'u7') u7.push(model.act(model.input.name));
  const widen = int8Dot === 'dot16' && u7.length > 0 && u7.every((a) => a.quant!.zeroPoint === 0 && !readers.get(a.name)?.some((op) => op.op === 'avgpool' || op.op === 'add'));
  return (name) => {
    const { dtype } = model.act(name);
    return widen && dtype === 'u7' ? 'i16' : dtype;
  };
}

/**
 * Places every activation of `model` but a final softmax's (which runs on the host), with the
 * network's output kept alive to the end, each stored as `stored` says ({@link storageTypes}).
 */
export function placeActivations(model: ValidModel, output: string, stored: (name: string) => ActType): Placement {
  const aliases = concatAliases(model);
  // A tensor's root buffer and channel offset within it (nested concats chain).
  const rootOf = (name: string): [string, number] => {
    const a = aliases.get(name);
    if (!a) return [name, 0];
    const [root, off] = rootOf(a[0]);
    return [root, off + a[1]];
  };
  const buffers = new Map<string, Buffer>();
  const touch = (name: string, step: number): void => {
    const [root] = rootOf(name);
    const s = model.act(root).shape;
    const b = buffers.get(root) ?? { bytes: alignUp(s.c * s.h * s.w * elemBytes(stored(root)) + SLACK), first: step, last: step, offset: 0 };
    b.first = Math.min(b.first, step);
    b.last = Math.max(b.last, step);
    buffers.set(root, b);
  };
  touch(model.input.name, -1);
  model.checked.forEach(({ op, inputs }, i) => {
    if (op.op === 'softmax') return;
    touch(op.output, i);
    for (const x of inputs) touch(x.name, i);
  });
  touch(output, model.ops.length);
  const bytes = placeBuffers([...buffers.values()]);
  const view = (name: string, arena: number): View => {
    const [root, off] = rootOf(name);
    const s = model.act(name).shape;
    const dtype = stored(name);
    const elem = elemBytes(dtype);
    return { ptr: arena + buffers.get(root)!.offset + off * elem, stride: model.act(root).shape.c * elem, elem, dtype, c: s.c, h: s.h, w: s.w };
  };
  return { bytes, view, inPlace: (name) => aliases.has(name) };
}

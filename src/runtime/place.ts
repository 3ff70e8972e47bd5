/**
 * Placement: where each activation lives in the arena. Buffers whose lifetimes (first writer to
 * last reader) do not overlap share bytes, and a Fire module's concat happens in place: each input
 * that only the concat reads is written straight into its channel slice of the concat's buffer.
 * @packageDocumentation
 */
import type { ActType, Op } from '../model/format.js';
import { opInputs, readersOf } from '../model/graph.js';
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
 * The type each activation is stored as: its own, except that narrow activations are stored as
 * i16 where the plan's kernels read i16 faster: u7 and u8 on dot16, u8 on `relaxed` (whose
 * one-plane kernel takes u7 only). The dot16 kernels widen bytes to int16 before multiplying, so
 * an int16 tensor is read in one step where bytes take two (SqueezeNet 1.1's u7 convs ran up to
 * 1.6x slower as u8, its u8 conv1 1.3x), and the same values with the same zero point give the
 * same integer sums: the results are the same bits. Tensors that an op other than a conv passes
 * through (pools, concats, adds) keep one type together, and they widen only if none of them is
 * read by an average pool or an add, which have no int16 kernel or must see both inputs alike, or
 * with a zero point by a global average pool, whose int16 kernel takes none.
 */
export function storageTypes(model: ValidModel, int8Dot: Int8Dot): (name: string) => ActType {
  // TFLite's int8 kernels (its rounding) read and write uint8 only: a model imported from .tflite stays uint8.
  const tflite = model.ops.some((op) => 'rounding' in op && op.rounding === 'tflite');
  const narrow: ActType[] = tflite ? [] : int8Dot === 'dot16' ? ['u7', 'u8'] : int8Dot === 'relaxed' ? ['u8'] : [];
  const readers = readersOf(model.ops);
  const family = new Map<string, string>();
  const root = (name: string): string => {
    const up = family.get(name);
    return up === undefined || up === name ? name : root(up);
  };
  for (const op of model.ops) if (op.op !== 'conv' && op.op !== 'globalavgpool' && op.op !== 'softmax') for (const x of opInputs(op)) family.set(root(x), root(op.output));
  const keeps = new Set<string>();
  for (const name of [model.input.name, ...model.ops.map((op) => op.output)]) {
    const a = model.act(name);
    const blocked = (op: Op): boolean => op.op === 'avgpool' || op.op === 'add' || (op.op === 'globalavgpool' && a.quant!.zeroPoint !== 0);
    const widens = narrow.includes(a.dtype) && !readers.get(name)?.some(blocked);
    if (!widens) keeps.add(root(name));
  }
  return (name) => {
    const { dtype } = model.act(name);
    return narrow.includes(dtype) && !keeps.has(root(name)) ? 'i16' : dtype;
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

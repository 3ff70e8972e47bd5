/**
 * Questions about a model's graph and passes over it, shared by validation, the converters, the
 * quantizer and transfer learning. Nothing here checks a model: see {@link validateModel}.
 * @packageDocumentation
 */
import { QUANT_RANGE, type ActShape, type ConvOp, type Model, type Op, type QuantParams, type Tensor } from './format.js';

/** Names of the tensors an op reads. */
export function opInputs(op: Op): string[] {
  return op.op === 'concat' || op.op === 'add' ? op.inputs : [op.input];
}

/** The ops that read each tensor, in execution order. */
export function readersOf(ops: readonly Op[]): Map<string, Op[]> {
  const readers = new Map<string, Op[]>();
  for (const op of ops) for (const x of opInputs(op)) readers.set(x, [...(readers.get(x) ?? []), op]);
  return readers;
}

/** Whether `name` is read, and only by convs. */
export function readOnlyByConvs(readers: ReadonlyMap<string, Op[]>, name: string): boolean {
  const ops = readers.get(name) ?? [];
  return ops.length > 0 && ops.every((op) => op.op === 'conv');
}

/** Whether `name` is read, and only by ops with int16 kernels: all but the (uint8) average pool. */
export function readByI16Kernels(readers: ReadonlyMap<string, Op[]>, name: string): boolean {
  const ops = readers.get(name) ?? [];
  return ops.length > 0 && ops.every((op) => op.op !== 'avgpool');
}

/** Largest |q - zeroPoint| a quantized activation can hold: the factor in every accumulator bound. */
export function maxAbsQuantized(q: QuantParams): number {
  // Signed types have zero point 0; for unsigned ones q and the zero point share the range.
  const [lo, hi] = QUANT_RANGE[q.dtype];
  return lo < 0 ? hi : hi - lo;
}

/**
 * Multiply-accumulates of a convolution from `x` to `y`, counted as the direct convolution: what
 * the planner reports for every conv step and `squeezewasm info` for every layer, whichever kernel
 * runs it (Winograd multiplies less for the same result).
 */
export function convMacs(op: ConvOp, x: ActShape, y: ActShape): number {
  return y.c * y.h * y.w * x.c * op.kernel[0] * op.kernel[1];
}

/**
 * Output length of a sliding window along one axis. With `ceil`, a last partial window is kept
 * unless it would start inside the trailing padding (the PyTorch / onnxruntime rule).
 */
export function windowOutputSize(size: number, kernel: number, stride: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = size + padBegin + padEnd - kernel;
  if (span < 0) return 0;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + padBegin) out--;
  return out;
}

/** The ops that `tensor` depends on, in their order: everything after it, and every branch it does not need, is dropped. */
export function opsComputing(ops: readonly Op[], tensor: string): Op[] {
  const needed = new Set([tensor]);
  const kept: Op[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    if (!needed.has(ops[i].output)) continue;
    kept.push(ops[i]);
    for (const x of opInputs(ops[i])) needed.add(x);
  }
  return kept.reverse();
}

/**
 * Fuses each Relu into the conv or add before it when nothing else reads that op's output and it
 * is not the network's `output`. The fused op takes the Relu's output name: the pre-activation
 * tensor no longer exists. Changes `ops` in place (a converter's own list, before validation).
 */
export function fuseRelus(ops: Op[], output: string): Op[] {
  const reads = new Map<string, number>();
  for (const op of ops) for (const name of opInputs(op)) reads.set(name, (reads.get(name) ?? 0) + 1);
  const producers = new Map(ops.map((op) => [op.output, op]));
  return ops.filter((op) => {
    if (op.op !== 'relu') return true;
    const producer = producers.get(op.input);
    if ((producer?.op !== 'conv' && producer?.op !== 'add') || producer.relu || reads.get(producer.output) !== 1 || producer.output === output) return true;
    producer.relu = true;
    producer.output = op.output;
    return false;
  });
}

/** The constants `ops` refer to, taken from `model`. */
export function tensorsOf(model: Model, ops: readonly Op[]): Map<string, Tensor> {
  const tensors = new Map<string, Tensor>();
  for (const op of ops) {
    if (op.op !== 'conv') continue;
    for (const name of [op.weight, op.bias, op.weightScale, op.multiplier]) if (name !== undefined) tensors.set(name, model.tensors.get(name)!);
  }
  return tensors;
}

/** Every activation and constant name in `ops` and `tensors`, and the input's. */
export function namesIn(model: Model, ops: readonly Op[], tensors: ReadonlyMap<string, Tensor>): Set<string> {
  return new Set([model.input.name, ...ops.flatMap((op) => [op.output, ...opInputs(op)]), ...tensors.keys()]);
}

/** `base`, or `base` with a numeric suffix, whichever is not among `taken`. */
export function freshName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}_${i}`;
  return name;
}

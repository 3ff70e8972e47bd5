/**
 * The planner: runs once per model. It gives every activation a place in one arena inside the
 * wasm memory (buffers whose lifetimes do not overlap share bytes), lets Fire's concat happen in
 * place (each expand conv writes its channel slice of the concat buffer), packs the weights into
 * the layouts the kernels want, builds indirection buffers, and returns a list of steps that the
 * runner calls in order. Nothing is allocated after this.
 * @packageDocumentation
 */
import type { ConvOp, Model, Op } from '../model/format.js';
import { inferShapes } from '../model/graph.js';
import { ensureMemory, type KernelExports } from '../wasm/kernels.js';

/** An activation in wasm memory: NHWC float32, `stride` bytes from one pixel to the next. */
export interface View {
  ptr: number;
  stride: number;
  c: number;
  h: number;
  w: number;
}

/** One call of a kernel, with everything bound. */
export interface Step {
  /** The op's output tensor name, for per-layer reports. */
  name: string;
  op: Op['op'];
  /** Multiply-accumulates this step performs (0 for data movement). */
  macs: number;
  run(): void;
}

/** A model laid out in one kernels instance, ready to run. */
export interface Plan {
  kernels: KernelExports;
  /** Where the preprocessed image goes: NHWC float32, contiguous. */
  input: View;
  /** The network's final activation before any softmax op: `c` floats. */
  output: View;
  /** True when the network itself ends in softmax, so `output` holds its input (logits). */
  endsInSoftmax: boolean;
  steps: Step[];
  /** Bytes of wasm memory the plan uses: arena, packed weights and indirection. */
  memoryBytes: number;
  arenaBytes: number;
}

/** Which kernel variant to bind: the SIMD kernels, or their scalar references (for tests). */
export type KernelVariant = 'simd' | 'ref';

const ALIGN = 64;
const alignUp = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;
const F32 = 4;
const MR = 4;
const NR = 8;

interface Buffer {
  bytes: number;
  first: number;
  last: number;
  offset: number;
}

/**
 * Tensors that can live inside a concat's buffer: produced by a kernel that writes strided output,
 * read by nothing but that one concat. Returns tensor -> [concat output, channel offset].
 */
function concatAliases(model: Model): Map<string, [string, number]> {
  const readers = new Map<string, number>();
  for (const op of model.ops) for (const x of opInputs(op)) readers.set(x, (readers.get(x) ?? 0) + 1);
  const shapes = inferShapes(model);
  const aliases = new Map<string, [string, number]>();
  for (const op of model.ops) {
    if (op.op !== 'concat') continue;
    let offset = 0;
    for (const x of op.inputs) {
      if (readers.get(x) === 1 && x !== model.input.name && x !== model.output) aliases.set(x, [op.output, offset]);
      offset += shapes.get(x)!.c;
    }
  }
  return aliases;
}

function opInputs(op: Op): string[] {
  return op.op === 'concat' ? op.inputs : [op.input];
}

/** Bump allocator for constants (packed weights, indirection) above the arena. */
class ConstantArea {
  top: number;
  constructor(start: number) {
    this.top = start;
  }
  take(bytes: number): number {
    const p = this.top;
    this.top = alignUp(p + bytes);
    return p;
  }
}

/**
 * Lays `model` out in the memory of `kernels` and binds every step.
 * @param variant 'ref' binds the scalar reference kernels instead of SIMD (used by tests).
 */
export function planModel(model: Model, kernels: KernelExports, variant: KernelVariant = 'simd'): Plan {
  const shapes = inferShapes(model);
  const aliases = concatAliases(model);
  const last = model.ops[model.ops.length - 1];
  const endsInSoftmax = last.op === 'softmax';
  const outputName = endsInSoftmax ? last.input : model.output;

  // Resolve every tensor to a root buffer and a channel offset within it (nested concats chain).
  const rootOf = (name: string): [string, number] => {
    const a = aliases.get(name);
    if (!a) return [name, 0];
    const [root, off] = rootOf(a[0]);
    return [root, off + a[1]];
  };

  const buffers = new Map<string, Buffer>();
  const touch = (name: string, step: number): void => {
    const [root] = rootOf(name);
    const s = shapes.get(root)!;
    const b = buffers.get(root) ?? { bytes: alignUp(s.c * s.h * s.w * F32), first: step, last: step, offset: 0 };
    b.first = Math.min(b.first, step);
    b.last = Math.max(b.last, step);
    buffers.set(root, b);
  };
  touch(model.input.name, -1);
  model.ops.forEach((op, i) => {
    if (op.op === 'softmax') return;
    touch(op.output, i);
    for (const x of opInputs(op)) touch(x, i);
  });
  touch(outputName, model.ops.length);

  // Greedy by size (TFLite's arena planner): big buffers first, each at the lowest offset that no
  // live-at-the-same-time buffer already occupies.
  const placed: Buffer[] = [];
  let arenaBytes = 0;
  for (const b of [...buffers.values()].sort((x, y) => y.bytes - x.bytes)) {
    const busy = placed.filter((o) => o.first <= b.last && b.first <= o.last).sort((x, y) => x.offset - y.offset);
    let offset = 0;
    for (const o of busy) {
      if (offset + b.bytes <= o.offset) break;
      offset = Math.max(offset, o.offset + o.bytes);
    }
    b.offset = offset;
    placed.push(b);
    arenaBytes = Math.max(arenaBytes, offset + b.bytes);
  }

  const arena = kernels.heap_base();
  const view = (name: string): View => {
    const [root, off] = rootOf(name);
    const rs = shapes.get(root)!;
    const s = shapes.get(name)!;
    return { ptr: arena + buffers.get(root)!.offset + off * F32, stride: rs.c * F32, c: s.c, h: s.h, w: s.w };
  };

  const constants = new ConstantArea(arena + arenaBytes);
  // Padding taps read this; it is never written, and it is as long as the longest K any conv reads.
  let zeroLength = 0;
  for (const op of model.ops) if (op.op === 'conv') zeroLength = Math.max(zeroLength, shapes.get(op.input)!.c);
  const zeros = constants.take(zeroLength * F32);

  const k = kernels;
  const steps: Step[] = [];
  const fills: Array<() => void> = [];
  model.ops.forEach((op) => {
    if (op.op === 'softmax') return;
    const out = view(op.output);
    switch (op.op) {
      case 'conv': {
        const conv = planConv(op, view(op.input), out, model, kernels.memory, constants, zeros, fills);
        const igemm = variant === 'simd' ? k.f32_igemm_4x8_simd : k.f32_igemm_ref;
        const { M, N, taps, K, ind, w } = conv;
        steps.push({ name: op.output, op: op.op, macs: conv.macs, run: () => igemm(M, N, taps, K, ind, w, out.ptr, out.stride, op.relu ? 1 : 0) });
        break;
      }
      case 'maxpool':
      case 'avgpool': {
        const x = view(op.input);
        const args = [x.ptr, x.h, x.w, x.c, x.stride, out.ptr, out.h, out.w, out.stride, ...op.kernel, ...op.stride, op.pads[0], op.pads[1]] as const;
        if (op.op === 'maxpool') {
          const f = variant === 'simd' ? k.f32_maxpool_simd : k.f32_maxpool_ref;
          steps.push({ name: op.output, op: op.op, macs: 0, run: () => f(...args) });
        } else {
          const f = variant === 'simd' ? k.f32_avgpool_simd : k.f32_avgpool_ref;
          const all = [...args, op.pads[2], op.pads[3], op.countIncludePad ? 1 : 0] as const;
          steps.push({ name: op.output, op: op.op, macs: 0, run: () => f(...all) });
        }
        break;
      }
      case 'globalavgpool': {
        const x = view(op.input);
        const f = variant === 'simd' ? k.f32_global_avgpool_simd : k.f32_global_avgpool_ref;
        steps.push({ name: op.output, op: op.op, macs: 0, run: () => f(x.ptr, x.h * x.w, x.c, x.stride, out.ptr) });
        break;
      }
      case 'relu':
      case 'concat': {
        const copy = variant === 'simd' ? k.f32_copy_simd : k.f32_copy_ref;
        const relu = op.op === 'relu' ? 1 : 0;
        let offset = 0;
        for (const name of opInputs(op)) {
          const x = view(name);
          const dst = out.ptr + offset * F32;
          offset += x.c;
          if (op.op === 'concat' && aliases.has(name)) continue;
          steps.push({ name: op.output, op: op.op, macs: 0, run: () => copy(x.ptr, x.h * x.w, x.c, x.stride, dst, out.stride, relu) });
        }
        break;
      }
    }
  });

  // Packing waits until here: growing memory detaches earlier views of it.
  ensureMemory(kernels.memory, constants.top);
  new Float32Array(kernels.memory.buffer, zeros, zeroLength).fill(0);
  for (const fill of fills) fill();

  return {
    kernels,
    input: view(model.input.name),
    output: view(outputName),
    endsInSoftmax,
    steps,
    memoryBytes: constants.top - arena,
    arenaBytes,
  };
}

interface PlannedConv {
  M: number;
  N: number;
  taps: number;
  K: number;
  ind: number;
  w: number;
  macs: number;
}

/**
 * Packs one conv's weights and builds its indirection buffer (filled later, once memory has its
 * final size). When no window ever hangs over the left or right edge and input pixels are
 * contiguous, the kw taps of a kernel row are one run of kw*C floats: fewer, longer taps.
 */
function planConv(
  op: ConvOp, x: View, y: View, model: Model, memory: WebAssembly.Memory,
  constants: ConstantArea, zeros: number, fills: Array<() => void>,
): PlannedConv {
  const [kh, kw] = op.kernel;
  const [sh, sw] = op.stride;
  const [pt, pl, , pr] = op.pads;
  const mergeRows = pl === 0 && pr === 0 && x.stride === x.c * F32;
  const taps = mergeRows ? kh : kh * kw;
  const K = mergeRows ? kw * x.c : x.c;
  const M = y.h * y.w;
  const N = y.c;
  const blocks = Math.ceil(N / NR);
  const blockFloats = NR + taps * K * NR;
  const w = constants.take(blocks * blockFloats * F32);
  const rowBlocks = Math.ceil(M / MR);
  const ind = constants.take(rowBlocks * taps * MR * 4);

  const weight = model.tensors.get(op.weight)!.data as Float32Array;
  const bias = op.bias === undefined ? undefined : (model.tensors.get(op.bias)!.data as Float32Array);
  const C = x.c;
  fills.push(() => {
    const packed = new Float32Array(memory.buffer, w, blocks * blockFloats);
    packed.fill(0);
    for (let n = 0; n < N; n++) {
      const base = Math.floor(n / NR) * blockFloats;
      const lane = n % NR;
      if (bias) packed[base + lane] = bias[n];
      for (let ky = 0; ky < kh; ky++) {
        for (let kx = 0; kx < kw; kx++) {
          const t = mergeRows ? ky : ky * kw + kx;
          for (let c = 0; c < C; c++) {
            const kk = mergeRows ? kx * C + c : c;
            packed[base + NR + (t * K + kk) * NR + lane] = weight[((n * C + c) * kh + ky) * kw + kx];
          }
        }
      }
    }
    const pointers = new Uint32Array(memory.buffer, ind, rowBlocks * taps * MR);
    for (let p = 0; p < rowBlocks * MR; p++) {
      const q = Math.min(p, M - 1);
      const oy = Math.floor(q / y.w);
      const ox = q % y.w;
      for (let t = 0; t < taps; t++) {
        const ky = mergeRows ? t : Math.floor(t / kw);
        const kx = mergeRows ? 0 : t % kw;
        const iy = oy * sh - pt + ky;
        const ix = ox * sw - pl + kx;
        const inside = iy >= 0 && iy < x.h && ix >= 0 && ix < x.w;
        pointers[(Math.floor(p / MR) * taps + t) * MR + (p % MR)] = inside ? x.ptr + (iy * x.w + ix) * x.stride : zeros;
      }
    }
  });
  return { M, N, taps, K, ind, w, macs: M * N * kh * kw * C };
}

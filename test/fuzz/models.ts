/**
 * A seeded fuzzer for model files. Most edits are structure-aware: they change the JSON header or
 * the data and then rebuild a file with the right length and checksum, so they reach the checks
 * behind the checksum instead of all stopping at it. A file that is accepted must then classify
 * correctly: its SIMD result is compared with the scalar reference kernels on the same file.
 */
import { readFileSync } from 'node:fs';
import { Classifier, type Pixels } from '../../src/classifier.js';
import { ModelFormatError } from '../../src/errors.js';
import { crc32 } from '../../src/model/crc32.js';
import { BLOB_ALIGN, FIXED_HEADER_BYTES, MAGIC, type Model } from '../../src/model/format.js';
import { summarizeModel } from '../../src/model/summary.js';
import { writeModel } from '../../src/model/write.js';
import { printableJson } from '../../src/text.js';
import { mulberry32 } from '../../src/random.js';
import { randomFireNet, randomInt8Net, randomResidualNet } from '../helpers/random-net.js';
import { Tally, type FuzzReport } from './harness.js';

type Rng = () => number;
// Hostile headers can be any shape.
type Json = any;

/**
 * Tighter than the defaults so that every accepted case also runs on the scalar reference kernels
 * in milliseconds. The limits themselves are exercised all the same: edits that blow up the input
 * size or the channel counts hit them.
 */
const FUZZ_LIMITS = { maxMacs: 2e8, maxMemoryBytes: 64 * 2 ** 20 };
/** Above this much work an accepted case is checked for finite output only: the scalar kernels would take seconds. */
const REF_MAX_WORK = 2e7;

/** A valid model file the fuzzer starts from, taken apart so edits can rebuild it. */
interface Base {
  name: string;
  bytes: Uint8Array;
  header: Json;
  dataOffset: number;
}

function baseOf(name: string, bytes: Uint8Array): Base {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(16, true);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED_HEADER_BYTES, FIXED_HEADER_BYTES + headerLength)));
  return { name, bytes, header, dataOffset: view.getUint32(20, true) };
}

/** Small networks of every kind the format holds: f32 and int8, u8 and i16 inputs, DAGs with adds, sparse (format v2) tensors. */
function smallBases(seed: number): Base[] {
  const r = mulberry32(seed);
  const sparse = (): Model => {
    const m = randomFireNet(r);
    for (const t of m.tensors.values()) if (t.shape.length === 4) t.data.forEach((_, i, a) => void (r() < 0.8 && (a[i] = 0)));
    return m;
  };
  const kinds: [string, () => Model][] = [
    ['fire-f32', () => randomFireNet(r, { softmax: true })],
    ['fire-int8', () => randomInt8Net(r, { i16Input: false })],
    ['fire-int8-i16', () => randomInt8Net(r, { i16Input: true, i16: true })],
    ['residual-f32', () => randomResidualNet(r)],
    ['residual-int8', () => randomInt8Net(r, { i16Input: true, model: randomResidualNet(r) })],
    ['fire-sparse-f32', sparse],
  ];
  return kinds.map(([name, make]) => {
    // A random int8 net can quantize to weights whose sum could overflow its accumulator: draw again.
    for (;;) {
      try {
        return baseOf(name, writeModel(make()));
      } catch (e) {
        if (!(e instanceof ModelFormatError)) throw e;
      }
    }
  });
}

/** A string value assemble() replaces with arrays nested as deep as the number after it. */
const DEEP = '\u0000deep:';

const align = (n: number): number => Math.ceil(n / BLOB_ALIGN) * BLOB_ALIGN;

/**
 * A file from an edited header and the base's data section. The data moves if the header grew;
 * numeric tensor offsets move with it, so an edited offset keeps pointing where the edit meant.
 */
function assemble(base: Base, header: Json): Uint8Array {
  const offsets: unknown[] = Array.isArray(header?.tensors) ? header.tensors.map((t: Json) => t?.offset) : [];
  let dataOffset = base.dataOffset;
  let json: Uint8Array;
  for (;;) {
    offsets.forEach((o, i) => typeof o === 'number' && (header.tensors[i].offset = o + dataOffset - base.dataOffset));
    json = new TextEncoder().encode(JSON.stringify(header).replace(/"\\u0000deep:(\d+)"/g, (_, d) => '['.repeat(Number(d)) + ']'.repeat(Number(d))));
    const needed = align(FIXED_HEADER_BYTES + json.length);
    if (needed <= dataOffset) break;
    dataOffset = needed; // offsets with more digits may need more room: go round again
  }
  const data = base.bytes.subarray(base.dataOffset);
  const out = new Uint8Array(dataOffset + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, base.bytes[4], true);
  view.setUint32(16, json.length, true);
  view.setUint32(20, dataOffset, true);
  out.fill(0x20, FIXED_HEADER_BYTES, dataOffset);
  out.set(json, FIXED_HEADER_BYTES);
  out.set(data, dataOffset);
  return seal(out);
}

/** Re-computes the checksum (and, if it fits, the length field) of an edited file. */
function seal(bytes: Uint8Array): Uint8Array {
  if (bytes.length < FIXED_HEADER_BYTES) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(8, bytes.length, true);
  view.setUint32(12, crc32(bytes.subarray(16)), true);
  return bytes;
}

const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));

/** Values a hostile header might hold anywhere. */
function hostileValue(r: Rng, header: Json): unknown {
  const names = [...(header.ops ?? []).map((o: Json) => o?.output), ...(header.tensors ?? []).map((t: Json) => t?.name)];
  return pick(r, [
    () => pick(r, [0, -1, 1, 2, 3, 7, 8, 15, 16, 62, 63, 64, 255, 256, 4095, 16384, 16385, 0.5, -0.5, 1e-300, 1e9, 2 ** 31, 2 ** 32, 2 ** 53, 1e308, -1e308]),
    () => pick(r, [null, true, false, '', 'x', 'conv', 'add', 'softmax', 'i8', 'f32', 'i32', 'u8', 'i16', 'bitmask', 'RGB', 'data', 'Infinity', 'NaN']),
    () => pick(r, [[], [0], [1, 1], [3, 3], [16384, 16384], [1e9, 1], [0, 0, 0, 0], [64, 64, 64, 64], [1, 2, 3, 4, 5], ['a', 'b'], {}, { a: 1 }]),
    () => pick(r, names.length ? names : ['data']),
    () => 'x'.repeat(int(r, 200, 70000)),
    () => Array.from({ length: int(r, 0, 20) }, () => int(r, -2, 20)),
    () => JSON.parse('['.repeat(500) + ']'.repeat(500)),
  ])();
}

/** Every [container, key] of the header tree (bounded: labels and long arrays are sampled). */
function slots(node: Json, out: [Json, string | number][] = [], depth = 0): [Json, string | number][] {
  if (depth > 6 || node === null || typeof node !== 'object') return out;
  const keys = Array.isArray(node) ? node.map((_, i) => i).filter((i) => node.length < 64 || i < 8 || i % 97 === 0) : Object.keys(node);
  for (const k of keys) {
    out.push([node, k]);
    slots(node[k], out, depth + 1);
  }
  return out;
}

/** Generic tree mutation: replace, delete, duplicate or swap something anywhere in the header. */
function mutateTree(r: Rng, h: Json): string {
  const all = slots(h);
  const [parent, key] = pick(r, all);
  const kind = int(r, 0, 3);
  if (kind === 0 || !Array.isArray(parent)) {
    if (kind === 1 && !Array.isArray(parent)) {
      delete parent[key];
      return `delete ${String(key)}`;
    }
    parent[key] = hostileValue(r, h);
    return `set ${String(key)}`;
  }
  const i = key as number;
  if (kind === 1) parent.splice(i, 1);
  else if (kind === 2) parent.splice(i, 0, structuredClone(parent[i]));
  else {
    const j = int(r, 0, parent.length - 1);
    [parent[i], parent[j]] = [parent[j], parent[i]];
  }
  return `array edit ${kind}`;
}

/** Edits aimed at each check the reader and planner make. Each returns a short description. */
const TARGETED: Record<string, (r: Rng, h: Json, base: Base) => string> = {
  shape(r, h) {
    const t = pick(r, h.tensors) as Json;
    t.shape = pick(r, [[], [0], [-1], [1.5], [16384, 16384, 16384, 16384], [2 ** 31], ['3'], null, [1, 2, 3, 4, 5], [...t.shape].reverse(), t.shape.map((d: number) => d * int(r, 2, 40))]);
    return `shape ${t.name}`;
  },
  offset(r, h, base) {
    const t = pick(r, h.tensors) as Json;
    const other = pick(r, h.tensors) as Json;
    t.offset = pick(r, [other.offset, other.offset + BLOB_ALIGN, t.offset + 1, t.offset - BLOB_ALIGN, -BLOB_ALIGN, 0, base.dataOffset - BLOB_ALIGN, base.bytes.length, 2 ** 32, 1.5, '64']);
    return `offset ${t.name}`;
  },
  length(r, h) {
    const t = pick(r, h.tensors) as Json;
    t.length = pick(r, [t.length - 1, t.length + 1, 0, t.length * 2, 2 ** 31, -1, null]);
    return `length ${t.name}`;
  },
  dtype(r, h) {
    const t = pick(r, h.tensors) as Json;
    t.dtype = pick(r, ['f32', 'i8', 'i32', 'u8', 'f16', '', 'constructor', '__proto__', 7]);
    return `dtype ${t.name}`;
  },
  encoding(r, h) {
    const t = pick(r, h.tensors) as Json;
    if (t.encoding) delete t.encoding;
    else t.encoding = pick(r, ['bitmask', 'rle', 'dense', 1]);
    return `encoding ${t.name}`;
  },
  quant(r, h) {
    if (!h.quant) h.quant = { [h.input.name]: { scale: 1, zeroPoint: 0, dtype: 'u8' } };
    const [name, q] = pick(r, Object.entries(h.quant)) as [string, Json];
    const field = pick(r, ['scale', 'zeroPoint', 'dtype']);
    q[field] = {
      scale: pick(r, [0, -1, -0.5, null, 1e-300, 1e300, 'Infinity', q.scale * 2, q.scale / 2]),
      zeroPoint: pick(r, [-1, 256, 1.5, 128, 4096, null]),
      dtype: pick(r, ['i8', 'u8', 'i16', 'i32', 'f32']),
    }[field];
    return `quant ${name}.${field}`;
  },
  requant(r, h) {
    const op = pick(r, h.ops.filter((o: Json) => o.shift !== undefined).concat(h.ops[0])) as Json;
    if (r() < 0.6) op.shift = pick(r, [0, -1, 63, 64, 1.5, null, '8', 62, 1, op.shift - 1, op.shift + 1]);
    else if (op.multipliers) op.multipliers = pick(r, [[0, 0], [-1, 1], [2 ** 31, 1], [op.multipliers[0] * 2, op.multipliers[1]], [1]]);
    else op.multiplier = pick(r, [op.weightScale, op.bias, 'nope', undefined]);
    return `requant ${op.output}`;
  },
  cycle(r, h) {
    const i = int(r, 0, h.ops.length - 1);
    const j = int(r, i, h.ops.length - 1);
    const op = h.ops[i];
    if (Array.isArray(op.inputs)) op.inputs[int(r, 0, op.inputs.length - 1)] = h.ops[j].output;
    else op.input = h.ops[j].output;
    return `op ${i} reads op ${j}`;
  },
  dangling(r, h) {
    const op = pick(r, h.ops) as Json;
    const field = pick(r, ['input', 'weight', 'bias', 'output', 'weightScale']);
    op[field] = pick(r, ['nope', '', h.output, h.input.name, op.output]);
    if (r() < 0.3) h.output = pick(r, ['nope', h.input.name, h.ops[0].output]);
    return `dangling ${field}`;
  },
  ops(r, h) {
    const i = int(r, 0, h.ops.length - 1);
    const kind = int(r, 0, 4);
    if (kind === 0) h.ops.splice(i, 1);
    else if (kind === 1) h.ops.splice(i, 0, structuredClone(h.ops[i]));
    else if (kind === 2) h.ops[i].op = pick(r, ['conv', 'maxpool', 'avgpool', 'globalavgpool', 'concat', 'add', 'relu', 'softmax', 'gemm']);
    else if (kind === 3) h.ops.push(...Array.from({ length: int(r, 1, 5000) }, (_, k) => ({ op: 'relu', input: k ? `r${k - 1}` : h.output, output: `r${k}` })));
    else {
      const j = int(r, 0, h.ops.length - 1);
      [h.ops[i], h.ops[j]] = [h.ops[j], h.ops[i]];
    }
    return `ops edit ${kind} at ${i}`;
  },
  params(r, h) {
    const op = pick(r, h.ops) as Json;
    const field = pick(r, ['kernel', 'stride', 'pads', 'ceil', 'countIncludePad', 'relu', 'max', 'inputs']);
    op[field] = pick(r, [[0, 0], [16, 16], [33, 33], [1, 1], [2, 2], [0, 0, 0, 0], [65, 0, 0, 0], [15, 15, 15, 15], [1], 'yes', 1, -6, 0, 1e308, [], Array(17).fill(op.output)]);
    return `${field} of ${op.output}`;
  },
  input(r, h) {
    const field = pick(r, ['height', 'width', 'resizeShorter', 'divisor', 'mean', 'std', 'channelOrder', 'name']);
    h.input[field] = pick(r, [16384, 16385, 4000, 1500, 600, 300, 1, 0, -1, 1e-30, [1e-30, 1, 1], [0, 0, 0], [1e30, 1, 1], 'BGR', 'RGBA', 'data']);
    if (field === 'height' || field === 'width') h.input.resizeShorter = Math.max(h.input.resizeShorter, h.input.height, h.input.width);
    return `input.${field}`;
  },
  labels(r, h) {
    h.labels = pick(r, [[], h.labels.slice(1), [...h.labels, 'extra'], Array(100001).fill('x'), h.labels.map(() => 7), ['x'.repeat(2000)]]);
    return 'labels';
  },
  chain(r, h) {
    // An op-chain bomb: many cheap ops spliced in after an op with a spatial output, on a bigger input.
    const at = int(r, 0, h.ops.length - 2);
    const from = h.ops[at].output;
    const kinds = h.quant ? ['relu', 'maxpool', 'concat'] : ['relu', 'maxpool', 'concat', 'avgpool', 'add'];
    const kind = pick(r, kinds);
    const n = pick(r, [1, 10, 100, int(r, 1, 400)]);
    const window = { kernel: [3, 3], stride: [1, 1], pads: [1, 1, 1, 1], ceil: false };
    const chain = Array.from({ length: n }, (_, k) => {
      const [input, output] = [k ? `chain${k - 1}` : from, `chain${k}`];
      if (h.quant) h.quant[output] = structuredClone(h.quant[from]);
      return kind === 'relu' ? { op: 'relu', input, output }
        : kind === 'add' ? { op: 'add', inputs: [input, input], output, relu: false }
        : kind === 'concat' ? { op: 'concat', inputs: [input], output }
        : { op: kind, input, output, ...window, ...(kind === 'avgpool' ? { countIncludePad: false } : {}) };
    });
    for (const op of h.ops.slice(at + 1)) {
      if (op.input === from) op.input = `chain${n - 1}`;
      if (Array.isArray(op.inputs)) op.inputs = op.inputs.map((x: string) => (x === from ? `chain${n - 1}` : x));
    }
    h.ops.splice(at + 1, 0, ...chain);
    if (r() < 0.5) h.input.height = h.input.width = h.input.resizeShorter = pick(r, [64, 256, 1024, 4000]);
    return `${n} ${kind} ops after ${from}`;
  },
  names(r, h) {
    // Control characters and escapes in every name a terminal might print.
    const evil = pick(r, ['\n', '\r', '\x1b]0;pwned\x07', '\x1b[2J', '\u009b31m', '\u202e', '\0', '\x7f', '\nsqueezewasm: all good\n']);
    const field = int(r, 0, 3);
    if (field === 0) h.labels[int(r, 0, h.labels.length - 1)] += evil;
    else if (field === 1) h.name = `net${evil}`;
    else if (field === 2) h.provenance = { ...h.provenance, licenseText: `text${evil}`, notes: evil };
    else {
      const op = pick(r, h.ops) as Json;
      const old = op.output;
      op.output = `${old}${evil}`;
      for (const o of h.ops) {
        if (o.input === old) o.input = op.output;
        if (Array.isArray(o.inputs)) o.inputs = o.inputs.map((x: string) => (x === old ? op.output : x));
      }
      if (h.output === old) h.output = op.output;
      if (h.quant?.[old]) h.quant[op.output] = h.quant[old];
    }
    return `control characters in ${['a label', 'the name', 'the licence', 'an op name'][field]}`;
  },
  nesting(r, h) {
    // Metadata nested deep or long: read into known fields only.
    // The nesting is spliced into the text by assemble(): building it as an object would overflow the fuzzer's own stack.
    const depth = pick(r, [100, 5000, 200000]);
    const field = pick(r, ['provenance', 'notes', 'extra']);
    if (field === 'extra') h.provenance = { ...h.provenance, extra: 'x'.repeat(int(r, 1, 1 << 18)) };
    else if (field === 'notes') h.provenance = { ...h.provenance, notes: `${DEEP}${depth}` };
    else h.provenance = `${DEEP}${depth}`;
    return `metadata ${field} nested ${depth}`;
  },
};

/** Byte-level edits of a whole file, some re-sealed to reach past the checksum. */
function mutateBytes(r: Rng, base: Base): [string, Uint8Array] {
  const b = base.bytes;
  const headerEnd = FIXED_HEADER_BYTES + new DataView(b.buffer, b.byteOffset).getUint32(16, true);
  const kind = int(r, 0, 4);
  if (kind === 0) {
    // Truncation at a boundary: each fixed-header field, the JSON end, each blob's start and end, +-1.
    const bounds = [0, 1, 4, 8, 12, 16, 20, 24, 31, 32, headerEnd, base.dataOffset, b.length - 1];
    for (const t of base.header.tensors) bounds.push(t.offset, t.offset + t.length);
    const at = Math.max(0, Math.min(b.length - 1, pick(r, bounds) + int(r, -1, 1)));
    const cut = b.slice(0, at);
    return [`truncate at ${at}`, r() < 0.5 ? seal(cut) : cut];
  }
  if (kind === 1) {
    const out = b.slice();
    const region = pick(r, [[0, FIXED_HEADER_BYTES], [FIXED_HEADER_BYTES, headerEnd], [base.dataOffset, b.length]]);
    const flips = int(r, 1, 8);
    for (let i = 0; i < flips; i++) out[int(r, region[0], region[1] - 1)] ^= 1 << int(r, 0, 7);
    const sealed = r() < 0.85;
    return [`flip ${flips} bits in ${region[0]}..${region[1]}${sealed ? ', sealed' : ''}`, sealed && region[0] >= 16 ? seal(out) : out];
  }
  if (kind === 2) {
    // Data edits: whole float words (NaN, infinity, huge), int8 -128, random bytes.
    const out = b.slice();
    const t = pick(r, base.header.tensors) as Json;
    const view = new DataView(out.buffer);
    for (let i = 0, n = int(r, 1, 16); i < n; i++) {
      const at = t.offset + 4 * int(r, 0, Math.floor(t.length / 4) - 1);
      const v = pick(r, [NaN, Infinity, -Infinity, 3e38, -3e38, 1e-45, 0]);
      if (t.dtype === 'f32') view.setFloat32(at, v, true);
      else if (t.dtype === 'i8') out[at] = pick(r, [0x80, 0x7f, 0x81, 0]);
      else view.setInt32(at, pick(r, [2 ** 31 - 1, -(2 ** 31), 0, 1 << 24]), true);
    }
    return [`data of ${t.name}`, seal(out)];
  }
  if (kind === 3) {
    // Insert or delete bytes somewhere, then re-seal: every later offset is now wrong.
    const at = int(r, 0, b.length - 1);
    const n = int(r, 1, 80);
    const out = r() < 0.5 ? new Uint8Array([...b.subarray(0, at), ...Array.from({ length: n }, () => int(r, 0, 255)), ...b.subarray(at)]) : new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
    return [`splice ${n} at ${at}`, seal(out)];
  }
  // Random bytes, sometimes behind a plausible fixed header.
  const n = int(r, 0, 700);
  const out = Uint8Array.from({ length: n }, () => int(r, 0, 255));
  if (n >= FIXED_HEADER_BYTES && r() < 0.6) {
    out.set(b.subarray(0, 8));
    new DataView(out.buffer).setUint32(16, int(r, 0, n), true);
    new DataView(out.buffer).setUint32(20, pick(r, [64, 128, 0, n]), true);
    seal(out);
  }
  return [`random ${n} bytes`, out];
}

/** One fuzz case on `base`: an id and the hostile file. */
function makeCase(r: Rng, base: Base): [string, Uint8Array] {
  if (r() < 0.35) return mutateBytes(r, base);
  const h = structuredClone(base.header);
  const edits: string[] = [];
  for (let i = 0, n = r() < 0.7 ? 1 : int(r, 2, 4); i < n; i++) {
    const names = Object.keys(TARGETED);
    try {
      edits.push(r() < 0.3 ? mutateTree(r, h) : TARGETED[pick(r, names)](r, h, base));
    } catch {
      edits.push('(edit did not apply to the already edited header)');
    }
  }
  return [edits.join(' + '), assemble(base, h)];
}

/** Deterministic RGBA pixels of an odd size, so every model's preprocessing resizes and crops. */
function testPixels(): Pixels {
  const r = mulberry32(99);
  const width = 53;
  const height = 41;
  return { width, height, data: Uint8Array.from({ length: width * height * 4 }, () => int(r, 0, 255)) };
}

/** Classifies with the SIMD kernels and, when cheap enough, checks the result against the scalar reference kernels. */
async function classifyChecked(bytes: Uint8Array, wasm: WebAssembly.Module, pixels: Pixels): Promise<void> {
  const net = await Classifier.create(bytes, wasm, { limits: FUZZ_LIMITS });
  try {
    const got = net.classifySync(pixels);
    if (!got.probabilities.every(Number.isFinite)) throw new Error('accepted model returned non-finite probabilities');
    // Whatever metadata an accepted file carries, it summarizes and prints without control characters.
    const shown = printableJson(summarizeModel(net.model, bytes.length));
    if (/[\u0000-\u001f\u007f-\u009f]/.test(shown)) throw new Error('accepted model: its summary prints a control character');
    const work = net.planned.steps.reduce((s, x) => s + x.macs, 0);
    if (work > REF_MAX_WORK) return;
    const ref = await Classifier.create(bytes, wasm, { limits: FUZZ_LIMITS, kernels: 'ref' });
    const want = ref.classifySync(pixels).logits;
    ref.dispose();
    const exact = net.model.precision === 'int8';
    const range = Math.max(1, ...want.map(Math.abs));
    for (let i = 0; i < want.length; i++) {
      const diff = Math.abs(got.logits[i] - want[i]);
      if (exact ? !Object.is(got.logits[i], want[i]) : !(diff <= 1e-4 * range)) {
        throw new Error(`accepted model: SIMD logit ${i} is ${got.logits[i]}, the reference kernels give ${want[i]}`);
      }
    }
  } finally {
    net.dispose();
  }
}

/** Options of {@link fuzzModels}. */
export interface ModelFuzzOptions {
  seed: number;
  cases: number;
  /** Real model files (e.g. the bundled SqueezeNets) to mutate in one case out of `realEvery`. */
  real?: Uint8Array[];
  realEvery?: number;
  onProgress?: (done: number) => void;
}

/**
 * Runs `cases` hostile model files through the public loading path and classifies with each one
 * that is accepted. Every so often, and at the end, a long-lived classifier must still give its
 * first answer bit for bit: nothing a hostile file did may leak into other instances.
 */
export async function fuzzModels(opts: ModelFuzzOptions): Promise<FuzzReport> {
  const wasm = new WebAssembly.Module(readFileSync(new URL('../../dist/squeezewasm.wasm', import.meta.url)));
  const r = mulberry32(opts.seed);
  const bases = smallBases(opts.seed);
  const real = (opts.real ?? []).map((bytes, i) => baseOf(`real${i}`, bytes));
  const pixels = testPixels();
  const tally = new Tally();
  const sentinel = await Classifier.create(bases[1].bytes, wasm);
  const expected = sentinel.classifySync(pixels).logits;
  const checkSentinel = (at: number): Promise<void> =>
    tally.run(`sentinel after ${at} cases`, () => {
      const now = sentinel.classifySync(pixels).logits;
      if (!now.every((v, i) => Object.is(v, expected[i]))) throw new Error('a long-lived classifier changed its answer');
    });
  for (let i = 0; tally.cases < opts.cases; i++) {
    const base = real.length && i % (opts.realEvery ?? 100) === 0 ? pick(r, real) : pick(r, bases);
    const [what, bytes] = makeCase(r, base);
    await tally.run(`seed ${opts.seed} case ${i} (${base.name}): ${what}`, () => classifyChecked(bytes, wasm, pixels));
    if (i % 500 === 499) await checkSentinel(i + 1);
    opts.onProgress?.(tally.cases);
  }
  await checkSentinel(opts.cases);
  sentinel.dispose();
  return tally.done();
}

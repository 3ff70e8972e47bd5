/**
 * Hostile source models of up to 100 MB, each converted by the CLI in a child Node whose peak RSS
 * and wall time are measured: the converters must answer with one typed error line, in bounded
 * memory and time, never with a V8 abort or an "unexpected error".
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bin } from '../helpers/cli.js';
import { F, field, key, nested, onnxModel, repeat } from '../helpers/hostile-onnx.js';
import { buildOnnx, weight, type NodeSpec } from '../helpers/onnx-builder.js';

const MB = 1024 * 1024;
/** Node with the CLI loaded (about 55 MB), and what the caps let a small file build (about 125 MB). */
const BASELINE = 250 * MB;
/**
 * Peak RSS allowed for a conversion of `size` bytes of input: the file is read whole and its float
 * data decoded once, beside the baseline; never a gigabyte.
 */
const allowedRss = (size: number): number => Math.min(BASELINE + 2 * size, 1024 * MB);

const dir = mkdtempSync(join(tmpdir(), 'squeezewasm-hostile-sources-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  /** Peak resident set size of the child, in bytes, or NaN when it died before it could say. */
  rss: number;
  seconds: number;
}

/**
 * Reports the child's peak RSS in KB on fd 3 as it exits, whichever way it exits short of being
 * killed. Linux's VmHWM, not `resourceUsage().maxRSS`: that one keeps, across exec, the RSS of the
 * forked copy of this test worker the child started as.
 */
const REPORT_RSS = `data:text/javascript,${encodeURIComponent(`
import { existsSync, readFileSync, writeSync } from 'node:fs';
const status = '/proc/self/status';
const peak = () => (existsSync(status) ? /VmHWM:\\s*(\\d+)/.exec(readFileSync(status, 'utf8'))[1] : process.resourceUsage().maxRSS);
process.on('exit', () => writeSync(3, String(peak())));
`)}`;

/** Runs `squeezewasm convert <args> -o <out>` in a child Node and measures it. */
function convert(...args: string[]): Promise<Run> {
  const start = performance.now();
  const child = spawn(process.execPath, ['--import', REPORT_RSS, bin, 'convert', ...args, '-o', join(dir, 'out.sqz'), '--force'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let rss = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d));
  child.stdio[3]!.on('data', (d: Buffer) => (rss += d));
  return new Promise((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stderr, rss: Number(rss || NaN) * 1024, seconds: (performance.now() - start) / 1000 }));
  });
}

/** Expects one typed error line matching `message`, a non-zero exit, and RSS and time within bounds. */
function expectRefused(r: Run, size: number, message: RegExp): void {
  expect(r.signal).toBeNull();
  expect(r.stderr).not.toMatch(/unexpected error/);
  expect(r.stderr).toMatch(/^squeezewasm: [^\n]+\n$/);
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(1);
  expect(r.rss).toBeLessThan(allowedRss(size));
  expect(r.seconds).toBeLessThan(10);
}

function file(name: string, bytes: Uint8Array | string): string {
  writeFileSync(join(dir, name), bytes);
  return join(dir, name);
}

const M = 1e6;
const str = (f: number, s: string): Uint8Array => field(f, [...new TextEncoder().encode(s)]);

/**
 * A graph that fills every cap of ONNX_CAPS to its limit with small entries: 32,768 nodes of 8
 * inputs and 2 attributes (3 ints and a tensor each), 32,768 initializers, 65,536 graph inputs.
 */
function everyCapFilled(): Uint8Array {
  // Attribute type (field 20) INTS: the key is the varint 0xa0 0x01.
  const attribute = [...str(F.attribute.name, 'x'), ...field(F.attribute.ints, [1, 2, 3]), ...field(F.attribute.t, field(F.tensor.dims, [1])), 0xa0, 0x01, 7];
  const node = [...Array.from({ length: 8 }, () => [...str(F.node.input, 'a')]).flat(), ...field(F.node.attribute, attribute), ...field(F.node.attribute, attribute), ...str(F.node.opType, 'Relu')];
  const initializer = [...field(F.tensor.dims, [2, 2, 2, 2]), ...str(F.tensor.name, 'w'), ...field(F.tensor.floatData, new Uint8Array(16))];
  // TypeProto { tensor_type { elem_type: FLOAT, shape { dim { dim_value: 3 } } } }
  const input = [...str(F.valueInfo.name, 'v'), ...field(F.valueInfo.type, field(1, [0x08, 1, ...field(2, field(1, [0x08, 3]))]))];
  const graph = [repeat([...field(F.graph.node, node)], 32768), repeat([...field(F.graph.initializer, initializer)], 32768), repeat([...field(F.graph.input, input)], 65536)];
  return onnxModel(Uint8Array.from(graph.flatMap((part) => [...part])));
}

/** 2000 convolutions sharing one 1 MB weight, each followed by a BatchNormalization folded into a copy of it. */
function sharedWeightFolded(): Uint8Array {
  const layers = 2000;
  const nodes = Array.from({ length: layers }, (_, i): NodeSpec[] => [
    { op: 'Conv', inputs: [i ? `bn${i - 1}` : 'data', i ? 'W' : 'W0'], outputs: [`conv${i}`], attrs: { kernel_shape: [1, 1] } },
    { op: 'BatchNormalization', inputs: [`conv${i}`, 'one', 'zero', 'zero', 'one'], outputs: [`bn${i}`] },
  ]).flat();
  const constant = (name: string, v: number) => ({ name, dims: [512], floats: Array(512).fill(v), raw: true });
  return buildOnnx({
    nodes,
    initializers: [weight('W0', [512, 3, 1, 1], 1), weight('W', [512, 512, 1, 1], 2), constant('one', 1), constant('zero', 0)],
    inputs: [{ name: 'data', dims: [1, 3, 8, 8] }],
    outputs: [{ name: `bn${layers - 1}`, dims: [1, 512, 8, 8] }],
  });
}

describe('convert refuses hostile ONNX files in bounded memory and time', () => {
  it.each<[string, () => Uint8Array, RegExp]>([
    ['20 M empty nodes', () => onnxModel(repeat([key(F.graph.node), 0], 20 * M)), /ONNX_CAPS\.nodes = 32768/],
    ['20 M empty initializers', () => onnxModel(repeat([key(F.graph.initializer), 0], 20 * M)), /ONNX_CAPS\.initializers = 32768/],
    ['20 M empty graph inputs', () => onnxModel(repeat([key(F.graph.input), 0], 20 * M)), /ONNX_CAPS\.graphValues/],
    ['a node with 20 M inputs', () => onnxModel(field(F.graph.node, repeat([key(F.node.input), 0], 20 * M))), /ONNX_CAPS\.nodeValues/],
    ['a node with 20 M empty attributes', () => onnxModel(field(F.graph.node, repeat([key(F.node.attribute), 0], 20 * M))), /ONNX_CAPS\.attributes\)/],
    ['an attribute of 50 M packed ints', () => onnxModel(field(F.graph.node, field(F.node.attribute, field(F.attribute.ints, repeat([1], 50 * M))))), /ONNX_CAPS\.attributeValues/],
    ['an initializer of 100 M packed dims', () => onnxModel(field(F.graph.initializer, field(F.tensor.dims, repeat([1], 100 * M)))), /has 100000000 dimensions, .*ONNX_CAPS\.dims/],
    ['an initializer of 50 M packed int64 values', () => onnxModel(field(F.graph.initializer, field(F.tensor.int64Data, repeat([1], 50 * M)))), /ONNX_CAPS\.integers/],
    ['an initializer of 16 M floats (no cap: decoded at 1:1)', () => onnxModel(field(F.graph.initializer, field(F.tensor.floatData, new Uint8Array(64 * M)))), /0 outputs/],
    ['messages nested 2 M deep', () => onnxModel(field(F.graph.node, field(F.node.attribute, nested(F.attribute.g, 2 * M)))), /0 outputs/],
    ['every cap filled to its limit', everyCapFilled, /0 outputs/],
    ['a shared weight folded into 2000 layers', sharedWeightFolded, /more than 67108864 bytes, the limit of a model file's tensors/],
  ])('%s', async (_, make, message) => {
    const bytes = make();
    const r = await convert(file('hostile.onnx', bytes));
    expectRefused(r, bytes.length, message);
  });
});

describe('convert refuses hostile Caffe prototxts in bounded memory and time', () => {
  const net = file('empty.net', new Uint8Array(0));
  const image = 'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n';
  it.each<[string, () => string, RegExp]>([
    ['4 M braces', () => '{'.repeat(4 * M), /MAX_PROTOTXT_TOKENS/],
    ['a Concat of 80,000 bottoms', () => `${image}layer { name: "c" type: "Concat" top: "c"\n${' bottom: "data"\n'.repeat(80000)}}\n`, /concat/],
    ['a string of 2 M escapes', () => `name: "${'\\\\'.repeat(2 * M)}"\n`, /0 inputs/],
  ])('%s', async (_, make, message) => {
    const text = make();
    const r = await convert(net, '--prototxt', file('hostile.prototxt', text));
    expectRefused(r, text.length, message);
  });
});

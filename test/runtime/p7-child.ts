// Run by p7.test.ts (and test:relaxed under Node 24) in a Node with relaxed SIMD: the relaxed-dot
// int8 kernels (assembly/kernels/p7-igemm.ts) against their references and against the dot16 path,
// from kernels to the bundled models. Prints what it found as JSON; the tests assert on it.
import { readFileSync, readdirSync } from 'node:fs';
import { createClassifier } from '../../src/index.js';
import type { ValidModel } from '../../src/model/validate.js';
import { planModel, type PlanOptions } from '../../src/runtime/plan.js';
import { ARRAY_OF } from '../../src/runtime/types.js';
import { readView, writeView } from '../../src/runtime/view.js';
import { relaxedDot8Bits, relaxedDotExact } from '../../src/runtime/probe.js';
import { callKernel, instantiateKernels, type KernelExports } from '../../src/wasm/kernels.js';
import { softmax } from '../../src/runtime/output.js';
import { tflRoundingWords } from '../../src/runtime/ops/igemm.js';
import { randomInt8Net } from '../helpers/random-net.js';
import { asGolden, convertGolden, goldenPixels, loadManifest, runGolden } from '../helpers/tflite-goldens.js';
import { randInt, rng } from '../helpers/wasm.js';

const relaxedModule = new WebAssembly.Module(readFileSync(new URL('../../dist/squeezewasm-relaxed.wasm', import.meta.url)));
let checks = 0;
const failures: string[] = [];
const check = (ok: boolean, what: string): void => {
  checks++;
  if (!ok) failures.push(what);
};
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** How the engine's relaxed dot reads 8-bit operands exactly, if it does. */
type Bits = ReturnType<typeof relaxedDot8Bits>;

async function kernels(bytes = 8 << 20): Promise<KernelExports> {
  const k = await instantiateKernels(relaxedModule);
  k.memory.grow(Math.ceil(bytes / 65536));
  return k;
}

/**
 * p7_igemm_6x8c4_relaxed against p7_igemm_ref on random shapes, one and two planes, u8 and i16
 * outputs; where the engine's dot is exact on 8 bits (`bits`), also on one plane of bytes in 0..255
 * (flipped where it reads them signed).
 */
async function kernelLevel(bits: Bits): Promise<void> {
  const k = await kernels();
  const r = rng(91);
  const base = k.heap_base();
  for (let trial = 0; trial < (bits ? 160 : 120); trial++) {
    const M = randInt(r, 1, 29), N = randInt(r, 1, 37), taps = randInt(r, 1, 9), K = randInt(r, 1, 45);
    const bytes = trial >= 120;
    const planes = bytes ? 1 : randInt(r, 1, 2), i16Out = trial % 2 === 1;
    const run = (K + 3) & ~3, blockBytes = 64 + taps * run * 8;
    const act = base, hiOffset = 8192, ind = base + 16384, w = ind + 16384, outs = [w + (1 << 20), w + (2 << 20)];
    const mem = () => k.memory.buffer;
    new Uint8Array(mem(), act, 2 * hiOffset).forEach((_, i, a) => (a[i] = randInt(r, 0, bytes ? 255 : 127)));
    const pointers = new Uint32Array(mem(), ind, Math.ceil(M / 6) * taps * 6);
    pointers.forEach((_, i) => (pointers[i] = act + randInt(r, 0, 100) * run));
    const weights = new Int8Array(mem(), w, Math.ceil(N / 8) * blockBytes);
    weights.forEach((_, i) => (weights[i] = randInt(r, -127, 127)));
    const header = new Int32Array(mem(), w, (Math.ceil(N / 8) * blockBytes) / 4);
    for (let b = 0; b < Math.ceil(N / 8); b++) {
      for (let l = 0; l < 8; l++) {
        header[(b * blockBytes) / 4 + l] = randInt(r, -200000, 200000);
        header[(b * blockBytes) / 4 + 8 + l] = randInt(r, 1 << 24, 2 ** 31 - 1);
      }
    }
    const outStride = (N + randInt(r, 0, 5)) << (i16Out ? 1 : 0);
    const [qmin, qmax] = i16Out ? [-4095, 4095] : [randInt(r, 0, 50), 255];
    // Every fourth u8-out trial requantizes the TFLite way (per-channel right shifts in `rounding`).
    const rounding = !i16Out && trial % 4 === 0 ? tfliteRounding(k, w + (3 << 20), N, r) : 0;
    const args = { M, N, taps, K, indirection: ind, weights: w, outStride, planes, hiOffset, signedBytes: bytes && bits === 's8', shift: randInt(r, 30, 44), zOut: i16Out ? 0 : randInt(r, 0, 255), qmin, qmax, i16Out, rounding };
    for (const [i, out] of outs.entries()) {
      new Uint8Array(mem(), out, M * outStride + 64).fill(0xa5);
      callKernel(k, i === 0 ? 'p7_igemm_6x8c4_relaxed' : 'p7_igemm_ref', { ...args, out });
    }
    const [a, b] = outs.map((o) => new Uint8Array(mem(), o, M * outStride + 64));
    check(same(a, b), `p7_igemm trial ${trial}: M ${M} N ${N} taps ${taps} K ${K} planes ${planes}${bytes ? ' of u8' : ''}`);
  }
}

/** TFLite's rounding constants at `at` for N channels of random right shifts 0..30 (the layout the planner writes). */
function tfliteRounding(k: KernelExports, at: number, N: number, r: () => number): number {
  const words = tflRoundingWords(Array.from({ length: N }, () => randInt(r, 0, 30)));
  new Int32Array(k.memory.buffer, at, words.length).set(words);
  return at;
}

/** The split kernels: SIMD against scalar, and the planes they write recombine to q + offset. */
async function splitLevel(): Promise<void> {
  const k = await kernels();
  const r = rng(92);
  const base = k.heap_base();
  for (const [type, simd, ref] of [['i16', 'i16_split7_simd', 'i16_split7_ref'], ['u8', 'u8_split7_simd', 'u8_split7_ref']] as const) {
    for (let trial = 0; trial < 30; trial++) {
      const P = randInt(r, 1, 40), C = randInt(r, 1, 70), elem = type === 'i16' ? 2 : 1;
      const inStride = (C + randInt(r, 0, 3)) * elem, offset = type === 'i16' ? 4096 : 0, hiOffset = 65536;
      const inp = base, outs = [base + (1 << 20), base + (2 << 20)];
      const values = type === 'i16' ? new Int16Array(k.memory.buffer, inp, (P * inStride) / 2) : new Uint8Array(k.memory.buffer, inp, P * inStride);
      values.forEach((_, i, a) => (a[i] = type === 'i16' ? randInt(r, -4095, 4095) : randInt(r, 0, 255)));
      for (const [i, out] of outs.entries()) callKernel(k, i === 0 ? simd : ref, { inp, P, C, inStride, out, outStride: C, hiOffset, offset, pad: out + P * C, padLen: 9, padValue: offset + 5 });
      const [a, b] = outs.map((o) => [new Uint8Array(k.memory.buffer, o, P * C + 9), new Uint8Array(k.memory.buffer, o + hiOffset, P * C + 9)]);
      check(same(a[0], b[0]) && same(a[1], b[1]), `${simd} trial ${trial}`);
      const q = (p: number, c: number): number => values[(p * inStride) / elem + c];
      const value = (i: number): number => (i < P * C ? q(Math.floor(i / C), i % C) + offset : offset + 5);
      check(Array.from({ length: P * C + 9 }, (_, i) => a[0][i] + 128 * a[1][i] === value(i)).every(Boolean), `${simd} planes and padding recombine, trial ${trial}`);
    }
  }
}

/** The flip kernels: SIMD against scalar, and the plane they write is q ^ 0x80, then the padding run. */
async function flipLevel(): Promise<void> {
  const k = await kernels();
  const r = rng(94);
  const base = k.heap_base();
  for (let trial = 0; trial < 30; trial++) {
    const P = randInt(r, 1, 40), C = randInt(r, 1, 70), inStride = C + randInt(r, 0, 3);
    const inp = base, outs = [base + (1 << 20), base + (2 << 20)];
    const values = new Uint8Array(k.memory.buffer, inp, P * inStride).map(() => randInt(r, 0, 255));
    new Uint8Array(k.memory.buffer, inp, P * inStride).set(values);
    for (const [i, out] of outs.entries()) callKernel(k, i === 0 ? 'u8_flip8_simd' : 'u8_flip8_ref', { inp, P, C, inStride, out, outStride: C, pad: out + P * C, padLen: 9, padValue: -123 });
    const [a, b] = outs.map((o) => new Uint8Array(k.memory.buffer, o, P * C + 9));
    check(same(a, b), `u8_flip8 trial ${trial}`);
    const want = (i: number): number => (i < P * C ? values[Math.floor(i / C) * inStride + (i % C)] ^ 0x80 : -123 & 255);
    check(Array.from(a).every((v, i) => v === want(i)), `u8_flip8 plane and padding, trial ${trial}`);
  }
}

/** Every step of a random int8 network on the relaxed dot gives the bytes of the dot16 reference path. */
async function networkLevel(bits: Bits): Promise<void> {
  const r = rng(93);
  for (let trial = 0; trial < 12; trial++) {
    const model = randomInt8Net(r, { i16Input: trial % 2 === 0, i16: trial % 4 < 2, u7: trial % 3 === 0 });
    const { height: h, width: w } = model.input;
    const inputType = model.act(model.input.name).dtype;
    const input = inputType === 'i16' ? Int16Array.from({ length: h * w * 3 }, () => randInt(r, -4095, 4095)) : Uint8Array.from({ length: h * w * 3 }, () => randInt(r, 0, inputType === 'u7' ? 127 : 255));
    // Every conv on the relaxed dot that can be: these nets' layers are narrower than the default two-plane threshold.
    const relaxed = { int8Dot: 'relaxed', twoPlaneMinChannels: 1 } as const;
    const options: PlanOptions[] = [{ variant: 'ref', int8Dot: 'dot16', winograd: false }, relaxed, { ...relaxed, variant: 'ref' }, { ...relaxed, winograd: false }];
    // The flipped one-plane path in the scalar kernels on every engine; in SIMD where the engine reads signed bytes (Arm sdot).
    options.push({ variant: 'ref', int8Dot: 'relaxed-s8', twoPlaneMinChannels: 1 });
    if (bits) options.push({ int8Dot: `relaxed-${bits}`, twoPlaneMinChannels: 1 }, { int8Dot: `relaxed-${bits}` });
    const plans = await Promise.all(options.map(async (o) => planModel(model as ValidModel, await kernels(), o)));
    // Values, not bytes: a plan may store a narrow tensor as i16 (storageTypes).
    for (const p of plans) writeView(p.kernels.memory.buffer, p.input, ARRAY_OF[p.input.dtype].from(input));
    plans[0].steps.forEach((step, i) => {
      const outs = plans.map((p) => {
        p.steps[i].run();
        return readView(p.kernels.memory.buffer, p.steps[i].output);
      });
      outs.slice(1).forEach((o, j) => check(same(o, outs[0]), `net ${trial} step ${step.name}: ${JSON.stringify(options[j + 1])} differs from the dot16 reference`));
    });
    check(plans.slice(1, 3).every((p) => p.steps.some((s) => s.warm?.kernel === 'p7_igemm_6x8c4_relaxed' || s.warm?.kernel === 'p7_igemm_ref')), `net ${trial}: no conv ran on the relaxed dot`);
  }
}

/** The bundled int8 models on the relaxed dot give the dot16 logits, bit for bit, on every fixture image. */
async function bundledLevel(bits: Bits): Promise<void> {
  const dir = new URL('../fixtures/images/', import.meta.url);
  const images = readdirSync(dir).sort().map((f) => new Uint8Array(readFileSync(new URL(f, dir))));
  for (const name of ['squeezenet1.1-int8', 'squeezenet1.0-int8']) {
    const bytes = new Uint8Array(readFileSync(new URL(`../../weights/${name}.sqz`, import.meta.url)));
    const dots = bits ? (['relaxed', `relaxed-${bits}`] as const) : (['relaxed'] as const);
    const [dot16, ...relaxed] = await Promise.all((['dot16', ...dots] as const).map((int8Dot) => createClassifier(relaxedModule, bytes, { int8Dot })));
    relaxed.forEach((net, i) => {
      check(net.planned.int8Dot === dots[i], `${name}: not planned on ${dots[i]}`);
      for (const image of images) check(same(net.classifySync(image).logits, dot16.classifySync(image).logits), `${name}: ${dots[i]} logits differ on a fixture image`);
    });
  }
}

/** int8 models imported from .tflite (TFLite's rounding) on the relaxed dot give TFLite's reference interpreter's outputs. */
async function tfliteLevel(bits: Bits): Promise<void> {
  const { manifest, at } = loadManifest('test/fixtures/tflite/manifest.json');
  for (const name of ['keras-squeezenet-int8', 'ops-int8']) {
    const m = manifest.models[name];
    const model = convertGolden(readFileSync(at(m.file)), m);
    for (const int8Dot of bits ? (['relaxed', `relaxed-${bits}`] as const) : (['relaxed'] as const)) {
      const plan = planModel(model, await kernels(), { int8Dot, twoPlaneMinChannels: 1 });
      check(plan.steps.some((step) => step.warm?.kernel === 'p7_igemm_6x8c4_relaxed'), `${name}: no conv ran on the relaxed dot (${int8Dot})`);
      for (const g of m.goldens) {
        const out = runGolden(plan, m.input_from_pixels, goldenPixels(at, g.pixels), softmax);
        check(same(asGolden(m, out, true), g.output), `${name} on ${int8Dot}: ${g.image} differs from TFLite's interpreter`);
      }
    }
  }
}

// An engine with a draft relaxed SIMD (Node 20's, behind a flag) must be recognised and kept on dot16.
const probe = await kernels(1 << 16);
const final = relaxedDotExact(probe);
const bits = relaxedDot8Bits(probe);
if (final) {
  await kernelLevel(bits);
  await splitLevel();
  await flipLevel();
  await networkLevel(bits);
  await bundledLevel(bits);
  await tfliteLevel(bits);
}
const bytes = new Uint8Array(readFileSync(new URL('../../weights/squeezenet1.1-int8.sqz', import.meta.url)));
const auto = (await createClassifier(relaxedModule, bytes)).planned.int8Dot;
const forced = await createClassifier(relaxedModule, bytes, { int8Dot: 'relaxed' }).then(() => 'planned', (e: Error) => e.constructor.name);
console.log(JSON.stringify({ final, bits, auto, forced, checks, failures: failures.slice(0, 20), failed: failures.length }));

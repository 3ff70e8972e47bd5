/**
 * Image fuzzing: seeded, deterministic hostile inputs for `Classifier.classify` (the main entry,
 * so decoding is included) and `decodeImage`. Every case must end in a typed error (a
 * SqueezeError) or a correct result, fast, and leave the runtime giving the same answer as before.
 *
 * Inputs are derived from a corpus of small files (a few hundred pixels, so that a case, decoded
 * directly and then classified, costs under a millisecond on average) written by test/helpers/image-files.ts and jpeg-js's encoder: every PNG colour type
 * and bit depth, Adam7, extra chunks; baseline and progressive JPEG with several samplings,
 * restart intervals, greyscale and CMYK. Mutations truncate (systematically at every structural
 * boundary first, then at every length), flip bits, insert, delete and duplicate bytes, edit PNG
 * chunks with their CRCs recomputed (so an edit reaches the decoder rather than the CRC check),
 * edit the inflated PNG scanlines and re-deflate them, edit JPEG marker segments, declare huge or
 * zero sizes, use unsupported encodings, build random PNGs and JPEGs from scratch, add hostile
 * EXIF orientation blocks (JPEG APP1, PNG eXIf) that must change nothing but how the photo is
 * turned, and pass malformed RGBA pixel objects. Each case is generated from (seed, index) alone, so a failure's id
 * reproduces it.
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { deflateSync, inflateSync } from 'node:zlib';
import jpegJs from 'jpeg-js';
import { decodeImage, loadClassifier, SqueezeError, writeModel, type Classification, type Classifier, type ImageLimits } from '../../src/node.js';
import { MAX_JPEG_SCANS } from '../../src/image/decode.js';
import { DEFAULT_IMAGE_LIMITS } from '../../src/image/limits.js';
import { mulberry32 } from '../../src/random.js';
import { outcomeOf, type FuzzReport } from './harness.js';
import {
  concat,
  encodeJpegFile,
  encodePngFile,
  fixPngChunk,
  ihdr,
  jpegSegments,
  PNG_CHANNELS,
  PNG_DEPTHS,
  PNG_SIGNATURE,
  pngChunk,
  pngChunks,
  pngExpectedRgba,
  type JpegSpec,
  type PngSpec,
} from '../helpers/image-files.js';
import { exifApp1, exifTiff, withJpegSegment, withPngExif } from '../helpers/orientation.js';
import { randomFireNet } from '../helpers/random-net.js';

/**
 * Runs `cases` image fuzz cases generated from `seed`, on a classifier of a small random network
 * (default image limits) and a second one with tight image limits.
 * @param opts.onProgress - Called every 500 cases and at the end with the number done.
 */
export async function fuzzImages(opts: { seed: number; cases: number; onProgress?: (done: number) => void }): Promise<FuzzReport> {
  const { seed, cases, onProgress } = opts;
  const corpus = getCorpus();
  const modelBytes = writeModel(randomFireNet(mulberry32(seed)));
  const runtimes = [await runtime(modelBytes, {}, corpus), await runtime(modelBytes, TIGHT_LIMITS, corpus)];
  const report: FuzzReport = { cases: 0, failures: [], outcomes: {}, maxCaseMs: 0, slowest: '' };
  const tally = (id: string, outcome: string, error?: string): void => {
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    if (error !== undefined && report.failures.length < 1000) report.failures.push({ id, error });
  };
  const watchdog = startWatchdog(seed);
  try {
    for (let index = 0; index < cases; index++) {
      watchdog.beat(index);
      report.cases++;
      let c: Case;
      try {
        c = makeCase(mulberry32(mix(seed, index)), index, `${seed}/${index}`, corpus);
      } catch (e) {
        tally(`${seed}/${index}`, 'generator', `the case generator threw ${describe(e)}`);
        continue;
      }
      const rt = runtimes[c.limited ? 1 : 0];
      const t0 = performance.now();
      const { outcome, error } = await runCase(c, rt);
      const ms = performance.now() - t0;
      if (ms > report.maxCaseMs) {
        report.maxCaseMs = ms;
        report.slowest = c.id;
      }
      tally(c.id, outcome, error);
      // The runtime must give the same answers after every error and every so often: one canary
      // image after an error (rotating through them), all of them every CANARY_EVERY cases.
      const broken = outcome !== 'ok' ? await canary(rt, 1) : (index + 1) % CANARY_EVERY === 0 ? await canary(rt, rt.canaries.length) : undefined;
      if (broken) tally(c.id, 'runtime-changed', `after this case: ${broken}`);
      if ((index + 1) % 500 === 0) onProgress?.(index + 1);
    }
  } finally {
    watchdog.stop();
  }
  onProgress?.(cases);
  return report;
}

/** Runs one case through decodeImage and classify; `error` says why it failed, if it did. */
async function runCase(c: Case, rt: Runtime): Promise<{ outcome: string; error?: string }> {
  let direct: string | undefined;
  if (c.input instanceof Uint8Array) {
    try {
      const bad = checkDecoded(decodeImage(c.input, rt.limits), rt.limits, c);
      if (bad) return { outcome: 'wrong-result', error: `decodeImage: ${bad}` };
      direct = 'ok';
    } catch (e) {
      if (!(e instanceof SqueezeError)) return { outcome: thrownKind(e), error: `decodeImage threw ${describe(e)}` };
      direct = outcomeOf(e)!;
    }
    // A PNG reduced as far as it goes (row by row into 8x8 block averages) ends the same way. (Not
    // a JPEG: at 1/8 a progressive JPEG's AC scans are skipped, so damage there goes unnoticed.)
    const reduced = c.input[0] === 0x89 ? reducedOutcome(c.input, rt.limits) : { outcome: direct };
    if (reduced.error) return reduced;
    if (reduced.outcome !== direct) return { outcome: 'inconsistent', error: `decodeImage ended in ${direct}, reduced in ${reduced.outcome}` };
  }
  let outcome: string;
  try {
    const bad = checkClassification(await rt.classifier.classify(c.input as Uint8Array, c.options), rt.classifier);
    if (bad) return { outcome: 'wrong-result', error: `classify: ${bad}` };
    outcome = 'ok';
  } catch (e) {
    if (!(e instanceof SqueezeError)) return { outcome: thrownKind(e), error: `classify threw ${describe(e)}` };
    outcome = outcomeOf(e)!;
  }
  if (direct !== undefined && direct !== outcome) return { outcome: 'inconsistent', error: `decodeImage ended in ${direct}, classify in ${outcome}` };
  if (c.outcome === 'error' ? outcome === 'ok' : c.outcome !== undefined && c.outcome !== outcome) {
    return { outcome: 'wrong-result', error: `expected ${c.outcome}, got ${outcome}` };
  }
  return { outcome };
}

/** How decodeImage ends on `input` reduced by 8 (minShortSide 1); `error` says why it failed, if it did. */
function reducedOutcome(input: Uint8Array, limits: ImageLimits): { outcome: string; error?: string } {
  try {
    const bad = checkDecoded(decodeImage(input, limits, { minShortSide: 1 }), limits, { id: '', input, limited: false });
    return bad ? { outcome: 'wrong-result', error: `decodeImage reduced: ${bad}` } : { outcome: 'ok' };
  } catch (e) {
    if (!(e instanceof SqueezeError)) return { outcome: thrownKind(e), error: `decodeImage reduced threw ${describe(e)}` };
    return { outcome: outcomeOf(e)! };
  }
}

/** Image limits of the second classifier: small enough that genuine corpus files cross them. */
const TIGHT_LIMITS: ImageLimits = { ...DEFAULT_IMAGE_LIMITS, maxImagePixels: 500, maxImageSide: 30 };
/** Cases between checks of every canary image. */
const CANARY_EVERY = 64;
/** A case running this long is a hang: the watchdog ends the process rather than let CI wait forever. */
const CASE_HANG_MS = 30_000;

type Rng = () => number;

/** The outcome a case must have under some limits: `ok`, an outcome key, `error` (any typed error) or undefined (not known). */
type Expect = (lim: ImageLimits) => string | undefined;

/** One generated input. */
interface Generated {
  /** What was done, for the case id. */
  what: string;
  input: unknown;
  options?: CaseOptions;
  outcome?: Expect;
  /** Size and (when known) pixels a successful decode must give; a mean absolute difference per channel up to `tolerance` is accepted. */
  pixels?: { width: number; height: number; rgba?: Uint8Array; tolerance: number };
}

/** Options a case classifies with. */
type CaseOptions = { top?: number; orientation?: 'apply' | 'ignore' };

/** A generated input with its expectations resolved for the classifier it runs on. */
interface Case {
  id: string;
  input: unknown;
  options?: CaseOptions;
  /** Run on the classifier with {@link TIGHT_LIMITS}. */
  limited: boolean;
  outcome?: string;
  pixels?: Generated['pixels'];
}

/** A classifier and what it answered for the canary images when it was fresh. */
interface Runtime {
  classifier: Classifier;
  limits: ImageLimits;
  canaries: { name: string; input: unknown; logits: Float32Array }[];
  /** The canary to run next. */
  next: number;
}

async function runtime(modelBytes: Uint8Array, limits: Partial<ImageLimits>, corpus: Corpus): Promise<Runtime> {
  const classifier = await loadClassifier(modelBytes, { limits });
  const canaries = [];
  for (const [name, input] of corpus.canaries) canaries.push({ name, input, logits: (await classifier.classify(input as Uint8Array)).logits.slice() });
  return { classifier, limits: { ...DEFAULT_IMAGE_LIMITS, ...limits }, canaries, next: 0 };
}

/** Classifies `count` canary images; says what differs from the fresh runtime's logits, if anything. */
async function canary(rt: Runtime, count: number): Promise<string | undefined> {
  for (let k = 0; k < count; k++) {
    const c = rt.canaries[rt.next++ % rt.canaries.length];
    try {
      const { logits } = await rt.classifier.classify(c.input as Uint8Array);
      const i = c.logits.findIndex((v, j) => !Object.is(v, logits[j]));
      if (logits.length !== c.logits.length || i >= 0) return `the ${c.name} canary gives logit ${i} = ${logits[i]}, not ${c.logits[i]}`;
    } catch (e) {
      return `the ${c.name} canary threw ${describe(e)}`;
    }
  }
  return undefined;
}

function checkDecoded(img: { width: number; height: number; data: Uint8Array; orientation: number }, lim: ImageLimits, c: Case): string | undefined {
  const { width, height, data } = img;
  if (!(data instanceof Uint8Array)) return `data is ${describe(data)}, not a Uint8Array`;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1)) return `size ${width}x${height}`;
  if (width > lim.maxImageSide || height > lim.maxImageSide || width * height > lim.maxImagePixels) return `a ${width}x${height} image passed the limits`;
  if (data.length !== width * height * 4) return `${data.length} bytes for ${width}x${height} RGBA`;
  if (!Number.isInteger(img.orientation) || img.orientation < 1 || img.orientation > 8) return `orientation ${img.orientation}`;
  const e = c.pixels;
  if (!e) return undefined;
  if (width !== e.width || height !== e.height) return `${width}x${height}, expected ${e.width}x${e.height}`;
  if (!e.rgba) return undefined;
  let diff = 0;
  for (let i = 0; i < data.length; i++) diff += Math.abs(data[i] - e.rgba[i]);
  return diff / data.length > e.tolerance ? `pixels differ from the expected ones by ${(diff / data.length).toFixed(2)} per channel` : undefined;
}

function checkClassification(r: Classification, classifier: Classifier): string | undefined {
  const n = classifier.labels.length;
  if (r.probabilities.length !== n || r.logits.length !== n) return `${r.probabilities.length} probabilities and ${r.logits.length} logits for ${n} classes`;
  if (!r.logits.every(Number.isFinite)) return `logits ${Array.from(r.logits).join(', ')}`;
  let sum = 0;
  for (const p of r.probabilities) {
    if (!(p >= 0 && p <= 1)) return `probability ${p}`;
    sum += p;
  }
  if (Math.abs(sum - 1) > 1e-4) return `probabilities sum to ${sum}`;
  return r.top[0]?.probability === Math.max(...r.probabilities) ? undefined : 'top[0] is not the most probable class';
}

const thrownKind = (e: unknown): string => (e instanceof Error ? e.constructor.name : `thrown ${typeof e}`);

function describe(e: unknown): string {
  if (!(e instanceof Error)) return `${typeof e} ${String(e)}`;
  return `${e.name}: ${e.message.slice(0, 300)}${e.stack?.split('\n')[1] ? ` (${e.stack.split('\n')[1].trim()})` : ''}`;
}

/** A 32-bit hash of (seed, index), so that each case has its own random stream. */
function mix(seed: number, index: number): number {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 0x632be5ab, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

// A decoder stuck in a loop never returns to this thread, so a timer here could not report it: a
// worker thread watches a counter the fuzzing thread bumps per case, and when it stops moving for
// CASE_HANG_MS it names the case on stderr and kills the process, so that a hang fails CI instead
// of stalling it.
const WATCHDOG = `
const { workerData: { state, seed, limitMs } } = require('node:worker_threads');
let beat = -1;
let since = Date.now();
setInterval(() => {
  if (Atomics.load(state, 1) !== beat) {
    beat = Atomics.load(state, 1);
    since = Date.now();
  } else if (Date.now() - since > limitMs) {
    require('node:fs').writeSync(2, 'image fuzz: case ' + seed + '/' + Atomics.load(state, 0) + ' has run for more than ' + limitMs + ' ms; killing the process\\n');
    process.kill(process.pid, 'SIGKILL');
  }
}, 500);`;

function startWatchdog(seed: number): { beat: (index: number) => void; stop: () => void } {
  const state = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(WATCHDOG, { eval: true, workerData: { state, seed, limitMs: CASE_HANG_MS } });
  worker.unref();
  return {
    beat: (index) => {
      Atomics.store(state, 0, index);
      Atomics.add(state, 1, 1);
    },
    stop: () => void worker.terminate(),
  };
}

// ---------------------------------------------------------------- corpus

/** A genuine small file of the corpus and the pixels it decodes to. */
interface Sample {
  name: string;
  format: 'png' | 'jpeg';
  bytes: Uint8Array;
  width: number;
  height: number;
  rgba: Uint8Array;
  /** 0 for PNG (exact); JPEG pixels may differ from the source by this much per channel on average. */
  tolerance: number;
}

interface Corpus {
  samples: Sample[];
  png: Sample[];
  jpeg: Sample[];
  /** Valid inputs whose logits must not change during a run. */
  canaries: [string, unknown][];
  /** (sample, length): every structural boundary of every sample, then every length of every sample. */
  truncations: [number, number][];
  /** zlib streams of 2 MiB and 32 MiB of zeros. */
  bombs: Uint8Array[];
}

type Rgb = (x: number, y: number) => [number, number, number];

let cached: Corpus | undefined;
const getCorpus = (): Corpus => (cached ??= buildCorpus());

// Photographs scaled to 20x24 and 24x20: 480 pixels, within TIGHT_LIMITS, and a few hundred bytes.
function buildCorpus(): Corpus {
  const panda = photo('n02510455_giant_panda.jpg', 20, 24);
  const eagle = photo('n01614925_bald_eagle.png', 24, 20);
  const samples: Sample[] = [];
  const png = (name: string, spec: PngSpec): void => {
    samples.push({ name, format: 'png', bytes: encodePngFile(spec), width: spec.width, height: spec.height, rgba: pngExpectedRgba(spec), tolerance: 0 });
  };
  for (const ct of [0, 2, 3, 4, 6]) {
    for (const depth of PNG_DEPTHS[ct]) {
      png(`png-c${ct}d${depth}`, pngSpec(eagle, 24, 20, ct, depth));
      png(`png-c${ct}d${depth}-adam7`, { ...pngSpec(panda, 20, 24, ct, depth), interlace: true });
    }
  }
  png('png-c3d8-trns', { ...pngSpec(panda, 20, 24, 3, 8), trns: Array.from({ length: 200 }, (_, i) => (i * 53) & 255) });
  const r = mulberry32(1);
  png('png-c2d8-chunks', { ...pngSpec(panda, 13, 7, 2, 8), extra: Array.from({ length: 6 }, () => harmlessChunk(r, [])), idatSize: 40 });
  png('png-c6d8-1x1', pngSpec(eagle, 1, 1, 6, 8));

  const jpeg = (name: string, rgb: Rgb, width: number, height: number, spec: Omit<JpegSpec, 'rgb' | 'width' | 'height'> | number): void => {
    const bytes =
      typeof spec === 'number'
        ? new Uint8Array(jpegJs.encode({ width, height, data: rgbaOf(rgb, width, height, false) }, spec).data)
        : encodeJpegFile({ ...spec, rgb, width, height });
    const rgba = rgbaOf(rgb, width, height, typeof spec !== 'number' && spec.sampling.length === 1);
    const sample = { name, format: 'jpeg' as const, bytes, width, height, rgba, tolerance: 24 };
    const bad = checkDecoded(decodeImage(bytes), DEFAULT_IMAGE_LIMITS, { id: name, input: bytes, limited: false, pixels: sample });
    if (bad) throw new Error(`corpus JPEG ${name} does not decode as written: ${bad}`);
    samples.push(sample);
  };
  const s420: [number, number][] = [[2, 2], [1, 1], [1, 1]];
  const s444: [number, number][] = [[1, 1], [1, 1], [1, 1]];
  jpeg('jpeg-420', panda, 20, 24, { sampling: s420 });
  jpeg('jpeg-444', eagle, 24, 20, { sampling: s444 });
  jpeg('jpeg-422', panda, 20, 24, { sampling: [[2, 1], [1, 1], [1, 1]] });
  jpeg('jpeg-440', eagle, 24, 20, { sampling: [[1, 2], [1, 1], [1, 1]] });
  jpeg('jpeg-411', panda, 20, 24, { sampling: [[4, 1], [1, 1], [1, 1]] });
  jpeg('jpeg-grey', eagle, 24, 20, { sampling: [[1, 1]] });
  jpeg('jpeg-cmyk', panda, 20, 24, { sampling: [[1, 1], [1, 1], [1, 1], [1, 1]] });
  jpeg('jpeg-420-rst2', eagle, 24, 20, { sampling: s420, restartInterval: 2 });
  jpeg('jpeg-prog-420', panda, 20, 24, { sampling: s420, progressive: true });
  jpeg('jpeg-prog-grey-rst3', eagle, 24, 20, { sampling: [[1, 1]], progressive: true, restartInterval: 3 });
  jpeg('jpeg-prog-444-rst1', panda, 20, 24, { sampling: s444, progressive: true, restartInterval: 1 });
  jpeg('jpeg-prog-420-13x7', panda, 13, 7, { sampling: s420, progressive: true, quality: 60 });
  jpeg('jpeg-1x1', eagle, 1, 1, { sampling: s444 });
  jpeg('jpeg-js-q75', panda, 20, 24, 75);
  jpeg('jpeg-js-q30', eagle, 24, 20, 30);

  const truncations: [number, number][] = [];
  samples.forEach((s, i) => truncations.push(...boundaries(s).map((cut) => [i, cut] as [number, number])));
  samples.forEach((s, i) => truncations.push(...Array.from(s.bytes, (_, cut) => [i, cut] as [number, number])));
  const byName = (name: string): Sample => samples.find((s) => s.name === name)!;
  return {
    samples,
    png: samples.filter((s) => s.format === 'png'),
    jpeg: samples.filter((s) => s.format === 'jpeg'),
    canaries: [
      ['png', byName('png-c2d8').bytes],
      ['jpeg', byName('jpeg-420').bytes],
      ['rgba', { data: rgbaOf(panda, 20, 24, false), width: 20, height: 24 }],
    ],
    truncations,
    bombs: [deflateSync(new Uint8Array(2 << 20)), deflateSync(new Uint8Array(32 << 20))],
  };
}

/** A fixture photograph scaled (nearest pixel) to width x height. */
function photo(file: string, width: number, height: number): Rgb {
  const img = decodeImage(new Uint8Array(readFileSync(new URL(`../fixtures/images/${file}`, import.meta.url))));
  return (x, y) => {
    const i = (Math.floor(((y + 0.5) * img.height) / height) * img.width + Math.floor(((x + 0.5) * img.width) / width)) * 4;
    return [img.data[i], img.data[i + 1], img.data[i + 2]];
  };
}

const luma = ([r, g, b]: [number, number, number]): number => 0.299 * r + 0.587 * g + 0.114 * b;

function rgbaOf(rgb: Rgb, width: number, height: number, grey: boolean): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let y = 0, o = 0; y < height; y++) {
    for (let x = 0; x < width; x++, o += 4) {
      const c = rgb(x, y);
      out.set(grey ? [luma(c), luma(c), luma(c), 255] : [...c, 255], o);
    }
  }
  return out;
}

/** `rgb` as a PNG of a colour type and bit depth (alpha a pattern, palette a colour ramp indexed by brightness). */
function pngSpec(rgb: Rgb, width: number, height: number, colourType: number, depth: number): PngSpec {
  const max = 2 ** depth - 1;
  const scale = (v: number, x: number, y: number): number => (depth === 16 ? Math.min(max, v * 257 + ((x ^ y) & 127)) : Math.round((v * max) / 255));
  const n = 2 ** depth;
  const samples: number[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const c = rgb(x, y);
      const grey = Math.round(luma(c));
      const alpha = (x * 37 + y * 11) & 255;
      const s = (v: number): number => scale(v, x, y);
      const index = Math.min(n - 1, Math.floor((grey * n) / 256));
      const byType = [[s(grey)], [], [s(c[0]), s(c[1]), s(c[2])], [index], [s(grey), s(alpha)], [], [s(c[0]), s(c[1]), s(c[2]), s(alpha)]];
      samples.push(...byType[colourType]);
    }
  }
  const ramp = (i: number): number => Math.round((i * 255) / (n - 1 || 1));
  const palette = colourType === 3 ? Array.from({ length: n }, (_, i) => [ramp(i), (i * 97) & 255, 255 - ramp(i)]) : undefined;
  return { width, height, colourType, depth, samples, palette };
}

/** Every byte where the file's structure changes (chunk and segment edges, header fields), and its neighbours. */
function boundaries(s: Sample): number[] {
  const at = new Set<number>([1, 2, 3, 4, 8]);
  if (s.format === 'png') {
    for (const c of pngChunks(s.bytes)) for (const p of [c.start, c.start + 4, c.start + 8, c.end - 4]) at.add(p);
    for (let p = 16; p < 33; p++) at.add(p);
  } else {
    for (const g of jpegSegments(s.bytes)) {
      for (const p of [g.start, g.start + 2, g.data, g.end]) at.add(p);
      if (g.marker === 0xda || (g.marker >= 0xc0 && g.marker <= 0xc2)) for (let p = g.data; p < g.data + 20; p++) at.add(p);
    }
  }
  const cuts = [...at].flatMap((p) => [p - 1, p, p + 1]).filter((p) => p >= 0 && p < s.bytes.length);
  return [...new Set(cuts)].sort((a, b) => a - b);
}

// ---------------------------------------------------------------- cases

const int = (r: Rng, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const randomBytes = (r: Rng, n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(r() * 256));
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
/** Image sides: mostly up to 40 (some past TIGHT_LIMITS), often tiny. */
const side = (r: Rng): number => (r() < 0.15 ? int(r, 1, 3) : int(r, 1, 40));

/** The outcome of a size check: an empty image is corrupt, then the side and pixel limits. */
function sizeOutcome(width: number, height: number, lim: ImageLimits): string | undefined {
  if (width === 0 || height === 0) return 'E_IMAGE_DECODE';
  if (width > lim.maxImageSide || height > lim.maxImageSide) return 'E_LIMIT:maxImageSide';
  return width * height > lim.maxImagePixels ? 'E_LIMIT:maxImagePixels' : undefined;
}

/** An error the decoder finds after checking the declared size. */
const afterSize =
  (width: number, height: number, code: string): Expect =>
  (lim) =>
    sizeOutcome(width, height, lim) ?? code;

/** A genuine image: it decodes to `s`'s pixels unless it is over the limits. */
const genuine = (s: Sample, what: string, input: Uint8Array): Generated => ({ what: `${s.name}: ${what}`, input, outcome: afterSize(s.width, s.height, 'ok'), pixels: s });

const anyError: Expect = () => 'error';

type Generator = (r: Rng, c: Corpus) => Generated;

const GENERATORS: [string, number, Generator][] = [
  ['flip', 18, flip],
  ['bytes', 8, byteEdit],
  ['png-chunk', 12, pngChunkEdit],
  ['png-data', 8, pngDataEdit],
  ['jpeg-segment', 14, jpegSegmentEdit],
  ['png-random', 10, randomPng],
  ['jpeg-random', 6, randomJpeg],
  ['huge', 5, hugeSize],
  ['unsupported', 4, unsupported],
  ['rgba', 7, rgbaInput],
  ['exif', 6, hostileExif],
  ['bomb', 1, bomb],
  ['flood', 2, flood],
  ['garbage', 2, garbage],
  ['truncate', 3, (r, c) => truncate(c, int(r, 0, c.truncations.length - 1))],
  ['valid', 2, valid],
];
const TOTAL_WEIGHT = GENERATORS.reduce((n, [, w]) => n + w, 0);

/**
 * Every SYSTEMATIC-th case takes the next entry of the truncation list until it runs out: the
 * 3,000-odd structural boundaries fit in the first 10,000 cases, every length in the first 150,000.
 */
const SYSTEMATIC = 3;

function makeCase(r: Rng, index: number, prefix: string, c: Corpus): Case {
  let kind = 'truncate';
  let g: Generated;
  if (index % SYSTEMATIC === 0 && index / SYSTEMATIC < c.truncations.length) {
    g = truncate(c, index / SYSTEMATIC);
  } else {
    let w = r() * TOTAL_WEIGHT;
    const [name, , generate] = GENERATORS.find(([, weight]) => (w -= weight) < 0) ?? GENERATORS[0];
    kind = name;
    g = generate(r, c);
  }
  const limited = r() < 0.12;
  const outcome = g.outcome?.(limited ? TIGHT_LIMITS : DEFAULT_IMAGE_LIMITS);
  return {
    id: `${prefix} ${kind}${limited ? ' (tight limits)' : ''}: ${g.what}`,
    input: g.input,
    options: g.options,
    limited,
    outcome,
    pixels: outcome === 'ok' ? g.pixels : undefined,
  };
}

function truncate(c: Corpus, slot: number): Generated {
  const [i, cut] = c.truncations[slot];
  const s = c.samples[i];
  return { what: `${s.name} cut to ${cut} of ${s.bytes.length} bytes`, input: s.bytes.subarray(0, cut), outcome: anyError };
}

function valid(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.samples);
  const form = int(r, 0, 2);
  let input = s.bytes.slice();
  if (form === 1) input = Buffer.from(s.bytes);
  if (form === 2) {
    const at = int(r, 1, 64);
    input = new Uint8Array(s.bytes.length + 128).fill(0xff);
    input.set(s.bytes, at);
    input = input.subarray(at, at + s.bytes.length);
  }
  return { ...genuine(s, ['as written', 'in a Node Buffer', 'in a view into a larger buffer'][form], input), options: r() < 0.3 ? { top: pick(r, [1, 2, 1e9]) } : undefined };
}

function flip(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.samples);
  const b = s.bytes.slice();
  const n = Math.min(16, 1 + Math.floor(-Math.log(1 - r()) * 2));
  let [lo, hi, zone] = [0, b.length, 'file'];
  const where = r();
  if (where < 0.45) [hi, zone] = [Math.min(b.length, 160), 'headers'];
  else if (s.format === 'jpeg' && where < 0.75) {
    const scan = pick(r, jpegSegments(b).filter((g) => g.marker === 0xda));
    [lo, hi, zone] = [scan.start + 2 + ((b[scan.start + 2] << 8) | b[scan.start + 3]), scan.end, 'scan data'];
  }
  // Distinct bits: flipping one twice would leave the file as it was.
  const bits = new Set<number>();
  while (bits.size < Math.min(n, 8 * (hi - lo))) bits.add(int(r, lo * 8, hi * 8 - 1));
  for (const bit of bits) b[bit >> 3] ^= 1 << (bit & 7);
  const fix = s.format === 'png' && r() < 0.85;
  if (fix) for (const k of pngChunks(b)) fixPngChunk(b, k.start);
  return { what: `${s.name}: ${n} bit(s) flipped in the ${zone}${fix ? ', CRCs fixed' : ''}`, input: b, outcome: s.format === 'png' && !fix ? anyError : undefined };
}

function byteEdit(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.samples);
  const ops: string[] = [];
  if (s.format === 'png' && r() < 0.5) {
    const k = pick(r, pngChunks(s.bytes));
    const data = mutateBytes(r, s.bytes.slice(k.start + 8, k.end - 4), ops);
    const input = concat(s.bytes.subarray(0, k.start), pngChunk(k.type, data), s.bytes.subarray(k.end));
    return { what: `${s.name}: ${ops.join(', ')} in ${k.type} at ${k.start}, length and CRC fixed`, input };
  }
  return { what: `${s.name}: ${ops.join(', ')}`, input: mutateBytes(r, s.bytes.slice(), ops) };
}

/** One to three byte edits: insert, delete, duplicate, overwrite with an edge value, copy over. */
function mutateBytes(r: Rng, b: Uint8Array, ops: string[]): Uint8Array {
  for (let k = int(r, 1, 3); k > 0; k--) {
    const at = int(r, 0, b.length);
    const n = int(r, 1, 16);
    const op = int(r, 0, 4);
    if (op === 0) b = concat(b.subarray(0, at), randomBytes(r, n), b.subarray(at));
    if (op === 1) b = concat(b.subarray(0, at), b.subarray(at + n));
    if (op === 2) b = concat(b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n));
    if (op === 3 && at < b.length) b[at] = pick(r, [0, 1, 0x7f, 0x80, 0xfe, 0xff]);
    if (op === 4) b.set(b.slice(int(r, 0, b.length), int(r, 0, b.length)).subarray(0, b.length - at), at);
    ops.push(`${['insert', 'delete', 'duplicate', 'overwrite', 'copy over'][op]} ${n} at ${at}`);
  }
  return b;
}

/** An ancillary chunk decoding must ignore: text, compressed text and ICC profiles (some bombs), APNG, unknown. */
function harmlessChunk(r: Rng, bombs: Uint8Array[]): Uint8Array {
  const compressed = (): Uint8Array => (bombs.length && r() < 0.4 ? pick(r, bombs) : r() < 0.5 ? deflateSync(randomBytes(r, 300)) : randomBytes(r, int(r, 0, 40)));
  switch (int(r, 0, 7)) {
    case 0:
      return pngChunk('tEXt', concat(ascii('Comment\0'), randomBytes(r, int(r, 0, 60))));
    case 1:
      return pngChunk('zTXt', concat(ascii('Comment\0\0'), compressed()));
    case 2:
      return pngChunk('iCCP', concat(ascii('ICC profile\0\0'), compressed()));
    case 3:
      return pngChunk('iTXt', concat(ascii('Title\0\0\0en\0Title\0'), randomBytes(r, int(r, 0, 30))));
    case 4:
      return pngChunk(pick(r, ['gAMA', 'pHYs', 'sRGB', 'bKGD', 'tIME', 'cHRM', 'sBIT', 'hIST', 'eXIf']), randomBytes(r, int(r, 0, 20)));
    case 5:
      return pngChunk(pick(r, ['acTL', 'fcTL', 'fdAT']), randomBytes(r, int(r, 0, 40)));
    case 6:
      return pngChunk(String.fromCharCode(int(r, 97, 122), int(r, 65, 90), int(r, 65, 90), int(r, 97, 122)), randomBytes(r, int(r, 0, 30)));
    default:
      return pngChunk('tEXt', ascii('Software\0squeezewasm fuzz'));
  }
}

function pngChunkEdit(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.png);
  const list = pngChunks(s.bytes);
  const parts: Uint8Array[] = list.map((k) => s.bytes.slice(k.start, k.end));
  const iend = list.findIndex((k) => k.type === 'IEND');
  const indexed = s.bytes[25] === 3;
  const build = (): Uint8Array => concat(PNG_SIGNATURE, ...parts);
  const at = int(r, 1, parts.length);
  const before = at <= iend ? `before ${list[at]?.type}` : 'after IEND';
  switch (int(r, 0, 8)) {
    case 0: {
      const fields = ['width', 'height', 'bit depth', 'colour type', 'compression', 'filter', 'interlace'];
      const f = int(r, 0, fields.length - 1);
      const v = f < 2 ? pick(r, [...SIZES, int(r, 1, 64)]) : pick(r, [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 255]);
      const view = new DataView(parts[0].buffer);
      if (f < 2) view.setUint32(8 + 4 * f, v);
      else parts[0][16 + f - 2] = v;
      fixPngChunk(parts[0], 0);
      const [w, h] = [view.getUint32(8), view.getUint32(12)];
      const same = parts[0].every((x, i) => x === s.bytes[8 + i]);
      const invalid = !PNG_DEPTHS[parts[0][17]]?.includes(parts[0][16]) || parts[0][18] !== 0 || parts[0][19] !== 0 || parts[0][20] > 1;
      const outcome = same ? afterSize(w, h, 'ok') : invalid ? afterSize(w, h, 'E_IMAGE_DECODE') : f < 2 ? (lim: ImageLimits) => sizeOutcome(w, h, lim) : undefined;
      return { what: `${s.name}: IHDR ${fields[f]} = ${v}`, input: build(), outcome, pixels: s };
    }
    case 1: {
      const i = int(r, 0, parts.length - 1);
      parts.splice(at, 0, parts[i]);
      // tRNS is the one ancillary chunk whose place matters (after PLTE).
      const harmless = at > iend || (list[i].type.charCodeAt(0) >= 97 && list[i].type !== 'tRNS');
      return harmless ? genuine(s, `${list[i].type} duplicated ${before}`, build()) : { what: `${s.name}: ${list[i].type} duplicated ${before}`, input: build() };
    }
    case 2: {
      const i = int(r, 0, parts.length - 1);
      parts.splice(i, 1);
      const t = list[i].type;
      const what = `${t} at ${list[i].start} removed`;
      if (t.charCodeAt(0) >= 97 && t !== 'tRNS') return genuine(s, what, build());
      return { what: `${s.name}: ${what}`, input: build(), outcome: t === 'tRNS' ? undefined : anyError };
    }
    case 3: {
      const [i, j] = [int(r, 0, parts.length - 1), int(r, 0, parts.length - 1)];
      [parts[i], parts[j]] = [parts[j], parts[i]];
      return { what: `${s.name}: ${list[i].type} and ${list[j].type} swapped`, input: build() };
    }
    case 4: {
      const chunk = harmlessChunk(r, c.bombs);
      parts.splice(at, 0, chunk);
      return genuine(s, `${String.fromCharCode(...chunk.subarray(4, 8))} (${chunk.length - 12} bytes) inserted ${before}`, build());
    }
    case 5: {
      const kinds = ['unknown critical', 'second IHDR', 'early IEND', 'bad type', 'PLTE', 'tRNS', 'IDAT'];
      const k = int(r, 0, kinds.length - 1);
      const chunk = [
        pngChunk(pick(r, ['ABCD', 'IHDX', 'XDAT', 'JDAT']), randomBytes(r, int(r, 0, 20))),
        ihdr(int(r, 1, 40), int(r, 1, 40), 8, 2),
        pngChunk('IEND'),
        pngChunk(pick(r, ['\0\0\0\0', 'ID4T', 'ihd ', '\xff\xff\xff\xff']), randomBytes(r, int(r, 0, 8))),
        pngChunk('PLTE', randomBytes(r, pick(r, [0, 3, 6, 767, 768, 771, 1, 100]))),
        pngChunk('tRNS', randomBytes(r, pick(r, [0, 1, 2, 6, 255, 256, 300]))),
        pngChunk('IDAT', randomBytes(r, int(r, 0, 30))),
      ][k];
      parts.splice(at, 0, chunk);
      const what = `${kinds[k]} chunk inserted ${before}`;
      // An IEND after the last IDAT only ends the file early; data after the zlib stream is ignored.
      const lastIdat = list.map((x) => x.type).lastIndexOf('IDAT');
      if (at > iend || (!indexed && (k === 4 || k === 5)) || (k === 2 && at > lastIdat)) return genuine(s, what, build());
      const outcome = k === 0 ? afterSize(s.width, s.height, 'E_IMAGE_FORMAT') : k < 4 ? afterSize(s.width, s.height, 'E_IMAGE_DECODE') : undefined;
      return { what: `${s.name}: ${what}`, input: build(), outcome };
    }
    case 6: {
      const i = int(r, 0, iend);
      const old = parts[i].length - 12;
      const v = pick(r, [0, 1, old - 1, old + 1, old + 12, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, int(r, 0, 5000)]) >>> 0;
      new DataView(parts[i].buffer).setUint32(0, v);
      return { what: `${s.name}: ${list[i].type} length ${old} -> ${v}`, input: build(), outcome: v === old ? afterSize(s.width, s.height, 'ok') : anyError, pixels: s };
    }
    case 7: {
      const data = concat(...list.filter((k) => k.type === 'IDAT').map((k) => s.bytes.subarray(k.start + 8, k.end - 4)));
      const size = int(r, 1, 64);
      const first = list.findIndex((k) => k.type === 'IDAT');
      const idat = Array.from({ length: Math.ceil(data.length / size) }, (_, i) => pngChunk('IDAT', data.subarray(i * size, (i + 1) * size)));
      const rest: Uint8Array[] = parts.filter((_, i) => list[i].type !== 'IDAT');
      rest.splice(first, 0, ...idat);
      return genuine(s, `image data split into ${idat.length} IDAT chunks`, concat(PNG_SIGNATURE, ...rest));
    }
    default: {
      const i = int(r, 0, parts.length - 1);
      const bit = int(r, 0, 3);
      parts[i][4 + bit] ^= 0x20;
      fixPngChunk(parts[i], 0);
      const t = list[i].type;
      const what = `${t} renamed ${String.fromCharCode(...parts[i].subarray(4, 8))}`;
      if (i > iend || (t.charCodeAt(0) >= 97 && bit !== 0 && t !== 'tRNS')) return genuine(s, what, build());
      return { what: `${s.name}: ${what}`, input: build() };
    }
  }
}

function pngDataEdit(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.png);
  const list = pngChunks(s.bytes);
  let raw: Uint8Array = inflateSync(concat(...list.filter((k) => k.type === 'IDAT').map((k) => s.bytes.subarray(k.start + 8, k.end - 4))));
  let what: string;
  let outcome: Expect | undefined;
  const op = int(r, 0, 5);
  const n = int(r, 1, Math.min(raw.length, 40));
  if (op === 0) {
    raw = raw.subarray(0, raw.length - n);
    [what, outcome] = [`inflates ${n} bytes short`, afterSize(s.width, s.height, 'E_IMAGE_DECODE')];
  } else if (op === 1) {
    raw = concat(raw, randomBytes(r, n));
    [what, outcome] = [`inflates ${n} bytes long`, afterSize(s.width, s.height, 'E_IMAGE_DECODE')];
  } else if (op === 2) {
    raw = raw.slice();
    for (let k = 0; k < n % 5; k++) raw[int(r, 0, raw.length - 1)] = int(r, 0, 255);
    what = `${n % 5} inflated bytes changed`;
  } else if (op === 3 && s.bytes[28] === 0) {
    // A row starts every 1 + ceil(width * bits per pixel / 8) bytes: give one an unknown filter type.
    const stride = raw.length / s.height;
    raw = raw.slice();
    const row = int(r, 0, s.height - 1);
    raw[row * stride] = int(r, 5, 255);
    [what, outcome] = [`row ${row} has filter type ${raw[row * stride]}`, afterSize(s.width, s.height, 'E_IMAGE_DECODE')];
  } else if (op === 4) {
    raw = raw.slice().fill(pick(r, [0, 255]), int(r, 0, raw.length), int(r, 0, raw.length));
    what = 'a range of inflated bytes filled';
  } else {
    what = 'recompressed';
    outcome = afterSize(s.width, s.height, 'ok');
  }
  const level = int(r, 0, 9);
  let z: Uint8Array = deflateSync(raw, { level });
  if (r() < 0.25) {
    const zop = int(r, 0, 2);
    if (zop === 0) z = concat([z[0] ^ (1 << int(r, 0, 7))], z.subarray(1));
    if (zop === 1) z = z.subarray(0, z.length - int(r, 1, Math.min(z.length, 12)));
    if (zop === 2) z = concat(z, randomBytes(r, int(r, 1, 20)));
    what += `, zlib stream ${['header changed', 'truncated', 'followed by garbage'][zop]}`;
    // The Adler-32 is checked, so a cut stream never inflates; garbage after it is ignored.
    if (zop < 2) outcome = afterSize(s.width, s.height, 'E_IMAGE_DECODE');
  }
  const size = r() < 0.5 ? int(r, 1, 100) : z.length;
  const first = list.findIndex((k) => k.type === 'IDAT');
  const parts = list.filter((k) => k.type !== 'IDAT').map((k) => s.bytes.subarray(k.start, k.end));
  parts.splice(first, 0, ...Array.from({ length: Math.max(1, Math.ceil(z.length / size)) }, (_, i) => pngChunk('IDAT', z.subarray(i * size, (i + 1) * size))));
  return { what: `${s.name}: image data ${what}, deflate level ${level}`, input: concat(PNG_SIGNATURE, ...parts), outcome, pixels: s };
}

function jpegSegmentEdit(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.jpeg);
  const b = s.bytes;
  const segs = jpegSegments(b);
  // parts[i + 1] is segs[i]; the first part is SOI, the last EOI.
  const parts: Uint8Array[] = [b.slice(0, 2), ...segs.map((g) => b.slice(g.start, g.end)), b.slice(segs[segs.length - 1].end)];
  const build = (): Uint8Array => concat(...parts);
  const index = (m: number): number => 1 + segs.findIndex((g) => g.marker === m);
  const sof = 1 + segs.findIndex((g) => g.marker >= 0xc0 && g.marker <= 0xc2);
  const at = int(r, 1, parts.length - 1);
  const name = (m: number): string => `0xff${m.toString(16)}`;
  switch (int(r, 0, 11)) {
    case 0: {
      const p = parts[sof];
      const fields = ['precision', 'height', 'width', 'component count', 'component id', 'sampling factors', 'quantization table'];
      const f = int(r, 0, fields.length - 1);
      const comp = int(r, 0, p[9] - 1);
      let v: number;
      if (f === 1 || f === 2) {
        v = pick(r, [...SIZES.filter((x) => x < 65536), int(r, 1, 80)]);
        p.set([v >> 8, v & 255], f === 1 ? 5 : 7);
      } else {
        v = f === 5 ? pick(r, [0x00, 0x01, 0x10, 0x11, 0x12, 0x21, 0x22, 0x44, 0x45, 0x54, 0xff, int(r, 0, 255)]) : pick(r, [0, 1, 2, 3, 4, 5, 8, 12, 16, 255, int(r, 0, 255)]);
        p[[4, 0, 0, 9][f] || 10 + 3 * comp + f - 4] = v;
      }
      const [h, w] = [(p[5] << 8) | p[6], (p[7] << 8) | p[8]];
      const same = p.every((x, i) => x === b[segs[sof - 1].start + i]);
      let outcome: Expect | undefined = same ? afterSize(w, h, 'ok') : undefined;
      if (!same && f === 0) outcome = () => 'E_IMAGE_FORMAT';
      if (!same && (f === 3 || (f === 5 && ((v >> 4) * (v & 15) === 0 || v >> 4 > 4 || (v & 15) > 4)))) outcome = () => 'E_IMAGE_DECODE';
      if (!same && (f === 1 || f === 2)) outcome = (lim) => sizeOutcome(w, h, lim);
      return { what: `${s.name}: SOF ${fields[f]}${f > 3 ? ` of component ${comp}` : ''} = ${v}`, input: build(), outcome, pixels: s };
    }
    case 1: {
      const m = pick(r, [0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc7, 0xc8, 0xc9, 0xcb, 0xcc, 0xcd, 0xcf, 0xd8, 0xda, 0x01]);
      parts[sof][1] = m;
      const unsupported = m >= 0xc3 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
      const unexpected = [0xc8, 0xcc, 0xd8, 0xda, 0x01].includes(m);
      return { what: `${s.name}: SOF marker ${name(m)}`, input: build(), outcome: unsupported ? () => 'E_IMAGE_FORMAT' : unexpected ? () => 'E_IMAGE_DECODE' : undefined };
    }
    case 2:
    case 3: {
      const p = parts[index(r() < 0.5 ? 0xdb : 0xc4)];
      const k = int(r, 0, 3);
      let what = '';
      if (k === 0) {
        p[4] = pick(r, [0x00, 0x01, 0x03, 0x04, 0x10, 0x13, 0x1f, 0x20, 0xff]);
        what = `table class/id byte = 0x${p[4].toString(16)}`;
      } else if (k === 1) {
        const i = int(r, 5, p.length - 1);
        p[i] = pick(r, [0, 1, 16, 255, int(r, 0, 255)]);
        what = `byte ${i} = ${p[i]}`;
      } else if (k === 2) {
        const len = ((p[2] << 8) | p[3]) + pick(r, [-65, -17, -2, -1, 1, 2, 64]);
        p.set([(len >> 8) & 255, len & 255], 2);
        what = `length ${len}`;
      } else {
        p.fill(0, 5);
        what = 'table zeroed';
      }
      return { what: `${s.name}: ${name(p[1])} ${what}`, input: build() };
    }
    case 4: {
      const i = 1 + pick(r, segs.map((g, j) => (g.marker === 0xda ? j : -1)).filter((j) => j >= 0));
      const p = parts[i];
      const off = int(r, 4, 4 + 2 * p[4] + 3);
      p[off] = pick(r, [0, 1, 2, 3, 4, 5, 0x10, 0x11, 0x3f, 0x40, 0xff, int(r, 0, 255)]);
      return { what: `${s.name}: SOS header byte ${off - 4} = ${p[off]}`, input: build() };
    }
    case 5: {
      const v = pick(r, [0, 1, 2, 3, 5, 7, 255, 65535]);
      const dri = Uint8Array.from([0xff, 0xdd, 0, 4, v >> 8, v & 255]);
      if (index(0xdd) > 0) parts[index(0xdd)] = dri;
      else parts.splice(index(0xda), 0, dri);
      return { what: `${s.name}: restart interval ${v}`, input: build() };
    }
    case 6: {
      const i = index(0xda);
      const p = parts[i];
      const data = 4 + ((p[2] << 8) | p[3]) - 2;
      const pos = int(r, data, p.length);
      parts[i] = concat(p.subarray(0, pos), [0xff, 0xd0 + int(r, 0, 7)], p.subarray(pos));
      return { what: `${s.name}: restart marker inserted at scan byte ${pos - data}`, input: build() };
    }
    case 7: {
      const i = 1 + pick(r, segs.map((g, j) => (g.marker === 0xda ? j : -1)).filter((j) => j >= 0));
      const n = pick(r, [1, 2, 10, 97, 98, 99, 100, 101, 200, 1000]);
      parts.splice(i + 1, 0, ...Array<Uint8Array>(n).fill(parts[i]));
      const scans = n + segs.filter((g) => g.marker === 0xda).length;
      const outcome = scans > MAX_JPEG_SCANS ? afterSize(s.width, s.height, 'E_IMAGE_FORMAT') : undefined;
      return { what: `${s.name}: a scan repeated ${n} more times (${scans} scans)`, input: build(), outcome };
    }
    case 8: {
      const i = int(r, 1, parts.length - 2);
      const m = parts[i][1];
      const op = int(r, 0, 2);
      if (op === 0) parts.splice(i, 1);
      if (op === 1) parts.splice(i, 0, parts[i]);
      if (op === 2) [parts[i], parts[at]] = [parts[at], parts[i]];
      const what = `${name(m)} ${['removed', 'duplicated', 'swapped with the one at ' + at][op]}`;
      const harmless = (m >= 0xe0 && m <= 0xef && m !== 0xee) || (op === 1 && (m === 0xdb || m === 0xc4));
      if (harmless && op < 2) return genuine(s, what, build());
      return { what: `${s.name}: ${what}`, input: build(), outcome: op === 1 && m >= 0xc0 && m <= 0xc2 ? () => 'E_IMAGE_DECODE' : undefined };
    }
    case 9: {
      const m = pick(r, [0xe0, 0xe1, 0xe2, 0xed, 0xef, 0xfe]);
      const data = randomBytes(r, pick(r, [0, 1, 14, 300, int(r, 0, 2000)]));
      parts.splice(at, 0, concat([0xff, m, (data.length + 2) >> 8, (data.length + 2) & 255], data));
      return genuine(s, `${name(m)} segment of ${data.length} bytes inserted at part ${at}`, build());
    }
    case 10: {
      const i = int(r, 1, parts.length - 2);
      const v = pick(r, [0, 1, 2, 3, 65535, ((parts[i][2] << 8) | parts[i][3]) + pick(r, [-1, 1, 100])]) & 0xffff;
      parts[i].set([v >> 8, v & 255], 2);
      return { what: `${s.name}: ${name(parts[i][1])} length ${v}`, input: build() };
    }
    default: {
      const op = int(r, 0, 2);
      if (op === 0) parts.splice(at, 0, new Uint8Array(int(r, 1, 5)).fill(0xff));
      if (op === 1) parts[parts.length - 1] = concat(parts[parts.length - 1], randomBytes(r, int(r, 1, 50)));
      if (op === 2) parts.pop();
      const what = ['fill bytes inserted', 'garbage after EOI', 'EOI removed'][op];
      return op < 2 ? genuine(s, what, build()) : { what: `${s.name}: ${what}`, input: build(), outcome: anyError };
    }
  }
}

/** Size field values at and around every limit and integer width. */
const SIZES = [0, 1, 2, 7, 8, 9, 15, 16, 17, 255, 256, 4095, 16383, 16384, 16385, 65535, 65536, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];

function randomPng(r: Rng): Generated {
  const ct = r() < 0.04 ? pick(r, [1, 5, 7, 8, 255]) : pick(r, [0, 2, 3, 4, 6]);
  const allowed = PNG_DEPTHS[ct] ?? [];
  const depth = r() < 0.05 || allowed.length === 0 ? pick(r, [0, 1, 2, 3, 4, 5, 8, 12, 16, 32]) : pick(r, allowed);
  const width = side(r);
  const height = side(r);
  const interlace = r() < 0.3;
  // An invalid colour type or depth is written as 8-bit greyscale and patched into the header.
  const ok = allowed.includes(depth);
  const [colourType, bits] = ok ? [ct, depth] : [0, 8];
  const max = 2 ** bits - 1;
  const count = width * height * PNG_CHANNELS[colourType];
  const smooth = r() < 0.5;
  let samples = Array.from({ length: count }, (_, i) => (smooth ? Math.floor(((i % 97) * max) / 96) : int(r, 0, max)));
  let palette: number[][] | undefined;
  let trns: number[] | undefined;
  let indexOk = true;
  if (colourType === 3) {
    const n = int(r, 1, max + 1);
    palette = Array.from({ length: n }, () => Array.from(randomBytes(r, 3)));
    if (r() < 0.8) samples = samples.map((v) => v % n);
    if (r() < 0.3) trns = Array.from(randomBytes(r, int(r, 0, n + 2)));
    indexOk = samples.every((v) => v < n) && (trns?.length ?? 0) <= n;
  } else {
    // A suggested palette and a transparent colour are allowed here, and ignored.
    if (r() < 0.1) palette = Array.from({ length: int(r, 1, 256) }, () => Array.from(randomBytes(r, 3)));
    if (r() < 0.1) trns = Array.from(randomBytes(r, int(r, 0, 8)));
  }
  const filter = int(r, 0, 5);
  const spec: PngSpec = {
    width,
    height,
    colourType,
    depth: bits,
    samples,
    interlace,
    palette,
    trns,
    filter: filter < 5 ? () => filter : (row) => (row * 7 + 3) % 5,
    extra: r() < 0.3 ? [harmlessChunk(r, [])] : undefined,
    idatSize: r() < 0.3 ? int(r, 1, 64) : undefined,
  };
  const bytes = encodePngFile(spec);
  if (!ok) {
    bytes.set([depth, ct], 24);
    fixPngChunk(bytes, 8);
  }
  const what = `${width}x${height}, colour type ${ct}, ${depth}-bit${interlace ? ', Adam7' : ''}${palette ? `, ${palette.length} colours` : ''}${trns ? `, tRNS ${trns.length}` : ''}`;
  if (!ok) return { what, input: bytes, outcome: afterSize(width, height, 'E_IMAGE_DECODE') };
  if (!indexOk) return { what, input: bytes, outcome: afterSize(width, height, 'E_IMAGE_DECODE') };
  return { what, input: bytes, outcome: afterSize(width, height, 'ok'), pixels: { width, height, rgba: pngExpectedRgba(spec), tolerance: 0 } };
}

function randomJpeg(r: Rng): Generated {
  const n = pick(r, [1, 3, 3, 4]);
  const sampling = Array.from({ length: n }, (_, i): [number, number] =>
    r() < 0.8 ? (i === 0 ? pick(r, [[1, 1], [2, 2], [2, 1], [1, 2]] as [number, number][]) : [1, 1]) : [int(r, 1, 4), int(r, 1, 4)],
  );
  const width = side(r);
  const height = side(r);
  const progressive = r() < 0.4;
  const restartInterval = r() < 0.3 ? int(r, 1, 6) : 0;
  const quality = int(r, 5, 100);
  const pattern = int(r, 0, 2);
  const noise = randomBytes(r, 64);
  const rgb: Rgb = (x, y) => (pattern === 0 ? [x * 6, y * 6, 128] : pattern === 1 ? [noise[(x * 7 + y) & 63], noise[(x + y * 5) & 63], noise[(x ^ y) & 63]] : [200, 40, 90]);
  const input = encodeJpegFile({ width, height, rgb, sampling, progressive, restartInterval, quality });
  const what = `${width}x${height}, sampling ${sampling.map(([h, v]) => `${h}x${v}`).join(' ')}${progressive ? ', progressive' : ''}${restartInterval ? `, restart ${restartInterval}` : ''}, quality ${quality}`;
  // More than 10 blocks per MCU is outside the standard (libjpeg refuses it; we decode it).
  if (sampling.reduce((a, [h, v]) => a + h * v, 0) > 10) return { what, input };
  return { what, input, outcome: afterSize(width, height, 'ok'), pixels: { width, height, tolerance: 0 } };
}

function hugeSize(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.samples);
  const png = s.format === 'png';
  const fixed: [number, number][] = [[0, s.height], [s.width, 0], [16385, 1], [1, 16385], [65535, 65535], [8200, 6200], [16384, 3052], [7072, 7072], [20000, 3]];
  if (png) fixed.push([2 ** 31, 1], [2 ** 32 - 1, 2 ** 32 - 1], [1, 2 ** 31 - 1]);
  const random = r() < 0.3;
  const [w, h] = random ? [int(r, 1, png ? 70000 : 65535), int(r, 1, png ? 70000 : 65535)] : pick(r, fixed);
  const headerOnly = r() < 0.2;
  let input: Uint8Array;
  let what = `${s.name}: declares ${w}x${h}`;
  if (png) {
    input = headerOnly ? concat(PNG_SIGNATURE, ihdr(w, h, s.bytes[24], s.bytes[25])) : s.bytes.slice();
    const view = new DataView(input.buffer);
    view.setUint32(16, w);
    view.setUint32(20, h);
    if (r() < 0.8) fixPngChunk(input, 8);
    else what += ', CRC not fixed';
  } else {
    const sof = jpegSegments(s.bytes).find((g) => g.marker >= 0xc0 && g.marker <= 0xc2)!;
    input = headerOnly ? concat(s.bytes.subarray(0, 2), s.bytes.subarray(sof.start, sof.end), [0xff, 0xd9]) : s.bytes.slice();
    input.set([h >> 8, h & 255, w >> 8, w & 255], (headerOnly ? 2 : sof.start) + 5);
  }
  if (headerOnly) what += ', header only';
  // The data of a small file cannot fill a large image: a PNG inflates short, a JPEG has too few bits.
  const tooShort = !random && (png || w * h > 100 * s.width * s.height);
  return { what, input, outcome: (lim) => sizeOutcome(w, h, lim) ?? (headerOnly || tooShort ? 'E_IMAGE_DECODE' : undefined) };
}

function unsupported(r: Rng, c: Corpus): Generated {
  const jpeg = pick(r, c.jpeg);
  const sofAt = (b: Uint8Array): number => jpegSegments(b).find((g) => g.marker >= 0xc0 && g.marker <= 0xc2)!.start;
  switch (int(r, 0, 5)) {
    case 0: {
      const [width, height, depth, ct] = [side(r), side(r), pick(r, [1, 2, 4]), pick(r, [0, 3])];
      const samples = Array.from({ length: width * height }, () => int(r, 0, 2 ** depth - 1));
      const palette = ct === 3 ? Array.from({ length: 2 ** depth }, () => Array.from(randomBytes(r, 3))) : undefined;
      const input = encodePngFile({ width, height, colourType: ct, depth, samples, palette, interlace: true });
      // Refused as unsupported while fast-png decoded PNGs (it misread them); now decoded.
      const pixels = { width, height, rgba: pngExpectedRgba({ width, height, colourType: ct, depth, samples, palette }), tolerance: 0 };
      return { what: `Adam7 PNG, colour type ${ct}, ${depth}-bit, ${width}x${height}`, input, outcome: afterSize(width, height, 'ok'), pixels };
    }
    case 1: {
      const input = jpeg.bytes.slice();
      input[sofAt(input) + 1] = pick(r, [0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf]);
      return { what: `${jpeg.name}: SOF marker 0xff${input[sofAt(jpeg.bytes) + 1].toString(16)}`, input, outcome: () => 'E_IMAGE_FORMAT' };
    }
    case 2: {
      const input = jpeg.bytes.slice();
      const at = sofAt(input);
      input[at + 1] = pick(r, [0xc1, 0xc2]);
      input[at + 4] = pick(r, [12, 16]);
      return { what: `${jpeg.name}: ${input[at + 4]}-bit samples`, input, outcome: () => 'E_IMAGE_FORMAT' };
    }
    case 3: {
      const s = c.jpeg.find((j) => j.name === 'jpeg-cmyk')!;
      const app14 = jpegSegments(s.bytes).find((g) => g.marker === 0xee)!;
      const input = concat(s.bytes.subarray(0, app14.start), s.bytes.subarray(app14.end));
      return { what: 'CMYK JPEG without its Adobe marker', input, outcome: afterSize(s.width, s.height, 'E_IMAGE_FORMAT') };
    }
    case 4: {
      const s = pick(r, c.png);
      const input = concat(s.bytes.subarray(0, 33), pngChunk(pick(r, ['CgBI', 'ABCD', 'JHDR']), randomBytes(r, int(r, 0, 16))), s.bytes.subarray(33));
      return { what: `${s.name}: unknown critical chunk`, input, outcome: afterSize(s.width, s.height, 'E_IMAGE_FORMAT') };
    }
    default: {
      const heads = ['GIF89a', 'GIF87a', 'BM', 'RIFF\0\0\0\0WEBPVP8 ', 'II*\0', 'MM\0*', '\0\0\0\x18ftypheic', '\0\0\0\x1cftypavif', '<svg xmlns=', '%PDF-1.7', '\0\0\x01\0', 'qoif', '\xff\x0a', '\0\0\0\x0cjP  \r\n\x87\n', '\x89PNG\r\n\x1a', '\xff\xd8', ''];
      const head = pick(r, heads);
      const input = concat(ascii(head), head ? randomBytes(r, int(r, 0, 200)) : []);
      // A partial signature may be completed by the random bytes after it.
      const signed = [PNG_SIGNATURE, [0xff, 0xd8, 0xff]].some((sig) => sig.every((v, i) => input[i] === v));
      return { what: `${JSON.stringify(head)} file`, input, outcome: signed ? undefined : () => 'E_IMAGE_FORMAT' };
    }
  }
}

function bomb(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.png);
  const z = r() < 0.8 ? c.bombs[0] : c.bombs[1];
  const list = pngChunks(s.bytes);
  const op = int(r, 0, 3);
  if (op < 2) {
    // Empty stored blocks (5 bytes, no output) in front make a decoder that sizes its steps by
    // what it has consumed take big ones.
    const padding = new Uint8Array(op * 65535);
    for (let i = 0; i < padding.length; i += 5) padding.set([0, 0, 0, 0xff, 0xff], i);
    const data = concat(z.subarray(0, 2), padding, z.subarray(2));
    const parts = list.filter((k) => k.type !== 'IDAT').map((k) => s.bytes.subarray(k.start, k.end));
    parts.splice(list.findIndex((k) => k.type === 'IDAT'), 0, pngChunk('IDAT', data));
    const what = `image data replaced by ${z.length} bytes that inflate 1000-fold${op ? ' after 64 KB of empty blocks' : ''}`;
    return { what: `${s.name}: ${what}`, input: concat(PNG_SIGNATURE, ...parts), outcome: afterSize(s.width, s.height, 'E_IMAGE_DECODE') };
  }
  const chunk = pngChunk(op === 2 ? 'iCCP' : 'zTXt', concat(ascii(op === 2 ? 'ICC\0\0' : 'Comment\0\0'), z));
  return genuine(s, `${op === 2 ? 'iCCP' : 'zTXt'} chunk that inflates 1000-fold`, concat(s.bytes.subarray(0, 33), chunk, s.bytes.subarray(33)));
}

/**
 * Padding that costs a decoder per item, not per pixel: empty IDAT chunks and image data split
 * into tiny chunks (the same pixels), a scan repeated (up to past the scan and visit limits), a
 * run of restart markers inside a scan.
 */
function flood(r: Rng, c: Corpus): Generated {
  const op = int(r, 0, 3);
  if (op < 2) {
    const s = pick(r, c.png);
    const list = pngChunks(s.bytes);
    const idat = concat(...list.filter((k) => k.type === 'IDAT').map((k) => s.bytes.subarray(k.start + 8, k.end - 4)));
    const size = op === 0 ? 0 : int(r, 1, 4);
    const pieces = op === 0 ? [...Array(int(r, 1, 20000)).fill(pngChunk('IDAT')), pngChunk('IDAT', idat)] : Array.from({ length: Math.ceil(idat.length / size) }, (_, i) => pngChunk('IDAT', idat.subarray(i * size, (i + 1) * size)));
    const parts = list.filter((k) => k.type !== 'IDAT').map((k) => s.bytes.subarray(k.start, k.end));
    parts.splice(list.findIndex((k) => k.type === 'IDAT'), 0, ...pieces);
    return genuine(s, op === 0 ? `${pieces.length - 1} empty IDAT chunks` : `image data in ${size}-byte IDAT chunks`, concat(PNG_SIGNATURE, ...parts));
  }
  const s = pick(r, c.jpeg);
  const segs = jpegSegments(s.bytes);
  const scans = segs.filter((g) => g.marker === 0xda);
  const scan = pick(r, scans);
  if (op === 2) {
    const n = pick(r, [MAX_JPEG_SCANS - scans.length, MAX_JPEG_SCANS + 1 - scans.length, int(r, 1, 30)]);
    const copies = Array(Math.max(1, n)).fill(s.bytes.subarray(scan.start, scan.end));
    return { what: `${s.name}: scan at ${scan.start} repeated ${copies.length} times`, input: concat(s.bytes.subarray(0, scan.end), ...copies, s.bytes.subarray(scan.end)) };
  }
  const markers = new Uint8Array(2 * pick(r, [1, 64, 4096, int(r, 1, 200000)]));
  for (let i = 0; i < markers.length; i += 2) markers.set([0xff, 0xd0 + ((i >> 1) & 7)], i);
  const at = int(r, scan.start + 4, scan.end);
  return { what: `${s.name}: ${markers.length / 2} restart markers at ${at}`, input: concat(s.bytes.subarray(0, at), markers, s.bytes.subarray(at)) };
}

function garbage(r: Rng): Generated {
  const head = pick(r, [PNG_SIGNATURE, Uint8Array.from([0xff, 0xd8, 0xff]), new Uint8Array(0)]);
  const input = concat(head, randomBytes(r, int(r, 0, 600)));
  const known = head.length > 0 || (input[0] !== 0xff && input[0] !== 0x89);
  return { what: `${input.length} random bytes${head.length ? ` after a ${head.length === 8 ? 'PNG' : 'JPEG'} signature` : ''}`, input, outcome: known ? (head.length ? anyError : () => 'E_IMAGE_FORMAT') : undefined };
}

/**
 * A genuine file with an EXIF block added, most of them hostile: any orientation value (valid or
 * not), either byte order, then truncated, with IFD0's offset or entry count or the tag's type and
 * count overwritten, or random bytes. Decoding must give the same pixels; only the turn may change.
 */
function hostileExif(r: Rng, c: Corpus): Generated {
  const s = pick(r, c.samples);
  let tiff = exifTiff(int(r, 0, 10), r() < 0.5);
  const edits: string[] = [];
  for (let k = int(r, 0, 3); k > 0; k--) {
    const field = pick(r, [4, 5, 8, 9, 10, 12, 14, 16, 18, 22, 24, 26, 30, 34, int(r, 0, tiff.length - 1)]);
    const v = pick(r, [0, 1, 0xff, 0x7f, 8, int(r, 0, 255)]);
    if (field < tiff.length) tiff[field] = v;
    edits.push(`byte ${field} = ${v}`);
  }
  if (r() < 0.25) {
    tiff = tiff.subarray(0, int(r, 0, tiff.length));
    edits.push(`cut to ${tiff.length} bytes`);
  }
  if (r() < 0.1) {
    tiff = randomBytes(r, int(r, 0, 64));
    edits.push('random bytes');
  }
  const input = s.format === 'jpeg' ? withJpegSegment(s.bytes, exifApp1(tiff)) : withPngExif(s.bytes, tiff, r() < 0.3);
  const options = r() < 0.3 ? { orientation: pick(r, ['apply', 'ignore'] as const) } : undefined;
  return { ...genuine(s, `EXIF block (${edits.join(', ') || 'as written'})`, input), options };
}

function rgbaInput(r: Rng): Generated {
  const [w, h] = [side(r), side(r)];
  const data = randomBytes(r, w * h * 4);
  const ok = (what: string, input: unknown, options?: { top?: number }): Generated => ({ what, input, options, outcome: () => 'ok' });
  const bad = (what: string, input: unknown, options?: { top?: number }): Generated => ({ what, input, options, outcome: () => 'E_ARGUMENT' });
  switch (int(r, 0, 9)) {
    case 0:
      if (r() < 0.7) return ok(`${w}x${h} RGBA`, { data, width: w, height: h });
      if (r() < 0.5) {
        const o = int(r, 1, 8);
        return ok(`${w}x${h} RGBA with orientation ${o}`, { data, width: w, height: h, orientation: o });
      }
      const o = pick<unknown>(r, [0, 9, 1.5, Number.NaN, '6', null, -1]);
      return bad(`${w}x${h} RGBA with orientation ${String(o)}`, { data, width: w, height: h, orientation: o });
    case 1:
      return ok(`${w}x${h} RGBA in a Uint8ClampedArray, as ${h}x${w}`, { data: new Uint8ClampedArray(data.buffer), width: h, height: w });
    case 2: {
      const at = int(r, 1, 7);
      const buffer = new Uint8Array(data.length + 16);
      buffer.set(data, at);
      return ok(`${w}x${h} RGBA in a view at byte ${at}`, { data: buffer.subarray(at, at + data.length), width: w, height: h, extra: 'ignored' });
    }
    case 3: {
      const long = pick(r, [1000, 4000]);
      const wide = r() < 0.5;
      return ok(`${wide ? `${long}x1` : `1x${long}`} RGBA`, { data: new Uint8Array(long * 4), width: wide ? long : 1, height: wide ? 1 : long });
    }
    case 4: {
      const n = data.length + pick(r, [-4, -1, 1, 4, -data.length]);
      return bad(`${w}x${h} RGBA with ${n} bytes`, { data: data.subarray(0, Math.min(n, data.length)).length === n ? data.subarray(0, n) : concat(data, new Uint8Array(n - data.length)), width: w, height: h });
    }
    case 5: {
      const v = pick<unknown>(r, [0, -1, 1.5, Number.NaN, Infinity, -Infinity, '4', null, undefined, 2 ** 31, -0, 1e300, [], {}]);
      return bad(`RGBA with a width of ${String(v)}`, r() < 0.5 ? { data, width: v, height: h } : { data, width: w, height: v });
    }
    case 6: {
      const makers: [string, () => unknown][] = [
        ['Uint16Array', () => new Uint16Array(w * h * 4)],
        ['Float32Array', () => new Float32Array(w * h * 4)],
        ['Int8Array', () => new Int8Array(w * h * 4)],
        ['Array', () => Array.from(data)],
        ['ArrayBuffer', () => data.slice().buffer],
        ['DataView', () => new DataView(data.slice().buffer)],
        ['null', () => null],
        ['string', () => 'x'.repeat(w * h * 4)],
      ];
      const [name, make] = pick(r, makers);
      return bad(`RGBA data as ${name}`, { data: make(), width: w, height: h });
    }
    case 7: {
      const detached = data.slice();
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      return bad(`${w}x${h} RGBA in a detached buffer`, { data: detached, width: w, height: h });
    }
    case 8: {
      const inputs: [string, () => unknown][] = [
        ['null', () => null],
        ['undefined', () => undefined],
        ['a number', () => 42],
        ['a string', () => 'cat.jpg'],
        ['an empty object', () => ({})],
        ['an array', () => [1, 2, 3]],
        ['an ArrayBuffer', () => new ArrayBuffer(16)],
        ['an Int8Array', () => new Int8Array(16)],
        ['a Uint8ClampedArray of a PNG', () => new Uint8ClampedArray(encodePngFile({ width: 1, height: 1, colourType: 0, depth: 8, samples: [7] }))],
        ['a DataView', () => new DataView(new ArrayBuffer(8))],
        ['a symbol', () => Symbol('image')],
      ];
      const [name, make] = pick(r, inputs);
      return bad(`the image is ${name}`, make());
    }
    default: {
      const top = pick<unknown>(r, [0, -1, 1.5, Number.NaN, '3', Infinity, 1, 3, 1e9]);
      const valid = top === 1 || top === 3 || top === 1e9;
      return (valid ? ok : bad)(`${w}x${h} RGBA, top ${String(top)}`, { data, width: w, height: h }, { top: top as number });
    }
  }
}

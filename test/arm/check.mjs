// Checks the built package (dist/node.js) against the x86-64 goldens on whatever machine runs it:
// int8 models must give the golden int32 output sums exactly (bit for bit), f32 models must stay
// within 1e-4 of onnxruntime's probabilities with the same top-5. Run by test/arm/run.sh under qemu
// (arm64 with the official Node 20 build, armv7 with Debian's Node 18), and works on x86 too:
// `node test/arm/check.mjs` (after `npm run build`).
// Plain JavaScript that Node 18 understands, so Debian's armhf Node can run it.
// Also prints an FNV-1a digest of every model's logits over all images: wasm SIMD without relaxed
// ops is deterministic, so the f32 digests should match across machines too (informational).
// Environment:
//   SQUEEZEWASM_INT8_DOT=auto|dot16|relaxed|relaxed-s8|relaxed-u8  the int8 models' `int8Dot` load
//     option (default auto). The relaxed ones force the relaxed dot product (Node 22+): under qemu
//     the auto probe keeps dot16, because V8 has not optimized its probe by the time the model is
//     planned (unless --no-liftoff); `relaxed-s8` also reads u8 activations as one signed plane (sdot).
//   SQUEEZEWASM_CHECK_MODELS=int8|f32|all    which bundled models to check (default all).
//   SQUEEZEWASM_F32_IMAGES=<n>               the f32 models check only the first n fixture images
//     (default all): emulated float is slow, and test:arm's second arm64 run needs only the kernels.
// Under --print-wasm-code V8 writes the machine code to stdout, so the report goes to stderr.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
if (process.execArgv.includes('--print-wasm-code')) console.log = console.error;
if (!existsSync(`${root}dist/node.js`)) {
  console.error('check.mjs: dist/node.js is missing; run `npm run build` first');
  process.exit(2);
}

// A function returning v128.const 0: valid only where the engine has fixed-width SIMD.
const simdProbe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, ...new Array(16).fill(0), 11]);
const simd = WebAssembly.validate(simdProbe);
console.log(`squeezewasm check: node ${process.version}, arch ${process.arch}, wasm SIMD ${simd ? 'yes' : 'NO'}`);
if (!simd) {
  console.error('FAILED: this engine has no WebAssembly SIMD, which squeezewasm requires');
  process.exit(1);
}

const int8Dot = process.env.SQUEEZEWASM_INT8_DOT || 'auto';
const only = process.env.SQUEEZEWASM_CHECK_MODELS || 'all';
if (!['auto', 'dot16', 'relaxed', 'relaxed-s8', 'relaxed-u8'].includes(int8Dot) || !['all', 'int8', 'f32'].includes(only)) {
  console.error(`check.mjs: SQUEEZEWASM_INT8_DOT must be auto, dot16, relaxed, relaxed-s8 or relaxed-u8 (got ${int8Dot}); SQUEEZEWASM_CHECK_MODELS all, int8 or f32 (got ${only})`);
  process.exit(2);
}

const f32Images = Number(process.env.SQUEEZEWASM_F32_IMAGES || Infinity);
if (!(f32Images > 0)) {
  console.error(`check.mjs: SQUEEZEWASM_F32_IMAGES must be a positive number (got ${process.env.SQUEEZEWASM_F32_IMAGES})`);
  process.exit(2);
}

const { loadClassifier } = await import(`${root}dist/node.js`);

const fixtures = `${root}test/fixtures/`;
const images = readdirSync(`${fixtures}images`).sort();
const golden = (name) => JSON.parse(readFileSync(`${fixtures}goldens/${name}.json`, 'utf8')).images;
const topK = (xs, k) =>
  Array.from(xs, (_, i) => i)
    .sort((a, b) => xs[b] - xs[a] || a - b)
    .slice(0, k);

function fnv1a(hash, bytes) {
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 16777619) >>> 0;
  return hash;
}

// [bundled model, golden file]
const models = [
  ['squeezenet1.1-int8', 'squeezenet1.1-int8'],
  ['squeezenet1.0-int8', 'squeezenet1.0-int8'],
  ['squeezenet1.1-f32', 'squeezenet1.1'],
  ['squeezenet1.0-f32', 'squeezenet1.0'],
].filter(([model]) => only === 'all' || model.endsWith(`-${only}`));

console.log(`${images.length} images: ${images.join(' ')}`);
let failures = 0;
for (const [model, goldenName] of models) {
  const want = golden(goldenName);
  const missing = images.filter((file) => !want[file]);
  const extra = Object.keys(want).filter((file) => !images.includes(file));
  if (missing.length || extra.length) {
    console.log(`  goldens/${goldenName}.json does not match the fixture images: missing ${missing.join(' ') || '-'}, extra ${extra.join(' ') || '-'}`);
    failures += extra.length; // a missing image is counted below, as not matched
  }
  const int8 = model.endsWith('-int8');
  const net = await loadClassifier(model, int8 ? { int8Dot } : {});
  let matches = 0;
  let maxDiff = 0;
  let digest = 2166136261;
  const times = [];
  const files = int8 ? images : images.slice(0, f32Images);
  for (const file of files) {
    const bytes = new Uint8Array(readFileSync(`${fixtures}images/${file}`));
    const t0 = performance.now();
    const result = net.classifySync(bytes);
    times.push(performance.now() - t0);
    digest = fnv1a(digest, new Uint8Array(result.logits.buffer, result.logits.byteOffset, result.logits.byteLength));
    if (!want[file]) continue;
    let ok;
    if (int8) {
      // Integer arithmetic must be bit-exact on every platform: compare the raw int32 sums that the
      // last layer leaves in wasm memory (the dequantized float logits are derived from them).
      const { ptr, c, dtype } = net.planned.output;
      if (dtype !== 'i32') throw new Error(`${model}: expected an i32 output, the plan has ${dtype}`);
      const got = new Int32Array(net.planned.kernels.memory.buffer, ptr, c);
      const sums = want[file].outputSums;
      ok = got.length === sums.length && sums.every((s, i) => got[i] === s);
    } else {
      const probs = want[file].probabilities;
      let diff = probs.length === result.probabilities.length ? 0 : Infinity;
      for (let i = 0; i < probs.length; i++) diff = Math.max(diff, Math.abs(result.probabilities[i] - probs[i]));
      maxDiff = Math.max(maxDiff, diff);
      ok = diff <= 1e-4 && topK(result.probabilities, 5).join() === topK(probs, 5).join();
    }
    if (ok) matches++;
    else console.log(`  MISMATCH ${model} ${file}`);
  }
  failures += files.length - matches;
  const dot = net.planned.int8Dot;
  net.dispose();
  // The first inference includes wasm tier-up (slow under qemu), so report the median.
  const ms = times.sort((a, b) => a - b)[times.length >> 1];
  const what = int8 ? `${matches}/${files.length} exact (int8Dot ${dot})` : `${matches}/${files.length} ok, max prob diff ${maxDiff.toExponential(2)}`;
  console.log(`${model.padEnd(20)} ${what}, ${ms.toFixed(0)} ms/inference (median), logits digest ${digest.toString(16).padStart(8, '0')}`);
}
// int8 models imported from .tflite (TensorFlow Lite's rounding) must give TFLite's reference
// interpreter's outputs (test/fixtures/tflite/manifest.json) exactly, here too.
if (only !== 'f32') {
  const { convertTflite, writeModel } = await import(`${root}dist/node.js`);
  const manifest = JSON.parse(readFileSync(`${fixtures}tflite/manifest.json`, 'utf8')).models;
  const f = Math.fround;
  const roundAway = (v) => Math.sign(v) * Math.floor(Math.abs(v) + 0.5);
  const pixels = (file) => {
    const npy = new Uint8Array(readFileSync(`${fixtures}tflite/${file}`));
    return npy.subarray(10 + (npy[8] | (npy[9] << 8)));
  };
  for (const name of ['keras-squeezenet-int8', 'ops-int8']) {
    const m = manifest[name];
    const s = m.input_from_pixels;
    const classes = m.output.shape[m.output.shape.length - 1];
    const meta = { name, input: { channelOrder: 'RGB', divisor: s.pixel_divisor, mean: [s.mean, s.mean, s.mean], std: [s.divisor, s.divisor, s.divisor], resizeShorter: m.input.shape[1] }, labels: Array.from({ length: classes }, (_, i) => `c${i}`), provenance: { source: name, license: 'test fixture' } };
    const net = await loadClassifier(writeModel(convertTflite(new Uint8Array(readFileSync(`${fixtures}tflite/${m.file}`)), meta)), { int8Dot });
    const { ptr } = net.planned.input;
    const q = net.planned.inputQuant;
    let matches = 0;
    for (const g of m.goldens) {
      const slot = new Uint8Array(net.planned.kernels.memory.buffer, ptr, m.input.shape[1] * m.input.shape[2] * 3);
      // TFLite's QUANTIZE of x = (p / divisor - mean) / std, every step in float32; stored as int8 + 128.
      pixels(g.pixels).forEach((p, i) => (slot[i] = Math.min(255, Math.max(0, roundAway(f(f(f(f(p / s.pixel_divisor) - s.mean) / s.divisor) / f(q.scale))) + q.zeroPoint))));
      const probs = net.runTimed(() => performance.now()).classification.probabilities;
      const got = m.output.dtype === 'int8' ? Array.from(probs, (v) => Math.round(v * 256) - 128) : Array.from(probs);
      if (got.length === g.output.length && got.every((v, i) => v === g.output[i])) matches++;
      else console.log(`  MISMATCH ${name} ${g.image}`);
    }
    failures += m.goldens.length - matches;
    console.log(`${name.padEnd(20)} ${matches}/${m.goldens.length} equal to TFLite's reference interpreter (int8Dot ${net.planned.int8Dot})`);
    net.dispose();
  }
}
console.log(failures ? `FAILED: ${failures} mismatches` : 'all match');
process.exitCode = failures ? 1 : 0;

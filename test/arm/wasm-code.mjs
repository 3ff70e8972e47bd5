// The Arm code check of `npm run test:arm` (test/arm/run.sh): does V8's optimized code of the
// relaxed int8 kernel use the dot-product instruction `sdot`? Two steps, because V8 prints the
// code on the process's stdout:
//
//   node --no-liftoff --print-wasm-code test/arm/wasm-code.mjs > code.txt      (on the target)
//     loads squeezenet1.1-int8 with int8Dot 'relaxed' and classifies one fixture image;
//     --no-liftoff makes V8 compile each function with its optimizing compiler on first call, so
//     the printed code is the code that runs once a model is warm.
//   node test/arm/wasm-code.mjs inspect code.txt sdot|no-sdot                   (anywhere)
//     finds p7_igemm_6x8c4_relaxed in the listing (by its export index: asc writes no name
//     section, V8 names it wasm-function[N]), prints its instruction and `sdot` counts, and fails
//     unless it was optimized and has `sdot` (sdot) or none (no-sdot).
//
// Under `qemu-aarch64-static -cpu cortex-a76` (the Pi 5's core, which has the dot-product
// extension) V8 emits `sdot`; under `-cpu cortex-a72` (Pi 4, no dot product) a sequence of
// widening multiplies that computes the same integers for operands in range.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const KERNEL = 'p7_igemm_6x8c4_relaxed';
const [mode, listing, expect] = process.argv.slice(2);

if (mode === undefined) {
  const { loadClassifier } = await import(`${root}dist/node.js`);
  const net = await loadClassifier('squeezenet1.1-int8', { int8Dot: 'relaxed' });
  const images = `${root}test/fixtures/images/`;
  const top = net.classifySync(new Uint8Array(readFileSync(images + readdirSync(images).sort()[0]))).top[0];
  console.log(`wasm-code.mjs: squeezenet1.1-int8, int8Dot ${net.planned.int8Dot}: ${top.label}`);
} else if (mode === 'inspect' && listing && (expect === 'sdot' || expect === 'no-sdot')) {
  const { codeOf, parseWasmCode, wasmExports } = await import(`${root}scripts/v8-code.mjs`);
  const exports = wasmExports(readFileSync(`${root}dist/squeezewasm-relaxed.wasm`));
  const code = codeOf(parseWasmCode(readFileSync(listing, 'utf8'), 'arm64'), exports, KERNEL);
  if (!code) {
    console.log(`FAILED: ${listing} has no code of ${KERNEL} (wasm-function[${exports.get(KERNEL)}])`);
    process.exit(1);
  }
  const count = (re) => code.instructions.filter((i) => re.test(i.text)).length;
  const sdot = count(/^sdot\b/);
  const ok = code.compiler === 'TurboFan' && (expect === 'sdot' ? sdot > 0 : sdot === 0);
  // smull/smull2 are the widening multiplies of the emulation (and of the requantization).
  console.log(`${KERNEL} (wasm-function[${code.index}], ${code.compiler}): ${code.instructions.length} instructions, ${sdot} sdot, ${count(/^smull2?\b/)} smull/smull2; expected ${expect}: ${ok ? 'ok' : 'FAILED'}`);
  process.exitCode = ok ? 0 : 1;
} else {
  console.error('usage: node --no-liftoff --print-wasm-code test/arm/wasm-code.mjs > code.txt\n       node test/arm/wasm-code.mjs inspect code.txt sdot|no-sdot');
  process.exitCode = 2;
}

// The Arm code check of `npm run test:arm` (test/arm/run.sh): does V8's optimized code of the
// relaxed int8 kernel use the dot-product instruction `sdot`?
//
//   node test/arm/wasm-code.mjs <listing> sdot|no-sdot
//
// <listing> is what V8 printed on stdout while test/arm/check.mjs ran under
// `node --no-liftoff --print-wasm-code` with a relaxed SQUEEZEWASM_INT8_DOT (--no-liftoff: every
// function compiled by the optimizing compiler on first call, so the printed code is the code a warm
// model runs). The script finds p7_igemm_6x8c4_relaxed in it (by its export index: asc writes no
// name section, V8 names it wasm-function[N]), prints its instruction and `sdot` counts, and fails
// unless it was optimized and has `sdot` (sdot) or none (no-sdot).
//
// Under `qemu-aarch64-static -cpu cortex-a76` (the Pi 5's core, which has the dot-product
// extension) V8 emits `sdot`; under `-cpu cortex-a72` (Pi 4, no dot product) a sequence of
// widening multiplies that computes the same integers for operands in range.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { codeOf, parseWasmCode, wasmExports } from '../../scripts/v8-code.mjs';

const root = fileURLToPath(new URL('../../', import.meta.url));
const KERNEL = 'p7_igemm_6x8c4_relaxed';
const [listing, expect] = process.argv.slice(2);

if (!listing || (expect !== 'sdot' && expect !== 'no-sdot')) {
  console.error('usage: node test/arm/wasm-code.mjs <--print-wasm-code listing> sdot|no-sdot');
  process.exit(2);
}
const exports = wasmExports(readFileSync(`${root}dist/squeezewasm-relaxed.wasm`));
const code = codeOf(parseWasmCode(readFileSync(listing, 'utf8'), 'arm64'), exports, KERNEL);
if (!code) {
  console.log(`code check: FAILED, ${listing} has no code of ${KERNEL} (wasm-function[${exports.get(KERNEL)}])`);
  process.exit(1);
}
const count = (re) => code.instructions.filter((i) => re.test(i.text)).length;
const sdot = count(/^sdot\b/);
const ok = code.compiler === 'TurboFan' && (expect === 'sdot' ? sdot > 0 : sdot === 0);
// smull/smull2 are the widening multiplies of the emulation (and of the requantization).
console.log(`code check: ${KERNEL} (wasm-function[${code.index}], ${code.compiler}): ${code.instructions.length} instructions, ${sdot} sdot, ${count(/^smull2?\b/)} smull/smull2; expected ${expect}: ${ok ? 'ok' : 'FAILED'}`);
process.exitCode = ok ? 0 : 1;

// Reading the machine code V8 prints for a wasm module (`node --print-wasm-code`), for the code
// check of `npm run test:arm` (test/arm/wasm-code.mjs) and the Pi estimate (bench/pi-estimate/).
// V8 names a function `wasm-function[N]` when the module has no name section (asc writes none in
// release builds), N its index in the module's function space: wasmExports maps the exported names
// to those indices.

/**
 * Exported functions of a wasm binary: name -> function index (imported functions come first in
 * the index space, so they are counted).
 * @param {Uint8Array} bytes
 * @returns {Map<string, number>}
 */
export function wasmExports(bytes) {
  let p = 8;
  const leb = () => {
    let value = 0;
    let shift = 0;
    let byte;
    do {
      byte = bytes[p++];
      value += (byte & 127) * 2 ** shift;
      shift += 7;
    } while (byte & 128);
    return value;
  };
  const name = () => {
    const n = leb();
    const s = new TextDecoder().decode(bytes.subarray(p, p + n));
    p += n;
    return s;
  };
  const exports = new Map();
  while (p < bytes.length) {
    const id = bytes[p++];
    const end = leb() + p;
    if (id === 2) {
      // Imports: only their count matters, which the export indices already include.
      for (let i = leb(); i > 0; i--) {
        name();
        name();
        const kind = bytes[p++];
        if (kind === 0) leb();
        else if (kind === 1) { p++; if (bytes[p++] & 1) leb(); leb(); }
        else if (kind === 2) { if (bytes[p++] & 1) leb(); leb(); }
        else if (kind === 3) p += 2;
        else throw new Error(`wasmExports: unknown import kind ${kind}`);
      }
    } else if (id === 7) {
      for (let i = leb(); i > 0; i--) {
        const n = name();
        const kind = bytes[p++];
        const index = leb();
        if (kind === 0) exports.set(n, index);
      }
    }
    p = end;
  }
  return exports;
}

/**
 * @typedef {{ addr: bigint, offset: number, bytes: Uint8Array, text: string }} Instruction
 * @typedef {{ index: number, compiler: string, instructions: Instruction[] }} WasmCode
 */

/**
 * The functions in V8's `--print-wasm-code` output of `arch`, in the order printed (a function
 * compiled twice, by Liftoff and then by TurboFan, appears twice). Instruction bytes are in memory
 * order: the arm64 listing shows each instruction as a 32-bit word, most significant byte first.
 * @param {string} text
 * @param {'arm64' | 'x64'} arch
 * @returns {WasmCode[]}
 */
export function parseWasmCode(text, arch) {
  const functions = [];
  let current;
  let inInstructions = false;
  for (const line of text.split('\n')) {
    const name = /^name: wasm-function\[(\d+)\]/.exec(line);
    if (name) {
      current = { index: Number(name[1]), compiler: '', instructions: [] };
      functions.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith('compiler: ')) current.compiler = line.slice(10).trim();
    else if (line.startsWith('Instructions (size')) inInstructions = true;
    else if (line.trim() === '' || line.startsWith('--- End code')) inInstructions = false;
    else if (inInstructions) {
      // Lines of other forms in the block ("wasm stub call", safepoint slots) are annotations.
      const m = /^0x([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+(\S.*)$/.exec(line);
      if (!m) continue;
      const bytes = Uint8Array.from(m[3].match(/../g), (b) => parseInt(b, 16));
      if (arch === 'arm64') bytes.reverse();
      current.instructions.push({ addr: BigInt(`0x${m[1]}`), offset: parseInt(m[2], 16), bytes, text: m[4].trim() });
    }
  }
  return functions;
}

/**
 * The last printed code of exported function `name` (TurboFan's, once it has tiered up).
 * @param {WasmCode[]} functions
 * @param {Map<string, number>} exports
 * @param {string} name
 */
export function codeOf(functions, exports, name) {
  const index = exports.get(name);
  if (index === undefined) throw new Error(`${name} is not exported by the module`);
  return functions.filter((f) => f.index === index).at(-1);
}

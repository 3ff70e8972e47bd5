/**
 * Which machine code runs, and how often, in each step of an inference, as V8 compiles it for
 * another CPU: bench/pi-estimate/driver.mjs runs under qemu user-mode emulation with V8's optimizing
 * compiler for every wasm function (`--no-liftoff`), printing that code (`--print-wasm-code`),
 * while qemu logs every translation block it translates (`-d in_asm`: its instructions) and executes
 * (`-d exec,nochain`: each execution, chaining off so none is skipped), only inside the wasm code
 * (`-dfilter`). A translation block is straight-line code ending at a branch, so the counts are
 * exact, for every kernel and every part of it.
 *
 * The wasm code's addresses must be known before the traced run, for the filter: a first run prints
 * the code, and the traced run must put it at the same addresses, which V8 does with a fixed
 * `--random-seed` and no background threads (`--single-threaded`); the traced run's listing is
 * compared with the first's.
 * @packageDocumentation
 */
import { spawn, execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { codeOf, parseWasmCode, wasmExports, type Instruction, type WasmCode } from '../../scripts/v8-code.mjs';

/** An emulated machine: qemu, its CPU model, and the Node that runs there. */
export interface Machine {
  arch: 'arm64' | 'x64';
  /** The qemu command and its options before the program (`-cpu`, `-L`). */
  qemu: string[];
  node: string;
}

/** One step of the driver's marked inference. */
export interface Segment {
  config: string;
  step: string;
  op: string;
  macs: number;
  /** The kernel export the step calls ('' for a step without one). */
  kernel: string;
}

export interface Trace {
  /** The optimized code of every wasm function that ran, by function index. */
  code: Map<number, WasmCode>;
  /** Export name by function index. */
  names: Map<number, string>;
  segments: Segment[];
  /** Per segment: executions of each translation block, by its first address. */
  counts: Map<bigint, number>[];
  /** Each translation block's instruction addresses. */
  blocks: Map<bigint, bigint[]>;
  /** Every instruction of the listed code, by address, with its function's index. */
  instructions: Map<bigint, Instruction & { fn: number }>;
  /** The marker function's index (its blocks are not part of any step). */
  marker: number;
}

const V8_FLAGS = ['--random-seed=7', '--single-threaded', '--no-liftoff', '--print-wasm-code'];
const DRIVER = new URL('./driver.mjs', import.meta.url).pathname;

/** Runs `cmd`, returning its stdout; stderr passes through. */
function run(cmd: string[], onSpawn?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
    onSpawn?.();
    const out: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out).toString()) : reject(new Error(`${cmd.join(' ')}: exit ${code}`))));
  });
}

/** The driver's `pi-estimate: {...}` line. */
export function driverResult<T>(stdout: string): T {
  const line = stdout.split('\n').find((l) => l.startsWith('pi-estimate: '));
  if (!line) throw new Error('the driver printed no result');
  return JSON.parse(line.slice('pi-estimate: '.length)) as T;
}

/** The last printed (optimized) code of each function, by index. */
function optimizedCode(listing: string, arch: Machine['arch']): Map<number, WasmCode> {
  const code = new Map<number, WasmCode>();
  for (const f of parseWasmCode(listing, arch)) if (f.compiler === 'TurboFan') code.set(f.index, f);
  return code;
}

/** A translation block as qemu's `-d in_asm` prints it when translating it. */
interface Printed {
  last: bigint;
  count: number;
}

/**
 * Counts, per segment, the executions of each translation block in qemu's log, read from a FIFO
 * as qemu writes it (gigabytes per inference). `-d in_asm` lines give each block's instructions
 * when it is translated, `-d exec` lines ("Trace 0: host [flags/pc/...]") each execution.
 */
async function readLog(fifo: string, markerPc: bigint): Promise<{ counts: Map<number, number>[]; printed: Map<bigint, Printed> }> {
  // Addresses as numbers (user-space addresses have 48 bits, exact in a double): parsing the hex
  // digits is cheaper than a substring per line, and qemu writes some 10^7 lines a second.
  const marker = Number(markerPc);
  const counts: Map<number, number>[] = [new Map()];
  let current = counts[0];
  const printed = new Map<bigint, Printed>();
  let block: Printed | undefined;
  let rest = '';
  for await (const chunk of createReadStream(fifo, { encoding: 'latin1', highWaterMark: 1 << 20 })) {
    const text = rest + (chunk as string);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; start = end + 1, end = text.indexOf('\n', start)) {
      if (text.charCodeAt(start) === 84 /* T */) {
        let pc = 0;
        for (let i = text.indexOf('/', start) + 1, n = i + 16; i < n; i++) {
          const c = text.charCodeAt(i);
          pc = pc * 16 + (c <= 57 ? c - 48 : c - 87);
        }
        if (pc === marker) counts.push((current = new Map()));
        current.set(pc, (current.get(pc) ?? 0) + 1);
      } else if (block) {
        const colon = text.indexOf(':', start);
        if (end === start || colon < 0 || colon > end || text.charCodeAt(start) !== 48 /* 0 */) {
          block = undefined;
        } else {
          const addr = BigInt(text.slice(start, colon));
          if (block.count++ === 0 && !printed.has(addr)) printed.set(addr, block);
          block.last = addr;
        }
      } else if (text.startsWith('IN:', start)) {
        block = { last: 0n, count: 0 };
      }
    }
    rest = text.slice(start);
  }
  return { counts, printed };
}

/** Whether an instruction (V8's listing text) ends a translation block: every control transfer does. */
export function transfersControl(text: string, arch: Machine['arch']): boolean {
  return arch === 'arm64' ? /^(b(\.\w+)?|bl|blr|br|ret|cbn?z|tbn?z|brk|udf|hlt)(\s|$)/.test(text) : /^(j\w+|call\w*|ret\w*|ud2|int3|hlt)(\s|$)/.test(text);
}

/**
 * The instructions of the translation block qemu starts at `pc`, from V8's listing: up to the
 * first control transfer, and never past qemu's limits (arm64: the end of the 4 KiB page; x64:
 * 4064 bytes; both: 512 instructions). Not from qemu's `in_asm` lines, whose x86 disassembler
 * misreads V8's `movq r10, imm64` and so gets later instructions wrong; those lines only check it.
 */
function blockAt(pc: bigint, code: WasmCode, at: Map<bigint, number>, arch: Machine['arch'], seen: Printed): bigint[] {
  const list = code.instructions;
  const addrs: bigint[] = [];
  for (let i = at.get(pc)!; i < list.length && addrs.length < 512; i++) {
    const ins = list[i];
    if (addrs.length > 0 && (arch === 'arm64' ? ins.addr >> 12n !== pc >> 12n : ins.addr - pc >= 4064n)) break;
    addrs.push(ins.addr);
    if (transfersControl(ins.text, arch)) break;
  }
  const last = list[at.get(pc)! + addrs.length - 1];
  // qemu's last printed address lies in the block's last instruction, or exactly on it on arm64.
  if (seen.last >= last.addr + BigInt(last.bytes.length) || (arch === 'arm64' && (seen.last !== last.addr || seen.count !== addrs.length))) {
    throw new Error(`the translation block at 0x${pc.toString(16)} ends at 0x${seen.last.toString(16)} for qemu, at 0x${last.addr.toString(16)} by V8's listing`);
  }
  return addrs;
}

/**
 * Runs `configs` in the driver on `machine` twice (listing, then trace) and returns the code, the
 * translation blocks and their counts per step.
 */
export async function traceMachine(machine: Machine, configs: string[], wasmFile: string): Promise<Trace> {
  const command = [...machine.qemu, machine.node, ...V8_FLAGS, DRIVER, 'trace', ...configs];
  const listing = await run(command);
  const code = optimizedCode(listing, machine.arch);
  const exports = wasmExports(readFileSync(wasmFile));
  const names = new Map([...exports].map(([name, index]) => [index, name]));
  const { marker } = driverResult<{ marker: string }>(listing);
  const markerCode = codeOf([...code.values()], exports, marker);
  if (!markerCode) throw new Error(`no optimized code of the marker ${marker}`);
  const addrs = [...code.values()].flatMap((f) => [f.instructions[0].addr, f.instructions.at(-1)!.addr]);
  const lo = addrs.reduce((a, b) => (a < b ? a : b));
  const hi = addrs.reduce((a, b) => (a > b ? a : b)) + 16n;

  const dir = mkdtempSync(join(tmpdir(), 'pi-estimate-'));
  const fifo = join(dir, 'log');
  execFileSync('mkfifo', [fifo]);
  try {
    const filter = ['-d', 'in_asm,exec,nochain', '-dfilter', `0x${lo.toString(16)}..0x${hi.toString(16)}`, '-D', fifo];
    const log = readLog(fifo, markerCode.instructions[0].addr);
    const [traced, { counts, printed }] = await Promise.all([run([machine.qemu[0], ...filter, ...machine.qemu.slice(1), machine.node, ...V8_FLAGS, DRIVER, 'trace', ...configs]), log]);
    const again = optimizedCode(traced, machine.arch);
    for (const [index, f] of code) {
      if (again.get(index)?.instructions[0].addr !== f.instructions[0].addr) throw new Error(`the traced run put wasm-function[${index}] elsewhere: V8's code placement was not reproducible`);
    }
    const { segments } = driverResult<{ segments: Segment[] }>(traced);
    // Segment i + 1 follows the i-th marker call; the steps are the last ones but the empty tail.
    const steps = counts.slice(counts.length - 1 - segments.length, counts.length - 1);
    const instructions = new Map<bigint, Instruction & { fn: number }>();
    const position = new Map<bigint, number>();
    for (const [fn, f] of code) {
      f.instructions.forEach((i, k) => {
        instructions.set(i.addr, { ...i, fn });
        position.set(i.addr, k);
      });
    }
    // Blocks outside the functions (V8's jump table, stubs) are not part of any kernel.
    const blocks = new Map<bigint, bigint[]>();
    for (const [pc, seen] of printed) if (instructions.has(pc)) blocks.set(pc, blockAt(pc, code.get(instructions.get(pc)!.fn)!, position, machine.arch, seen));
    const toBig = (m: Map<number, number>) => new Map([...m].map(([pc, n]) => [BigInt(pc), n]));
    return { code, names, segments, counts: steps.map(toBig), blocks, instructions, marker: markerCode.index };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the driver's `time` mode with `node` natively and returns its stdout (listing and result). */
export function timeNatively(node: string, flags: string[], rounds: number, configs: string[]): Promise<string> {
  return run([node, '--no-liftoff', '--print-wasm-code', ...flags, DRIVER, 'time', String(rounds), ...configs]);
}

export { optimizedCode };

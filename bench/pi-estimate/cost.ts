/**
 * Cycles of a traced inference on a modelled CPU: every piece of straight-line code that ran goes
 * through llvm-mca (LLVM's static model of a core's pipeline), and its cycles per execution times
 * its executions, summed, give each step's cycles.
 *
 * qemu's translation blocks end at every branch, so a loop body is often several blocks (V8 puts a
 * stack check and an exit test in it). Costed alone, each block would be repeated on its own and
 * could not overlap with its neighbours, so blocks that always run one after the other (the next
 * one by fall-through or by an unconditional branch, with the same count in every step) are joined
 * first, and a loop body becomes one region, repeated as the loop repeats it.
 * @packageDocumentation
 */
import { execFileSync } from 'node:child_process';
import type { Trace } from './trace.js';

/** How llvm-mca models a CPU. */
export interface Model {
  triple: 'aarch64' | 'x86_64';
  mcpu: string;
}

/** Cycles of each step, and of each function within it. */
export interface StepCost {
  cycles: number;
  /** Instructions executed. */
  instructions: number;
  byFunction: Map<string, number>;
}

const LLVM_MC = 'llvm-mc-19';
const LLVM_MCA = 'llvm-mca-19';
/** Iterations llvm-mca simulates per region: enough that filling the pipeline is a small part. */
const ITERATIONS = 200;

/** Where the last instruction of a block goes unconditionally, if it always branches: its target. */
function jumpTarget(text: string, arch: 'arm64' | 'x64'): bigint | undefined {
  const m = arch === 'arm64' ? /^b\s.*\(addr 0x([0-9a-f]+)\)/.exec(text) : /^jmpl?\s+0x([0-9a-f]+)/.exec(text);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Whether an instruction never falls through (unconditional branch, return). */
function endsFlow(text: string, arch: 'arm64' | 'x64'): boolean {
  return arch === 'arm64' ? /^(b|br|ret)(\s|$)/.test(text) : /^(jmp\w*|ret\w*)(\s|$)/.test(text);
}

/** The blocks joined into straight-line runs ("superblocks"), each with its blocks' shared counts. */
function superblocks(trace: Trace, arch: 'arm64' | 'x64'): { blocks: bigint[]; counts: number[] }[] {
  const vector = (pc: bigint) => trace.counts.map((c) => c.get(pc) ?? 0);
  const ran = [...trace.blocks.keys()].filter((pc) => vector(pc).some((n) => n > 0) && trace.instructions.has(pc));
  const key = new Map(ran.map((pc) => [pc, vector(pc).join()]));
  const next = new Map<bigint, bigint>();
  const hasPrev = new Set<bigint>();
  for (const pc of ran) {
    const addrs = trace.blocks.get(pc)!;
    const last = trace.instructions.get(addrs.at(-1)!)!;
    const follow = endsFlow(last.text, arch) ? jumpTarget(last.text, arch) : last.addr + BigInt(last.bytes.length);
    if (follow !== undefined && follow !== pc && key.get(follow) === key.get(pc) && !hasPrev.has(follow)) {
      next.set(pc, follow);
      hasPrev.add(follow);
    }
  }
  const result: { blocks: bigint[]; counts: number[] }[] = [];
  const used = new Set<bigint>();
  const chainFrom = (start: bigint) => {
    const blocks: bigint[] = [];
    for (let pc: bigint | undefined = start; pc !== undefined && !used.has(pc); pc = next.get(pc)) {
      used.add(pc);
      blocks.push(pc);
    }
    result.push({ blocks, counts: vector(start) });
  };
  // Chains from their heads, then what is left: loops whose blocks all have the same count.
  for (const pc of ran) if (!hasPrev.has(pc)) chainFrom(pc);
  for (const pc of [...ran].sort((a, b) => (a < b ? -1 : 1))) if (!used.has(pc)) chainFrom(pc);
  return result;
}

/** llvm-mc's disassembly of `bytes` (one instruction per line, AT&T syntax on x86). */
function disassemble(bytes: Uint8Array[], model: Model): string[] {
  const input = bytes.map((b) => Array.from(b, (x) => `0x${x.toString(16).padStart(2, '0')}`).join(' ')).join('\n');
  // Decoding needs only the instruction set: every extension V8 may use on either machine.
  const args = ['--disassemble', `-triple=${model.triple}`, model.triple === 'x86_64' ? '-mcpu=sapphirerapids' : '-mattr=+neon,+dotprod,+fullfp16,+rcpc,+lse'];
  const out = execFileSync(LLVM_MC, args, { input, maxBuffer: 1 << 28, stdio: ['pipe', 'pipe', 'inherit'] }).toString();
  return out.split('\n').filter((l) => l.startsWith('\t') && !l.startsWith('\t.'));
}

/** Cycles per execution of each region, from one llvm-mca run over all of them. */
function mcaCycles(regions: string[][], model: Model): number[] {
  // Unnamed regions, reported in order: llvm-mca 19 mismatches some named ones (r12 for r121).
  const input = regions.map((lines) => `# LLVM-MCA-BEGIN\n${lines.join('\n')}\n# LLVM-MCA-END`).join('\n');
  const args = [`-mtriple=${model.triple}`, `-mcpu=${model.mcpu}`, `-iterations=${ITERATIONS}`, '-skip-unsupported-instructions=lack-sched'];
  let out: string;
  try {
    out = execFileSync(LLVM_MCA, args, { input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] }).toString();
  } catch (e) {
    throw new Error(`${LLVM_MCA} ${args.join(' ')} failed: ${(e as { stderr?: Buffer }).stderr?.toString()}`);
  }
  const cycles: number[] = [];
  for (const m of out.matchAll(/\[(\d+)\] Code Region\s+Iterations:\s+(\d+)\s+Instructions:\s+\d+\s+Total Cycles:\s+(\d+)/g)) cycles[Number(m[1])] = Number(m[3]) / Number(m[2]);
  if (cycles.length !== regions.length || cycles.some((c) => c === undefined)) throw new Error(`llvm-mca reported ${cycles.filter((c) => c !== undefined).length} of ${regions.length} regions`);
  return cycles;
}

/** Each step's cycles on `model`, from `trace` (of that model's instruction set). */
export function costSteps(trace: Trace, arch: 'arm64' | 'x64', model: Model): StepCost[] {
  const sbs = superblocks(trace, arch).filter((sb) => trace.instructions.get(sb.blocks[0])!.fn !== trace.marker);
  const addrs = sbs.map((sb) => sb.blocks.flatMap((pc) => trace.blocks.get(pc)!));
  const flat = addrs.flat();
  const lines = disassemble(flat.map((a) => trace.instructions.get(a)!.bytes), model);
  if (lines.length !== flat.length) throw new Error(`${LLVM_MC} decoded ${lines.length} instructions of ${flat.length}`);
  let at = 0;
  const regions = addrs.map((a) => lines.slice(at, (at += a.length)));
  const cycles = mcaCycles(regions, model);
  return trace.segments.map((_, s) => {
    const cost: StepCost = { cycles: 0, instructions: 0, byFunction: new Map() };
    sbs.forEach((sb, i) => {
      const n = sb.counts[s];
      if (!n) return;
      // A function that is not exported is a helper of the kernel the step calls (asc writes no
      // names in release builds), so it is named after that kernel.
      const index = trace.instructions.get(sb.blocks[0])!.fn;
      const fn = trace.names.get(index) ?? `${trace.segments[s].kernel || '?'}: wasm-function[${index}]`;
      cost.cycles += n * cycles[i];
      cost.instructions += n * addrs[i].length;
      cost.byFunction.set(fn, (cost.byFunction.get(fn) ?? 0) + n * cycles[i]);
    });
    return cost;
  });
}

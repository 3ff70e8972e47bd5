/**
 * The one owner of a model instance's wasm memory.
 * @packageDocumentation
 */
import type { WeightScan } from '../model/scan.js';
import { ensureMemory, type KernelExports } from '../wasm/kernels.js';
import { wasmScan } from '../wasm/scan.js';
import { Scratch } from '../wasm/scratch.js';

/**
 * Where a model's data lives in its kernels instance, from the module's heap base:
 *
 * ```
 * | arena: activations | constants: packed weights, indirection, padding runs, kernel scratch | (staging) |
 * ```
 *
 * - **arena**: each activation at the offset the planner gave it (src/runtime/place.ts);
 *   activations whose lifetimes do not overlap share bytes. Holds data from the first run on.
 * - **constants**: handed out in order by {@link allocate} while op planners plan; written by
 *   their packers.
 * - **staging**: where a packer's inputs (weights, biases, tables) are copied for the wasm packers:
 *   the start of the arena, which holds nothing yet, or past the constants if one layer's inputs
 *   outgrow the arena.
 *
 * Lifecycle, in this order (each method checks it runs in its phase):
 *
 * 1. `scan`: reading the file; {@link scan} copies weights to the heap base (the arena-to-be) to
 *    check them in wasm. Planners may still scan while they allocate.
 * 2. `allocate`: {@link place} fixed the arena; planners {@link allocate} constants and register packers.
 * 3. `warm`: {@link seal} grew memory once to its final size; {@link warm} zeroes the constants and
 *    runs kernels on garbage, so that V8 optimizes them while the weights are packed.
 * 4. `pack`: {@link pack} stages each packer's inputs and writes the constants.
 * 5. `ready`: the plan runs; nothing is allocated again, so views of memory stay valid.
 */
export class ModelMemory {
  readonly kernels: KernelExports;
  /** The heap base: where the arena, and the scan's and the packers' staging, start. */
  readonly base: number;
  /** The wasm scan of this instance, for reading the file and for planning. */
  readonly scan: WeightScan;
  private phase: 'scan' | 'allocate' | 'warm' | 'pack' | 'ready' = 'scan';
  private arenaBytes = 0;
  private top = 0;
  private stagingAt = 0;
  private readonly packers: Packer[] = [];

  constructor(kernels: KernelExports) {
    this.kernels = kernels;
    this.base = kernels.heap_base();
    this.scan = wasmScan(kernels, () => {
      this.expect('scan', 'allocate');
      return new Scratch(kernels, this.base);
    });
  }

  private expect(...phases: ModelMemory['phase'][]): void {
    if (!phases.includes(this.phase)) throw new Error(`internal error: model memory is in phase ${this.phase}, not ${phases.join(' or ')}`);
  }

  /** Fixes the arena at `arenaBytes` bytes from the heap base; constants start after it. Returns the arena's start. */
  place(arenaBytes: number): number {
    this.expect('scan');
    this.arenaBytes = arenaBytes;
    this.top = this.base + arenaBytes;
    this.phase = 'allocate';
    return this.base;
  }

  /** Reserves `bytes` of the constants region, 64-byte aligned. */
  allocate(bytes: number): number {
    this.expect('allocate');
    const p = this.top;
    this.top = alignUp(p + bytes);
    return p;
  }

  /** Registers `packer` to write its constants once memory is final. */
  addPacker(packer: Packer): void {
    this.expect('allocate');
    this.packers.push(packer);
  }

  /** Bytes from the heap base to the end of the constants (and of the staging area, once sealed). */
  get bytes(): number {
    return this.top - this.base;
  }

  /**
   * Places the staging area and grows memory once to hold everything.
   * @param limit - Called with the total before growing: may throw for a network that needs too much.
   * @throws LimitError `engineMemory` if the engine cannot grow memory that far.
   */
  seal(limit: (bytes: number) => void): void {
    this.expect('allocate');
    const staging = Math.max(0, ...this.packers.map((p) => p.staging));
    this.stagingAt = staging <= this.arenaBytes ? this.base : this.allocate(staging);
    limit(this.bytes);
    ensureMemory(this.kernels.memory, this.top);
    this.phase = 'warm';
  }

  /**
   * Zeroes the constants (a scan may have staged the model file there, and zeroed indirection
   * buffers point at the start of memory) and runs `kernels` on them: results are garbage.
   */
  warm(kernels: () => void): void {
    this.expect('warm');
    const start = this.base + this.arenaBytes;
    new Uint8Array(this.kernels.memory.buffer, start, this.top - start).fill(0);
    kernels();
  }

  /** Runs every packer, each staging its inputs over the previous one's. */
  pack(): void {
    this.expect('warm');
    this.phase = 'pack';
    for (const p of this.packers) p.fill(new Stage(this.kernels, this.stagingAt));
    this.phase = 'ready';
  }
}

/** Writes one layer's constants into the memory {@link ModelMemory.allocate} gave it. */
export interface Packer {
  /** Bytes its {@link Stage.put} calls need. */
  staging: number;
  fill(stage: Stage): void;
}

/** The packers' staging area: arrays copied in for a wasm packer to read. */
export class Stage {
  readonly kernels: KernelExports;
  private readonly area: Scratch;

  constructor(kernels: KernelExports, at: number) {
    this.kernels = kernels;
    this.area = new Scratch(kernels, at);
  }

  /** Bytes that {@link put} needs for arrays of these byte lengths. */
  static bytes(...byteLengths: number[]): number {
    return byteLengths.reduce((sum, b) => sum + ((b + 15) & ~15), 0);
  }

  /** Copies `arrays` in, one after another; returns their pointers (0 for an absent one, which the packers read as "none"). */
  put(...arrays: (ArrayBufferView | undefined)[]): number[] {
    return arrays.map((a) => (a ? this.area.put(a) : 0));
  }
}

const ALIGN = 64;

/** `n` rounded up to a multiple of `a` (default 64, a cache line). */
export const alignUp = (n: number, a = ALIGN): number => Math.ceil(n / a) * a;

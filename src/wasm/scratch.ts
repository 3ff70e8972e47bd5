/**
 * Scratch memory in a kernels instance: a bump allocator from a starting point, for data the host
 * hands to a kernel once (an image, a model file to check, weights to pack).
 * @packageDocumentation
 */
import { ensureMemory, type KernelExports } from './kernels.js';

/** A bump allocator over an instance's memory from `base` (default: its free memory's start). */
export class Scratch {
  readonly exports: KernelExports;
  private top: number;

  constructor(exports: KernelExports, base = exports.heap_base()) {
    this.exports = exports;
    this.top = base;
  }

  /**
   * Reserves `bytes` bytes, 16-byte aligned, growing memory as needed. Views taken earlier are
   * detached by a growth: take views after the last allocation.
   * @throws LimitError `engineMemory` if the engine cannot grow memory that far.
   */
  alloc(bytes: number): number {
    const ptr = Math.ceil(this.top / 16) * 16;
    ensureMemory(this.exports.memory, ptr + bytes);
    this.top = ptr + bytes;
    return ptr;
  }

  /** Copies the bytes of `data` into fresh memory and returns where. */
  put(data: ArrayBufferView): number {
    const ptr = this.alloc(data.byteLength);
    this.u8(ptr, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return ptr;
  }

  /** A view of `length` bytes at `ptr` (detached by the next growth). */
  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.exports.memory.buffer, ptr, length);
  }
}

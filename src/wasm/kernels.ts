/**
 * Typed access to the kernels module. One instance per loaded model: its linear memory holds that
 * model's packed weights and activation arena, and disposing the model drops the instance.
 * @packageDocumentation
 */

import { LimitError } from '../errors.js';

type Ptr = number;

/** Exports of dist/squeezewasm.wasm (see assembly/index.ts). */
export interface KernelExports {
  memory: WebAssembly.Memory;
  heap_base(): Ptr;
  f32_igemm_4x8_simd(M: number, N: number, taps: number, K: number, ind: Ptr, w: Ptr, out: Ptr, outStride: number, lo: number, hi: number): void;
  f32_igemm_ref(M: number, N: number, taps: number, K: number, ind: Ptr, w: Ptr, out: Ptr, outStride: number, lo: number, hi: number): void;
  f32_maxpool_simd(...args: PoolArgs): void;
  f32_maxpool_ref(...args: PoolArgs): void;
  f32_avgpool_simd(...args: AvgPoolArgs): void;
  f32_avgpool_ref(...args: AvgPoolArgs): void;
  f32_global_avgpool_simd(inp: Ptr, P: number, C: number, inStride: number, out: Ptr): void;
  f32_global_avgpool_ref(inp: Ptr, P: number, C: number, inStride: number, out: Ptr): void;
  f32_copy_simd(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, relu: number): void;
  f32_copy_ref(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, relu: number): void;
  f32_add_simd(a: Ptr, aStride: number, b: Ptr, bStride: number, P: number, C: number, out: Ptr, outStride: number, relu: number): void;
  f32_add_ref(a: Ptr, aStride: number, b: Ptr, bStride: number, P: number, C: number, out: Ptr, outStride: number, relu: number): void;
  u8_add_simd(...args: I8AddArgs): void;
  u8_add_ref(...args: I8AddArgs): void;
  i16_add_simd(...args: I8AddArgs): void;
  i16_add_ref(...args: I8AddArgs): void;
  i8_igemm_4x8c2_simd(...args: I8GemmArgs): void;
  i8_igemm_ref(...args: I8GemmArgs): void;
  i8_igemm_4x8c2_i16in_simd(...args: I8GemmArgs): void;
  i8_igemm_i16in_ref(...args: I8GemmArgs): void;
  i8_winograd3x3_simd(...args: WinogradArgs): void;
  i8_winograd3x3_ref(...args: WinogradArgs): void;
  i8_winograd3x3_i16in_simd(...args: WinogradArgs): void;
  i8_winograd3x3_i16in_ref(...args: WinogradArgs): void;
  i8_winograd_scratch_v(C: number): number;
  i8_winograd_scratch_m(): number;
  i8_spmm_16x1c2_simd(...args: SpmmArgs): void;
  i8_spmm_ref(...args: SpmmArgs): void;
  i8_spmm_16x1c2_i16in_simd(...args: SpmmArgs): void;
  i8_spmm_i16in_ref(...args: SpmmArgs): void;
  i8_spmm_scratch(C: number): number;
  u8_maxpool_simd(...args: PoolArgs): void;
  u8_maxpool_ref(...args: PoolArgs): void;
  i16_maxpool_simd(...args: PoolArgs): void;
  i16_maxpool_ref(...args: PoolArgs): void;
  u8_avgpool_simd(...args: [...AvgPoolArgs, number]): void;
  u8_avgpool_ref(...args: [...AvgPoolArgs, number]): void;
  u8_global_sum_simd(inp: Ptr, P: number, C: number, inStride: number, zp: number, out: Ptr): void;
  u8_global_sum_ref(inp: Ptr, P: number, C: number, inStride: number, zp: number, out: Ptr): void;
  i16_global_sum_simd(inp: Ptr, P: number, C: number, inStride: number, out: Ptr): void;
  i16_global_sum_ref(inp: Ptr, P: number, C: number, inStride: number, out: Ptr): void;
  u8_copy_simd(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, lo: number): void;
  u8_copy_ref(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, lo: number): void;
  i16_copy_simd(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, lo: number): void;
  i16_copy_ref(inp: Ptr, P: number, C: number, inStride: number, out: Ptr, outStride: number, lo: number): void;
  i8_pack_igemm(w: Ptr, N: number, per: number, offsets: Ptr, bias: Ptr, mult: Ptr, zIn: number, out: Ptr, blockBytes: number): void;
  i8_pack_winograd(w: Ptr, N: number, C: number, bias: Ptr, mult: Ptr, out: Ptr, blockBytes: number): void;
  f32_pack_igemm(w: Ptr, N: number, per: number, offsets: Ptr, bias: Ptr, out: Ptr, blockFloats: number): void;
  fill_indirection(
    out: Ptr, M: number, taps: number, mergeRows: number, kw: number, outW: number, sh: number, sw: number, pt: number, pl: number,
    x: Ptr, inH: number, inW: number, inStride: number, pad: Ptr,
  ): void;
  crc32(p: Ptr, n: number): number;
  /** Writes f64 sums. */
  i8_abs_sums(w: Ptr, channels: number, per: number, out: Ptr): void;
  i8_count_nonzero(w: Ptr, n: number): number;
}

/** H, W, C, inp, inStride, zIn, pad, N, weights, out, outStride, shift, zOut, qmin, qmax, V, M, wide (int16 output) */
export type WinogradArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** H, W, C, inp, inStride, zIn, N, weights, out, outStride, outRowStride, shift, zOut, qmin, qmax, scratch, wide (int16 output) */
export type SpmmArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** M, N, taps, K, indirection, weights, out, outStride, shift, zOut, qmin, qmax, wide (int16 output) */
export type I8GemmArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number];

/** a, aStride, za, ma, b, bStride, zb, mb, P, C, out, outStride, shift, zOut, qmin, qmax, wide (int16 output) */
export type I8AddArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];

/** inp, H, W, C, inStride, out, OH, OW, outStride, kh, kw, sh, sw, pt, pl */
export type PoolArgs = [number, number, number, number, number, number, number, number, number, number, number, number, number, number, number];
/** {@link PoolArgs}, then pb, pr, countIncludePad */
export type AvgPoolArgs = [...PoolArgs, number, number, number];

const WASM_PAGE = 65536;

/** Instantiates the kernels module. Kernels never import anything; `abort` only exists for asc's runtime stub. */
export async function instantiateKernels(module: WebAssembly.Module): Promise<KernelExports> {
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort() {
        throw new Error('squeezewasm kernel aborted');
      },
    },
  });
  return instance.exports as unknown as KernelExports;
}

/**
 * Grows `memory` so that it holds at least `bytes` bytes.
 * @throws LimitError `engineMemory` if the engine cannot grow it (out of memory, or past 4 GiB).
 */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes <= have) return;
  try {
    memory.grow(Math.ceil((bytes - have) / WASM_PAGE));
  } catch {
    throw new LimitError('engineMemory', `the WebAssembly engine could not grow memory to ${bytes} bytes (out of memory)`);
  }
}

/**
 * The two builds of the kernels: `simd` (WebAssembly SIMD, runs everywhere squeezewasm does) and
 * `relaxed` (the same kernels with relaxed SIMD, where the engine has it). Only the float path
 * differs: the relaxed build fuses each multiply-add into one FMA, so float results move in the
 * last bits (within the tolerance documented in docs/performance.md); int8 results are identical.
 */
export type KernelBuild = 'simd' | 'relaxed';

/** File name of each build in dist/ (and in the package's exports). */
export const KERNEL_FILES: Record<KernelBuild, string> = { simd: 'squeezewasm.wasm', relaxed: 'squeezewasm-relaxed.wasm' };

/** A module whose one function is `(param v128 v128 v128) (result v128) f32x4.relaxed_madd`. */
export const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b,
  0x03, 0x02, 0x01, 0x00,
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b,
]);

/**
 * Whether this engine accepts relaxed SIMD (Node 22+, Chrome 114+, workerd; Node 20 only with
 * --experimental-wasm-relaxed-simd). An engine without it rejects a module using any relaxed
 * instruction as a whole, hence a separate build rather than a branch inside one module.
 */
export function relaxedSimdSupported(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

// The module's exports: where free memory starts, and one entry per kernel. Kernels are pure
// functions over pointers into linear memory; the host plans all memory and grows it as needed.

export { f32_igemm_4x8_simd, f32_igemm_ref } from './kernels/f32-igemm';
export {
  f32_winograd3x3_simd, f32_winograd3x3_ref, f32_winograd3x3_scratch_v, f32_winograd3x3_scratch_m,
} from './kernels/f32-winograd';
export {
  f32_maxpool_simd, f32_maxpool_ref,
  f32_avgpool_simd, f32_avgpool_ref,
  f32_global_avgpool_simd, f32_global_avgpool_ref,
  f32_copy_simd, f32_copy_ref,
} from './kernels/f32-pool';
export { f32_add_simd, f32_add_ref, u8_add_simd, u8_add_ref, i16_add_simd, i16_add_ref, u8_add_tfl_simd, u8_add_tfl_ref } from './kernels/add';
export { u8_igemm_4x8c2_simd, u8_igemm_ref, i16_igemm_4x8c2_simd, i16_igemm_ref } from './kernels/i8-igemm';
export {
  u8_winograd3x3_simd, u8_winograd3x3_ref, i16_winograd3x3_simd, i16_winograd3x3_ref,
  winograd3x3_scratch_v, winograd3x3_scratch_m,
} from './kernels/i8-winograd';
export {
  u8_spmm_16x1c2_simd, u8_spmm_ref, i16_spmm_16x1c2_simd, i16_spmm_ref, spmm_scratch,
} from './kernels/i8-sparse';
export {
  u8_maxpool_simd, u8_maxpool_ref,
  i16_maxpool_simd, i16_maxpool_ref,
  u8_avgpool_simd, u8_avgpool_ref,
  u8_global_sum_simd, u8_global_sum_ref, u8_global_mean_simd, u8_global_mean_ref,
  i16_global_sum_simd, i16_global_sum_ref,
  u8_copy_simd, u8_copy_ref,
  i16_copy_simd, i16_copy_ref,
} from './kernels/u8-pool';
export {
  p7_igemm_6x8c4_relaxed, p7_igemm_ref, i16_split7_simd, i16_split7_ref, u8_split7_simd, u8_split7_ref, u8_flip8_simd, u8_flip8_ref, relaxed_build, relaxed_dot_probe,
} from './kernels/p7-igemm';
export { i8_pack_igemm, i8_pack_igemm_c4, i8_pack_winograd, f32_pack_igemm, f32_pack_winograd, fill_indirection } from './kernels/pack';
export { u8_fc_tfl_simd, u8_fc_tfl_ref } from './kernels/u8-fc';
export { crc32, i8_abs_sums, i8_count_nonzero } from './kernels/scan';
export { image_preprocess } from './image/preprocess';
export { inflate_zlib, inflate_scratch_bytes, png_reduce, png_reduce_scratch_bytes, png_to_rgba } from './image/png';
export {
  jpeg_huffman_bytes, jpeg_huffman_table, jpeg_decode_scan, jpeg_idct, jpeg_idct_4x4, jpeg_idct_2x2, jpeg_idct_1x1,
  jpeg_row_bytes, jpeg_rgba,
} from './image/jpeg';

/** First byte after the module's static data: the host may use everything from here on. */
export function heap_base(): usize {
  return (__heap_base + 63) & ~63;
}

// normlab's WebAssembly SIMD kernels (the wasm backend's twins of src/kernels/js/). ABI: every array argument
// is a byte offset into the imported shared memory, sizes are i32, scalars f32/f64, flags i32 0/1; a pointer
// 0 means "absent" (offset 0 lies in the module's own reserved area, never in tensor storage).
export { norm_stats, norm_apply, norm_backward } from './norm';
export { matmul_f32, matmul_f32_part, matmul_work_bytes } from './matmul';
export {
  binary_2d, binary_scalar, binary_scalar_f64, unary, unary_backward, broadcast_2d, fill_f32, zero_bytes, copy_f32,
  f32_to_f64, f64_to_f32, transpose_f32,
} from './elementwise';
export { reduce_all, reduce_last, reduce_middle, argmax_rows, sum_squares } from './reduce';
export { log_softmax, softmax_ce } from './loss';
export { sgd_update, adam_update } from './optim';
export { im2col_f32, col2im_f32, maxpool_f32, maxpool2x2_f32, maxpool_backward_f32, avgpool_f32, avgpool_backward_f32,
  conv_work_bytes, conv2d_images, conv2d_backward_dx_images, conv2d_backward_dw_block } from './conv';

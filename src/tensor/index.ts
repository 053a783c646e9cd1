export { Tensor, tensor, zeros, ones, full, normAxis, checkShape, formatShape, type TensorLike, type TensorOptions, type NestedArray } from './tensor.js';
export { randn, rand, type RandomOptions } from './random.js';

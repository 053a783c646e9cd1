export { Tensor, tensor, zeros, ones, full, cat, stack, normAxis, checkShape, formatShape, op, opWithAux, type TensorLike, type TensorOptions, type NestedArray } from './tensor.js';
export { randn, rand, type RandomOptions } from './random.js';
export { scope, keep, memoryStats } from './memory.js';

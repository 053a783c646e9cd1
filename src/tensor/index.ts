export { Tensor, Indices, tensor, zeros, ones, full, cat, stack, normAxis, checkShape, formatShape, op, opWithAux, inspectSymbol, setPrintOptions, type TensorLike, type TensorOptions, type NestedArray, type ArrayValue, type ShapeArgs, type PrintOptions } from './tensor.js';
export { randn, rand, type RandomOptions } from './random.js';
export { scope, keep, memoryStats } from './memory.js';

/**
 * normlab: batch normalization done right, in TypeScript.
 * Layers: kernels → memory (storage, ownership) → autograd (op table, tape) → tensor → nn, optim → consumers.
 */
export { Tensor, tensor, zeros, ones, full, cat, stack, randn, rand, scope, keep, memoryStats, type TensorLike, type TensorOptions, type NestedArray } from './tensor/index.js';
export { Indices, setPrintOptions, type ArrayValue, type ShapeArgs, type PrintOptions } from './tensor/index.js';
export { noGrad, isGradEnabled } from './autograd/index.js';
export { manualSeed, getRngState, setRngState, Rng, type RngState } from './random.js';
export { getBackend, setBackend, setNumThreads, getNumThreads, wasmSupported, type DType, type FloatArray } from './kernels/index.js';
export type { MemoryStats } from './memory/index.js';
export * as nn from './nn/index.js';
export * as optim from './optim/index.js';
export * as data from './data/index.js';
export * as train from './train/index.js';
export * as io from './io/index.js';
export * as models from './models/index.js';
export * as distributed from './distributed/index.js';
export * as onnx from './onnx/index.js';
export * as deploy from './deploy/index.js';
export { version } from './version.js';

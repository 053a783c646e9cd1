import type { Backend, DType, Kernels } from '../types.js';
import { binary, binaryScalar, broadcastTo, copy, fill, permute, sumSquares, unary, unaryBackward } from './elementwise.js';
import { argmax, reduce } from './reduce.js';
import { matmul } from './matmul.js';
import { normApply, normBackward, normStats } from './norm.js';
import { logSoftmax, softmaxCrossEntropy } from './loss.js';
import { adamUpdate, sgdUpdate } from './optim.js';

export const jsKernels: Kernels = {
  binary, binaryScalar, unary, unaryBackward, reduce, argmax, broadcastTo, permute, matmul, copy, fill, sumSquares,
  normStats, normApply, normBackward, softmaxCrossEntropy, logSoftmax, sgdUpdate, adamUpdate,
};

/** The reference backend: plain TypeScript over ordinary typed arrays, float32 and float64. */
export const jsBackend: Backend = {
  name: 'js',
  alloc: (dtype: DType, size: number) => (dtype === 'float32' ? new Float32Array(size) : new Float64Array(size)),
  kernels: jsKernels,
};

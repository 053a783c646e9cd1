import type { Backend, DType, Kernels } from '../types.js';
import { binary, binaryScalar, broadcastTo, copy, fill, permute, sumSquares, unary, unaryBackward } from './elementwise.js';
import { argmax, reduce } from './reduce.js';
import { matmul } from './matmul.js';
import { normApply, normBackward, normStats } from './norm.js';
import { logSoftmax, softmaxCrossEntropy } from './loss.js';
import { adamUpdate, sgdUpdate } from './optim.js';
import { conv2d, conv2dBackward } from './conv.js';
import { avgPool2d, avgPool2dBackward, maxPool2d, maxPool2dBackward } from './pool.js';

export const jsKernels: Kernels = {
  binary, binaryScalar, unary, unaryBackward, reduce, argmax, broadcastTo, permute, matmul, copy, fill, sumSquares,
  normStats, normApply, normBackward, softmaxCrossEntropy, logSoftmax, sgdUpdate, adamUpdate,
  conv2d, conv2dBackward, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
};

/** The reference backend: plain TypeScript over ordinary typed arrays, float32 and float64. */
export const jsBackend: Backend = {
  name: 'js',
  alloc: (dtype: DType, size: number) => (dtype === 'float32' ? new Float32Array(size) : new Float64Array(size)),
  kernels: jsKernels,
  free: () => {},
  keep: () => {},
  beginScope: () => {},
  endScope: () => {},
  isLive: () => true,
  // SharedArrayBuffer is undefined on browser pages that are not cross-origin isolated.
  ownsWhole: (a) => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && !(typeof SharedArrayBuffer === 'function' && a.buffer instanceof SharedArrayBuffer),
  memoryStats: () => null,
};

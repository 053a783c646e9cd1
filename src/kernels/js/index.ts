import type { Backend, Kernels } from '../types.js';
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
export const jsBackend: Backend = { name: 'js', kernels: jsKernels, device: null };

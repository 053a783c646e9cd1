export { Module, type StateValue, type ForwardHook, type HookHandle } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Sigmoid, ReLU, Tanh, Identity } from './activation.js';
export { Sequential } from './container.js';
export { NormBase, BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions, type RunningStats, type NormBaseConfig } from './batchnorm.js';
export { SyncBatchNorm, type SyncBatchNormOptions } from './syncbatchnorm.js';
export { LayerNorm, GroupNorm, InstanceNorm, InstanceNorm1d, InstanceNorm2d, type LayerNormOptions, type GroupNormOptions, type InstanceNormOptions } from './normalization.js';
export { Conv2d, type Conv2dOptions, type Conv2dFnOptions, type Size2 } from './conv.js';
export { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, type Pool2dOptions, type AvgPool2dOptions, type AdaptiveSize } from './pooling.js';
export { Dropout } from './dropout.js';
export { Flatten, Unflatten } from './flatten.js';
export { RNN, LSTM, RecurrentBase, type RNNOptions, type LSTMOptions, type RecurrentOptions, type RecurrentBatchNorm, type RecurrentState, type RecurrentResult } from './rnn.js';
export { summary, ModelSummary, type SummaryRow, type SummaryOptions } from './summary.js';
export * as functional from './functional.js';
export * as init from './init.js';

import { libraryModules } from './module.js';
import { Linear } from './linear.js';
import { Sigmoid, ReLU, Tanh, Identity } from './activation.js';
import { Sequential } from './container.js';
import { BatchNorm1d, BatchNorm2d } from './batchnorm.js';
import { SyncBatchNorm } from './syncbatchnorm.js';
import { LayerNorm, GroupNorm, InstanceNorm1d, InstanceNorm2d } from './normalization.js';
import { Conv2d } from './conv.js';
import { MaxPool2d, AvgPool2d, AdaptiveAvgPool2d } from './pooling.js';
import { Dropout } from './dropout.js';
import { Flatten, Unflatten } from './flatten.js';
import { RNN, LSTM } from './rnn.js';

// The built-in modules' forward runs as library code (intermediate tensors are freed as soon as nothing needs them).
libraryModules(Linear, Sigmoid, ReLU, Tanh, Identity, Sequential, BatchNorm1d, BatchNorm2d, SyncBatchNorm, LayerNorm, GroupNorm, InstanceNorm1d,
  InstanceNorm2d, Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Dropout, Flatten, Unflatten, RNN, LSTM);

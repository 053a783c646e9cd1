export { Module, type StateValue, type ForwardHook, type HookHandle } from './module.js';
export { Linear, type LinearOptions } from './linear.js';
export { Sigmoid, ReLU, Tanh, Identity } from './activation.js';
export { Sequential } from './container.js';
export { BatchNorm, BatchNorm1d, BatchNorm2d, type BatchNormOptions, type RunningStats } from './batchnorm.js';
export * as functional from './functional.js';
export * as init from './init.js';

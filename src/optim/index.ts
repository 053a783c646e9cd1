/**
 * Optimizers with PyTorch semantics (SGD, Adam, AdamW), gradient clipping on every optimizer
 * (clipValue → clipNorm → globalClipNorm, before weight decay), PyTorch's clipping utilities and
 * learning-rate schedules. Parameter updates run as fused kernels (`sgdUpdate`, `adamUpdate`).
 */
export { Optimizer, type OptimizerStateDict, type ParamStateDict, type ParamState, type StateLayout } from './optimizer.js';
export { SGD, type SGDOptions } from './sgd.js';
export { Adam, AdamW, type AdamOptions } from './adam.js';
export { clipGradNorm, clipGradValue, type ClipOptions } from './clip.js';
export { LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, type SchedulerStateDict } from './lr_scheduler.js';

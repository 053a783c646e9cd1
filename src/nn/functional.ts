/**
 * nn.functional: the stateless forms of the layers. Each lives beside its module (batch normalization in
 * batchnorm.ts, the per-sample normalizations in normalization.ts, losses in loss.ts, …); this file
 * gathers them.
 */
export { linear } from './linear.js';
export { conv2d } from './conv.js';
export { maxPool2d, avgPool2d, adaptiveAvgPool2d } from './pooling.js';
export { dropout } from './dropout.js';
export { crossEntropy, mseLoss } from './loss.js';
export { batchNorm, checkBatchNormArgs, checkRenorm, channelLayout, type BatchNormFnOptions, type RenormLimits } from './batchnorm.js';
export { layerNorm, groupNorm, instanceNorm, checkNormalizedShape, type LayerNormFnOptions, type GroupNormFnOptions, type InstanceNormFnOptions } from './normalization.js';

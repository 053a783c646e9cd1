/**
 * Deployment: inference statistics and folding. Population statistics (the BN note's second option for
 * inference statistics) and BN folded into the layer before it (claim 7). Consumers of nn: no kernels here.
 */
export { recomputeBatchNormStats, type RecomputeOptions, type RecomputeResult, type RecomputedLayer, type StatsBatch, type StatsBatches } from './population.js';
export { foldBatchNorm, type FoldResult, type FoldedPair, type KeptBatchNorm } from './fold.js';
export { copyModule } from './copy.js';

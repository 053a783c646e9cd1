export { Trainer, type TrainerOptions, type Batch, type BatchSource, type TrainOptimizer, type StepResult } from './trainer.js';
export { evaluate, type EvalResult, type LabeledData } from './evaluate.js';
export { gradNorms, totalGradNorm } from './gradnorms.js';
export { percentile, percentiles } from './stats.js';

import { crossEntropy } from '../nn/functional.js';
import type { Module } from '../nn/index.js';
import { scope, type Tensor } from '../tensor/index.js';
import { decodeCheckpoint, encodeCheckpoint, type Stateful } from '../io/checkpoint.js';
import { gradNorms } from './gradnorms.js';

/** One mini-batch: inputs and class labels. */
export interface Batch {
  readonly x: Tensor;
  readonly y: Int32Array;
}

/** The optimizer interface the trainer needs (optim.SGD, Adam, AdamW). */
export interface TrainOptimizer extends Stateful {
  step(): void;
  zeroGrad(): void;
}

/** A source of batches that can save and restore its position (data.DataLoader). */
export interface BatchSource extends Stateful {
  batches(): Iterator<Batch>;
}

export interface TrainerOptions {
  model: Module;
  optimizer: TrainOptimizer;
  data: BatchSource;
  /** Learning-rate schedule, stepped once per training step. */
  scheduler?: Stateful & { step(): void };
  /** Loss of a batch (default: cross-entropy of the model's logits). */
  loss?: (output: Tensor, y: Int32Array) => Tensor;
  /** Record each parameter's gradient norm (before the optimizer clips anything). */
  recordGradNorms?: boolean;
}

/** What one training step reports. */
export interface StepResult {
  step: number;
  loss: number;
  gradNorms?: Record<string, number>;
}

/**
 * The training loop: draws a batch, runs forward, loss, backward and the optimizer, and counts steps.
 * Its whole state (model with BN statistics, optimizer, schedule, data position, global RNG, step) goes
 * into a checkpoint, and restoring one continues exactly where it left off.
 *
 * Example:
 * ```ts
 * const { train: trainSet, test } = data.splitDataset(data.syntheticDataset({ n: 300, features: 8, classes: 3 }), { trainSize: 200, testSize: 100 });
 * const model = models.mlp({ inputs: 8, hidden: [16], classes: 3, norm: 'batch' });
 * const loader = new data.DataLoader(trainSet, { batchSize: 20, seed: 0 });
 * const trainer = new train.Trainer({ model, optimizer: new optim.SGD(model.parameters(), { lr: 0.5 }), data: loader });
 * trainer.run(100, { every: 50, onEval: (step) => { train.evaluate(model, test); } });
 * trainer.step; // => 100
 * ```
 */
export class Trainer {
  /** Steps taken so far. */
  step = 0;
  private iter: Iterator<Batch> | null = null;
  private readonly lossFn: (output: Tensor, y: Int32Array) => Tensor;

  constructor(readonly options: TrainerOptions) {
    this.lossFn = options.loss ?? crossEntropy;
  }

  /** Take one training step. */
  /** Take one training step. Everything it allocates besides gradients and state is freed when it returns. */
  trainStep(): StepResult {
    const { model, optimizer, scheduler, recordGradNorms } = this.options;
    return scope(() => {
      this.iter ??= this.options.data.batches();
      const next = this.iter.next();
      if (next.done) throw new Error('Trainer: the data source ran out of batches');
      optimizer.zeroGrad();
      const loss = this.lossFn(model.forward(next.value.x), next.value.y);
      loss.backward();
      const norms = recordGradNorms ? gradNorms(model) : undefined;
      optimizer.step();
      scheduler?.step();
      this.step++;
      return { step: this.step, loss: loss.item(), gradNorms: norms };
    });
  }

  /**
   * Train until `this.step` reaches `until`, calling `onStep` after every step and `onEval` every `every`
   * steps (and at the last one). Return false from a callback to stop early.
   */
  run(until: number, { every = 0, onStep, onEval }: { every?: number; onStep?: (r: StepResult) => void | boolean; onEval?: (step: number) => void | boolean } = {}): void {
    while (this.step < until) {
      const r = this.trainStep();
      if (onStep?.(r) === false) return;
      if (onEval && ((every > 0 && this.step % every === 0) || this.step === until) && onEval(this.step) === false) return;
    }
  }

  private parts() {
    const { model, optimizer, scheduler, data } = this.options;
    return { model, optimizer, scheduler, loader: data };
  }

  /** The trainer's whole state as checkpoint bytes (see io.encodeCheckpoint). */
  checkpoint(extra: Record<string, unknown> = {}): Uint8Array {
    return encodeCheckpoint(this.parts(), this.step, extra);
  }

  /** Restore from checkpoint bytes; on a mismatch nothing changes and the error says why. */
  restore(bytes: Uint8Array): Record<string, unknown> {
    const { step, extra } = decodeCheckpoint(bytes, this.parts());
    this.step = step;
    this.iter = null;
    return extra;
  }
}

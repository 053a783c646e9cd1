import { Optimizer } from './optimizer.js';
import { checkOptionKeys, nonNegative, positiveInteger } from './options.js';

/** A scheduler's state as plain, JSON-serializable data (a checkpoint). */
export interface SchedulerStateDict {
  readonly scheduler: string;
  readonly lastEpoch: number;
  readonly baseLr: number;
}

/**
 * Base class of the learning-rate schedules. The schedule is a closed form lr(epoch) of the optimizer's
 * learning rate when the scheduler was created (`baseLr`), as PyTorch's `_get_closed_form_lr`. Creating a
 * scheduler leaves the learning rate alone (epoch 0 is `baseLr`); each `step()` advances the epoch and sets
 * `optimizer.lr`. Call it after `optimizer.step()`, once per epoch (or per iteration, if the schedule is
 * counted in iterations), as in PyTorch.
 *
 * Difference from PyTorch: PyTorch's `step()` updates the current lr recursively (chainable form), so a
 * learning rate set by hand in between is carried along; here the next `step()` overwrites it with the
 * closed form. Without outside changes the two agree to rounding (tests hold them within 1e-12).
 *
 * Example (one schedule step per epoch; `stateDict()` goes into checkpoints next to the optimizer's):
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const opt = new optim.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * const sched = new optim.CosineAnnealingLR(opt, { tMax: 100 });
 * for (let epoch = 0; epoch < 50; epoch++) { sched.step(); }   // after each epoch of training with opt
 * opt.lr; // => 0.05
 * ```
 */
export abstract class LRScheduler {
  /** The learning rate of the optimizer when the scheduler was created. */
  baseLr: number;
  /** Number of `step()` calls so far (PyTorch's last_epoch). */
  lastEpoch = 0;
  /** The learning rate set by the last step (or the initial one). */
  lastLr: number;

  protected constructor(readonly name: string, readonly optimizer: Optimizer) {
    if (!(optimizer instanceof Optimizer)) throw new Error(`${name}: the first argument must be an optimizer (optim.SGD, optim.Adam, ...)`);
    this.baseLr = optimizer.lr;
    this.lastLr = optimizer.lr;
  }

  /** The closed-form learning rate at `epoch` (≥ 1; epoch 0 is baseLr). */
  protected abstract lrAt(epoch: number): number;

  /** Advance one epoch and set the optimizer's learning rate. */
  step(): void {
    this.lastEpoch++;
    this.apply();
  }

  private apply(): void {
    this.lastLr = this.lastEpoch === 0 ? this.baseLr : this.lrAt(this.lastEpoch);
    this.optimizer.lr = this.lastLr;
  }

  /** `{ scheduler, lastEpoch, baseLr }`: plain data for a checkpoint. */
  stateDict(): SchedulerStateDict {
    return { scheduler: this.name, lastEpoch: this.lastEpoch, baseLr: this.baseLr };
  }

  /**
   * Restore `stateDict()` output and set the optimizer's learning rate to the schedule's value at the restored
   * epoch. A state from another scheduler type or with invalid fields is an error and changes nothing.
   */
  loadStateDict(sd: SchedulerStateDict): void {
    const what = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new Error(`${what}: expected an object from stateDict()`);
    if (sd.scheduler !== this.name) throw new Error(`${what}: the state is from ${String(sd.scheduler)}, this scheduler is ${this.name}`);
    if (!Number.isInteger(sd.lastEpoch) || sd.lastEpoch < 0) throw new Error(`${what}: lastEpoch must be an integer ≥ 0, got ${String(sd.lastEpoch)}`);
    const baseLr = nonNegative(what, 'baseLr', sd.baseLr);
    this.baseLr = baseLr;
    this.lastEpoch = sd.lastEpoch;
    this.apply();
  }
}

/**
 * Decay the learning rate by `gamma` every `stepSize` epochs, as torch.optim.lr_scheduler.StepLR:
 *
 *   lr(t) = baseLr · gamma^⌊t / stepSize⌋
 *
 * Options: `stepSize` (required, integer ≥ 1), `gamma = 0.1`.
 *
 * Example:
 * ```ts
 * const opt = new optim.SGD(new nn.Linear(4, 2).parameters(), { lr: 0.1 });
 * const sched = new optim.StepLR(opt, { stepSize: 30 });   // 0.1 for epochs 0-29, 0.01 for 30-59, ...
 * for (let epoch = 0; epoch < 30; epoch++) { sched.step(); }   // after each epoch of training
 * opt.lr; // => 0.01
 * ```
 */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { readonly stepSize: number; readonly gamma?: number }) {
    super('StepLR', optimizer);
    checkOptionKeys('StepLR', options, ['stepSize', 'gamma']);
    const { stepSize, gamma = 0.1 } = options;
    this.stepSize = positiveInteger('StepLR', 'stepSize', stepSize);
    this.gamma = nonNegative('StepLR', 'gamma', gamma);
  }

  protected lrAt(t: number): number {
    return this.baseLr * this.gamma ** Math.floor(t / this.stepSize);
  }
}

/**
 * Decay the learning rate by `gamma` every epoch, as torch.optim.lr_scheduler.ExponentialLR:
 *
 *   lr(t) = baseLr · gamma^t
 *
 * Options: `gamma` (required, ≥ 0).
 *
 * Example:
 * ```ts
 * const opt = new optim.SGD(new nn.Linear(4, 2).parameters(), { lr: 0.1 });
 * const sched = new optim.ExponentialLR(opt, { gamma: 0.5 });
 * for (let epoch = 0; epoch < 2; epoch++) { sched.step(); }   // after each epoch of training
 * opt.lr; // => 0.025
 * ```
 */
export class ExponentialLR extends LRScheduler {
  readonly gamma: number;

  constructor(optimizer: Optimizer, options: { readonly gamma: number }) {
    super('ExponentialLR', optimizer);
    checkOptionKeys('ExponentialLR', options, ['gamma']);
    this.gamma = nonNegative('ExponentialLR', 'gamma', options.gamma);
  }

  protected lrAt(t: number): number {
    return this.baseLr * this.gamma ** t;
  }
}

/**
 * Cosine annealing from baseLr down to `etaMin` over `tMax` epochs (SGDR without restarts, Loshchilov &
 * Hutter, 2017, https://arxiv.org/abs/1608.03983), as torch.optim.lr_scheduler.CosineAnnealingLR:
 *
 *   lr(t) = etaMin + (baseLr − etaMin) · (1 + cos(π·t / tMax)) / 2
 *
 * Past tMax the cosine continues (the rate rises again over the next tMax epochs), as PyTorch does.
 *
 * Options: `tMax` (required, integer ≥ 1), `etaMin = 0`.
 *
 * Example:
 * ```ts
 * const opt = new optim.SGD(new nn.Linear(4, 2).parameters(), { lr: 0.1 });
 * const sched = new optim.CosineAnnealingLR(opt, { tMax: 50, etaMin: 1e-4 });
 * for (let epoch = 0; epoch < 50; epoch++) { sched.step(); }   // after each epoch of training
 * opt.lr; // => 0.0001
 * ```
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;

  constructor(optimizer: Optimizer, options: { readonly tMax: number; readonly etaMin?: number }) {
    super('CosineAnnealingLR', optimizer);
    checkOptionKeys('CosineAnnealingLR', options, ['tMax', 'etaMin']);
    const { tMax, etaMin = 0 } = options;
    this.tMax = positiveInteger('CosineAnnealingLR', 'tMax', tMax);
    this.etaMin = nonNegative('CosineAnnealingLR', 'etaMin', etaMin);
  }

  protected lrAt(t: number): number {
    return this.etaMin + (this.baseLr - this.etaMin) * (1 + Math.cos(Math.PI * t / this.tMax)) / 2;
  }
}

import { getBackend } from '../kernels/index.js';
import type { DType, FloatArray } from '../kernels/types.js';
import { Storage, allocStorage, hostStorage, trusted } from '../memory/index.js';
import { Tensor, formatShape } from '../tensor/index.js';
import { gradScales, type ClipOptions } from './clip.js';
import { nonNegative, optionalPositive } from './options.js';

/** One parameter's optimizer state: a step count and named buffers shaped like the parameter. */
export interface ParamState {
  step: number;
  /** The buffers (momentum, moments), each the parameter's size and dtype; persistent storage. */
  readonly buffers: Record<string, Storage>;
}

/** One parameter's saved state: `step` (Adam/AdamW) and its buffers, by PyTorch name. */
export type ParamStateDict = Record<string, number | FloatArray | readonly number[]>;

/**
 * An optimizer's state as plain data (a checkpoint): `lr`, the hyperparameters (`options`, recorded for
 * information) and `state[i]` for parameter i (null until its first update) with PyTorch's names: `step`,
 * `momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`. Buffers are typed-array copies in the
 * parameter's dtype (the checkpoint format stores them as safetensors);
 * `loadStateDict` also takes them as number arrays, e.g. after `Array.from` for a JSON file.
 */
export interface OptimizerStateDict {
  readonly optimizer: string;
  readonly lr: number;
  readonly options: Record<string, unknown>;
  readonly state: readonly (ParamStateDict | null)[];
}

/** The buffers (and whether a step count is kept) a parameter's state holds under the current options. */
export interface StateLayout {
  readonly step: boolean;
  readonly buffers: readonly string[];
}

/**
 * Base class of the optimizers: holds a flat list of parameters, the learning rate, the clipping options
 * and per-parameter state. `step()` validates the gradients, computes the clipping factors (see
 * {@link ClipOptions}) and hands each parameter that has a gradient to the subclass's fused update kernel.
 * Parameters whose `grad` is null are skipped entirely (their state neither starts nor advances), as in PyTorch.
 *
 * Parameters are updated in place (`p.data`), so create the optimizer after `model.to(dtype)`, which replaces
 * the parameter tensors (as PyTorch asks to build the optimizer after moving the model).
 *
 * Subclasses (SGD, Adam, AdamW) provide `options()`, `layout()` and `update()`, which calls a fused kernel.
 *
 * Example (checkpoint and resume):
 * ```ts
 * const model = new nn.Linear(4, 2);
 * const opt = new optim.Adam(model.parameters(), { lr: 1e-3 });
 * nn.functional.mseLoss(model.forward(randn([8, 4])), zeros([8, 2])).backward();
 * opt.step();
 * const saved = { model: model.stateDict(), opt: opt.stateDict() };
 * // later, e.g. in a fresh process:
 * const model2 = new nn.Linear(4, 2);
 * model2.loadStateDict(saved.model);
 * const opt2 = new optim.Adam(model2.parameters(), { lr: 1e-3 });
 * opt2.loadStateDict(saved.opt);   // continues exactly where opt stopped
 * ```
 */
export abstract class Optimizer implements ClipOptions {
  /** The parameters, in the order given. */
  readonly params: readonly Tensor[];
  readonly clipValue?: number;
  readonly clipNorm?: number;
  readonly globalClipNorm?: number;
  /** Per-parameter state, null until the parameter's first update. */
  protected readonly state: (ParamState | null)[];
  private _lr: number;
  private readonly scratch = new Map<DType, Storage>();

  protected constructor(readonly name: string, params: Iterable<Tensor>, lr: unknown, clip: ClipOptions) {
    if (params === null || typeof (params as Iterable<Tensor>)?.[Symbol.iterator] !== 'function')
      throw new Error(`${name}: params must be an array or iterable of Tensors (e.g. model.parameters())`);
    const list = [...params];
    if (!list.length) throw new Error(`${name}: got an empty parameter list`);
    const seen = new Set<Tensor>();
    list.forEach((p, i) => {
      if (!(p instanceof Tensor)) throw new Error(`${name}: parameter ${i} is not a Tensor (got ${p === null ? 'null' : typeof p})`);
      if (!p.isLeaf) throw new Error(`${name}: parameter ${i} (shape ${formatShape(p.shape)}) is not a leaf tensor; optimize the leaves it was computed from`);
      if (seen.has(p)) throw new Error(`${name}: parameter ${i} (shape ${formatShape(p.shape)}) appears more than once`);
      seen.add(p);
    });
    this.params = Object.freeze(list);
    this._lr = nonNegative(name, 'lr', lr);
    this.clipValue = optionalPositive(name, 'clipValue', clip.clipValue);
    this.clipNorm = optionalPositive(name, 'clipNorm', clip.clipNorm);
    this.globalClipNorm = optionalPositive(name, 'globalClipNorm', clip.globalClipNorm);
    this.state = list.map(() => null);
  }

  /** The learning rate used by the next `step()`; settable (schedulers set it). */
  get lr(): number {
    return this._lr;
  }

  set lr(v: number) {
    this._lr = nonNegative(this.name, 'lr', v);
  }

  /** The hyperparameters (other than lr), recorded in `stateDict()`. */
  protected abstract options(): Record<string, unknown>;

  /** Which buffers each parameter's state holds under this optimizer's options. */
  protected abstract layout(): StateLayout;

  /** Update parameter p in place from its raw gradient (clipping: clamp at clipValue, then scale by gradScale). */
  protected abstract update(p: Tensor, grad: FloatArray, st: ParamState, fresh: boolean, clipValue: number, gradScale: number): void;

  /**
   * Perform one optimization step: every parameter with a gradient is updated (clipped first, if clipping
   * is set); the others are skipped.
   */
  step(): void {
    trusted(() => this.stepAll());
  }

  private stepAll(): void {
    const active: number[] = [];
    const grads: FloatArray[] = [];
    this.params.forEach((p, i) => {
      const g = p.grad; // its shape and dtype match p (the grad setter and the tape guarantee it)
      if (!g) return;
      active.push(i);
      grads.push(g.arr.data);
    });
    const scales = gradScales(grads, this, (like, n) => this.scratchFor(like, n));
    const cv = this.clipValue ?? Infinity;
    active.forEach((i, k) => {
      const p = this.params[i];
      const fresh = this.state[i] === null;
      const st = this.state[i] ?? (this.state[i] = this.newState(p));
      this.update(p, grads[k], st, fresh, cv, scales[k]);
    });
  }

  /**
   * Reset the gradients of all parameters: set them to null (default, like PyTorch 2's set_to_none=True
   * and `Module.zeroGrad`), or fill them with zeros when `setToNone` is false.
   */
  zeroGrad(setToNone = true): void {
    trusted(() => {
      for (const p of this.params) {
        if (setToNone) p.dropGrad();
        else if (p.grad) getBackend().kernels.fill(p.grad.storage.write(), 0);
      }
    });
  }

  private newState(p: Tensor): ParamState {
    const buffers: Record<string, Storage> = {};
    for (const b of this.layout().buffers) buffers[b] = allocStorage(p.dtype, p.shape).persist();
    return { step: 0, buffers };
  }

  private scratchFor(like: FloatArray, n: number): FloatArray {
    const dtype = like instanceof Float64Array ? 'float64' : 'float32';
    let s = this.scratch.get(dtype);
    if (!s || s.size < n) this.scratch.set(dtype, (s = allocStorage(dtype, [Math.max(n, ...this.params.map((p) => p.size))], false).persist()));
    return s.write().subarray(0, n);
  }

  /**
   * The optimizer's state as plain data (copies, not views): learning rate, hyperparameters and, per
   * parameter, step count and buffers (see {@link OptimizerStateDict}). Feed it back to `loadStateDict` to resume.
   */
  stateDict(): OptimizerStateDict {
    const { step } = this.layout();
    return {
      optimizer: this.name,
      lr: this.lr,
      options: this.options(),
      state: this.state.map((st) => {
        if (!st) return null;
        const out: ParamStateDict = step ? { step: st.step } : {};
        for (const [k, b] of Object.entries(st.buffers)) out[k] = b.copyToHost();
        return out;
      }),
    };
  }

  /**
   * Restore `lr` and the per-parameter state from `stateDict()` output (buffers as typed arrays or number arrays).
   * Everything is checked before anything changes: a state from another optimizer type, for a different
   * number of parameters, with missing/unexpected buffers (e.g. momentum buffers when momentum is 0) or
   * buffers whose length differs from the parameter's size is an error that names the entry.
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const what = `${this.name}.loadStateDict`;
    if (sd === null || typeof sd !== 'object') throw new Error(`${what}: expected an object from stateDict()`);
    if (sd.optimizer !== this.name) throw new Error(`${what}: the state is from ${String(sd.optimizer)}, this optimizer is ${this.name}`);
    const lr = nonNegative(what, 'lr', sd.lr);
    if (!Array.isArray(sd.state) || sd.state.length !== this.params.length)
      throw new Error(`${what}: the state holds ${Array.isArray(sd.state) ? sd.state.length : 'no list of'} entries, this optimizer has ${this.params.length} parameters`);
    const { step, buffers } = this.layout();
    const expected = [...(step ? ['step'] : []), ...buffers];
    const restored = sd.state.map((e, i): ParamState | null => {
      if (e === null) return null;
      if (typeof e !== 'object') throw new Error(`${what}: state[${i}] must be an object or null`);
      const keys = Object.keys(e);
      const missing = expected.filter((k) => !keys.includes(k)), extra = keys.filter((k) => !expected.includes(k));
      if (missing.length || extra.length)
        throw new Error(`${what}: state[${i}] ${[missing.length ? `misses ${missing.join(', ')}` : '', extra.length ? `has unexpected ${extra.join(', ')}` : ''].filter(Boolean).join(' and ')} (this optimizer's options need ${expected.join(', ') || 'no state'})`);
      const p = this.params[i];
      const s = step ? e.step : 0;
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw new Error(`${what}: state[${i}].step must be an integer ≥ 0, got ${String(s)}`);
      const bufs: Record<string, Storage> = {};
      for (const b of buffers) {
        const v = e[b] as ArrayLike<number>;
        if (v === null || typeof v !== 'object' || v.length !== p.size)
          throw new Error(`${what}: state[${i}].${b} has ${v && typeof v === 'object' ? v.length : 'no'} values, parameter ${i} has shape ${formatShape(p.shape)} (${p.size} values)`);
        const bad = Array.prototype.findIndex.call(v, (x: unknown) => typeof x !== 'number');
        if (bad >= 0) throw new Error(`${what}: state[${i}].${b}[${bad}] is not a number`);
        const d = new (p.dtype === 'float32' ? Float32Array : Float64Array)(p.size);
        d.set(v);
        bufs[b] = hostStorage(d).persist();
      }
      return { step: s, buffers: bufs };
    });
    this._lr = lr;
    restored.forEach((st, i) => { this.state[i] = st; });
  }
}

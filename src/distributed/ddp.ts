/**
 * DistributedDataParallel: the same model on every rank, gradients averaged across the ranks after backward.
 * (It sits at the nn level: it wraps a Module; the collectives below it know nothing of modules.)
 */
import { isGradEnabled, onBackwardEnd } from '../autograd/index.js';
import { trusted } from '../memory/index.js';
import { Module, callModule } from '../nn/module.js';
import { Tensor, tensor } from '../tensor/index.js';
import { getProcessGroup, type ProcessGroup } from './group.js';

export interface DistributedDataParallelOptions {
  /** Gradient elements per all-reduce bucket (default 2^17, one shared-memory slot). */
  bucketElements?: number;
  /** The group to average over (default: this thread's, see getProcessGroup). */
  processGroup?: ProcessGroup;
}

/** Pack tensors' values into float64 buckets of at most `cap` elements (a tensor larger than cap gets its own). */
function buckets(tensors: readonly Tensor[], cap: number): Tensor[][] {
  const out: Tensor[][] = [];
  let cur: Tensor[] = [], n = 0;
  for (const t of tensors) {
    if (cur.length && n + t.size > cap) { out.push(cur); cur = []; n = 0; }
    cur.push(t);
    n += t.size;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Copy rank src's values of `tensors` to every rank, one broadcast per bucket. */
function broadcastTensors(group: ProcessGroup, tensors: readonly Tensor[], cap: number): void {
  trusted(() => {
    for (const b of buckets(tensors, cap)) {
      const v = new Float64Array(b.reduce((s, t) => s + t.size, 0));
      let o = 0;
      for (const t of b) { v.set(t.storage.peek(), o); o += t.size; }
      group.broadcast(v, 0);
      o = 0;
      for (const t of b) { t.storage.write().set(v.subarray(o, o + t.size)); o += t.size; }
    }
  });
}

/**
 * Data-parallel training (PyTorch's DistributedDataParallel) over the ranks of `launch`: every rank holds the
 * same model and trains on its own slice of each global batch.
 *
 * - At construction, rank 0's parameters and buffers are copied to every rank (broadcast), so all ranks start
 *   equal whatever their seeds.
 * - `forward(x)` calls the model.
 * - At the end of each `backward()` after a training forward, every parameter's gradient is replaced by its
 *   mean over the ranks: gradients are packed into buckets (in reverse registration order, as PyTorch) and each
 *   bucket is all-reduced in one collective, in float64, bitwise the same on every rank. A parameter without a
 *   gradient on some ranks counts as zero there; one without a gradient on all ranks keeps none.
 * So after `loss.backward()` every rank holds the same averaged gradients and `optimizer.step()` keeps the ranks
 * equal. With a loss that is each rank's mean over its slice and equal slices, the averaged gradient is the
 * gradient of the global batch's mean loss; with unequal slices, scale each rank's loss by worldSize·nᵣ/n.
 *
 * The model's BatchNorm layers normalize with each rank's own slice unless converted with
 * `nn.SyncBatchNorm.convert(model)` (statistics of the global batch). Parameter names gain the prefix
 * `module.` as in PyTorch; `ddp.module` is the model itself (save its stateDict for a plain checkpoint).
 *
 * Example (in a rank's main; outside launch it trains as the plain model):
 * ```ts
 * const model = nn.SyncBatchNorm.convert(new nn.Sequential(new nn.Linear(4, 8), new nn.BatchNorm1d(8), new nn.ReLU(), new nn.Linear(8, 3)));
 * const ddp = new distributed.DistributedDataParallel(model);
 * const opt = new optim.SGD(ddp.parameters(), { lr: 0.1 });
 * const loss = nn.functional.crossEntropy(ddp.forward(randn([6, 4])), [0, 1, 2, 0, 1, 2]);
 * opt.zeroGrad(); loss.backward(); opt.step();   // gradients averaged across the ranks inside backward()
 * ddp.module === model; // => true
 * ```
 */
export class DistributedDataParallel<M extends Module = Module> extends Module {
  readonly module: M;
  readonly bucketElements: number;
  readonly #group: ProcessGroup;
  #pending = false;
  /** All-reduce collectives run so far (for tests and the bench). */
  reductions = 0;

  constructor(module: M, { bucketElements = 1 << 17, processGroup = getProcessGroup() }: DistributedDataParallelOptions = {}) {
    super();
    if (!(module instanceof Module)) throw new Error('DistributedDataParallel: expected a Module');
    if (!Number.isInteger(bucketElements) || bucketElements < 1) throw new Error(`DistributedDataParallel: bucketElements must be a positive integer, got ${bucketElements}`);
    this.module = module;
    this.bucketElements = bucketElements;
    this.#group = processGroup;
    if (processGroup.size > 1) broadcastTensors(processGroup, [...module.parameters(), ...module.buffers()], bucketElements);
    // The hook holds the module weakly: a dropped DistributedDataParallel stops syncing and is collected.
    const self = new WeakRef(this);
    const remove = onBackwardEnd(() => {
      const d = self.deref();
      if (!d) { remove(); return; }
      d.#afterBackward();
    });
  }

  /** The process group gradients are averaged over. */
  get processGroup(): ProcessGroup {
    return this.#group;
  }

  forward(...xs: Tensor[]): Tensor {
    if (this.training && isGradEnabled()) this.#pending = true;
    return callModule(this.module, ...xs);
  }

  #afterBackward(): void {
    if (!this.#pending) return;
    this.#pending = false;
    if (this.#group.size > 1) this.syncGradients();
  }

  /**
   * Average every parameter's gradient over the ranks now (backward() does this by itself after a training
   * forward; call it when gradients were made some other way). Every rank must call it.
   */
  syncGradients(): void {
    const params = this.module.parameters().filter((p) => p.requiresGrad).reverse();
    trusted(() => {
      for (const b of buckets(params, this.bucketElements)) {
        // [has-grad flags (one per parameter), gradients...]
        const k = b.length, v = new Float64Array(k + b.reduce((s, t) => s + t.size, 0));
        let o = k;
        b.forEach((p, i) => {
          const g = p.grad;
          if (g) { v[i] = 1; v.set(g.storage.peek(), o); }
          o += p.size;
        });
        this.#group.allReduce(v, 'mean');
        this.reductions++;
        o = k;
        b.forEach((p, i) => {
          const mean = v.subarray(o, o + p.size);
          o += p.size;
          if (v[i] === 0) return;
          const g = p.grad;
          if (g) g.storage.write().set(mean);
          else p.grad = tensor(mean, p.shape, { dtype: p.dtype });
        });
      }
    });
  }

  override toString(): string {
    return `DistributedDataParallel(worldSize=${this.#group.size}, ${String(this.module)})`;
  }
}

import type { Tensor } from '../tensor/index.js';
import { Module, callModule } from './module.js';

/**
 * A chain of modules applied in order; children are named "0", "1", … as in PyTorch, so a state dict of
 * `new nn.Sequential(new nn.Linear(4, 3), new nn.BatchNorm1d(3))` has keys `0.weight`, `0.bias`,
 * `1.weight`, …, `1.running_mean`.
 */
export class Sequential extends Module {
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      if (!(m instanceof Module)) throw new Error(`Sequential: argument ${i} is not a Module`);
      this.registerModule(String(i), m);
    });
  }

  /** The layers as registered under "0", "1", … (as PyTorch, so replacing one, e.g. by SyncBatchNorm.convert, takes effect). */
  get #layers(): Module[] {
    return [...this.namedChildren()].filter(([name]) => /^\d+$/.test(name)).map(([, m]) => m);
  }

  get length(): number { return this.#layers.length; }

  /** The i-th layer (negative counts from the end). */
  at(i: number): Module {
    const m = this.#layers.at(i);
    if (!m) throw new Error(`Sequential.at: index ${i} is out of range for ${this.#layers.length} layers`);
    return m;
  }

  [Symbol.iterator](): Iterator<Module> {
    return this.#layers[Symbol.iterator]();
  }

  forward(x: Tensor): Tensor {
    for (const m of this.#layers) x = callModule(m, x);
    return x;
  }
}

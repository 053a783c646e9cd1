import type { Tensor } from '../tensor/index.js';
import { Module } from './module.js';

/** σ(x) = 1/(1 + e^−x), elementwise. Shape: any → same. Example: `new nn.Sigmoid().forward(x)`. */
export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return x.sigmoid(); }
}

/** max(x, 0), elementwise. Shape: any → same. */
export class ReLU extends Module {
  forward(x: Tensor): Tensor { return x.relu(); }
}

/** tanh(x), elementwise. Shape: any → same. */
export class Tanh extends Module {
  forward(x: Tensor): Tensor { return x.tanh(); }
}

/** Returns its input. */
export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

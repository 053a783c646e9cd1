import { arrayFor } from '../kernels/index.js';
import { sizeOf } from '../kernels/shape.js';
import { hostStorage } from '../memory/index.js';
import { globalRng, type Rng } from '../random.js';
import { Tensor, checkDtype, shapeArgs, type ShapeArgs, type TensorOptions } from './tensor.js';

export interface RandomOptions extends TensorOptions {
  /** The generator to draw from (default: the global one seeded by manualSeed). */
  rng?: Rng;
}

/**
 * Samples from N(0, 1); the shape is one array or separate sizes, as in PyTorch.
 * Example: `manualSeed(0); const w = randn([100, 784]);` or `randn(100, 784)`.
 */
export function randn(...args: ShapeArgs<RandomOptions>): Tensor {
  const { shape: s, options: { dtype = 'float32', requiresGrad = false, rng = globalRng } } = shapeArgs<RandomOptions>('randn', args);
  const d = new (arrayFor(checkDtype(dtype, 'randn')))(sizeOf(s));
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  return new Tensor(hostStorage(d), s, { requiresGrad });
}

/** Samples from U[0, 1); the shape is one array or separate sizes. */
export function rand(...args: ShapeArgs<RandomOptions>): Tensor {
  const { shape: s, options: { dtype = 'float32', requiresGrad = false, rng = globalRng } } = shapeArgs<RandomOptions>('rand', args);
  const d = new (arrayFor(checkDtype(dtype, 'rand')))(sizeOf(s));
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform();
  return new Tensor(hostStorage(d), s, { requiresGrad });
}

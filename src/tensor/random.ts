import { arrayFor } from '../kernels/index.js';
import { sizeOf } from '../kernels/types.js';
import { hostStorage } from '../memory/index.js';
import { globalRng, type Rng } from '../random.js';
import { Tensor, checkDtype, checkShape, type TensorOptions } from './tensor.js';

export interface RandomOptions extends TensorOptions {
  /** The generator to draw from (default: the global one seeded by manualSeed). */
  rng?: Rng;
}

/** Samples from N(0, 1). Example: `manualSeed(0); const w = randn([100, 784]);` */
export function randn(shape: readonly number[], { dtype = 'float32', requiresGrad = false, rng = globalRng }: RandomOptions = {}): Tensor {
  const s = checkShape(shape, 'randn');
  const d = new (arrayFor(checkDtype(dtype, 'randn')))(sizeOf(s));
  for (let i = 0; i < d.length; i++) d[i] = rng.normal();
  return new Tensor(hostStorage(d), s, { requiresGrad });
}

/** Samples from U[0, 1). */
export function rand(shape: readonly number[], { dtype = 'float32', requiresGrad = false, rng = globalRng }: RandomOptions = {}): Tensor {
  const s = checkShape(shape, 'rand');
  const d = new (arrayFor(checkDtype(dtype, 'rand')))(sizeOf(s));
  for (let i = 0; i < d.length; i++) d[i] = rng.uniform();
  return new Tensor(hostStorage(d), s, { requiresGrad });
}

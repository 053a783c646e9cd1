/**
 * The collectives on tensors, for code running in a rank (see launch): in place where PyTorch's are, over the
 * process group of this thread (getProcessGroup). Outside launch the world has one rank and each is the identity.
 */
import { arrayFor } from '../kernels/index.js';
import { trusted } from '../memory/index.js';
import { Tensor, formatShape, tensor } from '../tensor/index.js';
import { getProcessGroup, type ReduceOp } from './group.js';

/** This thread's rank (0 outside launch). */
export function getRank(): number {
  return getProcessGroup().rank;
}

/** Number of ranks (1 outside launch). */
export function getWorldSize(): number {
  return getProcessGroup().size;
}

function check(what: string, t: Tensor): void {
  if (!(t instanceof Tensor)) throw new Error(`${what}: expected a Tensor, got ${typeof t}`);
}

/** Overwrite t's values with v (rounded once to t's dtype). */
function writeInto(t: Tensor, v: Float64Array): void {
  trusted(() => { t.storage.write().set(v); });
}

/**
 * Combine `t` across all ranks element by element and write the result into `t` on every rank (in place; t is
 * returned). 'sum' and 'mean' add in float64 in rank order (so every rank and every run get bitwise the same
 * values) and round once to t's dtype; 'max' takes the largest value (NaN wins).
 *
 * Shape: any; every rank passes a tensor of the same size.
 *
 * Example (in a rank's main): `distributed.allReduce(tensor([rank + 1]), 'sum').item(); // => 3 with 2 ranks`
 */
export function allReduce(t: Tensor, op: ReduceOp = 'sum'): Tensor {
  check('allReduce', t);
  const v = trusted(() => Float64Array.from(t.storage.peek()));
  getProcessGroup().allReduce(v, op);
  writeInto(t, v);
  return t;
}

/**
 * Copy rank `src`'s values of `t` into `t` on every rank (in place; t is returned).
 * Shape: any; every rank passes a tensor of the same size.
 */
export function broadcast(t: Tensor, src = 0): Tensor {
  check('broadcast', t);
  const v = trusted(() => Float64Array.from(t.storage.peek()));
  getProcessGroup().broadcast(v, src);
  writeInto(t, v);
  return t;
}

/**
 * Every rank's `t`, in rank order, as new tensors of t's dtype (this rank's entry is a copy). The ranks' shapes
 * may differ (for example the last batch of an epoch); their number of dimensions must not.
 */
export function allGather(t: Tensor): Tensor[] {
  check('allGather', t);
  const g = getProcessGroup();
  const shapes = g.allGather(Float64Array.from(t.shape));
  for (let r = 0; r < shapes.length; r++)
    if (shapes[r].length !== t.ndim) throw new Error(`allGather: rank ${r} passed a tensor of shape ${formatShape([...shapes[r]])} but rank ${g.rank} one of shape ${formatShape(t.shape)}`);
  const values = g.allGather(trusted(() => Float64Array.from(t.storage.peek())));
  const Arr = arrayFor(t.dtype);
  return values.map((v, r) => tensor(Arr.from(v), [...shapes[r]], { dtype: t.dtype }));
}

/** Return once every rank has called barrier(). */
export function barrier(): void {
  getProcessGroup().barrier();
}

import { noGrad } from '../autograd/index.js';
import { BatchNorm, BatchNorm1d, BatchNorm2d, Module, RecurrentBase, Sequential, SyncBatchNorm } from '../nn/index.js';
import { Tensor } from '../tensor/index.js';

/** Module's bookkeeping fields (TypeScript-private, so reachable here); rebuilt, never shared, by the copy. */
interface ModuleInternals {
  training: boolean;
  _parameters: Map<string, Tensor | null>;
  _buffers: Map<string, { tensor: Tensor | null; integer: boolean }>;
  _modules: Map<string, Module>;
  _forwardHooks: unknown[];
}

const INTERNAL = new Set<PropertyKey>(['training', '_parameters', '_buffers', '_modules', '_forwardHooks', 'forward']);

/**
 * Rewrites the copied children of a Sequential before the copy is built (foldBatchNorm uses it);
 * `path` is the Sequential's dotted name.
 */
export type SequentialRewrite = (path: string, originals: readonly Module[], copies: Module[]) => void;

const internals = (m: Module) => m as unknown as ModuleInternals;

/** snake_case → camelCase, as Module names its properties. */
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** The property under which `m` exposes the parameter or buffer `name` currently holding `t`. */
function propOf(m: Module, name: string, t: Tensor | null): string {
  const own = Object.getOwnPropertyDescriptor(m, camel(name));
  if (own?.get) return camel(name);
  if (t) for (const key of Object.getOwnPropertyNames(m)) {
    const d = Object.getOwnPropertyDescriptor(m, key)!;
    if (d.get && d.get.call(m) === t) return key;
  }
  return camel(name);
}

/**
 * A deep copy of a module tree, as PyTorch's copy.deepcopy: every parameter and buffer in new storage (so
 * the copy and the original never affect each other), training flags as they are, a module or tensor
 * shared inside the tree shared the same way in the copy. Forward hooks are not copied. Sequential and
 * the BatchNorms (whose state includes JavaScript-private fields) are rebuilt through their constructors
 * (a SyncBatchNorm's copy uses the process group of the thread that runs it);
 * other modules are copied property by property. RNN and LSTM are refused (private per-step state).
 */
export function copyModule<M extends Module>(model: M, rewrite?: SequentialRewrite): M {
  if (!(model instanceof Module)) throw new Error('copyModule: expected an nn.Module');
  return noGrad(() => copyInto(model, '', new Map(), rewrite)) as M;
}

function copyTensor(t: Tensor, memo: Map<unknown, unknown>): Tensor {
  if (!memo.has(t)) memo.set(t, t.detach().clone());
  return memo.get(t) as Tensor;
}

function copyValue(v: unknown, path: string, memo: Map<unknown, unknown>, rewrite?: SequentialRewrite): unknown {
  if (v instanceof Module) return copyInto(v, path, memo, rewrite);
  if (v instanceof Tensor) return copyTensor(v, memo);
  if (Array.isArray(v) && v.length && v.every((u) => u instanceof Module))
    return v.map((u, i) => copyInto(u as Module, `${path}.${i}`, memo, rewrite));
  return v;
}

function copyInto(m: Module, path: string, memo: Map<unknown, unknown>, rewrite?: SequentialRewrite): Module {
  if (memo.has(m)) return memo.get(m) as Module;
  const where = path || '(the model)';
  if (m instanceof RecurrentBase)
    throw new Error(`copyModule: cannot copy ${m.constructor.name} at '${where}' (its per-step state is private); fold or copy the feed-forward parts only`);
  const src = internals(m);
  let c: Module;
  if (m instanceof Sequential) {
    const originals = [...m];
    const copies = originals.map((u, i) => copyInto(u, path ? `${path}.${i}` : String(i), memo, rewrite));
    rewrite?.(path, originals, copies);
    c = new Sequential(...copies);
  } else if (m instanceof BatchNorm) {
    // SyncBatchNorm's copy synchronizes over the process group of the thread that runs it (PyTorch's default group).
    const Cls = m instanceof SyncBatchNorm ? SyncBatchNorm : m instanceof BatchNorm2d ? BatchNorm2d : BatchNorm1d;
    c = new Cls(m.numFeatures, {
      eps: m.eps, momentum: m.momentum, runningStats: m.runningStats, unbiasedRunningVar: m.unbiasedRunningVar, affine: m.affine,
      virtualBatchSize: m.virtualBatchSize, renorm: m.renorm, dtype: (m.weight ?? m.runningMean)?.dtype ?? 'float32',
    }).freezeStats(m.statsFrozen);
  } else {
    c = Object.create(Object.getPrototypeOf(m) as object) as Module;
    const ci = internals(c);
    ci._parameters = new Map();
    ci._buffers = new Map();
    ci._modules = new Map();
    ci._forwardHooks = [];
    for (const [n, child] of src._modules) c.registerModule(n, copyInto(child, path ? `${path}.${n}` : n, memo, rewrite));
  }
  memo.set(m, c);
  Object.setPrototypeOf(c, Object.getPrototypeOf(m) as object);
  internals(c).training = m.training;
  for (const [n, t] of src._parameters) c.registerParameter(n, t ? copyTensor(t, memo) : null, propOf(m, n, t));
  for (const [n, b] of src._buffers) c.registerBuffer(n, b.tensor ? copyTensor(b.tensor, memo) : null, { prop: propOf(m, n, b.tensor), integer: b.integer });
  // Own data properties (configuration, Module-valued children, stray tensors), in their original order.
  for (const key of Reflect.ownKeys(m)) {
    if (INTERNAL.has(key)) continue;
    const d = Object.getOwnPropertyDescriptor(m, key)!;
    if (d.get || d.set) continue; // parameter and buffer accessors, defined above
    const sub = path ? `${path}.${String(key)}` : String(key);
    Object.defineProperty(c, key, { ...d, value: copyValue(d.value, sub, memo, rewrite) });
  }
  return c;
}

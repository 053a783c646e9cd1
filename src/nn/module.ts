import { getBackend } from '../kernels/index.js';
import type { DType, FloatArray } from '../kernels/types.js';
import { allocStorage, asUser, trusted } from '../memory/index.js';
import { Tensor, formatShape, inspectSymbol, tensor, type NestedArray } from '../tensor/index.js';
import { checkTensorInput } from './check.js';

/** snake_case (PyTorch state-dict names) → camelCase (TypeScript property names). */
function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** A value `loadStateDict` accepts for one entry. */
export type StateValue = Tensor | FloatArray | Int32Array | NestedArray | readonly number[];

interface BufferInfo { tensor: Tensor | null; integer: boolean }

/** Called after a module's forward with its inputs and output. */
export type ForwardHook = (module: Module, inputs: readonly Tensor[], output: Tensor) => void;

export interface HookHandle { remove(): void }

/**
 * Base class of every layer. A module owns parameters (trained by optimizers), buffers (state such as
 * running statistics, saved but not trained) and child modules, all named as in PyTorch so that
 * `stateDict()` keys match a PyTorch model of the same structure.
 *
 * Subclasses call `registerParameter` / `registerBuffer` (which also define a camelCase property, e.g.
 * `running_mean` → `this.runningMean`). Child modules are found automatically: any own property that
 * holds a Module (or an array of Modules, named `prop.i`) is a child, in definition order;
 * `registerModule` names one explicitly (Sequential uses "0", "1", …).
 *
 * Example:
 * ```ts
 * class Net extends nn.Module {
 *   fc = new nn.Linear(4, 3);
 *   bn = new nn.BatchNorm1d(3);
 *   forward(x: Tensor) { return this.bn.forward(this.fc.forward(x)).relu(); }
 * }
 * Object.keys(new Net().stateDict());
 * // => ["fc.weight", "fc.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var", "bn.num_batches_tracked"]
 * ```
 */
export abstract class Module {
  /** Training mode (true) or evaluation mode (false); set by train() / eval(), recursively. */
  training = true;
  private readonly _parameters = new Map<string, Tensor | null>();
  private readonly _buffers = new Map<string, BufferInfo>();
  private readonly _modules = new Map<string, Module>();

  abstract forward(...inputs: Tensor[]): Tensor;

  private readonly _forwardHooks: ForwardHook[] = [];

  /**
   * Call `hook(module, inputs, output)` after every forward of this module (PyTorch's
   * register_forward_hook), e.g. to record a layer's inputs or activations. Returns a handle whose
   * `remove()` detaches it. Modules without hooks pay nothing: forward is wrapped on first registration.
   */
  registerForwardHook(hook: ForwardHook): HookHandle {
    if (typeof hook !== 'function') throw new Error('registerForwardHook: expected a function (module, inputs, output) => void');
    if (!Object.prototype.hasOwnProperty.call(this, 'forward')) {
      const inner = this.forward;
      const hooks = this._forwardHooks;
      Object.defineProperty(this, 'forward', {
        value: (...xs: Tensor[]) => {
          const y = inner.apply(this, xs);
          for (const h of [...hooks]) asUser(() => h(this, xs, y), xs, y);
          return y;
        },
        enumerable: false, configurable: true, writable: true,
      });
    }
    this._forwardHooks.push(hook);
    return { remove: () => { const i = this._forwardHooks.indexOf(hook); if (i >= 0) this._forwardHooks.splice(i, 1); } };
  }

  /** Register a trainable tensor under `name` (requiresGrad is switched on); defines property `prop`. */
  registerParameter(name: string, t: Tensor | null, prop = camel(name)): void {
    if (t) { t.requiresGrad = true; t.storage.persist(); }
    this._parameters.set(name, t);
    Object.defineProperty(this, prop, {
      get: () => this._parameters.get(name) ?? null,
      set: (v: Tensor | null) => { if (v) { v.requiresGrad = true; v.storage.persist(); } this._parameters.set(name, v); },
      enumerable: false, configurable: true,
    });
  }

  /**
   * Register a state tensor under `name`; defines property `prop`. `integer` marks a counter (such as
   * num_batches_tracked) that `to(dtype)` leaves alone, as PyTorch leaves integer buffers alone.
   */
  registerBuffer(name: string, t: Tensor | null, { prop = camel(name), integer = false }: { prop?: string; integer?: boolean } = {}): void {
    if (t) t.storage.persist();
    this._buffers.set(name, { tensor: t, integer });
    Object.defineProperty(this, prop, {
      get: () => this._buffers.get(name)?.tensor ?? null,
      set: (v: Tensor | null) => { if (v) v.storage.persist(); this._buffers.set(name, { tensor: v, integer }); },
      enumerable: false, configurable: true,
    });
  }

  /** Register a child module under an explicit name. */
  registerModule(name: string, m: Module): void {
    this._modules.set(name, m);
  }

  /** Direct children, [name, module], explicit ones first, then Module-valued own properties. */
  *namedChildren(): Generator<[string, Module]> {
    yield* this._modules;
    for (const [key, v] of Object.entries(this)) {
      if (v instanceof Module) yield [key, v];
      else if (Array.isArray(v) && v.length && v.every((u) => u instanceof Module))
        for (let i = 0; i < v.length; i++) yield [`${key}.${i}`, v[i] as Module];
    }
  }

  children(): Module[] {
    return [...this.namedChildren()].map(([, m]) => m);
  }

  /** This module and all below it, [dotted name, module] ('' for this one). */
  *namedModules(prefix = ''): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.namedChildren()) yield* m.namedModules(prefix ? `${prefix}.${n}` : n);
  }

  modules(): Module[] {
    return [...this.namedModules()].map(([, m]) => m);
  }

  /** All parameters, [dotted name, tensor], in registration order; a tensor shared by two modules appears once. */
  *namedParameters(prefix = '', seen = new Set<Tensor>()): Generator<[string, Tensor]> {
    for (const [n, t] of this._parameters) if (t && !seen.has(t)) { seen.add(t); yield [prefix + n, t]; }
    for (const [n, m] of this.namedChildren()) yield* m.namedParameters(`${prefix}${n}.`, seen);
  }

  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }

  /** All buffers, [dotted name, tensor]; a shared tensor appears once. */
  *namedBuffers(prefix = '', seen = new Set<Tensor>()): Generator<[string, Tensor]> {
    for (const [n, b] of this._buffers) if (b.tensor && !seen.has(b.tensor)) { seen.add(b.tensor); yield [prefix + n, b.tensor]; }
    for (const [n, m] of this.namedChildren()) yield* m.namedBuffers(`${prefix}${n}.`, seen);
  }

  /** Dotted names of the integer-valued buffers (counters such as num_batches_tracked; int64 in PyTorch files). */
  integerBufferNames(): Set<string> {
    const out = new Set<string>();
    for (const [prefix, m] of this.namedModules())
      for (const [n, b] of m._buffers) if (b.tensor && b.integer) out.add(prefix ? `${prefix}.${n}` : n);
    return out;
  }

  buffers(): Tensor[] {
    return [...this.namedBuffers()].map(([, t]) => t);
  }

  /**
   * The module's own settings for printing, as in PyTorch's extra_repr (e.g. Linear's
   * `inFeatures=784, outFeatures=100, bias=true`); '' for none. Override it in your modules to show theirs.
   */
  extraRepr(): string {
    return '';
  }

  /**
   * The module tree with each module's settings, as PyTorch prints a module:
   * ```text
   * Sequential(
   *   (0): Linear(inFeatures=4, outFeatures=3, bias=true)
   *   (1): BatchNorm1d(3, eps=0.00001, momentum=0.9, runningStats='ema', affine=true)
   * )
   * ```
   * `String(model)`, template strings and `console.log(model)` (in Node) show it.
   */
  toString(): string {
    const name = this.constructor.name || 'Module';
    const extra = this.extraRepr();
    const lines = extra ? extra.split('\n') : [];
    for (const [n, m] of this.namedChildren()) lines.push(`(${n}): ${indent(String(m))}`);
    if (!lines.length) return `${name}()`;
    if (lines.length === 1 && extra) return `${name}(${extra})`;
    return `${name}(\n${lines.map((l) => `  ${l}`).join('\n')}\n)`;
  }

  /** console.log(module) in Node prints the tree (the symbol Node's util.inspect looks for; nothing is imported). */
  [inspectSymbol](): string {
    return this.toString();
  }

  /** Set training mode here and in every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Evaluation mode: BatchNorm uses its running statistics, Dropout is the identity. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Drop every parameter's gradient (set to null, as PyTorch's zero_grad(set_to_none=True)). Its storage is
   * freed at once unless your code read `.grad` (see Tensor.dropGrad); a gradient you hold stays valid.
   */
  zeroGrad(): void {
    trusted(() => { for (const p of this.parameters()) p.dropGrad(); });
  }

  /**
   * Convert every parameter and floating-point buffer to `dtype` (returns this). The module's tensors are
   * replaced by converted ones, so create optimizers after calling to(), as PyTorch advises for .cuda().
   */
  to(dtype: DType): this {
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`to: unknown dtype '${dtype}'; use 'float32' or 'float64'`);
    for (const m of this.modules()) {
      for (const [n, t] of m._parameters) if (t && t.dtype !== dtype) m._parameters.set(n, convert(t, dtype, true));
      for (const [n, b] of m._buffers) if (b.tensor && !b.integer && b.tensor.dtype !== dtype) m._buffers.set(n, { ...b, tensor: convert(b.tensor, dtype, false) });
    }
    return this;
  }

  /**
   * Parameters and buffers by PyTorch-style dotted name, in PyTorch's order (each module's parameters,
   * then its buffers, then its children's). The tensors themselves, detached from any graph.
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [prefix, m] of this.namedModules()) {
      const p = prefix ? `${prefix}.` : '';
      for (const [n, t] of m._parameters) if (t) out[p + n] ??= t.detach();
      for (const [n, b] of m._buffers) if (b.tensor) out[p + n] ??= b.tensor.detach();
    }
    return out;
  }

  /**
   * Copy values into parameters and buffers, by name. Every entry is checked before anything is written:
   * a missing, unexpected or mis-shaped entry is an error that names it, and the module stays unchanged.
   * Values may be tensors, typed arrays, number arrays or (for scalars) numbers.
   */
  loadStateDict(record: Record<string, StateValue>): void {
    if (record === null || typeof record !== 'object') throw new Error('loadStateDict: expected an object from names to tensors');
    // The names stateDict() gives, a shared tensor under each of its names (as PyTorch), so a state dict loads back.
    const own = new Map<string, Tensor>(Object.entries(this.stateDict()));
    const missing = [...own.keys()].filter((n) => !(n in record));
    const extra = Object.keys(record).filter((n) => !own.has(n));
    const problems: string[] = [];
    if (missing.length) problems.push(`missing: ${missing.join(', ')}`);
    if (extra.length) problems.push(`unexpected: ${extra.join(', ')}`);
    const values = new Map<string, ArrayLike<number>>();
    const integers = this.integerBufferNames();
    for (const [n, t] of own) {
      if (!(n in record)) continue;
      const v = record[n];
      const { data, shape } = asValues(v);
      if (!data) { problems.push(`${n}: expected a tensor, typed array, number array or number, got ${typeof v}`); continue; }
      const shapeOk = shape ? shape.length === t.ndim && shape.every((d, i) => d === t.shape[i]) : data.length === t.size;
      if (!shapeOk || data.length !== t.size) { problems.push(`${n}: shape ${shape ? formatShape(shape) : `(${data.length} values)`} does not match the module's ${formatShape(t.shape)}`); continue; }
      if (integers.has(n) && !Array.prototype.every.call(data, (v: number) => Number.isSafeInteger(v) && v >= 0)) { problems.push(`${n}: a counter must hold non-negative integers`); continue; }
      values.set(n, data);
    }
    if (problems.length) throw new Error(`loadStateDict: ${problems.join('; ')}`);
    for (const [n, t] of own) {
      const d = values.get(n)!, out = t.storage.write();
      for (let i = 0; i < d.length; i++) out[i] = d[i];
    }
  }
}

/** Every line after the first indented by two spaces (a child's repr inside its parent's). */
function indent(s: string): string {
  return s.split('\n').join('\n  ');
}

function asValues(v: StateValue): { data: ArrayLike<number> | null; shape: readonly number[] | null } {
  if (v instanceof Tensor) return { data: v.storage.copyToHost(), shape: v.shape };
  if (Array.isArray(v) && v.some((x) => Array.isArray(x))) {
    try { return asValues(tensor(v as NestedArray, undefined, { dtype: 'float64' })); } catch { return { data: null, shape: null }; }
  }
  if (typeof v === 'number') return { data: [v], shape: null };
  if (ArrayBuffer.isView(v) || (Array.isArray(v) && v.every((x) => typeof x === 'number'))) return { data: v as ArrayLike<number>, shape: null };
  return { data: null, shape: null };
}

function convert(t: Tensor, dtype: DType, param: boolean): Tensor {
  return trusted(() => {
    const s = allocStorage(dtype, t.shape, false).persist();
    getBackend().kernels.copy(t.arr.data, s.write());
    return new Tensor(s, t.shape, { requiresGrad: param });
  });
}

/** Built-in module classes: their forward runs as library code (see `libraryModules`). */
const LIBRARY = new Set<unknown>();
const WRAPPED = new WeakSet<object>();

/**
 * Register built-in module classes. Their `forward` (wherever it is defined up the class chain) then runs
 * as library code for instances of exactly these classes: tensors it makes and does not return are private
 * to it, freed as soon as nothing needs them (see src/memory/storage.ts). Instances of user subclasses, and
 * user-defined modules, run as user code: whatever they keep stays valid.
 */
export function libraryModules(...classes: (abstract new (...args: never[]) => Module)[]): void {
  for (const cls of classes) {
    LIBRARY.add(cls);
    let proto = cls.prototype as object;
    while (!Object.prototype.hasOwnProperty.call(proto, 'forward')) proto = Object.getPrototypeOf(proto) as object;
    const f = (proto as Module).forward;
    if (WRAPPED.has(f)) continue;
    const wrapped = function (this: Module, ...xs: Tensor[]): Tensor {
      // A nested array or other non-Tensor gets an error naming the module, not a raw TypeError from inside.
      // The first argument is the input (required); later ones (an RNN's h0) may be left out.
      for (let i = 0; i < Math.max(xs.length, 1); i++)
        if ((i === 0 || xs[i] !== undefined) && !(xs[i] instanceof Tensor)) checkTensorInput(`${this.constructor.name}.forward`, xs[i], i === 0 ? 'input' : `argument ${i}`);
      return LIBRARY.has(this.constructor) ? trusted(() => f.apply(this, xs)) : f.apply(this, xs);
    };
    WRAPPED.add(wrapped);
    (proto as Module).forward = wrapped;
  }
}

/**
 * Call a child's forward from a module's forward. A built-in child runs as part of the caller; a user-defined
 * one (or one with forward hooks) runs as user code, so tensors it is given or keeps stay valid.
 */
export function callModule(m: Module, ...xs: Tensor[]): Tensor {
  if (LIBRARY.has(m.constructor) && !Object.prototype.hasOwnProperty.call(m, 'forward')) return m.forward(...xs);
  return asUser(() => m.forward(...xs), xs);
}

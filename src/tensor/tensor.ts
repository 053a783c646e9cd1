import { apply, backward as runBackward, Arr, type Node, type OpAttrs, type OpName, type Variable } from '../autograd/index.js';
import { arrayFor, getBackend } from '../kernels/index.js';
import type { DType, FloatArray, Shape } from '../kernels/types.js';
import { broadcastShapes, sizeOf } from '../kernels/shape.js';
import { Storage, allocStorage, hostStorage, inLibrary, trusted } from '../memory/index.js';
import { formatValues } from './format.js';

export type TensorLike = Tensor | number;
export type NestedArray = number | NestedArray[];

/**
 * What `toArray()` returns: nested arrays of numbers as deep as the tensor's rank (a number for a scalar).
 * Typed `any`, as PyTorch's `tolist()` is, since the rank is known only at run time: index it directly
 * (`t.toArray()[0][1]`) or give it the type you know (`const rows: number[][] = t.toArray()`).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ArrayValue = any;

/** The key Node's util.inspect (console.log) looks for; a registered symbol, so no import of node:util. */
export const inspectSymbol: unique symbol = Symbol.for('nodejs.util.inspect.custom');

function fmt(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Normalize an axis (negative counts from the end) for a tensor of rank r; errors name the shape. */
export function normAxis(axis: number, shape: Shape, what: string): number {
  const r = shape.length;
  if (!Number.isInteger(axis) || axis < -r || axis >= Math.max(r, 1))
    throw new Error(`${what}: axis ${axis} is out of range for a tensor of shape ${fmt(shape)}`);
  return axis < 0 ? axis + r : axis;
}

/**
 * Apply op `name` and wrap its output: the one path from the Tensor API, nn and everything above to the op
 * table and the tape (see autograd's `apply`, which checks the inputs' storage is alive).
 */
export function op<P extends OpName>(name: P, inputs: readonly (Tensor | null)[], attrs: OpAttrs[P]): Tensor {
  const { out, node } = apply(name, inputs, attrs);
  return new Tensor(out.storage, out.shape, { node });
}

/** As `op`, for an op with side results (norm's batch statistics): run inside library code, which consumes them. */
export function opWithAux<P extends OpName>(name: P, inputs: readonly (Tensor | null)[], attrs: OpAttrs[P]): { y: Tensor; aux: Record<string, Arr> } {
  const { out, node, aux } = apply(name, inputs, attrs);
  return { y: new Tensor(out.storage, out.shape, { node }), aux: aux ?? {} };
}

/**
 * An n-dimensional array of float32 or float64 numbers with reverse-mode automatic differentiation.
 *
 * Values are contiguous and row-major; `data` gives them as a typed array. Operations that need a
 * gradient are recorded; `backward()` fills `.grad` of every leaf tensor created with `requiresGrad`.
 *
 * Memory manages itself: a tensor stays valid as long as you can reach it, with no scope or dispose needed
 * (see README, "Backends and memory"); `dispose()` and `scope()` free storage early when you want that.
 *
 * Example:
 * ```ts
 * const x = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
 * const y = x.mul(x).sum();      // Σ x²
 * y.backward();
 * x.grad!.toArray();             // => [[2, 4], [6, 8]]
 * ```
 */
export class Tensor implements Variable {
  /** Where the values live (shared by views: reshape, detach). */
  readonly storage: Storage;
  readonly shape: readonly number[];
  /** The op that produced this tensor (null for leaves and for results made without recording). */
  readonly node: Node | null;
  /** The values as the op table takes them (same storage and shape). */
  readonly arr: Arr;
  private _requiresGrad: boolean;
  private _grad: Tensor | null = null;

  /**
   * A tensor over `data` (a Float32Array or Float64Array, used as is, not copied: it is the tensor's storage,
   * as `.data` returns it) with the given shape. Library code passes a Storage instead.
   */
  constructor(data: FloatArray | Storage, shape: Shape, opts: { requiresGrad?: boolean; node?: Node | null } = {}) {
    if (!(data instanceof Storage) && !(data instanceof Float32Array) && !(data instanceof Float64Array))
      throw new Error(`Tensor: data must be a Float32Array or Float64Array, got ${data === null ? 'null' : (data as object)?.constructor?.name ?? typeof data}; use tensor() for other values`);
    if (!Array.isArray(shape) || sizeOf(shape) !== (data instanceof Storage ? data.size : data.length))
      throw new Error(`Tensor: shape ${Array.isArray(shape) ? fmt(shape) : String(shape)} holds ${Array.isArray(shape) ? sizeOf(shape) : '?'} values but the data has ${data instanceof Storage ? data.size : data.length}`);
    this.storage = data instanceof Storage ? data : hostStorage(data, true);
    this.shape = Object.freeze([...shape]);
    this.arr = new Arr(this.storage, this.shape);
    this.node = opts.node ?? null;
    this._requiresGrad = this.node !== null || (opts.requiresGrad ?? false);
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  /**
   * The values, row-major, as a typed array shared with the tensor: what you write into it is what later
   * operations see, and in-place updates (an optimizer step on a parameter) show in it. With the wasm
   * backend the tensor's values then live in this array for good, so kernels copy them in and out on every
   * use: to only read values, `toArray()` and `item()` are cheaper.
   */
  get data(): FloatArray {
    return this.storage.expose();
  }

  /** The accumulated gradient (leaves only), or null before the first backward. */
  get grad(): Tensor | null {
    const g = this._grad;
    if (g && !inLibrary()) g.storage.escaped = true; // user code has it: replacing it must not free it
    return g;
  }

  set grad(g: Tensor | null) {
    if (g !== null && !(g instanceof Tensor)) throw new Error(`grad: expected a Tensor or null, got ${typeof g}`);
    if (g && (g.dtype !== this.dtype || g.shape.length !== this.ndim || g.shape.some((d, i) => d !== this.shape[i])))
      throw new Error(`grad: a gradient of shape ${fmt(g.shape)} (${g.dtype}) does not fit a tensor of shape ${fmt(this.shape)} (${this.dtype})`);
    if (g && !inLibrary()) g.storage.escaped = true;
    this.setGrad(g);
  }

  /** Replace .grad; the old gradient's storage is freed unless user code may hold it. */
  private setGrad(g: Tensor | null): void {
    const old = this._grad;
    if (old === g) return;
    this._grad = g;
    g?.storage.persist();
    if (old && old.storage !== g?.storage && old.storage.owner === 'persistent') {
      if (old.storage.escaped) old.storage.owner = 'managed';
      else old.storage.free();
    }
  }

  /** Whether gradients flow to this tensor. Settable on leaves only (as in PyTorch). */
  get requiresGrad(): boolean {
    return this._requiresGrad;
  }

  set requiresGrad(v: boolean) {
    if (this.node && !v) throw new Error('requiresGrad can only be changed on leaf tensors; use detach() for a non-leaf');
    this._requiresGrad = v;
  }

  /** Number of elements. */
  get size(): number {
    return this.storage.size;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Whether the tensor was created by the user (not by a recorded op). */
  get isLeaf(): boolean {
    return this.node === null;
  }

  /** Another operand as a tensor of a common dtype (float64 wins, as in PyTorch's type promotion). */
  private pair(other: TensorLike, what: string, elementwise = true): [Tensor, Tensor] {
    const o = typeof other === 'number' ? scalar(other, this.dtype) : other;
    if (!(o instanceof Tensor)) throw new Error(`${what}: expected a Tensor or a number, got ${typeof other}`);
    if (elementwise && !broadcastShapes(this.shape, o.shape))
      throw new Error(`${what}: shapes ${fmt(this.shape)} and ${fmt(o.shape)} cannot be broadcast together`);
    if (this.dtype === o.dtype) return [this, o];
    return this.dtype === 'float64' ? [this, o.to('float64')] : [this.to('float64'), o];
  }

  private binary(name: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum', other: TensorLike): Tensor {
    const [a, b] = this.pair(other, name);
    return op(name, [a, b], {});
  }

  /** Elementwise a + b with broadcasting. */
  add(other: TensorLike): Tensor { return this.binary('add', other); }
  /** Elementwise a − b with broadcasting. */
  sub(other: TensorLike): Tensor { return this.binary('sub', other); }
  /** Elementwise a · b with broadcasting. */
  mul(other: TensorLike): Tensor { return this.binary('mul', other); }
  /** Elementwise a / b with broadcasting. */
  div(other: TensorLike): Tensor { return this.binary('div', other); }
  /** Elementwise a^p with broadcasting (p a tensor or a number). */
  pow(p: TensorLike): Tensor { return this.binary('pow', p); }
  /** Elementwise maximum of two tensors (the gradient is split on ties). */
  maximum(other: TensorLike): Tensor { return this.binary('maximum', other); }
  /** Elementwise minimum of two tensors. */
  minimum(other: TensorLike): Tensor { return this.binary('minimum', other); }

  private unary(name: 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sigmoid' | 'relu' | 'tanh' | 'square' | 'reciprocal'): Tensor {
    return op(name, [this], {});
  }

  neg(): Tensor { return this.unary('neg'); }
  exp(): Tensor { return this.unary('exp'); }
  log(): Tensor { return this.unary('log'); }
  sqrt(): Tensor { return this.unary('sqrt'); }
  abs(): Tensor { return this.unary('abs'); }
  /** 1/(1 + e^−x), computed without overflow for large |x|. */
  sigmoid(): Tensor { return this.unary('sigmoid'); }
  /** max(x, 0); NaN stays NaN. */
  relu(): Tensor { return this.unary('relu'); }
  tanh(): Tensor { return this.unary('tanh'); }
  square(): Tensor { return this.unary('square'); }
  reciprocal(): Tensor { return this.unary('reciprocal'); }

  /**
   * Matrix product. a [..., M, K] · b [K, N] or [..., K, N] with the same leading dims; a 1-D b is a
   * column vector (the result drops that axis).
   */
  matmul(other: Tensor): Tensor {
    let [a, b] = this.pair(other, 'matmul', false); // matmul checks its own shapes below
    if (a.ndim < 2) throw new Error(`matmul: expected a tensor of rank ≥ 2 on the left, got shape ${fmt(a.shape)}`);
    const vec = b.ndim === 1;
    if (vec) b = b.reshape([b.shape[0], 1]);
    const K = a.shape[a.ndim - 1];
    const batchOk = b.ndim === 2 || (b.ndim === a.ndim && b.shape.slice(0, -2).every((d, i) => d === a.shape[i]));
    if (b.shape[b.ndim - 2] !== K || !batchOk)
      throw new Error(`matmul: shapes ${fmt(this.shape)} and ${fmt(other.shape)} do not match (inner dimensions ${K} and ${b.shape[b.ndim - 2]}${batchOk ? '' : ', or batch dimensions differ'})`);
    const out = op('matmul', [a, b], {});
    return vec ? out.reshape(out.shape.slice(0, -1)) : out;
  }

  private axes(axis: number | readonly number[] | undefined, what: string): number[] {
    if (axis === undefined) return this.shape.map((_, i) => i);
    const list = (typeof axis === 'number' ? [axis] : [...axis]).map((a) => normAxis(a, this.shape, what));
    if (new Set(list).size !== list.length) throw new Error(`${what}: repeated axis in [${axis}]`);
    return list.sort((x, y) => x - y);
  }

  /** Sum over `axis` (a number, a list, or all axes when omitted). */
  sum(axis?: number | readonly number[], keepdim = false): Tensor {
    return op('sum', [this], { axes: this.axes(axis, 'sum'), keepdim });
  }

  /** Mean over `axis` (all axes when omitted). */
  mean(axis?: number | readonly number[], keepdim = false): Tensor {
    return op('mean', [this], { axes: this.axes(axis, 'mean'), keepdim });
  }

  /** Maximum over `axis` (all axes when omitted); the gradient is split evenly among tied maxima. */
  max(axis?: number | readonly number[], keepdim = false): Tensor {
    if (this.size === 0) throw new Error(`max: the tensor of shape ${fmt(this.shape)} is empty`);
    return op('max', [this], { axes: this.axes(axis, 'max'), keepdim });
  }

  /**
   * Indices of the maxima along `axis` (default last; the first maximum on ties), as integers: an
   * `Indices` with `data` an Int32Array (compare it with Int32Array labels) and the reduced shape.
   *
   * Example:
   * ```ts
   * const logits = tensor([[0.1, 2, -1], [3, 0, 0.5]]);
   * const pred = logits.argmax(1);
   * pred.data;      // Int32Array [1, 0]
   * pred.toArray(); // => [1, 0]
   * ```
   */
  argmax(axis = -1): Indices {
    const ax = normAxis(axis, this.shape, 'argmax');
    if (this.shape[ax] === 0) throw new Error(`argmax: axis ${axis} of shape ${fmt(this.shape)} is empty`);
    const perm = this.shape.map((_, i) => i).filter((i) => i !== ax).concat([ax]);
    const C = this.shape[ax], R = this.size / C;
    const shape = this.shape.filter((_, i) => i !== ax);
    return trusted(() => {
      const x = ax === this.ndim - 1 ? this : this.detach().permute(perm);
      const out = allocStorage('float64', shape, false);
      const values = out.read();
      getBackend().kernels.argmax(x.arr.data, R, C, values);
      const data = Int32Array.from(out.peek());
      out.free();
      return new Indices(data, shape);
    });
  }

  /** The same data under a new shape (one dimension may be −1). Shares storage with this tensor. */
  reshape(shape: readonly number[]): Tensor {
    const s = [...shape];
    const free = s.indexOf(-1);
    if (free >= 0) {
      const rest = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
      if (rest === 0 || this.size % rest !== 0)
        throw new Error(`reshape: cannot reshape a tensor of shape ${fmt(this.shape)} (${this.size} values) into ${fmt(shape)}`);
      s[free] = this.size / rest;
    }
    if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== this.size)
      throw new Error(`reshape: cannot reshape a tensor of shape ${fmt(this.shape)} (${this.size} values) into ${fmt(shape)}`);
    return op('reshape', [this], { shape: s });
  }

  /** Flatten axes start…end into one (PyTorch's flatten). */
  flatten(start = 0, end = -1): Tensor {
    if (this.ndim === 0) return this.reshape([1]);
    const a = normAxis(start, this.shape, 'flatten'), b = normAxis(end, this.shape, 'flatten');
    return this.reshape([...this.shape.slice(0, a), this.shape.slice(a, b + 1).reduce((p, d) => p * d, 1), ...this.shape.slice(b + 1)]);
  }

  /** Reorder the axes (a copy). */
  permute(perm: readonly number[]): Tensor {
    const p = perm.map((a) => normAxis(a, this.shape, 'permute'));
    if (p.length !== this.ndim || new Set(p).size !== p.length)
      throw new Error(`permute: [${perm}] is not a permutation of the ${this.ndim} axes of shape ${fmt(this.shape)}`);
    return op('permute', [this], { perm: p });
  }

  /** Swap two axes (default: the last two). A copy. */
  transpose(dim0 = -2, dim1 = -1): Tensor {
    const a = normAxis(dim0, this.shape, 'transpose'), b = normAxis(dim1, this.shape, 'transpose');
    const perm = this.shape.map((_, i) => i);
    [perm[a], perm[b]] = [perm[b], perm[a]];
    return this.permute(perm);
  }

  /** Broadcast to `shape` (a copy, differentiable). */
  expand(shape: readonly number[]): Tensor {
    const b = broadcastShapes(this.shape, shape);
    if (!b || b.length !== shape.length || b.some((d, i) => d !== shape[i]))
      throw new Error(`expand: a tensor of shape ${fmt(this.shape)} cannot be broadcast to ${fmt(shape)}`);
    return op('expand', [this], { shape: [...shape] });
  }

  /** The slice [start, start + length) along `axis` (a copy, differentiable; PyTorch's narrow). A negative start counts from the end. */
  narrow(axis: number, start: number, length: number): Tensor {
    if (this.ndim === 0) throw new Error('narrow: expected a tensor of rank ≥ 1, got a scalar');
    const a = normAxis(axis, this.shape, 'narrow'), D = this.shape[a];
    const s = Number.isInteger(start) && start < 0 ? start + D : start;
    if (!Number.isInteger(s) || !Number.isInteger(length) || s < 0 || length < 0 || s + length > D)
      throw new Error(`narrow: start ${start} and length ${length} do not fit axis ${axis} (size ${D}) of shape ${fmt(this.shape)}`);
    return op('narrow', [this], { axis: a, start: s, length });
  }

  /** Entry `index` along `axis`, that axis removed (PyTorch's select); a negative index counts from the end. */
  select(axis: number, index: number): Tensor {
    const y = this.narrow(axis, index, 1);
    const a = normAxis(axis, this.shape, 'select');
    return y.reshape(this.shape.filter((_, i) => i !== a));
  }

  /** log softmax over the last axis. */
  logSoftmax(): Tensor {
    if (this.ndim === 0) throw new Error('logSoftmax: expected a tensor of rank ≥ 1, got a scalar');
    return op('logSoftmax', [this], {});
  }

  /** softmax over the last axis. */
  softmax(): Tensor {
    return this.logSoftmax().exp();
  }

  /** This tensor in another dtype (itself when it already has it); differentiable. */
  to(dtype: DType): Tensor {
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`to: unknown dtype '${dtype}'; use 'float32' or 'float64'`);
    return dtype === this.dtype ? this : op('cast', [this], { dtype });
  }

  /** A copy with its own storage; gradients flow back to this tensor. */
  clone(): Tensor {
    return op('cast', [this], { dtype: this.dtype });
  }

  /** The same storage, cut from the graph: no gradient flows through the result. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape);
  }

  /**
   * Free this tensor's storage now, rather than when memory management reclaims it. Using it, or a tensor
   * sharing its storage (reshape, detach), afterwards is an error.
   */
  dispose(): void {
    this.storage.free();
  }

  /**
   * Set .grad to null (PyTorch's zero_grad(set_to_none=True); Module and optimizer zeroGrad() call it). The
   * old gradient's storage is freed at once unless your code read `.grad` (then it stays valid as long as you
   * hold it).
   */
  dropGrad(): void {
    this.setGrad(null);
  }

  /** Whether the storage was freed (by dispose() or the end of the scope that made it). */
  get isDisposed(): boolean {
    return this.storage.freed;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: only a tensor with one element can be converted to a number, got shape ${fmt(this.shape)}`);
    return this.storage.peek()[0];
  }

  /**
   * The values as nested arrays of numbers, as deep as the rank (a number for a scalar tensor), like
   * PyTorch's tolist(). The type is `any` (see ArrayValue), so it indexes under strict.
   *
   * Example:
   * ```ts
   * const m = tensor([[1, 2], [3, 4]]);
   * m.toArray()[1][0];                 // => 3
   * const rows: number[][] = m.toArray();
   * rows.length;                       // => 2
   * ```
   */
  toArray(): ArrayValue {
    const v = this.storage.peek();
    const build = (d: number, off: number): NestedArray => {
      if (d === this.ndim) return v[off];
      const stride = this.shape.slice(d + 1).reduce((p, v) => p * v, 1);
      return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /**
   * Back-propagate from this tensor. A scalar needs no argument; otherwise pass the upstream gradient
   * (a tensor or typed array of this shape), as in PyTorch.
   */
  backward(grad?: Tensor | FloatArray, { retainGraph = false }: { retainGraph?: boolean } = {}): void {
    let g: Tensor;
    if (grad === undefined) {
      if (this.size !== 1) throw new Error(`backward: the gradient can be implied only for a one-element tensor; this one has shape ${fmt(this.shape)}, so pass backward(grad)`);
      g = full(this.shape, 1, { dtype: this.dtype });
    } else if (grad instanceof Tensor) {
      if (grad.shape.length !== this.ndim || grad.shape.some((d, i) => d !== this.shape[i]))
        throw new Error(`backward: the gradient has shape ${fmt(grad.shape)} but the tensor has shape ${fmt(this.shape)}`);
      g = grad.to(this.dtype).detach();
    } else {
      if (grad.length !== this.size) throw new Error(`backward: the gradient has ${grad.length} values but the tensor has shape ${fmt(this.shape)}`);
      g = tensor(grad, this.shape, { dtype: this.dtype });
    }
    runBackward(this, g.arr, retainGraph);
  }

  /** Called by the tape: add g into .grad (allocating it on first use; gradients outlive scopes). */
  accumulateGrad(g: Arr, handOver = false): void {
    const k = getBackend().kernels;
    if (!this._grad && handOver && g.dtype === this.dtype && g.storage.size === this.size) {
      this.setGrad(new Tensor(g.storage, this.shape));
    } else if (!this._grad) {
      const s = allocStorage(this.dtype, this.shape, false);
      k.copy(g.data, s.write());
      this.setGrad(new Tensor(s, this.shape));
    } else {
      const d = this._grad.storage.write();
      k.binary('add', d, this.shape, g.data, g.shape, d, this.shape);
    }
  }

  /**
   * The values (abbreviated past 1000 elements to the first and last 3 along each axis; see
   * setPrintOptions), shape, dtype and gradient state — `requiresGrad=true` on a leaf that takes
   * gradients, `gradFn=<op>` on a recorded result — as PyTorch prints a tensor. `String(t)`, template
   * strings and `console.log(t)` (in Node) show it.
   *
   * Example:
   * ```ts
   * String(tensor([[1, 2], [3, 4.5]]));
   * // => "Tensor([[1.0000, 2.0000],\n        [3.0000, 4.5000]], shape=[2, 2], dtype=float32)"
   * ```
   */
  toString(): string {
    const head = 'Tensor(';
    const values = this.storage.freed ? '<disposed>' : formatValues(this.storage.peek(), this.shape, head.length);
    const grad = this.node ? `, gradFn=${this.node.op}` : this.requiresGrad ? ', requiresGrad=true' : '';
    return `${head}${values}, shape=${fmt(this.shape)}, dtype=${this.dtype}${grad})`;
  }

  /** console.log(tensor) in Node prints toString(). */
  [inspectSymbol](): string {
    return this.toString();
  }
}

/**
 * Integer indices with a shape, as `argmax` returns them (PyTorch returns an int64 tensor there; tensors
 * here hold floats, so indices come as an Int32Array). No gradient flows through indices.
 */
export class Indices {
  readonly shape: readonly number[];

  constructor(readonly data: Int32Array, shape: readonly number[]) {
    if (sizeOf(shape) !== data.length) throw new Error(`Indices: shape ${fmt(shape)} holds ${sizeOf(shape)} values but the data has ${data.length}`);
    this.shape = Object.freeze([...shape]);
  }

  get size(): number { return this.data.length; }
  get ndim(): number { return this.shape.length; }

  /** The value of a one-element result. */
  item(): number {
    if (this.size !== 1) throw new Error(`item: only a result with one element can be converted to a number, got shape ${fmt(this.shape)}`);
    return this.data[0];
  }

  /** Nested arrays of integers, as deep as the rank (a number for a scalar). */
  toArray(): ArrayValue {
    const build = (d: number, off: number): NestedArray => {
      if (d === this.ndim) return this.data[off];
      const stride = this.shape.slice(d + 1).reduce((p, v) => p * v, 1);
      return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, off + i * stride));
    };
    return build(0, 0);
  }

  /** The indices as a float tensor (float32 unless `dtype` says otherwise), e.g. to compute with them. */
  toTensor(dtype: DType = 'float32'): Tensor {
    return tensor(this.data, this.shape, { dtype });
  }

  toString(): string {
    return `Indices(${formatValues(this.data, this.shape, 'Indices('.length)}, shape=${fmt(this.shape)})`;
  }

  [inspectSymbol](): string {
    return this.toString();
  }
}

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

export function checkDtype(dtype: string, what: string): DType {
  if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`${what}: unknown dtype '${dtype}'; use 'float32' or 'float64'`);
  return dtype;
}

export function checkShape(shape: readonly number[], what: string): number[] {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0))
    throw new Error(`${what}: a shape is a list of non-negative integers, got ${JSON.stringify(shape)}`);
  return [...shape];
}

function scalar(v: number, dtype: DType): Tensor {
  const d = new (arrayFor(dtype))(1);
  d[0] = v;
  return new Tensor(hostStorage(d), []);
}

/**
 * Create a tensor from nested arrays, a flat array or typed array with a shape, or a number.
 *
 * Example: `tensor([[1, 2], [3, 4]])`, `tensor(new Float32Array(6), [2, 3])`,
 * `tensor([1, 2, 3], undefined, { dtype: 'float64', requiresGrad: true })`.
 */
export function tensor(values: NestedArray | ArrayLike<number>, shape?: readonly number[], { dtype = 'float32', requiresGrad = false }: TensorOptions = {}): Tensor {
  checkDtype(dtype, 'tensor');
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof values === 'number') { flat = [values]; inferred = []; }
  else if (Array.isArray(values)) {
    inferred = [];
    for (let v: NestedArray = values; Array.isArray(v); v = v[0]) inferred.push(v.length);
    const out: unknown[] = [];
    let ragged = false;
    const walk = (v: unknown, depth: number): void => {
      if (Array.isArray(v)) { if (v.length !== inferred[depth]) ragged = true; v.forEach((u) => walk(u, depth + 1)); }
      else { if (depth !== inferred.length || typeof v !== 'number') ragged = true; out.push(v); }
    };
    walk(values, 0);
    flat = out as number[];
    if (ragged)
      throw new Error(`tensor: nested arrays are ragged or hold non-numbers (expected shape ${fmt(inferred)})`);
  } else { flat = values; inferred = [values.length]; }
  const s = shape ? checkShape(shape, 'tensor') : inferred;
  if (sizeOf(s) !== flat.length) throw new Error(`tensor: ${flat.length} values do not fill shape ${fmt(s)} (${sizeOf(s)} values)`);
  const d = new (arrayFor(dtype))(flat.length);
  for (let i = 0; i < flat.length; i++) d[i] = flat[i];
  return new Tensor(hostStorage(d), s, { requiresGrad });
}

/**
 * A shape given as one array or as separate sizes, with an optional options object last — `zeros([2, 3])`,
 * `zeros(2, 3)`, `zeros(2, 3, { dtype: 'float64' })` — as PyTorch's factories accept both.
 */
export type ShapeArgs<O = TensorOptions> = [shape: readonly number[], options?: O] | [...sizes: number[]] | [...sizes: number[], options: O];

/** Split factory arguments into a checked shape and options (see ShapeArgs). */
export function shapeArgs<O = TensorOptions>(what: string, args: readonly unknown[]): { shape: number[]; options: O } {
  if (Array.isArray(args[0])) {
    if (args.length > 2 || (args.length === 2 && (args[1] === null || typeof args[1] !== 'object')))
      throw new Error(`${what}: after the shape array only an options object may follow, got ${args.slice(1).map((a) => JSON.stringify(a)).join(', ')}; pass the shape as one array ([2, 3]) or as sizes (2, 3)`);
    return { shape: checkShape(args[0] as number[], what), options: (args[1] ?? {}) as O };
  }
  const last = args[args.length - 1];
  const hasOptions = last !== null && typeof last === 'object' && !Array.isArray(last);
  const sizes = hasOptions ? args.slice(0, -1) : args;
  if (!sizes.every((d) => typeof d === 'number'))
    throw new Error(`${what}: expected a shape as one array ([2, 3]) or as sizes (2, 3), got ${args.map((a) => JSON.stringify(a) ?? String(a)).join(', ')}`);
  return { shape: checkShape(sizes as number[], what), options: (hasOptions ? last : {}) as O };
}

/** A tensor of `shape` filled with `value`. */
export function full(shape: readonly number[], value: number, { dtype = 'float32', requiresGrad = false }: TensorOptions = {}): Tensor {
  if (!Array.isArray(shape)) throw new Error(`full: the shape is one array, as in full([2, 3], value); got ${JSON.stringify(shape)}`);
  if (typeof value !== 'number') throw new Error(`full: the fill value must be a number, got ${JSON.stringify(value)}`);
  const s = checkShape(shape, 'full');
  const st = allocStorage(checkDtype(dtype, 'full'), s, value === 0);
  if (value !== 0) st.write().fill(value);
  return new Tensor(st, s, { requiresGrad });
}

/**
 * A tensor of zeros. The shape is one array or separate sizes, as in PyTorch.
 *
 * Example:
 * ```ts
 * zeros([2, 3]).shape;                          // => [2, 3]
 * zeros(2, 3).shape;                            // => [2, 3]
 * zeros(4, { dtype: 'float64' }).dtype;         // => "float64"
 * ```
 */
export function zeros(...args: ShapeArgs): Tensor {
  const { shape, options } = shapeArgs('zeros', args);
  return full(shape, 0, options);
}

/** A tensor of ones; the shape is one array or separate sizes (see zeros). */
export function ones(...args: ShapeArgs): Tensor {
  const { shape, options } = shapeArgs('ones', args);
  return full(shape, 1, options);
}

/**
 * Join tensors along an existing axis (PyTorch's torch.cat); their shapes must agree except along `axis`,
 * and they must share one dtype. Differentiable.
 *
 * Example: `cat([zeros([2, 3]), ones([2, 1])], 1).shape` is [2, 4].
 */
export function cat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) throw new Error('cat: expected a non-empty list of tensors');
  tensors.forEach((t, i) => { if (!(t instanceof Tensor)) throw new Error(`cat: entry ${i} is not a Tensor`); });
  const first = tensors[0];
  if (first.ndim === 0) throw new Error('cat: scalars cannot be concatenated; stack them instead');
  const a = normAxis(axis, first.shape, 'cat');
  tensors.forEach((t, i) => {
    if (t.ndim !== first.ndim || t.shape.some((d, j) => j !== a && d !== first.shape[j]))
      throw new Error(`cat: tensor ${i} has shape ${fmt(t.shape)}, which does not match tensor 0's ${fmt(first.shape)} outside axis ${axis}`);
    if (t.dtype !== first.dtype) throw new Error(`cat: tensor ${i} is ${t.dtype} but tensor 0 is ${first.dtype}; convert with .to() first`);
  });
  return op('cat', tensors, { axis: a });
}

/**
 * Stack tensors of one shape along a new axis (PyTorch's torch.stack). Differentiable.
 *
 * Example: `stack([zeros([2, 3]), ones([2, 3])], 1).shape` is [2, 2, 3].
 */
export function stack(tensors: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(tensors as unknown) || tensors.length === 0) throw new Error('stack: expected a non-empty list of tensors');
  tensors.forEach((t, i) => { if (!(t instanceof Tensor)) throw new Error(`stack: entry ${i} is not a Tensor`); });
  const shape = tensors[0].shape;
  const r = shape.length + 1;
  if (!Number.isInteger(axis) || axis < -r || axis >= r) throw new Error(`stack: axis ${axis} is out of range for stacking tensors of shape ${fmt(shape)} (the new axis is in [${-r}, ${r - 1}])`);
  const a = axis < 0 ? axis + r : axis;
  tensors.forEach((t, i) => {
    if (t.ndim !== shape.length || t.shape.some((d, j) => d !== shape[j]))
      throw new Error(`stack: tensor ${i} has shape ${fmt(t.shape)} but tensor 0 has ${fmt(shape)}; stack needs equal shapes`);
  });
  const expanded = [...shape.slice(0, a), 1, ...shape.slice(a)];
  return cat(tensors.map((t) => t.reshape(expanded)), a);
}

export { fmt as formatShape };
export { setPrintOptions, type PrintOptions } from './format.js';

/**
 * Storage: what a tensor (and every view of it: reshape, detach) holds, and who owns it.
 *
 * Ownership decides when storage may be freed without asking the garbage collector:
 *
 * - 'private': born inside a library call (an op, a built-in module's forward, backward, an optimizer step)
 *   and not returned to user code. Freed when the outermost library call returns, unless a recorded op
 *   still references it (`refs`: an activation the tape needs for backward); then freed when backward has
 *   released the last such op. PyTorch gets this from reference counts; here the library knows it because
 *   only its own code ever saw the storage.
 * - 'managed': user code can reach it (returned to it, passed to one of its callbacks, or made by it).
 *   Nothing is known about its lifetime: it stays valid forever, its device copy is evicted when cold
 *   (manager.ts) and V8 collects the host copy once the tensor is unreachable.
 * - 'persistent': module and optimizer state (parameters, buffers, gradients, optimizer buffers): updated in
 *   place, never freed by a scope. A gradient is freed when it is replaced (zeroGrad, `p.grad = null`) unless
 *   user code read it (`escaped`); then it becomes 'managed' and stays valid.
 *
 * Library calls are marked with `trusted(fn)`; user code called from inside one (hooks, user-defined modules
 * inside a container, closures) runs under `asUser(fn, ...escaping)`, which marks what it is given as
 * 'managed'. `scope(fn)`, `keep` and `dispose` remain as tools for deterministic release; using storage freed
 * by them is an error.
 */
import { getBackend, sizeOf, type DType, type FloatArray } from '../kernels/index.js';
import { ctx } from './context.js';
import { Buffer, FREED_MESSAGE, managerOf, type Manager } from './manager.js';

export type Owner = 'private' | 'managed' | 'persistent';

export class Storage {
  owner: Owner;
  /** User code read this gradient: replacing it must not free it. */
  escaped = false;
  /** keep() was called: no scope frees it. */
  kept = false;
  /** Recorded ops that hold this storage (as input, output or saved value). */
  refs = 0;
  #freed = false;

  /** Wraps `buffer`; `register` false for a transient wrapper that no scope or call may free. */
  constructor(public buffer: Buffer, owner: Owner = ctx.depth > 0 ? 'private' : 'managed', register = true) {
    this.owner = owner;
    if (!register) return;
    if (owner === 'private') ctx.arena.push(this);
    const sc = ctx.scopes;
    if (sc.length) sc[sc.length - 1].push(this);
  }

  get dtype(): DType { return this.buffer.dtype; }
  get size(): number { return this.buffer.size; }
  get freed(): boolean { return this.#freed; }
  get manager(): Manager { return this.buffer.mm; }

  /** The values for a kernel to read (see Manager.read); throws once freed. */
  read(): FloatArray {
    if (this.#freed) throw new Error(FREED_MESSAGE);
    return this.buffer.mm.read(this.buffer);
  }

  /** The values for a kernel or loop to change in place. */
  write(): FloatArray {
    if (this.#freed) throw new Error(FREED_MESSAGE);
    if (this.buffer.sealed) this.buffer = this.buffer.mm.clone(this.buffer);
    return this.buffer.mm.write(this.buffer);
  }

  /** The values for reading right now (no allocation may happen before the read is done). */
  peek(): FloatArray {
    if (this.#freed) throw new Error(FREED_MESSAGE);
    return this.buffer.mm.peek(this.buffer);
  }

  /** A new host array with the values. */
  copyToHost(): FloatArray {
    if (this.#freed) throw new Error(FREED_MESSAGE);
    return this.buffer.mm.copyToHost(this.buffer);
  }

  /** The host array, handed to user code for reading and writing (tensor.data). */
  expose(): FloatArray {
    if (this.#freed) throw new Error(FREED_MESSAGE);
    if (this.buffer.sealed) this.buffer = this.buffer.mm.clone(this.buffer);
    return this.buffer.mm.expose(this.buffer);
  }

  /** Module or optimizer state from now on. */
  persist(): this {
    this.owner = 'persistent';
    return this;
  }

  /** User code can reach it from now on. */
  publish(): void {
    if (this.owner === 'private') this.owner = 'managed';
  }

  /** Free the values now. A buffer that a recipe still reads stays alive for it (unreachable from here). */
  free(): void {
    if (this.#freed) return;
    this.#freed = true;
    if (!this.buffer.sealed) this.buffer.mm.freeBuffer(this.buffer);
  }

  /** A recorded op stopped referencing it; private storage nobody references any more is freed. */
  unref(): void {
    if (--this.refs > 0 || this.owner !== 'private' || this.#freed) return;
    if (ctx.depth > 0) ctx.arena.push(this); // freed when the current library call returns
    else this.free();
  }
}

/** New storage for `shape` on the active backend, zero-filled unless `zero` is false; owner by context. */
export function allocStorage(dtype: DType, shape: readonly number[], zero = true): Storage {
  const mm = managerOf();
  const buf = mm.allocDevice(dtype, sizeOf(shape), zero, () => `${ctx.op ? `${ctx.op}: ` : ''}${dtype} tensor of shape [${shape.join(', ')}]`);
  return new Storage(buf);
}

/** Storage over a host array (adopted, not copied). `exposed`: user code holds the array and may write it. */
export function hostStorage(array: FloatArray, exposed = false): Storage {
  return new Storage(managerOf().fromHost(array, exposed));
}

// ---- library calls and user code ----

/**
 * Mark storage reachable from a value (tensors in arrays and plain objects) as visible to user code: what
 * library code returns is marked so automatically; call this for tensors it stores where users can reach
 * them (a module attribute such as an RNN's final state).
 */
export function publishIn(v: unknown, depth = 0): void {
  if (v === null || typeof v !== 'object' || depth > 4) return;
  const s = (v as { storage?: unknown }).storage;
  if (s instanceof Storage) { s.publish(); return; }
  if (Array.isArray(v)) for (const x of v) publishIn(x, depth + 1);
  else if (v instanceof Map) for (const x of v.values()) publishIn(x, depth + 1);
  else if (Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) publishIn(x, depth + 1);
}

/** The outermost library call returned `result`: publish it, unpin, free the private storage nobody holds. */
function settle(result: unknown): void {
  publishIn(result);
  const pinned = ctx.pinned;
  ctx.pinned = [];
  for (const b of pinned as Buffer[]) if (--b.pins === 0 && b.dropPending) b.mm.unpinned(b);
  const arena = ctx.arena as Storage[];
  ctx.arena = [];
  for (const s of arena) if (s.owner === 'private' && s.refs === 0) s.free();
}

/** Run `fn` as library code (see the file comment). Nested calls are part of the outermost one. */
export function trusted<T>(fn: () => T): T {
  if (ctx.depth > 0) {
    ctx.depth++;
    try { return fn(); } finally { ctx.depth--; }
  }
  ctx.depth = 1;
  let result: T;
  try {
    result = fn();
  } catch (e) {
    ctx.depth = 0;
    settle(undefined);
    throw e;
  }
  ctx.depth = 0;
  settle(result);
  return result;
}

/** Whether library code is running (a trusted call is in progress). */
export function inLibrary(): boolean {
  return ctx.depth > 0;
}

/** Run user code `fn` from inside library code; `escaping` values (tensors it is given) become user-visible. */
export function asUser<T>(fn: () => T, ...escaping: unknown[]): T {
  if (ctx.depth === 0) return fn();
  for (const v of escaping) publishIn(v);
  const { depth, arena, pinned } = ctx;
  ctx.depth = 0;
  ctx.arena = [];
  ctx.pinned = [];
  try {
    return fn();
  } finally {
    ctx.depth = depth;
    ctx.arena = arena;
    ctx.pinned = pinned;
  }
}

// ---- scopes ----

/** Storage reachable from a value: tensors (and their gradients) in arrays, objects, Maps. */
function storagesIn(value: unknown, out = new Set<Storage>(), seen = new Set<unknown>()): Set<Storage> {
  if (value === null || typeof value !== 'object' || seen.has(value) || ArrayBuffer.isView(value)) return out;
  seen.add(value);
  const s = (value as { storage?: unknown }).storage;
  if (s instanceof Storage) {
    out.add(s);
    storagesIn((value as { grad?: unknown }).grad, out, seen);
  } else if (Array.isArray(value)) for (const v of value) storagesIn(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) storagesIn(v, out, seen);
  else for (const v of Object.values(value)) storagesIn(v, out, seen);
  return out;
}

/**
 * Run `fn` and free, when it returns, the storage of every tensor it created except those in its result
 * (tensors inside returned arrays or objects count) and those passed to `keep` — like tf.tidy. Parameters,
 * buffers, gradients and optimizer state are never freed by a scope.
 *
 * Optional: code without scopes runs at flat memory too (see README, "Backends and memory"). A scope
 * releases device memory at a known point instead of when it goes cold, at the price of making every
 * tensor it freed unusable: using one is an error that says so.
 *
 * Example:
 * ```ts
 * const w = randn([4, 4]);
 * const y = scope(() => {
 *   const h = w.matmul(w).relu();    // freed when the scope ends
 *   return h.sum();                  // returned: kept
 * });
 * y.size; // => 1
 * ```
 */
export function scope<T>(fn: () => T): T {
  ctx.scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    endScope(undefined);
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    endScope(result);
    throw new Error('scope: fn must be synchronous (tensors created after an await cannot be tracked)');
  }
  endScope(result);
  return result;
}

function endScope(result: unknown): void {
  const frame = ctx.scopes.pop() as Storage[];
  const keepSet = storagesIn(result);
  const outer = ctx.scopes[ctx.scopes.length - 1];
  for (const s of frame) {
    if (s.freed || s.kept || s.owner === 'persistent') continue;
    if (keepSet.has(s)) outer?.push(s);
    else s.free();
  }
}

/** Let tensors (or anything holding them) outlive the enclosing scopes. Returns its argument. */
export function keep<T>(value: T): T {
  for (const s of storagesIn(value)) s.kept = true;
  return value;
}

/** Memory use of the active backend (null for the garbage-collected js backend). */
export function memoryStats(): import('./manager.js').MemoryStats | null {
  return managerOf(getBackend()).stats();
}

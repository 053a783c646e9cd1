import { getBackend } from '../kernels/index.js';
import type { FloatArray, MemoryStats } from '../kernels/types.js';
import { Tensor } from './tensor.js';

/** Storage arrays reachable from a value: tensors (and their grads) inside arrays, objects, Maps. */
function arraysIn(value: unknown, out: FloatArray[] = [], seen = new Set<unknown>()): FloatArray[] {
  if (value === null || typeof value !== 'object' || seen.has(value)) return out;
  seen.add(value);
  if (value instanceof Tensor) {
    out.push(value.data);
    if (value.grad) out.push(value.grad.data);
  } else if (value instanceof Float32Array || value instanceof Float64Array) out.push(value);
  else if (Array.isArray(value)) for (const v of value) arraysIn(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) arraysIn(v, out, seen);
  else if (!ArrayBuffer.isView(value)) for (const v of Object.values(value)) arraysIn(v, out, seen);
  return out;
}

/**
 * Run `fn` and free, when it returns, the storage of every tensor it created except those in its result
 * (tensors inside returned arrays or objects count) and those passed to `keep` — like tf.tidy. Parameters,
 * buffers, gradients and optimizer state are kept automatically. With the js backend the garbage collector
 * does this anyway and scope only runs fn; with the wasm backend it keeps memory flat in training loops
 * (Trainer runs each step in a scope).
 *
 * Using a tensor whose storage a scope freed is an error that says so.
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
  const be = getBackend();
  be.beginScope();
  let result: T;
  try {
    result = fn();
  } catch (e) {
    be.endScope([]);
    throw e;
  }
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    be.endScope(arraysIn(result));
    throw new Error('scope: fn must be synchronous (tensors created after an await cannot be tracked)');
  }
  be.endScope(arraysIn(result));
  return result;
}

/** Let tensors (or anything holding them) outlive the enclosing scopes. Returns its argument. */
export function keep<T>(value: T): T {
  const be = getBackend();
  for (const a of arraysIn(value)) be.keep(a);
  return value;
}

/** Memory use of the active backend (null for the garbage-collected js backend). */
export function memoryStats(): MemoryStats | null {
  return getBackend().memoryStats();
}

/**
 * Pointers for wasm kernel calls. An array already in the wasm memory with the dtype the kernel expects is
 * passed by its byte offset; any other array (on the JavaScript heap, or float32 where the ABI wants float64
 * and vice versa) is staged: copied (and converted) into a temporary block before the call, copied back after
 * it when it is an output, and the block is freed. A persistent scratch block serves the kernels' work areas.
 */
import type { DType, FloatArray } from '../types.js';
import type { WasmMemory } from './memory.js';

export const IN = 1, OUT = 2, INOUT = 3;

export class Stager {
  private readonly temps: FloatArray[] = [];
  private readonly backs: [FloatArray, FloatArray][] = [];
  private scratchView: Float64Array | null = null;

  constructor(private readonly mem: WasmMemory) {}

  /** Byte offset of the first n elements of `a` as `dtype` in wasm memory (staged when needed). */
  ptr(a: FloatArray, dtype: DType, n: number, dir: number): number {
    const p = this.mem.ptr(a);
    if (p >= 0 && (dtype === 'float32') === (a instanceof Float32Array)) return p;
    // No zero-fill: inputs are copied over it, outputs fully written by the kernel.
    const t = this.mem.alloc(dtype, n, false);
    this.temps.push(t);
    if (dir & IN) t.set(n < a.length ? a.subarray(0, n) : a);
    if (dir & OUT) this.backs.push([t, a]);
    return this.mem.ptr(t);
  }

  /** Byte offset of int32 values (class indices) copied into the scratch block after `offsetBytes`. */
  int32(a: Int32Array, offsetBytes: number): number {
    const p = this.scratch(offsetBytes + a.length * 4 + 16) + offsetBytes;
    new Int32Array(this.mem.memory.buffer, p, a.length).set(a);
    return p;
  }

  /**
   * Byte offset (16-aligned) of a scratch area of at least `bytes`, a raw block kept across calls and grown
   * on demand. Its contents are only valid until the next call that uses it.
   */
  scratch(bytes: number): number {
    let s = this.scratchView;
    if (!s || s.byteLength < bytes) {
      if (s) this.mem.freeView(s);
      const size = Math.max(bytes, s ? 2 * s.byteLength : 1 << 16);
      s = this.mem.alloc('float64', Math.ceil(size / 8), false) as Float64Array; // kernels initialize what they use
      this.scratchView = s;
    }
    return this.mem.ptr(s);
  }

  /** Float64 view of the scratch area from byte offset `p` (as returned by scratch), n elements. */
  scratchF64(p: number, n: number): Float64Array {
    return new Float64Array(this.mem.memory.buffer, p, n);
  }

  /** Run a kernel call: outputs staged by ptr() are copied back afterwards and every temporary block freed. */
  run<T>(call: () => T): T {
    try {
      const r = call();
      for (const [t, a] of this.backs) a.set(t);
      return r;
    } finally {
      for (const t of this.temps) this.mem.freeView(t);
      this.temps.length = 0;
      this.backs.length = 0;
    }
  }
}

/**
 * WebAssembly linear memory for tensor storage: one shared WebAssembly.Memory (so typed-array views stay
 * valid when it grows, and threads can share it later), a size-class free-list allocator, scopes that free
 * everything allocated inside them except what is kept, and a FinalizationRegistry as the backstop for
 * storage whose views were garbage-collected without being freed.
 *
 * Blocks are 16-byte aligned (SIMD loads) and recycled by exact size: a training loop allocates the same
 * sizes every step, so after the first step it reuses blocks and memory stays flat.
 */
import type { DType, FloatArray, MemoryStats } from '../types.js';

const PAGE = 65536;
const ALIGN = 16;
/** Bytes at the start of memory left to the module (its static data and stack). */
const RESERVED = 1 << 20;


interface Block { offset: number; bytes: number }

export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private top = RESERVED;
  private readonly free = new Map<number, number[]>();
  private readonly live = new Map<number, number>(); // offset → bytes
  private readonly scopes: Set<number>[] = [];
  private inUse = 0;
  private cached = 0;
  private peak = 0;
  private readonly registry = new FinalizationRegistry<Block>((b) => this.release(b.offset, b.bytes));
  private readonly tokens = new WeakMap<object, Block>();
  private readonly registered = new WeakSet<object>();

  constructor(readonly shared: boolean, maximumPages = 65536) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((RESERVED + (16 << 20)) / PAGE), maximum: maximumPages, shared } as WebAssembly.MemoryDescriptor);
    this.buffers.add(this.memory.buffer);
  }

  /** Whether a typed array's storage is this linear memory (any generation of it, after growth). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** A block of `size` elements of `dtype` as a view on the linear memory, zero-filled unless `zero` is false. */
  alloc(dtype: DType, size: number, zero = true): FloatArray {
    const width = dtype === 'float32' ? 4 : 8;
    const bytes = Math.max(ALIGN, Math.ceil((size * width) / ALIGN) * ALIGN);
    let offset: number;
    const list = this.free.get(bytes);
    const reused = !!(list && list.length);
    if (reused) {
      offset = list!.pop()!;
      this.cached -= bytes;
    } else {
      offset = this.top;
      if (offset + bytes > this.memory.buffer.byteLength) this.grow(offset + bytes);
      this.top += bytes;
    }
    this.live.set(offset, bytes);
    this.inUse += bytes;
    if (this.inUse > this.peak) this.peak = this.inUse;
    const view = dtype === 'float32' ? new Float32Array(this.memory.buffer, offset, size) : new Float64Array(this.memory.buffer, offset, size);
    if (zero && reused) view.fill(0); // memory from grow() is zero already
    const block = { offset, bytes };
    this.tokens.set(view, block);
    const scope = this.scopes[this.scopes.length - 1];
    // Inside a scope the block is freed when the scope ends (or kept, which registers it then), so only
    // storage made outside any scope needs the garbage-collector backstop at once — registering costs.
    if (scope) scope.add(offset);
    else this.backstop(view, block);
    return view;
  }

  private grow(needed: number): void {
    const have = this.memory.buffer.byteLength;
    // Grow geometrically (at least 25%) so a growing working set does not grow page by page.
    const target = Math.max(needed, have + (have >> 2));
    this.memory.grow(Math.ceil((target - have) / PAGE));
    this.buffers.add(this.memory.buffer);
  }

  /** Free the block behind a view this memory allocated (a no-op for other arrays or freed blocks). */
  freeView(view: ArrayBufferView): void {
    const b = this.tokens.get(view);
    if (!b) return;
    this.tokens.delete(view);
    this.registry.unregister(view);
    this.release(b.offset, b.bytes);
  }

  private release(offset: number, bytes: number): void {
    if (this.live.get(offset) !== bytes) return; // already freed (by a scope, dispose, or the registry)
    this.live.delete(offset);
    this.inUse -= bytes;
    this.cached += bytes;
    let list = this.free.get(bytes);
    if (!list) this.free.set(bytes, (list = []));
    list.push(offset);
    for (const s of this.scopes) s.delete(offset);
  }

  /** Whether the block behind a view is still allocated (false after it was freed). */
  isLive(view: ArrayBufferView): boolean {
    const b = this.tokens.get(view);
    return b === undefined ? !this.owns(view) || this.live.has(view.byteOffset) : this.live.get(b.offset) === b.bytes;
  }

  /** Whether `view` is a live block's own view (as alloc returned it, not a subarray of one). */
  isBlock(view: ArrayBufferView): boolean {
    const b = this.tokens.get(view);
    return b !== undefined && this.live.get(b.offset) === b.bytes;
  }

  /** Exclude a view's block from every open scope, so it outlives them. */
  keep(view: ArrayBufferView): void {
    const b = this.tokens.get(view);
    if (!b) return;
    for (const s of this.scopes) s.delete(b.offset);
    this.backstop(view, b);
  }

  /** Register a view for the garbage-collector backstop (once). */
  private backstop(view: ArrayBufferView, b: Block): void {
    if (this.registered.has(view)) return;
    this.registered.add(view);
    this.registry.register(view, b, view);
  }

  beginScope(): void {
    this.scopes.push(new Set());
  }

  /** Close the innermost scope: free its blocks except those of `keep` views (which move to the enclosing scope). */
  endScope(keep: Iterable<ArrayBufferView> = []): void {
    const s = this.scopes.pop();
    if (!s) throw new Error('endScope: no scope is open');
    const kept = new Set<number>();
    const outer = this.scopes[this.scopes.length - 1];
    for (const v of keep) {
      const b = this.tokens.get(v);
      if (!b || !s.has(b.offset)) continue;
      kept.add(b.offset);
      if (!outer) this.backstop(v, b); // leaves every scope: from now on only the GC can free it
    }
    for (const offset of s) {
      if (kept.has(offset)) { outer?.add(offset); continue; }
      const bytes = this.live.get(offset);
      if (bytes !== undefined) this.release(offset, bytes);
    }
  }

  stats(): MemoryStats {
    return { inUse: this.inUse, blocks: this.live.size, cached: this.cached, memoryBytes: this.memory.buffer.byteLength, peak: this.peak };
  }

  /** Byte offset of `view` in this memory, or -1 when the array lives elsewhere (the JavaScript heap). */
  ptr(view: ArrayBufferView): number {
    return this.buffers.has(view.buffer) ? view.byteOffset : -1;
  }
}

/**
 * The wasm backend's device memory: one shared WebAssembly.Memory (typed-array views stay valid when it
 * grows, and worker threads can share it) carved into 16-byte-aligned blocks.
 *
 * This is only the allocator. Which block belongs to which tensor, and when a block may be reused, is decided
 * one layer up (src/memory/: storage ownership, eviction, rematerialization); kernels also take short-lived
 * raw blocks from here for staging and work areas (`alloc`/`freeView`).
 *
 * Blocks are rounded up to a size class (multiples of 16 bytes up to 1 KiB, then eight classes per power of
 * two: at most 12.5% waste) and recycled by class, so a loop that allocates the same shapes every step reuses
 * the same blocks at O(1). When no block of the class is free and the memory would have to grow, free blocks
 * are first coalesced (address order, merged with the top) and the smallest one that fits is split; only then
 * does the memory grow (geometrically, at least 25%). Coalescing sorts every free block, so it runs again only
 * once the bytes freed since the last one reach an eighth of the free bytes (or the request): a loop whose
 * sizes the free lists do not hold — the paper MLP right after the small CNN, with the memory full of the CNN's
 * freed blocks — otherwise coalesced and split on every allocation (4–6 ms a step instead of 1, the JavaScript
 * profile all `coalesce` and `allocBlock`); now it grows once and then reuses its blocks. When it cannot grow (the 4 GiB WebAssembly limit or the
 * machine's memory), `onPressure` lets the owner of the blocks release some (the storage layer evicts every
 * unpinned tensor), and only if that does not help does the allocation fail with a DeviceMemoryFull error.
 */
import type { DType, FloatArray } from '../types.js';

const PAGE = 65536;
const ALIGN = 16;
/** Bytes at the start of memory left to the module (its static data and stack). */
const RESERVED = 1 << 20;

/** An allocation the memory cannot satisfy even after releasing what could be released. */
export class DeviceMemoryFull extends Error {
  constructor(readonly bytes: number, readonly limitBytes: number, readonly memoryBytes: number, readonly inUseBytes: number) {
    super(`device memory full: ${bytes} bytes requested, ${inUseBytes} in use, memory ${memoryBytes} of at most ${limitBytes} bytes`);
  }
}

/** The size class of a request: what a block of `bytes` really occupies. */
export function sizeClass(bytes: number): number {
  const b = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  if (b <= 1024) return b;
  const step = 2 ** (Math.floor(Math.log2(b)) - 3);
  return Math.ceil(b / step) * step;
}

export class WasmMemory {
  readonly memory: WebAssembly.Memory;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private top = RESERVED;
  private readonly free = new Map<number, number[]>(); // block bytes → offsets
  private readonly live = new Map<number, number>(); // offset → block bytes
  private inUse = 0;
  private cached = 0;
  /** Bytes freed since the last coalesce (see the class comment: when coalescing again can pay). */
  private freedSinceCoalesce = 0;
  private peak = 0;
  readonly maxBytes: number;
  /** Called once when an allocation cannot be met by growing; should free blocks if it can. */
  onPressure: ((bytes: number) => void) | null = null;

  constructor(readonly shared: boolean, maximumPages = 65536) {
    this.maxBytes = maximumPages * PAGE;
    this.memory = new WebAssembly.Memory({ initial: Math.ceil((RESERVED + (16 << 20)) / PAGE), maximum: maximumPages, shared } as WebAssembly.MemoryDescriptor);
    this.buffers.add(this.memory.buffer);
  }

  /** Whether a typed array's storage is this linear memory (any generation of it, after growth). */
  owns(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /** Byte offset of `view` in this memory, or -1 when the array lives elsewhere (the JavaScript heap). */
  ptr(view: ArrayBufferView): number {
    return this.buffers.has(view.buffer) ? view.byteOffset : -1;
  }

  /** A block of at least `bytes`; returns its offset. Throws DeviceMemoryFull when impossible. */
  allocBlock(bytes: number): number {
    const size = sizeClass(bytes);
    let offset = this.take(size);
    if (offset < 0) offset = this.bump(size, false);
    if (offset < 0 && this.freedSinceCoalesce >= Math.max(size, this.cached >> 3)) {
      this.coalesce();
      offset = this.fit(size);
    }
    if (offset < 0) offset = this.bump(size, true);
    if (offset < 0 && this.onPressure) {
      this.onPressure(size);
      this.coalesce();
      offset = this.take(size);
      if (offset < 0) offset = this.fit(size);
      if (offset < 0) offset = this.bump(size, true);
    }
    if (offset < 0) throw new DeviceMemoryFull(size, this.maxBytes, this.memory.buffer.byteLength, this.inUse);
    this.live.set(offset, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    return offset;
  }

  /** Return a block to the free lists (a no-op for an offset that is not a live block). */
  freeBlock(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) return;
    this.live.delete(offset);
    this.inUse -= size;
    this.cached += size;
    this.freedSinceCoalesce += size;
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(offset);
  }

  /** A typed-array view of `size` elements of `dtype` at `offset`. */
  view(dtype: DType, offset: number, size: number): FloatArray {
    // V8 may hand out a new SharedArrayBuffer object for this memory whenever any shared memory in the
    // process grows (seen with two copies of the library in one process): remember each one views are made on.
    const buf = this.memory.buffer;
    this.buffers.add(buf);
    return dtype === 'float32' ? new Float32Array(buf, offset, size) : new Float64Array(buf, offset, size);
  }

  /** A raw block as a view, for kernels' staging and work areas (zero-filled unless `zero` is false); free with freeView. */
  alloc(dtype: DType, size: number, zero = true): FloatArray {
    const offset = this.allocBlock(size * (dtype === 'float32' ? 4 : 8));
    const v = this.view(dtype, offset, size);
    if (zero) v.fill(0);
    return v;
  }

  /** Free a raw block allocated by `alloc` (the view must be the one alloc returned). */
  freeView(view: ArrayBufferView): void {
    if (this.owns(view)) this.freeBlock(view.byteOffset);
  }

  /** Whether `offset` is a live block. */
  isLive(offset: number): boolean {
    return this.live.has(offset);
  }

  inUseBytes(): number {
    return this.inUse;
  }

  stats(): { inUse: number; blocks: number; cached: number; memoryBytes: number; peak: number; maxBytes: number } {
    return { inUse: this.inUse, blocks: this.live.size, cached: this.cached, memoryBytes: this.memory.buffer.byteLength, peak: this.peak, maxBytes: this.maxBytes };
  }

  /** A free block of exactly class `size`, or -1. */
  private take(size: number): number {
    const list = this.free.get(size);
    if (!list || !list.length) return -1;
    this.cached -= size;
    return list.pop()!;
  }

  /** The smallest free block ≥ size, split (the rest stays free), or -1. */
  private fit(size: number): number {
    let best = -1;
    for (const [s, list] of this.free) if (s >= size && list.length && (best < 0 || s < best)) best = s;
    if (best < 0) return -1;
    const offset = this.take(best);
    if (best > size) this.release(offset + size, best - size);
    return offset;
  }

  private release(offset: number, size: number): void {
    let list = this.free.get(size);
    if (!list) this.free.set(size, (list = []));
    list.push(offset);
    this.cached += size;
  }

  /** Space at the top (growing the memory when `grow`), or -1. */
  private bump(size: number, grow: boolean): number {
    const have = this.memory.buffer.byteLength;
    if (this.top + size > have) {
      if (!grow || this.top + size > this.maxBytes) return -1;
      // Grow geometrically (at least 25%) so a growing working set does not grow page by page.
      const target = Math.min(this.maxBytes, Math.max(this.top + size, have + (have >> 2)));
      try {
        this.memory.grow(Math.ceil((target - have) / PAGE));
      } catch {
        try { this.memory.grow(Math.ceil((this.top + size - have) / PAGE)); } catch { return -1; }
      }
      this.buffers.add(this.memory.buffer);
    }
    const offset = this.top;
    this.top += size;
    return offset;
  }

  /** Merge adjacent free blocks (and those touching the top into the top). */
  private coalesce(): void {
    this.freedSinceCoalesce = 0;
    if (!this.cached) return;
    const blocks: [number, number][] = [];
    for (const [s, list] of this.free) for (const o of list) blocks.push([o, s]);
    blocks.sort((a, b) => a[0] - b[0]);
    this.free.clear();
    this.cached = 0;
    const merged: [number, number][] = [];
    for (const [o, s] of blocks) {
      const last = merged[merged.length - 1];
      if (last && last[0] + last[1] === o) last[1] += s;
      else merged.push([o, s]);
    }
    const last = merged[merged.length - 1];
    if (last && last[0] + last[1] === this.top) { this.top = last[0]; merged.pop(); }
    for (const [o, s] of merged) this.release(o, s);
  }
}

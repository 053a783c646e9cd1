/**
 * Where tensor values live, and when device memory is reclaimed.
 *
 * A Buffer holds one tensor storage's values in up to two homes: a block of the backend's device memory
 * (the wasm backend's linear memory, where kernels run) and a host array (an ordinary typed array that V8
 * owns and collects). Kernels read and write the device copy; the host copy is where values go when their
 * block is reclaimed, and what user code gets from `tensor.data`.
 *
 * Why two homes. A synchronous JavaScript loop gives no signal that an object died: FinalizationRegistry
 * callbacks never run inside it and WeakRef targets are kept alive until it ends, and V8 sees no memory
 * pressure from blocks carved out of one WebAssembly.Memory. So device memory cannot wait for the garbage
 * collector. Instead it is treated as a cache:
 *
 * - Storage that only the library can reach is freed deterministically (see storage.ts: op-private storage,
 *   intermediate gradients, saved values once backward ran, a replaced gradient nobody looked at).
 * - Everything else stays in device memory while it is used, and is evicted when it goes cold: a clock ticks
 *   every quarter of the soft limit's worth of allocation (bytes or buffers), and when the use passes the soft limit a
 *   collection evicts every unpinned buffer not touched during the current and the previous tick (an
 *   approximate LRU, like a CLOCK page cache). Eviction is free when the host copy is
 *   current (inputs made from host data: tensor(), randn(), DataLoader batches); else the buffer is either
 *   turned into a recipe (below) or copied to a new host array, which V8 then owns — and frees when the
 *   tensor becomes unreachable, even in a synchronous loop, because V8 sees host arrays.
 * - Recipes (rematerialization, as in Kirisame et al., "Dynamic Tensor Rematerialization", ICLR 2021): a
 *   large output of a deterministic op whose inputs are still available and unchanged is evicted by
 *   remembering how to compute it (op, attributes, inputs) instead of copying it; if the tensor is read
 *   again it is recomputed, bit for bit. Small mutable inputs (γ, β of a norm) are snapshotted when the op
 *   runs; inputs a recipe holds are sealed (a later in-place write copies first), and a sealed buffer is never
 *   itself evicted to a recipe, so recomputation never chains. The result: a dead 25.7 MB activation in a
 *   synchronous loop costs nothing to reclaim, where copying it out would cost as much as the kernel that
 *   made it.
 *
 * The soft limit starts at 64 MiB (and 32,768 buffers), doubles over what is in use when a collection leaves
 * more than 3/4 of it, and grows by half when a buffer evicted in the last two ticks is needed again
 * (thrashing: something used every step was evicted). At the hard limit
 * (the WebAssembly memory cannot grow) every unpinned buffer is evicted before the allocation fails with an
 * error that names the shape, dtype, bytes and limit.
 *
 * With the js backend there is only one home: device arrays are host arrays, and nothing here does anything.
 *
 * Measured on the 2-core machine this was chosen on (2026-12): a synchronous loop dropping 200,000 objects
 * cleared 0 WeakRefs and reached 8 GB resident (so no design may wait for the garbage collector); copying the
 * 25.7 MB BN tensor between wasm memory and a JavaScript array took 2–5 ms against 2.2 ms for the whole BN
 * inference kernel, and chunked streaming over JavaScript arrays 4.1 ms for a 2-pass kernel that runs in
 * 1.5–2.8 ms on wasm memory (so "copy what escapes" and "keep everything in V8" both lose the speed goal).
 * With this design the loop without scopes ran within 1% of the scoped one on BN2d [32,64,56,56] training and
 * inference (dead outputs went to recipes: 134 evictions, 0 recomputations), and at flat memory in every
 * pattern of test/memory/.
 */
import { arrayFor, getBackend, setBackend, type Backend, type DeviceMemory, type DType, type FloatArray } from '../kernels/index.js';
import { ctx } from './context.js';

/** The soft limit's starting point (bytes of device memory in use before the first collection). */
export const MIN_LIMIT = 64 << 20;
/**
 * A collection also runs when this many buffers are resident (doubled when most of them are live): a dead
 * buffer costs its JavaScript objects too (a few hundred bytes), which for scalars outweigh the device block.
 */
export const MIN_COUNT_LIMIT = 1 << 15;
/** Outputs at least this large remember how they were computed, so they can be evicted to a recipe. */
export const RECIPE_MIN_BYTES = 256 << 10;

/** One input of a recorded op: a buffer and its version when the op read it (or a private snapshot). */
export interface ProducerInput {
  readonly buffer: Buffer;
  readonly version: number;
  readonly shape: readonly number[];
  readonly snapshot: boolean;
}

/** How a buffer was computed: enough to compute it again. */
export interface Producer {
  readonly op: string;
  readonly attrs: unknown;
  readonly inputs: readonly (ProducerInput | null)[];
}

/** Runs a producer's op again and moves the result into `into` (installed by the autograd layer). */
type Recompute = (into: Buffer, p: Producer) => void;
let recompute: Recompute | null = null;

export function setRecompute(f: Recompute): void {
  recompute = f;
}

export const FREED_MESSAGE = 'a tensor is used after its storage was freed (disposed, or made inside a scope() and not returned or kept)';

/** One storage's values (see the file comment). */
export class Buffer {
  readonly bytes: number;
  /** Device block (offset −1: none) and its view. */
  offset = -1;
  view: FloatArray | null = null;
  host: FloatArray | null = null;
  deviceValid = false;
  hostValid = false;
  /** The host array was handed to user code: it is the truth from now on (kernels stage it). */
  exposed = false;
  /** A recipe reads this buffer: its values must never change (writers copy first). */
  sealed = false;
  freed = false;
  /** Bumped by every in-place write. */
  version = 0;
  /** Collection epoch of the last read or write. */
  lastUse = 0;
  pins = 0;
  /** The block is to be released once unpinned (the storage moved to its host copy while pinned). */
  dropPending = false;
  evictedAt = -10;
  producer: Producer | null = null;
  recipe: Producer | null = null;

  constructor(readonly mm: Manager, readonly dtype: DType, readonly size: number) {
    this.bytes = size * (dtype === 'float32' ? 4 : 8);
  }
}

export interface MemoryCounters {
  /** Collections run. */
  collections: number;
  /** Buffers evicted for free (their host copy was current). */
  evictedClean: number;
  /** Buffers evicted by copying them to a host array, and the bytes copied. */
  evictedCopy: number;
  copiedOutBytes: number;
  /** Buffers evicted to a recipe, and how many were recomputed later. */
  evictedRecipe: number;
  recomputed: number;
  /** Bytes copied from host arrays into device memory (first use of host data, or after an eviction). */
  copiedInBytes: number;
  /** Buffers needed again within two epochs of their eviction (the soft limit grows). */
  misses: number;
}

/** Memory use of a backend that has its own device memory (null from memoryStats() for the js backend). */
export interface MemoryStats extends MemoryCounters {
  /** Bytes in live device blocks (tensor storage, and kernels' work areas). */
  inUse: number;
  /** Live device blocks. */
  blocks: number;
  /** Bytes of freed blocks kept for reuse. */
  cached: number;
  /** Size of the device memory in bytes, and the most it can grow to. */
  memoryBytes: number;
  maxBytes: number;
  /** Largest inUse seen. */
  peak: number;
  /** Storage buffers with a device block, and the soft limits (bytes in use, resident buffers) that trigger a collection. */
  resident: number;
  limit: number;
  countLimit: number;
}

function fmtBytes(n: number): string {
  return n >= 1 << 30 ? `${(n / 2 ** 30).toFixed(2)} GiB` : n >= 1 << 20 ? `${(n / 2 ** 20).toFixed(1)} MiB` : `${n} bytes`;
}

/** The storage policy of one backend (see the file comment). */
export class Manager {
  readonly device: DeviceMemory | null;
  /** The clock: ticks every `limit / 4` bytes or `countLimit / 4` buffers of allocation. */
  epoch = 1;
  private sinceTick = 0;
  private sinceTickCount = 0;
  private limit = MIN_LIMIT;
  private countLimit = MIN_COUNT_LIMIT;
  private readonly resident = new Set<Buffer>();
  readonly counters: MemoryCounters = { collections: 0, evictedClean: 0, evictedCopy: 0, copiedOutBytes: 0, evictedRecipe: 0, recomputed: 0, copiedInBytes: 0, misses: 0 };
  /**
   * Testing aid: evict every unpinned buffer before every allocation, so each value takes the longest way
   * (host copies, recipes, recomputation); results must not change. NORMLAB_MEMORY_CHAOS=1 sets it, and
   * also makes every op output, however small, recordable as a recipe.
   */
  chaos = false;
  /** Outputs at least this large remember how they were computed (RECIPE_MIN_BYTES; 0 in chaos mode). */
  recipeMinBytes = RECIPE_MIN_BYTES;

  constructor(readonly backend: Backend) {
    this.device = backend.device;
    if (this.device) this.device.onPressure = () => this.evictAll();
    const env = typeof process !== 'undefined' ? process.env?.NORMLAB_MEMORY_CHAOS : undefined;
    this.chaos = env === '1';
    if (this.chaos) this.recipeMinBytes = 0;
  }

  /** A buffer of `size` elements that kernels can write (zero-filled unless `zero` is false). */
  allocDevice(dtype: DType, size: number, zero: boolean, describe: () => string): Buffer {
    const b = new Buffer(this, dtype, size);
    if (!this.device) {
      b.host = new (arrayFor(dtype))(size);
      b.hostValid = b.deviceValid = true;
      return b;
    }
    this.place(b, describe);
    if (zero) b.view!.fill(0);
    b.deviceValid = true;
    // Pinned like a read: no eviction may copy it out before the op that allocated it has written it.
    if (ctx.depth > 0) { b.pins++; ctx.pinned.push(b); }
    return b;
  }

  /** A buffer over a host array, adopted (not copied). `exposed`: user code holds the array. */
  fromHost(array: FloatArray, exposed: boolean): Buffer {
    const b = new Buffer(this, array instanceof Float64Array ? 'float64' : 'float32', array.length);
    b.host = array;
    b.hostValid = true;
    b.exposed = exposed && this.device !== null;
    if (!this.device) b.deviceValid = true;
    return b;
  }

  /** The values for kernels to read: a device view, or the host array of an exposed buffer (kernels stage it). */
  read(b: Buffer): FloatArray {
    if (b.freed) throw new Error(FREED_MESSAGE);
    if (!this.device || b.exposed) return b.host!;
    if (!b.deviceValid) this.materialize(b);
    b.lastUse = this.epoch;
    if (ctx.depth > 0) { b.pins++; ctx.pinned.push(b); }
    return b.view!;
  }

  /** As read, for a caller that will change the values in place (the host copy goes stale). */
  write(b: Buffer): FloatArray {
    const v = this.read(b);
    if (this.device && !b.exposed) b.hostValid = false;
    b.version++;
    b.producer = null;
    return v;
  }

  /** The current values for reading now (a device view or a host array; valid until the next allocation). */
  peek(b: Buffer): FloatArray {
    if (b.freed) throw new Error(FREED_MESSAGE);
    if (!this.device || b.exposed || b.hostValid) return b.host!;
    if (!b.deviceValid) this.materialize(b);
    b.lastUse = this.epoch;
    return b.view!;
  }

  /** A new host array with the current values. */
  copyToHost(b: Buffer): FloatArray {
    const h = new (arrayFor(b.dtype))(b.size);
    h.set(this.peek(b));
    return h;
  }

  /** A sealed host-only buffer holding a copy of b's current values (a recipe's private input). */
  snapshot(b: Buffer): Buffer {
    const s = this.fromHost(this.copyToHost(b), false);
    s.sealed = true;
    return s;
  }

  /** A new unsealed buffer with b's values (copy on write of a sealed buffer). */
  clone(b: Buffer): Buffer {
    if (!this.device || b.exposed || !b.deviceValid) return this.fromHost(this.copyToHost(b), false);
    this.read(b);
    b.pins++; // the copy's allocation must not evict the source
    try {
      const c = this.allocDevice(b.dtype, b.size, false, () => 'copy on write');
      c.view!.set(b.view!);
      return c;
    } finally {
      b.pins--;
      this.unpinned(b);
    }
  }

  /** Hand the host array to user code: from now on it is the only copy, and whatever the user writes counts. */
  expose(b: Buffer): FloatArray {
    if (b.freed) throw new Error(FREED_MESSAGE);
    if (!this.device || b.exposed) return b.host!;
    if (!b.hostValid) {
      b.host = this.copyToHost(b);
      this.counters.copiedOutBytes += b.bytes;
      b.hostValid = true;
    }
    this.dropBlock(b);
    b.exposed = true;
    b.producer = b.recipe = null;
    return b.host!;
  }

  /** Release b's values for good. */
  freeBuffer(b: Buffer): void {
    if (b.freed) return;
    b.freed = true;
    if (b.offset >= 0) { this.device!.freeBlock(b.offset); this.resident.delete(b); }
    b.offset = -1;
    b.view = b.host = null;
    b.deviceValid = b.hostValid = false;
    b.producer = b.recipe = null;
  }

  /** Move `from`'s device block (holding freshly computed values) into `into`; `from` is spent. */
  transfer(from: Buffer, into: Buffer): void {
    into.offset = from.offset;
    into.view = from.view;
    into.deviceValid = true;
    into.lastUse = this.epoch;
    this.resident.delete(from);
    this.resident.add(into);
    from.offset = -1;
    from.view = null;
    from.deviceValid = false;
    from.freed = true;
  }

  /** Called when the last pin of b goes: finish a deferred release of its block. */
  unpinned(b: Buffer): void {
    if (b.dropPending && b.pins === 0) {
      b.dropPending = false;
      if (b.offset >= 0 && !b.deviceValid) { this.device!.freeBlock(b.offset); b.offset = -1; b.view = null; }
    }
  }

  /** Evict every cold buffer (not touched during this tick or the previous one), then adapt the soft limit. */
  collect(): void {
    const old = this.epoch - 1;
    for (const b of this.resident) if (b.pins === 0 && b.lastUse < old) this.evict(b);
    this.counters.collections++;
    const inUse = this.device!.inUseBytes();
    if (inUse > 0.75 * this.limit) this.limit = Math.min(this.cap(), 2 * inUse);
    if (this.resident.size > 0.75 * this.countLimit) this.countLimit = 2 * this.resident.size;
  }

  /** Evict every unpinned buffer (the device memory is full). */
  evictAll(): void {
    for (const b of this.resident) if (b.pins === 0) this.evict(b);
    this.epoch++;
  }

  stats(): MemoryStats | null {
    if (!this.device) return null;
    return { ...this.device.stats(), ...this.counters, resident: this.resident.size, limit: this.limit, countLimit: this.countLimit };
  }

  private cap(): number {
    return 0.9 * this.device!.stats().maxBytes;
  }

  /** Give b a device block, collecting first when the soft limit would be passed. */
  private place(b: Buffer, describe: () => string): void {
    const dev = this.device!;
    if (this.chaos) this.evictAll();
    else if (dev.inUseBytes() + b.bytes > this.limit || this.resident.size >= this.countLimit) this.collect();
    this.sinceTick += b.bytes;
    if (this.sinceTick >= this.limit / 4 || ++this.sinceTickCount >= this.countLimit / 4) { this.epoch++; this.sinceTick = this.sinceTickCount = 0; }
    let offset: number;
    try {
      offset = dev.allocBlock(b.bytes);
    } catch (e) {
      const s = dev.stats();
      throw new Error(`${describe()}: cannot allocate ${b.dtype} storage of ${b.size} elements (${fmtBytes(b.bytes)}): ` +
        `the device memory is full at ${fmtBytes(s.memoryBytes)} of at most ${fmtBytes(s.maxBytes)} (${fmtBytes(s.inUse)} in use after evicting ` +
        `every tensor not in use) [${(e as Error).message}]`);
    }
    b.offset = offset;
    b.view = dev.view(b.dtype, offset, b.size);
    b.lastUse = this.epoch;
    this.resident.add(b);
  }

  /** Move b out of device memory (see the file comment for the three ways). */
  private evict(b: Buffer): void {
    if (b.hostValid) this.counters.evictedClean++;
    else if (b.producer && !b.sealed && recompute && this.recipeOk(b.producer)) {
      b.recipe = b.producer;
      for (const i of b.recipe.inputs) if (i && !i.snapshot) i.buffer.sealed = true;
      this.counters.evictedRecipe++;
    } else {
      const h = new (arrayFor(b.dtype))(b.size);
      h.set(b.view!);
      b.host = h;
      b.hostValid = true;
      this.counters.evictedCopy++;
      this.counters.copiedOutBytes += b.bytes;
    }
    b.producer = null;
    this.dropBlock(b);
    b.evictedAt = this.epoch;
  }

  /** Whether every input of p still holds what p read, so p can run again. */
  private recipeOk(p: Producer): boolean {
    for (const i of p.inputs) {
      if (!i || i.snapshot) continue;
      const x = i.buffer;
      if (x.freed || x.exposed || x.version !== i.version || x.recipe || !(x.deviceValid || x.hostValid)) return false;
    }
    return true;
  }

  private dropBlock(b: Buffer): void {
    b.deviceValid = false;
    this.resident.delete(b);
    if (b.offset < 0) return;
    if (b.pins > 0) { b.dropPending = true; return; }
    this.device!.freeBlock(b.offset);
    b.offset = -1;
    b.view = null;
  }

  /** Bring b back into device memory: copy its host values in, or run its recipe. */
  private materialize(b: Buffer): void {
    if (b.hostValid) {
      this.place(b, () => 'copying a tensor into device memory');
      b.view!.set(b.host!);
      b.deviceValid = true;
      this.counters.copiedInBytes += b.bytes;
    } else if (b.recipe) {
      const r = b.recipe;
      const prev = getBackend();
      if (prev !== this.backend) setBackend(this.backend.name);
      try { recompute!(b, r); } finally { if (prev !== this.backend) setBackend(prev.name); }
      b.recipe = null;
      this.counters.recomputed++;
    } else {
      throw new Error('normlab internal error: a tensor storage has neither a device nor a host copy');
    }
    if (this.epoch - b.evictedAt <= 2) {
      this.counters.misses++;
      this.limit = Math.min(this.cap(), this.limit * 1.5);
    }
  }
}

const managers = new WeakMap<Backend, Manager>();

/** The storage manager of a backend (the active one by default). */
export function managerOf(backend: Backend = getBackend()): Manager {
  let m = managers.get(backend);
  if (!m) managers.set(backend, (m = new Manager(backend)));
  return m;
}

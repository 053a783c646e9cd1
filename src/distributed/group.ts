/**
 * Process groups: the collectives data-parallel training needs, over float64 arrays, behind one interface.
 *
 * `ProcessGroup` is what SyncBatchNorm and DistributedDataParallel call; `SharedMemoryGroup` implements it for
 * the worker threads of one process (`launch`), over SharedArrayBuffers with Atomics. Another transport (for
 * example sockets between machines) implements the same four methods and is passed to `setProcessGroup` (or to
 * a SyncBatchNorm's `processGroup` option); nothing in nn changes.
 *
 * The contract every implementation keeps:
 * - Collectives are synchronous and collective: every rank calls the same ones in the same order, with arrays
 *   of the same length (allGather: any lengths).
 * - Deterministic: results are bitwise the same on every rank and every run. Reductions run over the ranks in
 *   rank order 0, 1, …, W − 1, in float64, whatever order the ranks arrive in.
 * - Never a hang: a collective that waits longer than the timeout throws an error naming the collective and the
 *   ranks that did not arrive; once any rank fails, every waiting rank throws.
 */

/** How allReduce combines the ranks' values. 'mean' is the float64 sum in rank order divided by the world size. */
export type ReduceOp = 'sum' | 'mean' | 'max';

export interface ProcessGroup {
  /** This process's rank, 0 … size − 1. */
  readonly rank: number;
  /** Number of ranks. */
  readonly size: number;
  /** Combine every rank's `data` element by element (in rank order) and write the result into `data` on every rank. */
  allReduce(data: Float64Array, op: ReduceOp): void;
  /** Copy rank `src`'s `data` into `data` on every rank. */
  broadcast(data: Float64Array, src: number): void;
  /** Every rank's `data` (lengths may differ), in rank order; the own entry is a copy. */
  allGather(data: Float64Array): Float64Array[];
  /** Return once every rank has called barrier(). */
  barrier(): void;
}

/** The trivial group of one process: every collective is the identity. */
export class SingleProcessGroup implements ProcessGroup {
  readonly rank = 0;
  readonly size = 1;
  allReduce(): void {}
  broadcast(_data: Float64Array, src: number): void {
    if (src !== 0) throw new Error(`broadcast: src ${src} is not a rank of a world of size 1`);
  }
  allGather(data: Float64Array): Float64Array[] {
    return [Float64Array.from(data)];
  }
  barrier(): void {}
}

// ---- the worker-thread implementation ----

/**
 * Control words (Int32Array): ABORT (0 or 1 + the failed rank), TICK (bumped and notified on every change a
 * waiter may care about), then per rank: ARRIVE (the sequence number of the last collective phase it reached),
 * DONE (its main() has returned or thrown), and for even and odd phases KIND (which collective) and LEN (its
 * array length). A rank is at most one phase ahead of any other, so the words of the phase being checked are
 * never overwritten while another rank reads them.
 */
const ABORT = 0, TICK = 1, PER_RANK = 6;
/** How long a waiting rank spins before it sleeps (waking a sleeping thread costs ~60 µs and a scheduler slice). */
const SPIN_MS = 0.05;
const ARRIVE = 0, DONE = 1, KIND = 2, LEN = 3;
/** The control layout, for the rank bootstrap in launch.ts (which runs without the library). */
export const CONTROL = { ABORT, TICK, PER_RANK, DONE } as const;
const KINDS = ['allReduce', 'broadcast', 'allGather', 'barrier'] as const;
type Kind = (typeof KINDS)[number];

/**
 * Version of the shared-memory layout (control words and data slots) that launch allocates and the ranks read.
 * Bump it whenever the layout or the protocol over it changes: the thread calling launch and the ranks may run
 * different builds of the library (a rank imports normlab afresh from disk at every launch, while the launching
 * thread keeps the build it loaded at start: rebuilding dist/ during a long run gives the ranks the new one; a
 * rank module may also import another copy). Version 1, before this tag, had one set of slots.
 */
export const GROUP_LAYOUT = 2;

/** What launch hands a rank (through workerData): the shared memory and the settings of its group. */
export interface SharedGroupInit {
  /** GROUP_LAYOUT of the library that allocated the memory (missing: launched by a build from before the tag). */
  readonly layout: number;
  readonly rank: number;
  readonly size: number;
  readonly control: SharedArrayBuffer;
  /** Two sets of `size` slots of `slotElements` float64 values each: rank r writes slot r of a set. */
  readonly data: SharedArrayBuffer;
  readonly slotElements: number;
  readonly timeoutMs: number;
}

/** Bytes of the control words and of the data slots of a group of `size` ranks (this build's layout). */
export function sharedGroupBytes(size: number, slotElements: number): { control: number; data: number } {
  return { control: (2 + PER_RANK * size) * 4, data: 2 * size * slotElements * 8 };
}

/** Control buffer and data slots for a group of `size` ranks, with the layout version the ranks check. */
export function sharedGroupMemory(size: number, slotElements: number): { layout: number; control: SharedArrayBuffer; data: SharedArrayBuffer } {
  const bytes = sharedGroupBytes(size, slotElements);
  return { layout: GROUP_LAYOUT, control: new SharedArrayBuffer(bytes.control), data: new SharedArrayBuffer(bytes.data) };
}

/**
 * Check that `init` (made by the launching thread's build of the library) fits this build's layout: the same
 * layout version and buffers as large as this build needs. Throws an error saying what differs and why.
 */
function checkInit(init: SharedGroupInit): void {
  const { layout, rank, size, control, data, slotElements } = init;
  const from = 'the thread that called distributed.launch';
  const why = 'The ranks run a different build of normlab than that thread: it loaded the library when it started, each rank loads it from disk at launch (was dist/ rebuilt while the program ran? restart it), or the rank module imports another copy or version of normlab (import the same one).';
  if (layout !== GROUP_LAYOUT)
    throw new Error(`launch: this rank's normlab uses shared-memory layout ${GROUP_LAYOUT} but ${from} passed ${layout === undefined ? 'an older, untagged layout' : `layout ${String(layout)}`}. ${why}`);
  if (!Number.isInteger(size) || size < 1 || !Number.isInteger(rank) || rank < 0 || rank >= size || !Number.isInteger(slotElements) || slotElements < 1)
    throw new Error(`launch: invalid group settings from ${from}: rank ${rank}, size ${size}, slotElements ${slotElements}`);
  const need = sharedGroupBytes(size, slotElements);
  for (const [name, buf, bytes] of [['control', control, need.control], ['data', data, need.data]] as const) {
    const got = buf instanceof SharedArrayBuffer ? buf.byteLength : -1;
    if (got < bytes)
      throw new Error(`launch: the shared ${name} memory from ${from} is ${got < 0 ? 'not a SharedArrayBuffer' : `${got} bytes`} but this rank needs ${bytes} (${size} ranks, slotElements ${slotElements}). ${why}`);
  }
}

/** Mark rank `rank` finished (failed: ask every other rank to stop), and wake the waiters. Used by launch. */
export function markRankDone(control: SharedArrayBuffer, rank: number, failed: boolean): void {
  const c = new Int32Array(control);
  // abort first: a rank that sees DONE must already see why
  if (failed) Atomics.compareExchange(c, ABORT, 0, 1 + rank);
  Atomics.store(c, 2 + PER_RANK * rank + DONE, 1);
  Atomics.add(c, TICK, 1);
  Atomics.notify(c, TICK);
}

/**
 * The collectives over shared memory for the worker threads of `launch`. Each rank writes its values into its
 * own slot, waits at a phase barrier, then every rank computes the result itself from all slots in rank order
 * (so every rank gets bitwise the same result). Two sets of slots alternate between phases: a rank can only
 * write a set again two phases later, when every rank has passed the phase in between and so has finished
 * reading it — one barrier per collective. Arrays longer than a slot go through in slot-sized chunks. Waiting
 * spins briefly, then sleeps on a futex (Atomics.wait).
 */
export class SharedMemoryGroup implements ProcessGroup {
  readonly rank: number;
  readonly size: number;
  readonly timeoutMs: number;
  private readonly ctl: Int32Array;
  /** The slots of the phase being run (one of `sets`). */
  private slots: Float64Array[];
  private readonly sets: Float64Array[][];
  private readonly slotElements: number;
  private seq = 0;

  constructor(init: SharedGroupInit) {
    checkInit(init);
    const { rank, size, control, data, slotElements, timeoutMs } = init;
    this.rank = rank;
    this.size = size;
    this.timeoutMs = timeoutMs;
    this.slotElements = slotElements;
    this.ctl = new Int32Array(control);
    this.sets = [0, 1].map((set) => Array.from({ length: size }, (_, r) => new Float64Array(data, ((set * size) + r) * slotElements * 8, slotElements)));
    this.slots = this.sets[0];
  }

  allReduce(data: Float64Array, op: ReduceOp): void {
    if (op !== 'sum' && op !== 'mean' && op !== 'max') throw new Error(`allReduce: unknown op '${op as string}'; expected 'sum', 'mean' or 'max'`);
    const W = this.size;
    this.chunks('allReduce', data.length, (start, n) => {
      this.slots[this.rank].set(data.subarray(start, start + n));
    }, (start, n) => {
      const s0 = this.slots[0];
      for (let i = 0; i < n; i++) {
        let acc = s0[i];
        if (op === 'max') { for (let r = 1; r < W; r++) { const v = this.slots[r][i]; if (v > acc || Number.isNaN(v)) acc = v; } }
        else for (let r = 1; r < W; r++) acc += this.slots[r][i];
        data[start + i] = op === 'mean' ? acc / W : acc;
      }
    });
  }

  broadcast(data: Float64Array, src: number): void {
    if (!Number.isInteger(src) || src < 0 || src >= this.size) throw new Error(`broadcast: src ${src} is not a rank of a world of size ${this.size}`);
    this.chunks('broadcast', data.length, (start, n) => {
      if (this.rank === src) this.slots[src].set(data.subarray(start, start + n));
    }, (start, n) => {
      if (this.rank !== src) data.set(this.slots[src].subarray(0, n), start);
    }, src);
  }

  allGather(data: Float64Array): Float64Array[] {
    // Each phase carries a chunk of every rank's values; the first also the lengths (LEN words), which say how
    // many chunks follow (one phase when every array fits a slot).
    const S = this.slotElements;
    let out: Float64Array[] = [], lens: number[] = [], longest = 0;
    for (let start = 0, first = true; first || start < longest; start += S, first = false) {
      this.slots = this.sets[(this.seq + 1) & 1];
      const n = Math.max(0, Math.min(S, data.length - start));
      if (n) this.slots[this.rank].set(data.subarray(start, start + n));
      const seq = this.arrive('allGather', first ? data.length : -1);
      this.waitFor(seq, 'allGather', first);
      if (first) {
        lens = Array.from({ length: this.size }, (_, r) => Atomics.load(this.ctl, this.word(r, seq, LEN)));
        out = lens.map((len) => new Float64Array(len));
        longest = Math.max(...lens);
      }
      for (let r = 0; r < this.size; r++) {
        const m = Math.max(0, Math.min(S, lens[r] - start));
        if (m) out[r].set(this.slots[r].subarray(0, m), start);
      }
    }
    return out;
  }

  barrier(): void {
    this.waitFor(this.arrive('barrier', 0), 'barrier', true);
  }

  /** Run a collective over `length` elements in slot-sized chunks: write, phase barrier, read. */
  private chunks(kind: Kind, length: number, write: (start: number, n: number) => void, read: (start: number, n: number) => void, src = -1): void {
    const S = this.slotElements;
    // The first phase checks that every rank called the same collective with the same length (and src).
    let first = true;
    for (let start = 0; start < length || first; start += S) {
      const n = Math.min(S, length - start);
      this.slots = this.sets[(this.seq + 1) & 1]; // the set of the phase about to be reached
      if (n > 0) write(start, n);
      this.waitFor(this.arrive(kind, first ? length : -1, src), kind, first);
      if (n > 0) read(start, n);
      first = false;
      if (length === 0) break;
    }
  }

  /** Announce that this rank reached the next phase; returns the phase's sequence number. */
  private arrive(kind: Kind, len: number, src = -1): number {
    const seq = ++this.seq, base = 2 + PER_RANK * this.rank;
    Atomics.store(this.ctl, this.word(this.rank, seq, KIND), KINDS.indexOf(kind) + KINDS.length * (src + 1));
    Atomics.store(this.ctl, this.word(this.rank, seq, LEN), len);
    Atomics.store(this.ctl, base + ARRIVE, seq);
    Atomics.add(this.ctl, TICK, 1);
    Atomics.notify(this.ctl, TICK);
    return seq;
  }

  /** Index of rank r's KIND or LEN word for phase seq. */
  private word(r: number, seq: number, which: typeof KIND | typeof LEN): number {
    return 2 + PER_RANK * r + which + 2 * (seq & 1);
  }

  /** Wait until every rank reached phase `seq`; errors on abort, a finished rank, a timeout or a mismatch. */
  private waitFor(seq: number, kind: Kind, check: boolean): void {
    const c = this.ctl, W = this.size;
    const t0 = performance.now();
    let spins = 0;
    for (;;) {
      const tick = Atomics.load(c, TICK);
      const abort = Atomics.load(c, ABORT);
      if (abort) throw new Error(`${kind}: stopped because rank ${abort - 1} failed`);
      const missing: number[] = [];
      for (let r = 0; r < W; r++) if (Atomics.load(c, 2 + PER_RANK * r + ARRIVE) < seq) missing.push(r);
      if (!missing.length) break;
      // A finished rank's ARRIVE is final, but it may have arrived (and finished) since it was read above.
      const gone = missing.filter((r) => Atomics.load(c, 2 + PER_RANK * r + DONE) && Atomics.load(c, 2 + PER_RANK * r + ARRIVE) < seq);
      if (gone.length) throw new Error(`${kind}: rank${gone.length > 1 ? 's' : ''} ${gone.join(', ')} returned from main() without joining (every rank must call the same collectives)`);
      const waited = performance.now() - t0;
      if (waited > this.timeoutMs)
        throw new Error(`${kind}: timed out after ${(this.timeoutMs / 1000).toFixed(1)} s on rank ${this.rank} waiting for rank${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (collective phase ${seq})`);
      // Spin for SPIN_MS (another rank is usually a kernel or two away), then sleep on the futex.
      if ((++spins & 63) !== 0 || waited < SPIN_MS) continue;
      Atomics.wait(c, TICK, tick, Math.max(1, Math.min(1000, this.timeoutMs - waited)));
    }
    if (!check) return;
    const mine = Atomics.load(c, this.word(this.rank, seq, KIND)), myLen = Atomics.load(c, this.word(this.rank, seq, LEN));
    for (let r = 0; r < W; r++) {
      const k = Atomics.load(c, this.word(r, seq, KIND)), len = Atomics.load(c, this.word(r, seq, LEN));
      const name = (v: number) => KINDS[v % KINDS.length];
      if (name(k) !== name(mine))
        throw new Error(`${kind}: rank ${r} called ${name(k)} while rank ${this.rank} called ${name(mine)} (every rank must call the same collectives in the same order)`);
      if (k !== mine) throw new Error(`${kind}: rank ${r} broadcasts from rank ${Math.floor(k / KINDS.length) - 1} but rank ${this.rank} from rank ${Math.floor(mine / KINDS.length) - 1}`);
      if (myLen !== -1 && len !== myLen && kind !== 'allGather')
        throw new Error(`${kind}: rank ${r} passed ${len} elements but rank ${this.rank} passed ${myLen}`);
    }
  }
}

// ---- the process's group ----

/** The workerData key under which launch hands a rank its group. */
export const WORKER_DATA_KEY = '__normlabDistributed';

let world: ProcessGroup | null = null;
let worldRead = false;

/**
 * The group of this process: set by setProcessGroup, else the worker-thread group when this thread is a rank
 * started by launch, else the single-process group.
 */
export function getProcessGroup(): ProcessGroup {
  if (!worldRead) {
    worldRead = true;
    const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
    const wt = proc?.getBuiltinModule?.('node:worker_threads') as { workerData?: Record<string, unknown> } | undefined;
    const init = wt?.workerData && typeof wt.workerData === 'object' ? wt.workerData[WORKER_DATA_KEY] as SharedGroupInit | undefined : undefined;
    if (!world && init) world = new SharedMemoryGroup(init);
  }
  return world ?? (world = new SingleProcessGroup());
}

/**
 * Use `group` as this process's group from now on (another transport, e.g. between machines). Call it before
 * building models: SyncBatchNorm and DistributedDataParallel use the group that is current when they run.
 */
export function setProcessGroup(group: ProcessGroup): void {
  for (const m of ['allReduce', 'broadcast', 'allGather', 'barrier'] as const)
    if (!group || typeof group[m] !== 'function') throw new Error(`setProcessGroup: the group has no ${m}() method`);
  if (!Number.isInteger(group.size) || group.size < 1 || !Number.isInteger(group.rank) || group.rank < 0 || group.rank >= group.size)
    throw new Error(`setProcessGroup: rank ${group.rank} and size ${group.size} must be integers with 0 ≤ rank < size`);
  world = group;
  worldRead = true;
}

/**
 * The kernel thread pool: worker threads (Node worker_threads, browser Web Workers) that instantiate the same
 * wasm module on the same shared memory, and a synchronous fork-join over them.
 *
 * A parallel kernel call is split into parts (each part a call of one wasm export with its own arguments); the
 * calling thread publishes the parts, wakes the workers, and every thread — the caller too — claims parts with
 * an atomic counter until none is left, then the caller waits for the parts other threads claimed. Because parts
 * are claimed, not assigned, a worker that is still starting (browsers start workers only when the page's thread
 * yields) or busy never holds anything up: the caller does the work itself.
 *
 * Results never depend on the number of threads: a part's result does not depend on which thread runs it, and
 * every kernel splits its work so that no reduction is divided between parts (see kernels.ts: matmul by column or
 * row panels of whole tiles, norms by channels, elementwise by ranges).
 *
 * Waking a sleeping thread costs ~60 µs on this kind of VM (a futex round trip); a spinning one, ~0.5 µs. So a
 * worker spins for `spinMs` after its last part before it sleeps, like OpenMP runtimes do: kernels that come in
 * quick succession (a training step) find it awake; an idle program has it asleep.
 *
 * A worker's error (a kernel trap) is recorded and thrown by the caller once the call's parts are done; a
 * worker that stops responding for `timeoutMs` is an error too, never a hang. Workers are unref'd (Node): they
 * never keep a process alive.
 */

/**
 * Control words (Int32Array over a SharedArrayBuffer). NEXT holds the call's generation (16 bits) over the number
 * of parts still unclaimed; a thread claims the part numbered (that count − 1) by compare-and-swap of the count
 * down. So a finished call (count 0) can never be claimed from, whatever fields of the next call a late thread
 * has read, and a thread reads the call's fields (FN, NARGS, WORK_ARG) only after a successful claim: from then
 * until it adds to DONE the call cannot finish, so those fields are the claimed call's. (Earlier the count went
 * up to PARTS, read before the claim: a thread descheduled for a whole call could read the next call's PARTS
 * beside the old call's NEXT and claim a part that did not exist — a race only heavy load exposes.)
 */
const SEQ = 0, NEXT = 1, DONE = 2, PARTS = 3, FN = 4, NARGS = 5, ERROR = 6, WORK_ARG = 7;
const READY = 16; // + worker index: 0 starting, 1 ready, 2 asked to stop
const MAX_WORKERS = 64, MAX_PARTS = 256, MAX_ARGS = 24;
const CTL_INTS = READY + MAX_WORKERS;
const ERR_BYTES = 1024;

/** The worker's code (plain JavaScript, run as a Node eval worker or a browser classic worker). */
const WORKER_SOURCE = String.raw`
'use strict';
function start(d) {
  const ctl = new Int32Array(d.ctl), args = new Float64Array(d.args), err = new Uint8Array(d.err);
  const index = d.index, tid = index + 1, spinMs = d.spinMs;
  const env = { memory: d.memory, abort: (m, f, line, col) => { throw new Error('normlab wasm kernel aborted at ' + line + ':' + col); }, seed: () => 0 };
  const ex = new WebAssembly.Instance(d.module, { env }).exports;
  const fns = d.names.map((n) => ex[n]);
  const a = [];
  Atomics.store(ctl, ${READY} + index, 1);
  let seen = Atomics.load(ctl, ${SEQ});
  for (;;) {
    // Spin for spinMs (checking the clock every 256 loads), then sleep until the sequence number moves.
    const t0 = performance.now();
    let spins = 0;
    while (Atomics.load(ctl, ${SEQ}) === seen) {
      if ((++spins & 255) === 0 && performance.now() - t0 > spinMs) { Atomics.wait(ctl, ${SEQ}, seen); break; }
    }
    if (Atomics.load(ctl, ${READY} + index) === 2) return;
    seen = Atomics.load(ctl, ${SEQ});
    const gen = seen & 0xffff;
    for (;;) {
      const v = Atomics.load(ctl, ${NEXT});
      if ((v >>> 16) !== gen || (v & 0xffff) === 0) break;
      if (Atomics.compareExchange(ctl, ${NEXT}, v, v - 1) !== v) continue;
      // Claimed: the call stays in progress until this part is counted in DONE, so its fields are stable now.
      const fn = fns[Atomics.load(ctl, ${FN})], nargs = Atomics.load(ctl, ${NARGS}), workArg = Atomics.load(ctl, ${WORK_ARG});
      a.length = nargs;
      const p = (v & 0xffff) - 1;
      const o = p * ${MAX_ARGS};
      for (let i = 0; i < nargs; i++) a[i] = args[o + i];
      if (workArg >= 0) a[workArg] = args[${MAX_PARTS * MAX_ARGS}] + tid * args[${MAX_PARTS * MAX_ARGS + 1}];
      try { fn.apply(null, a); } catch (e) {
        if (Atomics.compareExchange(ctl, ${ERROR}, 0, 1) === 0) {
          const s = new TextEncoder().encode('normlab kernel thread ' + tid + ': ' + (e && e.message ? e.message : String(e)));
          err.set(s.subarray(0, ${ERR_BYTES}));
        }
      }
      Atomics.add(ctl, ${DONE}, 1);
    }
  }
}
if (typeof process === 'object' && process.versions && process.versions.node) start(process.getBuiltinModule('node:worker_threads').workerData);
else self.onmessage = (e) => start(e.data);
`;

interface WorkerHandle { terminate(): unknown }

/** Number of cores the runtime reports (at least 1). */
export function coreCount(): number {
  const p = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  const os = p?.getBuiltinModule?.('node:os') as { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined;
  if (os) return Math.max(1, os.availableParallelism?.() ?? os.cpus?.().length ?? 1);
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  return Math.max(1, nav?.hardwareConcurrency ?? 1);
}

/** How a part's work area is placed: argument `arg` becomes base + thread index · stride. */
export interface WorkArea { readonly arg: number; readonly base: number; readonly stride: number }

export class KernelPool {
  private readonly ctl: Int32Array;
  private readonly args: Float64Array;
  private readonly err: Uint8Array;
  private readonly shared: { ctl: SharedArrayBuffer; args: SharedArrayBuffer; err: SharedArrayBuffer };
  private readonly workers: WorkerHandle[] = [];
  private readonly fnIndex = new Map<string, number>();
  private seq = 0;
  private threads = 1;
  /** Set when workers cannot be started here (no worker API): everything runs on the calling thread. */
  private unavailable: string | null = null;
  /** The last error a worker thread died of (outside a kernel call), for diagnostics. */
  lastWorkerError: string | null = null;
  /** Calls made, and how many of their parts workers ran (for tests and the bench). */
  readonly counters = { calls: 0, parts: 0, workerParts: 0 };
  private readonly a: number[] = [];

  constructor(private readonly module: WebAssembly.Module, private readonly memory: WebAssembly.Memory,
    private readonly exports: Record<string, (...args: number[]) => unknown>, readonly names: readonly string[],
    readonly spinMs = 2, readonly timeoutMs = 120_000) {
    this.shared = {
      ctl: new SharedArrayBuffer(CTL_INTS * 4),
      args: new SharedArrayBuffer((MAX_PARTS * MAX_ARGS + 2) * 8),
      err: new SharedArrayBuffer(ERR_BYTES),
    };
    this.ctl = new Int32Array(this.shared.ctl);
    this.args = new Float64Array(this.shared.args);
    this.err = new Uint8Array(this.shared.err);
    names.forEach((n, i) => this.fnIndex.set(n, i));
  }

  /** Threads a parallel call uses (the caller included). */
  get size(): number {
    return this.threads;
  }

  /** Workers whose instance is ready. */
  get ready(): number {
    let r = 0;
    for (let i = 0; i < this.workers.length; i++) if (Atomics.load(this.ctl, READY + i) === 1) r++;
    return r;
  }

  /** Why workers cannot run here, or null. */
  get unavailableReason(): string | null {
    return this.unavailable;
  }

  /**
   * Use `n` threads in all (the caller and n − 1 workers). Workers are started as needed and stopped when n
   * shrinks. Where no worker API exists, n is accepted but everything runs on the calling thread.
   */
  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS + 1) throw new Error(`setNumThreads: expected an integer in [1, ${MAX_WORKERS + 1}], got ${n}`);
    while (this.workers.length > n - 1) this.stopLast();
    while (this.workers.length < n - 1 && !this.unavailable) this.startWorker();
    this.threads = this.unavailable ? 1 : n;
  }

  /** Stop every worker (the pool stays usable: setThreads starts them again). */
  close(): void {
    while (this.workers.length) this.stopLast();
    this.threads = 1;
  }

  /**
   * Run export `fn` once per part, `parts` times, with the arguments `fill` writes for each part (nargs of them).
   * With `work`, argument `work.arg` is the running thread's work area. Returns when every part is done.
   */
  run(fn: string, parts: number, nargs: number, fill: (part: number, args: Float64Array, offset: number) => void, work?: WorkArea): void {
    const f = this.fnIndex.get(fn);
    if (f === undefined) throw new Error(`KernelPool: unknown kernel '${fn}'`);
    if (parts > MAX_PARTS || nargs > MAX_ARGS) throw new Error(`KernelPool: ${parts} parts of ${nargs} arguments exceed ${MAX_PARTS} × ${MAX_ARGS}`);
    if (work && !(Number.isInteger(work.arg) && work.arg >= 0 && work.arg < nargs && work.base > 0))
      throw new Error(`KernelPool: '${fn}': the work area argument ${work.arg} (base ${work.base}) is not one of its ${nargs} arguments`);
    this.counters.calls++;
    this.counters.parts += parts;
    for (let p = 0; p < parts; p++) fill(p, this.args, p * MAX_ARGS);
    const kernel = this.exports[fn];
    const a = this.a;
    a.length = nargs;
    const runPart = (p: number): void => {
      const o = p * MAX_ARGS;
      for (let i = 0; i < nargs; i++) a[i] = this.args[o + i];
      if (work) a[work.arg] = work.base; // the caller is thread 0
      kernel(...a);
    };
    if (this.threads === 1 || parts === 1 || this.ready === 0) {
      for (let p = 0; p < parts; p++) runPart(p);
      return;
    }
    const c = this.ctl;
    if (work) { this.args[MAX_PARTS * MAX_ARGS] = work.base; this.args[MAX_PARTS * MAX_ARGS + 1] = work.stride; }
    Atomics.store(c, FN, f);
    Atomics.store(c, NARGS, nargs);
    Atomics.store(c, PARTS, parts);
    Atomics.store(c, WORK_ARG, work ? work.arg : -1);
    Atomics.store(c, DONE, 0);
    Atomics.store(c, ERROR, 0);
    const seq = ++this.seq, gen = seq & 0xffff;
    Atomics.store(c, NEXT, (gen << 16) | parts);
    Atomics.store(c, SEQ, seq);
    Atomics.notify(c, SEQ);
    let mine = 0, failure: unknown = null;
    for (;;) {
      const v = Atomics.load(c, NEXT);
      if ((v & 0xffff) === 0) break;
      if (Atomics.compareExchange(c, NEXT, v, v - 1) !== v) continue;
      try { runPart((v & 0xffff) - 1); } catch (e) { failure ??= e; }
      Atomics.add(c, DONE, 1);
      mine++;
    }
    // Wait for the parts workers claimed (spinning: the main thread of a page may not block).
    const t0 = performance.now();
    let spins = 0;
    while (Atomics.load(c, DONE) < parts) {
      if ((++spins & 1023) === 0 && performance.now() - t0 > this.timeoutMs)
        throw new Error(`normlab kernel threads: '${fn}' did not finish within ${this.timeoutMs / 1000} s (${Atomics.load(c, DONE)} of ${parts} parts done)`);
    }
    this.counters.workerParts += parts - mine;
    if (failure) throw failure;
    if (Atomics.load(c, ERROR)) {
      const n = this.err.indexOf(0);
      throw new Error(new TextDecoder().decode(this.err.slice(0, n < 0 ? ERR_BYTES : n)));
    }
  }

  private startWorker(): void {
    const index = this.workers.length;
    Atomics.store(this.ctl, READY + index, 0);
    const data = { module: this.module, memory: this.memory, ctl: this.shared.ctl, args: this.shared.args, err: this.shared.err, index, names: this.names, spinMs: this.spinMs };
    const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
    const wt = proc?.getBuiltinModule?.('node:worker_threads') as { Worker: new (code: string, o: object) => WorkerHandle & { unref(): void; on(e: string, f: (err: Error) => void): void } } | undefined;
    try {
      if (wt) {
        const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData: data });
        // A worker that dies never becomes ready (or stops claiming parts): the caller does its work.
        w.on('error', (e) => { this.lastWorkerError = e.message; Atomics.store(this.ctl, READY + index, 0); });
        w.unref();
        this.workers.push(w);
      } else if (typeof Worker === 'function' && typeof Blob === 'function' && typeof URL?.createObjectURL === 'function') {
        const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
        const w = new Worker(url);
        w.postMessage(data);
        this.workers.push(w);
      } else {
        this.unavailable = 'no worker API (worker_threads or Web Workers) in this runtime';
      }
    } catch (e) {
      this.unavailable = `workers could not start: ${(e as Error).message}`;
    }
  }

  private stopLast(): void {
    const w = this.workers.pop()!;
    // Asked to stop, it returns at its next wake-up (the others find nothing to claim); then it is terminated.
    Atomics.store(this.ctl, READY + this.workers.length, 2);
    Atomics.store(this.ctl, SEQ, ++this.seq);
    Atomics.notify(this.ctl, SEQ);
    void w.terminate();
  }
}

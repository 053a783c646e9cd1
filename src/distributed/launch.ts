/**
 * launch: start `worldSize` ranks as worker threads of this process, each running a module's `main`.
 */
import { coreCount } from '../kernels/wasm/index.js';
import { CONTROL, WORKER_DATA_KEY, markRankDone, sharedGroupBytes, sharedGroupMemory, type SharedGroupInit } from './group.js';

/** Launches started by this thread (named in resource errors). */
let launches = 0;

export interface LaunchOptions {
  /** A collective that waits longer than this (milliseconds) is an error naming the ranks that did not arrive. Default 5 minutes. */
  timeoutMs?: number;
  /** Kernel threads per rank (NORMLAB_NUM_THREADS in the rank). Default max(1, ⌊cores / worldSize⌋), so ranks do not oversubscribe the cores. */
  threadsPerRank?: number;
  /** Elements (float64) of each rank's slot in shared memory; longer collectives go in chunks. Default 2^17 (1 MiB). */
  slotElements?: number;
}

/** What a rank's `main` receives. */
export interface RankContext<A = unknown> {
  readonly rank: number;
  readonly worldSize: number;
  readonly args: A;
}

/** The error launch rejects with: the failed rank's error, with its rank (the original error is the cause). */
export class RankError extends Error {
  constructor(readonly rank: number, cause: Error) {
    super(`rank ${rank}: ${cause.message}`, { cause });
    this.name = 'RankError';
  }
}

/** The rank's code (plain JavaScript, run as a Node eval worker): import the module, call main, report. */
function workerSource(): string {
  return String.raw`
'use strict';
const { workerData, parentPort } = require('node:worker_threads');
const d = workerData.${WORKER_DATA_KEY};
const describe = (e) => e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : { name: 'Error', message: String(e) };
// as markRankDone in group.ts
const done = (control, rank, failed) => {
  const c = new Int32Array(control);
  if (failed) Atomics.compareExchange(c, ${CONTROL.ABORT}, 0, 1 + rank);
  Atomics.store(c, 2 + ${CONTROL.PER_RANK} * rank + ${CONTROL.DONE}, 1);
  Atomics.add(c, ${CONTROL.TICK}, 1);
  Atomics.notify(c, ${CONTROL.TICK});
};
(async () => {
  const mod = await import(d.moduleUrl);
  if (typeof mod.main !== 'function') throw new Error(d.moduleUrl + ' exports no main function');
  return await mod.main({ rank: d.rank, worldSize: d.size, args: d.args });
})().then((result) => {
  try { parentPort.postMessage({ ok: true, result }); done(d.control, d.rank, false); }
  catch (e) { done(d.control, d.rank, true); parentPort.postMessage({ ok: false, error: describe(new Error('the value main() returned cannot be sent to the launching thread: ' + e.message)) }); }
}, (e) => { done(d.control, d.rank, true); parentPort.postMessage({ ok: false, error: describe(e) }); });
`;
}

interface NodeWorker {
  on(event: 'message', f: (m: { ok: boolean; result?: unknown; error?: { name: string; message: string; stack?: string } }) => void): void;
  on(event: 'error', f: (e: Error) => void): void;
  on(event: 'exit', f: (code: number) => void): void;
  terminate(): Promise<number>;
}

type NodeModules = {
  wt: { Worker: new (code: string, o: object) => NodeWorker };
  url: { pathToFileURL(p: string): URL };
  path: { resolve(p: string): string };
};

function nodeModules(): NodeModules | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (m: string) => unknown } }).process;
  if (!proc?.getBuiltinModule) return null;
  return {
    wt: proc.getBuiltinModule('node:worker_threads') as NodeModules['wt'],
    url: proc.getBuiltinModule('node:url') as NodeModules['url'],
    path: proc.getBuiltinModule('node:path') as NodeModules['path'],
  };
}

/**
 * Run `worldSize` ranks of a data-parallel program as worker threads of this process (PyTorch's torchrun /
 * mp.spawn, on one machine). Each rank imports `moduleUrl` (a file URL or a path; an ES module) and calls its
 * exported `main({ rank, worldSize, args })`, which may be async. In a rank, the collectives (`allReduce`,
 * `broadcast`, `allGather`, `barrier`), SyncBatchNorm and DistributedDataParallel work across the ranks over
 * shared memory. Every rank loads its own copy of the library (its own backend, wasm memory and storage), with
 * max(1, ⌊cores / worldSize⌋) kernel threads.
 *
 * Resolves to the ranks' return values in rank order (they must be structured-cloneable). If a rank throws,
 * every rank is stopped and launch rejects with a RankError naming the rank (the rank's error is its cause). A
 * collective that waits past `timeoutMs` (default 5 minutes) is such an error, naming the collective and the
 * ranks that did not arrive, so launch never hangs on a lost rank.
 *
 * Example:
 * ```ts
 * // usually a file: await distributed.launch(2, new URL('./train.mjs', import.meta.url), { steps: 100 })
 * const code = 'export function main({ rank, worldSize, args }) { return args.base + rank * worldSize; }';
 * await distributed.launch(2, `data:text/javascript,${encodeURIComponent(code)}`, { base: 100 }); // => [100, 102]
 * ```
 */
export async function launch<R = unknown, A = unknown>(worldSize: number, moduleUrl: string | URL, args?: A, options: LaunchOptions = {}): Promise<R[]> {
  const { timeoutMs = 300_000, threadsPerRank = Math.max(1, Math.floor(coreCount() / Math.max(1, worldSize))), slotElements = 1 << 17 } = options;
  if (!Number.isInteger(worldSize) || worldSize < 1 || worldSize > 256) throw new Error(`launch: worldSize must be an integer in [1, 256], got ${worldSize}`);
  if (!(timeoutMs > 0)) throw new Error(`launch: timeoutMs must be > 0, got ${timeoutMs}`);
  if (!Number.isInteger(threadsPerRank) || threadsPerRank < 1) throw new Error(`launch: threadsPerRank must be a positive integer, got ${threadsPerRank}`);
  if (!Number.isInteger(slotElements) || slotElements < 1) throw new Error(`launch: slotElements must be a positive integer, got ${slotElements}`);
  const node = nodeModules();
  if (!node) throw new Error('launch: needs Node worker_threads (Node ≥ 20.16); browsers are not supported yet');
  let url: string;
  if (moduleUrl instanceof URL) url = moduleUrl.href;
  else if (typeof moduleUrl === 'string' && /^(file|data):/.test(moduleUrl)) url = moduleUrl;
  else if (typeof moduleUrl === 'string' && moduleUrl) url = node.url.pathToFileURL(node.path.resolve(moduleUrl)).href;
  else throw new Error(`launch: moduleUrl must be a URL or a path, got ${String(moduleUrl)}`);
  const nth = ++launches;
  let memory: ReturnType<typeof sharedGroupMemory>;
  try {
    memory = sharedGroupMemory(worldSize, slotElements);
  } catch (e) {
    const b = sharedGroupBytes(worldSize, slotElements);
    throw new Error(`launch: could not allocate the group's shared memory (launch ${nth} of this thread): ${b.data} bytes of data slots (2 sets × ${worldSize} ranks × slotElements ${slotElements} × 8) and ${b.control} of control words: ${(e as Error).message}`, { cause: e });
  }
  const { layout, control, data } = memory;
  const env = { ...(globalThis as { process?: { env?: Record<string, string> } }).process?.env, NORMLAB_NUM_THREADS: String(threadsPerRank) };
  const source = workerSource();
  const workers: NodeWorker[] = [];
  const results = new Array<R>(worldSize);
  try {
    return await new Promise<R[]>((resolve, reject) => {
      let left = worldSize, settled = false;
      const abortWord = new Int32Array(control);
      const fail = (rank: number, e: Error) => {
        if (settled) return;
        // A rank that failed first set the abort word before reporting: the others' errors ("stopped because
        // rank q failed") only follow from it, so wait for its own report.
        const first = Atomics.load(abortWord, CONTROL.ABORT) - 1;
        if (first >= 0 && first !== rank) return;
        settled = true;
        markRankDone(control, rank, true); // every rank waiting in a collective stops
        reject(new RankError(rank, e));
      };
      for (let rank = 0; rank < worldSize; rank++) {
        const init: SharedGroupInit & { moduleUrl: string; args: unknown } = { layout, rank, size: worldSize, control, data, slotElements, timeoutMs, moduleUrl: url, args };
        let w: NodeWorker;
        try {
          w = new node.wt.Worker(source, { eval: true, workerData: { [WORKER_DATA_KEY]: init }, env });
        } catch (e) {
          fail(rank, new Error(`could not start the rank's worker thread (launch ${nth} of this thread, ${rank} of ${worldSize} ranks started): ${(e as Error).message}`, { cause: e }));
          return;
        }
        workers.push(w);
        let reported = false;
        w.on('message', (m) => {
          reported = true;
          if (m.ok) {
            results[rank] = m.result as R;
            if (--left === 0 && !settled) { settled = true; resolve(results); }
          } else {
            const err = Object.assign(new Error(m.error!.message), { name: m.error!.name });
            if (m.error!.stack) err.stack = m.error!.stack;
            fail(rank, err);
          }
        });
        // A worker thread that dies of a resource limit (its heap, or thread or memory creation) names the launch.
        w.on('error', (e) => fail(rank, /^ERR_WORKER_(OUT_OF_MEMORY|INIT_FAILED)$/.test((e as Error & { code?: string }).code ?? '')
          ? new Error(`the rank's worker thread failed (launch ${nth} of this thread): ${e.message}`, { cause: e }) : e));
        w.on('exit', (code) => { if (!reported) fail(rank, new Error(`the worker thread exited (code ${code}) before main() returned`)); });
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

import type { Backend } from './types.js';
import { jsBackend } from './js/index.js';
import { coreCount, createWasmBackend, wasmSupported } from './wasm/index.js';

export * from './types.js';
export { jsBackend, wasmSupported, createWasmBackend };

/**
 * Threads kernels use: NORMLAB_NUM_THREADS when set (Node), else every core the runtime reports. Read when a
 * backend is made; setNumThreads changes it later.
 */
let numThreads = defaultThreads();

function defaultThreads(): number {
  const env = typeof process !== 'undefined' ? process.env?.NORMLAB_NUM_THREADS : undefined;
  if (env === undefined || env === '') return coreCount();
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`NORMLAB_NUM_THREADS: expected a positive integer, got '${env}'`);
  return n;
}

/**
 * Use `n` threads for kernels (the calling thread included): worker threads share the wasm backend's memory
 * and take parts of large kernels (matmul panels, convolution and normalization channels, elementwise ranges).
 * Default: every core (NORMLAB_NUM_THREADS overrides). Results are bitwise the same for any n. The js backend
 * is single-threaded. In a browser page that is not cross-origin isolated there is no wasm backend and so no
 * threads.
 *
 * Example: `setNumThreads(1); getNumThreads(); // => 1`
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 65) throw new Error(`setNumThreads: expected an integer in [1, 65], got ${n}`);
  numThreads = n;
  for (const b of created.values()) b.setThreads?.(n);
}

/** The thread count kernels use (see setNumThreads). */
export function getNumThreads(): number {
  return numThreads;
}

/** Backends by name; 'wasm' is created on first use (it reserves its memory then). */
const factories = new Map<string, () => Backend>([['js', () => jsBackend], ['wasm', () => createWasmBackend({ threads: numThreads })]]);
const created = new Map<string, Backend>();

function get(name: string): Backend {
  let b = created.get(name);
  if (!b) {
    const make = factories.get(name);
    if (!make) throw new Error(`setBackend: unknown backend '${name}'; available: ${[...factories.keys()].join(', ')}`);
    if (name === 'wasm' && !wasmSupported()) throw new Error("setBackend: 'wasm' needs WebAssembly SIMD and shared memory (SharedArrayBuffer; in browsers, a cross-origin-isolated page); use 'js'");
    created.set(name, (b = make()));
  }
  return b;
}

/**
 * The default backend: NORMLAB_BACKEND when set (Node), else wasm wherever WebAssembly SIMD and shared memory
 * exist, else js.
 */
function defaultBackendName(): string {
  const env = typeof process !== 'undefined' ? process.env?.NORMLAB_BACKEND : undefined;
  if (env) return env;
  return WASM_BY_DEFAULT && wasmSupported() ? 'wasm' : 'js';
}

/** Switched on once the SIMD kernels cover the suite (issue 5). */
const WASM_BY_DEFAULT = true;

let active: Backend = get(defaultBackendName());

/** The backend that allocates new tensors and runs their kernels. */
export function getBackend(): Backend {
  return active;
}

/**
 * Select the backend by name: 'wasm' (WebAssembly SIMD; the default where available) or 'js' (the
 * reference, float32 and float64). Tensors made before keep their storage and still work (a kernel given
 * arrays from another backend copies them), but mixing is slow: switch before building models.
 */
export function setBackend(name: string): void {
  active = get(name);
}

/** Register another backend (e.g. a test double) under its name. */
export function registerBackend(b: Backend): void {
  factories.set(b.name, () => b);
  created.set(b.name, b);
}

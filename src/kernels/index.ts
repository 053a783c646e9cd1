import type { Backend } from './types.js';
import { jsBackend } from './js/index.js';
import { createWasmBackend, wasmSupported } from './wasm/index.js';

export * from './types.js';
export { jsBackend, wasmSupported };

/** Backends by name; 'wasm' is created on first use (it reserves its memory then). */
const factories = new Map<string, () => Backend>([['js', () => jsBackend], ['wasm', () => createWasmBackend()]]);
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

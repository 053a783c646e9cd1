/**
 * The wasm backend: tensor storage in one shared WebAssembly.Memory and SIMD kernels that run on it
 * without copies, on every core (pool.ts). Kernels or dtypes it does not cover run on the js twins (see kernels.ts).
 */
import type { Backend } from '../types.js';
import { WasmMemory } from './memory.js';
import { compiledModule, instantiate, wasmBuild, wasmSupported, type WasmBuild } from './module.js';
import { createWasmKernels } from './kernels.js';
import { KernelPool, coreCount } from './pool.js';

export { wasmSupported, wasmBuild, WasmMemory, KernelPool, coreCount, type WasmBuild };

/**
 * Create a wasm backend with its own memory (at most `maximumPages` × 64 KiB; default 4 GiB of address space),
 * `threads` threads and a build (default: wasmBuild(), the one this engine runs best); `name` to register several.
 */
export function createWasmBackend({ maximumPages = 65536, threads = 1, build = wasmBuild(), name = 'wasm' }: { maximumPages?: number; threads?: number; build?: WasmBuild; name?: string } = {}): Backend & { readonly memory: WasmMemory; readonly build: WasmBuild; readonly pool: KernelPool } {
  const memory = new WasmMemory(true, maximumPages);
  const module = compiledModule(build);
  const exports = instantiate(memory, module);
  const names = Object.keys(exports).filter((k) => typeof exports[k] === 'function');
  const pool = new KernelPool(module, memory.memory, exports, names);
  pool.setThreads(threads);
  return {
    name, memory, build, pool, device: memory, kernels: createWasmKernels(memory, exports, pool),
    get threads() { return pool.size; },
    setThreads: (n: number) => pool.setThreads(n),
  };
}

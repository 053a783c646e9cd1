/**
 * The wasm backend: tensor storage in one shared WebAssembly.Memory and SIMD kernels that run on it
 * without copies. Kernels or dtypes it does not cover run on the js twins (see kernels.ts).
 */
import type { Backend } from '../types.js';
import { WasmMemory } from './memory.js';
import { instantiate, wasmSupported } from './module.js';
import { createWasmKernels } from './kernels.js';

export { wasmSupported, WasmMemory };

/** Create a wasm backend with its own memory (at most `maximumPages` × 64 KiB; default 4 GiB of address space). */
export function createWasmBackend({ maximumPages = 65536 }: { maximumPages?: number } = {}): Backend & { readonly memory: WasmMemory } {
  const memory = new WasmMemory(true, maximumPages);
  return { name: 'wasm', memory, device: memory, kernels: createWasmKernels(memory, instantiate(memory)) };
}

/** Instantiate the kernels' WebAssembly module (embedded by scripts/build-wasm.mjs) over a WasmMemory. */
import { wasmBase64 } from './binary.generated.js';
import type { WasmMemory } from './memory.js';

/** The module's exports: kernel functions taking byte offsets, sizes and scalars. */
export type WasmExports = Record<string, (...args: number[]) => number | void>;

function bytes(): Uint8Array {
  const s = atob(wasmBase64);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

let compiled: WebAssembly.Module | null = null;

/** Synchronous (the module is small), so the backend is ready at import time in Node and browsers. */
export function instantiate(mem: WasmMemory): WasmExports {
  compiled ??= new WebAssembly.Module(bytes() as BufferSource);
  const instance = new WebAssembly.Instance(compiled, {
    env: {
      memory: mem.memory,
      abort: (_msg: number, _file: number, line: number, col: number) => { throw new Error(`normlab wasm kernel aborted at ${line}:${col}`); },
      seed: () => 0,
    },
  });
  return instance.exports as unknown as WasmExports;
}

/** Whether this engine runs WebAssembly SIMD with shared memory (what the wasm backend needs). */
export function wasmSupported(): boolean {
  try {
    if (typeof WebAssembly !== 'object' || typeof SharedArrayBuffer === 'undefined') return false;
    // A module using one v128 instruction (i32x4.splat) validates only where SIMD is supported.
    const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 8, 1, 6, 0, 65, 0, 253, 17, 11]);
    if (!WebAssembly.validate(probe)) return false;
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
    return true;
  } catch {
    return false;
  }
}

/** Instantiate the kernels' WebAssembly module (embedded by scripts/build-wasm.mjs) over a WasmMemory. */
import { wasmBase64, wasmRelaxedBase64 } from './binary.generated.js';
import type { WasmMemory } from './memory.js';

/** The module's exports: kernel functions taking byte offsets, sizes and scalars. */
export type WasmExports = Record<string, (...args: number[]) => number | void>;

/** The two builds: `relaxed` (fused multiply-add through relaxed SIMD) and `baseline` (128-bit SIMD only). */
export type WasmBuild = 'relaxed' | 'baseline';

function bytes(b64: string): Uint8Array {
  const s = atob(b64);
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

const compiled = new Map<WasmBuild, WebAssembly.Module>();

/**
 * The build this engine runs: NORMLAB_WASM_BUILD ('relaxed' or 'baseline') when set (Node), else the relaxed one
 * wherever the engine validates it (Chrome ≥ 114, Node ≥ 22, Node 20 with --experimental-wasm-relaxed-simd),
 * else the baseline one.
 */
export function wasmBuild(): WasmBuild {
  const env = typeof process !== 'undefined' ? process.env?.NORMLAB_WASM_BUILD : undefined;
  if (env === 'relaxed' || env === 'baseline') {
    if (env === 'relaxed' && !WebAssembly.validate(bytes(wasmRelaxedBase64) as BufferSource))
      throw new Error('NORMLAB_WASM_BUILD=relaxed: this engine does not run relaxed SIMD (Node 20 needs --experimental-wasm-relaxed-simd)');
    return env;
  }
  if (env) throw new Error(`NORMLAB_WASM_BUILD: expected 'relaxed' or 'baseline', got '${env}'`);
  return WebAssembly.validate(bytes(wasmRelaxedBase64) as BufferSource) ? 'relaxed' : 'baseline';
}

/** The compiled module of a build (compiled once; worker threads are handed the same one). */
export function compiledModule(build: WasmBuild = wasmBuild()): WebAssembly.Module {
  let m = compiled.get(build);
  if (!m) compiled.set(build, (m = new WebAssembly.Module(bytes(build === 'relaxed' ? wasmRelaxedBase64 : wasmBase64) as BufferSource)));
  return m;
}

/** Synchronous (the module is small), so the backend is ready at import time in Node and browsers. */
export function instantiate(mem: WasmMemory, module: WebAssembly.Module = compiledModule()): WasmExports {
  const instance = new WebAssembly.Instance(module, imports(mem.memory));
  return instance.exports as unknown as WasmExports;
}

/** What the module imports: the shared memory and an abort hook. */
export function imports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: {
      memory,
      abort: (_msg: number, _file: number, line: number, col: number) => { throw new Error(`normlab wasm kernel aborted at ${line}:${col}`); },
      seed: () => 0,
    },
  };
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

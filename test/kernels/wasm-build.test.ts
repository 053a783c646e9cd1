import { describe, expect, it } from 'vitest';
import { getBackend, setBackend, wasmSupported } from '../../src/index.js';
import { wasmRelaxedBase64 } from '../../src/kernels/wasm/binary.generated.js';
import { compiledModule, wasmBuild } from '../../src/kernels/wasm/module.js';

/**
 * The two wasm builds (scripts/build-wasm.mjs): the relaxed-SIMD one (fused multiply-add) is chosen exactly
 * where the engine validates it, unless NORMLAB_WASM_BUILD says otherwise; the suite runs the numerics tests on
 * both (the `relaxed` vitest project passes Node 20 its --experimental-wasm-relaxed-simd flag).
 */
describe.skipIf(!wasmSupported())('wasm builds', () => {
  const engineRuns = WebAssembly.validate(Uint8Array.from(atob(wasmRelaxedBase64), (c) => c.charCodeAt(0)));

  it('the relaxed build is chosen exactly where the engine validates it (or as NORMLAB_WASM_BUILD says)', () => {
    const env = process.env.NORMLAB_WASM_BUILD;
    expect(wasmBuild()).toBe(env === 'relaxed' || env === 'baseline' ? env : engineRuns ? 'relaxed' : 'baseline');
    const before = getBackend().name;
    setBackend('wasm');
    expect((getBackend() as unknown as { build: string }).build).toBe(wasmBuild());
    setBackend(before);
  });

  it('both builds export the same kernels', () => {
    const names = (m: WebAssembly.Module) => WebAssembly.Module.exports(m).map((e) => e.name).sort();
    const base = names(compiledModule('baseline'));
    expect(base).toContain('matmul_f32_part');
    if (engineRuns) expect(names(compiledModule('relaxed'))).toEqual(base);
  });
});

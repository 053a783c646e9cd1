import { defineConfig } from 'vitest/config';

/**
 * The suite runs once per backend (issue 5: wasm results must equal js results within float32
 * tolerance, and the PyTorch fixtures pass on both). Tests that do not touch numerics — file formats, the
 * CLI (a child process on the default backend), data loading, benchmarks' smoke run — run once.
 */
const backendFree = ['test/io/**', 'test/cli/**', 'test/data/**', 'test/bench/**', 'test/memory/**', 'test/browser/**', 'test/lab/**', 'test/kernels/wasm-*', 'test/onnx/*.fuzz.test.ts', 'test/onnx/proto.test.ts',
  'test/distributed/launch.test.ts', 'test/distributed/shard.test.ts', 'test/distributed/cli-workers.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    // The memory tests read the process's memory after a full garbage collection.
    execArgv: ['--expose-gc'],
    projects: [
      { extends: true, test: { name: 'wasm', include: ['test/**/*.test.ts'], env: { NORMLAB_BACKEND: 'wasm' } } },
      { extends: true, test: { name: 'js', include: ['test/**/*.test.ts'], exclude: backendFree, env: { NORMLAB_BACKEND: 'js' } } },
      // The relaxed-SIMD build (fused multiply-add), which Node 20 runs only with its flag: the numerics tests and
      // the wasm kernel tests run on it too, so both builds are tested.
      {
        extends: true,
        test: {
          name: 'relaxed', include: ['test/autograd/**/*.test.ts', 'test/nn/**/*.test.ts', 'test/optim/**/*.test.ts', 'test/kernels/**/*.test.ts'],
          execArgv: ['--expose-gc', '--experimental-wasm-relaxed-simd'],
          env: { NORMLAB_BACKEND: 'wasm', NORMLAB_WASM_BUILD: 'relaxed' },
        },
      },
      // The storage layer's worst case: every unpinned buffer evicted before every allocation, every op output
      // recordable as a recipe (src/memory/manager.ts, `chaos`). Values must not change: the numerics tests
      // (PyTorch goldens, gradient checks, modules, optimizers) run again under it.
      {
        extends: true,
        test: {
          name: 'chaos', include: ['test/autograd/**/*.test.ts', 'test/nn/**/*.test.ts', 'test/optim/**/*.test.ts', 'test/tensor/**/*.test.ts', 'test/train/**/*.test.ts'],
          env: { NORMLAB_BACKEND: 'wasm', NORMLAB_MEMORY_CHAOS: '1' },
        },
      },
    ],
  },
});

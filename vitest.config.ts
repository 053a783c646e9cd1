import { defineConfig } from 'vitest/config';

/**
 * The suite runs twice, once per backend (issue 5: wasm results must equal js results within float32
 * tolerance, and the PyTorch fixtures pass on both). Tests that do not touch numerics — file formats, the
 * CLI (a child process on the default backend), data loading, benchmarks' smoke run — run once.
 */
const backendFree = ['test/io/**', 'test/cli/**', 'test/data/**', 'test/bench/**', 'test/memory/**', 'test/browser/**', 'test/kernels/wasm-*'];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'wasm', include: ['test/**/*.test.ts'], env: { NORMLAB_BACKEND: 'wasm' } } },
      { extends: true, test: { name: 'js', include: ['test/**/*.test.ts'], exclude: backendFree, env: { NORMLAB_BACKEND: 'js' } } },
    ],
  },
});

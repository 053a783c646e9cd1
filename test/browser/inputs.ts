/** Seeded inputs for the browser workload (workload.js), as plain arrays so they cross into the page as JSON. */
import { manualSeed, nn, randn } from '../../src/index.js';

export interface WorkloadInputs {
  bn: { shape: number[]; x: number[]; upstream: number[]; gamma: number[]; beta: number[] };
  mlp: { sizes: [number, number, number]; x: number[]; labels: number[]; state: Record<string, number[]>; lr: number; steps: number };
}

const values = (shape: number[], scale = 1, shift = 0) => Array.from(randn(shape).data, (v) => v * scale + shift);

/**
 * BN2d on [8, 4, 8, 8] (channel means ≠ 0, γ ≠ 1, β ≠ 0); an MLP 32 → 64 → BN → ReLU → 10 on 64 rows, 3 SGD
 * steps — large enough that the wasm matmul takes its float32 SIMD path (K ≥ 16, M·N·K > 32768).
 */
export function makeInputs(seed = 5): WorkloadInputs {
  manualSeed(seed);
  const shape = [8, 4, 8, 8];
  const bn = { shape, x: values(shape, 2, 0.5), upstream: values(shape), gamma: values([4], 0.3, 1), beta: values([4], 0.5) };
  const sizes: [number, number, number] = [32, 64, 10];
  const init = new nn.Sequential(new nn.Linear(32, 64), new nn.BatchNorm1d(64), new nn.ReLU(), new nn.Linear(64, 10));
  const state: Record<string, number[]> = {};
  for (const [name, t] of Object.entries(init.stateDict())) state[name] = Array.from(t.data);
  const labels = Array.from({ length: 64 }, (_, i) => (i * 7) % 10);
  return { bn, mlp: { sizes, x: values([64, 32]), labels, state, lr: 0.1, steps: 3 } };
}

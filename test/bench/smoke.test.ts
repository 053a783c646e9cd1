import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import { bnApiWorkloads, bnKernelWorkloads, mlpStep } from '../../bench/workloads.js';
import { bnInferenceModel } from '../../bench/onnx-bn.js';
import { summarize } from '../../bench/timing.js';
import { table } from '../../bench/report.js';
import { getBackend, nn, noGrad, randn, setBackend, tensor, wasmSupported } from '../../src/index.js';
import { expectClose } from '../helpers/close.js';

// The benchmark's workloads, once each on tiny inputs: they must run, not be fast (no timing here).
const backends = ['js', ...(wasmSupported() ? ['wasm'] : [])];

/** Run fn with backend `name` active, then restore the previous one. */
function onBackend(name: string, fn: () => void): void {
  const prev = getBackend().name;
  setBackend(name);
  try { fn(); } finally { setBackend(prev); }
}

describe('bench smoke', () => {
  it.each(backends)('runs every BN workload (API and raw kernels) once on a tiny shape [%s]', (b) => onBackend(b, () => {
    const ws = [...bnApiWorkloads([2, 3, 4, 4]), ...bnKernelWorkloads([2, 3, 4, 4])];
    expect(ws.map((w) => w.key)).toContain('bn.train_fwd_bwd');
    for (const w of ws) w.run();
  }));

  it.each(backends)('runs one training step of the paper MLP with and without BN [%s]', (b) => onBackend(b, () => {
    for (const bn of [true, false]) mlpStep(bn, { samples: 120 })();
  }));

  it('writes an ONNX BatchNormalization model that onnxruntime runs like nn.BatchNorm2d in eval mode', async () => {
    const shape = [2, 3, 4, 4];
    const scale = Float32Array.of(1.5, 0.5, 2), bias = Float32Array.of(0.1, -0.2, 0.3);
    const mean = Float32Array.of(0.2, -1, 3), variance = Float32Array.of(0.9, 2, 0.25);
    const s = await ort.InferenceSession.create(bnInferenceModel(shape, { scale, bias, mean, variance }));
    const x = randn(shape);
    // a plain copy: onnxruntime refuses views on the wasm backend's shared memory
    const { y } = await s.run({ x: new ort.Tensor('float32', Float32Array.from(x.data), shape) });
    const bn = new nn.BatchNorm2d(3);
    bn.loadStateDict({ weight: scale, bias, running_mean: mean, running_var: variance, num_batches_tracked: [0] });
    bn.eval();
    const ref = noGrad(() => bn.forward(x));
    expectClose(tensor(y.data as Float32Array, shape), ref, { rtol: 1e-5, atol: 1e-6 }, 'onnxruntime BN vs normlab');
  });

  it('summarizes timings and formats the table with ratios against the normlab row', () => {
    const t = summarize([3, 1, 2, 10]);
    expect([t.median, t.min, t.max]).toEqual([2.5, 1, 10]);
    const out = table([{ key: 'g', title: 'G', floorMs: 1 }],
      [{ group: 'g', impl: 'normlab', timing: summarize([4], [4]), ref: true }, { group: 'g', impl: 'peer', timing: summarize([2], [8]) }]);
    expect(out).toContain('| G | normlab | 4.00 ms');
    expect(out).toMatch(/\| {2}\| peer \| 2\.00 ms \| 2\.00–2\.00 \| 8\.00 ms \| 2\.00 \| 0\.50 \| 2\.00 \|/);
  });
});

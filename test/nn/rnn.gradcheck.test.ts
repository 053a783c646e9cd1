import { describe, expect, it } from 'vitest';
import { Rng, cat, manualSeed, nn, noGrad, tensor, type Tensor } from '../../src/index.js';
import { gradcheck } from '../helpers/gradcheck.js';

/*
 * Float64 finite-difference checks through whole sequences: the output [N, T, H] and the final h (and c) of
 * small RNNs and LSTMs, plain, layer-normalized and batch-normalized (training mode, batch statistics per
 * step), with respect to the input, the initial state and every parameter.
 */

const dtype = 'float64' as const;
const N = 3, T = 3, F = 2, H = 2;

function normal(rng: Rng, shape: number[], scale = 1): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(Float64Array.from({ length: n }, () => scale * rng.normal()), shape, { dtype, requiresGrad: true });
}

/** Normalization gains around 1 (BN: around 0.6) and biases around 0, so they are not the trivial 1 and 0. */
function randomizeNorms(m: nn.Module, rng: Rng): void {
  noGrad(() => {
    for (const [name, p] of m.namedParameters()) {
      if (!/^(ln|bn)_/.test(name)) continue;
      const gain = name.endsWith('weight');
      p.data.forEach((_, i, a) => { a[i] = gain ? (name.startsWith('bn') ? 0.6 : 1) + 0.3 * rng.normal() : 0.3 * rng.normal(); });
    }
  });
}

interface GradCase { name: string; make: () => nn.RecurrentBase; state: boolean }

const cases: GradCase[] = [
  { name: 'RNN tanh', make: () => new nn.RNN(F, H, { dtype }), state: false },
  { name: 'RNN relu, 2 layers, initial h', make: () => new nn.RNN(F, H, { dtype, nonlinearity: 'relu', numLayers: 2 }), state: true },
  { name: 'LSTM', make: () => new nn.LSTM(F, H, { dtype }), state: false },
  { name: 'LSTM, 2 layers, no bias, initial h and c', make: () => new nn.LSTM(F, H, { dtype, numLayers: 2, bias: false }), state: true },
  { name: 'LN-LSTM, initial h and c', make: () => new nn.LSTM(F, H, { dtype, layerNorm: true }), state: true },
  { name: 'LN-LSTM, zero initial state', make: () => new nn.LSTM(F, H, { dtype, layerNorm: true }), state: false },
  { name: 'LN-RNN', make: () => new nn.RNN(F, H, { dtype, layerNorm: true }), state: true },
  { name: 'BN-LSTM shared (training)', make: () => new nn.LSTM(F, H, { dtype, batchNorm: 'shared' }), state: true },
  { name: 'BN-LSTM perStep, maxSteps 2 < T (training)', make: () => new nn.LSTM(F, H, { dtype, batchNorm: 'perStep', maxSteps: 2 }), state: true },
  { name: 'BN-RNN perStep (training)', make: () => new nn.RNN(F, H, { dtype, batchNorm: 'perStep', maxSteps: T }), state: true },
];

describe('gradcheck of recurrent nets through the whole sequence (float64)', () => {
  for (const c of cases) {
    it(c.name, () => {
      manualSeed(7);
      const rng = new Rng(11);
      const m = c.make();
      randomizeNorms(m, rng);
      expect(m.training).toBe(true);
      const L = m.numLayers, lstm = m instanceof nn.LSTM;
      const x = normal(rng, [N, T, F]);
      const h0 = c.state ? normal(rng, [L, N, H], 0.5) : null;
      const c0 = c.state && lstm ? normal(rng, [L, N, H], 0.5) : null;
      const params = m.parameters();
      const inputs = [x, ...(h0 ? [h0] : []), ...(c0 ? [c0] : []), ...params];
      // One output holding the sequence and the final state, so all of them are checked.
      const fn = () => {
        const { output, h, c: cn } = m.forwardWithState(x, { h: h0 ?? undefined, c: c0 ?? undefined });
        return cat([output.flatten(), h.flatten(), ...(cn ? [cn.flatten()] : [])]);
      };
      const { checked } = gradcheck(fn, inputs);
      expect(checked).toBe(inputs.reduce((s, t) => s + t.size, 0));
    });
  }
});


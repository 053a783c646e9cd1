import { describe, expect, it } from 'vitest';
import { nn, noGrad, tensor, type Tensor } from '../../src/index.js';
import { maxErrors } from '../helpers/close.js';
import { loadFixture } from '../helpers/golden.js';

/*
 * nn.RNN and nn.LSTM against PyTorch (scripts/gen_rnn_fixtures.py → test/fixtures/rnn_cases.json): output
 * sequence, final h and c, and the gradients of Σ out·R_out + Σ h_n·R_h + Σ c_n·R_c with respect to x, the
 * initial state and every parameter. Plain cells come from torch.nn.RNN / torch.nn.LSTM (parameters loaded
 * by PyTorch's names); the layer- and batch-normalized cells from the script's reference built of
 * F.layer_norm / F.batch_norm, plus the BN running statistics after one training pass and an evaluation pass.
 */

type DTypeName = 'float32' | 'float64';
interface Result {
  out: number[]; h: number[]; c?: number[];
  grads: Record<string, number[]>;
  running?: Record<string, number[] | number>;
  evalOut?: number[];
}
interface Case {
  name: string; kind: 'RNN' | 'LSTM'; options: nn.RNNOptions; N: number; T: number; F: number; H: number;
  x: number[]; h0: number[] | null; c0: number[] | null;
  params: Record<string, { shape: number[]; values: number[] }>;
  R: { out: number[]; h: number[]; c: number[] };
  f64: Result; f32: Result; torchKeys?: string[];
}

const fixture = loadFixture<{ torch: string; cases: Case[] }>('rnn_cases.json');

/** Fixture inputs are float32 values in their shortest decimal form: round them back to float32 exactly. */
const f32 = (v: number[]) => Array.from(Float32Array.from(v));

function build(c: Case, dtype: DTypeName): nn.RecurrentBase {
  const m = c.kind === 'LSTM' ? new nn.LSTM(c.F, c.H, { ...c.options, dtype }) : new nn.RNN(c.F, c.H, { ...c.options, dtype });
  const record: Record<string, nn.StateValue> = { ...m.stateDict() };
  for (const [k, p] of Object.entries(c.params)) record[k] = tensor(f32(p.values), p.shape, { dtype });
  m.loadStateDict(record);
  return m;
}

function run(c: Case, dtype: DTypeName): Result {
  const m = build(c, dtype);
  const L = c.options.numLayers ?? 1, stateShape = [L, c.N, c.H];
  const x = tensor(f32(c.x), [c.N, c.T, c.F], { dtype, requiresGrad: true });
  const h0 = c.h0 ? tensor(f32(c.h0), stateShape, { dtype, requiresGrad: true }) : undefined;
  const c0 = c.c0 ? tensor(f32(c.c0), stateShape, { dtype, requiresGrad: true }) : undefined;
  const y = m instanceof nn.LSTM ? m.forward(x, h0, c0) : (m as nn.RNN).forward(x, h0);
  const { h, c: cn } = m.finalState!;
  expect(y.shape, `${c.name}: output shape`).toEqual([c.N, c.T, c.H]);
  expect(h.shape, `${c.name}: h shape`).toEqual(stateShape);
  const R = (v: number[], shape: number[]) => tensor(f32(v), shape, { dtype });
  let loss = y.mul(R(c.R.out, [c.N, c.T, c.H])).sum().add(h.mul(R(c.R.h, stateShape)).sum());
  if (cn) loss = loss.add(cn.mul(R(c.R.c, stateShape)).sum());
  loss.backward();
  const grads: Record<string, number[]> = { x: [...x.grad!.data] };
  if (h0) grads.h0 = [...h0.grad!.data];
  if (c0) grads.c0 = [...c0.grad!.data];
  for (const [n, p] of m.namedParameters()) grads[n] = p.grad ? [...p.grad.data] : new Array<number>(p.size).fill(0);
  const r: Result = { out: [...y.data], h: [...h.data], grads };
  if (cn) r.c = [...cn.data];
  const buffers = [...m.namedBuffers()];
  if (buffers.length) {
    r.running = Object.fromEntries(buffers.map(([n, b]) => [n, n.endsWith('num_batches_tracked') ? b.item() : [...b.data]]));
    m.eval();
    r.evalOut = [...noGrad(() => (m instanceof nn.LSTM ? m.forward(x, h0, c0) : (m as nn.RNN).forward(x, h0))).data];
  }
  return r;
}

/** Every array quantity of a result, flattened to [label, values]. */
function quantities(r: Result): [string, number[] | number][] {
  const out: [string, number[] | number][] = [['out', r.out], ['h', r.h]];
  if (r.c) out.push(['c', r.c]);
  for (const [k, v] of Object.entries(r.grads)) out.push([`d ${k}`, v]);
  for (const [k, v] of Object.entries(r.running ?? {})) out.push([k, v]);
  if (r.evalOut) out.push(['evalOut', r.evalOut]);
  return out;
}

/** Largest |value| of a quantity: the scale its errors are measured against. */
const scaleOf = (v: number[] | number) => (typeof v === 'number' ? 1 : Math.max(...v.map(Math.abs), 1e-30));
const refOf = (r: Result, q: string) => quantities(r).find(([k]) => k === q)![1];

/**
 * float64 bound: every element within 5e-13 × the largest |value| of its quantity (≈ 2250 float64 ulps at that
 * scale). Plain cells agree to a few ulps; the batch-normalized ones with N = 3 amplify rounding (small batch
 * variances): worst measured ≈ 90 ulps of the quantity's scale (≈ 750 with other random draws; 2-layer per-step BN-LSTM).
 */
const F64_SCALE_TOL = 5e-13;

function compare64(label: string, ours: Result, ref: Result): void {
  const mine = new Map(quantities(ours));
  expect([...mine.keys()].sort(), `${label}: quantities`).toEqual(quantities(ref).map(([k]) => k).sort());
  for (const [q, want] of quantities(ref)) {
    const got = mine.get(q)!;
    if (typeof want === 'number') { expect(got, `${label} ${q}`).toBe(want); continue; }
    const a = got as number[], bound = F64_SCALE_TOL * scaleOf(want);
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(a[i] - want[i]);
      if (!(d <= bound)) expect.fail(`${label} ${q}[${i}]: got ${a[i]}, PyTorch float64 ${want[i]} (|diff| ${d} > ${bound}; max abs error ${maxErrors(a, want).abs})`);
    }
  }
}

/**
 * float32, per quantity, errors against PyTorch float64 in float32 ulps of the quantity's scale
 * (2⁻²⁴·max|ref|), ours next to PyTorch's own float32 error. Integer counters must be equal.
 */
function errors32(c: Case, ours: Result): { q: string; ours: number; torch: number }[] {
  const mine = new Map(quantities(ours));
  expect([...mine.keys()].sort(), `${c.name}: quantities`).toEqual(quantities(c.f64).map(([k]) => k).sort());
  return quantities(c.f64).flatMap(([q, ref]) => {
    const got = mine.get(q)!, t32 = refOf(c.f32, q);
    if (typeof ref === 'number') { expect(got, `${c.name} float32 ${q}`).toBe(ref); expect(t32).toBe(ref); return []; }
    const ulp = 2 ** -24 * scaleOf(ref);
    return [{ q, ours: maxErrors(got as number[], ref).abs / ulp, torch: maxErrors(Float32Array.from(t32 as number[]), ref).abs / ulp }];
  });
}

describe(`nn.RNN / nn.LSTM against PyTorch ${fixture.torch}`, () => {
  it('has the cases', () => expect(fixture.cases.length).toBeGreaterThanOrEqual(16));

  for (const c of fixture.cases) {
    it(`${c.name}: float64`, () => compare64(`${c.name} float64`, run(c, 'float64'), c.f64));

    // Worst case: our worst error (in ulps of the quantity's scale) at most twice PyTorch float32's worst in the
    // same case (or 2 ulps). Measured: ours ≤ 58 ulps, PyTorch's up to 129; the largest ratio 1.1.
    it(`${c.name}: float32 within 2× PyTorch float32's worst error`, () => {
      const e = errors32(c, run(c, 'float32'));
      const ours = Math.max(...e.map((v) => v.ours)), torch = Math.max(...e.map((v) => v.torch));
      const worst = e.find((v) => v.ours === ours)!;
      if (!(ours <= 2 * Math.max(torch, 1))) expect.fail(`${c.name}: float32 error ${ours} ulps (in ${worst.q}) > 2 × PyTorch float32's ${torch}`);
    });

    if (c.torchKeys) it(`${c.name}: state-dict names are PyTorch's`, () => {
      expect(Object.keys(build(c, 'float64').stateDict())).toEqual(c.torchKeys);
    });
  }

  // Typical case: over every quantity of every case, the geometric mean of (our error)/(PyTorch float32's
  // error) is ≤ 1 (either side floored at 1/8 ulp). Measured ≈ 0.6.
  it('float32: typically at least as close to PyTorch float64 as PyTorch float32 is', () => {
    let logSum = 0, n = 0;
    for (const c of fixture.cases)
      for (const v of errors32(c, run(c, 'float32'))) { logSum += Math.log(Math.max(v.ours, 1 / 8) / Math.max(v.torch, 1 / 8)); n++; }
    const gm = Math.exp(logSum / n);
    if (process.env.NORMLAB_FIXTURE_REPORT) console.log(`rnn float32: geometric-mean error ratio ${gm.toFixed(3)} over ${n} quantities`);
    expect(gm).toBeLessThanOrEqual(1);
  });
});

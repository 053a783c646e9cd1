import type { DType } from '../kernels/types.js';
import { publishIn, trusted } from '../memory/index.js';
import { Tensor, formatShape, stack, zeros } from '../tensor/index.js';
import { BatchNorm1d, type BatchNormOptions } from './batchnorm.js';
import { uniform } from './init.js';
import { linear } from './linear.js';
import { checkBoolean, checkDtype, checkOptions, oneOf, positiveInteger } from './check.js';
import { Module } from './module.js';
import { LayerNorm } from './normalization.js';

/**
 * Batch normalization inside a recurrent cell (Cooijmans et al. 2016, https://arxiv.org/abs/1603.09025). As in
 * the paper, the input term x_t·W_ihᵀ and the recurrent term h_{t−1}·W_hhᵀ are normalized separately (each
 * by its own BatchNorm1d over the gate pre-activations), and an LSTM's cell state before the output tanh too:
 * - `'none'`: no batch normalization (default).
 * - `'shared'`: one BatchNorm1d per normalized term for all time steps. In training each step is normalized
 *   with its own mini-batch statistics, but γ, β and the running statistics are shared: the running
 *   average mixes every step's statistics (it moves T times per forward), and evaluation uses that mix.
 * - `'perStep'`: one BatchNorm1d per term and per time step t < `maxSteps` (own γ, β and running
 *   statistics); steps t ≥ maxSteps reuse the last one, as the paper does for longer test sequences.
 */
export type RecurrentBatchNorm = 'none' | 'shared' | 'perStep';

export interface RecurrentOptions {
  /** Learn the biases bias_ih and bias_hh (default true). */
  bias?: boolean;
  /** Stacked layers; layer l > 0 reads the hidden sequence of layer l − 1 (default 1). */
  numLayers?: number;
  /** Layer normalization inside the cell (Ba et al. 2016; see the class doc). Default false. */
  layerNorm?: boolean;
  /** Batch normalization inside the cell, statistics shared over time or per step (see RecurrentBatchNorm). Default 'none'. */
  batchNorm?: RecurrentBatchNorm;
  /** With batchNorm 'perStep': the number of per-step BatchNorm1d modules (required then, refused otherwise). */
  maxSteps?: number;
  /** Initial γ of every BatchNorm1d in the cell (default 0.1, which Cooijmans et al. found needed for gradient flow). */
  batchNormGamma?: number;
  /** Options of those BatchNorm1d modules (eps, momentum, runningStats, …; dtype comes from `dtype`). */
  batchNormOptions?: Omit<BatchNormOptions, 'dtype'>;
  dtype?: DType;
}

export interface RNNOptions extends RecurrentOptions {
  /** The cell's nonlinearity (default 'tanh'). */
  nonlinearity?: 'tanh' | 'relu';
}

export type LSTMOptions = RecurrentOptions;

/** A recurrent net's state: h [numLayers, N, H] and, for LSTM, c [numLayers, N, H] (null for RNN). */
export interface RecurrentState {
  readonly h: Tensor;
  readonly c: Tensor | null;
}

/** What forwardWithState returns: the output sequence [N, T, H] and the final state. */
export interface RecurrentResult extends RecurrentState {
  readonly output: Tensor;
}

/** One BatchNorm1d per time step, children "0" … "maxSteps − 1"; step t ≥ maxSteps uses the last. */
class PerStepBatchNorm extends Module {
  readonly #steps: BatchNorm1d[];

  constructor(count: number, make: () => BatchNorm1d) {
    super();
    this.#steps = Array.from({ length: count }, (_, t) => { const bn = make(); this.registerModule(String(t), bn); return bn; });
  }

  /** The module of step t. */
  at(t: number): BatchNorm1d {
    return this.#steps[Math.min(t, this.#steps.length - 1)];
  }

  forward(): Tensor {
    throw new Error('PerStepBatchNorm: call at(t).forward(x) with the time step');
  }
}

/** The normalizations of one layer's cell: identity when absent. */
interface CellNorms {
  /** Of the input term x_t·W_ihᵀ of step t, [N, G]. */
  ih: ((x: Tensor, t: number) => Tensor) | null;
  /** Of the recurrent term h·W_hhᵀ of step t, [N, G]. */
  hh: ((x: Tensor, t: number) => Tensor) | null;
  /** Of the LSTM cell state before the output tanh, [N, H]. */
  c: ((x: Tensor, t: number) => Tensor) | null;
}

const BATCH_NORM: readonly RecurrentBatchNorm[] = ['none', 'shared', 'perStep'];
const RECURRENT_OPTIONS = ['bias', 'numLayers', 'layerNorm', 'batchNorm', 'maxSteps', 'batchNormGamma', 'batchNormOptions', 'dtype'];
const RECURRENT_HINTS: Record<string, string> = {
  batch_first: 'inputs are always batch-first [N, T, F]', batchFirst: 'inputs are always batch-first [N, T, F]',
  bidirectional: 'not supported', dropout: 'not supported; put an nn.Dropout between single-layer modules',
  nonlinearity: "an option of nn.RNN only",
};
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/**
 * What nn.RNN and nn.LSTM share: PyTorch's parameter names and layouts, stacking, batch-first input,
 * states, and the optional layer or batch normalization inside the cell.
 */
export abstract class RecurrentBase extends Module {
  declare weightIhL0: Tensor;
  declare weightHhL0: Tensor;
  declare biasIhL0: Tensor | null;
  declare biasHhL0: Tensor | null;
  readonly numLayers: number;
  readonly bias: boolean;
  readonly layerNorm: boolean;
  readonly batchNorm: RecurrentBatchNorm;
  readonly maxSteps: number | null;
  /** The final state of the last forward (part of its graph), or null before the first. */
  finalState: RecurrentState | null = null;
  readonly #norms: CellNorms[] = [];

  /** `extraOptions`: names a subclass handles itself (RNN's nonlinearity); every other unknown name is refused. */
  protected constructor(private readonly gates: 1 | 4, readonly inputSize: number, readonly hiddenSize: number, options: RecurrentOptions,
    extraOptions: readonly string[] = []) {
    super();
    const name = new.target.name;
    checkOptions(name, options, [...RECURRENT_OPTIONS, ...extraOptions], extraOptions.length ? {} : RECURRENT_HINTS);
    const { bias = true, numLayers = 1, layerNorm = false, batchNorm = 'none', maxSteps, batchNormGamma = 0.1, batchNormOptions = {}, dtype = 'float32' } = options;
    for (const [k, v] of [['inputSize', inputSize], ['hiddenSize', hiddenSize], ['numLayers', numLayers]] as const) positiveInteger(name, k, v);
    oneOf(name, 'batchNorm', batchNorm, BATCH_NORM);
    checkBoolean(name, 'bias', bias);
    checkBoolean(name, 'layerNorm', layerNorm);
    if (layerNorm && batchNorm !== 'none') throw new Error(`${name}: layerNorm and batchNorm '${batchNorm}' cannot be combined; choose one`);
    if (batchNorm === 'perStep' && (!Number.isInteger(maxSteps) || maxSteps! <= 0))
      throw new Error(`${name}: batchNorm 'perStep' needs maxSteps (a positive integer: how many steps get their own BatchNorm1d), got ${maxSteps}`);
    if (batchNorm !== 'perStep' && maxSteps !== undefined) throw new Error(`${name}: maxSteps applies to batchNorm 'perStep' only (batchNorm is '${batchNorm}')`);
    if (!Number.isFinite(batchNormGamma)) throw new Error(`${name}: batchNormGamma must be a finite number, got ${batchNormGamma}`);
    checkDtype(name, dtype);
    this.numLayers = numLayers;
    this.bias = bias;
    this.layerNorm = layerNorm;
    this.batchNorm = batchNorm;
    this.maxSteps = maxSteps ?? null;
    const H = hiddenSize, G = gates * H, k = 1 / Math.sqrt(H);
    for (let l = 0; l < numLayers; l++) {
      const inF = l === 0 ? inputSize : H;
      const reg = (n: string, shape: number[] | null) => this.registerParameter(n, shape && uniform(zeros(shape, { dtype }), -k, k), camel(n));
      reg(`weight_ih_l${l}`, [G, inF]);
      reg(`weight_hh_l${l}`, [G, H]);
      reg(`bias_ih_l${l}`, bias ? [G] : null);
      reg(`bias_hh_l${l}`, bias ? [G] : null);
    }
    const lstm = gates === 4;
    for (let l = 0; l < numLayers; l++) {
      const norms: CellNorms = { ih: null, hh: null, c: null };
      if (layerNorm) {
        const ln = (kind: string, size: number) => { const m = new LayerNorm(size, { dtype }); this.registerModule(`ln_${kind}_l${l}`, m); return (x: Tensor) => m.forward(x); };
        norms.ih = ln('ih', G);
        norms.hh = ln('hh', G);
        if (lstm) norms.c = ln('c', H);
      } else if (batchNorm !== 'none') {
        const makeBN = (size: number) => {
          const bn = new BatchNorm1d(size, { ...batchNormOptions, dtype });
          bn.weight?.storage.write().fill(batchNormGamma);
          return bn;
        };
        const bn = (kind: string, size: number) => {
          if (batchNorm === 'shared') { const m = makeBN(size); this.registerModule(`bn_${kind}_l${l}`, m); return (x: Tensor) => m.forward(x); }
          const m = new PerStepBatchNorm(maxSteps!, () => makeBN(size));
          this.registerModule(`bn_${kind}_l${l}`, m);
          return (x: Tensor, t: number) => m.at(t).forward(x);
        };
        norms.ih = bn('ih', G);
        norms.hh = bn('hh', G);
        if (lstm) norms.c = bn('c', H);
      }
      this.#norms.push(norms);
    }
  }

  /** Parameter `name` (PyTorch name), read through its property so that to(dtype) and loading are seen. */
  private param(name: string): Tensor | null {
    return (this as unknown as Record<string, Tensor | null>)[camel(name)];
  }

  private checkState(what: string, s: Tensor | undefined, label: string, N: number, x: Tensor): void {
    if (s === undefined) return;
    const want = [this.numLayers, N, this.hiddenSize];
    if (!(s instanceof Tensor)) throw new Error(`${what}: the initial ${label} must be a Tensor ${formatShape(want)}`);
    if (s.ndim !== 3 || s.shape.some((d, i) => d !== want[i]))
      throw new Error(`${what}: expected the initial ${label} of shape ${formatShape(want)} [numLayers, N, hiddenSize] for input ${formatShape(x.shape)}, got ${formatShape(s.shape)}`);
    if (s.dtype !== x.dtype) throw new Error(`${what}: the initial ${label} is ${s.dtype} but the input is ${x.dtype}`);
  }

  /**
   * Run the sequence x [N, T, inputSize] from the initial state (zeros where not given) and return the
   * output sequence [N, T, hiddenSize] (the last layer's h at every step) and the final state h (and c)
   * [numLayers, N, hiddenSize], all differentiable.
   */
  forwardWithState(x: Tensor, state: { h?: Tensor; c?: Tensor } = {}): RecurrentResult {
    return trusted(() => this.#forwardWithState(x, state));
  }

  #forwardWithState(x: Tensor, state: { h?: Tensor; c?: Tensor }): RecurrentResult {
    const what = `${this.constructor.name}(${this.inputSize}, ${this.hiddenSize})`;
    const lstm = this.gates === 4, H = this.hiddenSize;
    if (!(x instanceof Tensor)) throw new Error(`${what}: expected a Tensor input [N, T, ${this.inputSize}]`);
    if (x.ndim !== 3 || x.shape[2] !== this.inputSize)
      throw new Error(`${what}: expected input [N, T, ${this.inputSize}] (batch first, ${this.inputSize} features), got shape ${formatShape(x.shape)}`);
    const [N, T] = x.shape;
    if (N === 0 || T === 0) throw new Error(`${what}: the input ${formatShape(x.shape)} holds no sequence (N and T must be ≥ 1)`);
    const w0 = this.param('weight_ih_l0')!;
    if (x.dtype !== w0.dtype) throw new Error(`${what}: input is ${x.dtype} but the module is ${w0.dtype}; call module.to('${x.dtype}') or convert the input`);
    if (!lstm && state.c !== undefined) throw new Error(`${what}: an RNN has no cell state; pass only h`);
    this.checkState(what, state.h, 'hidden state h', N, x);
    this.checkState(what, state.c, 'cell state c', N, x);
    if (this.batchNorm !== 'none' && this.training && N < 2)
      throw new Error(`${what}: batchNorm '${this.batchNorm}' needs more than 1 sequence per batch in training, got input shape ${formatShape(x.shape)}`);
    const normed = this.layerNorm || this.batchNorm !== 'none';
    // Everything runs step by step on [N, ·] tensors: slicing one step out of a [T, …] tensor would cost a
    // backward of that whole tensor's size per step (quadratic in T).
    let outs: Tensor[] = [];
    const hs: Tensor[] = [], cs: Tensor[] = [];
    for (let l = 0; l < this.numLayers; l++) {
      const norm = this.#norms[l];
      const wih = this.param(`weight_ih_l${l}`)!, whh = this.param(`weight_hh_l${l}`)!;
      const bih = this.param(`bias_ih_l${l}`), bhh = this.param(`bias_hh_l${l}`);
      // Unnormalized: gates = (x·W_ihᵀ + b_ih) + (h·W_hhᵀ + b_hh) as PyTorch; normalized: N(x·W_ihᵀ) + N(h·W_hhᵀ) + (b_ih + b_hh).
      const b = normed && bih && bhh ? bih.add(bhh) : null;
      let h = state.h ? state.h.select(0, l) : zeros([N, H], { dtype: x.dtype });
      let c = lstm ? (state.c ? state.c.select(0, l) : zeros([N, H], { dtype: x.dtype })) : null;
      const below = outs;
      outs = [];
      for (let t = 0; t < T; t++) {
        let pre = linear(l === 0 ? x.select(1, t) : below[t], wih, normed ? null : bih);
        if (norm.ih) pre = norm.ih(pre, t);
        let rec = linear(h, whh, normed ? null : bhh);
        if (norm.hh) rec = norm.hh(rec, t);
        pre = pre.add(rec);
        if (b) pre = pre.add(b);
        if (lstm) {
          const i = pre.narrow(1, 0, H).sigmoid(), f = pre.narrow(1, H, H).sigmoid();
          const g = pre.narrow(1, 2 * H, H).tanh(), o = pre.narrow(1, 3 * H, H).sigmoid();
          c = f.mul(c!).add(i.mul(g));
          h = o.mul((norm.c ? norm.c(c, t) : c).tanh());
        } else h = this.cellActivation(pre);
        outs.push(h);
      }
      hs.push(h);
      if (c) cs.push(c);
    }
    return { output: stack(outs, 1), h: stack(hs, 0), c: lstm ? stack(cs, 0) : null };
  }

  /** The vanilla RNN's nonlinearity (unused by LSTM). */
  protected cellActivation(pre: Tensor): Tensor {
    return pre.tanh();
  }

  protected run(x: Tensor, h0?: Tensor, c0?: Tensor): Tensor {
    const { output, h, c } = this.forwardWithState(x, { h: h0, c: c0 });
    this.finalState = { h, c };
    publishIn(this.finalState); // user code reads it from the module
    return output;
  }

  override extraRepr(): string {
    const extra = [this.bias ? '' : 'bias=false', this.numLayers > 1 ? `numLayers=${this.numLayers}` : '', this.layerNorm ? 'layerNorm=true' : '',
      this.batchNorm !== 'none' ? `batchNorm='${this.batchNorm}'${this.maxSteps ? `, maxSteps=${this.maxSteps}` : ''}` : '',
      this instanceof RNN && this.nonlinearity === 'relu' ? "nonlinearity='relu'" : ''].filter(Boolean);
    return [this.inputSize, this.hiddenSize, ...extra].join(', ');
  }
}

/**
 * A multi-layer Elman RNN over batch-first sequences (PyTorch's nn.RNN with batch_first=True):
 *
 *     h_t = act(x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh),   act = tanh (default) or relu.
 *
 * Layer l > 0 takes layer l − 1's h_t as its x_t. Parameters per layer l, named and laid out as PyTorch's
 * (so its state dicts load): `weight_ih_l{l}` [H, F] (F = inputSize for l = 0, else H), `weight_hh_l{l}`
 * [H, H], `bias_ih_l{l}`, `bias_hh_l{l}` [H]; all drawn from U(−1/√H, 1/√H) as PyTorch.
 *
 * Normalized cells (options `layerNorm`, `batchNorm`; see nn.LSTM for the details) normalize the input and
 * recurrent terms separately, h_t = act(Norm_ih(x_t·W_ihᵀ) + Norm_hh(h_{t−1}·W_hhᵀ) + b_ih + b_hh).
 *
 * Defaults: nonlinearity 'tanh', bias true, numLayers 1, no normalization, float32.
 *
 * Shape: input [N, T, inputSize]; optional initial h0 [numLayers, N, H] (zeros when omitted) → output
 * [N, T, H]; the final h [numLayers, N, H] is in `finalState` after forward (or use forwardWithState).
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const rnn = new nn.RNN(28, 64, { numLayers: 2 });
 * const y = rnn.forward(randn([60, 28, 28]));   // 60 sequences of 28 steps with 28 features
 * y.shape;                                        // => [60, 28, 64]
 * rnn.finalState!.h.shape;                        // => [2, 60, 64]
 * Object.keys(rnn.stateDict()).slice(0, 4);
 * // => ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
 * ```
 */
export class RNN extends RecurrentBase {
  readonly nonlinearity: 'tanh' | 'relu';

  constructor(inputSize: number, hiddenSize: number, options: RNNOptions = {}) {
    super(1, inputSize, hiddenSize, options, ['nonlinearity']);
    const { nonlinearity = 'tanh' } = options;
    if (nonlinearity !== 'tanh' && nonlinearity !== 'relu') throw new Error(`RNN: nonlinearity must be 'tanh' or 'relu', got '${nonlinearity as string}'`);
    this.nonlinearity = nonlinearity;
  }

  protected override cellActivation(pre: Tensor): Tensor {
    return this.nonlinearity === 'relu' ? pre.relu() : pre.tanh();
  }

  /** Output sequence [N, T, H] of x [N, T, inputSize] from h0 [numLayers, N, H] (zeros when omitted). */
  forward(x: Tensor, h0?: Tensor): Tensor {
    if (arguments.length > 2) throw new Error(`RNN(${this.inputSize}, ${this.hiddenSize}): an RNN has no cell state; pass only (x, h0)`);
    return this.run(x, h0);
  }
}

/**
 * A multi-layer long short-term memory (Hochreiter & Schmidhuber 1997) over batch-first sequences
 * (PyTorch's nn.LSTM with batch_first=True). Per step, with a = x_t·W_ihᵀ + b_ih + h_{t−1}·W_hhᵀ + b_hh
 * split into four H-wide gate blocks in PyTorch's order (i, f, g, o):
 *
 *     i = σ(a_i), f = σ(a_f), g = tanh(a_g), o = σ(a_o);   c_t = f⊙c_{t−1} + i⊙g;   h_t = o⊙tanh(c_t).
 *
 * Layer l > 0 takes layer l − 1's h_t as its x_t. Parameters per layer, named and laid out as PyTorch's
 * (so its state dicts load with loadStateDict): `weight_ih_l{l}` [4H, F] (F = inputSize for l = 0, else H),
 * `weight_hh_l{l}` [4H, H], `bias_ih_l{l}`, `bias_hh_l{l}` [4H]; all drawn from U(−1/√H, 1/√H) as PyTorch.
 *
 * Normalized cells replace a by Norm_ih(x_t·W_ihᵀ) + Norm_hh(h_{t−1}·W_hhᵀ) + b_ih + b_hh (the two terms
 * normalized separately, each over its 4H gate pre-activations, the biases added after) and h_t by
 * o⊙tanh(Norm_c(c_t)); the recurrence c_t itself is never normalized. The terms are normalized at every
 * step, t = 0 included: with the default zero initial state the recurrent term is 0 there, and its
 * normalization gives its β (BatchNorm: a batch variance of 0; in shared mode those zero statistics enter the
 * shared running average).
 * - `layerNorm: true` (Ba et al. 2016, https://arxiv.org/abs/1607.06450): statistics per sample over the
 *   features, the same in training and evaluation. Parameters `ln_ih_l{l}.weight|bias` [4H],
 *   `ln_hh_l{l}.weight|bias` [4H], `ln_c_l{l}.weight|bias` [H]; gains init 1, biases 0; ε 1e-5.
 * - `batchNorm: 'shared' | 'perStep'` (Cooijmans et al. 2016, https://arxiv.org/abs/1603.09025):
 *   nn.BatchNorm1d modules `bn_ih_l{l}`, `bn_hh_l{l}` (4H features) and `bn_c_l{l}` (H), one for all steps
 *   ('shared') or one per step, `bn_ih_l{l}.{t}` for t < maxSteps ('perStep'; later steps reuse the last).
 *   Each module runs once per step it serves, so train/eval, running statistics (its momentum is the weight
 *   of the old value: default 0.9, PyTorch's 0.1), freezeStats and state dicts behave as for any
 *   BatchNorm1d. Their γ start at `batchNormGamma` = 0.1 (the paper's advice; γ = 1 saturates the gates and
 *   stops gradients through time), β at 0 (β_ih, β_hh duplicate the biases; harmless).
 *   Training needs N ≥ 2 sequences per batch.
 *
 * Defaults: bias true, numLayers 1, layerNorm false, batchNorm 'none', float32.
 *
 * Shape: input [N, T, inputSize]; optional h0, c0 [numLayers, N, H] (zeros when omitted) → output
 * [N, T, H]; the final h and c [numLayers, N, H] are in `finalState` after forward (or use forwardWithState).
 *
 * Example:
 * ```ts
 * manualSeed(0);
 * const lstm = new nn.LSTM(28, 64, { layerNorm: true });
 * const head = new nn.Linear(64, 10);
 * const x = randn([60, 28, 28]);                      // MNIST rows as 28 steps of 28 pixels
 * const logits = head.forward(lstm.forward(x).select(1, -1)); // classify from the last step
 * nn.functional.crossEntropy(logits, Array.from({ length: 60 }, (_, i) => i % 10)).backward();
 * lstm.weightIhL0.shape;                              // => [256, 28]
 * lstm.finalState!.c!.shape;                          // => [1, 60, 64]
 * const bn = new nn.LSTM(28, 64, { batchNorm: 'perStep', maxSteps: 28 });
 * Object.keys(bn.stateDict()).includes('bn_hh_l0.27.running_var'); // => true
 * ```
 */
export class LSTM extends RecurrentBase {
  constructor(inputSize: number, hiddenSize: number, options: LSTMOptions = {}) {
    super(4, inputSize, hiddenSize, options);
  }

  /** Output sequence [N, T, H] of x [N, T, inputSize] from h0, c0 [numLayers, N, H] (zeros when omitted). */
  forward(x: Tensor, h0?: Tensor, c0?: Tensor): Tensor {
    return this.run(x, h0, c0);
  }
}

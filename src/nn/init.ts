import { globalRng, type Rng } from '../random.js';
import { formatShape, type Tensor } from '../tensor/index.js';

/**
 * Weight initializers (in place, like torch.nn.init's trailing-underscore functions), drawing from the
 * global generator unless `rng` is given. Fans follow PyTorch: for a weight [out, in, *kernel],
 * fanIn = in·∏kernel and fanOut = out·∏kernel.
 */

export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  if (t.ndim < 2) throw new Error(`nn.init: fan in and fan out need a tensor of rank ≥ 2, got shape ${formatShape(t.shape)}`);
  const rf = t.shape.slice(2).reduce((p, d) => p * d, 1);
  return { fanIn: t.shape[1] * rf, fanOut: t.shape[0] * rf };
}

function fill(t: Tensor, f: () => number): Tensor {
  const d = t.storage.write();
  for (let i = 0; i < d.length; i++) d[i] = f();
  return t;
}

/** Fill with samples from N(mean, std²). Example: `nn.init.normal(layer.weight, 0.01)`. */
export function normal(t: Tensor, std = 1, mean = 0, rng: Rng = globalRng): Tensor {
  if (!(std >= 0)) throw new Error(`nn.init.normal: std must be ≥ 0, got ${std}`);
  return fill(t, () => mean + std * rng.normal());
}

/** Fill with samples from U(a, b). */
export function uniform(t: Tensor, a = 0, b = 1, rng: Rng = globalRng): Tensor {
  if (!(b >= a)) throw new Error(`nn.init.uniform: need a ≤ b, got a=${a}, b=${b}`);
  return fill(t, () => a + (b - a) * rng.uniform());
}

/** Fill with a constant. */
export function constant(t: Tensor, value: number): Tensor {
  return fill(t, () => value);
}

export function zeros(t: Tensor): Tensor { return constant(t, 0); }
export function ones(t: Tensor): Tensor { return constant(t, 1); }

/** Xavier/Glorot uniform: U(−a, a), a = gain·√(6/(fanIn + fanOut)) (Glorot & Bengio 2010). */
export function xavierUniform(t: Tensor, gain = 1, rng: Rng = globalRng): Tensor {
  const { fanIn, fanOut } = fans(t);
  const a = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform(t, -a, a, rng);
}

/** Xavier/Glorot normal: N(0, σ²), σ = gain·√(2/(fanIn + fanOut)). */
export function xavierNormal(t: Tensor, gain = 1, rng: Rng = globalRng): Tensor {
  const { fanIn, fanOut } = fans(t);
  return normal(t, gain * Math.sqrt(2 / (fanIn + fanOut)), 0, rng);
}

export type Nonlinearity = 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu';

/** The recommended gain of a nonlinearity (PyTorch's calculate_gain). */
export function calculateGain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case 'linear': case 'sigmoid': return 1;
    case 'tanh': return 5 / 3;
    case 'relu': return Math.SQRT2;
    case 'leaky_relu': return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
    default: throw new Error(`nn.init.calculateGain: unknown nonlinearity '${nonlinearity as string}'`);
  }
}

export interface KaimingOptions {
  /** Negative slope of the leaky ReLU that follows (default 0). */
  a?: number;
  /** Preserve the variance of the forward pass ('fanIn', default) or of the backward pass ('fanOut'). */
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: Nonlinearity;
  rng?: Rng;
}

function kaimingStd(t: Tensor, { a = 0, mode = 'fanIn', nonlinearity = 'leaky_relu' }: KaimingOptions): number {
  if (mode !== 'fanIn' && mode !== 'fanOut') throw new Error(`nn.init.kaiming: mode must be 'fanIn' or 'fanOut', got '${mode as string}'`);
  const f = fans(t);
  return calculateGain(nonlinearity, a) / Math.sqrt(mode === 'fanIn' ? f.fanIn : f.fanOut);
}

/** Kaiming/He uniform: U(−b, b), b = gain·√(3/fan) (He et al. 2015). */
export function kaimingUniform(t: Tensor, opts: KaimingOptions = {}): Tensor {
  const b = Math.sqrt(3) * kaimingStd(t, opts);
  return uniform(t, -b, b, opts.rng ?? globalRng);
}

/** Kaiming/He normal: N(0, σ²), σ = gain/√fan. */
export function kaimingNormal(t: Tensor, opts: KaimingOptions = {}): Tensor {
  return normal(t, kaimingStd(t, opts), 0, opts.rng ?? globalRng);
}

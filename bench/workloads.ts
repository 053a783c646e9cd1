import { manualSeed, models, nn, noGrad, optim, rand, randn, scope, Tensor, tensor } from '../src/index.js';
import { getBackend, type Backend, type NormLayout } from '../src/kernels/index.js';

/**
 * The normlab workloads the benchmark times. Each is a function doing one unit of work; `passes` is how
 * many times a memory-bound implementation must stream a tensor of x's size (the memory floor). They use
 * the backend active when they are made (storage and kernels). Most come in two variants: the loop as a
 * PyTorch user writes it (`natural`: no scope, no dispose — what the ratios against peers use) and the same
 * work wrapped in `scope` with the old gradient disposed (`scoped`: deterministic release), side by side.
 */
export type Variant = 'natural' | 'scoped';

export interface Workload {
  readonly key: string;
  readonly label: string;
  readonly passes: number;
  readonly variant?: Variant;
  readonly run: () => void;
}

/** Shape [N, C, H, W] of the BN2d benchmark (a ResNet-ish early layer). */
export const BN_SHAPE = [32, 64, 56, 56] as const;

/** Random x and upstream gradient dy of `shape` (standard normal), made once per shape and shared. */
const dataCache = new Map<string, { x: Float32Array; dy: Float32Array }>();
function bnData(shape: readonly number[]): { x: Float32Array; dy: Float32Array } {
  const key = shape.join(',');
  let d = dataCache.get(key);
  if (!d) {
    manualSeed(0);
    d = { x: Float32Array.from(randn([...shape]).data), dy: Float32Array.from(randn([...shape]).data) };
    dataCache.set(key, d);
  }
  return d;
}

/**
 * A copy of `src` where backend `b`'s kernels read it directly: a raw block of its device memory (outside the
 * storage layer, so nothing ever evicts it; it lives as long as the process) or, for js, a plain array.
 */
export function onBackend(b: Backend, src: Float32Array): Float32Array {
  const a = b.device ? (b.device.view('float32', b.device.allocBlock(src.length * 4), src.length) as Float32Array) : new Float32Array(src.length);
  a.set(src);
  return a;
}

/** BN2d through the public API (nn.BatchNorm2d, autograd) at `shape`. */
export function bnApiWorkloads(shape: readonly number[]): Workload[] {
  const be = getBackend(), data = bnData(shape);
  const bn = new nn.BatchNorm2d(shape[1]);
  const x = tensor(data.x, shape);
  const xg = x.detach();
  xg.requiresGrad = true;
  const dy = tensor(data.dy, shape);
  // Each returns its output, as code that uses it would have it (the natural loop then drops it).
  const fwd = () => { bn.train(); return noGrad(() => bn.forward(x)); };
  const fwdBwd = () => { bn.train(); xg.grad = null; bn.zeroGrad(); const y = bn.forward(xg); y.backward(dy); return y; };
  const infer = () => { bn.eval(); const y = noGrad(() => bn.forward(x)); bn.train(); return y; };
  return [
    { key: 'bn.train_fwd', label: 'BN2d training forward', passes: 3, variant: 'natural', run: fwd },
    { key: 'bn.train_fwd', label: 'BN2d training forward', passes: 3, variant: 'scoped', run: () => { scope(fwd); } },
    { key: 'bn.train_fwd_bwd', label: 'BN2d training forward+backward', passes: 8, variant: 'natural', run: fwdBwd },
    { key: 'bn.train_fwd_bwd', label: 'BN2d training forward+backward', passes: 8, variant: 'scoped', run: () => { scope(() => { xg.grad?.dispose(); fwdBwd(); }); } },
    { key: 'bn.infer', label: 'BN2d inference', passes: 2, variant: 'natural', run: infer },
    { key: 'bn.infer', label: 'BN2d inference', passes: 2, variant: 'scoped', run: () => { scope(infer); } },
  ];
}

/** A backend's kernels alone (normStats, normApply, normBackward) on preallocated outputs, BN layout of `shape`. */
export function bnKernelWorkloads(shape: readonly number[], be: Backend = getBackend()): Workload[] {
  const [N, C, H, W] = shape;
  const layout: NormLayout = { N, C, S: H * W, groups: 0 };
  const k = be.kernels;
  const data = bnData(shape);
  const arr = (n: number, v = 0): Float32Array => onBackend(be, new Float32Array(n).fill(v));
  const x = onBackend(be, data.x), dy = onBackend(be, data.dy), y = arr(x.length), dx = arr(x.length);
  const mean = arr(C), variance = arr(C), invstd = arr(C), gamma = arr(C, 1), beta = arr(C), dgamma = arr(C), dbeta = arr(C);
  const fwd = (): void => {
    k.normStats(x, layout, mean, variance);
    for (let c = 0; c < C; c++) invstd[c] = 1 / Math.sqrt(variance[c] + 1e-5);
    k.normApply(x, layout, mean, invstd, gamma, beta, y);
  };
  const bwd = (): void => k.normBackward(x, dy, layout, mean, invstd, gamma, dx, dgamma, dbeta);
  fwd();
  return [
    { key: 'kernel.stats', label: 'normStats', passes: 1, run: () => k.normStats(x, layout, mean, variance) },
    { key: 'kernel.apply', label: 'normApply (= inference kernel)', passes: 2, run: () => k.normApply(x, layout, mean, invstd, gamma, beta, y) },
    { key: 'kernel.train_fwd', label: 'normStats + normApply', passes: 3, run: fwd },
    { key: 'kernel.backward', label: 'normBackward', passes: 5, run: bwd },
    { key: 'kernel.train_fwd_bwd', label: 'normStats + normApply + normBackward', passes: 8, run: () => { fwd(); bwd(); } },
  ];
}

export interface MlpOptions {
  /** Training samples of random data the batches cycle through (default 10,000 as in the peers). */
  samples?: number;
  batch?: number;
  lr?: number;
  /** The loop as a PyTorch user writes it (default) or each step in a scope. */
  variant?: Variant;
}

/**
 * The BN paper's MNIST MLP, 784-100-100-100-10 with sigmoid: with BN before each sigmoid (the Linear
 * before a BN has no bias) or without. Returns one training step (forward, cross-entropy, backward,
 * plain SGD) over random data of MNIST's shape.
 */
export function mlpStep(useBn: boolean, { samples = 10000, batch = 60, lr = 0.5, variant = 'natural' }: MlpOptions = {}): () => void {
  manualSeed(0);
  const layers: nn.Module[] = [];
  let d = 784;
  for (let i = 0; i < 3; i++) {
    layers.push(new nn.Linear(d, 100, { bias: !useBn }));
    if (useBn) layers.push(new nn.BatchNorm1d(100));
    layers.push(new nn.Sigmoid());
    d = 100;
  }
  layers.push(new nn.Linear(100, 10));
  const model = new nn.Sequential(...layers);
  const opt = new optim.SGD(model.parameters(), { lr });
  const X = rand([samples, 784]).data;
  const Y = rand([samples]).data;
  const nb = Math.floor(samples / batch);
  if (nb < 1) throw new Error(`mlpStep: samples ${samples} < batch ${batch}`);
  const batches: { x: Tensor; y: Int32Array }[] = [];
  for (let b = 0; b < nb; b++) {
    const y = new Int32Array(batch);
    for (let i = 0; i < batch; i++) y[i] = Math.min(9, Math.floor(Y[b * batch + i] * 10));
    batches.push({ x: tensor(X.subarray(b * batch * 784, (b + 1) * batch * 784), [batch, 784]), y });
  }
  return trainingStep(model, opt, batches, variant);
}

/**
 * One SGD step per call over the batches in turn (forward, cross-entropy, backward, update), written as in
 * PyTorch (`natural`) or inside a scope.
 */
function trainingStep(model: nn.Module, opt: optim.Optimizer, batches: readonly { x: Tensor; y: Int32Array }[], variant: Variant): () => void {
  let i = 0;
  const step = () => {
    const { x, y } = batches[i++ % batches.length];
    const loss = nn.functional.crossEntropy(model.forward(x), y);
    opt.zeroGrad();
    loss.backward();
    opt.step();
    return loss;
  };
  return variant === 'natural' ? step : () => { scope(step); };
}

/**
 * The small CNN of `models.cnn()` (conv 1→16 3×3 → BN → ReLU → max-pool 2, conv 16→32 → BN → ReLU →
 * max-pool 2, global average pooling, Linear 32→10): one SGD training step (lr 0.05, momentum 0.9) on a
 * batch of 60 random 28×28 images.
 */
export function cnnStep({ samples = 600, batch = 60, variant = 'natural' }: { samples?: number; batch?: number; variant?: Variant } = {}): () => void {
  manualSeed(0);
  const model = models.cnn();
  const opt = new optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  const X = rand([samples, 784]).data;
  const nb = Math.floor(samples / batch);
  const batches = Array.from({ length: nb }, (_, b) => ({
    x: tensor(X.subarray(b * batch * 784, (b + 1) * batch * 784), [batch, 784]),
    y: Int32Array.from({ length: batch }, (_, i) => (b * batch + i) % 10),
  }));
  return trainingStep(model, opt, batches, variant);
}

/**
 * Kernel layer types. Kernels see typed arrays and plain numbers only: no Tensor, no tape.
 * Every kernel writes into a caller-supplied output array.
 */
import type { BinaryCode, ReduceCode, UnaryCode } from './opcodes.js';

export type DType = 'float32' | 'float64';
export type FloatArray = Float32Array | Float64Array;
export type Shape = readonly number[];

// The op names come from their wasm codes (opcodes.ts, shared with assembly/): one list per kind of op.
/** Elementwise binary ops: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'eq' (1 where equal, else 0; not differentiable). */
export type BinaryOp = keyof typeof BinaryCode;
/** Elementwise unary ops: 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sigmoid' | 'relu' | 'tanh' | 'square' | 'reciprocal'. */
export type UnaryOp = keyof typeof UnaryCode;
/** Reductions: 'sum' | 'max' | 'min'. */
export type ReduceOp = keyof typeof ReduceCode;

/**
 * For the `default` of a switch over an op: `op` is `never` there when every op has its case, so an op added to
 * opcodes.ts without a case is a type error at the switch (and, should it get through, a clear error at run time).
 */
export function unhandledOp(kind: string, op: never): never {
  throw new Error(`${kind}: unknown op '${String(op)}'`);
}

// Shape arithmetic (shape.ts) and layout geometry (layout.ts) live in their own modules; re-exported here for
// code that imports them with the types.
export { sizeOf, stridesOf, broadcastShapes, reduceBlocks } from './shape.js';
export { statCount, ghostSize, statSize, convOutSize, conv2dGeometry, slidingAxis, adaptiveAxis } from './layout.js';

/**
 * Layout of a normalization over a tensor viewed as [N, C, S] (S = product of the trailing axes).
 * `groups === 0`: statistics per channel c over (N, S) — batch normalization.
 * `groups === G > 0`: statistics per (n, g) over (C/G channels × S) — GroupNorm; G = C is InstanceNorm,
 * and LayerNorm is G = 1 on the input viewed as [N, D, 1].
 * The affine parameters γ, β are always per channel c.
 * `ghost` (groups = 0 only) splits the batch into ghost batches of that many consecutive samples, each with
 * its own statistics (ghost batch normalization): statistics per (ghost batch b, channel c), index b·C + c.
 */
export interface NormLayout {
  readonly N: number;
  readonly C: number;
  readonly S: number;
  readonly groups: number;
  /** Samples per ghost batch (N must be a multiple); absent or N: one batch. */
  readonly ghost?: number;
}

/**
 * The kernel interface every backend implements. The js backend is the reference (float32 and
 * float64); a WebAssembly backend provides the same functions over storage in its own memory.
 */
export interface Kernels {
  /** out = a ∘ b with NumPy broadcasting; `outShape` is the broadcast shape. */
  binary(op: BinaryOp, a: FloatArray, aShape: Shape, b: FloatArray, bShape: Shape, out: FloatArray, outShape: Shape): void;
  /** out = a ∘ s for a scalar s (or s ∘ a when `scalarFirst`). */
  binaryScalar(op: BinaryOp, a: FloatArray, s: number, out: FloatArray, scalarFirst: boolean): void;
  /** out = f(x) elementwise. */
  unary(op: UnaryOp, x: FloatArray, out: FloatArray): void;
  /** out = dy · f'(x), given x and y = f(x) (whichever the derivative needs is read). */
  unaryBackward(op: UnaryOp, x: FloatArray, y: FloatArray, dy: FloatArray, out: FloatArray): void;
  /** Reduce x of `shape` over `axes` (sorted, unique) into out (the kept axes, in order). */
  reduce(op: ReduceOp, x: FloatArray, shape: Shape, axes: readonly number[], out: FloatArray): void;
  /** Index of the first maximum of each row of x viewed as [R, C] (NaN counts as the maximum). */
  argmax(x: FloatArray, R: number, C: number, out: FloatArray): void;
  /** Broadcast x of `shape` to `outShape` (NumPy rules). */
  broadcastTo(x: FloatArray, shape: Shape, out: FloatArray, outShape: Shape): void;
  /** out = x transposed by permutation `perm` of `shape`. */
  permute(x: FloatArray, shape: Shape, perm: readonly number[], out: FloatArray): void;
  /**
   * out[M,N] = op(A) · op(B) (+ out when `accumulate`), op(A) = A or Aᵀ. A is [M,K] (or [K,M] when
   * transA), B is [K,N] (or [N,K] when transB). Cache-blocked; no transposed copies are made.
   */
  matmul(a: FloatArray, b: FloatArray, out: FloatArray, M: number, K: number, N: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;
  /** Cast/copy between arrays of any float type. */
  copy(src: FloatArray, dst: FloatArray): void;
  fill(dst: FloatArray, value: number): void;
  /** Sum of squares of x (accumulated in float64). */
  sumSquares(x: FloatArray): number;

  // ---- normalization family: one statistics kernel, one normalize kernel, one fused backward ----
  /**
   * Per-group mean and biased variance of x laid out as `layout`. Numerically stable: shifted sums
   * (shift = the group's first element) accumulated in float64; variance clamped at 0, so a constant
   * group gives exactly 0 and data far from zero keeps its precision.
   */
  normStats(x: FloatArray, layout: NormLayout, mean: FloatArray, variance: FloatArray): void;
  /**
   * y = (x − mean[k]) · invstd[k] · γ[c] + β[c], k the statistics group of element (n, c, s).
   * `gamma`/`beta` may be null (γ = 1, β = 0).
   */
  normApply(x: FloatArray, layout: NormLayout, mean: FloatArray, invstd: FloatArray,
    gamma: FloatArray | null, beta: FloatArray | null, y: FloatArray): void;
  /**
   * Fused training-mode backward, with x̂ = (x − mean)·invstd and g = dy·γ, m = statSize:
   * dx = invstd/m · (m·g − Σg − x̂·Σ(g·x̂)) per group; dγ[c] = Σ dy·x̂, dβ[c] = Σ dy over (n, s).
   * Any of dx, dgamma, dbeta may be null (not needed).
   */
  normBackward(x: FloatArray, dy: FloatArray, layout: NormLayout, mean: FloatArray, invstd: FloatArray,
    gamma: FloatArray | null, dx: FloatArray | null, dgamma: FloatArray | null, dbeta: FloatArray | null): void;
  /**
   * Fused softmax cross-entropy over logits [N, C] with class indices; returns the mean loss and, when
   * `dlogits` is given, writes its gradient (softmax − onehot)/N · scale.
   */
  softmaxCrossEntropy(logits: FloatArray, N: number, C: number, target: Int32Array,
    dlogits: FloatArray | null, scale: number): number;
  /** Row-wise log-softmax over the last axis of x viewed as [R, C]. */
  logSoftmax(x: FloatArray, R: number, C: number, out: FloatArray): void;

  // ---- optimizer updates (fused, in place; src/optim holds no elementwise loops) ----
  /**
   * One SGD step of one parameter (torch.optim.SGD), in place on `param` and `momentumBuf`, with
   * g = clamp(grad, −clipValue, clipValue)·gradScale and d = g + weightDecay·param:
   * momentum 0: param −= lr·d. Otherwise buf = d on the first step (`initBuf`), else
   * buf = momentum·buf + (1 − dampening)·d; param −= lr·(nesterov ? d + momentum·buf : buf).
   * `momentumBuf` may be null when momentum is 0. `grad` is only read.
   */
  sgdUpdate(param: FloatArray, grad: FloatArray, momentumBuf: FloatArray | null, h: SgdHyper): void;
  /**
   * One Adam/AdamW step of one parameter (torch.optim.Adam / AdamW), in place on param, m, v, vMax,
   * with g = clamp(grad, −clipValue, clipValue)·gradScale and t = h.step (already incremented, ≥ 1):
   * Adam (L2):   g += weightDecay·param.   AdamW (decoupled): param ·= 1 − lr·weightDecay.
   * m = β1·m + (1 − β1)·g;  v = β2·v + (1 − β2)·g²;  vMax = max(vMax, v) when amsgrad;
   * param −= lr/(1 − β1^t) · m / (√(amsgrad ? vMax : v)/√(1 − β2^t) + eps).
   * `vMax` may be null unless amsgrad. `grad` is only read.
   */
  adamUpdate(param: FloatArray, grad: FloatArray, m: FloatArray, v: FloatArray, vMax: FloatArray | null, h: AdamHyper): void;

  // ---- convolution and pooling over NCHW ----
  /**
   * y[n,o,i,j] = b[o] + Σ_{c∈group(o),u,v} W[o,c,u,v]·x[n,c, i·sh − ph + u·dh, j·sw − pw + v·dw] (zero outside x);
   * x [N,C,H,W], W [O, C/groups, kh, kw], b [O] or null, y [N,O,OH,OW].
   */
  conv2d(x: FloatArray, w: FloatArray, b: FloatArray | null, g: Conv2dGeometry, y: FloatArray): void;
  /**
   * Gradients of conv2d from dy [N,O,OH,OW]: dx = col2im(Wᵀ·dy), dW = Σ_n dy·im2col(x)ᵀ, db = Σ_{n,i,j} dy.
   * Any of dx, dw, db may be null (not needed); the others are overwritten.
   */
  conv2dBackward(x: FloatArray, w: FloatArray, dy: FloatArray, g: Conv2dGeometry,
    dx: FloatArray | null, dw: FloatArray | null, db: FloatArray | null): void;
  /**
   * Max over each window of `planes` planes [h.size, w.size] into y [planes, OH, OW]; argmax gets the in-plane
   * index of the window's first maximum (NaN counts as the maximum).
   */
  maxPool2d(x: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, y: FloatArray, argmax: Int32Array): void;
  /** dx = 0, then dx[p, argmax[p, q]] += dy[p, q]; `inPlane` = H·W. */
  maxPool2dBackward(dy: FloatArray, argmax: Int32Array, planes: number, inPlane: number, dx: FloatArray): void;
  /** y[p,i,j] = Σ_window x / (h.divisor[i]·w.divisor[j]). */
  avgPool2d(x: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, y: FloatArray): void;
  /** dx[p, window(i,j)] += dy[p,i,j] / (h.divisor[i]·w.divisor[j]) (dx overwritten). */
  avgPool2dBackward(dy: FloatArray, planes: number, h: PoolAxis, w: PoolAxis, dx: FloatArray): void;
}

/**
 * Geometry of a 2-D convolution: x [N,C,H,W], weight [O, C/groups, kh, kw], y [N,O,OH,OW] with
 * OH = ⌊(H + 2·ph − dh·(kh − 1) − 1)/sh⌋ + 1 (OW likewise); s stride, p zero padding, d dilation.
 */
export interface Conv2dGeometry {
  readonly N: number; readonly C: number; readonly H: number; readonly W: number;
  readonly O: number; readonly OH: number; readonly OW: number;
  readonly kh: number; readonly kw: number; readonly sh: number; readonly sw: number;
  readonly ph: number; readonly pw: number; readonly dh: number; readonly dw: number;
  readonly groups: number;
}

/**
 * Pooling windows along one axis of an input of length `size`: output i reads inputs [start[i], end[i])
 * (already clipped to the input); average pooling divides by h.divisor[i]·w.divisor[j].
 */
export interface PoolAxis {
  readonly size: number;
  readonly start: Int32Array;
  readonly end: Int32Array;
  readonly divisor: Float64Array;
}

/** Hyperparameters of one `sgdUpdate`; clipValue = Infinity and gradScale = 1 mean no clipping. */
export interface SgdHyper {
  readonly lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  /** True on a parameter's first momentum step: the buffer is set to d (PyTorch), not blended. */
  readonly initBuf: boolean;
  readonly clipValue: number;
  readonly gradScale: number;
}

/** Hyperparameters of one `adamUpdate`; clipValue = Infinity and gradScale = 1 mean no clipping. */
export interface AdamHyper {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** false: L2 added to the gradient (Adam); true: decoupled decay of the parameter (AdamW). */
  readonly decoupled: boolean;
  readonly amsgrad: boolean;
  /** This parameter's step count after incrementing (1 on its first update). */
  readonly step: number;
  readonly clipValue: number;
  readonly gradScale: number;
}

/** The blocks of a backend's own device memory (the wasm backend's linear memory). */
export interface DeviceMemory {
  /** A block of at least `bytes` (16-byte aligned); returns its offset. Throws when the memory cannot provide it. */
  allocBlock(bytes: number): number;
  freeBlock(offset: number): void;
  /** A view of `size` elements of `dtype` at `offset`. */
  view(dtype: DType, offset: number, size: number): FloatArray;
  /** Called when an allocation cannot be met by growing: the storage layer evicts what it can. */
  onPressure: ((bytes: number) => void) | null;
  /** Bytes in live blocks. */
  inUseBytes(): number;
  stats(): { inUse: number; blocks: number; cached: number; memoryBytes: number; peak: number; maxBytes: number };
}

/**
 * A backend: kernels, and where tensor storage lives. The js backend computes on ordinary typed arrays
 * (`device` null: the garbage collector owns them); the wasm backend has its own device memory, whose blocks
 * the storage layer (src/memory/) manages.
 */
export interface Backend {
  readonly name: string;
  readonly kernels: Kernels;
  readonly device: DeviceMemory | null;
  /** Threads its kernels use (1 for the js backend). */
  readonly threads?: number;
  /** Use n threads (the caller included); a backend without threads ignores it. */
  setThreads?(n: number): void;
}

export function arrayFor(dtype: DType): Float32ArrayConstructor | Float64ArrayConstructor {
  return dtype === 'float32' ? Float32Array : Float64Array;
}

export function dtypeOf(a: FloatArray): DType {
  return a instanceof Float64Array ? 'float64' : 'float32';
}

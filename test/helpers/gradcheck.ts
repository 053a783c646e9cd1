import { Rng, Tensor, noGrad, tensor } from '../../src/index.js';

export interface GradcheckOptions {
  /** Step of the central differences. Default 1e-6. */
  eps?: number;
  /** Absolute tolerance: |numeric − analytic| ≤ atol + rtol·|numeric|. Default 1e-7. */
  atol?: number;
  /** Relative tolerance. Default 1e-5. */
  rtol?: number;
  /** Seed of the fixed random projection r. */
  seed?: number;
}

export interface GradcheckResult {
  /** Largest |numeric − analytic| over all checked elements. */
  maxAbsError: number;
  /** Number of input elements checked. */
  checked: number;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Multi-index of flat index i in a tensor of `shape`, for messages. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

/** Names of the ops recorded in the graph that produced `t` (each node once). */
export function graphOps(t: Tensor): Set<string> {
  const names = new Set<string>();
  const seen = new Set<unknown>();
  const stack: unknown[] = [t];
  while (stack.length) {
    const v = stack.pop() as Tensor;
    if (!v || seen.has(v)) continue;
    seen.add(v);
    if (v.node) { names.add(v.node.op); stack.push(...v.node.inputs); }
  }
  return names;
}

/**
 * Finite-difference gradient check in float64. With a fixed random r of the output's shape,
 * f(inputs) = Σ fn(inputs)·r; for every element of every input that requires grad, the central
 * difference (f(x + eps) − f(x − eps))/(2·eps) is compared with the gradient that backward(r) leaves in
 * .grad. Throws an Error naming the input, the element, both values and the tolerance on the first
 * mismatch (after scanning the input for its worst element). Inputs are restored bit for bit; their
 * previous .grad is restored too.
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Tensor, inputs: Tensor[],
  { eps = 1e-6, atol = 1e-7, rtol = 1e-5, seed = 1234 }: GradcheckOptions = {}): GradcheckResult {
  const checkedInputs = inputs.map((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`gradcheck: input ${i} is not a Tensor`);
    if (t.requiresGrad && t.dtype !== 'float64') throw new Error(`gradcheck: input ${i} (shape ${fmt(t.shape)}) is ${t.dtype}; gradient checks need float64`);
    if (t.requiresGrad && !t.isLeaf) throw new Error(`gradcheck: input ${i} (shape ${fmt(t.shape)}) is not a leaf tensor`);
    return t.requiresGrad;
  });
  if (!checkedInputs.some(Boolean)) throw new Error('gradcheck: no input requires grad, nothing to check');

  // Analytic: backward(r) at the unperturbed point.
  const prevGrads = inputs.map((t) => t.grad);
  inputs.forEach((t) => { t.grad = null; });
  const out = fn(...inputs);
  if (!(out instanceof Tensor)) throw new Error('gradcheck: fn must return a Tensor');
  if (!out.requiresGrad) throw new Error(`gradcheck: the output (shape ${fmt(out.shape)}) does not require grad; no graph was recorded`);
  const rng = new Rng(seed);
  const r = new Float64Array(out.size);
  for (let i = 0; i < r.length; i++) r[i] = out.dtype === 'float32' ? Math.fround(rng.normal()) : rng.normal();
  out.backward(tensor(r, out.shape, { dtype: out.dtype }));
  const analytic = inputs.map((t, i) => {
    if (!checkedInputs[i]) return null;
    const g = t.grad;
    if (g && (g.shape.length !== t.shape.length || g.shape.some((d, j) => d !== t.shape[j])))
      throw new Error(`gradcheck: input ${i}: gradient has shape ${fmt(g.shape)} but the input has shape ${fmt(t.shape)}`);
    if (g && g.dtype !== t.dtype) throw new Error(`gradcheck: input ${i}: gradient is ${g.dtype} but the input is ${t.dtype}`);
    return g ? Float64Array.from(g.data) : new Float64Array(t.size); // no gradient reached it: 0
  });
  inputs.forEach((t, i) => { t.grad = prevGrads[i]; });

  // Numeric: central differences of the projection, without recording.
  const project = (): number => {
    const y = noGrad(() => fn(...inputs));
    if (y.size !== r.length) throw new Error(`gradcheck: fn returned shape ${fmt(y.shape)} on a perturbed input, expected ${fmt(out.shape)}`);
    let s = 0;
    for (let i = 0; i < r.length; i++) s += y.data[i] * r[i];
    return s;
  };
  let maxAbsError = 0, checked = 0;
  inputs.forEach((t, i) => {
    const a = analytic[i];
    if (!a) return;
    let worst = -1, worstExcess = 0, worstNum = 0, failures = 0;
    for (let j = 0; j < t.size; j++) {
      const orig = t.data[j];
      t.data[j] = orig + eps;
      const fp = project();
      t.data[j] = orig - eps;
      const fm = project();
      t.data[j] = orig;
      const num = (fp - fm) / (2 * eps);
      const err = Math.abs(num - a[j]);
      if (!(err <= maxAbsError)) maxAbsError = Number.isNaN(err) ? Infinity : err;
      const excess = err - (atol + rtol * Math.abs(num));
      if (!(excess <= 0)) {
        failures++;
        if (worst < 0 || !(excess <= worstExcess)) { worst = j; worstExcess = excess; worstNum = num; }
      }
      checked++;
    }
    if (worst >= 0)
      throw new Error(`gradcheck: input ${i} (shape ${fmt(t.shape)}), element ${worst} (index [${unravel(worst, t.shape).join(', ')}]): ` +
        `numeric ${worstNum}, analytic ${a[worst]} (|diff| ${Math.abs(worstNum - a[worst])} > atol ${atol} + rtol ${rtol}·|numeric|; ` +
        `${failures} of ${t.size} elements of this input fail; eps ${eps})`);
  });
  return { maxAbsError, checked };
}

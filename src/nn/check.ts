/**
 * Validation of constructor arguments and options, shared by every module and optimizer: each error names
 * the class (`what`) and the argument or option at fault, and what it must be. Checks run in constructors,
 * before any state is made, so a bad call changes nothing.
 */
import type { DType } from '../kernels/types.js';
import { Tensor } from '../tensor/index.js';

/** A value as it appears in messages. */
export function show(v: unknown): string {
  if (typeof v === 'number' || typeof v === 'boolean' || v === undefined || typeof v === 'bigint') return String(v);
  if (typeof v === 'function') return 'a function';
  try { return JSON.stringify(v) ?? String(v); } catch { return String(v); }
}

/** Edit distance between two short strings, a swap of neighbours counting as one edit (for did-you-mean). */
function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The allowed name closest to `key`: the same name in another spelling (weight_decay → weightDecay,
 * clipnorm → clipNorm), a prefix (pad → padding), or a small typo (biass → bias).
 */
export function closest(key: string, allowed: readonly string[]): string | undefined {
  const loose = (k: string) => k.replace(/_/g, '').toLowerCase();
  const k = loose(key);
  const same = allowed.find((a) => loose(a) === k);
  if (same) return same;
  const prefix = allowed.filter((a) => k.length >= 3 && loose(a).startsWith(k));
  if (prefix.length === 1) return prefix[0];
  let best: string | undefined, bestD = Infinity;
  for (const a of allowed) {
    const dd = distance(k, loose(a));
    if (dd < bestD) { best = a; bestD = dd; }
  }
  return bestD <= Math.floor(k.length / 3) ? best : undefined; // one edit from 3 letters on, two from 6
}

/**
 * Refuse anything but a plain options object whose keys are all in `allowed`. An unknown key gets a
 * did-you-mean; `hints` maps names from other frameworks to advice (e.g. PyTorch's track_running_stats).
 * `undefined` is no options.
 */
export function checkOptions(what: string, options: unknown, allowed: readonly string[], hints: Readonly<Record<string, string>> = {}): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options) || ArrayBuffer.isView(options))
    throw new Error(`${what}: options must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`);
  const unknown = Object.keys(options).filter((k) => !allowed.includes(k));
  if (!unknown.length) return;
  const advice = (k: string) => {
    const h = hints[k];
    if (h) return ` (${h})`;
    const m = closest(k, allowed);
    return m ? ` (did you mean '${m}'?)` : '';
  };
  throw new Error(`${what}: unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'${advice(k)}`).join(', ')}; valid options: ${allowed.join(', ')}`);
}

/** A finite number with `ok(v)`; otherwise an error "<what>: <name> must be <rule>, got <v>". */
export function checkNumber(what: string, name: string, v: unknown, rule: string, ok: (x: number) => boolean): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || !ok(v)) throw new Error(`${what}: ${name} must be ${rule}, got ${show(v)}`);
  return v;
}

/** An integer ≥ 1 (sizes, counts, channels). */
export function positiveInteger(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a positive integer', (x) => Number.isInteger(x) && x >= 1);
}

/** An integer ≥ 0 (a padding). */
export function nonNegativeInteger(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a non-negative integer', (x) => Number.isInteger(x) && x >= 0);
}

/** An integer (an axis, which may be negative). */
export function integer(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'an integer', Number.isInteger);
}

/** A finite number ≥ 0. */
export function nonNegative(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a finite number ≥ 0', (x) => x >= 0);
}

/** A finite number > 0. */
export function positive(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'a finite number > 0', (x) => x > 0);
}

/** An optional threshold: undefined (off) or a number > 0. */
export function optionalPositive(what: string, name: string, v: unknown): number | undefined {
  return v === undefined ? undefined : positive(what, name, v);
}

/** A number in [0, 1] (a probability, a moving-average weight). */
export function unitRange(what: string, name: string, v: unknown): number {
  return checkNumber(what, name, v, 'in [0, 1]', (x) => x >= 0 && x <= 1);
}

/** ε of a normalization: a finite number > 0. */
export function checkEps(what: string, v: unknown): number {
  return checkNumber(what, 'eps', v, '> 0', (x) => x > 0);
}

/**
 * A normalization's momentum (the weight of the old running value), in [0, 1]. A missing value (PyTorch's
 * `momentum=None`, a cumulative average) is an error that ends with `advice` on how to get that here.
 */
export function checkMomentum(what: string, v: unknown, advice = ''): number {
  if (v === null || v === undefined) throw new Error(`${what}: momentum must be a number in [0, 1], got ${show(v)}${advice ? `; ${advice}` : ''}`);
  return unitRange(what, 'momentum', v);
}

export function checkBoolean(what: string, name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new Error(`${what}: ${name} must be true or false, got ${show(v)}`);
  return v;
}

/** One of the listed strings. */
export function oneOf<T extends string>(what: string, name: string, v: unknown, values: readonly T[]): T {
  if (!values.includes(v as T)) throw new Error(`${what}: unknown ${name} '${String(v)}'; expected one of ${values.map((s) => `'${s}'`).join(', ')}`);
  return v as T;
}

/** A tensor dtype. */
export function checkDtype(what: string, v: unknown): DType {
  if (v !== 'float32' && v !== 'float64') throw new Error(`${what}: unknown dtype '${String(v)}'; use 'float32' or 'float64'`);
  return v;
}

/** `x` is a Tensor (a nested array or anything else gets an error naming what it is and the fix). */
export function checkTensorInput(what: string, x: unknown, name = 'input'): asserts x is Tensor {
  if (!(x instanceof Tensor)) throw new Error(`${what}: expected a Tensor ${name}, got ${describe(x)}${Array.isArray(x) ? ' (nested arrays are not tensors: wrap them with tensor(...))' : ''}`);
}

/** What a non-Tensor value is, for messages. */
export function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined (nothing)';
  if (Array.isArray(x)) return 'an array';
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name}`;
  if (typeof x === 'object') return `an object (${(x as object).constructor?.name ?? 'Object'})`;
  return `${typeof x} ${show(x)}`;
}

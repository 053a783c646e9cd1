/**
 * Shape patterns the wasm kernels handle, recognized from general shapes: the 2-D broadcast form of binary ops
 * and broadcastTo, the kept/reduced blocks of a reduction, and permutations that are (batched) 2-D transposes.
 * Anything else returns null and the caller falls back to the js kernel.
 */
import type { Shape } from '../types.js';
import { Mode } from '../opcodes.js';

export interface Plan2d { R: number; C: number; modes: Mode[] }

/**
 * Split the output's axes into a leading block (size R) and a trailing block (size C) such that every operand
 * either spans or is broadcast along each whole block: its Mode. Null when no split works (e.g. [N, C, H, W]
 * with [1, C, 1, 1]).
 */
export function plan2d(outShape: Shape, shapes: readonly Shape[]): Plan2d | null {
  const r = outShape.length;
  // spans[k][d]: operand k has the output's extent along axis d (true), is broadcast (false), or the axis is 1 (null).
  const spans = shapes.map((s) => {
    const f: (boolean | null)[] = [];
    for (let d = 0; d < r; d++) {
      const e = s[s.length - r + d] ?? 1;
      f.push(outShape[d] === 1 ? null : e === outShape[d] ? true : e === 1 ? false : undefined as never);
    }
    return f;
  });
  if (spans.some((f) => f.some((v) => v === undefined))) return null;
  const kind = (f: (boolean | null)[], lo: number, hi: number): boolean | null | 'mixed' => {
    let k: boolean | null = null;
    for (let d = lo; d < hi; d++) {
      if (f[d] === null) continue;
      if (k === null) k = f[d];
      else if (k !== f[d]) return 'mixed';
    }
    return k;
  };
  for (let p = 0; p <= r; p++) {
    const modes: Mode[] = [];
    for (const f of spans) {
      const L = kind(f, 0, p), Rk = kind(f, p, r);
      if (L === 'mixed' || Rk === 'mixed') break;
      // An all-ones block counts as spanned (it has extent 1 either way).
      const lf = L !== false, rf = Rk !== false;
      modes.push(lf && rf ? Mode.Full : rf ? Mode.Row : lf ? Mode.Col : Mode.Scalar);
    }
    if (modes.length === shapes.length) {
      let R = 1, C = 1;
      for (let d = 0; d < p; d++) R *= outShape[d];
      for (let d = p; d < r; d++) C *= outShape[d];
      return { R, C, modes };
    }
  }
  return null;
}

/** Elements an operand of this mode holds in the 2-D form. */
export function modeSize(m: Mode, R: number, C: number): number {
  return m === Mode.Full ? R * C : m === Mode.Row ? C : m === Mode.Col ? R : 1;
}


/**
 * A permutation reduced to its essential form: size-1 axes dropped and input axes that stay adjacent and in
 * order merged. Returns the merged input shape and permutation (e.g. [2,3,4] by [0,2,1] stays [2,3,4]/[0,2,1];
 * [5,6,7] by [2,0,1] becomes [30,7]/[1,0]).
 */
export function mergePermutation(shape: Shape, perm: readonly number[]): { shape: number[]; perm: number[] } {
  const keep = perm.filter((p) => shape[p] !== 1);
  // Relabel the kept input axes 0..k-1 in input order.
  const sorted = [...keep].sort((a, b) => a - b);
  const rank = new Map(sorted.map((a, i) => [a, i] as const));
  const q = keep.map((a) => rank.get(a)!);
  const sizes = sorted.map((a) => shape[a]);
  // Groups: maximal runs of q that are consecutive input axes.
  const groups: number[][] = [];
  for (const a of q) {
    const g = groups[groups.length - 1];
    if (g && g[g.length - 1] + 1 === a) g.push(a);
    else groups.push([a]);
  }
  // Merged input axes are the groups ordered by their first input axis.
  const byInput = [...groups].sort((g, h) => g[0] - h[0]);
  const mshape = byInput.map((g) => g.reduce((p, a) => p * sizes[a], 1));
  const mperm = groups.map((g) => byInput.indexOf(g));
  return { shape: mshape, perm: mperm };
}

import type { DType, Shape } from '../../kernels/types.js';
import type { OpDef } from '../types.js';
import * as ew from './elementwise.js';
import { cast, cat, expand, narrow, permute, reshape, type NarrowAttrs } from './shape.js';
import { max, mean, sum, type ReduceAttrs } from './reduce.js';
import { linear, matmul } from './matmul.js';
import { norm, type NormAttrs } from './norm.js';
import { syncNorm, type SyncNormAttrs } from './syncnorm.js';
import { crossEntropy, logSoftmax } from './loss.js';
import { conv2d, type Conv2dAttrs } from './conv.js';
import { avgPool2d, maxPool2d, type PoolAttrs } from './pool.js';

type NoAttrs = Record<string, never>;

/** Every op's name and the attributes it takes. Adding an op here without its rule below is a type error. */
export interface OpAttrs {
  add: NoAttrs; sub: NoAttrs; mul: NoAttrs; div: NoAttrs; pow: NoAttrs; maximum: NoAttrs; minimum: NoAttrs;
  neg: NoAttrs; exp: NoAttrs; log: NoAttrs; sqrt: NoAttrs; abs: NoAttrs; sigmoid: NoAttrs; relu: NoAttrs;
  tanh: NoAttrs; square: NoAttrs; reciprocal: NoAttrs;
  sum: ReduceAttrs; mean: ReduceAttrs; max: ReduceAttrs;
  reshape: { shape: Shape }; permute: { perm: readonly number[] }; expand: { shape: Shape }; cast: { dtype: DType };
  narrow: NarrowAttrs; cat: { axis: number };
  matmul: NoAttrs; linear: NoAttrs;
  norm: NormAttrs; syncNorm: SyncNormAttrs;
  crossEntropy: { target: Int32Array }; logSoftmax: NoAttrs;
  conv2d: Conv2dAttrs; maxPool2d: PoolAttrs; avgPool2d: PoolAttrs;
}

export type OpName = keyof OpAttrs;

/** The op table: one forward and one hand-written backward per op, keyed by name. */
export const ops: { [P in OpName]: OpDef<OpAttrs[P]> } = {
  add: ew.add, sub: ew.sub, mul: ew.mul, div: ew.div, pow: ew.pow, maximum: ew.maximum, minimum: ew.minimum,
  neg: ew.neg, exp: ew.exp, log: ew.log, sqrt: ew.sqrt, abs: ew.abs, sigmoid: ew.sigmoid, relu: ew.relu,
  tanh: ew.tanh, square: ew.square, reciprocal: ew.reciprocal,
  sum, mean, max,
  reshape, permute, expand, cast, narrow, cat,
  matmul, linear,
  norm, syncNorm,
  crossEntropy, logSoftmax,
  conv2d, maxPool2d, avgPool2d,
};

export type { NormAttrs, SyncNormAttrs, ReduceAttrs, NarrowAttrs, Conv2dAttrs, PoolAttrs };

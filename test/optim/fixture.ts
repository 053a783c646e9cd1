import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tensor, type DType, type Tensor } from '../../src/index.js';
import * as optim from '../../src/optim/index.js';

/** A golden-value file written by scripts/gen_optim_fixtures.py (test/fixtures/NAME). */
export function loadFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', name), 'utf8')) as T;
}

/** Shapes, float32-exact initial values and per-step gradients (null: no grad at that step). */
export interface Inputs {
  shapes: number[][];
  init: number[][];
  grads: (number[] | null)[][];
}

export interface UpdateCase {
  name: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Record<string, unknown>;
  lrs?: number[];
  /** Parameter values after each step: [step][parameter][element]. */
  f64: number[][][];
  f32: number[][][];
}

export type UpdatesFile = Inputs & { steps: number; cases: UpdateCase[] };

/** The fixture's inputs are float32 values written as their shortest float32 decimals: round them back. */
export function f32(values: number[]): Float32Array {
  return Float32Array.from(values);
}

export function makeParams(inp: Inputs, dtype: DType): Tensor[] {
  return inp.shapes.map((s, i) => tensor(f32(inp.init[i]), s, { dtype, requiresGrad: true }));
}

/** Set p.grad from one step's gradient row (null clears it). */
export function setGrads(params: Tensor[], row: (number[] | null)[], dtype: DType): void {
  params.forEach((p, i) => { const g = row[i]; p.grad = g ? tensor(f32(g), p.shape, { dtype }) : null; });
}

export function makeOptimizer(c: Pick<UpdateCase, 'optimizer' | 'options'>, params: Tensor[]): optim.Optimizer {
  if (c.optimizer === 'SGD') return new optim.SGD(params, c.options as unknown as optim.SGDOptions);
  return new optim[c.optimizer](params, c.options as optim.AdamOptions);
}

/** Run steps [from, to) of a case on `opt`, returning the parameter values after each. */
export function runSteps(file: UpdatesFile, c: UpdateCase, opt: optim.Optimizer, params: Tensor[], dtype: DType, from = 0, to = file.steps): number[][][] {
  const out: number[][][] = [];
  for (let k = from; k < to; k++) {
    if (c.lrs) opt.lr = c.lrs[k];
    setGrads(params, file.grads[k], dtype);
    opt.step();
    out.push(params.map((p) => Array.from(p.data)));
  }
  return out;
}

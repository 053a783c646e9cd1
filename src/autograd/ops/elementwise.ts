import type { BinaryOp, UnaryOp } from '../../kernels/types.js';
import type { Arr, OpDef } from '../types.js';
import { alloc, binaryArr, k, scalarArr, sumTo, unaryArr } from './util.js';

type NoAttrs = Record<string, never>;

function binaryForward(op: BinaryOp) {
  return (inputs: readonly (Arr | null)[]) => ({ out: binaryArr(op, inputs[0]!, inputs[1]!) });
}

export const add: OpDef<NoAttrs> = {
  forward: binaryForward('add'),
  // da = g, db = g (summed over broadcast axes)
  backward: ({ inputs: [a, b], needs }, g) => [needs[0] ? sumTo(g, a!.shape) : null, needs[1] ? sumTo(g, b!.shape) : null],
};

export const sub: OpDef<NoAttrs> = {
  forward: binaryForward('sub'),
  // da = g, db = −g
  backward: ({ inputs: [a, b], needs }, g) => [needs[0] ? sumTo(g, a!.shape) : null, needs[1] ? sumTo(unaryArr('neg', g), b!.shape) : null],
};

export const mul: OpDef<NoAttrs> = {
  forward: binaryForward('mul'),
  // da = g·b, db = g·a
  backward: ({ inputs: [a, b], needs }, g) => [
    needs[0] ? sumTo(binaryArr('mul', g, b!), a!.shape) : null,
    needs[1] ? sumTo(binaryArr('mul', g, a!), b!.shape) : null,
  ],
};

export const div: OpDef<NoAttrs> = {
  forward: binaryForward('div'),
  // da = g/b, db = −g·(a/b)/b
  backward: ({ inputs: [a, b], out, needs }, g) => [
    needs[0] ? sumTo(binaryArr('div', g, b!), a!.shape) : null,
    needs[1] ? sumTo(unaryArr('neg', binaryArr('div', binaryArr('mul', g, out), b!)), b!.shape) : null,
  ],
};

export const pow: OpDef<NoAttrs> = {
  forward: binaryForward('pow'),
  // da = g·p·a^(p−1), dp = g·a^p·log a
  backward: ({ inputs: [a, p], out, needs }, g) => [
    needs[0] ? sumTo(binaryArr('mul', g, binaryArr('mul', p!, binaryArr('pow', a!, scalarArr('sub', p!, 1)))), a!.shape) : null,
    needs[1] ? sumTo(binaryArr('mul', g, binaryArr('mul', out, unaryArr('log', a!))), p!.shape) : null,
  ],
};

/** Elementwise max/min of two tensors; the gradient goes to the larger (smaller) input, split evenly on ties. */
function extremum(op: 'max' | 'min'): OpDef<NoAttrs> {
  return {
    forward: binaryForward(op),
    // da = g·[a = out]·w, db = g·[b = out]·w, w = 1/([a = out] + [b = out])
    backward: ({ inputs: [a, b], out, needs }, g) => {
      const ma = binaryArr('eq', a!, out), mb = binaryArr('eq', b!, out);
      const w = binaryArr('div', g, binaryArr('add', ma, mb));
      return [needs[0] ? sumTo(binaryArr('mul', w, ma), a!.shape) : null, needs[1] ? sumTo(binaryArr('mul', w, mb), b!.shape) : null];
    },
  };
}
export const maximum = extremum('max');
export const minimum = extremum('min');

/** An elementwise function; backward is the kernel's fused dy·f'(x). */
function unaryOp(op: UnaryOp): OpDef<NoAttrs> {
  return {
    forward: ([x]) => ({ out: unaryArr(op, x!) }),
    // dx = g·f'(x), f' per UnaryOp (neg: −1, exp: y, log: 1/x, sqrt: 1/(2y), sigmoid: y(1−y), tanh: 1−y², relu: [x>0], ...)
    backward: ({ inputs: [x], out }, g) => {
      const dx = alloc(g.dtype, g.shape, false);
      k().unaryBackward(op, x!.data, out.data, g.data, dx.data);
      return [dx];
    },
  };
}

export const neg = unaryOp('neg');
export const exp = unaryOp('exp');
export const log = unaryOp('log');
export const sqrt = unaryOp('sqrt');
export const abs = unaryOp('abs');
export const sigmoid = unaryOp('sigmoid');
export const relu = unaryOp('relu');
export const tanh = unaryOp('tanh');
export const square = unaryOp('square');
export const reciprocal = unaryOp('reciprocal');

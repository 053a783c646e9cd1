import type { OpDef } from '../types.js';
import { alloc, binaryArr, broadcastArr, k, reshapeArr, unaryArr } from './util.js';

/** Fused log-softmax + negative log-likelihood, mean over the batch. logits [N, C], target class indices. */
export const crossEntropy: OpDef<{ target: Int32Array }> = {
  forward: ([x], { target }) => {
    const [N, C] = x!.shape;
    const out = alloc(x!.dtype, [], false);
    out.data[0] = k().softmaxCrossEntropy(x!.data, N, C, target, null, 1);
    return { out };
  },
  // dlogits = g·(softmax(x) − onehot(target))/N
  backward: ({ inputs: [x], attrs: { target } }, g) => {
    const [N, C] = x!.shape;
    const dx = alloc(x!.dtype, x!.shape, false);
    k().softmaxCrossEntropy(x!.data, N, C, target, dx.data, g.storage.peek()[0]);
    return [dx];
  },
};

/** log softmax over the last axis. */
export const logSoftmax: OpDef<Record<string, never>> = {
  forward: ([x]) => {
    const C = x!.shape[x!.shape.length - 1];
    const out = alloc(x!.dtype, x!.shape, false);
    k().logSoftmax(x!.data, x!.storage.size / C, C, out.data);
    return { out };
  },
  // dx = g − softmax(x)·Σ_last g
  backward: ({ out }, g) => {
    const C = g.shape[g.shape.length - 1], R = g.storage.size / C;
    const s = alloc(g.dtype, [R, 1], false);
    k().reduce('sum', g.data, [R, C], [1], s.data);
    const sm = unaryArr('exp', out);
    const prod = binaryArr('mul', reshapeArr(sm, [R, C]), broadcastArr(s, [R, C]));
    return [reshapeArr(binaryArr('sub', reshapeArr(g, [R, C]), prod), g.shape)];
  },
};

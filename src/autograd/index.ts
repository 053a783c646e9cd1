export { Arr, Node, owned, isOwned, type Owned, type Savable, type Variable, type OpDef, type BackwardCtx, type ForwardResult } from './types.js';
export { ops, type OpName, type OpAttrs, type NormAttrs, type ReduceAttrs } from './ops/index.js';
export { apply, backward, noGrad, isGradEnabled, onBackwardEnd } from './tape.js';

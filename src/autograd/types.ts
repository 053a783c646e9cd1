import type { DType, FloatArray, Shape } from '../kernels/types.js';

/** A plain n-d array: what ops compute with. Tensor (one layer up) implements it. */
export interface Arr {
  readonly data: FloatArray;
  readonly shape: Shape;
  readonly dtype: DType;
}

/** What the tape needs from a tensor: its value, whether it wants a gradient, and the node that made it. */
export interface Variable extends Arr {
  readonly requiresGrad: boolean;
  readonly node: Node | null;
  /**
   * Add g into this leaf's .grad (called by backward for leaves that require grad). With `handOver` the
   * leaf may keep g's array as its gradient when it has none yet (the tape guarantees nothing else uses it).
   */
  accumulateGrad(g: Arr, handOver?: boolean): void;
}

/** What backward receives: the op's inputs and output values, what forward saved, attrs, and which inputs need grads. */
export interface BackwardCtx<A> {
  readonly inputs: readonly (Arr | null)[];
  readonly out: Arr;
  readonly saved: unknown;
  readonly attrs: A;
  readonly needs: readonly boolean[];
}

/**
 * One entry of the op table: a forward and its hand-written backward. `backward` returns one gradient
 * per input (null where the input is null or needs none). `saved` holds what backward needs beyond the
 * inputs and output; its direct typed-array fields must be private to the op (never an input's or the
 * output's storage): the tape frees them once backward has run.
 */
export interface OpDef<A> {
  forward(inputs: readonly (Arr | null)[], attrs: A): { out: Arr; saved?: unknown };
  backward(ctx: BackwardCtx<A>, grad: Arr): (Arr | null)[];
}

/** A recorded application of an op: the tape's unit. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly (Variable | null)[];
  readonly attrs: unknown;
  readonly needs: readonly boolean[];
  readonly out: Arr;
  saved: unknown;
  /** Set once backward has run through this node and freed what it saved. */
  released: boolean;
}

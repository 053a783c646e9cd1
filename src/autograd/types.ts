import type { DType, FloatArray, Shape } from '../kernels/types.js';
import type { Storage } from '../memory/index.js';

/**
 * A plain n-d array over a storage: what ops compute with. `data` gives the values as kernels take them
 * (a device view for the wasm backend), valid for the op in progress: ops read it right before each kernel
 * call and never keep it.
 */
export class Arr {
  constructor(readonly storage: Storage, readonly shape: Shape) {}

  get dtype(): DType {
    return this.storage.dtype;
  }

  get data(): FloatArray {
    return this.storage.read();
  }
}

/** What the tape needs from a tensor: its storage, whether it wants a gradient, and the node that made it. */
export interface Variable {
  readonly storage: Storage;
  readonly shape: Shape;
  readonly dtype: DType;
  /** The tensor's values as an Arr (same storage and shape). */
  readonly arr: Arr;
  readonly requiresGrad: boolean;
  readonly node: Node | null;
  /**
   * Add g into this leaf's .grad (called by backward for leaves that require grad). With `handOver` the
   * leaf may keep g's storage as its gradient when it has none yet (the tape guarantees nothing else uses it).
   */
  accumulateGrad(g: Arr, handOver?: boolean): void;
}

/** What backward receives: the op's inputs and output values, what forward saved, attrs, and which inputs need grads. */
export interface BackwardCtx<A, S> {
  readonly inputs: readonly (Arr | null)[];
  readonly out: Arr;
  readonly saved: S;
  readonly attrs: A;
  readonly needs: readonly boolean[];
}

declare const OWNED: unique symbol;

/**
 * An Arr an op allocated for its own backward and hands to the tape, made with `owned(arr)`: the tape frees it
 * once backward has run through the op (at once when nothing is recorded). The type says who frees it.
 */
export type Owned = Arr & { readonly [OWNED]: true };

const ownedArrs = new WeakSet<Arr>();

/** Mark `a` (allocated by the op for its backward) as the tape's to free. */
export function owned(a: Arr): Owned {
  ownedArrs.add(a);
  return a as Owned;
}

/** Whether `v` was marked with `owned` (the tape frees exactly these). */
export function isOwned(v: unknown): v is Owned {
  return v instanceof Arr && ownedArrs.has(v);
}

/**
 * What an op may save for backward: plain values, host arrays, nested objects of those, and Arrs it owns
 * (`Owned`). An Arr that is not `Owned` — an input, the output, anything the op did not allocate for backward —
 * is a type error here: backward reads inputs and output from its context, and the tape never has to guess
 * what it may free.
 */
export type Savable<S> = S extends Arr ? (S extends Owned ? S : never)
  : S extends ArrayBufferView ? S
  : S extends object ? { [K in keyof S]: S[K] extends Arr ? (S[K] extends Owned ? S[K] : never) : Plain<S[K]> } : S;

/** Values with no Arr anywhere in them (deeper than one object down the tape would not find an Owned). */
type Plain<S> = S extends Arr ? never : S extends ArrayBufferView ? S : S extends object ? { [K in keyof S]: Plain<S[K]> } : S;

/**
 * What an op's forward returns. `saved` holds what backward needs beyond the inputs and output (see
 * `Savable`: the `Owned` Arrs in it — `saved` itself or its fields — are freed by the tape). `aux` is a
 * side result for the caller (for example the batch statistics BN's running averages are made from); it
 * carries no gradient.
 */
export interface ForwardResult<S = undefined> {
  out: Arr;
  saved?: Savable<S>;
  aux?: Record<string, Arr>;
}

/**
 * One entry of the op table: a forward and its hand-written backward. `backward` returns one gradient
 * per input (null where the input is null or needs none). Ops are deterministic functions of their inputs
 * and attributes (attributes are plain values, never storage), so any output can be computed again from them
 * (the storage layer's recipes rely on it).
 */
export interface OpDef<A, S = unknown> {
  forward(inputs: readonly (Arr | null)[], attrs: A): ForwardResult<S>;
  backward(ctx: BackwardCtx<A, S>, grad: Arr): (Arr | null)[];
}

/** A recorded application of an op: the tape's unit. */
export class Node {
  /** Set once backward has run through this node and released what it held. */
  released = false;

  constructor(
    readonly op: string,
    readonly inputs: readonly (Variable | null)[],
    readonly attrs: unknown,
    readonly needs: readonly boolean[],
    readonly out: Arr,
    public saved: unknown,
  ) {}
}

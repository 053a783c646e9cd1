/**
 * Where the library is in its own code: the state that lets storage know who can still see it.
 *
 * `depth` counts nested library calls (ops, built-in modules' forward, backward, optimizer steps). Storage
 * born while depth > 0 is private to the outermost call in progress (`arena`); when that call returns, what
 * it returns becomes visible to user code and every other private storage nobody references (no recorded
 * op holds it) is freed at once. Device buffers read during a library call are pinned until it returns, so
 * no eviction can pull them from under a kernel. `scopes` are the user's explicit `scope()` frames.
 *
 * Kept free of imports so every module of the layer can use it.
 */
export interface Ownable {
  owner: 'private' | 'managed' | 'persistent';
}

export interface Pinnable {
  pins: number;
}

export const ctx = {
  depth: 0,
  /** Storage born in the outermost library call in progress (checked when it returns). */
  arena: [] as Ownable[],
  /** Device buffers read during it (unpinned when it returns). */
  pinned: [] as Pinnable[],
  /** The open scope() frames, innermost last: the storage made while each was open. */
  scopes: [] as Ownable[][],
  /** The op whose forward is running (for error messages). */
  op: null as string | null,
};

/**
 * DataLoader: mini-batches over an in-memory dataset, reshuffled every epoch, resumable exactly.
 */
import { arrayFor, type DType } from '../kernels/index.js';
import { checkOptions } from '../nn/check.js';
import { hostStorage } from '../memory/index.js';
import { globalRng, Rng, type RngState } from '../random.js';
import { Tensor } from '../tensor/index.js';
import { permutation, type Dataset } from './dataset.js';

export interface DataLoaderOptions {
  /** Samples per batch; a positive integer. Required. */
  batchSize: number;
  /** Draw a new random order every epoch (default true); false keeps the dataset's order. */
  shuffle?: boolean;
  /** Drop the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
  /** Seed of the loader's own generator (default: one draw from the global generator, see manualSeed). */
  seed?: number;
  /** dtype of the batch tensors (default 'float32'). */
  dtype?: DType;
  /**
   * Data-parallel sharding: this loader yields rank `rank`'s share of each global batch of `batchSize` samples
   * (a contiguous slice; sizes differ by at most one, the lower ranks taking the extra samples). Every rank
   * must use the same seed (and dataset and options): the ranks then draw the same order and together cover
   * each epoch exactly once, batch by batch, with the same number of batches.
   */
  shard?: { readonly rank: number; readonly worldSize: number };
}

/** One mini-batch. Shape: x [B, features], y [B], indices [B] (rows of the dataset). */
export interface Batch {
  readonly x: Tensor;
  readonly y: Int32Array;
  /** The dataset rows in this batch, in batch order. */
  readonly indices: Int32Array;
  /** The batch's position within its epoch (0-based). */
  readonly index: number;
  /** The epoch it belongs to (0-based). */
  readonly epoch: number;
}

/** Everything needed to resume a loader exactly (plain JSON). */
export interface DataLoaderState {
  readonly epoch: number;
  /** Batches of the current epoch already yielded. */
  readonly position: number;
  /** The generator's state at the start of the current epoch (its permutation is drawn from it). */
  readonly rng: RngState;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly count: number;
}

const OPTION_NAMES = ['batchSize', 'shuffle', 'dropLast', 'seed', 'dtype', 'shard'];
/** PyTorch's names for the same options. */
const PYTORCH_NAMES = { batch_size: "PyTorch's batch_size is batchSize", drop_last: "PyTorch's drop_last is dropLast", num_workers: 'loading runs in this thread; for data-parallel training see shard' };

/**
 * Iterates a dataset in mini-batches, like `torch.utils.data.DataLoader` for in-memory data.
 *
 * `for (const b of loader)` yields the remaining batches of the current epoch (a whole epoch when it
 * starts fresh), then moves to the next epoch; a new random order is drawn per epoch (shuffle = true) from
 * the loader's own generator, so the sequence of batches depends only on the seed. Leaving a loop early
 * and iterating again continues the same epoch. `batches()` is the endless form for step-based training.
 * `stateDict()` / `loadStateDict()` save and restore the epoch, the position within it and the
 * generator, so a resumed loader yields exactly the batches an uninterrupted one would.
 *
 * Defaults: shuffle = true, dropLast = false, dtype 'float32', seed drawn from the global generator.
 *
 * Shape: batch x [B, features] with B = batchSize (the last batch of an epoch is smaller unless dropLast),
 * y [B] int labels. With `shard: { rank, worldSize }`, B is this rank's share of the global batch:
 * ⌊batchSize/worldSize⌋ or one more (ranks below batchSize mod worldSize).
 *
 * Example:
 * ```ts
 * const train = data.syntheticDataset({ n: 600, features: 10, classes: 3 });
 * const loader = new data.DataLoader(train, { batchSize: 60, seed: 0 });
 * for (const { x, y } of loader) { x.shape; }            // one epoch: 10 batches of [60, 10]
 * let step = 0;
 * for (const b of loader.batches()) { if (++step === 25) break; }   // endless, across epochs
 * const saved = loader.stateDict();                      // later: loader.loadStateDict(saved)
 * loader.epoch; // => 3
 * const shard = new data.DataLoader(train, { batchSize: 60, seed: 0, shard: { rank: 1, worldSize: 2 } });
 * // rank 1 of 2 takes rows 30…59 of each global batch of 60
 * [...shard][0].x.shape; // => [30, 10]
 * ```
 */
export class DataLoader implements Iterable<Batch> {
  readonly dataset: Dataset;
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly dropLast: boolean;
  readonly dtype: DType;
  /** This loader's shard (rank and world size), or null. */
  readonly shard: { readonly rank: number; readonly worldSize: number } | null;
  readonly #rng: Rng;
  #epochStart: RngState;
  #order: Int32Array | null = null;
  #epoch = 0;
  #position = 0;

  constructor(dataset: Dataset, options: DataLoaderOptions) {
    if (options === null || typeof options !== 'object') throw new Error('DataLoader: options { batchSize } are required');
    checkOptions('DataLoader', options, OPTION_NAMES, PYTORCH_NAMES);
    const { batchSize, shuffle = true, dropLast = false, seed, dtype = 'float32', shard } = options;
    checkDataset(dataset);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`DataLoader: batchSize must be a positive integer, got ${batchSize}`);
    if (typeof shuffle !== 'boolean') throw new Error(`DataLoader: shuffle must be a boolean, got ${shuffle}`);
    if (typeof dropLast !== 'boolean') throw new Error(`DataLoader: dropLast must be a boolean, got ${dropLast}`);
    if (dropLast && batchSize > dataset.count)
      throw new Error(`DataLoader: batchSize ${batchSize} is larger than the dataset (${dataset.count} samples) with dropLast = true: no batch would be produced`);
    if (seed !== undefined && !Number.isFinite(seed)) throw new Error(`DataLoader: seed must be a finite number, got ${seed}`);
    if (dtype !== 'float32' && dtype !== 'float64') throw new Error(`DataLoader: dtype must be 'float32' or 'float64', got '${dtype}'`);
    if (shard !== undefined) checkShard(shard, dataset.count, batchSize, dropLast);
    this.dataset = dataset;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.dropLast = dropLast;
    this.dtype = dtype;
    this.shard = shard ? { rank: shard.rank, worldSize: shard.worldSize } : null;
    this.#rng = new Rng(seed ?? globalRng.nextU32());
    this.#epochStart = this.#rng.getState();
  }

  /** Batches per epoch: ⌈N / B⌉, or ⌊N / B⌋ with dropLast. */
  get length(): number {
    const n = this.dataset.count, b = this.batchSize;
    return this.dropLast ? Math.floor(n / b) : Math.ceil(n / b);
  }

  /** The current epoch (0-based). */
  get epoch(): number {
    return this.#epoch;
  }

  /** Batches of the current epoch already yielded. */
  get position(): number {
    return this.#position;
  }

  /** The remaining batches of the current epoch; then the loader moves on to the next epoch. */
  *[Symbol.iterator](): Generator<Batch, void, undefined> {
    if (this.#position >= this.length) this.#nextEpoch();
    const epoch = this.#epoch;
    while (this.#epoch === epoch && this.#position < this.length) {
      const b = this.#batch(this.#position);
      this.#position++;
      yield b;
    }
    if (this.#epoch === epoch && this.#position >= this.length) this.#nextEpoch();
  }

  /** Batches without end, epoch after epoch (break out of the loop to stop). */
  *batches(): Generator<Batch, never, undefined> {
    for (;;) yield* this;
  }

  /** The loader's progress and generator state (plain JSON; see loadStateDict). */
  stateDict(): DataLoaderState {
    const { s, spare } = this.#epochStart;
    return {
      epoch: this.#epoch, position: this.#position, rng: { s: [s[0], s[1], s[2], s[3]], spare },
      batchSize: this.batchSize, shuffle: this.shuffle, dropLast: this.dropLast, count: this.dataset.count,
    };
  }

  /** Restore a state from stateDict(); the loader's batchSize, shuffle, dropLast and dataset size must match. */
  loadStateDict(state: DataLoaderState): void {
    if (state === null || typeof state !== 'object') throw new Error('DataLoader.loadStateDict: expected an object from stateDict()');
    for (const k of ['batchSize', 'shuffle', 'dropLast', 'count'] as const) {
      const mine = k === 'count' ? this.dataset.count : this[k];
      if (state[k] !== mine) throw new Error(`DataLoader.loadStateDict: ${k} is ${state[k]} in the state but ${mine} in this loader`);
    }
    if (!Number.isInteger(state.epoch) || state.epoch < 0) throw new Error(`DataLoader.loadStateDict: epoch must be a non-negative integer, got ${state.epoch}`);
    if (!Number.isInteger(state.position) || state.position < 0 || state.position > this.length)
      throw new Error(`DataLoader.loadStateDict: position ${state.position} is outside [0, ${this.length}] batches per epoch`);
    this.#rng.setState(state.rng);
    this.#epochStart = this.#rng.getState();
    this.#order = null;
    this.#epoch = state.epoch;
    this.#position = state.position;
  }

  /** This epoch's order of rows, drawn from the epoch's starting generator state. */
  #currentOrder(): Int32Array {
    if (!this.#order) {
      this.#rng.setState(this.#epochStart);
      this.#order = this.shuffle ? permutation(this.dataset.count, this.#rng) : Int32Array.from({ length: this.dataset.count }, (_, i) => i);
    }
    return this.#order;
  }

  #nextEpoch(): void {
    this.#currentOrder(); // advances the generator past this epoch's permutation
    this.#epochStart = this.#rng.getState();
    this.#order = null;
    this.#epoch++;
    this.#position = 0;
  }

  #batch(k: number): Batch {
    const { x: X, y: Y, count, features: f } = this.dataset;
    let start = k * this.batchSize, end = Math.min(start + this.batchSize, count);
    if (this.shard) {
      // this rank's contiguous share of the global batch [start, end)
      const { rank, worldSize: W } = this.shard, b = end - start, q = Math.floor(b / W), extra = b % W;
      start += rank * q + Math.min(rank, extra);
      end = start + q + (rank < extra ? 1 : 0);
    }
    const indices = this.#currentOrder().slice(start, end);
    const b = indices.length;
    const x = new (arrayFor(this.dtype))(b * f);
    const y = new Int32Array(b);
    for (let i = 0; i < b; i++) {
      const r = indices[i];
      x.set(X.subarray(r * f, (r + 1) * f), i * f);
      y[i] = Y[r];
    }
    return { x: new Tensor(hostStorage(x), [b, f]), y, indices, index: k, epoch: this.#epoch };
  }
}

function checkShard(shard: { rank: number; worldSize: number }, count: number, batchSize: number, dropLast: boolean): void {
  if (shard === null || typeof shard !== 'object') throw new Error('DataLoader: shard must be { rank, worldSize }');
  const { rank, worldSize } = shard;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new Error(`DataLoader: shard.worldSize must be a positive integer, got ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new Error(`DataLoader: shard.rank must be an integer in [0, ${worldSize}), got ${rank}`);
  if (batchSize < worldSize) throw new Error(`DataLoader: batchSize ${batchSize} (the global batch) is smaller than shard.worldSize ${worldSize}: some ranks would get no samples`);
  const last = count % batchSize;
  if (!dropLast && last > 0 && last < worldSize)
    throw new Error(`DataLoader: the last batch of an epoch holds ${last} samples (${count} samples, batchSize ${batchSize}), fewer than shard.worldSize ${worldSize}: some ranks would get none; use dropLast: true or another batchSize`);
}

function checkDataset(d: Dataset): void {
  if (!d || !(d.x instanceof Float32Array) || !(d.y instanceof Int32Array))
    throw new Error('DataLoader: dataset must be { x: Float32Array, y: Int32Array, count, features }');
  if (!Number.isInteger(d.count) || d.count < 1) throw new Error(`DataLoader: the dataset is empty (count ${d.count})`);
  if (d.y.length !== d.count || d.x.length !== d.count * d.features)
    throw new Error(`DataLoader: dataset x [${d.x.length}] and y [${d.y.length}] do not match count ${d.count} × features ${d.features}`);
}

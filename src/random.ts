/**
 * The seeded random number generator behind every random tensor, initializer and shuffle:
 * xoshiro128** (32-bit state words, fast in JavaScript), seeded through splitmix32; normals by Box–Muller.
 * Its whole state is a small plain object so checkpoints can save and restore it exactly.
 */
export interface RngState {
  readonly s: readonly [number, number, number, number];
  /** The second normal of the last Box–Muller pair, not yet used (null when none is pending). */
  readonly spare: number | null;
}

export class Rng {
  private s0 = 0; private s1 = 0; private s2 = 0; private s3 = 0;
  private spare: number | null = null;

  constructor(seed = 0) { this.seed(seed); }

  seed(seed: number): void {
    if (!Number.isFinite(seed)) throw new Error(`manualSeed: seed must be a finite number, got ${seed}`);
    // splitmix32 expands the seed into four non-zero state words.
    let z = (Math.floor(seed) ^ 0x9e3779b9) >>> 0;
    const next = () => {
      z = (z + 0x9e3779b9) >>> 0;
      let t = z ^ (z >>> 16); t = Math.imul(t, 0x21f0aaad);
      t ^= t >>> 15; t = Math.imul(t, 0x735a2d97);
      return (t ^ (t >>> 15)) >>> 0;
    };
    this.s0 = next(); this.s1 = next(); this.s2 = next(); this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
    this.spare = null;
  }

  /** A uniform 32-bit unsigned integer. */
  nextU32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0; this.s3 ^= this.s1; this.s1 ^= this.s2; this.s0 ^= this.s3;
    this.s2 ^= t; this.s3 = rotl(this.s3, 11);
    return r;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextU32() >>> 5, lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Box–Muller; the pair's second value is kept for the next call). */
  normal(): number {
    if (this.spare !== null) { const v = this.spare; this.spare = null; return v; }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u)), th = 2 * Math.PI * v;
    this.spare = r * Math.sin(th);
    return r * Math.cos(th);
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  getState(): RngState {
    return { s: [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0], spare: this.spare };
  }

  setState(st: RngState): void {
    if (!st || !Array.isArray(st.s) || st.s.length !== 4 || !st.s.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32))
      throw new Error('setRngState: expected { s: [four uint32 words], spare: number | null }');
    [this.s0, this.s1, this.s2, this.s3] = st.s;
    this.spare = st.spare ?? null;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** The global generator used by randn, rand, nn.init and data shuffling unless one is passed in. */
export const globalRng = new Rng(0);

/** Seed the global generator (like torch.manual_seed): the same seed gives the same numbers. */
export function manualSeed(seed: number): void {
  globalRng.seed(seed);
}

export function getRngState(): RngState {
  return globalRng.getState();
}

export function setRngState(state: RngState): void {
  globalRng.setState(state);
}

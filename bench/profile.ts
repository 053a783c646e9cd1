/**
 * Where a step's time goes: every kernel of the active backend is wrapped with a timer for `steps` steps of a
 * workload, and the step's wall time is split into the kernels' shares and the rest — JavaScript outside the
 * kernels (autograd, storage bookkeeping, dispatch). The timers cost ~0.2 µs per kernel call, charged to the rest.
 */
import { getBackend, type Kernels } from '../src/kernels/index.js';
import { memoryStats } from '../src/index.js';
import { warm } from './timing.js';

export interface Profile {
  readonly stepMs: number;
  /** Kernel name → ms per step, largest first; "other" is the remainder. */
  readonly shares: readonly [string, number][];
  /** Kernel calls per step. */
  readonly calls: number;
}

export function profileSteps(step: () => void, steps: number, warmup = 20): Profile {
  // Warm up as the timings do: until device memory stops growing (a loop without scopes grows it at first).
  warm(step, { warmup, reps: 0, warmMs: 300, inUse: () => memoryStats()?.inUse ?? 0 }, 20_000);
  const k = getBackend().kernels as unknown as Record<string, (...a: unknown[]) => unknown>;
  const original = { ...k };
  const time = new Map<string, number>();
  let calls = 0, depth = 0;
  for (const [name, f] of Object.entries(original)) {
    if (typeof f !== 'function') continue;
    k[name] = (...args: unknown[]) => {
      // Kernels calling kernels (the conv uses matmul): count the outer call only.
      if (depth > 0) return f(...args);
      depth++;
      const t = performance.now();
      try { return f(...args); } finally {
        depth--;
        time.set(name, (time.get(name) ?? 0) + performance.now() - t);
        calls++;
      }
    };
  }
  try {
    for (let i = 0; i < 5; i++) step();
    // Five rounds of steps/5 steps; the round with the median step time is reported (one collection or a
    // neighbour's burst on a shared machine would otherwise land in the shares).
    const rounds: Profile[] = [];
    const per = Math.max(1, Math.round(steps / 5));
    for (let r = 0; r < 5; r++) {
      time.clear(); calls = 0;
      const t0 = performance.now();
      for (let i = 0; i < per; i++) step();
      const total = (performance.now() - t0) / per;
      const shares: [string, number][] = [...time].map(([n, ms]) => [n, ms / per] as [string, number]).sort((a, b) => b[1] - a[1]);
      const inKernels = shares.reduce((s, [, v]) => s + v, 0);
      shares.push(['other (JavaScript outside kernels)', Math.max(0, total - inKernels)]);
      rounds.push({ stepMs: total, shares, calls: calls / per });
    }
    return rounds.sort((a, b) => a.stepMs - b.stepMs)[2];
  } finally {
    Object.assign(k, original as unknown as Kernels);
  }
}

/** One line per workload: the step time and its largest shares. */
export function formatProfile(label: string, p: Profile, top = 6): string {
  const parts = p.shares.slice(0, top).map(([n, ms]) => `${n} ${ms.toFixed(2)} ms (${((100 * ms) / p.stepMs).toFixed(0)}%)`);
  const other = p.shares[p.shares.length - 1];
  if (!p.shares.slice(0, top).includes(other)) parts.push(`${other[0]} ${other[1].toFixed(2)} ms (${((100 * other[1]) / p.stepMs).toFixed(0)}%)`);
  return `${label}: ${p.stepMs.toFixed(2)} ms per step, ${p.calls.toFixed(0)} kernel calls — ${parts.join(', ')}`;
}

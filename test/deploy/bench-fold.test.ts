import { describe, expect, it } from 'vitest';
import { foldBench, foldPair, foldTable, FOLD_MODELS } from '../../bench/fold.js';

// The folding benchmark's workload once on a tiny batch: it must run and compare equal outputs, not be fast.
describe('bench/fold.ts smoke', () => {
  it('folds both benchmark models fully and times them', () => {
    expect(FOLD_MODELS.map((m) => foldPair(m).foldedCount)).toEqual([3, 2]);
    const rows = foldBench({ quick: true, batches: [2] });
    expect(rows.map((r) => [r.model, r.batch])).toEqual(FOLD_MODELS.map((m) => [m.name, 2]));
    for (const r of rows) {
      expect(r.relDiff).toBeLessThan(1e-5);
      expect(r.before.median).toBeGreaterThan(0);
      expect(r.speedup).toBeGreaterThan(0);
    }
    expect(foldTable(rows)).toContain('| paper MLP (784-100×3-10, BN1d) | 2 |');
  });
});

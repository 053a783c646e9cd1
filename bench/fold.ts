/**
 * BN folding (issue 11, claim 7): eval-mode inference of the paper MLP and the small CNN before and after
 * deploy.foldBatchNorm, at batch 1, 64 and 1024, on the active backend and thread count. The two models get
 * trained-looking statistics first (train-mode forwards, random γ and β), so folding has real work to do.
 */
import { deploy, manualSeed, models, nn, noGrad, rand, scope, type Tensor } from '../src/index.js';
import { measure, summarize, type Reps, type Timing } from './timing.js';

export const FOLD_BATCHES = [1, 64, 1024] as const;

export interface FoldRow {
  model: string;
  batch: number;
  before: Timing;
  after: Timing;
  /** before ÷ after (median wall time). */
  speedup: number;
  /** Largest |folded − original| over the outputs, relative to the largest |original|. */
  relDiff: number;
}

export interface FoldModel {
  readonly name: string;
  readonly make: () => nn.Sequential;
  readonly features: number;
}

/** The two models the issue names: the BN paper's MLP (784-100-100-100-10, sigmoid, BN) and the small CNN. */
export const FOLD_MODELS: readonly FoldModel[] = [
  { name: 'paper MLP (784-100×3-10, BN1d)', make: () => models.mlp({ norm: 'batch' }), features: 784 },
  { name: 'small CNN (conv16-BN-conv32-BN)', make: () => models.cnn(), features: 784 },
];

/** The model in eval mode with running statistics away from their initial 0 and 1, and its folded copy. */
export function foldPair(m: FoldModel): { original: nn.Sequential; folded: nn.Sequential; foldedCount: number } {
  manualSeed(0);
  const original = m.make();
  noGrad(() => { for (let i = 0; i < 3; i++) scope(() => { original.forward(rand([32, m.features])); }); });
  for (const b of original.modules())
    if (b instanceof nn.BatchNorm && b.weight && b.bias) { nn.init.uniform(b.weight, 0.5, 2); nn.init.uniform(b.bias, -0.5, 0.5); }
  original.eval();
  const { model, folded } = deploy.foldBatchNorm(original);
  return { original, folded: model, foldedCount: folded.length };
}

function relDiff(a: Tensor, b: Tensor): number {
  let d = 0, s = 0;
  const x = a.data, y = b.data;
  for (let i = 0; i < y.length; i++) { d = Math.max(d, Math.abs(x[i] - y[i])); s = Math.max(s, Math.abs(y[i])); }
  return d / (s || 1);
}

/** Time inference before and after folding for each model and batch size. */
export function foldBench({ quick = false, batches = FOLD_BATCHES, log = () => {} }: { quick?: boolean; batches?: readonly number[]; log?: (s: string) => void } = {}): FoldRow[] {
  const rows: FoldRow[] = [];
  for (const m of FOLD_MODELS) {
    const { original, folded } = foldPair(m);
    for (const batch of batches) {
      manualSeed(1);
      const x = rand([batch, m.features]);
      const infer = (net: nn.Module) => () => noGrad(() => scope(() => { net.forward(x); }));
      const reps: Reps = quick ? { warmup: 1, reps: 3, warmMs: 50 } : batch >= 1024 ? { warmup: 2, reps: 7, warmMs: 500 } : { warmup: 20, reps: 15, warmMs: 500 };
      // Many forwards per sample at small batches, so a sample is well above the timer's resolution.
      const inner = Math.max(1, Math.round((quick ? 64 : 512) / batch));
      const repeat = (f: () => void) => () => { for (let i = 0; i < inner; i++) f(); };
      log(`fold bench: ${m.name}, batch ${batch}…`);
      // Rounds alternate the two, so drift on a shared machine hits both alike; samples are per forward.
      const b: number[] = [], a: number[] = [], bc: number[] = [], ac: number[] = [];
      for (let round = 0; round < (quick ? 1 : 3); round++) {
        const tb = measure(repeat(infer(original)), reps), ta = measure(repeat(infer(folded)), reps);
        b.push(...tb.samples.map((v) => v / inner)); bc.push(...(tb.cpuSamples ?? []).map((v) => v / inner));
        a.push(...ta.samples.map((v) => v / inner)); ac.push(...(ta.cpuSamples ?? []).map((v) => v / inner));
      }
      const before = summarize(b, bc), after = summarize(a, ac);
      const [y0, y1] = noGrad(() => [original.forward(x), folded.forward(x)]);
      rows.push({ model: m.name, batch, before, after, speedup: before.median / after.median, relDiff: relDiff(y1, y0) });
    }
  }
  return rows;
}

/** A markdown table of the rows. */
export function foldTable(rows: readonly FoldRow[]): string {
  const ms = (v: number) => (v < 0.1 ? `${(v * 1000).toFixed(1)} µs` : `${v.toFixed(3)} ms`);
  const cpu = (r: FoldRow) => (r.before.cpuMedian && r.after.cpuMedian ? `${(r.before.cpuMedian / r.after.cpuMedian).toFixed(2)}×` : '–');
  const lines = ['| model | batch | before folding | after folding | speed-up (wall) | speed-up (CPU time) | max rel. output diff |', '|---|---:|---:|---:|---:|---:|---:|'];
  for (const r of rows)
    lines.push(`| ${r.model} | ${r.batch} | ${ms(r.before.median)} | ${ms(r.after.median)} | ${r.speedup.toFixed(2)}× | ${cpu(r)} | ${r.relDiff.toExponential(1)} |`);
  return lines.join('\n');
}

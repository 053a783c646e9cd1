import type { Timing } from './timing.js';

/** One measured row: an implementation of a workload group. Timings are ms per unit (per step for MLPs). */
export interface Entry {
  readonly group: string;
  readonly impl: string;
  readonly timing: Timing;
  /** The normlab row the group's ratios are taken against. */
  readonly ref?: boolean;
  /** For normlab rows: the loop as a PyTorch user writes it, or wrapped in scope. */
  readonly variant?: 'natural' | 'scoped';
  /** For normlab rows: threads, backend name, and whether the row times raw kernels. */
  readonly threads?: number;
  readonly backend?: string;
  readonly kernel?: boolean;
  readonly note?: string;
}

/**
 * A workload group: a title, and for memory-bound ones the floor in ms (at the median copy bandwidth; also
 * at the best copy, which a busy machine depresses less). `rate`: show steps/s, not ms.
 */
export interface Group {
  readonly key: string;
  readonly title: string;
  readonly floorMs?: number;
  readonly floorBestMs?: number;
  /** The floor with every core copying at once (the goal's basis; the "÷ floor" column uses it when present). */
  readonly floorAllMs?: number;
  readonly rate?: boolean;
}

const num = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (v: number): string => (v >= 10 ? v.toFixed(0) : v.toFixed(2));

function cells(g: Group, t: Timing): [string, string, string] {
  const cpu = t.cpuMedian === undefined ? '' : `${num(t.cpuMedian)} ms`;
  if (g.rate) return [`${num(1e3 / t.median)} steps/s`, `${num(1e3 / t.max)}–${num(1e3 / t.min)}`, cpu && `${cpu}/step`];
  return [`${num(t.median)} ms`, `${num(t.min)}–${num(t.max)}`, cpu];
}

/**
 * The markdown table: per group, the normlab reference row, the other rows, then the memory floors.
 * "normlab ÷ this" is normlab's time over this row's time (below 1: normlab is faster), from the wall-clock
 * medians and from the CPU-time medians; "÷ floor" is this row's wall-clock time over the memory floor with
 * every core copying (the one-core floor when that was not measured).
 */
export function table(groups: readonly Group[], entries: readonly Entry[]): string {
  const head = ['workload', 'implementation', 'median (wall)', 'spread (min–max)', 'CPU time', 'normlab ÷ this (wall)', 'normlab ÷ this (CPU)', '÷ floor'];
  const rows: string[][] = [];
  for (const g of groups) {
    const es = entries.filter((e) => e.group === g.key);
    if (!es.length) continue;
    const ref = es.find((e) => e.ref);
    const sorted = [...es.filter((e) => e.ref), ...es.filter((e) => !e.ref)];
    sorted.forEach((e, i) => {
      const [med, spread, cpu] = cells(g, e.timing);
      const rc = ref?.timing.cpuMedian, ec = e.timing.cpuMedian;
      rows.push([i === 0 ? g.title : '', e.impl + (e.note ? ` (${e.note})` : ''), med, spread, cpu,
        ref && e !== ref ? ratio(ref.timing.median / e.timing.median) : '—',
        ref && e !== ref && rc !== undefined && ec !== undefined ? ratio(rc / ec) : '—',
        g.floorAllMs ?? g.floorMs ? ratio(e.timing.median / (g.floorAllMs ?? g.floorMs)!) : '']);
    });
    if (g.floorMs) rows.push(['', 'memory floor, 1 core', `${num(g.floorMs)} ms`, g.floorBestMs ? `${num(g.floorBestMs)} at the best copy` : '', '', '', '', g.floorAllMs ? ratio(g.floorMs / g.floorAllMs) : '1']);
    if (g.floorAllMs) rows.push(['', 'memory floor, every core', `${num(g.floorAllMs)} ms`, '', '', '', '', '1']);
  }
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * The loop a PyTorch user writes against the same work in scopes (issue 8's goal: within 10%): for every group
 * and backend with both rows, natural ÷ scoped time from the wall-clock and the CPU-time medians.
 */
export function naturalVsScoped(groups: readonly Group[], entries: readonly Entry[]): string {
  const head = ['workload', 'backend', 'natural', 'scoped', 'natural ÷ scoped (wall)', 'natural ÷ scoped (CPU)', 'within 10% (CPU)'];
  const rows: string[][] = [];
  for (const g of groups) {
    const es = entries.filter((e) => e.group === g.key && e.variant);
    for (const nat of es.filter((e) => e.variant === 'natural')) {
      const base = nat.impl.replace(/, natural$/, '');
      const sc = es.find((e) => e.variant === 'scoped' && e.impl.replace(/, scoped$/, '') === base);
      if (!sc) continue;
      const wall = nat.timing.median / sc.timing.median;
      const cpu = nat.timing.cpuMedian !== undefined && sc.timing.cpuMedian !== undefined ? nat.timing.cpuMedian / sc.timing.cpuMedian : undefined;
      // Judged on CPU time where there is one: single-threaded work on a shared machine, where wall time
      // also counts the time other tenants took the core.
      const judged = cpu ?? wall;
      rows.push([g.title, base.replace(/^normlab (nn\.BatchNorm2d )?/, ''), cells(g, nat.timing)[0], cells(g, sc.timing)[0], ratio(wall), cpu === undefined ? '—' : ratio(cpu), judged <= 1.1 ? 'yes' : 'no']);
    }
  }
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Time of the entry whose implementation label starts with `prefix` (first match), or undefined. */
function find(entries: readonly Entry[], group: string, test: (e: Entry) => boolean): Entry | undefined {
  return entries.find((e) => e.group === group && test(e));
}

/**
 * Thread scaling: per workload, normlab's time with 1 thread and with all threads (per wasm build), and PyTorch's
 * one-thread row against its defaults.
 */
export function threadScaling(groups: readonly Group[], entries: readonly Entry[], allThreads: number): string {
  const head = ['workload', 'implementation', '1 thread', `${allThreads} threads`, 'speed-up'];
  const rows: string[][] = [];
  for (const g of groups) {
    const backends = [...new Set(entries.filter((e) => e.group === g.key && e.backend && e.backend !== 'js' && !e.kernel && e.variant === 'natural').map((e) => e.backend!))];
    for (const b of backends) {
      const one = find(entries, g.key, (e) => e.backend === b && e.threads === 1 && e.variant === 'natural' && !e.kernel);
      const all = find(entries, g.key, (e) => e.backend === b && e.threads === allThreads && e.variant === 'natural' && !e.kernel);
      if (one && all) rows.push([g.title, one.impl.replace(/ \[(.*), 1 thread\].*/, ' [$1]'), cells(g, one.timing)[0], cells(g, all.timing)[0], ratio(one.timing.median / all.timing.median)]);
    }
    const t1 = find(entries, g.key, (e) => e.impl === 'PyTorch 1 thread'), td = find(entries, g.key, (e) => e.impl.startsWith('PyTorch defaults') && !e.impl.includes('channels-last'));
    if (t1 && td) rows.push([g.title, 'PyTorch (1 thread vs defaults)', cells(g, t1.timing)[0], cells(g, td.timing)[0], ratio(t1.timing.median / td.timing.median)]);
  }
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/**
 * Issue 9's goals, each met or missed by how much, for every normlab wasm build at all threads (the natural loop):
 * at least as fast as PyTorch with its defaults (BN2d forward+backward against its faster layout, BN2d inference,
 * the paper MLP, the small CNN); the BN rows within 1.25× of the memory floor with every core copying; at least
 * 25× tfjs-wasm on every row it has.
 */
export function goals(groups: readonly Group[], entries: readonly Entry[], allThreads: number): string {
  const head = ['goal', 'workload', 'normlab', 'target', 'ratio', 'met'];
  const rows: string[][] = [];
  const builds = [...new Set(entries.filter((e) => e.backend && e.backend !== 'js').map((e) => e.backend!))];
  const title = (k: string) => groups.find((g) => g.key === k)?.title ?? k;
  const grp = (k: string) => groups.find((g) => g.key === k)!;
  for (const b of builds) {
    const ours = (k: string) => find(entries, k, (e) => e.backend === b && e.threads === allThreads && e.variant === 'natural' && !e.kernel);
    const label = (e: Entry) => e.impl.replace(/ nn\.BatchNorm2d.*|, natural.*/, '');
    for (const k of ['bn.train_fwd_bwd', 'bn.infer', 'mlp.bn', 'cnn']) {
      const o = ours(k);
      const peers = entries.filter((e) => e.group === k && e.impl.startsWith('PyTorch defaults'));
      if (!o || !peers.length) continue;
      const best = peers.reduce((a, e) => (e.timing.median < a.timing.median ? e : a));
      const r = o.timing.median / best.timing.median;
      rows.push([`≤ PyTorch defaults (${label(o)})`, title(k), cells(grp(k), o.timing)[0], `${cells(grp(k), best.timing)[0]} (${best.impl})`, ratio(r), r <= 1 ? 'yes' : `no (${ratio(r)}× its time)`]);
    }
    for (const k of ['bn.train_fwd', 'bn.train_fwd_bwd', 'bn.infer']) {
      const o = ours(k), g = grp(k);
      if (!o || !g.floorAllMs) continue;
      const r = o.timing.median / g.floorAllMs;
      rows.push([`≤ 1.25 × floor, ${allThreads} cores (${label(o)})`, title(k), cells(g, o.timing)[0], `${(1.25 * g.floorAllMs).toFixed(2)} ms`, ratio(r), r <= 1.25 ? 'yes' : `no (${ratio(r)}× the floor)`]);
    }
    for (const g of groups) {
      const o = ours(g.key), tf = find(entries, g.key, (e) => e.impl === 'tfjs-wasm');
      if (!o || !tf) continue;
      const r = tf.timing.median / o.timing.median;
      rows.push([`≥ 25× tfjs-wasm (${label(o)})`, g.title, cells(g, o.timing)[0], cells(g, tf.timing)[0], `${r.toFixed(1)}×`, r >= 25 ? 'yes' : `no (${r.toFixed(1)}×)`]);
    }
  }
  rows.push(['bitwise identical for any thread count', 'every kernel', '', '', '', 'pinned by test/kernels/wasm-threads.test.ts']);
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

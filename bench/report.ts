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
 * The markdown table: per group, the normlab reference row, the other rows, then the memory floor.
 * "normlab ÷ this" is normlab's time over this row's time (below 1: normlab is faster), from the wall-clock
 * medians and from the CPU-time medians; "÷ floor" is this row's wall-clock time over the memory floor.
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
        g.floorMs ? ratio(e.timing.median / g.floorMs) : '']);
    });
    if (g.floorMs) rows.push(['', 'memory floor', `${num(g.floorMs)} ms`, g.floorBestMs ? `${num(g.floorBestMs)} at the best copy` : '', '', '', '', '1']);
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

import type { Timing } from './timing.js';

/** One measured row: an implementation of a workload group. Timings are ms per unit (per step for MLPs). */
export interface Entry {
  readonly group: string;
  readonly impl: string;
  readonly timing: Timing;
  /** The normlab row the group's ratios are taken against. */
  readonly ref?: boolean;
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

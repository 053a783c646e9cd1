/**
 * The lab's charts: uPlot for the live line charts (accuracy, loss, Fig. 1 bands, gradient norms) and
 * Vega-Lite for the activation histograms over time (a heatmap per hidden layer).
 */
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { compile, type TopLevelSpec } from 'vega-lite';
import { parse, View, changeset } from 'vega';

export const COLORS = { bn: '#1f6feb', plain: '#d9480f' } as const;
const LAYER_COLORS = ['#1b9e77', '#7570b3', '#e7298a', '#66a61e', '#e6ab02', '#a6761d', '#666666', '#d95f02'];

export type Series = uPlot.Series;
export type Data = uPlot.AlignedData;

/** A line chart that follows its container's width. */
export function lineChart(el: HTMLElement, series: Series[], { log = false, yRange, bands }: { log?: boolean; yRange?: [number, number]; bands?: uPlot.Band[] } = {}): uPlot {
  const opts: uPlot.Options = {
    width: Math.max(280, el.clientWidth), height: 200,
    legend: { show: true, live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: false }, y: log ? { distr: 3 } : yRange ? { range: yRange } : {} },
    axes: [{ label: 'step', size: 36 }, { size: 56 }],
    series: [{ label: 'step' }, ...series],
    bands,
  };
  const chart = new uPlot(opts, [[], ...series.map(() => [])] as unknown as Data, el);
  new ResizeObserver(() => chart.setSize({ width: Math.max(280, el.clientWidth), height: 200 })).observe(el);
  return chart;
}

export const line = (label: string, stroke: string, dash?: number[]): Series => ({ label, stroke, width: 1.6, dash, spanGaps: true, points: { show: false } });
export const layerColor = (l: number) => LAYER_COLORS[l % LAYER_COLORS.length];

/** The three percentile lines of Fig. 1, with the 15–85 band filled. */
export function bandsChart(el: HTMLElement, color: string): uPlot {
  return lineChart(el, [line('15th', color, [4, 3]), line('50th', color), line('85th', color, [4, 3])], {
    bands: [{ series: [3, 1], fill: `${color}22` }],
  });
}

export interface HistRow { step: number; layer: string; bin: number; share: number }

/** Heatmaps of activation histograms over time: one row per hidden layer. */
export class HistogramChart {
  private view: View | null = null;
  private readonly ready: Promise<void>;

  constructor(el: HTMLElement, lo: number, hi: number, bins: number) {
    const spec: TopLevelSpec = {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      data: { name: 'hist' },
      width: 360, height: 60,
      mark: { type: 'rect' },
      encoding: {
        row: { field: 'layer', type: 'ordinal', title: null, header: { labelAngle: 0, labelAlign: 'left' } },
        x: { field: 'step', type: 'ordinal', title: 'step', axis: { labelOverlap: 'parity', labelSeparation: 6, labelAngle: 0 }, scale: { paddingInner: 0 } },
        y: {
          field: 'bin', type: 'ordinal', title: 'activation', scale: { domain: Array.from({ length: bins }, (_, i) => bins - 1 - i), paddingInner: 0 },
          axis: { values: [bins - 1, bins / 2, 0], labelExpr: `format(${lo} + (datum.value + 0.5) * ${(hi - lo) / bins}, '.1f')` },
        },
        color: { field: 'share', type: 'quantitative', title: 'share', scale: { type: 'sqrt', scheme: 'viridis', domain: [0, 0.5], clamp: true } },
        tooltip: [{ field: 'step' }, { field: 'layer' }, { field: 'bin' }, { field: 'share', format: '.3f' }],
      },
      config: { view: { stroke: null }, axis: { labelFontSize: 10, titleFontSize: 11 } },
    };
    const runtime = parse(compile(spec).spec);
    this.view = new View(runtime, { renderer: 'canvas', container: el, hover: true });
    this.ready = this.view.runAsync().then(() => undefined);
  }

  async update(rows: HistRow[]): Promise<void> {
    await this.ready;
    if (!this.view) return;
    // resize(): the facet adds rows as layers appear, and the canvas must grow with them.
    await this.view.change('hist', changeset().remove(() => true).insert(rows)).resize().runAsync();
  }
}

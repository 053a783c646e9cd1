/**
 * Vega-Lite specifications of the paper figure's three panels, shared by the CLI report (rendered to SVG
 * in Node) and the web lab (rendered live in the page).
 */
import type { ArmResult } from './paper.js';

type Spec = Record<string, unknown>;

const ARM_LABEL = { bn: 'with BN', plain: 'without BN' } as const;

/** (a) Test accuracy against training steps, both arms. */
export function accuracyChart(results: readonly ArmResult[]): Spec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: '(a) Test accuracy',
    width: 320, height: 220,
    data: { values: results.flatMap((r) => r.evals.map((e) => ({ step: e.step, accuracy: e.testAccuracy, arm: ARM_LABEL[r.arm] }))) },
    mark: { type: 'line', point: false },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training steps' },
      y: { field: 'accuracy', type: 'quantitative', title: 'test accuracy', scale: { zero: false } },
      color: { field: 'arm', type: 'nominal', title: null, scale: { domain: [ARM_LABEL.bn, ARM_LABEL.plain], range: ['#1f77b4', '#d62728'] } },
    },
  };
}

/** (b)/(c) The 15th, 50th and 85th percentiles of one last-hidden-layer sigmoid's input over training. */
export function percentileChart(r: ArmResult, title: string, yDomain?: [number, number]): Spec {
  const values = r.evals.flatMap((e) => [
    { step: e.step, value: e.p15, percentile: '15th' },
    { step: e.step, value: e.p50, percentile: '50th' },
    { step: e.step, value: e.p85, percentile: '85th' },
  ]);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title, width: 320, height: 220,
    data: { values },
    mark: 'line',
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'training steps' },
      y: { field: 'value', type: 'quantitative', title: 'sigmoid input', ...(yDomain ? { scale: { domain: yDomain } } : {}) },
      color: { field: 'percentile', type: 'ordinal', title: 'percentile', scale: { scheme: 'blues' } },
    },
  };
}

/** All three panels, with (b) and (c) on one y scale so their spreads compare at a glance. */
export function paperCharts(results: readonly ArmResult[]): { title: string; spec: Spec }[] {
  const plain = results.find((r) => r.arm === 'plain'), bn = results.find((r) => r.arm === 'bn');
  const all = results.flatMap((r) => r.evals.flatMap((e) => [e.p15, e.p85]));
  const dom: [number, number] = [Math.min(...all), Math.max(...all)];
  const out = [{ title: 'accuracy', spec: accuracyChart(results) }];
  if (plain) out.push({ title: 'without BN', spec: percentileChart(plain, '(b) Without BN: sigmoid input percentiles', dom) });
  if (bn) out.push({ title: 'with BN', spec: percentileChart(bn, '(c) With BN: sigmoid input percentiles', dom) });
  return out;
}

/**
 * The lab page: controls, two arm workers (with and without BN), live charts, the claims report.
 * No math here: the workers run the library; this file moves their reports into the charts.
 */
import './style.css';
import { ARMS, DEFAULT_CONFIG, HIST_BINS, HIST_RANGE, type ArmName, type EvalReport, type LabConfig, type Samples, MNIST_ASSET } from './config.js';
import { bandsChart, COLORS, HistogramChart, layerColor, line, lineChart, type Data, type HistRow } from './charts.js';
import type { FromWorker, ToWorker } from './worker.js';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('controls');

// ---- controls --------------------------------------------------------------------------------------------

const NUMBER_FIELDS = ['depth', 'width', 'initStd', 'lr', 'batchSize', 'bnMomentum', 'bnEps', 'clipAt', 'seed', 'evalEvery', 'probeLayer', 'probeUnit', 'threads'] as const;
const CHOICE_FIELDS = ['data', 'activation', 'optimizer', 'clip', 'runningStats'] as const;
const defaults: LabConfig = { ...DEFAULT_CONFIG, threads: Math.max(1, Math.floor((navigator.hardwareConcurrency || 2) / 2)) };

function field(name: string) { return form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement; }
function writeConfig(c: LabConfig) { for (const k of [...NUMBER_FIELDS, ...CHOICE_FIELDS]) field(k).value = String(c[k]); }

/** The config in the form, or the first invalid field's message. */
function readConfig(): LabConfig | string {
  const c = { ...defaults } as Record<string, unknown>;
  for (const k of CHOICE_FIELDS) c[k] = field(k).value;
  for (const k of NUMBER_FIELDS) {
    const el = field(k) as HTMLInputElement;
    const v = Number(el.value);
    if (el.value.trim() === '' || !el.checkValidity() || !Number.isFinite(v)) return `${el.labels?.[0]?.textContent ?? k}: ${el.validationMessage || 'not a number'}`;
    c[k] = v;
  }
  const cfg = c as unknown as LabConfig;
  if (cfg.probeLayer > cfg.depth) return `Fig. 1 probe: layer ${cfg.probeLayer} does not exist (the network has ${cfg.depth} hidden layers)`;
  if (cfg.probeUnit >= cfg.width) return `Fig. 1 probe: unit ${cfg.probeUnit} does not exist (layers have ${cfg.width} units, 0..${cfg.width - 1})`;
  if (cfg.lr <= 0) return 'Learning rate: must be > 0';
  if (cfg.bnEps <= 0) return 'ε: must be > 0';
  if (cfg.clip !== 'none' && cfg.clipAt <= 0) return 'Clip at: must be > 0';
  return cfg;
}

// ---- state -----------------------------------------------------------------------------------------------

interface ArmView { step: number; loss: number; stepsPerSecond: number; backend: string; threads: number; last: EvalReport | null; error: string | null; samples: Samples | null }
const arms: Record<ArmName, ArmView> = {
  bn: { step: 0, loss: NaN, stepsPerSecond: 0, backend: '', threads: 0, last: null, error: null, samples: null },
  plain: { step: 0, loss: NaN, stepsPerSecond: 0, backend: '', threads: 0, last: null, error: null, samples: null },
};
/** Evaluations by step, both arms. */
let evals = new Map<number, Partial<Record<ArmName, EvalReport>>>();
let config: LabConfig = defaults;
let running = false;
let mnist: Promise<ArrayBuffer> | null = null;

const workers = Object.fromEntries(ARMS.map((a) => {
  const w = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: `normlab-${a}` });
  w.onmessage = (ev: MessageEvent<FromWorker>) => onMessage(ev.data);
  w.onerror = (ev) => { arms[a].error = ev.message || 'the worker failed to start'; render(); };
  return [a, w];
})) as Record<ArmName, Worker>;
const send = (a: ArmName, m: ToWorker, transfer: Transferable[] = []) => workers[a].postMessage(m, transfer);

function onMessage(m: FromWorker) {
  if (m.type === 'error') { if (m.arm) arms[m.arm].error = m.message; setRunning(false); render(); return; }
  const v = arms[m.arm];
  switch (m.type) {
    case 'ready': v.backend = m.backend; v.threads = m.threads; v.samples = m.samples; v.error = null; break;
    case 'progress': v.step = m.step; if (Number.isFinite(m.loss)) v.loss = m.loss; v.stepsPerSecond = m.stepsPerSecond; break;
    case 'eval': {
      v.last = m.report;
      const e = evals.get(m.report.step) ?? {};
      e[m.arm] = m.report;
      evals.set(m.report.step, e);
      dirty = true;
      break;
    }
  }
  render();
}

/** The latest reset (the digits may still be loading): runs and steps wait for it. */
let resetting: Promise<void> = Promise.resolve();
function reset(): Promise<void> { return (resetting = doReset()); }

async function doReset() {
  const c = readConfig();
  $('config-error').textContent = typeof c === 'string' ? c : '';
  if (typeof c === 'string') return;
  setRunning(false);
  config = c;
  evals = new Map();
  for (const a of ARMS) Object.assign(arms[a], { step: 0, loss: NaN, stepsPerSecond: 0, last: null, error: null, samples: null });
  buildCharts();
  let bytes: ArrayBuffer | null = null;
  if (c.data === 'mnist') {
    mnist ??= fetch(`./${MNIST_ASSET}`).then((r) => { if (!r.ok) throw new Error(`the bundled digits (${MNIST_ASSET}): HTTP ${r.status}`); return r.arrayBuffer(); });
    try { bytes = await mnist; } catch (e) { mnist = null; for (const a of ARMS) arms[a].error = (e as Error).message; render(); return; }
  }
  for (const a of ARMS) {
    const copy = bytes ? bytes.slice(0) : null;
    send(a, { type: 'reset', arm: a, config: c, mnist: copy }, copy ? [copy] : []);
  }
  render();
}

function setRunning(on: boolean) {
  running = on;
  $<HTMLButtonElement>('start').disabled = on;
  $<HTMLButtonElement>('pause').disabled = !on;
}

function start() {
  if (running) return;
  setRunning(true);
  void resetting.then(() => { if (running) for (const a of ARMS) send(a, { type: 'run' }); });
}
function pause() { if (!running) return; setRunning(false); for (const a of ARMS) send(a, { type: 'pause' }); render(); }
function step() { pause(); void resetting.then(() => { for (const a of ARMS) send(a, { type: 'step' }); }); }

// ---- rendering -------------------------------------------------------------------------------------------

function statusText(a: ArmName): string {
  const v = arms[a];
  if (v.error) return `error: ${v.error}`;
  if (!v.backend) return 'loading';
  const acc = v.last ? v.last.testAccuracy.toFixed(4) : '–';
  const loss = Number.isFinite(v.loss) ? v.loss.toFixed(3) : '–';
  return `step ${v.step} · acc ${acc} · loss ${loss} · ${Math.round(v.stepsPerSecond)} steps/s · ${v.backend}${v.backend === 'wasm' ? `, ${v.threads} thread${v.threads > 1 ? 's' : ''}` : ''}`;
}

let charts: ReturnType<typeof makeCharts> | null = null;
let dirty = false;
let frame = 0;

function makeCharts() {
  for (const id of ['chart-acc', 'chart-loss', 'chart-bands-bn', 'chart-bands-plain', 'chart-grads', 'hist-bn', 'hist-plain']) $(id).replaceChildren();
  const layers = config.depth + 1;
  const [lo, hi] = HIST_RANGE[config.activation];
  return {
    acc: lineChart($('chart-acc'), [line('with BN', COLORS.bn), line('without BN', COLORS.plain)], { yRange: [0, 1] }),
    loss: lineChart($('chart-loss'), [line('with BN', COLORS.bn), line('without BN', COLORS.plain)]),
    bands: { bn: bandsChart($('chart-bands-bn'), COLORS.bn), plain: bandsChart($('chart-bands-plain'), COLORS.plain) },
    grads: lineChart($('chart-grads'), ARMS.flatMap((a) => Array.from({ length: layers }, (_, l) => line(`${a === 'bn' ? 'BN' : 'plain'} ${l + 1 === layers ? 'out' : l + 1}`, layerColor(l), a === 'plain' ? [5, 4] : undefined))), { log: true }),
    hist: { bn: new HistogramChart($('hist-bn'), lo, hi, HIST_BINS), plain: new HistogramChart($('hist-plain'), lo, hi, HIST_BINS) },
  };
}

function buildCharts() { charts = makeCharts(); drawSamples(); }

/** Keep at most `n` evaluations for the heatmaps, evenly spaced, always including the latest. */
function thin<T>(xs: T[], n: number): T[] {
  if (xs.length <= n) return xs;
  return Array.from({ length: n }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (n - 1))]);
}

function drawCharts() {
  if (!charts) return;
  const steps = [...evals.keys()].sort((a, b) => a - b);
  const col = (f: (r: EvalReport) => number, a: ArmName) => steps.map((s) => { const r = evals.get(s)![a]; const v = r ? f(r) : NaN; return Number.isFinite(v) ? v : null; });
  const positive = (v: number | null) => (v !== null && v > 0 && Number.isFinite(v) ? v : null);
  charts.acc.setData([steps, col((r) => r.testAccuracy, 'bn'), col((r) => r.testAccuracy, 'plain')] as Data);
  charts.loss.setData([steps, col((r) => r.trainLoss, 'bn'), col((r) => r.trainLoss, 'plain')] as Data);
  for (const a of ARMS) charts.bands[a].setData([steps, ...[0, 1, 2].map((i) => col((r) => r.bands[i], a))] as Data);
  const layers = config.depth + 1;
  charts.grads.setData([steps, ...ARMS.flatMap((a) => Array.from({ length: layers }, (_, l) => col((r) => r.gradNorms[l] ?? NaN, a).map(positive)))] as Data);
  for (const a of ARMS) {
    const rows: HistRow[] = [];
    for (const s of thin(steps.filter((s) => evals.get(s)![a]), 60)) {
      const r = evals.get(s)![a]!;
      r.hist.forEach((h, l) => h.forEach((share, bin) => rows.push({ step: s, layer: `layer ${l + 1}`, bin, share })));
    }
    void charts.hist[a].update(rows);
  }
  drawSamples();
}

function drawSamples() {
  const box = $('samples');
  const s = arms.bn.samples ?? arms.plain.samples;
  if (!s) { box.textContent = 'waiting for the data'; return; }
  const rows = s.y.length;
  if (box.childElementCount !== rows) {
    box.replaceChildren();
    for (let i = 0; i < rows; i++) {
      const cell = document.createElement('div');
      cell.className = 'sample';
      if (s.features === 784) {
        const c = document.createElement('canvas');
        c.width = 28; c.height = 28;
        c.setAttribute('role', 'img');
        c.setAttribute('aria-label', `test digit ${i + 1}, label ${s.y[i]}`);
        const img = c.getContext('2d')!.createImageData(28, 28);
        for (let p = 0; p < 784; p++) {
          const g = 255 - Math.round(255 * s.x[i * 784 + p]);
          img.data.set([g, g, g, 255], 4 * p);
        }
        c.getContext('2d')!.putImageData(img, 0, 0);
        cell.append(c);
      } else {
        const t = document.createElement('span');
        t.className = 'coords';
        t.textContent = `(${Array.from(s.x.subarray(i * s.features, (i + 1) * s.features), (v) => v.toFixed(1)).join(', ')})`;
        cell.append(t);
      }
      const caption = document.createElement('span');
      caption.className = 'pred';
      cell.append(caption);
      box.append(cell);
    }
  }
  [...box.children].forEach((cell, i) => {
    const caption = cell.querySelector('.pred')!;
    caption.replaceChildren(`label ${s.y[i]}`, document.createElement('br'));
    for (const a of ARMS) {
      const p = arms[a].last?.predictions[i];
      const span = document.createElement('span');
      span.className = p === undefined ? '' : p === s.y[i] ? 'right' : 'wrong';
      span.textContent = `${a === 'bn' ? 'BN' : 'plain'} ${p ?? '–'} `;
      caption.append(span);
    }
  });
}

function render() {
  for (const a of ARMS) $(`status-${a}`).textContent = statusText(a);
  if (dirty && !frame) frame = requestAnimationFrame(() => { frame = 0; dirty = false; drawCharts(); });
}

// ---- claims report ---------------------------------------------------------------------------------------

// The server (`normlab lab`) describes the newest runs/claims-*/report.html at claims/latest.json.
async function showClaims() {
  const status = $('claims-status'), frame = $<HTMLIFrameElement>('claims-frame');
  try {
    const r = await fetch('./claims/latest.json', { cache: 'no-store' });
    const info = r.ok && (r.headers.get('content-type') ?? '').includes('json') ? (await r.json()) as { report?: string; folder?: string; modified?: string } : null;
    if (info?.report) {
      status.textContent = `The latest claims report: ${info.folder} (${info.modified ? new Date(info.modified).toLocaleString() : ''}).`;
      frame.src = info.report;
      frame.hidden = false;
      return;
    }
  } catch { /* no server support: the same message as no report */ }
  status.textContent = 'None yet: run `normlab claims` to write one under runs/, then reload this page.';
}

// ---- wiring ----------------------------------------------------------------------------------------------

writeConfig(defaults);
const env = $('environment');
env.textContent = globalThis.crossOriginIsolated ? 'cross-origin isolated: wasm backend with threads' : 'not cross-origin isolated: js backend, one thread per arm';
$('start').addEventListener('click', start);
$('pause').addEventListener('click', pause);
$('step').addEventListener('click', step);
$('reset').addEventListener('click', () => void reset());
form.addEventListener('change', () => void reset());
form.addEventListener('submit', (e) => { e.preventDefault(); void reset(); });
document.addEventListener('keydown', (e) => {
  const t = e.target as HTMLElement;
  if (e.ctrlKey || e.metaKey || e.altKey || t.closest('input, select, textarea, button, iframe')) return;
  if (e.key === ' ') { e.preventDefault(); if (running) pause(); else start(); }
  else if (e.key === 's' || e.key === 'S') step();
  else if (e.key === 'r' || e.key === 'R') void reset();
});
void reset();
void showClaims();

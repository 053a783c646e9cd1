/**
 * `normlab claims`: every claim of the note as an experiment (experiments/claim*.ts), run side by side in
 * worker threads (one kernel thread each), one progress bar per claim, one run folder with report.html
 * (every chart and verdict with its rule), report.md, metrics.jsonl and config.json, and one verdict line
 * per claim.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CLAIMS, claimById, claimConfig, type AnyClaim } from '../experiments/claims.js';
import type { Chart, ClaimEvent, SeededConfig, Verdict } from '../experiments/common.js';
import { createProgress } from './progress.js';
import { runFolder } from './util.js';
import { writeFileAtomic } from '../src/io/files.js';

export interface ClaimsFlags {
  only?: number[];
  full?: boolean;
  /** The tests' tiny configuration (not evidence; hidden flag). */
  tiny?: boolean;
  seeds?: number;
  jobs?: number;
  out?: string;
  json?: boolean;
}

export interface ClaimOutcome {
  id: number;
  title: string;
  verdict: Verdict;
  evidence: string;
  rule: string;
  seconds: number;
  config: SeededConfig;
  metrics: unknown;
  error?: string;
}

/**
 * Longest first, so that two cores finish together (default run on a quiet 2-core machine, seconds: 9 ≈ 95,
 * 10 ≈ 64, 8 ≈ 60, 4 ≈ 52, 5 ≈ 49, 3 ≈ 45, 1 ≈ 39, 2 ≈ 39, 7 ≈ 28, 6 ≈ 23).
 */
const ORDER = [9, 10, 8, 4, 5, 3, 1, 2, 7, 6];

export async function claimsCommand(flags: ClaimsFlags): Promise<Record<string, unknown>> {
  const ids = flags.only?.length ? [...new Set(flags.only)].sort((a, b) => a - b) : CLAIMS.map((c) => c.id);
  for (const id of ids) claimById(id); // unknown ids fail before anything runs
  const configs = new Map(ids.map((id) => [id, claimConfig(claimById(id), { full: flags.full, tiny: flags.tiny, seeds: flags.seeds })]));
  const jobs = Math.max(1, Math.min(flags.jobs ?? Math.min(2, availableParallelism()), ids.length));
  const out = resolve(flags.out ?? runFolder('claims'));
  mkdirSync(join(out, 'charts'), { recursive: true });
  const say = (s: string) => (flags.json ? process.stderr : process.stdout).write(`${s}\n`);
  const loadBefore = loadavg();
  say(`normlab claims: ${ids.length} experiment${ids.length > 1 ? 's' : ''} (${ids.join(', ')}), ${flags.full ? 'paper-sized' : flags.tiny ? 'tiny' : 'default'} settings, ${jobs} at a time; load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} on ${cpus().length} cores`);

  const metricsLines: string[] = [];
  const progress = createProgress();
  const barName = (id: number) => `claim ${id}`;
  const t0 = performance.now();
  const outcomes = new Map<number, ClaimOutcome>();
  const queue = ORDER.filter((id) => ids.includes(id)).concat(ids.filter((id) => !ORDER.includes(id)));
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const claim = claimById(id), cfg = configs.get(id)!;
      const started = performance.now();
      progress.add(barName(id), claim.total(cfg)); // added when it starts, so its rate and ETA are its own
      const onEvent = (e: ClaimEvent) => {
        if (e.type === 'progress') progress.update(barName(id), e.done, { info: e.info });
        else metricsLines.push(JSON.stringify({ claim: id, ...e.record }));
      };
      let outcome: ClaimOutcome;
      try {
        const metrics = await runInWorker(id, cfg, onEvent);
        const v = claim.verdict(metrics);
        outcome = { id, title: claim.title, verdict: v.verdict, evidence: v.evidence, rule: claim.rule, seconds: (performance.now() - started) / 1000, config: cfg, metrics };
      } catch (e) {
        const message = (e as Error).message;
        outcome = { id, title: claim.title, verdict: 'inconclusive', evidence: `the experiment failed: ${message.split('\n')[0]}`, rule: claim.rule, seconds: (performance.now() - started) / 1000, config: cfg, metrics: null, error: message };
      }
      progress.update(barName(id), claim.total(cfg), { info: outcome.verdict });
      outcomes.set(id, outcome);
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  progress.stop();
  const wall = (performance.now() - t0) / 1000;
  const loadAfter = loadavg();

  const results = ids.map((id) => outcomes.get(id)!);
  say('');
  for (const r of results) say(`claim ${String(r.id).padStart(2)}  ${r.verdict.padEnd(14)}  ${r.title}: ${r.evidence}`);
  const machine = { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', loadBefore, loadAfter, jobs, node: process.version };
  say(`wall time ${wall.toFixed(1)} s; load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`);

  const charts = new Map<number, Chart[]>(results.map((r) => [r.id, r.metrics === null ? [] : claimById(r.id).charts(r.metrics)]));
  const { renderSvg } = await import('./render.js');
  const svgs = new Map<number, string[]>();
  for (const r of results) {
    const list: string[] = [];
    for (const [k, c] of charts.get(r.id)!.entries()) {
      const svg = await renderSvg(c.spec);
      list.push(svg);
      await writeFileAtomic(join(out, 'charts', `claim${r.id}-${k + 1}.svg`), svg);
    }
    svgs.set(r.id, list);
  }
  const report = join(out, 'report.html');
  const settings = { full: !!flags.full, tiny: !!flags.tiny, seeds: flags.seeds ?? null, only: flags.only ?? null };
  await writeFileAtomic(join(out, 'metrics.jsonl'), metricsLines.join('\n') + '\n');
  await writeFileAtomic(join(out, 'config.json'), JSON.stringify({ command: 'claims', settings, machine, claims: Object.fromEntries(results.map((r) => [r.id, r.config])) }, null, 2) + '\n');
  await writeFileAtomic(join(out, 'summary.json'), JSON.stringify({ wallSeconds: +wall.toFixed(1), machine, claims: results.map(({ metrics: _m, ...r }) => r) }, null, 2) + '\n');
  await writeFileAtomic(join(out, 'report.md'), reportMd(results, charts, wall, machine, settings));
  await writeFileAtomic(report, reportHtml(results, svgs, wall, machine, settings));
  say(`report: ${report}`);
  if (results.some((r) => r.error)) process.exitCode = 1;
  return { claims: results.map((r) => ({ id: r.id, verdict: r.verdict, evidence: r.evidence })), report };
}

function runInWorker(id: number, cfg: SeededConfig, onEvent: (e: ClaimEvent) => void): Promise<unknown> {
  return new Promise((resolvePromise, reject) => {
    const w = new Worker(new URL('./claims-worker.js', import.meta.url), { workerData: { id, cfg } });
    let settled = false;
    w.on('message', (m: { type: 'event'; event: ClaimEvent } | { type: 'done'; metrics: unknown } | { type: 'error'; message: string }) => {
      if (m.type === 'event') onEvent(m.event);
      else {
        settled = true;
        if (m.type === 'done') resolvePromise(m.metrics); else reject(new Error(m.message));
        void w.terminate();
      }
    });
    w.on('error', (e) => { settled = true; reject(e); });
    w.on('exit', (code) => { if (!settled) reject(new Error(`the worker of claim ${id} exited with code ${code}`)); });
  });
}

type Machine = { cores: number; cpu: string; loadBefore: number[]; loadAfter: number[]; jobs: number; node: string };
type Settings = { full: boolean; tiny: boolean; seeds: number | null; only: number[] | null };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Escaped, with `code` spans. */
const prose = (s: string) => esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
const md = (s: string) => s.replace(/\|/g, '\\|');
const COLOR: Record<Verdict, string> = { reproduced: '#1a7f37', 'not reproduced': '#c62828', inconclusive: '#9a6700' };
const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');

function describe(settings: Settings, machine: Machine, wall: number): string {
  return `${settings.full ? 'Paper-sized' : settings.tiny ? 'Tiny (test)' : 'Default'} settings${settings.seeds ? `, ${settings.seeds} seeds each` : ''}; ${machine.jobs} experiment(s) at a time on ${machine.cores} cores (${machine.cpu}), Node ${machine.node}; wall time ${wall.toFixed(1)} s; load average (1/5/15 min) ${load(machine.loadBefore)} before, ${load(machine.loadAfter)} after.`;
}

function reportMd(results: ClaimOutcome[], charts: Map<number, Chart[]>, wall: number, machine: Machine, settings: Settings): string {
  const lines = [
    '# normlab claims report', '',
    'Every claim of the note on batch normalization as an experiment; each verdict is computed from the numbers by the rule printed beside it (fixed before the run).', '',
    describe(settings, machine, wall), '',
    '| # | claim | verdict | evidence |', '|---|---|---|---|',
    ...results.map((r) => `| ${r.id} | ${md(r.title)} | **${r.verdict}** | ${md(r.evidence)} |`), '',
  ];
  for (const r of results) {
    const c = claimById(r.id);
    lines.push(`## Claim ${r.id}: ${c.title}`, '', `> ${c.claim}`, '', c.method, '', `**Rule (fixed before the run):** ${c.rule}`, '', `**Verdict: ${r.verdict}** — ${r.evidence}`, '');
    if (r.error) lines.push('```', r.error, '```', '');
    charts.get(r.id)!.forEach((ch, k) => lines.push(`![${ch.title}](charts/claim${r.id}-${k + 1}.svg)`));
    lines.push('', `Run time ${r.seconds.toFixed(1)} s. Config: \`${JSON.stringify(r.config)}\``, '');
  }
  return lines.join('\n');
}

function reportHtml(results: ClaimOutcome[], svgs: Map<number, string[]>, wall: number, machine: Machine, settings: Settings): string {
  const badge = (v: Verdict) => `<span class="badge" style="background:${COLOR[v]}">${v}</span>`;
  const rows = results.map((r) => `<tr><td>${r.id}</td><td><a href="#claim${r.id}">${esc(r.title)}</a></td><td>${badge(r.verdict)}</td><td>${esc(r.evidence)}</td></tr>`).join('\n');
  const sections = results.map((r) => {
    const c: AnyClaim = claimById(r.id);
    return `<section id="claim${r.id}"><h2>Claim ${r.id}: ${esc(c.title)} ${badge(r.verdict)}</h2>
<blockquote>${prose(c.claim)}</blockquote>
<p>${prose(c.method)}</p>
<p class="rule"><strong>Rule (fixed before the run):</strong> ${prose(c.rule)}</p>
<p><strong>Verdict: ${r.verdict}.</strong> ${esc(r.evidence)}</p>
${r.error ? `<pre>${esc(r.error)}</pre>` : ''}
<div class="charts">${svgs.get(r.id)!.map((s) => `<figure>${s}</figure>`).join('\n')}</div>
<details><summary>config (run time ${r.seconds.toFixed(1)} s)</summary><pre>${esc(JSON.stringify(r.config, null, 2))}</pre></details>
</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>normlab — the claims report</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1180px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%}td,th{padding:.35em .7em;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
.badge{color:#fff;border-radius:4px;padding:.05em .5em;font-size:.85em;white-space:nowrap;font-weight:600}
h2 .badge{font-size:.6em;vertical-align:middle}figure{display:inline-block;margin:0 .5em 1em 0;vertical-align:top}
blockquote{margin:0;padding:.2em 1em;border-left:4px solid #ccc;color:#444}.rule{background:#f6f8fa;padding:.5em .8em;border-radius:4px}
section{border-top:1px solid #ddd;margin-top:2em}pre{background:#f6f8fa;padding:.6em;overflow:auto;font-size:12px}</style></head><body>
<h1>Batch normalization: the note's claims, tested</h1>
<p>Each claim of the note is an experiment on the embedded MNIST digits; each verdict — reproduced, not reproduced or inconclusive — is computed from the numbers by the rule printed beside its charts, fixed before the run. Both arms of every comparison start from identical weights; every run is reproducible from <code>config.json</code>. ${esc(describe(settings, machine, wall))}</p>
<table><tr><th>#</th><th>claim</th><th>verdict</th><th>evidence</th></tr>
${rows}</table>
${sections}
<p>Generated by <code>normlab claims</code>; raw metrics in <code>metrics.jsonl</code>, configs in <code>config.json</code>, this page as Markdown in <code>report.md</code>.</p>
</body></html>
`;
}

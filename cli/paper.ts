/** `normlab paper`: the BN paper's Figure 1 on the embedded digits, both arms, a report folder. */
import { Worker } from 'node:worker_threads';
import { availableParallelism, loadavg } from 'node:os';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPaperData, PAPER_ARMS, paperDefaults, paperFull, runPaperArm, stepsToAccuracy, meanAccuracy, paperVerdict, type ArmResult, type PaperArm, type PaperConfig, type PaperEvent } from '../experiments/paper.js';
import { paperCharts } from '../experiments/paper-charts.js';
import { createProgress } from './progress.js';
import { runFolder, table } from './util.js';
import { writeFileAtomic } from '../src/io/files.js';
import { getNumThreads } from '../src/index.js';

export interface PaperFlags {
  full?: boolean;
  steps?: number;
  evalEvery?: number;
  lr?: number;
  initStd?: number;
  seed?: number;
  out?: string;
  json?: boolean;
  workers?: boolean;
}

export async function paperCommand(flags: PaperFlags): Promise<Record<string, unknown>> {
  const cfg: PaperConfig = {
    ...paperDefaults, ...(flags.full ? paperFull : {}),
    ...(flags.steps !== undefined ? { steps: flags.steps } : {}),
    ...(flags.evalEvery !== undefined ? { evalEvery: flags.evalEvery } : {}),
    ...(flags.lr !== undefined ? { lr: flags.lr } : {}),
    ...(flags.initStd !== undefined ? { initStd: flags.initStd } : {}),
    ...(flags.seed !== undefined ? { seed: flags.seed } : {}),
  };
  const out = resolve(flags.out ?? runFolder('paper'));
  mkdirSync(out, { recursive: true });
  const say = (s: string) => (flags.json ? process.stderr : process.stdout).write(`${s}\n`);
  say(`normlab paper: Ioffe & Szegedy 2015, Fig. 1 — 784-100-100-100-10 sigmoid MLP, batch ${cfg.batchSize}, SGD lr ${cfg.lr}, N(0, ${cfg.initStd}²) init, ${cfg.steps} steps per arm`);
  const t0 = performance.now();
  const load0 = loadavg()[0];
  const data = await loadPaperData(cfg); // also fills the digit cache before workers start
  say(`digits: ${data.train.count} train / ${data.test.count} test, loaded in ${((performance.now() - t0) / 1000).toFixed(2)} s`);

  const metrics: string[] = [];
  const progress = createProgress();
  for (const arm of PAPER_ARMS) progress.add(arm === 'bn' ? 'with BN' : 'without BN', cfg.steps);
  const onEvent = (e: PaperEvent) => {
    const name = e.arm === 'bn' ? 'with BN' : 'without BN';
    if (e.type === 'eval') {
      metrics.push(JSON.stringify({ arm: e.arm, ...e.point }));
      progress.update(name, e.point.step, { info: `test acc ${(100 * e.point.testAccuracy).toFixed(2)}%` });
    } else {
      metrics.push(JSON.stringify({ arm: e.arm, step: e.step, trainLoss: e.loss }));
      progress.update(name, e.step, { loss: e.loss });
    }
  };
  const cores = availableParallelism();
  const parallel = flags.workers !== false && cores >= 2;
  // Each arm worker's kernels get its share of the cores: with the default (every core per worker) the two
  // arms' thread pools fight over the same cores: on 2 cores each arm ran at 43–73% of its speed with one
  // thread, for 1.6× the CPU time (measurements in the README, The command line).
  const threadsPerArm = parallel ? envThreads() ?? Math.max(1, Math.floor(cores / PAPER_ARMS.length)) : getNumThreads();
  const results = parallel
    ? await Promise.all(PAPER_ARMS.map((arm) => runInWorker(arm, cfg, threadsPerArm, onEvent)))
    : PAPER_ARMS.map((arm) => runPaperArm(arm, cfg, data, onEvent));
  progress.stop();
  const wall = (performance.now() - t0) / 1000;

  const byArm = Object.fromEntries(results.map((r) => [r.arm, r])) as Record<PaperArm, ArmResult>;
  const target = 0.9;
  say('');
  say(table([
    ['arm', 'final test acc.', 'mean over training', `steps to ${target * 100}%`, 'sigmoid input p15 / p50 / p85 (end)', 'steps/s'],
    ...results.map((r) => {
      const last = r.evals[r.evals.length - 1];
      return [r.arm === 'bn' ? 'with BN' : 'without BN', `${(100 * r.testAccuracy).toFixed(2)}%`, `${(100 * meanAccuracy(r)).toFixed(2)}%`, String(stepsToAccuracy(r, target) ?? 'never'),
        `${last.p15.toFixed(2)} / ${last.p50.toFixed(2)} / ${last.p85.toFixed(2)}`, r.stepsPerSecond.toFixed(0)];
    }),
  ]));
  const { bnWins, text: verdict } = paperVerdict(byArm.bn, byArm.plain, target);
  say(verdict);
  say(`speed: ${parallel ? `both arms at once, ${threadsPerArm} kernel thread${threadsPerArm > 1 ? 's' : ''} each` : `one arm after the other, ${threadsPerArm} kernel thread${threadsPerArm > 1 ? 's' : ''}`} on ${cores} cores (load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)}); `
    + results.map((r) => `${r.arm === 'bn' ? 'with BN' : 'without BN'}: evaluation ${(100 * r.evalSeconds / r.seconds).toFixed(0)}% of the time, training ${trainRate(r).toFixed(0)} steps/s`).join(', '));

  const summary = {
    command: 'paper', config: cfg, steps: cfg.steps, seconds: +wall.toFixed(1), parallel, threadsPerArm, cores,
    // Where the time goes: others' load on the machine (1-minute load average at the start and the end, against
    // `cores`), each arm's evaluations (evalSeconds) and its training steps alone (trainStepsPerSecond).
    loadAverage: [+load0.toFixed(2), +loadavg()[0].toFixed(2)],
    arms: Object.fromEntries(results.map((r) => [r.arm, {
      testAccuracy: r.testAccuracy, meanTestAccuracy: meanAccuracy(r), stepsTo90: stepsToAccuracy(r, target), seconds: +r.seconds.toFixed(1), stepsPerSecond: +r.stepsPerSecond.toFixed(1),
      evalSeconds: +r.evalSeconds.toFixed(2), trainStepsPerSecond: +trainRate(r).toFixed(1),
      final: r.evals[r.evals.length - 1],
    }])),
    verdict, bnWins,
    report: join(out, 'report.html'),
  };
  await writeFileAtomic(join(out, 'metrics.jsonl'), metrics.join('\n') + '\n');
  await writeFileAtomic(join(out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  await writeFileAtomic(join(out, 'report.html'), await reportHtml(results, cfg, verdict, wall));
  say(`report: ${summary.report}`);
  return summary;
}

/** Training steps per second of an arm, its evaluations left out. */
const trainRate = (r: ArmResult) => r.evals[r.evals.length - 1].step / Math.max(1e-9, r.seconds - r.evalSeconds);

/** NORMLAB_NUM_THREADS, when the user set it (the library checks its value). */
function envThreads(): number | undefined {
  return process.env.NORMLAB_NUM_THREADS ? getNumThreads() : undefined;
}

function runInWorker(arm: PaperArm, cfg: PaperConfig, threads: number, onEvent: (e: PaperEvent) => void): Promise<ArmResult> {
  return new Promise((resolvePromise, reject) => {
    const w = new Worker(new URL('./paper-worker.js', import.meta.url), { workerData: { arm, cfg, threads } });
    w.on('message', (m: { type: 'event'; event: PaperEvent } | { type: 'done'; result: ArmResult }) => {
      if (m.type === 'event') onEvent(m.event);
      else { resolvePromise(m.result); void w.terminate(); }
    });
    w.on('error', reject);
    w.on('exit', (code) => { if (code !== 0 && code !== 1) reject(new Error(`paper worker for arm '${arm}' exited with code ${code}`)); });
  });
}

async function reportHtml(results: ArmResult[], cfg: PaperConfig, verdict: string, wall: number): Promise<string> {
  const { renderSvg } = await import('./render.js'); // vega: loaded only when a report is written
  const charts = await Promise.all(paperCharts(results).map(async (c) => `<figure>${await renderSvg(c.spec)}</figure>`));
  const rows = results.map((r) => `<tr><td>${r.arm === 'bn' ? 'with BN' : 'without BN'}</td><td>${(100 * r.testAccuracy).toFixed(2)}%</td><td>${(100 * meanAccuracy(r)).toFixed(2)}%</td><td>${stepsToAccuracy(r, 0.9) ?? 'never'}</td><td>${r.stepsPerSecond.toFixed(0)}</td></tr>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>normlab — BN paper, Figure 1</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:1120px;margin:2em auto;padding:0 1em;color:#222}
figure{display:inline-block;margin:0 .5em 1em 0;vertical-align:top}table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}
code{background:#f4f4f4;padding:0 .3em}</style></head><body>
<h1>Batch normalization: the paper's Figure 1, reproduced</h1>
<p>Ioffe &amp; Szegedy (2015), <a href="https://arxiv.org/abs/1502.03167">arXiv:1502.03167</a>, Fig. 1: a 784-100-100-100-10 sigmoid MLP on MNIST,
mini-batches of ${cfg.batchSize}, plain SGD (lr ${cfg.lr}), weights from N(0, ${cfg.initStd}²), both arms from identical starting weights;
BN before each sigmoid (no Linear bias where BN follows) versus none. ${cfg.trainSize} training and ${cfg.testSize} test digits from the
<code>mnist</code> package (a seeded split), ${cfg.steps} steps per arm, test accuracy every ${cfg.evalEvery} steps.
Panels (b) and (c) show the 15th, 50th and 85th percentiles of the input to one sigmoid (unit ${cfg.probeUnit}) of the last hidden layer over the test digits.</p>
<p><strong>${verdict}.</strong></p>
${charts.join('\n')}
<table><tr><th>arm</th><th>final test accuracy</th><th>mean over training</th><th>steps to 90%</th><th>steps/s</th></tr>${rows}</table>
<p>Run time ${wall.toFixed(1)} s. Generated by <code>normlab paper</code>; raw metrics in <code>metrics.jsonl</code>, summary in <code>summary.json</code>.</p>
</body></html>
`;
}

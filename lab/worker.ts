/**
 * An arm's Web Worker: trains one network with the library (imported from src/ through Vite) and posts
 * progress and evaluations to the page. Messages in: reset (config and digits), run, pause, step.
 */
import { getBackend, getNumThreads, setNumThreads } from '../src/index.js';
import { Arm, type ArmName, type EvalReport, type LabConfig, type Samples } from './arm.js';

export type ToWorker =
  | { type: 'reset'; arm: ArmName; config: LabConfig; mnist: ArrayBuffer | null }
  | { type: 'run' } | { type: 'pause' } | { type: 'step' };

export type FromWorker =
  | { type: 'ready'; arm: ArmName; backend: string; threads: number; samples: Samples }
  | { type: 'progress'; arm: ArmName; step: number; loss: number; stepsPerSecond: number; running: boolean }
  | { type: 'eval'; arm: ArmName; report: EvalReport }
  | { type: 'error'; arm: ArmName | null; message: string };

/** Longest stretch of training before the worker reports and reads its messages. */
const SLICE_MS = 40;

let arm: Arm | null = null;
let armName: ArmName | null = null;
let running = false;
let generation = 0;

const post = (m: FromWorker) => (self as unknown as Worker).postMessage(m);

/** A macrotask that lets queued messages (pause, reset) run first; faster than setTimeout's clamped delay. */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldToMessages = () => new Promise<void>((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });

function oneStep(a: Arm): number {
  const loss = a.trainStep();
  if (a.step % a.cfg.evalEvery === 0) post({ type: 'eval', arm: a.arm, report: a.evaluate() });
  return loss;
}

function progress(a: Arm, loss: number) {
  post({ type: 'progress', arm: a.arm, step: a.step, loss, stepsPerSecond: a.stepsPerSecond, running });
}

async function loop(gen: number) {
  while (running && gen === generation && arm) {
    const a = arm, t0 = performance.now();
    let loss = NaN;
    while (performance.now() - t0 < SLICE_MS) loss = oneStep(a);
    progress(a, loss);
    await yieldToMessages();
  }
}

function fail(e: unknown) {
  running = false;
  post({ type: 'error', arm: armName, message: e instanceof Error ? e.message : String(e) });
  console.error(e); // the stack, for the developer tools
}

self.onmessage = (ev: MessageEvent<ToWorker>) => {
  const m = ev.data;
  try {
    switch (m.type) {
      case 'reset': {
        running = false;
        generation++;
        armName = m.arm;
        if (getBackend().name === 'wasm' && getNumThreads() !== m.config.threads) setNumThreads(m.config.threads);
        arm = new Arm(m.arm, m.config, m.mnist ?? undefined);
        post({ type: 'ready', arm: m.arm, backend: getBackend().name, threads: getBackend().name === 'wasm' ? getNumThreads() : 1, samples: arm.samples });
        post({ type: 'eval', arm: m.arm, report: arm.evaluate() });
        progress(arm, NaN);
        break;
      }
      case 'run':
        if (!arm || running) break;
        running = true;
        loop(generation).catch(fail);
        break;
      case 'pause':
        running = false;
        if (arm) progress(arm, NaN);
        break;
      case 'step':
        if (!arm) break;
        running = false;
        { const a = arm; const loss = a.trainStep(); post({ type: 'eval', arm: a.arm, report: a.evaluate() }); progress(a, loss); }
        break;
    }
  } catch (e) {
    fail(e);
  }
};

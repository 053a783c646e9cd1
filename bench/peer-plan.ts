import { rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { bnInferenceModel } from './onnx-bn.js';
import { peersDir, runPeer, type PeerOutput } from './peer-runner.js';

/** One peer run: which peer (label), which mode ('bn' | 'mlp') and what it printed. */
export interface PeerRun { readonly label: string; readonly what: string; readonly out: PeerOutput }

/**
 * Run every peer, one child process at a time: tfjs cpu/wasm, PyTorch with 1 thread (OPENBLAS_NUM_THREADS=1 too)
 * and with its defaults, onnxruntime with 1 and all threads (BN inference only). Slow peers get budgets that cap their reps.
 */
export function runPeers({ quick: q, bn, mlp, shape }: { quick: boolean; bn: boolean; mlp: boolean; shape: readonly number[] },
  log: (s: string) => void): PeerRun[] {
  const runs: PeerRun[] = [];
  const dir = peersDir(), py = '/usr/bin/python3', all = cpus().length;
  const threadCounts = all > 1 ? [1, all] : [1];
  const run = (label: string, what: string, cmd: string, args: string[], timeoutMs = 300_000, env: Record<string, string> = {}): void => {
    log(`peer ${label} ${what}…`);
    runs.push({ label, what, out: runPeer(label, cmd, args, timeoutMs, env) });
  };
  // PyTorch: one thread for real (OpenBLAS and OpenMP threads ignore torch.set_num_threads), and its defaults.
  const oneThread = { OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const torch = (what: string, cfg: string): void => {
    run('PyTorch 1 thread', what, py, [join(dir, 'torch_peer.py'), what, '1', cfg], 300_000, oneThread);
    if (all > 1) run(`PyTorch defaults (${all} threads)`, what, py, [join(dir, 'torch_peer.py'), what, 'default', cfg]);
  };
  const threads = (t: number): string => `${t} thread${t > 1 ? 's' : ''}`;
  // minReps 0: a workload slower than its whole budget is reported from its one cold run (tfjs-cpu: ~2 s per
  // BN training forward and ~10 s per forward+backward; precision does not matter ~100× off the floor).
  const jsReps = q ? { warmup: 1, reps: 2, minReps: 0 } : { warmup: 2, reps: 7, minReps: 0 };
  const tfBn = (budgetMs: number): string => JSON.stringify({ shape, reps: jsReps, budgetMs, slowBudgetMs: q ? 1000 : 12000, slowMinReps: 0 });
  const nativeBn = JSON.stringify({ shape, reps: q ? { warmup: 3, reps: 2, minReps: 1 } : { warmup: 5, reps: 11, minReps: 3 }, budgetMs: q ? 1500 : 5000 });
  const mlpCfg = JSON.stringify({ mlp: q ? { warmup: 3, reps: 1, minReps: 1, targetMs: 300 } : { warmup: 10, reps: 3, minReps: 2, targetMs: 1000 } });
  if (bn) {
    for (const b of ['cpu', 'wasm']) run(`tfjs-${b}`, 'bn', process.execPath, [join(dir, 'tfjs.mjs'), b, 'bn', tfBn(q ? 1000 : 5000)]);
    torch('bn', nativeBn);
    // onnxruntime: BN inference on a one-node model written here (no Python needed)
    const modelPath = join(tmpdir(), `normlab-bench-bn-${process.pid}.onnx`);
    const C = shape[1];
    writeFileSync(modelPath, bnInferenceModel(shape, {
      scale: new Float32Array(C).fill(1.5), bias: new Float32Array(C).fill(0.1), mean: new Float32Array(C).fill(0.2), variance: new Float32Array(C).fill(0.9),
    }));
    for (const t of threadCounts) run(`onnxruntime ${threads(t)}`, 'bn', process.execPath, [join(dir, 'ort.mjs'), modelPath, String(t), nativeBn], 120_000);
    rmSync(modelPath, { force: true });
  }
  if (mlp) {
    for (const b of ['cpu', 'wasm']) run(`tfjs-${b}`, 'mlp', process.execPath, [join(dir, 'tfjs.mjs'), b, 'mlp', mlpCfg]);
    torch('mlp', mlpCfg);
  }
  return runs;
}

/**
 * `npm run bench`: normlab's BN2d (API and raw kernels) and the paper's MLP against the memory-bandwidth
 * floor and the peers (TensorFlow.js cpu/wasm, PyTorch, onnxruntime), all measured in one run.
 * Options: --quick (fewer reps: a smoke run), --only bn|mlp, --no-peers, --backend js|wasm|all (normlab's
 * backends to measure; default all that load here).
 * Prints one markdown table; writes every number to runs/bench-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { bestBytesPerSec, copyBandwidth, copyBandwidthThreads, floorMs, pooled, type Bandwidth } from './bandwidth.js';
import { getBackend, getNumThreads, memoryStats, setBackend, setNumThreads, wasmSupported } from '../src/index.js';
import { createWasmBackend, registerBackend } from '../src/kernels/index.js';
import { formatProfile, profileSteps, type Profile } from './profile.js';
import { crossovers, formatCrossovers, type CrossoverRow } from './thresholds.js';
import { runPeers } from './peer-plan.js';
import { projectRoot, type PeerOutput } from './peer-runner.js';
import { goals, naturalVsScoped, table, threadScaling, type Entry, type Group } from './report.js';
import { measure, measureSteps, summarize } from './timing.js';
import { BN_SHAPE, bnApiWorkloads, bnKernelWorkloads, cnnStep, mlpStep } from './workloads.js';

interface Options { quick: boolean; only: 'bn' | 'mlp' | null; peers: boolean; backend: 'js' | 'wasm' | 'all' }

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { quick: false, only: null, peers: true, backend: 'all' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') o.quick = true;
    else if (a === '--no-peers') o.peers = false;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice(7) : argv[++i];
      if (v !== 'bn' && v !== 'mlp') throw new Error(`bench: --only takes 'bn' or 'mlp', got '${v}'`);
      o.only = v;
    } else if (a === '--backend' || a.startsWith('--backend=')) {
      const v = a.includes('=') ? a.slice(10) : argv[++i];
      if (v !== 'js' && v !== 'wasm' && v !== 'all') throw new Error(`bench: --backend takes 'js', 'wasm' or 'all', got '${v}'`);
      o.backend = v;
    } else throw new Error(`bench: unknown option '${a}' (options: --quick, --only bn|mlp, --no-peers, --backend js|wasm|all)`);
  }
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const doBn = opts.only !== 'mlp', doMlp = opts.only !== 'bn';
const q = opts.quick;
const started = new Date();
const log = (s: string): void => { process.stderr.write(`[${((Date.now() - started.getTime()) / 1e3).toFixed(0).padStart(4)} s] ${s}\n`); };
const load0 = loadavg();

// ---- memory bandwidth: the floor of memory-bound kernels ----
const BN_ELEMS = BN_SHAPE.reduce((a, b) => a * b, 1), BN_BYTES = BN_ELEMS * 4;
// Measured at the start and again at the end of the run; the floor uses the median of all those copies.
const BW_FLOATS = q ? 16 << 20 : 32 << 20, bwReps = q ? { warmup: 1, reps: 3 } : { warmup: 2, reps: 9 };
log('copy bandwidth…');
const bwStart: Bandwidth = copyBandwidth(BW_FLOATS, bwReps);
const bwAllStart: Bandwidth = await copyBandwidthThreads(BW_FLOATS, getNumThreads(), bwReps);
const bwAtBn: Bandwidth = copyBandwidth(BN_ELEMS, q ? { warmup: 1, reps: 3 } : { warmup: 3, reps: 15 });
const entries: Entry[] = [];
const skipped: { peer: string; what: string; reason: string }[] = [];
const peerInfo: Record<string, unknown> = {};

// ---- normlab, in this process, on each backend (the ratios are taken against the default one) ----
// wasm backends: the build this engine chooses ('wasm': relaxed SIMD where validated — npm run bench passes Node 20
// its flag, as Node ≥ 22 and Chrome need none) and the baseline build ('wasm-baseline', what Node 20 runs without
// the flag), each with 1 thread and all threads. The reference row: the default build, all threads, natural loop.
const defaultBackend = getBackend().name;
const allThreads = getNumThreads();
const builds: string[] = [];
if (wasmSupported()) {
  builds.push('wasm');
  if ((getBackend() as unknown as { build?: string }).build === 'relaxed' || defaultBackend !== 'wasm') {
    registerBackend(createWasmBackend({ build: 'baseline', name: 'wasm-baseline', threads: allThreads }));
    builds.push('wasm-baseline');
  }
}
const backends = opts.backend === 'all' ? ['js', ...builds] : opts.backend === 'wasm' ? builds : ['js'];
const buildOf = (b: string): string => (b === 'js' ? 'js' : b === 'wasm' ? `wasm ${(createdBackendBuild(b))}` : 'wasm baseline');
function createdBackendBuild(b: string): string {
  const before = getBackend().name;
  setBackend(b);
  const build = (getBackend() as unknown as { build?: string }).build ?? '?';
  setBackend(before);
  return build;
}
const inUse = () => memoryStats()?.inUse ?? 0;
const bnReps = q ? { warmup: 1, reps: 3, warmMs: 200, inUse } : { warmup: 5, reps: 15, warmMs: 1000, inUse };
const mlpReps = q ? { warmup: 3, reps: 2, warmMs: 200, inUse } : { warmup: 20, reps: 7, warmMs: 1000, inUse };
const cnnReps = q ? { warmup: 2, reps: 2, warmMs: 200, inUse } : { warmup: 5, reps: 5, warmMs: 1000, inUse };
const kernelGroup: Record<string, string> = {
  'kernel.stats': 'kernel.stats', 'kernel.apply': 'bn.infer', 'kernel.train_fwd': 'bn.train_fwd',
  'kernel.backward': 'kernel.backward', 'kernel.train_fwd_bwd': 'bn.train_fwd_bwd',
};
/** Thread counts measured per backend: 1 and all (the js backend has one). */
const threadCounts = (b: string): number[] => (b === 'js' || allThreads === 1 ? [1] : [1, allThreads]);
const thr = (t: number): string => `${t} thread${t > 1 ? 's' : ''}`;
const profiles: { label: string; profile: Profile }[] = [];
for (const b of backends) {
  try {
    setBackend(b);
    const build = buildOf(b);
    for (const t of threadCounts(b)) {
      setNumThreads(t);
      await new Promise((r) => setTimeout(r, 100)); // workers start
      const tag = `normlab [${build}, ${thr(t)}]`;
      // The reference: the default build at all threads, the natural loop; the scoped loop beside it at all threads.
      const isRef = b === defaultBackend && t === Math.max(...threadCounts(b));
      const variants = (t === Math.max(...threadCounts(b)) ? ['natural', 'scoped'] : ['natural']) as ('natural' | 'scoped')[];
      if (doBn) {
        for (const w of bnApiWorkloads(BN_SHAPE)) {
          if (!variants.includes(w.variant!)) continue;
          log(`${tag} ${w.label}, ${w.variant} loop…`);
          entries.push({ group: w.key, impl: `${tag} nn.BatchNorm2d, ${w.variant}`, timing: measure(w.run, bnReps), ref: isRef && w.variant === 'natural', variant: w.variant, threads: t, backend: b });
        }
        for (const w of bnKernelWorkloads(BN_SHAPE)) {
          log(`${tag} kernels ${w.label}…`);
          const own = w.key === 'kernel.stats' || w.key === 'kernel.backward';
          entries.push({ group: kernelGroup[w.key], impl: `${tag} kernels: ${w.label}`, timing: measure(w.run, bnReps), ref: isRef && own, threads: t, backend: b, kernel: true });
        }
      }
      if (doMlp) {
        for (const bn of [true, false]) for (const variant of variants) {
          log(`${tag} MLP ${bn ? 'with' : 'without'} BN, ${variant} loop…`);
          const r = measureSteps(mlpStep(bn, { variant }), mlpReps, q ? 200 : 600);
          entries.push({ group: bn ? 'mlp.bn' : 'mlp.plain', impl: `${tag}, ${variant}`, timing: r, ref: isRef && variant === 'natural', variant, threads: t, backend: b, note: `${r.steps} steps/sample` });
        }
        for (const variant of variants) {
          log(`${tag} small CNN, ${variant} loop…`);
          const r = measureSteps(cnnStep({ variant }), cnnReps, q ? 200 : 1000);
          entries.push({ group: 'cnn', impl: `${tag}, ${variant}`, timing: r, ref: isRef && variant === 'natural', variant, threads: t, backend: b, note: `${r.steps} steps/sample` });
        }
        if (isRef) {
          log(`${tag} profiles…`);
          profiles.push({ label: `${tag} paper MLP with BN`, profile: profileSteps(mlpStep(true), q ? 50 : 400) });
          profiles.push({ label: `${tag} small CNN`, profile: profileSteps(cnnStep(), q ? 5 : 30) });
        }
      }
      if (doBn && isRef) {
        const [, fb, inf] = bnApiWorkloads(BN_SHAPE).filter((w) => w.variant === 'natural');
        profiles.push({ label: `${tag} BN2d training forward+backward`, profile: profileSteps(fb.run, q ? 5 : 40, 5) });
        profiles.push({ label: `${tag} BN2d inference`, profile: profileSteps(inf.run, q ? 5 : 60, 5) });
      }
    }
  } catch (e) {
    skipped.push({ peer: `normlab [${b}]`, what: opts.only ?? 'bn+mlp', reason: e instanceof Error ? e.message : String(e) });
    log(`  normlab [${b}] failed: ${e instanceof Error ? e.stack : String(e)}`);
  }
}
setNumThreads(allThreads);
setBackend(defaultBackend);

// ---- where splitting a kernel between threads pays (the thresholds in src/kernels/wasm/kernels.ts) ----
let crossoverRows: CrossoverRow[] = [];
if (defaultBackend !== 'js' && allThreads > 1 && opts.backend !== 'js') {
  log('thread crossover sizes…');
  crossoverRows = crossovers(allThreads, q ? 3 : 9);
}

// ---- peers, each in its own process ----
function addPeer(out: PeerOutput, what: string, label: string): void {
  if (out.skipped || !out.results) {
    skipped.push({ peer: label, what, reason: out.skipped ?? 'no results' });
    log(`  skipped ${label} ${what}: ${out.skipped}`);
    return;
  }
  peerInfo[`${label} ${what}`] = out.info ?? {};
  for (const [key, r] of Object.entries(out.results)) {
    const group = key === 'bn.train_fwd_bwd_channels_last' ? 'bn.train_fwd_bwd' : key;
    entries.push({ group, impl: label + (key.endsWith('channels_last') ? ', channels-last' : ''), timing: summarize(r.wall, r.cpu), note: r.cold ? 'one cold run' : undefined });
  }
}

if (opts.peers) for (const r of runPeers({ quick: q, bn: doBn, mlp: doMlp, shape: BN_SHAPE }, log)) addPeer(r.out, r.what, r.label);

// ---- memory floor, then the report ----
log('copy bandwidth again…');
const bwEnd: Bandwidth = copyBandwidth(BW_FLOATS, bwReps);
const bw = pooled(bwStart, bwEnd);
const bwAll = pooled(bwAllStart, await copyBandwidthThreads(BW_FLOATS, allThreads, bwReps));
const floor = (passes: number): { floorMs: number; floorBestMs: number; floorAllMs: number } => ({
  floorMs: floorMs(passes * BN_BYTES, bw.bytesPerSec), floorBestMs: floorMs(passes * BN_BYTES, bestBytesPerSec(bw)),
  floorAllMs: floorMs(passes * BN_BYTES, bwAll.bytesPerSec),
});
const shapeStr = `[${BN_SHAPE.join(',')}]`;
const groups: Group[] = [
  { key: 'bn.train_fwd', title: `BN2d ${shapeStr} training forward`, ...floor(3) },
  { key: 'bn.train_fwd_bwd', title: 'BN2d training forward+backward', ...floor(8) },
  { key: 'bn.infer', title: 'BN2d inference', ...floor(2) },
  { key: 'kernel.stats', title: 'kernel normStats alone', ...floor(1) },
  { key: 'kernel.backward', title: 'kernel normBackward alone', ...floor(5) },
  { key: 'mlp.bn', title: 'paper MLP with BN (batch 60)', rate: true },
  { key: 'mlp.plain', title: 'paper MLP without BN', rate: true },
  { key: 'cnn', title: 'small CNN training step (batch 60)', rate: true },
];
const gbps = (v: number): string => `${(v / 1e9).toFixed(1)} GB/s`;
const GB = (b: Bandwidth): string => gbps(b.bytesPerSec);
const machine = {
  cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, v8: process.versions.v8,
  platform: `${process.platform} ${process.arch}`, totalMemGB: +(totalmem() / 2 ** 30).toFixed(1),
  loadavgStart: load0, loadavgEnd: loadavg(),
};
console.log(`\nnormlab bench — ${started.toISOString()} — ${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${q ? ' — QUICK (few reps)' : ''}`);
console.log(`load average at start ${load0.map((v) => v.toFixed(2)).join(' ')}, at end ${machine.loadavgEnd.map((v) => v.toFixed(2)).join(' ')} (shared machine: numbers are noisy)`);
console.log(`copy bandwidth (Float32Array.set over ${(bw.floats * 4 / 2 ** 20).toFixed(0)} MiB, read+write): median ${GB(bw)} (start ${GB(bwStart)}, end ${GB(bwEnd)}, best ${gbps(bestBytesPerSec(bw))}); ` +
  `${GB(bwAtBn)} (best ${gbps(bestBytesPerSec(bwAtBn))}) at the BN tensor's size (${(BN_BYTES / 1e6).toFixed(1)} MB, partly cache-resident)`);
console.log(`floor = passes × ${(BN_BYTES / 1e6).toFixed(1)} MB / ${GB(bw)} (the median copy; the floor row also gives it at the best copy, ${gbps(bestBytesPerSec(bw))}): ` +
  'training fwd 3 passes, fwd+bwd 8, inference 2, normStats 1, normBackward 5. x is small enough to stay partly in L3 between reps, so a kernel can beat the floor.\n');
console.log(`copy bandwidth with ${allThreads} cores copying at once: median ${GB(bwAll)}; the floor with every core is passes × ${(BN_BYTES / 1e6).toFixed(1)} MB / ${GB(bwAll)}.\n`);
console.log(table(groups, entries));
console.log(`\nRatios: time of the reference row (normlab, the default wasm build, ${allThreads} threads, the loop as a PyTorch user writes it) ÷ time of the row (below 1: normlab faster).`);
console.log('\nThe loop as a PyTorch user writes it (natural: no scope, no dispose) against the same work in scope():\n');
console.log(naturalVsScoped(groups, entries));
console.log('\nThread scaling (natural loop):\n');
console.log(threadScaling(groups, entries, allThreads));
if (crossoverRows.length) {
  console.log(`\nWhere splitting a kernel pays (default build, thresholds forced to 0, 1 vs ${allThreads} threads, medians of interleaved samples):\n`);
  console.log(formatCrossovers(crossoverRows, allThreads));
}
console.log('\nGoals (issue 9):\n');
console.log(goals(groups, entries, allThreads));
console.log('\nWhere the time goes (kernels timed one by one for a few steps; "other" is JavaScript outside kernels: autograd, storage, dispatch):\n');
for (const p of profiles) console.log('- ' + formatProfile(p.label, p.profile));
if (skipped.length) console.log('\nskipped: ' + skipped.map((s) => `${s.peer} ${s.what} (${s.reason})`).join('; '));

const outDir = join(projectRoot(), 'runs');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `bench-${started.toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({
  date: started.toISOString(), options: opts, machine, defaultBackend, backends,
  bandwidth: { copy: bw, copyStart: bwStart, copyEnd: bwEnd, copyAtBnSize: bwAtBn, copyAllCores: bwAll },
  profiles, crossovers: crossoverRows,
  bn: { shape: BN_SHAPE, bytes: BN_BYTES },
  groups, entries, skipped, peerInfo, durationSec: (Date.now() - started.getTime()) / 1e3,
}, null, 1) + '\n');
console.log(`\nall numbers: ${file}`);

// ---- BN folding (issue 11): inference before and after deploy.foldBatchNorm, default backend, all threads (bench/fold.ts) ----
if (doMlp) {
  try {
    const { foldBench, foldTable } = await import('./fold.js');
    const rows = foldBench({ quick: q, log });
    console.log(`\nBN folding: eval-mode inference before and after deploy.foldBatchNorm (normlab [${getBackend().name}, ${thr(getNumThreads())}], median per forward):\n`);
    console.log(foldTable(rows));
    const foldFile = file.replace(/\.json$/, '-fold.json');
    writeFileSync(foldFile, JSON.stringify({ date: started.toISOString(), backend: getBackend().name, threads: getNumThreads(), rows }, null, 1) + '\n');
    console.log(`fold numbers: ${foldFile}`);
  } catch (e) {
    log(`fold bench failed: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

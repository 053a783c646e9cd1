// Timing for the JS peer drivers (same rules as bench/timing.ts): wall-clock and process CPU time per rep.
// The first run is a warm-up that also sizes the repetitions, so slow peers (tfjs-cpu) get fewer reps
// within `budgetMs`. Warm-up goes on for `warmup` runs and `warmMs` at least, never past a third of the budget.
const cpuMs = (u) => (u.user + u.system) / 1e3;

// With minReps 0 (quick runs), a workload slower than the whole budget is reported from its first, cold run.
export async function measure(fn, { warmup = 2, reps = 7, minReps = 2, budgetMs = 10000, warmMs = 500 }) {
  const c0 = process.cpuUsage();
  let s = performance.now();
  await fn();
  const first = performance.now() - s;
  if (minReps === 0 && first >= budgetMs) return { wall: [first], cpu: [cpuMs(process.cpuUsage(c0))], cold: true };
  for (let i = 1; (i < warmup || performance.now() - s < warmMs) && performance.now() - s + first < budgetMs / 3 && i < 50; i++) await fn();
  const n = Math.max(minReps, Math.min(reps, Math.floor(budgetMs / Math.max(first, 1e-3))));
  const wall = [], cpu = [];
  for (let i = 0; i < n; i++) {
    const c = process.cpuUsage(); s = performance.now();
    await fn();
    wall.push(performance.now() - s); cpu.push(cpuMs(process.cpuUsage(c)));
  }
  return { wall, cpu };
}

// Milliseconds per training step: each sample runs `steps` steps, sized so one sample takes ~targetMs.
export async function measureSteps(step, { warmup = 2, reps = 5, minReps = 2, targetMs = 1000 }) {
  const w = Math.max(warmup, 3);
  let s = performance.now();
  for (let i = 0; i < w; i++) await step();
  const per = (performance.now() - s) / w;
  const steps = Math.max(3, Math.round(targetMs / per));
  const wall = [], cpu = [];
  for (let r = 0; r < Math.max(reps, minReps); r++) {
    const c = process.cpuUsage(); s = performance.now();
    for (let i = 0; i < steps; i++) await step();
    wall.push((performance.now() - s) / steps); cpu.push(cpuMs(process.cpuUsage(c)) / steps);
  }
  return { wall, cpu, steps };
}

export function emit(obj) {
  process.stdout.write('\n' + JSON.stringify(obj) + '\n');
}

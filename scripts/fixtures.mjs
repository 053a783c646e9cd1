#!/usr/bin/env node
// Regenerates every committed fixture under test/fixtures/ (`npm run fixtures`).
//
// Runs every scripts/gen_*.py with Debian's /usr/bin/python3 (python3-torch, python3-onnx; see each script's
// docstring), gen_fixtures.py first (the others import its writer). The safetensors files normlab writes
// (test/fixtures/safetensors/normlab-*.safetensors) are written by a test (NORMLAB_WRITE_FIXTURES=1, see
// test/io/safetensors.pytorch.test.ts) before gen_safetensors_fixtures.py reads them back with PyTorch.
// Every step is deterministic, so on an unchanged tree `git status test/fixtures` stays clean afterwards, given
// the same BLAS kernels: matrix products go through Debian's OpenBLAS, which picks its kernels by CPU (an
// AVX-512 machine takes the SkylakeX ones), and the last bits of PyTorch's sums follow (float64 results move by
// a few ulps; float32 ones by a few ulps, up to 5e-4 relative where a gradient cancels; trained weights by an
// ulp). OPENBLAS_CORETYPE is therefore pinned to Haswell (AVX2: the same bytes on any AVX2 or AVX-512
// x86-64 machine); set it yourself to override.
//
//   npm run fixtures                 every fixture file
//   npm run fixtures -- norm onnx    only the scripts whose names contain one of the words
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const python = process.env.NORMLAB_PYTHON ?? '/usr/bin/python3';

/** Steps that must run before a script: the normlab-written files gen_safetensors_fixtures.py reads. */
const before = {
  'gen_safetensors_fixtures.py': [{
    what: 'test/fixtures/safetensors/normlab-*.safetensors (written by normlab)',
    cmd: 'npx', args: ['vitest', 'run', '--project', 'wasm', 'test/io/safetensors.pytorch.test.ts', '-t', 'writes test/fixtures/safetensors'],
    env: { NORMLAB_WRITE_FIXTURES: '1' },
  }],
};

const scripts = readdirSync(join(root, 'scripts')).filter((f) => /^gen_.*\.py$/.test(f))
  .sort((a, b) => Number(b === 'gen_fixtures.py') - Number(a === 'gen_fixtures.py') || a.localeCompare(b));
const only = process.argv.slice(2);
const chosen = only.length ? scripts.filter((s) => only.some((w) => s.includes(w))) : scripts;
if (!chosen.length) {
  console.error(`fixtures: no script matches ${only.join(', ')} (scripts: ${scripts.join(', ')})`);
  process.exit(2);
}

function run(what, cmd, args, env = {}) {
  console.log(`\n== ${what}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { OPENBLAS_CORETYPE: 'Haswell', ...process.env, ...env } });
  if (r.error || r.status !== 0) {
    console.error(`fixtures: ${what} failed (${r.error?.message ?? `exit ${r.status ?? r.signal}`})`);
    process.exit(1);
  }
  console.log(`   ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

for (const script of chosen) {
  for (const step of before[script] ?? []) run(step.what, step.cmd, step.args, step.env);
  run(`scripts/${script}`, python, [join('scripts', script)]);
}
console.log(`\nfixtures: ${chosen.length} script(s) done; \`git status test/fixtures\` shows what changed.`);

/**
 * `normlab fold <model.safetensors|checkpoint>`: BN folded into the Linear/Conv2d before it
 * (deploy.foldBatchNorm); writes the folded state dict as safetensors and checks the outputs on the test digits.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { deploy, io, noGrad, tensor, train } from '../src/index.js';
import { FOLDED, describeArch, digits, loadModel, type ArchFlags } from './arch.js';

export interface FoldFlags extends ArchFlags {
  out?: string;
  json?: boolean;
}

/** `<dir>/<name>-folded.safetensors` beside the input. */
function defaultOut(input: string): string {
  return join(dirname(input), `${basename(input).replace(/\.safetensors$/, '')}-folded.safetensors`);
}

export async function foldCommand(input: string, f: FoldFlags): Promise<Record<string, unknown>> {
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const { model, arch, kind, config } = await loadModel(input, f);
  model.eval();
  const { model: folded, folded: pairs, kept } = deploy.foldBatchNorm(model);
  // The check: logits of the original and the folded model on the test digits, and both accuracies.
  const { test } = await digits(typeof config?.seed === 'number' ? config.seed : 0);
  const rows = Math.min(test.count, 1000);
  const x = tensor(test.x.subarray(0, rows * test.features), [rows, test.features], { dtype: arch.dtype });
  const [y0, y1] = noGrad(() => [model.forward(x), folded.forward(x)]);
  let diff = 0, scale = 0;
  for (let i = 0; i < y0.size; i++) { diff = Math.max(diff, Math.abs(y0.data[i] - y1.data[i])); scale = Math.max(scale, Math.abs(y0.data[i])); }
  const before = train.evaluate(model, test), after = train.evaluate(folded, test);
  const out = resolve(f.out ?? defaultOut(input));
  const meta = { format: FOLDED, arch: JSON.stringify(arch), folded: JSON.stringify(pairs), kept: JSON.stringify(kept) };
  await io.writeFileAtomic(out, io.saveSafetensors(folded, meta));
  say(`normlab fold: ${describeArch(arch)} from a ${kind}: ${pairs.length} BN folded (${pairs.map((p) => `${p.bn} → ${p.layer}`).join(', ') || 'none'})` +
    `${kept.length ? `; kept ${kept.map((k) => `${k.bn} (${k.reason})`).join('; ')}` : ''}`);
  say(`outputs on ${rows} test digits: max |difference| ${diff.toExponential(2)} (relative ${(diff / (scale || 1)).toExponential(2)}); ` +
    `test accuracy ${(100 * before.accuracy).toFixed(2)}% before, ${(100 * after.accuracy).toFixed(2)}% folded; wrote ${out}`);
  return {
    command: 'fold', input: resolve(input), kind, arch, out, folded: pairs, kept,
    maxAbsDiff: diff, maxRelDiff: diff / (scale || 1),
    testAccuracy: { original: before.accuracy, folded: after.accuracy },
  };
}

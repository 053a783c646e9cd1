/**
 * `normlab recompute-stats <checkpoint>`: population statistics (the BN note's second option for inference
 * statistics) over the training digits the checkpoint was trained on, written into a copy of the checkpoint.
 */
import { basename, dirname, join, resolve } from 'node:path';
import { data as dataset, deploy, io, train } from '../src/index.js';
import { buildModel, describeArch, digits, loadModel } from './arch.js';

export interface RecomputeFlags {
  out?: string;
  batch: number;
  biased?: boolean;
  json?: boolean;
}

function defaultOut(input: string): string {
  return join(dirname(input), `${basename(input).replace(/\.safetensors$/, '')}-population.safetensors`);
}

/**
 * The checkpoint's bytes with the model's running statistics replaced and `extra.populationStats` added;
 * everything else (optimizer, scheduler, loader, RNG, step, flags) as it was. The CRC is recomputed the way
 * io.encodeCheckpoint computes it (over the file written with crc32 '00000000'); the result is read back
 * with io.decodeCheckpoint before it is returned.
 */
function patchCheckpoint(bytes: Uint8Array, running: Record<string, Float64Array>, note: Record<string, unknown>): Uint8Array {
  const { tensors, metadata } = io.decodeSafetensors(bytes);
  const entries: Record<string, io.SafetensorsEntry> = {};
  for (const [k, t] of Object.entries(tensors)) {
    const name = k.startsWith('model.') ? k.slice(6) : null;
    entries[k] = { dtype: t.dtype, shape: t.shape, data: name !== null && running[name] ? running[name] : t.data };
  }
  const extra = { ...(JSON.parse(metadata.extra ?? '{}') as Record<string, unknown>), populationStats: note };
  const meta = { ...metadata, extra: JSON.stringify(extra), crc32: '00000000' };
  const crc = io.crc32(io.encodeSafetensors(entries, meta)).toString(16).padStart(8, '0');
  return io.encodeSafetensors(entries, { ...meta, crc32: crc });
}

export async function recomputeCommand(input: string, f: RecomputeFlags): Promise<Record<string, unknown>> {
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const loaded = await loadModel(input, {});
  if (loaded.kind !== 'checkpoint') throw new Error(`${input}: recompute-stats needs a train checkpoint (written by train --checkpoint-every), which says what data the model was trained on`);
  const { model, arch, config } = loaded;
  const seed = typeof config?.seed === 'number' ? config.seed : 0;
  const { train: trainSet, test } = await digits(seed);
  const moving = train.evaluate(model, test);
  const unbiased = !f.biased;
  const t0 = performance.now();
  const r = deploy.recomputeBatchNormStats(model, new dataset.DataLoader(trainSet, { batchSize: f.batch, shuffle: false }), { unbiased });
  const seconds = (performance.now() - t0) / 1000;
  const population = train.evaluate(model, test);
  const running: Record<string, Float64Array> = {};
  for (const [k, t] of Object.entries(model.stateDict())) if (/running_(mean|var)$/.test(k)) running[k] = Float64Array.from(t.data);
  const note = { samples: r.samples, unbiased, layers: r.layers.map((l) => l.path) };
  const bytes = patchCheckpoint(await io.readFileBytes(input), running, note);
  io.decodeCheckpoint(bytes, { model: buildModel(arch) }); // the file we write reads back as a checkpoint
  const out = resolve(f.out ?? defaultOut(input));
  await io.writeFileAtomic(out, bytes);
  say(`normlab recompute-stats: ${describeArch(arch)} at step ${loaded.step}: ${r.layers.length} BN layers over ${r.samples} training digits ` +
    `(${r.passes} passes, ${seconds.toFixed(1)} s${r.skipped.length ? `; skipped ${r.skipped.map((s) => `${s.path}: ${s.reason}`).join('; ')}` : ''})`);
  say(`test accuracy ${(100 * moving.accuracy).toFixed(2)}% with moving averages, ${(100 * population.accuracy).toFixed(2)}% with population statistics; wrote ${out}`);
  return {
    command: 'recompute-stats', input: resolve(input), out, step: loaded.step, arch,
    layers: r.layers, skipped: r.skipped, samples: r.samples, passes: r.passes, unbiased, seconds: +seconds.toFixed(2),
    testAccuracy: { movingAverages: moving.accuracy, population: population.accuracy },
    testLoss: { movingAverages: moving.loss, population: population.loss },
  };
}

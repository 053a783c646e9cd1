import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { io, manualSeed, models, noGrad, onnx, randn } from '../../src/index.js';
import { ensureBuilt, lastJson, runCli, type CliRun } from './dist.js';

/* `normlab export --onnx` and `normlab import`, run as a user runs them (the built CLI in a child process). */

type Run = CliRun;

let work: string;

const normlab = (args: string[]): Promise<Run> => runCli(args, { cwd: work, timeoutMs: 120_000 });

const summaryOf = lastJson;

beforeAll(async () => {
  ensureBuilt();
  work = await mkdtemp(join(tmpdir(), 'normlab-onnx-cli-'));
}, 180_000);
afterAll(async () => { if (work) await rm(work, { recursive: true, force: true }); });

describe('normlab export --onnx / normlab import', () => {
  it('a state dict exports to ONNX that onnxruntime runs with the model\'s outputs; import writes the state dict back', async () => {
    manualSeed(5);
    const model = models.mlp({ hidden: [16, 16], norm: 'batch', activation: 'relu' });
    noGrad(() => model.forward(randn([32, 784]).add(0.5))); // running statistics away from 0 and 1
    model.eval();
    await writeFile(join(work, 'mlp.safetensors'), io.saveSafetensors(model));

    const r = await normlab(['export', 'mlp.safetensors', '--onnx', 'mlp.onnx', '--width', '16', '--depth', '2', '--activation', 'relu', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = summaryOf(r);
    expect(s).toMatchObject({ command: 'export', kind: 'state dict', opset: 17, ops: { Gemm: 3, BatchNormalization: 2, Relu: 2 }, inputShape: ['N', 784], outputShape: ['N', 10] });
    expect((s.readBack as { maxAbsDiff: number }).maxAbsDiff).toBeLessThan(1e-5);
    const bytes = new Uint8Array(readFileSync(join(work, 'mlp.onnx')));
    const session = await ort.InferenceSession.create(bytes);
    const x = randn([3, 784]);
    const y = (await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.storage.copyToHost()), [3, 784]) })).output.data as Float32Array;
    const ours = noGrad(() => model.forward(x)).storage.copyToHost();
    ours.forEach((v, i) => expect(Math.abs(v - y[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));

    const imp = await normlab(['import', 'mlp.onnx', '--json']);
    expect(imp.code, imp.stderr).toBe(0);
    const si = summaryOf(imp);
    expect((si.layers as { type: string }[]).map((l) => l.type)).toEqual(['Linear', 'BatchNorm1d', 'ReLU', 'Linear', 'BatchNorm1d', 'ReLU', 'Linear']);
    expect(si).toMatchObject({ command: 'import', producer: 'normlab', opset: 17, inputShape: ['N', 784], outputShape: ['N', 10], parameters: model.parameters().reduce((n, p) => n + p.size, 0) });
    expect(si.out).toBe(join(work, 'mlp-onnx.safetensors'));
    expect(existsSync(si.out as string)).toBe(true);
    const state = io.loadSafetensors(new Uint8Array(readFileSync(si.out as string)));
    const back = onnx.importOnnx(bytes);
    back.loadStateDict(state);
    expect(Array.from(noGrad(() => back.forward(x)).storage.copyToHost())).toEqual(Array.from(noGrad(() => onnx.importOnnx(bytes).forward(x)).storage.copyToHost()));
  }, 120_000);

  it('a train checkpoint (cnn) exports with the architecture saved in it', async () => {
    const t = await normlab(['train', '--model', 'cnn', '--steps', '2', '--eval-every', '2', '--checkpoint-every', '2', '--batch', '8', '--out', 'run', '--json']);
    expect(t.code, t.stderr).toBe(0);
    const r = await normlab(['export', join('run', 'checkpoint.safetensors'), '--onnx', 'cnn.onnx', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r)).toMatchObject({ kind: 'checkpoint', ops: { Reshape: 1, Conv: 2, BatchNormalization: 2, Relu: 2, MaxPool: 2, GlobalAveragePool: 1, Flatten: 1, Gemm: 1 } });
    expect((summaryOf(r).readBack as { maxAbsDiff: number }).maxAbsDiff).toBeLessThan(1e-4);
  }, 180_000);

  it('errors: an unsupported operator lists them all (exit 1); a missing --onnx is a usage error (exit 2)', async () => {
    const fixture = new URL('../fixtures/onnx/unsupported.onnx', import.meta.url);
    await writeFile(join(work, 'unsupported.onnx'), readFileSync(fixture));
    const r = await normlab(['import', 'unsupported.onnx', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^normlab: onnx: unsupported operators: /);
    for (const op of ['Div', 'Erf', 'Mul', 'LeakyRelu', 'Softmax']) expect(r.stderr).toContain(op);
    const u = await normlab(['export', 'mlp.safetensors']);
    expect(u.code).toBe(2);
    expect(u.stderr).toMatch(/required option '--onnx <out>'/);
    const bad = await normlab(['export', 'mlp.safetensors', '--onnx', 'x.onnx', '--width', '17', '--depth', '2']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/does not match/);
  }, 120_000);
});

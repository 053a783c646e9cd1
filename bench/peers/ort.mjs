// onnxruntime-node peer: `node ort.mjs <model.onnx> <threads> '<config json>'`; BN inference only.
import ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { emit, measure } from './timing.mjs';

const [modelPath, threadsArg = '1', cfgJson = '{}'] = process.argv.slice(2);
const cfg = JSON.parse(cfgJson), threads = +threadsArg;
const s = await ort.InferenceSession.create(readFileSync(modelPath), { intraOpNumThreads: threads, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
const shape = cfg.shape ?? [32, 64, 56, 56];
const n = shape.reduce((a, b) => a * b, 1);
const x = new ort.Tensor('float32', Float32Array.from({ length: n }, () => Math.random()), shape);
const samples = await measure(() => s.run({ x }), { ...cfg.reps, budgetMs: cfg.budgetMs });
const version = createRequire(import.meta.url)('onnxruntime-node/package.json').version;
emit({ peer: `onnxruntime-${threads}t`, info: { version, threads }, results: { 'bn.infer': samples } });

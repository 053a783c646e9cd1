// TensorFlow.js peer: `node tfjs.mjs cpu|wasm bn|mlp '<config json>'`; prints one JSON line of timings.
// BN2d on the NHWC tensor equivalent to normlab's NCHW [N, C, H, W]; the paper MLP via tfjs layers.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { emit, measure, measureSteps } from './timing.mjs';

const [backend = 'cpu', mode = 'bn', cfgJson = '{}'] = process.argv.slice(2);
const cfg = JSON.parse(cfgJson);
await tf.setBackend(backend);
await tf.ready();
const peer = `tfjs-${backend}`;
const results = {}, info = { version: tf.version.tfjs, backend: tf.getBackend() };

const force = (r) => (Array.isArray(r) ? r : [r]).forEach((t) => t.dataSync());

if (mode === 'bn') {
  const [N, C, H, W] = cfg.shape ?? [32, 64, 56, 56];
  const x = tf.randomNormal([N, H, W, C]), dy = tf.randomNormal([N, H, W, C]);
  const gamma = tf.ones([C]), beta = tf.zeros([C]);
  // training forward: batch moments over N, H, W, then normalize, scale, shift
  const fwd = (x, g, b) => { const { mean, variance } = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, mean, variance, b, g, 1e-5); };
  const grads = tf.grads(fwd); // grads([x, γ, β], dy): the upstream gradient is passed in directly
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  const time = (f, budgetMs, minReps = cfg.reps?.minReps) => measure(() => tf.tidy(() => force(f())), { ...cfg.reps, budgetMs, minReps });
  results['bn.train_fwd'] = await time(() => fwd(x, gamma, beta), cfg.budgetMs);
  // forward+backward is the slow one on the cpu backend (~10 s): its own budget and minimum reps
  results['bn.train_fwd_bwd'] = await time(() => grads([x, gamma, beta], dy), cfg.slowBudgetMs ?? cfg.budgetMs, cfg.slowMinReps ?? cfg.reps?.minReps);
  results['bn.infer'] = await time(() => tf.batchNorm(x, mean, variance, beta, gamma, 1e-5), cfg.budgetMs);
} else {
  const B = cfg.batch ?? 60, S = cfg.samples ?? 10000;
  for (const useBn of [true, false]) {
    const m = tf.sequential();
    for (let i = 0; i < 3; i++) {
      m.add(tf.layers.dense({ units: 100, useBias: !useBn, ...(i === 0 ? { inputShape: [784] } : {}) }));
      if (useBn) m.add(tf.layers.batchNormalization());
      m.add(tf.layers.activation({ activation: 'sigmoid' }));
    }
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
    m.compile({ optimizer: tf.train.sgd(cfg.lr ?? 0.5), loss: 'categoricalCrossentropy' });
    const X = tf.randomUniform([S, 784]), Y = tf.oneHot(tf.randomUniform([S], 0, 10, 'int32'), 10);
    const nb = Math.floor(S / B);
    let i = 0;
    const step = async () => {
      const j = (i++ % nb) * B;
      const xb = X.slice([j, 0], [B, 784]), yb = Y.slice([j, 0], [B, 10]);
      await m.trainOnBatch(xb, yb);
      xb.dispose(); yb.dispose();
    };
    const r = await measureSteps(step, cfg.mlp ?? {});
    results[useBn ? 'mlp.bn' : 'mlp.plain'] = { wall: r.wall, cpu: r.cpu };
    info[useBn ? 'mlp.bn.steps_per_sample' : 'mlp.plain.steps_per_sample'] = r.steps;
    m.dispose(); X.dispose(); Y.dispose();
  }
}
emit({ peer, info, results });

// The browser check's computation, plain ESM so that it runs unchanged in the page (on dist/src/index.js)
// and in the test process (on src/index.ts): a BatchNorm2d forward + backward, then a few SGD steps of a
// small MLP with BatchNorm1d, each in a scope. `lib` is normlab's entry module; `inp` comes from makeInputs
// (inputs.ts). Returns plain number arrays only, so the page can hand them back as JSON.

/** @param {any} lib  normlab's entry module  @param {any} inp  see makeInputs */
export function runWorkload(lib, inp) {
  const { nn, optim, scope, tensor } = lib;
  const backend = lib.getBackend().name;
  // Where kernels find tensors: the wasm backend's shared memory (it reports its use) or plain arrays (js).
  const storage = lib.memoryStats() ? 'wasm memory' : 'js arrays';

  // BatchNorm2d: y = γ·(x − μ)/√(σ² + ε) + β in training mode; loss = Σ y·g, so dy = g.
  const bn = new nn.BatchNorm2d(inp.bn.shape[1]);
  bn.loadStateDict({ ...bn.stateDict(), weight: inp.bn.gamma, bias: inp.bn.beta });
  const bn2d = scope(() => {
    const x = tensor(inp.bn.x, inp.bn.shape, { requiresGrad: true });
    const y = bn.forward(x);
    y.mul(tensor(inp.bn.upstream, inp.bn.shape)).sum().backward();
    return {
      y: Array.from(y.data), dx: Array.from(x.grad.data),
      dgamma: Array.from(bn.weight.grad.data), dbeta: Array.from(bn.bias.grad.data),
      runningMean: Array.from(bn.runningMean.data), runningVar: Array.from(bn.runningVar.data),
    };
  });

  // MLP Linear → BatchNorm1d → ReLU → Linear, cross-entropy, SGD with momentum; one scope per step.
  const [d, h, k] = inp.mlp.sizes;
  const model = new nn.Sequential(new nn.Linear(d, h), new nn.BatchNorm1d(h), new nn.ReLU(), new nn.Linear(h, k));
  model.loadStateDict({ ...model.stateDict(), ...inp.mlp.state });
  const opt = new optim.SGD(model.parameters(), { lr: inp.mlp.lr, momentum: 0.9 });
  const x = tensor(inp.mlp.x, [inp.mlp.labels.length, d]);
  const losses = [];
  /** Bytes in use after each step (wasm; null for js): flat once the momentum buffers exist, as scopes free the rest. */
  const inUse = [];
  for (let s = 0; s < inp.mlp.steps; s++) {
    losses.push(scope(() => {
      opt.zeroGrad();
      const loss = nn.functional.crossEntropy(model.forward(x), inp.mlp.labels);
      loss.backward();
      opt.step();
      return loss.item();
    }));
    inUse.push(lib.memoryStats()?.inUse ?? null);
  }
  model.eval();
  const logits = scope(() => Array.from(model.forward(x).data));
  /** @type {Record<string, number[]>} */
  const state = {};
  for (const [name, t] of Object.entries(model.stateDict())) state[name] = Array.from(t.data);
  return { backend, storage, inUse, bn2d, mlp: { losses, logits, state } };
}

/**
 * The loop a PyTorch user writes (no scope, no dispose) for `steps` steps of a small BN MLP on fresh random
 * inputs; returns the wasm backend's memory (linear memory size and bytes in use, MB) after each tenth of the
 * run, and the last loss (null figures with the js backend).
 * @param {any} lib  normlab's entry module  @param {number} steps
 */
export function runNaturalLoop(lib, steps) {
  const { nn, optim, rand, manualSeed } = lib;
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(64, 32, { bias: false }), new nn.BatchNorm1d(32), new nn.Sigmoid(), new nn.Linear(32, 10));
  const opt = new optim.SGD(model.parameters(), { lr: 0.5 });
  const y = Int32Array.from({ length: 60 }, (_, i) => i % 10);
  const samples = [];
  let last = NaN;
  for (let i = 1; i <= steps; i++) {
    const loss = nn.functional.crossEntropy(model.forward(rand([60, 64])), y);
    opt.zeroGrad(); loss.backward(); opt.step();
    if (i % (steps / 10) === 0) {
      const m = lib.memoryStats();
      samples.push(m ? { memoryMB: m.memoryBytes / 2 ** 20, inUseMB: m.inUse / 2 ** 20 } : null);
      last = loss.item();
    }
  }
  return { samples, loss: last };
}

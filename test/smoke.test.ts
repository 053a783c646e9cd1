import { test, expect } from 'vitest';
import { tensor, randn, manualSeed, nn } from '../src/index.js';
test('smoke', () => {
  manualSeed(0);
  const model = new nn.Sequential(new nn.Linear(784, 100, { bias: false }), new nn.BatchNorm1d(100), new nn.Sigmoid(), new nn.Linear(100, 10));
  const x = randn([60, 784]);
  const logits = model.forward(x);
  const loss = nn.functional.crossEntropy(logits, Array.from({ length: 60 }, (_, i) => i % 10));
  loss.backward();
  console.log(loss.item(), Object.keys(model.stateDict()), model.parameters().map(p => p.grad?.shape));
  const a = tensor([[1, 2], [3, 4]], undefined, { requiresGrad: true });
  a.mul(a).sum().backward();
  expect(a.grad!.toArray()).toEqual([[2, 4], [6, 8]]);
});

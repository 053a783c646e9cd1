import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cat, nn, randn, stack, tensor, zeros } from '../../src/index.js';

/**
 * Issue 8, item 2: every op reaches the tape through one path (autograd's `apply`, via the tensor layer's
 * `op`), which refuses freed storage — and the storage itself refuses to be read once freed, so no caller
 * can skip the check.
 */
describe('one path from every op to the tape', () => {
  it('nn never calls the op table or the tape directly', () => {
    const dir = join(__dirname, '../../src/nn');
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.ts'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      expect(src, `src/nn/${f}`).not.toMatch(/import\s*{[^}]*\bapply\b[^}]*}\s*from\s*'\.\.\/autograd/);
      expect(src, `src/nn/${f}`).not.toMatch(/new Tensor\([^)]*\.data\b/);
    }
  });

  const freed = (shape: number[]) => { const t = randn(shape); t.dispose(); return t; };
  const cases: [string, () => unknown][] = [
    ['linear', () => nn.functional.linear(freed([2, 3]), randn([4, 3]))],
    ['linear weight', () => nn.functional.linear(randn([2, 3]), freed([4, 3]))],
    ['conv2d', () => nn.functional.conv2d(freed([1, 1, 4, 4]), randn([2, 1, 3, 3]))],
    ['batchNorm', () => nn.functional.batchNorm(freed([4, 3]), null, null, { training: true })],
    ['layerNorm', () => nn.functional.layerNorm(freed([2, 5]), 5)],
    ['groupNorm', () => nn.functional.groupNorm(freed([2, 4, 3]), 2)],
    ['instanceNorm', () => nn.functional.instanceNorm(freed([2, 3, 4]))],
    ['crossEntropy', () => nn.functional.crossEntropy(freed([2, 3]), [0, 1])],
    ['maxPool2d', () => nn.functional.maxPool2d(freed([1, 1, 4, 4]), 2)],
    ['avgPool2d', () => nn.functional.avgPool2d(freed([1, 1, 4, 4]), 2)],
    ['cat', () => cat([zeros([2, 2]), freed([2, 2])])],
    ['stack', () => stack([freed([2, 2]), zeros([2, 2])])],
    ['add', () => freed([3]).add(1)],
    ['matmul', () => tensor([[1, 2]]).matmul(freed([2, 2]))],
    ['argmax', () => freed([2, 3]).argmax()],
    ['toArray', () => freed([2]).toArray()],
    ['data', () => freed([2]).data],
  ];
  for (const [name, f] of cases)
    it(`${name}: a freed input is an error that says so`, () => expect(f).toThrow(/used after its storage was freed/));
});

import { describe, expect, it } from 'vitest';
import { randn, tensor } from '../../src/index.js';

/* dtype promotion: float32 ∘ float64 → float64 (PyTorch's rule); gradients return in each input's own dtype. */

describe('dtype promotion', () => {
  const a32 = () => tensor([1.1, 2.2, 3.3], undefined, { requiresGrad: true });
  const b64 = () => tensor([0.5, 0.25, 2], undefined, { dtype: 'float64', requiresGrad: true });

  it('every binary op and matmul give float64 when either side is float64, in either order', () => {
    for (const op of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum'] as const) {
      expect(a32()[op](b64()).dtype, op).toBe('float64');
      expect(b64()[op](a32()).dtype, op).toBe('float64');
      expect(a32()[op](a32()).dtype, op).toBe('float32');
    }
    expect(randn([2, 3]).matmul(randn([3, 2], { dtype: 'float64' })).dtype).toBe('float64');
    expect(randn([2, 3], { dtype: 'float64' }).matmul(randn([3]))).toHaveProperty('dtype', 'float64');
  });

  it('the float32 operand is widened exactly (its float32 value, not the decimal it came from)', () => {
    const y = a32().add(tensor([0, 0, 0], undefined, { dtype: 'float64' }));
    expect(y.data[0]).toBe(Math.fround(1.1));
  });

  it('a number keeps the tensor dtype', () => {
    expect(a32().mul(0.1).dtype).toBe('float32');
    expect(b64().add(1e-20).data[0]).toBe(0.5 + 1e-20);
  });

  it('gradients flow back through the cast in the leaf dtype', () => {
    const a = a32(), b = b64();
    a.mul(b).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(b.grad!.dtype).toBe('float64');
    expect(Array.from(a.grad!.data)).toEqual([0.5, 0.25, 2]);
    expect(Array.from(b.grad!.data)).toEqual([1.1, 2.2, 3.3].map(Math.fround));
  });

  it('to() converts both ways, is differentiable and is the identity for the same dtype', () => {
    const a = a32();
    expect(a.to('float32')).toBe(a);
    const d = a.to('float64');
    expect(d.dtype).toBe('float64');
    d.mul(2).sum().backward();
    expect(a.grad!.dtype).toBe('float32');
    expect(Array.from(a.grad!.data)).toEqual([2, 2, 2]);
    expect(tensor([0.1], undefined, { dtype: 'float64' }).to('float32').data[0]).toBe(Math.fround(0.1));
    // @ts-expect-error: not a DType
    expect(() => a.to('float16')).toThrow(/unknown dtype 'float16'/);
  });
});

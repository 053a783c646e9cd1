import { afterAll, describe, expect, it } from 'vitest';
import { getBackend, memoryStats, randn, setBackend, tensor, wasmSupported, zeros } from '../../src/index.js';
import { naturalLoops } from './natural-loops.js';

const before = getBackend().name;
afterAll(() => setBackend(before));

if (wasmSupported()) naturalLoops('wasm');

describe.skipIf(!wasmSupported())('allocations that cannot be met', () => {
  it('an allocation past the WebAssembly limit names shape, dtype, bytes and limit, and the allocator stays usable', () => {
    setBackend('wasm');
    const before = memoryStats()!;
    expect(() => tensor([1]).add(randn([1])).expand([1 << 15, 1 << 15])).toThrow(
      /expand: float32 tensor of shape \[32768, 32768\]: cannot allocate float32 storage of 1073741824 elements \(4\.00 GiB\): the device memory is full at [\d.]+ (MiB|GiB) of at most 4\.00 GiB/);
    expect(() => zeros([16, 1 << 26], { dtype: 'float64' })).toThrow(/float64 tensor of shape \[16, 67108864\]: cannot allocate float64 storage of 1073741824 elements \(8\.00 GiB\)/);
    // Usable afterwards: ordinary work runs and memory is back where it was.
    expect(tensor([1, 2, 3]).mul(2).toArray()).toEqual([2, 4, 6]);
    expect(memoryStats()!.inUse).toBeLessThan(before.inUse + 64 * 2 ** 20);
  });
});

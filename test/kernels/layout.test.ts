import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adaptiveAxis, convOutSize, slidingAxis, statCount, statSize } from '../../src/kernels/layout.js';
import { broadcastShapes, reduceBlocks, sizeOf, stridesOf } from '../../src/kernels/shape.js';
import * as types from '../../src/kernels/types.js';

/* Shape arithmetic lives in kernels/shape.ts, layout geometry (normalization grouping, convolution and pooling
 * sizes) in kernels/layout.ts; kernels/types.ts keeps the interfaces. One definition each. */

const src = join(import.meta.dirname, '../../src');
const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
  const p = join(dir, f);
  return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
});

describe('one home for shape and layout helpers', () => {
  const homes: Record<string, string> = {
    sizeOf: 'kernels/shape.ts', stridesOf: 'kernels/shape.ts', broadcastShapes: 'kernels/shape.ts', reduceBlocks: 'kernels/shape.ts',
    statCount: 'kernels/layout.ts', ghostSize: 'kernels/layout.ts', statSize: 'kernels/layout.ts', convOutSize: 'kernels/layout.ts',
    conv2dGeometry: 'kernels/layout.ts', slidingAxis: 'kernels/layout.ts', adaptiveAxis: 'kernels/layout.ts',
  };

  it('each helper is defined once, in its module', () => {
    const all = files(src).map((f) => [relative(src, f), readFileSync(f, 'utf8')] as const);
    for (const [name, home] of Object.entries(homes)) {
      const defs = all.filter(([, text]) => new RegExp(`function ${name}\\b`).test(text)).map(([f]) => f);
      expect(defs, name).toEqual([home]);
    }
  });

  it('types.ts still re-exports them for code that imports them with the types', () => {
    for (const name of Object.keys(homes)) expect(typeof (types as Record<string, unknown>)[name], name).toBe('function');
  });

  it('values', () => {
    expect([sizeOf([2, 3, 4]), sizeOf([])]).toEqual([24, 1]);
    expect(stridesOf([2, 3, 4])).toEqual([12, 4, 1]);
    expect([broadcastShapes([3, 1], [4]), broadcastShapes([2], [3])]).toEqual([[3, 4], null]);
    expect(reduceBlocks([2, 1, 3, 4], [2, 3])).toEqual({ dims: [2, 12], red: [false, true] });
    expect([statCount({ N: 8, C: 3, S: 5, groups: 0 }), statSize({ N: 8, C: 3, S: 5, groups: 0 })]).toEqual([3, 40]);
    expect([statCount({ N: 8, C: 3, S: 5, groups: 0, ghost: 2 }), statSize({ N: 8, C: 4, S: 5, groups: 2 })]).toEqual([12, 10]);
    expect(convOutSize(28, 3, 2, 1, 1)).toBe(14);
    expect(Array.from(slidingAxis(5, 3, 2, 1, true).start)).toEqual([0, 1, 3]);
    expect(Array.from(adaptiveAxis(7, 3).end)).toEqual([3, 5, 7]);
  });
});

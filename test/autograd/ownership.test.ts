import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { messagesOf } from '../helpers/typecheck.js';

/* Ownership of what an op saves for backward is in its type (issue 13): an Arr in `saved` must be `Owned` —
 * allocated by the op and handed to the tape with owned(), which frees exactly those — so a borrowed Arr (an
 * input, the output) saved by mistake is a compile error, not a double free or a leak found at run time. */

const root = join(import.meta.dirname, '../..');

const diagnostics = (source: string): string[] => messagesOf(join(root, 'test/autograd/__ownership_usage.ts'), source);

const header = `
  import { owned, type Arr, type OpDef, type Owned } from '../../src/autograd/index.js';
  import { alloc } from '../../src/autograd/ops/util.js';
`;

describe('what an op saves for backward: ownership typed', () => {
  it('Owned arrays, plain values and host arrays compile; a borrowed Arr in saved does not', () => {
    const good = diagnostics(header + `
      interface S { buf: Owned; n: number; idx: Int32Array; geom: { k: readonly [number, number] } }
      export const fine: OpDef<{}, S> = {
        forward: ([x]) => ({ out: x!, saved: { buf: owned(alloc('float64', [2], false)), n: 1, idx: new Int32Array(2), geom: { k: [1, 2] } } }),
        backward: ({ saved }, g) => [saved.n > 0 ? g : null],
      };
      export const whole: OpDef<{}, Owned> = { forward: ([x]) => ({ out: x!, saved: owned(alloc('float32', [1], false)) }), backward: (_c, g) => [g] };
    `);
    expect(good).toEqual([]);
    const borrowed = diagnostics(header + `
      interface S { input: Arr }
      export const bad: OpDef<{}, S> = { forward: ([x]) => ({ out: x!, saved: { input: x! } }), backward: (_c, g) => [g] };
    `);
    expect(borrowed.join('\n')).toMatch(/Type 'Arr' is not assignable to type 'never'/);
    const nested = diagnostics(header + `
      interface S { deep: { buf: Owned } }
      export const bad: OpDef<{}, S> = { forward: ([x]) => ({ out: x!, saved: { deep: { buf: owned(x!) } } }), backward: (_c, g) => [g] };
    `);
    expect(nested.join('\n'), 'an Owned deeper than saved\'s fields (the tape would not free it)').toMatch(/Type 'Owned' is not assignable to type 'never'/);
  }, 60_000);
});

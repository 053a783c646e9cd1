import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { typecheck } from '../helpers/typecheck.js';
import { opCodes } from '../../src/kernels/wasm/kernels.js';
import { compiledModule, imports, type WasmBuild } from '../../src/kernels/wasm/module.js';
import { wasmRelaxedBase64 } from '../../src/kernels/wasm/binary.generated.js';

/*
 * A new op is a change the compiler checks. The op names and their wasm codes are declared once
 * (src/kernels/opcodes.ts, compiled by TypeScript and AssemblyScript alike); the js kernels switch over them
 * exhaustively and the wasm kernels map them through complete tables, so an op added to opcodes.ts without its
 * cases is a type error at each place that must handle it. The wasm exports' TypeScript interface is generated
 * by scripts/build-wasm.mjs from assembly/'s signatures and checked here against both embedded builds.
 */

const root = join(import.meta.dirname, '../..');

/** Diagnostics of the kernel files compiled with `overrides` (path → source) in place of the files on disk. */
function kernelDiagnostics(overrides: Record<string, string>): { file: string; line: string; message: string }[] {
  const files = ['src/kernels/js/elementwise.ts', 'src/kernels/js/reduce.ts', 'src/kernels/wasm/kernels.ts'].map((f) => join(root, f));
  const over = new Map(Object.entries(overrides).map(([f, s]) => [join(root, f), s]));
  return typecheck(files, over, { noFallthroughCasesInSwitch: true }).map((d) => ({ ...d, file: d.file ? d.file.slice(root.length + 1) : '' }));
}

const opcodesPath = 'src/kernels/opcodes.ts';
const opcodes = readFileSync(join(root, opcodesPath), 'utf8');

describe('adding an op is a change the compiler checks', () => {
  it('the kernels compile as they are (the control)', () => {
    expect(kernelDiagnostics({})).toEqual([]);
  }, 60_000);

  it('an op added to opcodes.ts without its cases is a type error at every js switch and wasm table', () => {
    const extended = opcodes
      .replace('eq = 7 }', 'eq = 7, atan2 = 8 }')
      .replace('reciprocal = 9,', 'reciprocal = 9, erf = 10,')
      .replace('min = 2 }', 'min = 2, prod = 3 }');
    expect(extended.match(/atan2|erf|prod/g)).toHaveLength(3);
    const errors = kernelDiagnostics({ [opcodesPath]: extended });
    const at = (file: string, line: string, op: string) => errors.some((e) => e.file === file && e.line.includes(line) && e.message.includes(op));
    // The js kernels: each switch's `default` no longer receives `never`.
    expect(at('src/kernels/js/elementwise.ts', "unhandledOp('binary', op)", 'atan2')).toBe(true);
    expect(at('src/kernels/js/elementwise.ts', "unhandledOp('unary', op)", 'erf')).toBe(true);
    expect(at('src/kernels/js/elementwise.ts', "unhandledOp('unaryBackward', op)", 'erf')).toBe(true);
    expect(at('src/kernels/js/reduce.ts', "unhandledOp('reduce', op)", 'prod')).toBe(true);
    expect(at('src/kernels/js/reduce.ts', 'const INIT', 'prod')).toBe(true);
    // The wasm kernels: every per-op table misses the new op.
    for (const [table, op] of [['const BINARY', 'atan2'], ['const SCALAR_F32', 'atan2'], ['const UNARY', 'erf'], ['const UNARY_READS', 'erf'], ['const REDUCE', 'prod']]) {
      expect(at('src/kernels/wasm/kernels.ts', table, op), `${table} ${op}`).toBe(true);
    }
    expect(errors.every((e) => /atan2|erf|prod/.test(e.message)), JSON.stringify(errors, null, 1)).toBe(true);
  }, 60_000);

  it('a wrong code in the wasm tables is a type error', () => {
    const path = 'src/kernels/wasm/kernels.ts';
    const src = readFileSync(join(root, path), 'utf8');
    const swapped = src.replace('add: BinaryCode.add, sub: BinaryCode.sub', 'add: BinaryCode.sub, sub: BinaryCode.add');
    expect(swapped).not.toBe(src);
    const errors = kernelDiagnostics({ [path]: swapped });
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.file === path && e.line.includes('add: BinaryCode.sub'))).toBe(true);
  }, 60_000);

  it('each kind of op has codes 0, 1, …, n − 1 (assembly/ switches send the last code to their default)', () => {
    for (const table of Object.values(opCodes)) {
      expect(Object.values(table as Record<string, number>).sort((a, b) => a - b)).toEqual(Object.keys(table).map((_, i) => i));
    }
    expect(Object.keys(opCodes.binary)).toContain('eq');
    expect(Object.keys(opCodes.unary)).toHaveLength(10);
  });
});

/** The generated interface's functions: name → parameter count. */
function declaredExports(): Map<string, number> {
  const text = readFileSync(join(root, 'src/kernels/wasm/exports.generated.ts'), 'utf8');
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^ {2}(\w+)\(([^)]*)\): \w+;$/gm)) out.set(m[1], m[2] ? m[2].split(',').length : 0);
  return out;
}

describe('the wasm exports interface (src/kernels/wasm/exports.generated.ts)', () => {
  const relaxedRuns = WebAssembly.validate(Uint8Array.from(atob(wasmRelaxedBase64), (c) => c.charCodeAt(0)));
  const builds: [WasmBuild, boolean][] = [['baseline', true], ['relaxed', relaxedRuns]];
  for (const [build, runs] of builds) {
    it.skipIf(!runs)(`declares exactly the ${build} build's functions, each with its arity`, () => {
      const declared = declaredExports();
      expect(declared.size).toBeGreaterThan(30);
      const module = compiledModule(build);
      const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name);
      expect([...declared.keys()].sort()).toEqual([...functions].sort());
      const memory = new WebAssembly.Memory({ initial: 272, maximum: 272, shared: true } as WebAssembly.MemoryDescriptor);
      const instance = new WebAssembly.Instance(module, imports(memory));
      for (const [name, arity] of declared) {
        expect((instance.exports[name] as (...args: number[]) => unknown).length, name).toBe(arity);
      }
    });
  }
});

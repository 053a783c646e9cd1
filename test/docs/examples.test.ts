/**
 * Every ```ts example in a doc comment under src/ runs here, with the public API in scope, so the docs
 * cannot drift from the code. A line ending in `// => <JSON>` also asserts that the expression before it
 * equals that value (numbers to 6 significant digits).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { format } from 'node:util';
import { describe, expect, test } from 'vitest';
import ts from 'typescript';
import * as normlab from '../../src/index.js';

const root = join(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** ```ts blocks inside /** … *\/ comments, with the leading ` * ` stripped. */
function examples(src: string): { code: string; line: number }[] {
  const out: { code: string; line: number }[] = [];
  const re = /\/\*\*[\s\S]*?\*\//g;
  for (let m = re.exec(src); m; m = re.exec(src)) {
    const lines = m[0].split('\n').map((l) => l.replace(/^\s*\*\s?/, ''));
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== '```ts') continue;
      const j = lines.indexOf('```', i + 1);
      if (j < 0) break;
      out.push({ code: lines.slice(i + 1, j).join('\n'), line: src.slice(0, m.index).split('\n').length + i + 1 });
      i = j;
    }
  }
  return out;
}

/** Turn `expr; // => value` (or `expr;` followed by a line `// => value`) into an assertion. */
function withAssertions(code: string): string {
  const lines = code.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const m = /^(\s*)(.*?);?\s*\/\/ => (.*)$/.exec(lines[i]);
    if (!m) continue;
    let [indent, expr] = [m[1], m[2]];
    if (!expr.trim()) { // the assertion is about the previous line
      const prev = /^(\s*)(.*?);?\s*(\/\/.*)?$/.exec(lines[i - 1] ?? '')!;
      [indent, expr] = [prev[1], prev[2]];
      lines[i - 1] = '';
    }
    lines[i] = `${indent}__expect(${expr.replace(/^(const|let) \w+ = /, '')}, ${JSON.stringify(m[3])});`;
  }
  return lines.join('\n');
}

function approxEqual(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => approxEqual(v, b[i]));
  return JSON.stringify(a) === JSON.stringify(b);
}

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (...a: unknown[]) => Promise<void>;
const names = Object.keys(normlab);
const all = files(root).flatMap((f) => examples(readFileSync(f, 'utf8')).map((e) => ({ ...e, file: relative(root, f) })));

describe('documentation examples', () => {
  test('there are examples to run', () => expect(all.length).toBeGreaterThan(10));
  for (const ex of all) {
    test(`${ex.file}:${ex.line}`, async () => {
      const js = ts.transpileModule(withAssertions(ex.code), { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None } }).outputText;
      const check = (actual: unknown, expected: string) => {
        const value = actual instanceof normlab.Tensor ? actual.toArray() : actual;
        if (!approxEqual(value, JSON.parse(expected))) expect.fail(`${ex.file}:${ex.line}: got ${JSON.stringify(value)}, the doc says ${expected}`);
      };
      const warn = console.warn;
      console.warn = () => {};
      try {
        await new AsyncFunction('__expect', ...names, `{\n${js}\n}`)(check, ...names.map((n) => (normlab as Record<string, unknown>)[n]));
      } finally {
        console.warn = warn;
      }
    });
  }
});

/** ```ts blocks of the README, each with the ```text block that follows it (what it prints), if any. */
function readmeExamples(md: string): { code: string; line: number; prints: string | null }[] {
  const out: { code: string; line: number; prints: string | null }[] = [];
  const re = /```ts\n([\s\S]*?)```(?:\n+[^`\n][^\n]*\n+```text\n([\s\S]*?)```)?/g;
  for (let m = re.exec(md); m; m = re.exec(md)) out.push({ code: m[1], line: md.slice(0, m.index).split('\n').length, prints: m[2] ?? null });
  return out;
}

describe('README examples', () => {
  const readme = readFileSync(join(root, '../README.md'), 'utf8');
  const blocks = readmeExamples(readme);
  // The library example (the first block) shows what it prints; such an example must import only what it uses
  // and print exactly that. Every other block must run with names normlab exports.
  test('the library example shows its output', () => expect(blocks[0]?.prints).toBeTruthy());
  for (const ex of blocks) {
    test(`README.md:${ex.line} runs${ex.prints !== null ? ', imports only what it uses, and prints what the README shows' : ''}`, async () => {
      const imports = [...ex.code.matchAll(/^import \{([^}]*)\} from 'normlab';$/gm)];
      const body = ex.code.replace(/^import .*$/gm, '');
      for (const name of imports.flatMap((m) => m[1].split(',').map((s) => s.trim()).filter(Boolean))) {
        expect(names, `README imports ${name}, which normlab does not export`).toContain(name);
        if (ex.prints !== null) expect(new RegExp(`\\b${name}\\b`).test(body), `README imports ${name} but does not use it`).toBe(true);
      }
      const printed: string[] = [];
      const fakeConsole = { ...console, log: (...a: unknown[]) => printed.push(format(...a)), warn: () => {} };
      const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None } }).outputText;
      await new AsyncFunction('console', ...names, `{\n${js}\n}`)(fakeConsole, ...names.map((n) => (normlab as Record<string, unknown>)[n]));
      if (ex.prints === null) return;
      expect(printed.length, 'the example prints something').toBeGreaterThan(0);
      // The README shows the output. Decimals measured by the run (an accuracy) may differ in the last digit
      // between backends (float rounding can flip a prediction): they match within 0.005; the rest exactly.
      const want = ex.prints.trimEnd().split('\n'), got = printed.join('\n').split('\n');
      expect(got, 'the printed lines').toHaveLength(want.length);
      want.forEach((w, i) => {
        const parts = w.split(/(\d+\.\d+)/);
        const pattern = new RegExp(`^${parts.map((p, j) => (j % 2 ? '(\\d+\\.\\d+)' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('')}$`);
        const m = pattern.exec(got[i]);
        expect(m, `README.md output line ${i + 1}: got ${JSON.stringify(got[i])}, the README shows ${JSON.stringify(w)}`).not.toBeNull();
        parts.filter((_, j) => j % 2).forEach((v, j) => expect(Math.abs(Number(m![j + 1]) - Number(v)), `line ${i + 1}: ${m![j + 1]} vs ${v}`).toBeLessThanOrEqual(0.005));
      });
    }, 120_000);
  }
});

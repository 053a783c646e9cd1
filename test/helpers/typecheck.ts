/**
 * Type-level tests: compile files with the TypeScript compiler API under strict settings (the project's
 * module settings), optionally with some files' text replaced in memory, and return the diagnostics.
 */
import ts from 'typescript';

export interface Diagnostic { readonly file: string; readonly line: string; readonly message: string }

/**
 * Diagnostics of a program rooted at `roots`; `overrides` maps absolute paths to replacement text (a path that
 * does not exist on disk is created in memory). `file` is the diagnostic's absolute path ('' when global).
 */
export function typecheck(roots: readonly string[], overrides: ReadonlyMap<string, string> = new Map(), extra: ts.CompilerOptions = {}): Diagnostic[] {
  const host = ts.createCompilerHost({});
  const read = host.readFile.bind(host);
  host.readFile = (f) => overrides.get(f) ?? read(f);
  const exists = host.fileExists.bind(host);
  host.fileExists = (f) => overrides.has(f) || exists(f);
  const program = ts.createProgram([...roots], {
    strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext, skipLibCheck: true, types: ['node'], lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
    ...extra,
  }, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ({
    file: d.file?.fileName ?? '',
    line: d.file && d.start !== undefined ? d.file.text.split('\n')[d.file.getLineAndCharacterOfPosition(d.start).line].trim() : '',
    message: ts.flattenDiagnosticMessageText(d.messageText, '\n'),
  }));
}

/** The messages of diagnostics in `file` when it holds `source` (an in-memory file). */
export function messagesOf(file: string, source: string): string[] {
  return typecheck([file], new Map([[file, source]])).filter((d) => d.file === file).map((d) => d.message);
}

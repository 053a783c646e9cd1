import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { promisify } from 'node:util';
import { build, type Rollup } from 'vite';
import { beforeAll, describe, expect, it } from 'vitest';
import { version } from '../../src/index.js';
import { ensureBuilt, ROOT } from './dist.js';

/*
 * What `npm publish` would ship and what a browser bundle of the library pulls in: a LICENSE, no dist/bench,
 * source maps that point to shipped files, npm commands without config warnings, onnxruntime-node's
 * download denied, the CLI-only dependencies outside the library's module graph, one version.
 */

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string; license: string; allowScripts?: Record<string, boolean>; dependencies: Record<string, string> };
/** Dependencies only the command line uses: a web page that imports the library must not get them. */
const CLI_ONLY = ['mnist', 'vega', 'vega-lite', 'commander', 'cli-progress'];

interface PackFile { path: string }
let packed: string[] = [];
let npmStderr = '';

beforeAll(async () => {
  ensureBuilt();
  // --ignore-scripts: list what would be packed without running `prepare` (a full build) again
  const { stdout, stderr } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, maxBuffer: 64 << 20 });
  packed = (JSON.parse(stdout) as { files: PackFile[] }[])[0].files.map((f) => f.path);
  npmStderr = stderr;
}, 120_000);

describe('the published package (npm pack --dry-run)', () => {
  it('holds the library, the CLI, a LICENSE (MIT, as package.json says) and no benchmarks', () => {
    for (const f of ['LICENSE', 'README.md', 'package.json', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/cli/main.js', 'dist/cli/paper-worker.js'])
      expect(packed, f).toContain(f);
    expect(packed.filter((f) => f.startsWith('dist/bench/') || f.startsWith('bench/'))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('test/'))).toEqual([]);
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
  });

  it('every source map in it points to files it also ships', () => {
    const maps = packed.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(20);
    const shipped = new Set(packed);
    const missing: string[] = [];
    for (const m of maps) {
      const { sources, sourceRoot = '' } = JSON.parse(readFileSync(join(ROOT, m), 'utf8')) as { sources: string[]; sourceRoot?: string };
      for (const s of sources) {
        const target = normalize(join(dirname(m), sourceRoot, s));
        if (!shipped.has(target)) missing.push(`${m} → ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('npm prints no config warning; onnxruntime-node\'s install script (a GPU download from outside the registry) is denied', () => {
    expect(npmStderr).not.toMatch(/Unknown (project|user|env) config/);
    expect(readFileSync(join(ROOT, '.npmrc'), 'utf8')).not.toMatch(/onnxruntime/);
    expect(pkg.allowScripts?.['onnxruntime-node']).toBe(false);
  });

  it('one version: package.json, the library\'s `version` export and `normlab --version`', async () => {
    expect(version).toBe(pkg.version);
    const { stdout } = await run(process.execPath, [join(ROOT, 'dist/cli/main.js'), '--version']);
    expect(stdout.trim()).toBe(pkg.version);
    // and the CLI has no copy of its own
    expect(readFileSync(join(ROOT, 'cli/program.ts'), 'utf8')).not.toContain(`'${pkg.version}'`);
  });
});

/** The module ids a browser library build of `entry` (vite, ESM) contains. */
async function bundledModules(entry: string): Promise<string[]> {
  const out = await build({
    configFile: false, logLevel: 'silent', root: ROOT,
    build: { write: false, lib: { entry, formats: ['es'], fileName: 'bundle' }, rollupOptions: { external: [/^node:/] }, minify: false, reportCompressedSize: false },
  }) as Rollup.RollupOutput | Rollup.RollupOutput[];
  return (Array.isArray(out) ? out : [out]).flatMap((r) => r.output.flatMap((o) => (o.type === 'chunk' ? o.moduleIds : [])));
}

const fromPackage = (ids: string[], name: string) => ids.filter((id) => id.includes(`/node_modules/${name}/`));

describe('a browser bundle of the library', () => {
  it('src/index.ts pulls in none of the CLI-only dependencies', async () => {
    const ids = await bundledModules(join(ROOT, 'src/index.ts'));
    expect(ids).toContain(join(ROOT, 'src/nn/batchnorm.ts')); // the library itself is there
    for (const name of CLI_ONLY) {
      expect(pkg.dependencies[name], name).toBeDefined();
      expect(fromPackage(ids, name), name).toEqual([]);
    }
  }, 120_000);

  it('(the check sees one when it is imported: the CLI\'s progress module and cli-progress)', async () => {
    expect(fromPackage(await bundledModules(join(ROOT, 'cli/progress.ts')), 'cli-progress').length).toBeGreaterThan(0);
  }, 120_000);
});

describe('src/ imports no CLI-only package (static check, so a lazy import cannot hide one)', () => {
  it('no import or require of mnist, vega, vega-lite, commander or cli-progress under src/', async () => {
    const { stdout } = await run('git', ['grep', '--untracked', '-nE', `(from|import\\(|require\\()\\s*['"](${CLI_ONLY.join('|')})['"/]`, '--', 'src'], { cwd: ROOT }).catch((e: { stdout: string; code: number }) => {
      if (e.code === 1) return { stdout: '' }; // git grep: no match
      throw e;
    });
    expect(stdout).toBe('');
    expect(existsSync(join(ROOT, 'src/index.ts'))).toBe(true);
  });
});

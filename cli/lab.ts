/**
 * `normlab lab`: build the web lab if needed (Vite, lab/ → dist/lab/) and serve it on localhost with the
 * cross-origin isolation headers (COOP/COEP), so the wasm backend and its threads run in the page.
 *
 * The server answers GET and HEAD only, serves files inside the built folder only (a path with `..` or `.`
 * segments, encoded or not, a backslash or NUL, a request target that is not a path, and anything whose real
 * path — symlinks resolved — lies outside the folder gets 404), and one fixed extra mount: `/claims/` maps to
 * the newest `runs/claims-*` folder holding a report.html (same rules inside it), and `/claims/latest.json`
 * describes it for the page's claims view.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile, realpath, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LabFlags {
  port: number;
  host: string;
  build: boolean;
  runs: string;
  json?: boolean;
}

/** The isolation headers: without them a page has no SharedArrayBuffer, and normlab runs its js backend on one thread. */
export const ISOLATION_HEADERS: Readonly<Record<string, string>> = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json', '.map': 'application/json', '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.txt': 'text/plain; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8', '.csv': 'text/plain; charset=utf-8',
};

/** The repository (or installed package) root: the nearest folder above this file with normlab's package.json. */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let d = from; ; d = dirname(d)) {
    const pkg = join(d, 'package.json');
    if (existsSync(pkg) && /"name":\s*"normlab"/.test(readFileSyncSafe(pkg))) return d;
    if (dirname(d) === d) throw new Error(`lab: cannot find normlab's package.json above ${from}`);
  }
}

function readFileSyncSafe(file: string): string {
  try { return readFileSync(file, 'utf8'); } catch { return ''; }
}

/** Newest modification time under `dir` (files only; node_modules and build output skipped). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name === 'dist') continue;
    const p = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

export interface LabBuild { dir: string; built: boolean; reason: string | null }

/**
 * The built lab folder, building it first when it is missing or older than the lab's or the library's
 * sources (a checkout; an installed package ships the build and has no sources to compare).
 */
export async function ensureLabBuilt({ root = packageRoot(), force = false, log = (_: string) => {} }: { root?: string; force?: boolean; log?: (s: string) => void } = {}): Promise<LabBuild> {
  const dir = join(root, 'dist', 'lab');
  const index = join(dir, 'index.html');
  const sources = [join(root, 'lab'), join(root, 'src')];
  const canBuild = existsSync(join(root, 'lab', 'vite.config.ts'));
  let reason: string | null = force ? 'asked to build' : !existsSync(index) ? 'no build yet' : null;
  if (!reason && canBuild && Math.max(...sources.filter(existsSync).map(newestMtime)) > statSync(index).mtimeMs) reason = 'sources changed since the last build';
  if (!reason) return { dir, built: false, reason: null };
  if (!canBuild) throw new Error(`lab: ${dir} has no build and there are no lab sources to build it from`);
  let vite: typeof import('vite');
  try { vite = await import('vite'); } catch {
    throw new Error('lab: building the lab needs Vite (a devDependency): run `npm install` in the normlab checkout');
  }
  log(`building the lab (${reason}) …`);
  const t0 = performance.now();
  await vite.build({ configFile: join(root, 'lab', 'vite.config.ts'), logLevel: 'error' });
  log(`built ${dir} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { dir, built: true, reason };
}

/**
 * The file a request path names inside `root` (a real path, resolved), or null: for dot segments, NUL or
 * backslashes, a malformed escape, a target that does not start with `/`, a missing file, or a real path
 * outside `root`. Directories resolve to their index.html.
 */
export async function resolveInside(root: string, target: string): Promise<string | null> {
  if (!target.startsWith('/')) return null; // absolute-form (http://…), authority-form or '*'
  const raw = target.split(/[?#]/, 1)[0];
  let path: string;
  try { path = decodeURIComponent(raw); } catch { return null; }
  if (path.includes('\0') || path.includes('\\')) return null;
  const segments = path.split('/').filter((s) => s !== '');
  if (segments.some((s) => s === '..' || s === '.')) return null;
  const realRoot = await realpath(root).catch(() => null);
  if (!realRoot) return null;
  const inside = (p: string) => p === realRoot || p.startsWith(realRoot + sep);
  let file = join(realRoot, ...segments);
  if (!inside(file)) return null;
  try {
    file = await realpath(file);
    if (!inside(file)) return null;
    if ((await stat(file)).isDirectory()) {
      file = await realpath(join(file, 'index.html'));
      if (!inside(file) || !(await stat(file)).isFile()) return null;
    }
    return file;
  } catch {
    return null;
  }
}

/** The newest `claims-*` folder under `runs` that holds a report.html, or null. */
export function latestClaims(runs: string): { folder: string; dir: string; modified: Date } | null {
  let best: { folder: string; dir: string; modified: Date } | null = null;
  let entries: string[];
  try { entries = readdirSync(runs); } catch { return null; }
  for (const name of entries) {
    if (!name.startsWith('claims-')) continue;
    const dir = join(runs, name);
    try {
      const s = statSync(join(dir, 'report.html'));
      if (s.isFile() && (!best || s.mtimeMs > best.modified.getTime())) best = { folder: name, dir, modified: s.mtime };
    } catch { /* no report in this folder */ }
  }
  return best;
}

export interface LabServer { readonly url: string; readonly port: number; readonly server: Server; close(): Promise<void> }

/** Serve `root` (the built lab) on host:port (port 0: any free port) with the isolation headers. */
export async function startLabServer({ root, host = '127.0.0.1', port = 0, runs = 'runs' }: { root: string; host?: string; port?: number; runs?: string }): Promise<LabServer> {
  const runsDir = resolve(runs);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const headers: Record<string, string> = { ...ISOLATION_HEADERS, 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-cache' };
    const send = (status: number, body: string | Buffer, type = 'text/plain; charset=utf-8', extra: Record<string, string> = {}) => {
      res.writeHead(status, { ...headers, ...extra, 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(405, 'only GET and HEAD\n', undefined, { Allow: 'GET, HEAD' }); return; }
    const target = req.url ?? '';
    let file: string | null;
    if (target === '/claims/latest.json' || target.startsWith('/claims/latest.json?')) {
      const c = latestClaims(runsDir);
      send(200, JSON.stringify(c ? { folder: c.folder, report: 'claims/report.html', modified: c.modified.toISOString() } : { folder: null, report: null }), 'application/json');
      return;
    } else if (target.startsWith('/claims/')) {
      const c = latestClaims(runsDir);
      file = c ? await resolveInside(c.dir, target.slice('/claims'.length)) : null;
    } else {
      file = await resolveInside(root, target);
    }
    if (!file) { send(404, 'not found\n'); return; }
    let body: Buffer;
    try { body = await readFile(file); } catch { send(404, 'not found\n'); return; }
    send(200, body, TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => { if (!res.headersSent) res.writeHead(500).end(); else res.destroy(); });
  });
  // CONNECT never reaches the request handler: refuse it the same way.
  server.on('connect', (_req, socket: import('node:stream').Duplex) => {
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\nAllow: GET, HEAD\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
  await new Promise<void>((ok, fail) => {
    const refuse = (e: NodeJS.ErrnoException) => fail(e.code === 'EADDRINUSE' ? new Error(`lab: port ${port} on ${host} is in use; pick another with --port (0: any free port)`)
      : e.code === 'EADDRNOTAVAIL' ? new Error(`lab: --host ${host} is not an address of this machine`) : e);
    server.once('error', refuse);
    server.listen(port, host, () => { server.off('error', refuse); ok(); });
  });
  const actual = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${actual}/`, port: actual, server,
    close: () => new Promise<void>((ok) => { server.close(() => ok()); server.closeAllConnections(); }),
  };
}

/** The command: build if needed, serve, print the URL, run until Ctrl-C (SIGINT) or SIGTERM. */
export async function labCommand(f: LabFlags): Promise<Record<string, unknown>> {
  const say = (s: string) => (f.json ? process.stderr : process.stdout).write(`${s}\n`);
  const build = f.build ? await ensureLabBuilt({ log: (s) => say(`normlab lab: ${s}`) }) : { dir: join(packageRoot(), 'dist', 'lab'), built: false, reason: null };
  if (!existsSync(join(build.dir, 'index.html'))) throw new Error(`lab: ${build.dir} has no index.html (run without --no-build)`);
  const lab = await startLabServer({ root: build.dir, host: f.host, port: f.port, runs: f.runs });
  say(`normlab lab: serving ${build.dir}\n  ${lab.url}\n  (Ctrl-C stops)`);
  const signal = await new Promise<NodeJS.Signals>((ok) => {
    const stop = (s: NodeJS.Signals) => { process.off('SIGINT', stop); process.off('SIGTERM', stop); ok(s); };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await lab.close();
  say(`normlab lab: stopped (${signal})`);
  return { command: 'lab', url: lab.url, dir: build.dir, built: build.built, stoppedBy: signal };
}

/**
 * A static file server for the browser check: the repository's dist/ and test/browser/ over loopback, and
 * /bundle/normlab.js — dist/src/index.js bundled by esbuild as a page's bundler would bundle it (Node builtins,
 * which the library imports only dynamically and only in Node, stay external) — either
 * cross-origin isolated (COOP same-origin + COEP require-corp, so SharedArrayBuffer and shared WebAssembly
 * memory exist) or plain (neither header, so they do not).
 */
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';

/** The library as one browser ESM file (built once per process). */
let bundle: Promise<Uint8Array> | null = null;
function libraryBundle(root: string): Promise<Uint8Array> {
  bundle ??= build({
    entryPoints: [join(root, 'dist', 'src', 'index.js')], bundle: true, format: 'esm', platform: 'browser',
    external: ['node:*'], write: false, logLevel: 'error',
  }).then((r) => r.outputFiles[0].contents);
  return bundle;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.map': 'application/json', '.wasm': 'application/wasm' };
/** Only these folders are served (no path escapes them: `..` is normalised away, then checked). */
const SERVED = ['dist', join('test', 'browser')];

export interface StaticServer { readonly url: string; close(): Promise<void> }

export async function startServer(root: string, { isolated }: { isolated: boolean }): Promise<StaticServer> {
  const server: Server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^[/\\]+/, '');
    const headers: Record<string, string> = { 'Cache-Control': 'no-store' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    if (path === join('bundle', 'normlab.js')) {
      res.writeHead(200, { ...headers, 'Content-Type': 'text/javascript' }).end(await libraryBundle(root));
      return;
    }
    if (!SERVED.some((d) => path.startsWith(d + sep))) { res.writeHead(404, headers).end(`not served: ${path}`); return; }
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404, headers).end(`not found: ${path}`);
    }
  });
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

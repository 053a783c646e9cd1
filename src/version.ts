/**
 * The package's version (semver), as in package.json: a test holds the two equal, and `npm version` runs
 * scripts/sync-version.mjs, which rewrites the constant below. Browser-safe: no file is read.
 *
 * Example:
 * ```ts
 * /^\d+\.\d+\.\d+/.test(version); // => true
 * ```
 */
export const version = '0.1.0';

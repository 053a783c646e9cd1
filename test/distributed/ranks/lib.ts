// What the rank modules use: the library's sources (loaded through ts-hooks.mjs in the worker threads).
export * from '../../../src/index.js';
export type { RankContext } from '../../../src/distributed/index.js';

/**
 * The storage layer: tensor values in device memory and host arrays, who owns them, and when device memory
 * is reclaimed (see manager.ts and storage.ts). Sits on the kernels layer; autograd and up use it.
 */
export { Buffer, Manager, managerOf, setRecompute, RECIPE_MIN_BYTES, MIN_LIMIT, FREED_MESSAGE, type Producer, type ProducerInput, type MemoryStats, type MemoryCounters } from './manager.js';
export { Storage, allocStorage, hostStorage, trusted, asUser, inLibrary, publishIn, scope, keep, memoryStats, type Owner } from './storage.js';
export { ctx } from './context.js';

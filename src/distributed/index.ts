/**
 * Data-parallel training on worker threads: `launch` starts the ranks; in a rank, synchronous collectives over
 * shared memory (allReduce, broadcast, allGather, barrier) behind the ProcessGroup interface, and
 * DistributedDataParallel. SyncBatchNorm lives in nn and uses the same group.
 */
export { launch, RankError, type LaunchOptions, type RankContext } from './launch.js';
export { getRank, getWorldSize, allReduce, broadcast, allGather, barrier } from './collectives.js';
export { getProcessGroup, setProcessGroup, SharedMemoryGroup, SingleProcessGroup, type ProcessGroup, type ReduceOp } from './group.js';
export { DistributedDataParallel, type DistributedDataParallelOptions } from './ddp.js';

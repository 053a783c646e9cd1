import { describe, expect, it } from 'vitest';
import { distributed, tensor } from '../../src/index.js';

// Ranks are worker threads. vitest transforms TypeScript only in its own thread, so each rank starts in
// ranks/run-ts.mjs, which installs module hooks compiling TypeScript with esbuild (ranks/ts-hooks.mjs) and then
// runs the TypeScript rank module named by args.rank; rank modules import the library's sources (no build).
const RUN = new URL('./ranks/run-ts.mjs', import.meta.url);


describe('distributed.launch and the collectives', () => {
  it('allReduce (sum, mean, max), broadcast, allGather of unequal shapes and a chunked allReduce over 3 ranks, bitwise in rank order', async () => {
    // values whose float64 sum depends on the order: the result must be the rank-order sum on every rank
    const values = [[1e16, 0.1, -3, 2.5], [1, 0.2, 7, -2.5], [-1e16, 0.3, 5, Number.NaN]];
    const res = await distributed.launch<Record<string, unknown>>(3, RUN, { rank: './behaviour.ts', mode: 'collectives', values }, { slotElements: 64 });
    const sum = values[0].map((v, i) => (v + values[1][i]) + values[2][i]);
    for (const [rank, r] of res.entries()) {
      expect(r.rank).toBe(rank);
      expect(r.worldSize).toBe(3);
      expect(r.sum).toEqual(sum);
      expect(r.mean).toEqual(sum.map((v) => v / 3));
      expect(r.max).toEqual([1e16, 0.3, 7, Number.NaN]);
      expect(r.f32).toEqual(sum.map((v) => Math.fround(v)));
      expect(r.bcast).toEqual(values[2]);
      expect(r.gathered).toEqual([{ shape: [1, 1], values: [0] }, { shape: [2, 1], values: [100, 101] }, { shape: [3, 1], values: [200, 201, 202] }]);
      expect(r.long).toEqual(Array.from({ length: 1000 }, (_, i) => i + 2 * i + 3 * i));
      expect(r.longGather).toEqual([0, 1, 2].map((q) => Array.from({ length: 100 + 50 * q }, (_, i) => 1000 * q + i)));
    }
    expect(sum[1]).not.toBe(values[0][1] + (values[1][1] + values[2][1])); // the order matters for these values
    // and every run gives the same bits
    const again = await distributed.launch(3, RUN, { rank: './behaviour.ts', mode: 'collectives', values }, { slotElements: 64 });
    expect(again).toEqual(res);
  });

  it('outside launch the world is one rank and the collectives are the identity', () => {
    expect(distributed.getRank()).toBe(0);
    expect(distributed.getWorldSize()).toBe(1);
    const t = tensor([1, 2, 3]);
    expect(distributed.allReduce(t, 'mean').toArray()).toEqual([1, 2, 3]);
    expect(distributed.broadcast(t, 0).toArray()).toEqual([1, 2, 3]);
    expect(distributed.allGather(t).map((x) => x.toArray())).toEqual([[1, 2, 3]]);
    expect(() => distributed.broadcast(t, 1)).toThrow(/src 1 is not a rank of a world of size 1/);
    distributed.barrier();
  });

  it('a rank that throws ends launch with its error and its rank, and stops the others', async () => {
    const err = await distributed.launch(3, RUN, { rank: './behaviour.ts', mode: 'throw', failing: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(distributed.RankError);
    const e = err as distributed.RankError;
    expect(e.rank).toBe(1);
    expect(e.message).toBe('rank 1: rank 1 gives up');
    expect((e.cause as Error).name).toBe('TypeError');
    expect((e.cause as Error).stack).toMatch(/behaviour\.ts/);
  });

  it('a collective that waits past the timeout is an error naming it and the ranks that did not arrive', async () => {
    const t0 = performance.now();
    const err = await distributed.launch(3, RUN, { rank: './behaviour.ts', mode: 'slow', slow: 2, sleepMs: 20_000 }, { timeoutMs: 400 }).catch((e: unknown) => e) as distributed.RankError;
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(distributed.RankError);
    expect([0, 1]).toContain(err.rank);
    expect(err.message).toMatch(/barrier: timed out after 0\.4 s on rank [01] waiting for rank 2\b/);
  });

  it('a rank that returns without joining, mismatched collectives and lengths are errors, never hangs', async () => {
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'early' })).rejects.toThrow(/rank 0: allReduce: rank 1 returned from main\(\) without joining/);
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'mismatch' })).rejects.toThrow(/rank [01] called (broadcast|allReduce) while rank [01] called (allReduce|broadcast)/);
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'length' })).rejects.toThrow(/allReduce: rank [01] passed [23] elements but rank [01] passed [23]/);
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'unclonable' })).rejects.toThrow(/rank [01]: the value main\(\) returned cannot be sent/);
    await expect(distributed.launch(2, new URL('./ranks/missing.mjs', import.meta.url))).rejects.toThrow(/rank [01]: .*missing\.mjs/);
  });

  it('splits the cores between the ranks (kernel threads per rank)', async () => {
    const res = await distributed.launch<{ threads: number; env: string }>(2, RUN, { rank: './behaviour.ts', mode: 'threads' }, { threadsPerRank: 1 });
    expect(res).toEqual([{ threads: 1, env: '1' }, { threads: 1, env: '1' }]);
  });

  it('a rank of another build than the launching thread (other shared-memory layout) says so, not "Invalid typed array length"', async () => {
    // The claims run's failure: the thread calling launch had loaded a build whose data memory held one set of
    // slots (size · slotElements float64); dist/ was rebuilt during the run, and the ranks (which load the
    // library at each launch) made views for two sets over it.
    const S = 1 << 17;
    const old = { rank: 1, size: 2, control: new SharedArrayBuffer((2 + 6 * 2) * 4), data: new SharedArrayBuffer(2 * S * 8), slotElements: S, timeoutMs: 1000 };
    expect(() => new distributed.SharedMemoryGroup(old as never)).toThrow(/this rank's normlab uses shared-memory layout 2 but the thread that called distributed\.launch passed an older, untagged layout\. The ranks run a different build of normlab/);
    // tagged, but buffers too small for this build's layout: the sizes are named
    expect(() => new distributed.SharedMemoryGroup({ ...old, layout: 2 } as never)).toThrow(/the shared data memory from the thread that called distributed\.launch is 2097152 bytes but this rank needs 4194304 \(2 ranks, slotElements 131072\)/);
    expect(() => new distributed.SharedMemoryGroup({ ...old, layout: 3, data: new SharedArrayBuffer(4 * S * 8) } as never)).toThrow(/layout 2 but .* passed layout 3\./);
    // through launch: the rank's error, with its rank
    const err = await distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'old-launcher' }).catch((e: unknown) => e) as distributed.RankError;
    expect(err).toBeInstanceOf(distributed.RankError);
    expect(err.message).toMatch(/^rank [01]: launch: this rank's normlab uses shared-memory layout 2 but .* passed an older, untagged layout\./);
  });

  it('a shared-memory allocation that fails names the launch and the bytes', async () => {
    // 2 sets × 2 ranks × 2^51 float64 = 2^56 bytes: beyond the longest ArrayBuffer (2^53 − 1), on any machine
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts', mode: 'threads' }, { slotElements: 2 ** 51 })).rejects
      .toThrow(/^launch: could not allocate the group's shared memory \(launch \d+ of this thread\): 72057594037927940 bytes of data slots \(2 sets × 2 ranks × slotElements 2251799813685248 × 8\) and 56 of control words: /);
  });

  it('refuses bad arguments before starting anything', async () => {
    await expect(distributed.launch(0, RUN)).rejects.toThrow(/worldSize must be an integer in \[1, 256\], got 0/);
    await expect(distributed.launch(2, RUN, { rank: './behaviour.ts' }, { timeoutMs: 0 })).rejects.toThrow(/timeoutMs must be > 0/);
    await expect(distributed.launch(2, '')).rejects.toThrow(/moduleUrl must be a URL or a path/);
  });
});

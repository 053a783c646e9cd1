// A rank whose behaviour args.mode selects: the collectives' results, and the failure modes launch must report.
import { distributed, getNumThreads, tensor, type RankContext } from './lib.js';

export interface BehaviourArgs { mode: string; values: number[][]; failing: number; slow: number; sleepMs: number }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function main({ rank, worldSize, args }: RankContext<BehaviourArgs>): Promise<unknown> {
  switch (args.mode) {
    case 'collectives': {
      const s = tensor(Float64Array.from(args.values[rank]), undefined, { dtype: 'float64' });
      const m = tensor(Float64Array.from(args.values[rank]), undefined, { dtype: 'float64' });
      const x = tensor(Float64Array.from(args.values[rank]), undefined, { dtype: 'float64' });
      const f = tensor(Float32Array.from(args.values[rank]));
      distributed.allReduce(s, 'sum'); distributed.allReduce(m, 'mean'); distributed.allReduce(x, 'max'); distributed.allReduce(f);
      const b = distributed.broadcast(tensor(Float64Array.from(args.values[rank]), undefined, { dtype: 'float64' }), worldSize - 1);
      const g = distributed.allGather(tensor(Float64Array.from({ length: rank + 1 }, (_, i) => 100 * rank + i), [rank + 1, 1], { dtype: 'float64' }));
      // longer than a shared-memory slot (launch option slotElements): the chunked path
      const long = distributed.allReduce(tensor(Float64Array.from({ length: 1000 }, (_, i) => i * (rank + 1)), undefined, { dtype: 'float64' }));
      // unequal lengths over several slots
      const longGather = distributed.allGather(tensor(Float64Array.from({ length: 100 + 50 * rank }, (_, i) => 1000 * rank + i), undefined, { dtype: 'float64' }));
      distributed.barrier();
      return {
        longGather: longGather.map((t) => [t.toArray()].flat(Infinity)),
        rank: distributed.getRank(), worldSize: distributed.getWorldSize(),
        sum: s.toArray(), mean: m.toArray(), max: x.toArray(), f32: f.toArray(), bcast: b.toArray(),
        gathered: g.map((t) => ({ shape: t.shape, values: [t.toArray()].flat(Infinity) })), long: long.toArray(),
      };
    }
    case 'throw':
      distributed.barrier();
      if (rank === args.failing) throw new TypeError(`rank ${rank} gives up`);
      distributed.barrier(); // the others wait here until the failure stops them
      return rank;
    case 'slow':
      if (rank === args.slow) { await sleep(args.sleepMs); return rank; }
      distributed.barrier();
      return rank;
    case 'early':
      if (rank === 1) return rank;
      distributed.allReduce(tensor([1]));
      return rank;
    case 'mismatch':
      if (rank === 0) distributed.allReduce(tensor([1, 2]));
      else distributed.broadcast(tensor([1, 2]));
      return rank;
    case 'length':
      distributed.allReduce(tensor(new Float32Array(rank + 2)));
      return rank;
    case 'threads': {
      return { threads: getNumThreads(), env: process.env.NORMLAB_NUM_THREADS };
    }
    case 'unclonable':
      return () => 1;
    case 'old-launcher': {
      // What a launching thread of an older build passes (before the layout tag: one set of slots, half the
      // data memory), seen by this build before its group is made: its first collective must say so.
      const wt = process.getBuiltinModule('node:worker_threads') as { workerData: Record<string, Record<string, unknown>> };
      const d = wt.workerData.__normlabDistributed;
      delete d.layout;
      d.data = new SharedArrayBuffer((d.size as number) * (d.slotElements as number) * 8);
      distributed.barrier();
      return rank;
    }
    default:
      throw new Error(`unknown mode ${args.mode}`);
  }
}

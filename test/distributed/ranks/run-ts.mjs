// The module distributed.launch starts in each rank during the tests: it installs the TypeScript hooks, then runs
// the TypeScript rank module named by args.rank (relative to this folder), which imports the library's sources.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);

export async function main(ctx) {
  const mod = await import(new URL(ctx.args.rank, import.meta.url).href);
  return mod.main(ctx);
}

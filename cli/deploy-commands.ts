/**
 * The deployment commands, `fold` and `recompute-stats` (issue 11). Their code (and the library) loads only
 * when one runs, like the other commands'.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { FoldFlags } from './fold.js';
import type { RecomputeFlags } from './recompute.js';

const foldCommand = async (file: string, f: FoldFlags) => (await import('./fold.js')).foldCommand(file, f);
const recomputeCommand = async (file: string, f: RecomputeFlags) => (await import('./recompute.js')).recomputeCommand(file, f);

function int(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be an integer ≥ 1, got '${v}'`);
    return n;
  };
}

/** The flags that say which network a plain state dict holds (as `train` builds it); fold and export take them. */
export function withArchOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--model <kind>', 'network of a state dict (default mlp)').choices(['mlp', 'cnn']))
    .addOption(new Option('--activation <fn>', 'hidden activation of an mlp (default sigmoid)').choices(['sigmoid', 'relu', 'tanh']))
    .option('--depth <n>', 'hidden layers of an mlp (default 3)', int('--depth'))
    .option('--width <n>', 'units per hidden layer of an mlp (default 100)', int('--width'))
    .option('--bn', 'the model has batch normalization (default)')
    .option('--no-bn', 'the model has no normalization');
}

export function addDeployCommands(program: Command, finish: (summary: Record<string, unknown>, json: boolean | undefined) => void): void {
  withArchOptions(program.command('fold'))
    .description('Fold each BatchNorm into the Linear/Conv2d before it; write the folded state dict (safetensors) and check its outputs')
    .argument('<file>', 'a train checkpoint (architecture from its flags) or a safetensors state dict (architecture from the flags below)')
    .option('--out <file>', 'folded state dict (default <file>-folded.safetensors)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (file: string, opts) => finish(await foldCommand(file, opts), opts.json));

  program.command('recompute-stats')
    .description("Set every BN's running statistics to the exact mean and variance over the training digits (population statistics); write a new checkpoint")
    .argument('<checkpoint>', 'a checkpoint written by train --checkpoint-every')
    .option('--batch <n>', 'samples per forward while computing (any size gives the same statistics)', int('--batch'), 1000)
    .option('--biased', 'store the biased variance (1/n) instead of the unbiased 1/(n − 1)')
    .option('--out <file>', 'new checkpoint (default <checkpoint>-population.safetensors)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (file: string, opts) => finish(await recomputeCommand(file, opts), opts.json));
}

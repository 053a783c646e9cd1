/**
 * The normlab command line. Commands: `paper` (the BN paper's Figure 1; what `npm start` runs) and
 * `train` (one network, configured by flags). Every command takes --json and then prints one JSON summary
 * object as its last line of stdout. Unknown or invalid flags: a message with usage, exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { paperDefaults, paperFull } from '../experiments/paper-config.js';
import { version } from '../src/version.js'; // the library's `version` (src/index.ts), without loading the library
import type { PaperFlags } from './paper.js';
import type { TrainFlags } from './train.js';
import { addDeployCommands, withArchOptions } from './deploy-commands.js';

// The commands (and the library, data and chart renderer behind them) load only when one runs, so that
// --help and usage errors answer at once.
const paperCommand = async (f: PaperFlags) => (await import('./paper.js')).paperCommand(f);
const trainCommand = async (f: TrainFlags, given: Set<string>) => (await import('./train.js')).trainCommand(f, given);

/** The options the user typed (not defaults), by attribute name: `--eval-every 5` → 'evalEvery'. */
function givenOptions(cmd: Command): Set<string> {
  return new Set(Object.keys(cmd.opts()).filter((k) => cmd.getOptionValueSource(k) === 'cli'));
}

/** Only the values the user typed. */
function typed<T extends object>(opts: T, given: Set<string>): Partial<T> {
  return Object.fromEntries(Object.entries(opts).filter(([k]) => given.has(k))) as Partial<T>;
}

function int(name: string, min = 1) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}, got '${v}'`);
    return n;
  };
}

function num(name: string, check: (n: number) => boolean = Number.isFinite, rule = 'a finite number') {
  return (v: string) => {
    const n = Number(v);
    if (v.trim() === '' || !check(n)) throw new InvalidArgumentError(`${name} must be ${rule}, got '${v}'`);
    return n;
  };
}

const positive = (name: string) => num(name, (n) => n > 0 && Number.isFinite(n), 'a positive number');

export function buildProgram(): Command {
  const program = new Command('normlab')
    .description('Batch normalization done right: train networks, reproduce the BN paper, report.')
    .version(version)
    .showHelpAfterError(true)
    .exitOverride();

  program.command('paper')
    .description("Reproduce Ioffe & Szegedy 2015, Fig. 1: a sigmoid MLP on MNIST with and without BN (what `npm start` runs)")
    .addOption(new Option('--full', `the paper-sized run: ${paperFull.steps!.toLocaleString('en')} steps per arm, evaluated every ${paperFull.evalEvery}`).conflicts('steps'))
    .option('--steps <n>', 'training steps per arm', int('--steps'), paperDefaults.steps)
    .addOption(new Option('--eval-every <n>', 'evaluate on the test digits every n steps').argParser(int('--eval-every')).default(paperDefaults.evalEvery, `${paperDefaults.evalEvery}; ${paperFull.evalEvery} with --full`))
    .option('--lr <x>', 'SGD learning rate', positive('--lr'), paperDefaults.lr)
    .option('--init-std <x>', 'standard deviation of the Gaussian initial weights', positive('--init-std'), paperDefaults.initStd)
    .option('--seed <n>', 'seed of weights, split and batch order', int('--seed', 0), paperDefaults.seed)
    .option('--out <dir>', 'run folder (default: runs/paper-<time>)')
    .option('--no-workers', 'run the two arms one after the other in this thread (default: one worker thread per arm)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    // Defaults are paperCommand's own (and --full's): pass only what was typed.
    .action(async (opts: PaperFlags, cmd: Command) => finish(await paperCommand(typed(opts, givenOptions(cmd))), opts.json));

  program.command('train')
    .description('Train one network on the embedded MNIST digits; the run folder gets metrics.jsonl, summary.json (the full configuration), report.html (loss and accuracy curves) and, with --checkpoint-every, checkpoint.safetensors')
    .addOption(new Option('--model <kind>', 'network: mlp (--depth, --width, --activation, --init-std) or cnn (conv-BN-ReLU twice, global pooling, Linear)').choices(['mlp', 'cnn']).default('mlp'))
    .addOption(new Option('--activation <fn>', 'hidden activation (mlp)').choices(['sigmoid', 'relu', 'tanh']).default('sigmoid'))
    .option('--depth <n>', 'hidden layers (mlp)', int('--depth'), 3)
    .option('--width <n>', 'units per hidden layer (mlp)', int('--width'), 100)
    .option('--bn', 'batch normalization before each activation', true)
    .option('--no-bn', 'no normalization')
    .option('--init-std <x>', 'Gaussian initial weights N(0, x²) (mlp; default: PyTorch init)', positive('--init-std'))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default('sgd'))
    .option('--lr <x>', 'learning rate', positive('--lr'), 0.1)
    .option('--momentum <x>', 'SGD momentum (sgd only)', num('--momentum', (n) => n >= 0 && n < 1, 'in [0, 1)'), 0)
    .option('--weight-decay <x>', 'weight decay (default: 0; 0.01 with adamw)', num('--weight-decay', (n) => n >= 0, '≥ 0'))
    .option('--clip-value <v>', 'clip each gradient element into [-v, v]', positive('--clip-value'))
    .option('--clip-norm <c>', "scale each parameter's gradient to norm ≤ c", positive('--clip-norm'))
    .option('--global-clip-norm <c>', 'scale all gradients together to norm ≤ c', positive('--global-clip-norm'))
    .option('--batch <n>', 'mini-batch size', int('--batch'), 60)
    .option('--steps <n>', 'training steps', int('--steps'), 2000)
    .option('--eval-every <n>', 'evaluate every n steps (and at the last)', int('--eval-every'), 500)
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps and at the end (default: none)', int('--checkpoint-every'))
    .addOption(new Option('--resume <file>', "continue a run from its checkpoint, in the checkpoint's folder, with the run's own flags; flags given with it override those (not the network, optimizer, --momentum, --batch or --seed)").conflicts('out'))
    .option('--seed <n>', 'seed of weights, split and batch order', int('--seed', 0), 0)
    .option('--workers <n>', 'data-parallel worker threads with SyncBatchNorm, --batch split between them; the summary compares with one worker', int('--workers'), 1)
    .option('--export', 'at the end, also write model.onnx and the BN-folded folded.safetensors into the run folder')
    .option('--out <dir>', 'run folder (default: runs/train-<time>)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (opts: TrainFlags, cmd: Command) => {
      const given = givenOptions(cmd);
      checkTrainFlags(opts, given, cmd);
      finish(await trainCommand(opts, given), opts.json);
    });

  program.command('lab')
    .description('Build the web lab if needed and serve it on localhost (cross-origin isolated); prints the URL, Ctrl-C stops')
    .option('--port <n>', 'port (0: any free port)', int('--port', 0), 4173)
    .option('--host <h>', 'address to bind', '127.0.0.1')
    .option('--no-build', 'serve the existing build as it is')
    .option('--runs <dir>', 'where the claims reports are (the newest runs/claims-*/report.html is shown)', 'runs')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (opts) => finish(await (await import('./lab.js')).labCommand(opts), opts.json));

  program.command('claims')
    .description("Test the note's ten claims about BN, each an experiment with charts and a verdict computed by a fixed rule; writes runs/claims-<time>/ with report.html, report.md, metrics.jsonl and config.json")
    .option('--only <ids>', 'comma-separated claim numbers 1–10 (default: all)', (v: string) => v.split(',').map((s) => {
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1 || n > 10) throw new InvalidArgumentError(`--only takes claim numbers 1–10 separated by commas, got '${v}'`);
      return n;
    }))
    .option('--full', 'the paper-sized experiments (hours, not minutes)')
    .option('--seeds <n>', "seeds per experiment (default: each claim's own, 1–3)", int('--seeds'))
    .option('--jobs <n>', 'experiments run at once, each in its own worker thread (default: 2, or 1 on one core)', int('--jobs'))
    .addOption(new Option('--tiny', 'tiny configurations (seconds; for tests, not evidence)').hideHelp().conflicts('full'))
    .option('--out <dir>', 'run folder (default: runs/claims-<time>)')
    .option('--json', 'print { claims: [{ id, verdict, evidence }], report } as the last stdout line')
    .action(async (opts) => finish(await (await import('./claims.js')).claimsCommand(opts), opts.json));

  addDeployCommands(program, finish); // fold, recompute-stats (cli/deploy-commands.ts)

  withArchOptions(program.command('export'))
    .description('Export a model as an ONNX file (inference graph, dynamic batch axis); the file is read back and checked on test digits')
    .argument('<file>', 'a train checkpoint, a safetensors state dict (architecture from the flags below) or a folded state dict from fold')
    .requiredOption('--onnx <out>', 'the ONNX file to write')
    .option('--opset <n>', 'ONNX opset, 13–21 (default 17; 21 for GroupNorm)', int('--opset', 13))
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (file: string, opts) => finish(await (await import('./export.js')).exportCommand(file, opts), opts.json));

  program.command('import')
    .description('Build a model from an ONNX file (from PyTorch or normlab) and write its state dict as safetensors; lists the layers')
    .argument('<file.onnx>', 'the ONNX file')
    .option('--out <file>', 'state dict to write (default <file>-onnx.safetensors)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (file: string, opts) => finish(await (await import('./import.js')).importCommand(file, opts), opts.json));
  return program;
}

/** Flags that contradict each other: a usage error (exit 2), as commander's own conflicts are. */
function checkTrainFlags(f: TrainFlags, given: Set<string>, cmd: Command): void {
  if (given.has('momentum') && (given.has('optimizer') || !f.resume) && f.optimizer !== 'sgd')
    cmd.error(`error: option '--momentum' is for --optimizer sgd; ${f.optimizer} has no momentum (its betas are fixed at the library's defaults)`);
  if (f.model === 'cnn') {
    const mlpOnly = ['depth', 'width', 'activation', 'initStd'].filter((k) => given.has(k));
    if (mlpOnly.length) cmd.error(`error: ${mlpOnly.map((k) => `'--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}'`).join(', ')} ${mlpOnly.length > 1 ? 'are options' : 'is an option'} of --model mlp, not cnn`);
  }
}

function finish(summary: Record<string, unknown>, json: boolean | undefined): void {
  if (json) process.stdout.write(`${JSON.stringify(summary)}\n`);
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      return 2; // commander has printed the message and the usage hint
    }
    process.stderr.write(`normlab: ${(e as Error).message}\n`);
    return 1;
  }
}


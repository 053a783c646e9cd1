/**
 * The normlab command line. Commands: `paper` (the BN paper's Figure 1; what `npm start` runs) and
 * `train` (one network, configured by flags). Every command takes --json and then prints one JSON summary
 * object as its last line of stdout. Unknown or invalid flags: a message with usage, exit code 2.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { PaperFlags } from './paper.js';
import type { TrainFlags } from './train.js';

// The commands (and the library, data and chart renderer behind them) load only when one runs, so that
// --help and usage errors answer at once.
const paperCommand = async (f: PaperFlags) => (await import('./paper.js')).paperCommand(f);
const trainCommand = async (f: TrainFlags) => (await import('./train.js')).trainCommand(f);

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
    .version('0.1.0')
    .showHelpAfterError(true)
    .exitOverride();

  program.command('paper')
    .description("Reproduce Ioffe & Szegedy 2015, Fig. 1: a sigmoid MLP on MNIST with and without BN (what `npm start` runs)")
    .option('--full', 'the paper-sized run: 50,000 steps per arm')
    .option('--steps <n>', 'training steps per arm (default 6000)', int('--steps'))
    .option('--eval-every <n>', 'evaluate on the test digits every n steps', int('--eval-every'))
    .option('--lr <x>', 'SGD learning rate', positive('--lr'))
    .option('--init-std <x>', 'standard deviation of the Gaussian initial weights', positive('--init-std'))
    .option('--seed <n>', 'seed of weights, split and batch order', int('--seed', 0))
    .option('--out <dir>', 'run folder (default runs/paper-<time>)')
    .option('--no-workers', 'run the two arms one after the other in this thread')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (opts) => finish(await paperCommand(opts), opts.json));

  program.command('train')
    .description('Train one network on the embedded MNIST digits')
    .addOption(new Option('--model <kind>', 'network: mlp (--depth, --width, --activation) or cnn (conv-BN-ReLU twice, global pooling, Linear)').choices(['mlp', 'cnn']).default('mlp'))
    .addOption(new Option('--activation <fn>', 'hidden activation').choices(['sigmoid', 'relu', 'tanh']).default('sigmoid'))
    .option('--depth <n>', 'hidden layers', int('--depth'), 3)
    .option('--width <n>', 'units per hidden layer', int('--width'), 100)
    .option('--bn', 'batch normalization before each activation (default)', true)
    .option('--no-bn', 'no normalization')
    .option('--init-std <x>', 'Gaussian initial weights N(0, x²) (default: PyTorch init)', positive('--init-std'))
    .addOption(new Option('--optimizer <name>', 'optimizer').choices(['sgd', 'adam', 'adamw']).default('sgd'))
    .option('--lr <x>', 'learning rate', positive('--lr'), 0.1)
    .option('--momentum <x>', 'SGD momentum', num('--momentum', (n) => n >= 0 && n < 1, 'in [0, 1)'), 0)
    .option('--weight-decay <x>', 'weight decay', num('--weight-decay', (n) => n >= 0, '≥ 0'), 0)
    .option('--clip-value <v>', 'clip each gradient element into [-v, v]', positive('--clip-value'))
    .option('--clip-norm <c>', "scale each parameter's gradient to norm ≤ c", positive('--clip-norm'))
    .option('--global-clip-norm <c>', 'scale all gradients together to norm ≤ c', positive('--global-clip-norm'))
    .option('--batch <n>', 'mini-batch size', int('--batch'), 60)
    .option('--steps <n>', 'training steps', int('--steps'), 2000)
    .option('--eval-every <n>', 'evaluate every n steps', int('--eval-every'), 500)
    .option('--checkpoint-every <n>', 'save a checkpoint every n steps (and at the end)', int('--checkpoint-every'))
    .option('--resume <file>', 'continue from a checkpoint written by --checkpoint-every')
    .option('--seed <n>', 'seed of weights, split and batch order', int('--seed', 0), 0)
    .option('--out <dir>', 'run folder (default runs/train-<time>)')
    .option('--json', 'print one JSON summary object as the last stdout line')
    .action(async (opts) => finish(await trainCommand(opts), opts.json));

  return program;
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


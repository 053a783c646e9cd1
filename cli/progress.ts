/**
 * Progress display: one bar per task on a terminal (cli-progress, on stderr), plain lines when stderr is
 * not a TTY (CI logs, pipes), nothing with `quiet`. stdout stays free for results and `--json`.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  add(name: string, total: number): void;
  update(name: string, value: number, info?: string): void;
  /** A line of text that does not disturb the bars. */
  log(line: string): void;
  stop(): void;
}

export function createProgress({ quiet = false }: { quiet?: boolean } = {}): Progress {
  if (quiet) return { add() {}, update() {}, log() {}, stop() {} };
  if (process.stderr.isTTY) return ttyProgress();
  return plainProgress();
}

function ttyProgress(): Progress {
  const multi = new cliProgress.MultiBar({
    stream: process.stderr,
    format: ' {name} |{bar}| {value}/{total} steps  {info}',
    barsize: 30, hideCursor: true, clearOnComplete: false, etaBuffer: 50,
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, cliProgress.SingleBar>();
  return {
    add: (name, total) => { bars.set(name, multi.create(total, 0, { name: name.padEnd(10), info: '' })); },
    update: (name, value, info = '') => bars.get(name)?.update(value, { info }),
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}

function plainProgress(): Progress {
  const totals = new Map<string, { total: number; shown: number }>();
  return {
    add: (name, total) => { totals.set(name, { total, shown: -1 }); },
    update: (name, value, info = '') => {
      const t = totals.get(name);
      if (!t) return;
      const decile = Math.floor((10 * value) / t.total);
      if (decile === t.shown && value !== t.total) return;
      t.shown = decile;
      process.stderr.write(`[${name}] ${value}/${t.total} steps ${info}\n`);
    },
    log: (line) => process.stderr.write(`${line}\n`),
    stop: () => {},
  };
}

/**
 * Progress display: one bar per task on a terminal (cli-progress, on stderr) with the latest loss, the rate
 * in steps/s and the ETA; plain lines when stderr is not a TTY (CI logs, pipes): one line per tenth of each
 * task and one final line, never the same line twice; nothing with `quiet`. stdout stays free for results
 * and `--json`.
 */
import cliProgress from 'cli-progress';

/** What an update may carry besides the step count; values are kept until replaced. */
export interface ProgressInfo {
  /** The latest training loss. */
  loss?: number;
  /** Free text after the numbers (e.g. the latest test accuracy). */
  info?: string;
}

export interface Progress {
  /** A task of `total` steps, `start` of them already done (a resumed run). */
  add(name: string, total: number, start?: number): void;
  update(name: string, value: number, extra?: ProgressInfo): void;
  /** A line of text that does not disturb the bars. */
  log(line: string): void;
  stop(): void;
}

export interface ProgressOptions {
  quiet?: boolean;
  /** Where to draw (default process.stderr); tests pass a stream that is not a TTY. */
  stream?: NodeJS.WriteStream;
  /** The clock in milliseconds (default performance.now). */
  now?: () => number;
}

export function createProgress({ quiet = false, stream = process.stderr, now = () => performance.now() }: ProgressOptions = {}): Progress {
  if (quiet) return { add() {}, update() {}, log() {}, stop() {} };
  if (stream.isTTY) return ttyProgress(stream, now);
  return plainProgress(stream, now);
}

/** Per-task state shared by both displays: the rate counts only the steps taken since the task was added. */
class Task {
  value: number;
  loss = NaN;
  info = '';
  private readonly t0: number;

  constructor(readonly total: number, readonly start: number, private readonly now: () => number) {
    this.value = start;
    this.t0 = now();
  }

  set(value: number, { loss, info }: ProgressInfo): void {
    this.value = value;
    if (loss !== undefined) this.loss = loss;
    if (info !== undefined && info !== '') this.info = info;
  }

  /** Steps per second since the task was added (NaN before the first step). */
  rate(): number {
    const s = (this.now() - this.t0) / 1000;
    return this.value > this.start && s > 0 ? (this.value - this.start) / s : NaN;
  }

  eta(): string {
    const r = this.rate();
    return Number.isFinite(r) ? formatSeconds((this.total - this.value) / r) : '…';
  }
}

/** 75 → '1m15s', 3.2 → '3s'. */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  return h ? `${h}h${String(m).padStart(2, '0')}m` : m ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

/** 'loss 0.1234', or '' before the first loss (and for tasks that have none). */
const fmtLoss = (l: number) => (Number.isFinite(l) ? `loss ${l.toFixed(4)}` : '');
const fmtRate = (r: number) => (Number.isFinite(r) ? r.toFixed(0) : '–');

function ttyProgress(stream: NodeJS.WriteStream, now: () => number): Progress {
  const multi = new cliProgress.MultiBar({
    stream,
    format: ' {name} |{bar}| {value}/{total} steps  {loss}  {rate} steps/s  ETA {remaining}  {info}',
    barsize: 30, hideCursor: true, clearOnComplete: false, fps: 10,
  }, cliProgress.Presets.shades_classic);
  const bars = new Map<string, { bar: cliProgress.SingleBar; task: Task }>();
  const payload = (name: string, t: Task) => ({ name: name.padEnd(10), loss: fmtLoss(t.loss), rate: fmtRate(t.rate()), remaining: t.value >= t.total ? '0s' : t.eta(), info: t.info });
  return {
    add: (name, total, start = 0) => {
      const task = new Task(total, start, now);
      bars.set(name, { bar: multi.create(total, start, payload(name, task)), task });
    },
    update: (name, value, extra = {}) => {
      const b = bars.get(name);
      if (!b) return;
      b.task.set(value, extra);
      b.bar.update(value, payload(name, b.task));
    },
    log: (line) => multi.log(`${line}\n`),
    stop: () => multi.stop(),
  };
}

function plainProgress(stream: NodeJS.WriteStream, now: () => number): Progress {
  const tasks = new Map<string, { task: Task; tenth: number; last: string }>();
  const line = (name: string, t: Task) =>
    [`[${name}] ${t.value}/${t.total} steps`, fmtLoss(t.loss), `${fmtRate(t.rate())} steps/s`, t.value >= t.total ? 'done' : `ETA ${t.eta()}`, t.info].filter(Boolean).join(', ');
  const print = (name: string, s: { task: Task; last: string }) => {
    const text = line(name, s.task);
    // The numbers part decides "the same line": a later line about the same step is not printed again.
    const key = `${name}@${s.task.value}`;
    if (key === s.last) return;
    s.last = key;
    stream.write(`${text}\n`);
  };
  return {
    add: (name, total, start = 0) => { tasks.set(name, { task: new Task(total, start, now), tenth: Math.floor((10 * start) / total), last: '' }); },
    update: (name, value, extra = {}) => {
      const s = tasks.get(name);
      if (!s) return;
      s.task.set(value, extra);
      // The last line waits for stop(), so that what arrives with the final step (an evaluation) is on it.
      if (value >= s.task.total) return;
      const tenth = Math.floor((10 * value) / s.task.total);
      if (tenth <= s.tenth) return;
      s.tenth = tenth;
      print(name, s);
    },
    log: (l) => stream.write(`${l}\n`),
    stop: () => { for (const [name, s] of tasks) if (s.task.value > s.task.start || s.task.value >= s.task.total) print(name, s); },
  };
}

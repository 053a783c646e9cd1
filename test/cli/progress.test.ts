import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgress, formatSeconds } from '../../cli/progress.js';

/*
 * cli/progress.ts with a fake clock: the plain display (not a TTY) prints one line per tenth of a task and
 * one final line, each with loss, rate and ETA, never a line twice; the bar display (a TTY) shows the same
 * numbers.
 */

function sink(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let text = '';
  const w = new Writable({ write(chunk, _enc, done) { text += String(chunk); done(); } });
  Object.assign(w, { isTTY, columns: 160, rows: 40, cursorTo: (_x: number, _y?: unknown, cb?: () => void) => { cb?.(); return true; }, moveCursor: (_x: number, _y: number, cb?: () => void) => { cb?.(); return true; }, clearLine: (_d: number, cb?: () => void) => { cb?.(); return true; }, clearScreenDown: (cb?: () => void) => { cb?.(); return true; } });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => text };
}

describe('progress off a terminal', () => {
  it('one line per tenth plus a final line at stop(), with loss, steps/s and ETA; an evaluation at the last step is on the final line', () => {
    let now = 0;
    const out = sink(false);
    const p = createProgress({ stream: out.stream, now: () => now });
    p.add('train', 100);
    for (let step = 1; step <= 100; step++) {
      now += 10; // 100 steps/s
      p.update('train', step, { loss: 2 - step / 100 });
      if (step % 50 === 0) p.update('train', step, { info: `test acc ${step / 2}%` }); // an evaluation after the step
    }
    p.stop();
    const lines = out.text().trimEnd().split('\n');
    expect(lines).toHaveLength(10); // tenths 1..9, then the final line
    expect(lines[0]).toBe('[train] 10/100 steps, loss 1.9000, 100 steps/s, ETA 1s');
    expect(lines[4]).toBe('[train] 50/100 steps, loss 1.5000, 100 steps/s, ETA 1s');
    expect(lines[5]).toBe('[train] 60/100 steps, loss 1.4000, 100 steps/s, ETA 0s, test acc 25%');
    expect(lines[9]).toBe('[train] 100/100 steps, loss 1.0000, 100 steps/s, done, test acc 50%');
    expect(new Set(lines).size).toBe(lines.length);
  });

  it('two interleaved tasks and a resumed one: the rate counts only this run\'s steps; no line twice', () => {
    let now = 0;
    const out = sink(false);
    const p = createProgress({ stream: out.stream, now: () => now });
    p.add('a', 40);
    p.add('b', 40, 20); // resumed at step 20
    for (let step = 1; step <= 40; step++) {
      now += 20;
      p.update('a', step, { loss: 1 });
      if (step > 20) p.update('b', step, { loss: 0.5 });
      p.update('a', step); // repeated updates of the same step
    }
    p.stop();
    const lines = out.text().trimEnd().split('\n');
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.filter((l) => l.startsWith('[a]'))).toHaveLength(10);
    const b = lines.filter((l) => l.startsWith('[b]'));
    expect(b).toHaveLength(5); // 24, 28, 32, 36, then 40
    expect(b[b.length - 1]).toBe('[b] 40/40 steps, loss 0.5000, 25 steps/s, done');
  });

  it('a task without a loss (or before the first) leaves it out rather than printing a placeholder', () => {
    let now = 0;
    const out = sink(false);
    const p = createProgress({ stream: out.stream, now: () => now });
    p.add('claim 1', 4);
    now += 1000;
    p.update('claim 1', 2, { info: 'seed 1 of 2' });
    now += 1000;
    p.update('claim 1', 4, { info: 'BN wins' });
    p.stop();
    expect(out.text()).toBe('[claim 1] 2/4 steps, 2 steps/s, ETA 1s, seed 1 of 2\n[claim 1] 4/4 steps, 2 steps/s, done, BN wins\n');
  });

  it('quiet prints nothing; formatSeconds', () => {
    const out = sink(false);
    const p = createProgress({ quiet: true, stream: out.stream });
    p.add('x', 10);
    p.update('x', 10, { loss: 1 });
    p.stop();
    expect(out.text()).toBe('');
    expect([formatSeconds(3.2), formatSeconds(75), formatSeconds(3725), formatSeconds(-1)]).toEqual(['3s', '1m15s', '1h02m', '0s']);
  });
});

describe('progress on a terminal (cli-progress bars)', () => {
  it('a bar per task showing loss, steps/s and ETA', async () => {
    let now = 0;
    const out = sink(true);
    const p = createProgress({ stream: out.stream, now: () => now });
    p.add('with BN', 200);
    for (let step = 1; step <= 50; step++) {
      now += 5; // 200 steps/s
      p.update('with BN', step, { loss: 0.25, info: 'test acc 91.00%' });
    }
    await new Promise((r) => setTimeout(r, 150)); // one redraw (fps 10)
    p.stop();
    const text = out.text();
    expect(text).toMatch(/with BN {4}\|[█░]+\| 50\/200 steps {2}loss 0\.2500 {2}200 steps\/s {2}ETA 1s {2}test acc 91\.00%/);
  });
});

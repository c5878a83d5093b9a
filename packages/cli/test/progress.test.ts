import { afterEach, describe, expect, it } from 'vitest';
import { timeFraction } from '@mdcap/core';
import { isQuiet, LineOutput, Progress, progressLine, setQuiet } from '../src/output.js';
import type { ProgressStream } from '../src/output.js';
import { PassThrough } from 'node:stream';

/** A terminal of `columns` that keeps what is written to it. */
function terminal(columns?: number, isTTY = true): ProgressStream & { readonly writes: string[] } {
  const writes: string[] = [];
  return { writes, isTTY, ...(columns === undefined ? {} : { columns }), write: (s: string) => writes.push(s) };
}

/** A clock the test moves (ms). */
function clock(): { now: () => number; t: number } {
  const c = { t: 1000, now: () => c.t };
  return c;
}

afterEach(() => setQuiet(false));

describe('Progress', () => {
  it('draws nothing when the stream is not a terminal (a pipe, a file)', () => {
    const pipe = terminal(80, false);
    const p = new Progress({ stream: pipe });
    expect(p.enabled).toBe(false);
    p.update('importing', 0.5);
    p.done();
    expect(pipe.writes).toEqual([]);
  });

  it('draws nothing under --quiet, even on a terminal or when asked to', () => {
    setQuiet(true);
    expect(isQuiet()).toBe(true);
    const tty = terminal(80);
    for (const p of [new Progress({ stream: tty }), new Progress({ stream: tty, enabled: true })]) {
      expect(p.enabled).toBe(false);
      p.update(
        () => 'verifying',
        () => 0.3,
      );
      p.done();
    }
    expect(tty.writes).toEqual([]);
  });

  it('draws a bar with the percentage, sized to the terminal, then clears the line', () => {
    const tty = terminal(60);
    const c = clock();
    const p = new Progress({ stream: tty, now: c.now });
    p.update('replaying cap', 0.42);
    expect(tty.writes).toHaveLength(1);
    const line = tty.writes[0]!;
    expect(line.startsWith('\r\x1b[K')).toBe(true);
    const shown = line.slice('\r\x1b[K'.length);
    expect(shown).toMatch(/^\[#+-+\] {2}42% replaying cap$/);
    expect(shown.length).toBeLessThan(60); // never as wide as the terminal: `\r` still works
    const cells = /^\[([#-]+)\]/.exec(shown)![1]!;
    expect(cells.replace(/-/g, '').length).toBe(Math.floor(0.42 * cells.length));
    p.done();
    expect(tty.writes[1]).toBe('\r\x1b[K');
  });

  it('redraws at most every 200 ms, calling the text only when it draws', () => {
    const tty = terminal(80);
    const c = clock();
    const p = new Progress({ stream: tty, now: c.now });
    let made = 0;
    const text = (): string => `n ${++made}`;
    p.update(text, 0.1); // the first update draws at once
    c.t += 199;
    p.update(text, 0.2);
    expect(tty.writes).toHaveLength(1);
    c.t += 1;
    p.update(text, 0.3);
    expect(tty.writes).toHaveLength(2);
    expect(tty.writes[1]).toContain(' 30% n 2');
    expect(made).toBe(2);
  });

  it('without a fraction draws the text alone; the old form (a boolean) still works', () => {
    const tty = terminal(80);
    const p = new Progress({ stream: tty, enabled: true });
    p.update(() => 'recording demo: 1,234 events');
    expect(tty.writes).toEqual(['\r\x1b[Krecording demo: 1,234 events']);
    expect(new Progress(false).enabled).toBe(false);
  });

  it('done() writes nothing if nothing was drawn', () => {
    const tty = terminal(80);
    new Progress({ stream: tty }).done();
    expect(tty.writes).toEqual([]);
  });

  it('LineOutput on a terminal clears the progress line before its lines', async () => {
    const tty = terminal(80);
    const p = new Progress({ stream: tty });
    p.update('replaying', 0.5);
    const stdout = Object.assign(new PassThrough(), { isTTY: true });
    stdout.resume();
    const out = new LineOutput(stdout);
    out.line('a bar');
    await out.end();
    expect(tty.writes.at(-1)).toBe('\r\x1b[K');
  });
});

describe('progressLine', () => {
  it('cuts the line to the terminal width less one, whatever the text', () => {
    for (const columns of [1, 5, 20, 33, 80, 200]) {
      for (const fraction of [undefined, 0, 0.5, 1]) {
        const line = progressLine('x'.repeat(300), fraction, columns);
        expect(line.length, `${columns} columns`).toBeLessThanOrEqual(Math.max(1, columns - 1));
      }
    }
  });

  it('clamps the fraction, and drops the bar (not the percentage) on a narrow terminal', () => {
    expect(progressLine('t', 1.7, 80)).toMatch(/^\[#+\] 100% t$/);
    expect(progressLine('t', -1, 80)).toMatch(/^\[-+\] {3}0% t$/);
    expect(progressLine('t', 0.5, 20)).toBe(' 50% t');
    expect(progressLine('t', Number.NaN, 80)).toBe('t');
    // The bar is 10 to 40 cells: about a quarter of the line.
    expect(/\[([#-]+)\]/.exec(progressLine('t', 0, 300))![1]).toHaveLength(40);
    expect(/\[([#-]+)\]/.exec(progressLine('t', 0, 81))![1]).toHaveLength(20);
    expect(/\[([#-]+)\]/.exec(progressLine('t', 0, 41))![1]).toHaveLength(10);
    expect(progressLine('t', 0.5, 40)).toBe(' 50% t');
  });
});

describe('timeFraction', () => {
  it('is how far a time is through a range, in [0, 1]', () => {
    expect(timeFraction(150n, 100n, 200n)).toBe(0.5);
    expect(timeFraction(50n, 100n, 200n)).toBe(0);
    expect(timeFraction(250n, 100n, 200n)).toBe(1);
    expect(timeFraction(150n, 200n, 200n)).toBe(0);
  });
});

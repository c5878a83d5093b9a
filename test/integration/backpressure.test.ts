import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CaptureWriter } from '@mdcap/capture';
import { LineOutput } from '@mdcap/cli';
import { createTrade, VirtualClock } from '@mdcap/core';
import { MDCAP_BIN, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Output that respects the reader (issue 10, item 1): `mdcap replay --json | slow-reader` used to
 * buffer the whole replay in memory (3.9 GB for 5.7 M events, then ENOBUFS); now a full pipe
 * pauses the replay until the reader catches up.
 */

const dir = tempDir('backpressure');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_704_205_800_000_000_000n;
const TRADES = 600_000;

/** A capture of `n` trades, one microsecond apart. */
async function tradesCapture(root: string, n: number): Promise<void> {
  const w = await CaptureWriter.open(root, {
    feed: 'demo',
    symbols: ['AAPL', 'MSFT'],
    clock: new VirtualClock(T0),
    finalize: 'inline',
    fsync: false,
  });
  for (let i = 0; i < n; i++) {
    const t = T0 + BigInt(i) * 1000n;
    w.write(
      createTrade({
        venue: 'demo',
        symbol: i & 1 ? 'AAPL' : 'MSFT',
        tsEvent: t,
        tsRecv: t,
        seq: BigInt(i + 1),
        price: 10_000n + BigInt(i % 97),
        size: BigInt(1 + (i % 13)),
        priceScale: 2,
        sizeScale: 0,
        side: i % 3 === 0 ? 'sell' : 'buy',
        tradeId: String(i),
      }),
    );
  }
  await w.close(T0 + BigInt(n) * 1000n);
}

/** CPU time (user + system, clock ticks) and peak RSS (KiB) of a live process, from /proc. */
function procStats(pid: number): { cpu: number; peakKiB: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { cpu: Number(fields[11]) + Number(fields[12]), peakKiB: Number(/VmHWM:\s+(\d+)/.exec(status)![1]) };
  } catch {
    return null; // exited
  }
}

const until = (what: string, ok: () => boolean, deadlineMs = 120_000): Promise<unknown> => waitFor(ok, { what, deadlineMs, everyMs: 100 });

describe('backpressure', () => {
  it('mdcap replay --json into a reader that does not read: the replay waits, memory stays bounded, nothing is lost', async () => {
    const root = join(dir, 'cap');
    await tradesCapture(root, TRADES);
    const child = spawn(process.execPath, [MDCAP_BIN, 'replay', root, '--speed', 'max', '--json', '--print', 'trades'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.pause(); // the reader "sleeps": nothing is read until the writer has stopped working
    let exited = false;
    child.on('exit', () => (exited = true));
    // The writer stops working when the pipe is full (it waits) — or, unbounded, when it has
    // produced everything into its own memory. Either way its CPU time stops growing.
    let last = -1;
    let still = 0;
    let peakKiB = 0;
    await until('the replay to stop working', () => {
      const s = procStats(child.pid!);
      if (s === null) return exited;
      peakKiB = Math.max(peakKiB, s.peakKiB);
      still = s.cpu === last ? still + 1 : 0;
      last = s.cpu;
      return still >= 10; // a second without CPU time
    });
    expect(exited).toBe(false); // it waits for its reader
    // Now read everything.
    let lines = 0;
    let first = '';
    let tail = '';
    child.stdout.on('data', (d: Buffer) => {
      const text = tail + d.toString();
      const parts = text.split('\n');
      tail = parts.pop()!;
      if (first === '' && parts.length > 0) first = parts[0]!;
      lines += parts.length;
      const s = procStats(child.pid!);
      if (s !== null) peakKiB = Math.max(peakKiB, s.peakKiB);
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => (exited ? resolve(child.exitCode) : child.on('exit', resolve)));
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(lines).toBe(TRADES);
    expect(JSON.parse(first)).toMatchObject({ type: 'trade', symbol: 'MSFT', seq: '1', tradeId: '0' });
    // The JSON alone is ~110 MB; a replay that buffered it peaked near 600 MB, one that waits
    // stays near its own working set (~260 MB, most of it Parquet decoding).
    expect(peakKiB).toBeGreaterThan(0);
    expect(peakKiB).toBeLessThan(400 * 1024);
  });

  it('LineOutput pauses its source while the stream is full, resumes it when the stream drains, and ready() waits', async () => {
    const written: string[] = [];
    let release: (() => void) | null = null;
    // A real Writable that takes a write only when the test lets it (a reader that sleeps).
    const stream = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        written.push(chunk.toString());
        release = done;
      },
    });
    const calls: string[] = [];
    const out = new LineOutput(stream).throttle({
      pause: () => calls.push('pause'),
      resume: () => calls.push('resume'),
    });
    out.line('x'.repeat(70_000)); // over the chunk size: written at once, and over the stream's limit
    expect(calls).toEqual(['pause']);
    expect(out.blocked).toBe(true);
    let ready = false;
    const waiting = out.ready().then(() => (ready = true));
    out.line('y'); // buffered, not written while full
    out.flush();
    expect(calls).toEqual(['pause']); // one pause per full stream, not one per write
    await new Promise((r) => setImmediate(r));
    expect(ready).toBe(false);
    while (release !== null) {
      const r: () => void = release;
      release = null;
      r();
      await new Promise((x) => setImmediate(x));
    }
    await waiting;
    expect(calls).toEqual(['pause', 'resume']);
    expect(out.blocked).toBe(false);
    expect(written.join('')).toBe(`${'x'.repeat(70_000)}\ny\n`);
  });
});

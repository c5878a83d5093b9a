import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatDecimal } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { mdcap, REPO_ROOT, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's tour, kept true: its strategy test (the same code, pointed at a fresh capture)
 * and its commands.
 */
const dir = tempDir('readme');
const cap = join(dir, 'cap');
beforeAll(() => {
  const r = mdcap([
    'record',
    '--feed',
    'demo',
    '--symbols',
    'AAPL,MSFT',
    '--out',
    cap,
    '--duration',
    '3s',
    '--gap-every',
    '500',
    '--rate',
    '2000',
  ]);
  expect(r.status, r.stderr).toBe(0);
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('README', () => {
  it('shows examples/record.mjs as it is (a pipeline test runs it)', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(readFileSync(join(REPO_ROOT, 'examples/record.mjs'), 'utf8'));
  });

  it('the strategy test runs as written', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    expect(readme).toContain("const engine = new RealtimeEngine(ReplayProvider.open('cap'));");
    // --- as in the README ---
    const engine = new RealtimeEngine(ReplayProvider.open(cap));
    engine.setBarInterval(1); // the README uses 10 s bars on a 30 s capture
    let inGap = false;
    const orders: string[] = [];
    engine.onGap(() => (inGap = true));
    engine.onBookUpdate((_u, book) => {
      if (book.valid) inGap = false;
    });
    engine.onBar((bar) => {
      if (!inGap && bar.close > bar.open) orders.push(`${bar.symbol} buy at ${formatDecimal(bar.close, bar.priceScale)}`);
    });
    engine.onError((error) => expect.fail(error.toString()));
    await engine.run(['AAPL', 'MSFT']);
    // ---
    expect(orders.length).toBeGreaterThan(0);
  });

  it('the tour commands work as shown', () => {
    const a = mdcap(['replay', cap, '--speed', '10x', '--bars', '1', '--json']);
    const b = mdcap(['replay', cap, '--speed', 'max', '--bars', '1', '--json']);
    expect(a.status).toBe(0);
    expect(a.stdout === b.stdout).toBe(true);
    const window = mdcap(['replay', cap, '--from', '+1s', '--to', '+2s', '--symbols', 'AAPL', '--print', 'trades,top', '--depth', '3']);
    expect(window.status, window.stderr).toBe(0);
    expect(window.stdout).toMatch(/ trade {2}demo:AAPL /);
    expect(window.stdout).toMatch(/ top {4}demo:AAPL bids /);
    const q = mdcap(['query', cap, 'SELECT symbol, count(*) AS trades, min(price), max(price), sum(size) FROM trades GROUP BY ALL']);
    expect(q.status, q.stderr).toBe(0);
    expect(mdcap(['bars', cap, '--interval', '1', '--json']).stdout).toBe(
      mdcap(['replay', cap, '--bars', '1', '--print', 'bars', '--json']).stdout,
    );
    const report = mdcap(['report', cap]);
    expect(report.status, report.stderr).toBe(0);
    expect(report.stdout).toMatch(/vwap/);
    expect(mdcap(['verify', cap]).status).toBe(1); // the tour records with lost packets
  });
});

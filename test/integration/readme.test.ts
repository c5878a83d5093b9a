import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatDecimal } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { inCI, mdcap, mdcapServer, REPO_ROOT, tempDir } from '@mdcap/test-utils';
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

  it('shows pictures that are there (the viewer screenshot its test writes)', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const images = [...readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]!);
    expect(images).toContain('docs/images/viewer.png');
    for (const image of images) expect(existsSync(join(REPO_ROOT, image)), image).toBe(true);
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

/** A Python 3 that can import grpc and protobuf (Debian: python3-grpcio, python3-protobuf), or null. */
function pythonWithGrpc(): string | null {
  for (const py of ['/usr/bin/python3', 'python3']) {
    if (spawnSync(py, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' }).status === 0) return py;
  }
  return null;
}

describe('README: the Python two-liner', () => {
  const python = pythonWithGrpc();
  const why = 'needs a python3 with grpc and protobuf (apt-get install python3-grpcio python3-protobuf)';
  if (python === null && !inCI()) console.warn(`[mdcap] skipping the README's Python example: ${why}`);
  it.runIf(python !== null || inCI())(`runs as written against mdcap serve (only the address differs: a free port) (${why})`, async () => {
    expect(python, why).not.toBeNull();
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /```python\n([\s\S]*?)```/.exec(readme)![1]!;
    expect(block.trim().split('\n')).toHaveLength(2);
    const rec = mdcap(['record', '--feed', 'demo', '--symbols', 'AAPL,MSFT', '--out', join(dir, 'caps', 'demo'), '--duration', '2s']);
    expect(rec.status, rec.stderr).toBe(0);
    const { child, firstLine } = await mdcapServer(['serve', '--listen', '127.0.0.1:0', '--captures', join(dir, 'caps'), '--json']);
    try {
      const { address } = JSON.parse(firstLine) as { address: string };
      const script = block.replace('127.0.0.1:50051', address);
      const r = spawnSync(python!, ['-c', script], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: join(REPO_ROOT, 'clients/python') },
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThan(10);
      expect(lines.some((l) => l.includes('AAPL') && l.includes('Decimal'))).toBe(true);
      expect(lines.some((l) => l.includes('MSFT'))).toBe(false);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

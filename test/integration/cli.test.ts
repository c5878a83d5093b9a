import { cpSync, mkdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { sha256File } from '@mdcap/capture';
import type { Manifest } from '@mdcap/capture';
import { mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The `mdcap` binary end to end on a real recording: determinism of replay output across
 * speeds and runs, the engine's bars equal to DuckDB's, verify/inspect/query output, and one
 * clear line with an MDCAP_ERR_* code (exit 2) for every kind of bad input.
 */
const dir = tempDir('cli');
const cap = join(dir, 'cap');

function ok(args: string[]): string {
  const r = mdcap(args);
  expect(r.status, `mdcap ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

function manifestOf(root: string): Manifest {
  return JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Manifest;
}

/** A copy of the capture to break. */
function copy(name: string): string {
  const to = join(dir, name);
  cpSync(cap, to, { recursive: true });
  return to;
}

beforeAll(() => {
  // Two sessions: 3 s with sequence gaps, then 1 s more (a hole between them).
  ok([
    'record',
    '--out',
    cap,
    '--duration',
    '3s',
    '--symbols',
    'AAPL,BTC-USD',
    '--gap-every',
    '300',
    '--flush',
    '200ms',
    '--rotate',
    '1s',
    '--rate',
    '1500',
  ]);
  ok(['record', '--out', cap, '--duration', '1s', '--symbols', 'AAPL,BTC-USD', '--seed', '2', '--rate', '1500']);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mdcap replay: deterministic output', () => {
  it('--speed max and --speed 20x print byte-identical JSON, and so does a second run', () => {
    const args = ['replay', cap, '--json', '--bars', '1,2', '--print', 'trades,quotes,book,orders,bars,status,top', '--depth', '5'];
    const max = ok([...args, '--speed', 'max']);
    const x20 = ok([...args, '--speed', '20x']);
    const again = ok([...args, '--speed', 'max']);
    expect(max.length).toBeGreaterThan(100_000);
    expect(x20 === max).toBe(true);
    expect(again === max).toBe(true);
    const lines = max.trim().split('\n');
    const types = new Set(lines.map((l) => (JSON.parse(l) as { type: string }).type));
    expect([...types].sort()).toEqual(['bar', 'book', 'quote', 'status', 'top', 'trade']);
    // The documented form: exact decimal strings, 64-bit values as strings.
    const trade = JSON.parse(lines.find((l) => l.startsWith('{"type":"trade"'))!) as Record<string, unknown>;
    expect(trade).toMatchObject({
      venue: 'demo',
      tsEvent: expect.stringMatching(/^\d{19}$/),
      price: expect.stringMatching(/^\d+\.\d{2}$/),
    });
    const top = JSON.parse(lines.find((l) => l.startsWith('{"type":"top"'))!) as { bids: [string, string][]; asks: [string, string][] };
    expect(top.bids.length).toBeLessThanOrEqual(5);
    expect(top.bids[0]).toEqual([expect.stringMatching(/^\d+\.\d+$/), expect.stringMatching(/^\d+$/)]);
  });

  it('--from/--to and --symbols select a window and symbols', () => {
    const all = ok(['replay', cap, '--json', '--print', 'trades']).trim().split('\n');
    const part = ok(['replay', cap, '--json', '--print', 'trades', '--from', '+1s', '--to', '+2s', '--symbols', 'AAPL']).trim().split('\n');
    const start = BigInt(manifestOf(cap).sessions[0]!.start);
    const want = all.filter((l) => {
      const t = JSON.parse(l) as { symbol: string; tsRecv: string };
      const ts = BigInt(t.tsRecv);
      return t.symbol === 'AAPL' && ts >= start + 1_000_000_000n && ts < start + 2_000_000_000n;
    });
    expect(part.length).toBeGreaterThan(10);
    expect(part).toEqual(want);
  });
});

describe('several capture roots as one (a folder a day)', () => {
  it('replay and bars take several roots: DuckDB equals the engine over them, and the hole between them is a gap', () => {
    const days = ['day1', 'day2'].map((d) => join(dir, d));
    for (const [k, d] of days.entries()) {
      ok(['record', '--out', d, '--duration', '1s', '--symbols', 'AAPL,BTC-USD', '--seed', String(k + 3), '--rate', '1500']);
    }
    const engine = ok(['replay', ...days, '--bars', '1', '--print', 'bars', '--json']);
    expect(ok(['bars', ...days, '--interval', '1', '--json'])).toBe(engine);
    const trades = (args: string[]): string[] =>
      ok(['replay', ...args, '--json', '--print', 'trades'])
        .trim()
        .split('\n');
    // Given in any order, they replay in time order: every trade of each root, once.
    expect(trades([days[1]!, days[0]!])).toEqual([...trades([days[0]!]), ...trades([days[1]!])]);
    const statuses = ok(['replay', ...days, '--json', '--print', 'status'])
      .trim()
      .split('\n');
    expect(statuses.filter((l) => l.includes('recording session 1 ended at'))).toHaveLength(1);
    const overlap = mdcap(['replay', days[0]!, days[0]!]);
    expect(overlap.status).toBe(2);
    expect(overlap.stderr).toMatch(/MDCAP_ERR_CAPTURE_OVERLAP: capture set: expected captures whose times do not overlap/);
  });
});

describe('mdcap bars: DuckDB equals the engine', () => {
  it.each([['60'], ['1'], ['1,2']])('--interval %s --json equals the bar lines of replay --bars', (interval) => {
    const duck = ok(['bars', cap, '--interval', interval, '--json']);
    const engine = ok(['replay', cap, '--bars', interval, '--print', 'bars', '--json']);
    expect(duck.trim().split('\n').length).toBeGreaterThan(interval === '60' ? 1 : 5);
    expect(duck).toBe(engine);
  });

  it('flags bars that overlap gaps, as the engine does', () => {
    const bars = ok(['bars', cap, '--interval', '1', '--json'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { flags: number });
    expect(bars.some((b) => (b.flags & 1) === 1)).toBe(true);
  });
});

describe('mdcap verify, inspect, query', () => {
  it('verify --json counts gaps and exits 1 (problems), with every documented field', () => {
    const r = mdcap(['verify', cap, '--json']);
    expect(r.status).toBe(1);
    const v = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(v).toMatchObject({
      ok: false,
      readable: true,
      duplicates: 0,
      outOfOrder: 0,
      crossedBooks: 0,
      checksums: { verified: 0, failed: 0 },
      segments: 0,
    });
    expect(v['gaps']).toBeGreaterThan(1); // the sequence gaps and the hole between the sessions
    expect(v['gapsUnrecorded']).toBe(0);
    expect(v['files']).toBeGreaterThan(4);
    expect(v['rows']).toBe(manifestOf(cap).files.reduce((a, f) => a + f.rows, 0));
  });

  it('verify exits 0 on a clean capture', () => {
    const clean = join(dir, 'clean');
    ok(['record', '--out', clean, '--duration', '1s', '--symbols', 'MSFT']);
    const r = mdcap(['verify', clean]);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^OK$/m);
  });

  it('inspect summarizes the manifest', () => {
    const text = ok(['inspect', cap]);
    expect(text).toMatch(/feed demo; symbols AAPL, BTC-USD/);
    expect(text).toMatch(/demo:BTC-USD +price scale 2, size scale 8/);
    const j = JSON.parse(ok(['inspect', cap, '--json'])) as { sessions: unknown[]; rows: number };
    expect(j.sessions.length).toBe(2);
    expect(j.rows).toBeGreaterThan(1000);
  });

  it('query runs SQL over the views with exact decimals', () => {
    const rows = ok([
      'query',
      cap,
      'SELECT symbol, count(*) AS n, min(price) AS lo, sum(size) AS volume FROM trades GROUP BY ALL ORDER BY symbol',
      '--json',
    ])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.map((r) => r['symbol'])).toEqual(['AAPL', 'BTC-USD']);
    expect(rows[1]!['lo']).toMatch(/^\d+\.\d{2}$/); // DECIMAL(38,2): the capture's price scale, exact
    const table = ok(['query', cap, 'SELECT count(*) AS n FROM status']);
    expect(table).toMatch(/^n\s*\n-+\n\d+/);
  });
});

describe('bad input: one line, its MDCAP_ERR code, exit 2, no stack', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'a missing capture directory',
      () => ['replay', join(dir, 'nope')],
      /MDCAP_ERR_CAPTURE_NOT_FOUND: capture .*nope: expected a capture directory, found nothing/,
    ],
    [
      'an empty directory',
      () => {
        mkdirSync(join(dir, 'empty'), { recursive: true });
        return ['replay', join(dir, 'empty')];
      },
      /MDCAP_ERR_CAPTURE_NOT_FOUND: capture .*empty: expected manifest.json/,
    ],
    [
      'a manifest from a newer schema version',
      () => {
        const c = copy('newer');
        const m = manifestOf(c) as unknown as Record<string, unknown>;
        writeFileSync(join(c, 'manifest.json'), JSON.stringify({ ...m, schemaVersion: 99 }));
        return ['replay', c];
      },
      /MDCAP_ERR_CAPTURE_SCHEMA: .*expected schema version 1 or older, found 99/,
    ],
    [
      'a truncated Parquet file',
      () => {
        const c = copy('truncated');
        const f = manifestOf(c).files.find((x) => x.kind === 'trades')!;
        truncateSync(join(c, f.path), Math.floor(f.bytes / 2));
        return ['replay', c];
      },
      /MDCAP_ERR_CAPTURE_CORRUPT: .*trades.*\.parquet: expected \d+ bytes as the manifest says, found \d+/,
    ],
    ['--from after --to', () => ['replay', cap, '--from', '+2s', '--to', '+1s'], /MDCAP_ERR_REPLAY_RANGE: --from .* is not before --to/],
    [
      'unknown symbols',
      () => ['replay', cap, '--symbols', 'AAPL,GME'],
      /MDCAP_ERR_UNKNOWN_SYMBOL: --symbols: expected symbols of the capture \(AAPL, BTC-USD\), found GME/,
    ],
    ['--speed 0', () => ['replay', cap, '--speed', '0'], /MDCAP_ERR_INVALID_OPTION: speed: expected max or a positive multiple/],
    ['--speed fast', () => ['replay', cap, '--speed', 'fast'], /MDCAP_ERR_INVALID_OPTION: speed: .*found "fast"/],
    ['--from that is not a time', () => ['replay', cap, '--from', 'yesterday'], /MDCAP_ERR_INVALID_OPTION: --from: expected a time/],
    ['an unknown flag', () => ['replay', cap, '--fast'], /MDCAP_ERR_USAGE: Unknown argument: fast/],
    ['an unknown command', () => ['rewind', cap], /MDCAP_ERR_USAGE: Unknown arguments?: rewind.*; the commands are demo, record, replay/],
    ['a missing argument', () => ['bars'], /MDCAP_ERR_USAGE: Not enough non-option arguments/],
    ['bad SQL', () => ['query', cap, 'SELEC 1'], /MDCAP_ERR_QUERY: query failed: .*Parser Error: syntax error at or near "SELEC"/],
    ['a bar interval of 0', () => ['bars', cap, '--interval', '0'], /MDCAP_ERR_INVALID_OPTION: --interval: expected an integer from 1/],
    [
      'recording into a directory that is not a capture',
      () => {
        mkdirSync(join(dir, 'stuff'), { recursive: true });
        writeFileSync(join(dir, 'stuff', 'notes.txt'), 'hello');
        return ['record', '--out', join(dir, 'stuff'), '--duration', '1s'];
      },
      /MDCAP_ERR_CAPTURE_NOT_FOUND: .*expected an empty directory or an mdcap capture to add to, found 1 other entry \(notes.txt\)/,
    ],
    [
      'a bad duration',
      () => ['record', '--out', join(dir, 'x'), '--duration', 'soon'],
      /MDCAP_ERR_INVALID_OPTION: --duration: expected a duration such as 500ms/,
    ],
    ['verify of a missing directory', () => ['verify', join(dir, 'nope'), '--json'], /MDCAP_ERR_CAPTURE_NOT_FOUND/],
    [
      'a range outside the capture',
      () => ['replay', cap, '--from', '2030-01-01T00:00:00Z'],
      /MDCAP_ERR_REPLAY_RANGE: --from\/--to: expected a range that overlaps the capture/,
    ],
    [
      'a date that does not exist',
      () => ['replay', cap, '--from', '2026-02-31T00:00:00Z'],
      /MDCAP_ERR_INVALID_OPTION: --from: expected a time/,
    ],
    [
      '--rotate shorter than --flush',
      () => ['record', '--out', join(dir, 'r'), '--rotate', '10ms', '--flush', '1s'],
      /MDCAP_ERR_INVALID_OPTION: --rotate: expected at least the flush interval/,
    ],
    [
      'an unknown import format',
      () => ['import', 'csv', '--messages', 'm', '--orderbook', 'o', '--out', 'x'],
      /MDCAP_ERR_USAGE: Invalid values: Argument: format, Given: "csv"/,
    ],
    [
      'a directory given as the messages file',
      () => [
        'import',
        'lobster',
        '--messages',
        dir,
        '--orderbook',
        dir,
        '--out',
        join(dir, 'imp'),
        '--symbol',
        'A',
        '--date',
        '2012-06-21',
      ],
      /MDCAP_ERR_IO: --messages .*: expected a file, found a directory/,
    ],
    [
      'a venue feed without --symbols',
      () => ['record', '--feed', 'kraken', '--out', join(dir, 'k1'), '--duration', '1s'],
      /MDCAP_ERR_INVALID_OPTION: --symbols: expected the kraken symbols to record \(e\.g\. XBT\/USD,ETH\/USD\), found none/,
    ],
    [
      '--raw with the simulated feed',
      () => ['record', '--raw', '--out', join(dir, 'k0'), '--duration', '1s'],
      /MDCAP_ERR_INVALID_OPTION: --raw: expected a venue feed \(kraken, binance, coinbase, alpaca\), found --feed demo, which has no wire frames/,
    ],
    [
      'an unreachable venue',
      () => [
        'record',
        '--feed',
        'kraken',
        '--symbols',
        'XBT/USD',
        '--url',
        'ws://127.0.0.1:1',
        '--out',
        join(dir, 'k2'),
        '--duration',
        '5s',
      ],
      /MDCAP_ERR_CONNECT_FAILED: kraken: expected a WebSocket at ws:\/\/127\.0\.0\.1:1, found connect ECONNREFUSED/,
    ],
    [
      'an unknown emulator fault',
      () => ['emulate', '--fault', 'explode:3'],
      /MDCAP_ERR_INVALID_OPTION: --fault: expected one of drop:N, skip:N, corrupt-checksum:N, malformed:N, stall:N, reject-auth, found "explode:3"/,
    ],
    [
      'recording another feed into a capture',
      () => {
        const c = copy('otherfeed');
        const m = manifestOf(c) as unknown as Record<string, unknown>;
        writeFileSync(join(c, 'manifest.json'), JSON.stringify({ ...m, feed: 'nasdaq' }));
        return ['record', '--out', c, '--duration', '1s'];
      },
      /MDCAP_ERR_INVALID_OPTION: capture .*: expected a recording of feed "nasdaq" to add a session to, found feed "demo"/,
    ],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = mdcap(args());
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a flag given twice: the last one counts', () => {
    const r = mdcap(['replay', cap, '--symbols', 'AAPL', '--symbols', 'BTC-USD', '--print', 'trades', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(
      new Set(
        r.stdout
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { symbol: string }).symbol),
      ),
    ).toEqual(new Set(['BTC-USD']));
  });

  it('--verbose adds the stack trace', () => {
    const r = mdcap(['replay', join(dir, 'nope'), '--verbose']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('a foreign Parquet file in place of a capture file: replay names the file and row group', async () => {
    const c = copy('foreign');
    const m = manifestOf(c);
    const f = m.files.find((x) => x.kind === 'trades')!;
    const path = join(c, f.path);
    const db = await DuckDBInstance.create(':memory:');
    const con = await db.connect();
    await con.run(`COPY (SELECT range AS x, 'hello' AS y FROM range(10)) TO '${path}' (FORMAT parquet)`);
    con.closeSync();
    db.closeSync();
    // Make the manifest agree on size and hash, so only the content is wrong.
    const size = readFileSync(path).byteLength;
    const files = m.files.map((x) => (x.path === f.path ? { ...x, bytes: size, sha256: sha256File(path) } : x));
    writeFileSync(join(c, 'manifest.json'), JSON.stringify({ ...m, files }));
    const r = mdcap(['replay', c, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /MDCAP_ERR_CAPTURE_CORRUPT: .*trades.*\.parquet, row group 0: expected a readable Parquet file of trades, found an error: no column \w+ \(not written by mdcap\?\)/,
    );
    const v = mdcap(['verify', c, '--json']);
    expect(v.status).toBe(2);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: false, readable: false, error: { code: 'MDCAP_ERR_CAPTURE_CORRUPT' } });
  });

  it('flipped bytes inside a Parquet file: verify reports the hash, replay the file', () => {
    const c = copy('flipped');
    const f = manifestOf(c).files.find((x) => x.kind === 'book_updates')!;
    const path = join(c, f.path);
    const bytes = readFileSync(path);
    for (let i = 200; i < 260; i++) bytes[i] = bytes[i]! ^ 0xff;
    writeFileSync(path, bytes);
    const v = mdcap(['verify', c, '--json']);
    expect(v.status).toBe(1);
    const report = JSON.parse(v.stdout) as { ok: boolean; readable: boolean; hashMismatches: string[] };
    expect(report).toMatchObject({ ok: false, readable: true, hashMismatches: [f.path] });
    const r = mdcap(['replay', c, '--json']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(
      /MDCAP_ERR_CAPTURE_CORRUPT: .*book_updates.*\.parquet: expected sha256 [0-9a-f]{64} as the manifest says, found [0-9a-f]{64}/,
    );
  });
});

describe('mdcap report', () => {
  it('prints VWAP, spreads, gaps and latency, as tables or JSON lines', () => {
    const text = ok(['report', cap]);
    for (const r of ['vwap:', 'spreads:', 'gaps:', 'latency:']) expect(text).toContain(r);
    const rows = ok(['report', cap, 'vwap,gaps', '--json'])
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    expect(rows.filter((r) => r['report'] === 'vwap').map((r) => r['symbol'])).toEqual(['AAPL', 'BTC-USD']);
    expect(rows.find((r) => r['report'] === 'vwap')!['vwap']).toMatch(/^\d+\.\d{8}$/);
    expect(rows.some((r) => r['report'] === 'gaps' && r['detail'] === 'between recording sessions 1 and 2')).toBe(true);
  });
});

describe('--help teaches', () => {
  it.each([
    'demo',
    'record',
    'replay',
    'bars',
    'query',
    'report',
    'inspect',
    'verify',
    'emulate',
    'serve',
    'import',
    'export',
    'dbn',
    'sim',
  ])('mdcap %s --help has usage and examples', (cmd) => {
    const out = ok([cmd, '--help']);
    expect(out).toMatch(new RegExp(`^mdcap ${cmd}`));
    expect(out).toMatch(/Examples:/);
  });

  it('mdcap --help lists the commands and the exit codes', () => {
    const out = ok(['--help']);
    for (const c of ['record', 'replay', 'bars', 'query', 'inspect', 'verify', 'import', 'demo']) expect(out).toContain(`mdcap ${c}`);
    expect(out).toMatch(/Exit codes: 0 ok; 1 problems found/);
  });

  it('progress stays off stderr when it is not a terminal', () => {
    const v = mdcap(['verify', cap]);
    expect(v.stderr).toBe('');
  });
});

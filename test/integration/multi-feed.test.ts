import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readManifest } from '@mdcap/capture';
import type { MarketEvent, Status } from '@mdcap/core';
import { CoinbaseEmulator, KrakenEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import type { EngineOptions } from '@mdcap/engine';
import { record, verifyCapture } from '@mdcap/pipeline';
import type { FeedSpec } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { collectCallbacks, datasetFile, describeWithDataset, hashLines, mdcap, mdcapAsync, REPO_ROOT, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Several feeds at once into one engine and one capture (`record({ feeds })`, `mdcap record
 * --feeds`): two venue emulators replaying real recordings (Kraken, Coinbase) and the simulated
 * venue. Each event keeps its venue, the capture verifies, a replay gives the live callback stream
 * exactly, and a venue that goes away is reconnected (then given up on) alone while the others
 * keep recording.
 */
const dir = tempDir('multi-feed');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const KRAKEN = ['XMR/USD', 'ETH/CHF'];
const COINBASE = ['SKL-USD', 'DASH-BTC'];
const DEMO = ['AAPL', 'BTC-USD'];
const VENUES = ['kraken', 'coinbase', 'demo'];
const OPTIONS: EngineOptions = { barGraceMs: 100 };
const INTERVALS = [1, 2];

function krakenLines(): ReturnType<typeof readRecording> {
  return ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'].flatMap((f) => readRecording(datasetFile('cryptofeed', f)));
}

function coinbaseLines(): ReturnType<typeof readRecording> {
  return readRecording(datasetFile('cryptofeed', 'COINBASE.ws.28.0'));
}

function specs(krakenUrl: string, coinbaseUrl: string): FeedSpec[] {
  return [
    { feed: 'kraken', symbols: KRAKEN, url: krakenUrl },
    { feed: 'coinbase', symbols: COINBASE, url: coinbaseUrl },
    { feed: 'demo', symbols: DEMO, rate: 500 },
  ];
}

/** Data events (no statuses) per venue. */
function counts(events: readonly MarketEvent[], from = 0): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = from; i < events.length; i++) {
    const e = events[i]!;
    if (e.type !== 'status') out[e.venue] = (out[e.venue] ?? 0) + 1;
  }
  return out;
}

describeWithDataset('cryptofeed', 'several feeds into one capture', () => {
  const root = join(dir, 'three');
  let live: string[] = [];

  it('record() takes Kraken, Coinbase and the demo venue into one capture that verifies clean', { timeout: 120_000 }, async () => {
    await using kraken = await KrakenEmulator.start({ lines: krakenLines(), speed: 10 });
    await using coinbase = await CoinbaseEmulator.start({ lines: coinbaseLines(), speed: 10 });
    const stop = new AbortController();
    const events: MarketEvent[] = [];
    let bars = 0;
    let log!: ReturnType<typeof collectCallbacks>;
    const summary = await record({
      feeds: specs(kraken.url, coinbase.url),
      out: root,
      flushMs: 200,
      rotateNs: 1_000_000_000n,
      engine: { ...OPTIONS, books: true },
      signal: stop.signal,
      onStart: (engine) => {
        engine.setBarInterval(...INTERVALS);
        log = collectCallbacks(engine);
        engine.onBar(() => void bars++);
        engine.onEvent((e) => {
          events.push(e);
          // Enough of every venue, and bars of both intervals closed on the way.
          if (events.length % 64 === 0 && bars >= 12 && VENUES.every((v) => (counts(events)[v] ?? 0) >= 200)) stop.abort();
        });
      },
    });
    expect(log.errors).toEqual([]);
    live = log.lines;
    expect(summary).toMatchObject({ feed: 'kraken+coinbase+demo', symbols: [...KRAKEN, ...COINBASE, ...DEMO], errors: 0, ringDrops: 0 });
    expect(summary.feeds!.map((f) => [f.venue, f.reconnects.losses])).toEqual([
      ['kraken', 0],
      ['coinbase', 0],
      ['demo', 0],
    ]);
    // Each event keeps its venue, and each venue only its own symbols.
    const symbolsOf: Record<string, string[]> = { kraken: KRAKEN, coinbase: COINBASE, demo: DEMO };
    for (const e of events) {
      expect(VENUES).toContain(e.venue);
      if (e.symbol !== '*') expect(symbolsOf[e.venue]).toContain(e.symbol);
    }
    const m = readManifest(root);
    expect(m.feed).toBe('kraken+coinbase+demo');
    expect(m.sequencing).toEqual({ kraken: 'contiguous', coinbase: 'monotonic-per-kind', demo: 'contiguous' });
    expect(new Set(m.files.map((f) => f.venue))).toEqual(new Set(VENUES));
    const report = await verifyCapture(root);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.rows).toBe(events.length);
    expect(report.checksums.verified).toBeGreaterThan(0); // Kraken's CRC32s
    expect(new Set(report.streams.map((s) => s.venue))).toEqual(new Set(['coinbase', 'demo'])); // Kraken v1 has no seq
  });

  it.each([['max'], ['10x']] as const)('a replay at %s gives the live callback stream exactly', { timeout: 60_000 }, async (speed) => {
    expect(live.length).toBeGreaterThan(1000);
    const provider = ReplayProvider.open(root, { speed: speed === 'max' ? 'max' : 10 });
    const engine = new RealtimeEngine(provider, OPTIONS);
    engine.setBarInterval(...INTERVALS);
    const log = collectCallbacks(engine);
    await engine.run([...KRAKEN, ...COINBASE, ...DEMO]);
    expect(log.errors).toEqual([]);
    const first = log.lines.findIndex((l, i) => l !== live[i]);
    expect(first === -1 ? null : { line: first, live: live[first], replay: log.lines[first] }).toBeNull();
    expect(log.lines.length).toBe(live.length);
    expect(hashLines(log.lines)).toBe(hashLines(live));
  });

  it('a venue that goes away is reconnected, then given up on, alone: the others keep recording', { timeout: 120_000 }, async () => {
    await using kraken = await KrakenEmulator.start({ lines: krakenLines(), speed: 10, loops: 3 });
    const coinbase = await CoinbaseEmulator.start({ lines: coinbaseLines(), speed: 10, loops: 3 });
    const out = join(dir, 'killed');
    const stop = new AbortController();
    const events: MarketEvent[] = [];
    let killedAt = -1;
    const kill = { closing: null as Promise<void> | null };
    const errors: string[] = [];
    const summary = await record({
      feeds: specs(kraken.url, coinbase.url),
      out,
      flushMs: 200,
      signal: stop.signal,
      engine: { reconnect: { delaysMs: [100], maxAttempts: 3, connectTimeoutMs: 5_000 } },
      onError: (e) => void errors.push(e.toString()),
      onStart: (engine) =>
        engine.onEvent((e) => {
          events.push(e);
          if (events.length % 32 !== 0) return;
          if (killedAt < 0 && (counts(events).coinbase ?? 0) >= 100) {
            killedAt = events.length;
            kill.closing = coinbase.close(); // the venue goes away mid-run
          }
          if (killedAt < 0) return;
          const gaveUp = events.some((x) => x.type === 'status' && x.venue === 'coinbase' && /^gave up/.test(x.detail));
          const after = counts(events, killedAt);
          if (gaveUp && (after.kraken ?? 0) >= 100 && (after.demo ?? 0) >= 100) stop.abort();
        }),
    });
    await kill.closing;
    const lost = events.filter((e): e is Status => e.type === 'status' && e.venue === 'coinbase' && e.kind === 'disconnected');
    expect(lost.map((s) => s.detail.replace(/:.*/, ''))).toEqual([
      'connection lost',
      'gave up reconnecting after 3 consecutive failed attempts; last',
    ]);
    // Nothing but coinbase lost its connection; the others recorded on after the kill.
    expect(events.filter((e) => e.type === 'status' && e.kind === 'disconnected' && e.venue !== 'coinbase')).toEqual([]);
    const after = counts(events, killedAt + 1);
    expect(after.kraken).toBeGreaterThanOrEqual(100);
    expect(after.demo).toBeGreaterThanOrEqual(100);
    expect(errors).toEqual([expect.stringMatching(/^MDCAP_ERR_RECONNECT_GAVE_UP: coinbase: expected a connection within 3 attempts/)]);
    expect(summary.errors).toBe(1);
    expect(summary.feeds!.map((f) => [f.name, f.state, f.reconnects])).toEqual([
      ['kraken', 'idle', { losses: 0, attempts: 0, succeeded: 0 }],
      ['coinbase', 'gave-up', { losses: 1, attempts: 3, succeeded: 0 }],
      ['demo', 'idle', { losses: 0, attempts: 0, succeeded: 0 }],
    ]);
    // The capture holds it all and says what was lost.
    const report = await verifyCapture(out);
    expect(report.rows).toBe(events.length);
    expect(report.gapsRecorded).toBe(2); // the loss, and giving up
    expect(report.gapsUnrecorded).toBe(0);
    expect(report.outOfOrder).toBe(0);
    expect(report.engineErrors).toEqual([]);
    expect(report.problems).toEqual(['2 recorded gap(s): gap and disconnect statuses, holes between recording sessions']);
  });
});

describeWithDataset('cryptofeed', 'mdcap record --feeds', () => {
  it('records three feeds from the command line; verify is clean; replay shows each venue', { timeout: 120_000 }, async () => {
    await using kraken = await KrakenEmulator.start({ lines: krakenLines(), speed: 10 });
    await using coinbase = await CoinbaseEmulator.start({ lines: coinbaseLines(), speed: 10 });
    const cap = join(dir, 'cli');
    const r = await mdcapAsync([
      'record',
      '--feeds',
      `kraken:${KRAKEN.join(',')}@${kraken.url}`,
      `coinbase:${COINBASE.join(',')}@${coinbase.url}`,
      'demo:AAPL',
      '--raw',
      '--rate',
      '500',
      '--out',
      cap,
      '--duration',
      '2s',
      '--json',
    ]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { feed: string; symbols: string[]; feeds: { venue: string }[] };
    expect(summary.feed).toBe('kraken+coinbase+demo');
    expect(summary.symbols).toEqual([...KRAKEN, ...COINBASE, 'AAPL']);
    const v = await mdcapAsync(['verify', cap, '--json']);
    expect(v.status, v.stdout).toBe(0);
    const report = JSON.parse(v.stdout) as { ok: boolean; rows: number };
    expect(report.ok).toBe(true);
    const replay = await mdcapAsync(['replay', cap, '--json', '--print', 'trades,quotes,book,status', '--bars', '1,2']);
    expect(replay.status, replay.stderr).toBe(0);
    const venues = new Set(
      replay.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { venue: string }).venue),
    );
    expect(venues).toEqual(new Set(VENUES));
    // The raw tap: one file per venue with wire frames (the simulator has none).
    for (const venue of ['kraken', 'coinbase']) {
      expect(readFileSync(join(cap, 'raw', `${venue}.session-1.log`), 'utf8')).toMatch(/^\d+\.\d{9}: \{/m);
    }
  });

  it('examples/record-feeds.mjs records an emulator and the demo venue from a plain script', { timeout: 120_000 }, async () => {
    await using kraken = await KrakenEmulator.start({ lines: krakenLines(), speed: 10 });
    const out = join(dir, 'example');
    const script = join(REPO_ROOT, 'examples', 'record-feeds.mjs');
    const { stdout } = await promisify(execFile)(process.execPath, [script, out, `kraken:XMR/USD@${kraken.url}`, 'demo:AAPL']);
    expect(stdout).toMatch(/^kraken XMR\/USD: [1-9]\d* events\ndemo AAPL: [1-9]\d* events\n\d+ rows of kraken\+demo; clean\n$/);
  });

  it('--config reads the feeds from a JSON file', { timeout: 60_000 }, () => {
    const file = join(dir, 'feeds.json');
    writeFileSync(file, JSON.stringify({ feeds: [{ feed: 'demo', symbols: ['AAPL'], seed: 4 }] }));
    const cap = join(dir, 'config');
    const r = mdcap(['record', '--config', file, '--out', cap, '--duration', '500ms', '--json']);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      feed: 'demo',
      symbols: ['AAPL'],
      feeds: [{ name: 'demo', venue: 'demo', symbols: ['AAPL'] }],
    });
  });
});

describe('mdcap record --feeds: bad input, one line with its code', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'an unknown feed',
      ['--feeds', 'nope:X'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected a feed of demo, kraken, .*, found "nope" in "nope:X"/,
    ],
    [
      'a feed without the symbols it needs',
      ['--feeds', 'kraken', 'demo'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected the kraken symbols to record \(kraken:SYM1,SYM2, as the venue names them\), found none in "kraken"/,
    ],
    ['empty symbols', ['--feeds', 'coinbase:'], /MDCAP_ERR_INVALID_OPTION: --feeds: expected symbols after "coinbase:"/],
    [
      'a malformed item',
      ['--feeds', ':XBT/USD'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected NAME, NAME:SYM1,SYM2 or NAME:SYM1,SYM2@URL .*found ":XBT\/USD"/,
    ],
    [
      'a feed given twice',
      ['--feeds', 'kraken:XBT/USD', 'kraken:ETH/USD'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected each feed once, found kraken twice \(list all of its symbols in one item: kraken:A,B\)/,
    ],
    [
      'a URL of the wrong kind',
      ['--feeds', 'kraken:XBT/USD@http://127.0.0.1:9000'],
      /MDCAP_ERR_INVALID_OPTION: --feeds kraken: expected a ws:\/\/ or wss:\/\/ URL such as ws:\/\/127\.0\.0\.1:9000, found "http:\/\/127\.0\.0\.1:9000"/,
    ],
    [
      'a URL for the simulator',
      ['--feeds', 'demo@ws://127.0.0.1:9000'],
      /MDCAP_ERR_INVALID_OPTION: --feeds demo: expected a network feed for @URL, found demo/,
    ],
    [
      'both forms at once',
      ['--feeds', 'demo', '--symbols', 'AAPL'],
      /MDCAP_ERR_INVALID_OPTION: --feeds: expected the feeds, their symbols and URLs in its items alone, found --symbols too/,
    ],
    [
      'handler threads with several feeds',
      ['--feeds', 'kraken:XBT/USD', 'demo', '--handler-thread'],
      /MDCAP_ERR_INVALID_OPTION: handlerThread: expected venue handlers on the main thread with several feeds/,
    ],
    [
      '--raw with no feed that has frames',
      ['--feeds', 'demo', '--raw'],
      /MDCAP_ERR_INVALID_OPTION: raw: expected a venue feed with wire frames, found demo/,
    ],
    [
      'every feed unreachable',
      ['--feeds', 'kraken:XBT/USD@ws://127.0.0.1:1', 'coinbase:BTC-USD@ws://127.0.0.1:1'],
      /MDCAP_ERR_CONNECT_FAILED: kraken\+coinbase: expected at least one feed to connect, found none: kraken: .*ECONNREFUSED.*; coinbase: .*ECONNREFUSED/,
    ],
    [
      'a config file that is not JSON',
      ['--config', fileURLToPath(import.meta.url)],
      /MDCAP_ERR_INVALID_OPTION: --config .*: expected JSON \(YAML is not read\)/,
    ],
  ];
  it.each(cases)('%s', (_name, args, message) => {
    const r = mdcap(['record', ...args, '--out', join(dir, 'bad'), '--duration', '1s']);
    expect(r.status, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});

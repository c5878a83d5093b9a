import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest } from '@mdcap/capture';
import { MdcapError } from '@mdcap/core';
import type { MarketEvent, Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { openFeeds, record, registerFeed, verifyCapture } from '@mdcap/pipeline';
import type { FeedSpec } from '@mdcap/pipeline';
import { SimProvider } from '@mdcap/sim';
import { tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Several feeds into one engine (`openFeeds`): symbols that two venues share stay apart, a feed
 * that drops is reconnected alone (or given up on) while the others go on, and bad input is
 * refused with its code. The venues here are simulated (a second one registered under its own
 * venue name); test/integration/multi-feed.test.ts runs venue emulators and the CLI.
 */
const dir = tempDir('feed-manager');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Faults of the `flaky` feed for the test that runs it. */
let flakyFaults: { disconnectAfter: number; failReconnects: number } = { disconnectAfter: 300, failReconnects: 1 };

// A second simulated venue: same symbols as demo (AAPL, MSFT, BTC-USD), another market.
registerFeed({
  name: 'demo-b',
  describe: 'a second simulated venue (tests)',
  needsSymbols: false,
  defaultSymbols: ['AAPL', 'MSFT', 'BTC-USD'],
  rawFrames: false,
  urlSchemes: [],
  open: (spec, clock) => new SimProvider({ venue: 'demob', seed: spec.seed ?? 7, clock, packetsPerSecond: spec.rate ?? 1000 }),
});
// A simulated venue that drops its connection after some packets, and fails reconnects.
registerFeed({
  name: 'flaky',
  describe: 'a simulated venue that drops (tests)',
  needsSymbols: false,
  defaultSymbols: ['MSFT'],
  rawFrames: false,
  urlSchemes: [],
  open: (spec, clock) => new SimProvider({ venue: 'flaky', seed: 3, clock, packetsPerSecond: spec.rate ?? 1000, faults: flakyFaults }),
});

/** Waits for the first event that `pred` holds for, and returns its index. */
async function waitForEvent(events: readonly MarketEvent[], pred: (e: MarketEvent) => boolean, what: string): Promise<number> {
  const found = await waitFor(
    () => {
      const i = events.findIndex(pred);
      return i >= 0 ? { i } : null;
    },
    { what },
  );
  return found.i;
}

function byVenue(events: readonly MarketEvent[], venue: string, after = 0): number {
  let n = 0;
  for (let i = after; i < events.length; i++) if (events[i]!.venue === venue && events[i]!.type !== 'status') n++;
  return n;
}

describe('openFeeds: symbols of two venues stay apart', () => {
  it('two books and two bar series for BTC-USD, one per venue', async () => {
    await using feeds = openFeeds([
      { feed: 'demo', symbols: ['BTC-USD', 'AAPL'], rate: 1500 },
      { feed: 'demo-b', symbols: ['BTC-USD'], rate: 1500 },
    ]);
    expect(feeds.venue).toBe('demo+demob');
    expect(feeds.symbols).toEqual(['BTC-USD', 'AAPL']);
    expect(feeds.sequencing).toEqual({ demo: 'contiguous', demob: 'contiguous' });
    await using engine = new RealtimeEngine(feeds.provider, { books: true });
    engine.setBarInterval(1);
    const bars = new Set<string>();
    const errors: MdcapError[] = [];
    engine.onBar((b) => void bars.add(`${b.venue}:${b.symbol}`));
    engine.onError((e) => void errors.push(e));
    await engine.start(feeds.symbols);
    await waitFor(() => bars.has('demo:BTC-USD') && bars.has('demob:BTC-USD'), {
      what: 'a 1 s bar of BTC-USD from each venue',
      state: () => [...bars].join(', '),
    });
    const a = engine.book('BTC-USD', 'demo');
    const b = engine.book('BTC-USD', 'demob');
    expect(a).not.toBe(b);
    expect(a.venue).toBe('demo');
    expect(b.venue).toBe('demob');
    expect(a.bestBidPrice()).not.toBeNull();
    expect(b.bestBidPrice()).not.toBeNull();
    // Two markets from different seeds: the books differ.
    expect(`${a.bestBidPrice()}/${a.bestAskPrice()}/${a.bestBidSize()}`).not.toBe(
      `${b.bestBidPrice()}/${b.bestAskPrice()}/${b.bestBidSize()}`,
    );
    expect(() => engine.book('BTC-USD')).toThrow(/BTC-USD has books on (demo and demob|demob and demo); expected a venue argument/);
    expect(bars.has('demob:AAPL')).toBe(false); // demo-b was not asked for AAPL
    expect(errors).toEqual([]);
  });

  it('record() keeps them apart in the capture, which verifies clean', async () => {
    const out = join(dir, 'collide');
    const stop = new AbortController();
    const seen = { demo: 0, demob: 0 };
    const summary = await record({
      feeds: [
        { feed: 'demo', symbols: ['BTC-USD', 'AAPL'], rate: 2000 },
        { feed: 'demo-b', symbols: ['BTC-USD'], rate: 2000 },
      ],
      out,
      flushMs: 100,
      signal: stop.signal,
      engine: { books: true },
      onStart: (engine) =>
        engine.onTrade((t) => {
          seen[t.venue as 'demo' | 'demob']++;
          if (seen.demo >= 50 && seen.demob >= 50) stop.abort();
        }),
    });
    expect(summary).toMatchObject({ feed: 'demo+demob', symbols: ['BTC-USD', 'AAPL'], errors: 0, ringDrops: 0 });
    expect(summary.feeds!.map((f) => [f.name, f.venue, f.symbols])).toEqual([
      ['demo', 'demo', ['BTC-USD', 'AAPL']],
      ['demo-b', 'demob', ['BTC-USD']],
    ]);
    const m = readManifest(out);
    expect(m.feed).toBe('demo+demob');
    expect(m.sequencing).toEqual({ demo: 'contiguous', demob: 'contiguous' });
    const report = await verifyCapture(out);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
    const streams = report.streams.map((s) => `${s.venue}:${s.symbol}`).sort();
    expect(streams).toEqual(['demo:AAPL', 'demo:BTC-USD', 'demob:BTC-USD']);
  });
});

describe('openFeeds: each feed reconnects on its own', () => {
  it('a feed that drops is reconnected alone, and the others never see it', async () => {
    flakyFaults = { disconnectAfter: 300, failReconnects: 1 };
    await using feeds = openFeeds(
      [
        { feed: 'demo', symbols: ['AAPL'], rate: 1500 },
        { feed: 'flaky', symbols: ['MSFT'], rate: 1500 },
      ],
      { reconnect: { delaysMs: [50], maxAttempts: 5 } },
    );
    await using engine = new RealtimeEngine(feeds.provider);
    const events: MarketEvent[] = [];
    const errors: MdcapError[] = [];
    engine.onEvent((e) => void events.push(e));
    engine.onError((e) => void errors.push(e));
    await engine.start(feeds.symbols);
    const reconnected = await waitForEvent(events, (e) => e.type === 'status' && e.kind === 'reconnected', 'the flaky feed reconnected');
    await waitFor(() => byVenue(events, 'flaky', reconnected) >= 20 && byVenue(events, 'demo', reconnected) >= 20, {
      what: 'events of both venues after the reconnect',
    });
    // The simulated venue drops again after each 300 packets: the first cycle is what we look at.
    const statuses = events.filter((e): e is Status => e.type === 'status' && (e.kind === 'disconnected' || e.kind === 'reconnected'));
    expect(statuses.every((s) => s.venue === 'flaky' && s.symbol === '*')).toBe(true);
    expect(statuses.slice(0, 2).map((s) => s.kind)).toEqual(['disconnected', 'reconnected']);
    expect(statuses[0]!.detail).toMatch(/^connection lost: /);
    expect(statuses[1]!.detail).toBe('reconnected after 2 attempts'); // the first one failed
    expect(statuses[0]!.tsRecv).toBe(statuses[0]!.tsEvent);
    // The demo venue went on while flaky was down.
    const down = events.indexOf(statuses[0]!);
    expect(byVenue(events.slice(0, reconnected), 'demo', down)).toBeGreaterThan(0);
    expect(engine.status).toBe('running');
    expect(engine.stats().reconnects.attempts).toBe(0); // the engine itself never reconnected
    const [demo, flaky] = feeds.feeds;
    expect(demo!.reconnects).toEqual({ losses: 0, attempts: 0, succeeded: 0 });
    expect(flaky!.reconnects.losses).toBeGreaterThanOrEqual(1);
    expect(flaky!.reconnects.succeeded).toBeGreaterThanOrEqual(1);
    expect(errors).toEqual([]);
  });

  it('a feed that cannot come back is given up on; the others go on, and the run ends with the last', async () => {
    flakyFaults = { disconnectAfter: 200, failReconnects: 1_000 };
    const errors: MdcapError[] = [];
    await using feeds = openFeeds(
      [
        { feed: 'demo', symbols: ['AAPL'], rate: 1500 },
        { feed: 'flaky', symbols: ['MSFT'], rate: 1500 },
      ],
      { reconnect: { delaysMs: [20], maxAttempts: 3 }, onError: (e) => void errors.push(e) },
    );
    await using engine = new RealtimeEngine(feeds.provider);
    const events: MarketEvent[] = [];
    engine.onEvent((e) => void events.push(e));
    await engine.start(feeds.symbols);
    const gaveUp = await waitForEvent(events, (e) => e.type === 'status' && /^gave up/.test(e.detail), 'the flaky feed given up');
    await waitFor(() => byVenue(events, 'demo', gaveUp) >= 20, { what: 'demo events after flaky was given up' });
    const st = events[gaveUp] as Status;
    expect(st).toMatchObject({ venue: 'flaky', kind: 'disconnected', symbol: '*' });
    expect(st.detail).toMatch(
      /^gave up reconnecting after 3 consecutive failed attempts; last: MDCAP_ERR_CONNECT_FAILED: flaky: simulated reconnect failure 3; the other feeds go on$/,
    );
    expect(errors.map((e) => e.code)).toEqual(['MDCAP_ERR_RECONNECT_GAVE_UP']);
    expect(feeds.feeds.map((f) => f.state)).toEqual(['up', 'gave-up']);
    expect(engine.status).toBe('running');
  });

  it('connect fails only when every feed fails, naming each; one that fails is retried while the others run', async () => {
    {
      await using feeds = openFeeds([
        { feed: 'kraken', symbols: ['XBT/USD'], url: 'ws://127.0.0.1:1' },
        { feed: 'coinbase', symbols: ['BTC-USD'], url: 'ws://127.0.0.1:1' },
      ]);
      const engine = new RealtimeEngine(feeds.provider);
      const error = await engine.start(feeds.symbols).then(
        () => null,
        (e: unknown) => e as MdcapError,
      );
      expect(error?.code).toBe('MDCAP_ERR_CONNECT_FAILED');
      expect(error?.message).toMatch(
        /^kraken\+coinbase: expected at least one feed to connect, found none: kraken: MDCAP_ERR_CONNECT_FAILED: kraken: expected a WebSocket at ws:\/\/127\.0\.0\.1:1, found connect ECONNREFUSED.*; coinbase: MDCAP_ERR_CONNECT_FAILED: coinbase: /,
      );
    }
    await using feeds = openFeeds(
      [
        { feed: 'kraken', symbols: ['XBT/USD'], url: 'ws://127.0.0.1:1' },
        { feed: 'demo', symbols: ['AAPL'] },
      ],
      { reconnect: { delaysMs: [20], maxAttempts: 2 } },
    );
    await using engine = new RealtimeEngine(feeds.provider);
    const events: MarketEvent[] = [];
    engine.onEvent((e) => void events.push(e));
    await engine.start(feeds.symbols);
    await waitFor(() => events.some((e) => e.type === 'status' && /^gave up/.test(e.detail)), { what: 'kraken given up' });
    const kraken = events.filter((e): e is Status => e.venue === 'kraken');
    expect(kraken.map((s) => s.detail.replace(/:.*/, ''))).toEqual([
      'could not connect',
      'gave up reconnecting after 2 consecutive failed attempts; last',
    ]);
    expect(byVenue(events, 'demo')).toBeGreaterThan(0);
  });
});

describe('openFeeds: bad input', () => {
  const cases: [string, FeedSpec[], RegExp][] = [
    ['an unknown feed', [{ feed: 'nope', symbols: ['X'] }], /feed: expected one of demo, kraken, .*, found "nope"/],
    ['a feed without the symbols it needs', [{ feed: 'kraken', symbols: [] }], /feeds: expected the kraken symbols to record/],
    [
      'a feed given twice',
      [
        { feed: 'demo', symbols: ['AAPL'] },
        { feed: 'demo', symbols: ['MSFT'] },
      ],
      /feeds: expected each feed once, found demo twice/,
    ],
    [
      'a handler thread',
      [
        { feed: 'kraken', symbols: ['XBT/USD'], handlerThread: true },
        { feed: 'demo', symbols: ['AAPL'] },
      ],
      /handlerThread: expected venue handlers on the main thread with several feeds, .*a handler thread's ring can deliver an event stamped before one another feed has already delivered/,
    ],
    ['no feeds', [], /feeds: expected one or more feeds, found/],
  ];
  it.each(cases)('%s', (_name, specs, message) => {
    let error: unknown = null;
    try {
      openFeeds(specs);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MdcapError);
    expect((error as MdcapError).code).toBe('MDCAP_ERR_INVALID_OPTION');
    expect((error as MdcapError).message).toMatch(message);
  });

  it('record() takes feed or feeds, not both', async () => {
    await expect(
      record({ feed: { feed: 'demo', symbols: ['AAPL'] }, feeds: [{ feed: 'demo', symbols: ['AAPL'] }], out: join(dir, 'x') }),
    ).rejects.toThrow(/record: expected either feed or feeds, found both/);
  });
});

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatDecimal, isoToNs, LiveClock, MdcapError, nsToIso, parseDecimal } from '@mdcap/core';
import type { MarketEvent, Quote, Status, Trade } from '@mdcap/core';
import { DbnReader } from '@mdcap/dbn';
import { readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { BloombergFeed, BloombergSession, checkBinding, datetimeToNs, floatToMantissa, loadBlpapi } from '@mdcap/feeds';
import { datasetFile, datasetStatus, describeWithDataset, mdcapAsync, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

/**
 * The Bloomberg feed: its BLPAPI loop on a worker thread (the built package: the test command
 * builds first), against a stand-in binding (fixtures/blpapi-standin.mjs) that replays recorded
 * ticks, as BLPAPI would deliver them (prices as Float64, times as Datetimes): Coinbase matches
 * and tickers (cryptofeed COINBASE.ws.28.0) and Nasdaq QQQ trades and top of book with ns times
 * (databento-python EQUS.MINI).
 */
const STANDIN = fileURLToPath(new URL('./fixtures/blpapi-standin.mjs', import.meta.url));
const dir = tempDir('bloomberg');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let engine: RealtimeEngine | null = null;
afterEach(async () => {
  await engine?.stop();
  engine = null;
});

const PRICE_SCALE = 9;
const SIZE_SCALE = 8;

interface Tick {
  readonly security: string;
  readonly time?: string;
  readonly fields: Record<string, unknown>;
}
/** What the engine should receive for a tick: a trade or quote without its receive time (null tsEvent: none sent). */
type Expected =
  | { type: 'trade'; symbol: string; price: bigint; size: bigint; tsEvent: bigint | null }
  | {
      type: 'quote';
      symbol: string;
      bidPrice: bigint | null;
      bidSize: bigint;
      askPrice: bigint | null;
      askSize: bigint;
      tsEvent: bigint | null;
    };

const dt = (iso: string): { $datetime: string } => ({ $datetime: iso });

/** Coinbase matches (trades) and tickers (quotes) as Bloomberg ticks; `last_match`es as initial paints (no event). */
function coinbaseTicks(): { ticks: Tick[]; expected: (Expected | null)[] } {
  const ticks: Tick[] = [];
  const expected: (Expected | null)[] = [];
  for (const line of readRecording(datasetFile('cryptofeed', 'COINBASE.ws.28.0'))) {
    if (line.kind !== 'received') continue;
    const m = JSON.parse(line.text) as Record<string, string>;
    const security = `${m['product_id']} Curncy`;
    if (m['type'] === 'match' || m['type'] === 'last_match') {
      const paint = m['type'] === 'last_match';
      const time = m['time']!;
      ticks.push({
        security,
        time,
        fields: {
          MKTDATA_EVENT_TYPE: paint ? 'SUMMARY' : 'TRADE',
          MKTDATA_EVENT_SUBTYPE: paint ? 'INITPAINT' : 'NEW',
          LAST_PRICE: Number(m['price']), // a Float64, as BLPAPI sends it
          SIZE_LAST_TRADE: Number(m['size']),
          EVT_TRADE_TIME_RT: dt(time),
        },
      });
      expected.push(
        paint
          ? null
          : {
              type: 'trade',
              symbol: security,
              price: parseDecimal(m['price']!, PRICE_SCALE), // from the venue's own text
              size: parseDecimal(m['size']!, SIZE_SCALE),
              tsEvent: isoToNs(time),
            },
      );
    } else if (m['type'] === 'ticker') {
      const time = m['time'];
      ticks.push({
        security,
        ...(time === undefined ? {} : { time }),
        fields: {
          MKTDATA_EVENT_TYPE: 'QUOTE',
          MKTDATA_EVENT_SUBTYPE: 'PAIRED',
          BID: Number(m['best_bid']),
          ASK: Number(m['best_ask']),
          ...(time === undefined ? {} : { BID_UPDATE_STAMP_RT: dt(time) }),
        },
      });
      expected.push({
        type: 'quote',
        symbol: security,
        bidPrice: parseDecimal(m['best_bid']!, PRICE_SCALE),
        bidSize: 0n, // the 2021 feed sends no sizes: unknown
        askPrice: parseDecimal(m['best_ask']!, PRICE_SCALE),
        askSize: 0n,
        tsEvent: time === undefined ? null : isoToNs(time),
      });
    }
  }
  return { ticks, expected };
}

const UNDEF = 0x7fff_ffff_ffff_ffffn;

/** QQQ trades and top of book (DBN, prices at 1e-9, ns times) as Bloomberg ticks with only the fields present. */
function qqqTicks(): { ticks: Tick[]; expected: (Expected | null)[] } {
  const security = 'QQQ US Equity';
  const ticks: Tick[] = [];
  const expected: (Expected | null)[] = [];
  const read = (schema: string): Record<string, unknown>[] =>
    new DbnReader(readFileSync(datasetFile('databento-python', `EQUS.MINI/test_data.${schema}.dbn.zst`))).all();
  const float = (px: bigint): number => Number(formatDecimal(px, 9));
  for (const r of read('trades')) {
    const time = nsToIso(r['ts_event'] as bigint);
    ticks.push({
      security,
      time,
      fields: {
        MKTDATA_EVENT_TYPE: 'TRADE',
        LAST_PRICE: float(r['price'] as bigint),
        SIZE_LAST_TRADE: r['size'],
        EVT_TRADE_TIME_RT: dt(time),
      },
    });
    expected.push({
      type: 'trade',
      symbol: security,
      price: r['price'] as bigint,
      size: BigInt(r['size'] as number) * 10n ** BigInt(SIZE_SCALE),
      tsEvent: r['ts_event'] as bigint,
    });
  }
  for (const r of read('mbp-1')) {
    const bid = r['bid_px_00'] as bigint;
    const ask = r['ask_px_00'] as bigint;
    if (bid === UNDEF && ask === UNDEF) continue; // an empty book: nothing to quote
    const time = nsToIso(r['ts_event'] as bigint);
    const fields: Record<string, unknown> = { MKTDATA_EVENT_TYPE: 'QUOTE', BID_UPDATE_STAMP_RT: dt(time) };
    if (bid !== UNDEF) Object.assign(fields, { BID: float(bid), BID_SIZE: r['bid_sz_00'] });
    if (ask !== UNDEF) Object.assign(fields, { ASK: float(ask), ASK_SIZE: r['ask_sz_00'] });
    ticks.push({ security, time, fields });
    const size = (n: unknown): bigint => BigInt(n as number) * 10n ** BigInt(SIZE_SCALE);
    expected.push({
      type: 'quote',
      symbol: security,
      bidPrice: bid === UNDEF ? null : bid,
      bidSize: bid === UNDEF ? 0n : size(r['bid_sz_00']),
      askPrice: ask === UNDEF ? null : ask,
      askSize: ask === UNDEF ? 0n : size(r['ask_sz_00']),
      tsEvent: r['ts_event'] as bigint,
    });
  }
  return { ticks, expected };
}

function scenario(name: string, faults: Record<string, number> = {}): { path: string; ticks: Tick[]; expected: (Expected | null)[] } {
  const a = coinbaseTicks();
  const b = datasetStatus('databento-python').available ? qqqTicks() : { ticks: [], expected: [] };
  const ticks = [...a.ticks, ...b.ticks];
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify({ speed: 'max', ticks, faults }));
  return { path, ticks, expected: [...a.expected, ...b.expected] };
}

/** An event as the tick it came from would predict it (tsEvent null where the tick had no time and the event has tsRecv). */
function observed(e: Trade | Quote): Expected {
  const tsEvent = e.tsEvent === e.tsRecv ? null : e.tsEvent;
  expect([e.priceScale, e.sizeScale]).toEqual([PRICE_SCALE, SIZE_SCALE]);
  if (e.type === 'quote') {
    return { type: 'quote', symbol: e.symbol, bidPrice: e.bidPrice, bidSize: e.bidSize, askPrice: e.askPrice, askSize: e.askSize, tsEvent };
  }
  expect(e.side).toBe('none');
  return { type: 'trade', symbol: e.symbol, price: e.price, size: e.size, tsEvent };
}

function run(
  path: string,
  symbols: readonly string[],
): { feed: BloombergFeed; data: (Trade | Quote)[]; statuses: Status[]; started: Promise<void> } {
  const feed = new BloombergFeed({ module: STANDIN, host: path, pollMs: 20 });
  const e = new RealtimeEngine(feed, { reconnect: { delaysMs: [50] } });
  engine = e;
  const data: (Trade | Quote)[] = [];
  const statuses: Status[] = [];
  e.onTrade((t) => data.push(t));
  e.onQuote((q) => data.push(q));
  e.onStatus((s) => statuses.push(s));
  return { feed, data, statuses, started: e.start(symbols) };
}

const securities = (ticks: readonly Tick[]): string[] => [...new Set(ticks.map((t) => t.security))];
const present = <T>(x: T | null): x is T => x !== null;

describe('Bloomberg values', () => {
  it('turns BLPAPI floats into exact decimals through their shortest text, and refuses what does not fit', () => {
    expect(floatToMantissa(14.8024, 4)).toBe(148024n);
    expect(floatToMantissa(0.00002658, 9)).toBe(26580n);
    expect(floatToMantissa(307.94, 9)).toBe(307_940_000_000n);
    expect(floatToMantissa(1e-7, 9)).toBe(100n); // String(1e-7) is "1e-7"
    expect(floatToMantissa(99.796875, 6)).toBe(99_796_875n); // a bond price in 64ths
    expect(() => floatToMantissa(0.1 + 0.2, 9)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_PRECISION' }));
    expect(() => floatToMantissa(Number.NaN, 9)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_SYNTAX' }));
    expect(() => floatToMantissa(1e12, 9)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_DECIMAL_RANGE' }));
  });

  it('reads Datetimes to the nanosecond, and puts a time of day on the date of its receive time', () => {
    const at = (y: number, mo: number, d: number, h: number, mi: number, s: number, ns: number, dated = true) => ({
      year: () => y,
      month: () => mo,
      day: () => d,
      hours: () => h,
      minutes: () => mi,
      seconds: () => s,
      nanoseconds: () => ns,
      hasDate: () => dated,
    });
    expect(datetimeToNs(at(2023, 3, 28, 11, 8, 14, 561_741_113), 0n)).toBe(1_680_001_694_561_741_113n);
    const recv = isoToNs('2023-03-28T00:00:01Z');
    expect(datetimeToNs(at(0, 0, 0, 23, 59, 59, 5, false), recv)).toBe(isoToNs('2023-03-27T23:59:59.000000005Z'));
    expect(datetimeToNs(at(0, 0, 0, 0, 0, 0, 0, false), recv)).toBe(isoToNs('2023-03-28T00:00:00Z'));
  });
});

describe('the BLPAPI binding', () => {
  it('absent: a clear error naming the optional dependency', async () => {
    const err = await loadBlpapi('blpapi').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MdcapError);
    expect((err as MdcapError).code).toBe('MDCAP_ERR_OPTIONAL_DEPENDENCY');
    expect((err as MdcapError).message).toMatch(
      /^bloomberg: expected the BLPAPI binding "blpapi" to be importable, found it is not installed \(it is an optional dependency/,
    );
    const missing = await loadBlpapi(join(dir, 'nope.mjs')).catch((e: unknown) => e);
    expect((missing as MdcapError).code).toBe('MDCAP_ERR_OPTIONAL_DEPENDENCY');
  });

  it('an event-emitter binding (no nextEvent) is refused, saying what it lacks', () => {
    class Session {
      start(): void {}
    }
    expect(() => checkBinding({ Session }, 'blpapi')).toThrow(
      'bloomberg: expected "blpapi" to be a BLPAPI binding with the synchronous Session API (Session, SessionOptions, SubscriptionList, CorrelationId, Event; Session.nextEvent), found a module that exports Session',
    );
  });

  it('absent, through the engine: start fails with that error, nothing is left running', async () => {
    const feed = new BloombergFeed({ module: join(dir, 'no-such-binding.mjs') });
    const e = new RealtimeEngine(feed);
    const err = await e.start(['IBM US Equity']).catch((x: unknown) => x);
    expect((err as MdcapError).code).toBe('MDCAP_ERR_OPTIONAL_DEPENDENCY');
    expect(e.stats().state).toBe('stopped');
  });
});

describe('a Bloomberg session on this thread (the stand-in, driven by hand)', () => {
  it('a value that does not fit its scale: the tick is skipped with a gap status; one-sided quotes carry the other side', async () => {
    const path = join(dir, 'refused.json');
    const ticks: Tick[] = [
      { security: 'X Curncy', fields: { MKTDATA_EVENT_TYPE: 'TRADE', LAST_PRICE: 0.1 + 0.2, SIZE_LAST_TRADE: 1 } },
      { security: 'X Curncy', fields: { MKTDATA_EVENT_TYPE: 'TRADE', LAST_PRICE: 0.3, SIZE_LAST_TRADE: 2.5 } },
      { security: 'X Curncy', fields: { MKTDATA_EVENT_TYPE: 'QUOTE', BID: 0.29, BID_SIZE: 10 } },
      { security: 'X Curncy', fields: { MKTDATA_EVENT_TYPE: 'QUOTE', ASK: 0.31, ASK_SIZE: 7 } },
      { security: 'X Curncy', fields: { MKTDATA_EVENT_TYPE: 'QUOTE', BID: 0.28 } },
    ];
    writeFileSync(path, JSON.stringify({ speed: 'max', ticks }));
    const blp = await loadBlpapi(STANDIN);
    const clock = new LiveClock();
    const events: MarketEvent[] = [];
    const session = new BloombergSession(blp, { host: path, priceScale: 2, sizeScale: 1 }, clock);
    session.connect({ push: (e) => events.push(e), lost: () => undefined, end: () => undefined });
    session.subscribe('X Curncy', ['trade', 'quote']);
    session.ready();
    for (let i = 0; i < 20 && session.stats.messages < 10; i++) session.pump(0);
    session.close();
    const brief = events.map((e) =>
      e.type === 'trade'
        ? `trade ${e.price}/${e.size}`
        : e.type === 'quote'
          ? `quote ${e.bidPrice}x${e.bidSize} ${e.askPrice}x${e.askSize}`
          : e.type === 'status'
            ? `${e.kind} ${e.symbol} ${e.detail}`
            : e.type,
    );
    expect(brief).toEqual([
      `connected * bloomberg: session started (${path}:8194)`,
      'gap X Curncy bloomberg: LAST_PRICE 0.30000000000000004 is not an exact decimal at scale 2 (MDCAP_ERR_DECIMAL_PRECISION); tick skipped',
      'trade 30/25',
      'quote 29x100 nullx0',
      'quote 29x100 31x70',
      'quote 28x0 31x70', // the bid moved without a size: unknown
    ]);
    expect(session.stats.refused).toBe(1);
  });
});

describeWithDataset('cryptofeed', 'Bloomberg feed against the stand-in binding', () => {
  it('every recorded tick reaches the engine as the exact trade or quote', async () => {
    const s = scenario('all');
    const expected = s.expected.filter(present);
    const r = run(s.path, securities(s.ticks));
    await r.started;
    await waitFor(() => r.data.length >= expected.length, { what: 'every tick', state: () => `${r.data.length} of ${expected.length}` });
    expect(r.data.map(observed)).toEqual(expected);
    expect(r.data.filter((e) => e.type === 'trade').length).toBeGreaterThan(90);
    expect(r.statuses.map((x) => `${x.kind} ${x.symbol} ${x.detail}`)).toEqual([`connected * bloomberg: session started (${s.path}:8194)`]);
    await waitFor(() => r.feed.stats.trades + r.feed.stats.quotes === expected.length, { what: 'the handler counters' });
    expect(r.feed.stats).toMatchObject({ sessions: 1, refused: 0, subscriptionFailures: 0 });
  });

  it('a SubscriptionFailure for one security: its error and a gap status, the others stream on', async () => {
    const s = scenario('unknown');
    const expected = s.expected.filter(present);
    const r = run(s.path, ['NOPE US Equity', ...securities(s.ticks)]);
    await r.started;
    await waitFor(() => r.data.length >= expected.length, { what: 'every tick', state: () => `${r.data.length} of ${expected.length}` });
    expect(r.data.map(observed)).toEqual(expected);
    const gap = r.statuses.find((x) => x.kind === 'gap');
    expect(gap).toMatchObject({
      symbol: 'NOPE US Equity',
      detail: 'bloomberg: SubscriptionFailure for NOPE US Equity: Invalid security, rcode = -11: NOPE US Equity (BAD_SEC)',
    });
    await waitFor(() => r.feed.subscriptionErrors().get('NOPE US Equity'), { what: 'the subscription error' });
    expect(r.feed.subscriptionErrors().get('NOPE US Equity')).toMatchObject({ code: 'MDCAP_ERR_UNKNOWN_SYMBOL' });
    expect([...r.feed.subscriptionErrors().keys()]).toEqual(['NOPE US Equity']);
  });

  it('SessionTerminated: disconnected, a new Session, reconnected, and the stream goes on without loss or repeat', async () => {
    const s = scenario('terminate', { terminateAfter: 60 });
    const expected = s.expected.filter(present);
    const r = run(s.path, securities(s.ticks));
    await r.started;
    await waitFor(() => r.data.length >= expected.length, { what: 'every tick', state: () => `${r.data.length} of ${expected.length}` });
    expect(r.data.map(observed)).toEqual(expected);
    const kinds = r.statuses.map((x) => x.kind);
    expect(kinds).toEqual(['connected', 'disconnected', 'connected', 'reconnected']);
    expect(r.statuses[1]!.detail).toContain('SessionTerminated: Session terminated by the stand-in (CANCELED)');
    expect(engine!.stats().reconnects).toMatchObject({ attempts: 1, succeeded: 1 });
    await waitFor(() => r.feed.stats.sessions === 2, { what: 'the second session counted' });
  });

  it('DataLoss: a gap status per subscribed security with the count; SlowConsumerWarning: a stale status', async () => {
    const s = scenario('loss', { slowConsumerAfter: 10, dataLossAfter: 40, dataLossDrop: 5 });
    // The stand-in drops the 5 ticks after the 40th delivered.
    const expected = s.expected.filter((e, i) => e !== null && (i < 40 || i >= 45)).filter(present);
    const r = run(s.path, securities(s.ticks));
    await r.started;
    await waitFor(() => r.data.length >= expected.length, {
      what: 'every tick not lost',
      state: () => `${r.data.length} of ${expected.length}`,
    });
    expect(r.data.map(observed)).toEqual(expected);
    const gaps = r.statuses.filter((x) => x.kind === 'gap');
    expect(gaps.map((g) => g.symbol).sort()).toEqual(securities(s.ticks).sort());
    expect(new Set(gaps.map((g) => g.detail))).toEqual(new Set(['bloomberg: DataLoss: 5 messages dropped by the SDK']));
    expect(r.statuses.filter((x) => x.kind === 'stale').map((x) => [x.symbol, x.detail])).toEqual([
      ['*', "bloomberg: SlowConsumerWarning: the SDK's event queue is filling up (nothing lost yet)"],
    ]);
    await waitFor(() => r.feed.stats.dataLoss === 5 && r.feed.stats.slowConsumerWarnings === 1, {
      what: 'the handler counting the loss and the warning',
      state: () => JSON.stringify(r.feed.stats),
    });
  });
});

describe('mdcap record --feed bloomberg', () => {
  it('records the stand-in through the CLI; without a binding, one clear line and exit 2', async () => {
    const path = join(dir, 'cli.json');
    const ticks: Tick[] = [
      {
        security: 'IBM US Equity',
        fields: {
          MKTDATA_EVENT_TYPE: 'TRADE',
          LAST_PRICE: 142.57,
          SIZE_LAST_TRADE: 100,
          EVT_TRADE_TIME_RT: dt('2023-03-28T14:00:00.123456789Z'),
        },
      },
      { security: 'IBM US Equity', fields: { MKTDATA_EVENT_TYPE: 'QUOTE', BID: 142.56, ASK: 142.58, BID_SIZE: 300, ASK_SIZE: 200 } },
    ];
    writeFileSync(path, JSON.stringify({ speed: 'max', ticks }));
    const out = join(dir, 'cap');
    const common = ['--feed', 'bloomberg', '--symbols', 'IBM US Equity,NOPE US Equity', '--duration', '1s', '--json'];
    const r = await mdcapAsync(['record', ...common, '--bloomberg-module', STANDIN, '--bloomberg-host', path, '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // connected, the gap for NOPE US Equity, the trade, the quote
    expect(JSON.parse(r.stdout)).toMatchObject({ feed: 'bloomberg', events: 4, errors: 0 });
    const q = await mdcapAsync(['query', out, 'select price_mantissa, size_mantissa, ts_event from trades', '--json']);
    expect(JSON.parse(q.stdout)).toEqual({
      price_mantissa: '142570000000',
      size_mantissa: '10000000000',
      ts_event: '2023-03-28 14:00:00.123456789',
    });
    const absent = await mdcapAsync(['record', ...common, '--out', join(dir, 'cap2')]);
    expect(absent.status).toBe(2);
    expect(absent.stderr).toMatch(
      /^mdcap record: MDCAP_ERR_OPTIONAL_DEPENDENCY: bloomberg: expected the BLPAPI binding "blpapi" to be importable/,
    );
  });
});

import { BookFlags, isoToNs, LiveClock } from '@mdcap/core';
import type { BookUpdate, MarketEvent, Status } from '@mdcap/core';
import { AlpacaEmulator, BinanceEmulator, CoinbaseEmulator, DatabentoGateway, KrakenEmulator, readRecording } from '@mdcap/emulators';
import type { RecordedLine } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { AlpacaParser, BinanceParser, CoinbaseParser, DatabentoFeed, KrakenParser, krakenFeed, venueFeed, workerFeed } from '@mdcap/feeds';
import type { VenueName } from '@mdcap/feeds';
import { datasetFile, describeWithDataset, waitFor } from '@mdcap/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { KRAKEN_PAIRS, krakenRecording } from './kraken-recording.js';

/**
 * A frame that cannot be parsed is lost for the symbols it names, not for the whole venue: the
 * gap status names them (read from the frame with a tolerant look), the engine clears only
 * their books, and the feed has those books sent again at once (Kraken and Coinbase
 * resubscribe, Binance fetches a REST snapshot), so they are valid again after one round trip
 * while every other book stays valid. Before, every malformed frame was a gap for `*`: the
 * engine cleared every book of the venue and nothing brought them back until a reconnect.
 *
 * The emulators replay the real recordings; `malformed:N` sends, before data frame N, a copy of
 * it with a byte lost (no longer JSON). Tests wait for what the recording says must come (the
 * last checksum, update id or update of each book), with a deadline only a hung run reaches.
 */
const t = 1_700_000_000_000_000_000n;
const none = (): void => {};

const until = (done: () => boolean, what: string): Promise<unknown> => waitFor(done, { what, deadlineMs: 60_000 });

describe('the symbol of a frame that cannot be parsed, read without parsing it', () => {
  it('kraken: the pair that closes a channel message; for a frame cut short, the pair its channel id was subscribed for', () => {
    const p = new KrakenParser();
    const status = '{"channelID":992,"channelName":"book-1000","event":"subscriptionStatus","pair":"XMR/USD","status":"subscribed"}';
    p.parse(status, t, none);
    expect(p.symbolsOf('[992,{"a":[["226.1,"0.5","1618678133.1"]],"c":"12"},"book-1000","XMR/USD"]')).toEqual(['XMR/USD']);
    expect(p.symbolsOf('[5,[["1.0","2.0","3.0","b","l",""]],"trade","ADA/XBT"]\n')).toEqual(['ADA/XBT']);
    expect(p.symbolsOf('[992,{"a":[["226.1","0.5"')).toEqual(['XMR/USD']);
    expect(p.symbolsOf('[993,{"a":[["226.1","0.5"')).toEqual([]); // a channel never subscribed
    expect(p.symbolsOf('[992,{"a":[["226.1","0.5","1618678133.1"]]}')).toEqual(['XMR/USD']);
    expect(p.symbolsOf('<html>502 Bad Gateway</html>')).toEqual([]);
    p.reset(); // a new connection: its channel ids are its own
    expect(p.symbolsOf('[992,{"a":[["226.1","0.5"')).toEqual([]);
  });

  it('binance: the stream name that opens a combined frame, else the payload symbol', () => {
    const p = new BinanceParser();
    expect(p.symbolsOf('{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"NKNUSDT","U":1,"u":2,"b":[[')).toEqual([
      'NKNUSDT',
    ]);
    expect(p.symbolsOf('{"e":"aggTrade","E":1633998512068,"s":"BLZETH","a":5,"p":"0.0001,"q":"1"}')).toEqual(['BLZETH']);
    expect(p.symbolsOf('{"result":null,"id":')).toEqual([]);
  });

  it('coinbase: the product_id; alpaca: the symbol of every message of the frame', () => {
    expect(new CoinbaseParser().symbolsOf('{"type":"l2update","product_id":"BAND-GBP","changes":[["buy,"14.7","1"]]}')).toEqual([
      'BAND-GBP',
    ]);
    expect(new CoinbaseParser().symbolsOf('{"type":"heartbeat","sequence":1')).toEqual([]);
    const frame = '[{"T":"t","S":"AAPL","p":185.01,"s":1},{"T":"q","S":"MSFT","bp":1},{"T":"t","S":"AAPL","p":1';
    expect(new AlpacaParser().symbolsOf(frame)).toEqual(['AAPL', 'MSFT']);
  });

  it('binance: a synced book asks for a new REST snapshot and buffers its diffs; one still waiting for its snapshot keeps waiting', () => {
    const p = new BinanceParser();
    const out: MarketEvent[] = [];
    const diff = (U: number, u: number): string =>
      `{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1633998512068,"s":"NKNUSDT","U":${U},"u":${u},"b":[["0.35","6"]],"a":[]}}`;
    const snapshot = (id: number): string => `{"lastUpdateId":${id},"bids":[["0.34","1"]],"asks":[["0.36","1"]]}`;
    p.subscribed(['NKNUSDT'], new Set(['book']));
    p.rebuild('NKNUSDT'); // before its first snapshot: that one is already on its way
    expect([...p.snapshotRequests]).toEqual(['NKNUSDT']);
    expect([...p.resyncs]).toEqual(['NKNUSDT']);
    p.resyncs.clear();
    p.snapshot('NKNUSDT', snapshot(10), t, (e) => out.push(e));
    p.parse(diff(11, 12), t, (e) => out.push(e));
    expect(out.map((e) => (e as BookUpdate).seq)).toEqual([10n, 10n, 12n]);
    expect(p.snapshotRequests.size).toBe(0);
    p.rebuild('NKNUSDT');
    expect([...p.snapshotRequests]).toEqual(['NKNUSDT']);
    expect([...p.resyncs]).toEqual(['NKNUSDT']);
    out.length = 0;
    p.parse(diff(13, 14), t, (e) => out.push(e)); // buffered until the snapshot
    expect(out).toEqual([]);
    p.snapshot('NKNUSDT', snapshot(13), t, (e) => out.push(e));
    expect(out.map((e) => [(e as BookUpdate).seq, (e as BookUpdate).flags & BookFlags.Snapshot])).toEqual([
      [13n, BookFlags.Snapshot],
      [13n, BookFlags.Snapshot],
      [14n, 0],
    ]);
    expect(p.stats.resnapshots).toBe(1);
  });
});

/**
 * A minimal Kraken-speaking server for what no recording has: a frame that names no pair at all
 * (the rule then covers every book), and a frame cut short before its pair. It answers
 * `subscribe` and `unsubscribe` for books as Kraken does and sends a snapshot on each subscription.
 */
async function krakenStub(): Promise<{ url: string; received: string[]; send(text: string): void; close(): Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const received: string[] = [];
  const ids = new Map<string, number>();
  const send = (text: string): void => {
    for (const c of wss.clients) c.send(text);
  };
  wss.on('connection', (socket) => {
    socket.on('message', (data) => {
      const text = (data as Buffer).toString('utf8');
      received.push(text);
      const m = JSON.parse(text) as { event: string; pair: string[]; subscription: { name: string } };
      for (const pair of m.pair) {
        if (m.subscription.name !== 'book') continue;
        const id = ids.get(pair) ?? ids.size + 1;
        ids.set(pair, id);
        const status = m.event === 'subscribe' ? 'subscribed' : 'unsubscribed';
        send(
          JSON.stringify({
            channelID: id,
            channelName: 'book-10',
            event: 'subscriptionStatus',
            pair,
            status,
            subscription: { depth: 10, name: 'book' },
          }),
        );
        if (status === 'subscribed')
          send(JSON.stringify([id, { as: [['2.0', '1.0', '1.5']], bs: [['1.0', '1.0', '1.5']] }, 'book-10', pair]));
      }
    });
  });
  const port = (wss.address() as { port: number }).port;
  return { url: `ws://127.0.0.1:${port}`, received, send, close: () => new Promise((r) => wss.close(() => r())) };
}

describe('a malformed frame on the wire (a Kraken-speaking server)', () => {
  it('one that names no pair is a gap for the venue, and every book is resubscribed; one cut short before its pair is a gap for that pair alone', async () => {
    const venue = await krakenStub();
    const engine = new RealtimeEngine(krakenFeed({ url: venue.url, depth: 10, staleMs: 60_000 }));
    try {
      const statuses: Status[] = [];
      const snapshots: string[] = [];
      engine.onStatus((s) => statuses.push(s));
      engine.onBookUpdate((u, book) => {
        if ((u.flags & BookFlags.SnapshotEnd) !== 0 && book.valid) snapshots.push(u.symbol);
      });
      const books = (): BookView[] => ['A/B', 'C/D'].map((s) => engine.book(s));
      await engine.start(['A/B', 'C/D']);
      await until(() => snapshots.length === 2, 'the two first snapshots');

      venue.send('<html>502 Bad Gateway</html>');
      await until(() => snapshots.length === 4, 'both books sent again');
      expect(statuses.filter((s) => s.kind === 'gap' || s.kind === 'resync').map((s) => `${s.kind} ${s.symbol}`)).toEqual([
        'gap *',
        'resync A/B',
        'resync C/D',
      ]);
      expect(statuses.find((s) => s.kind === 'gap')!.detail).toMatch(/^malformed frame skipped: kraken: not JSON, found <html>502/);
      expect(books().map((b) => [b.valid, b.stats().invalidations])).toEqual([
        [true, 1],
        [true, 1],
      ]);
      expect(venue.received.filter((m) => m.includes('"unsubscribe"'))).toEqual([
        '{"event":"unsubscribe","pair":["A/B"],"subscription":{"name":"book","depth":10}}',
        '{"event":"unsubscribe","pair":["C/D"],"subscription":{"name":"book","depth":10}}',
      ]);

      statuses.length = 0;
      venue.send('[1,{"a":[["2.5","1.0"'); // channel 1 is A/B's
      await until(() => snapshots.length === 5, 'the A/B book sent again');
      expect(statuses.filter((s) => s.kind === 'gap' || s.kind === 'resync').map((s) => `${s.kind} ${s.symbol}`)).toEqual([
        'gap A/B',
        'resync A/B',
      ]);
      expect(snapshots[4]).toBe('A/B');
      expect(books().map((b) => [b.valid, b.stats().invalidations])).toEqual([
        [true, 2],
        [true, 1],
      ]);
    } finally {
      await engine.stop();
      await venue.close();
    }
  });
});

interface Scenario {
  readonly venue: Extract<VenueName, 'kraken' | 'binance' | 'coinbase'>;
  readonly symbols: readonly string[];
  /** `malformed:N`: data frame N of the connection is a book frame of `symbol`, on channel `key`. */
  readonly n: number;
  readonly symbol: string;
  readonly key: string;
  /** The gap's detail: the parser's reason and the frame. */
  readonly detail: RegExp;
  /** The WebSocket path under the emulator's URL. */
  readonly path: string;
  start(faults: string, onSend: (text: string) => void): Promise<KrakenEmulator | BinanceEmulator | CoinbaseEmulator>;
  /** Has every book's last recorded frame been handled (applied, or ignored by a cleared book)? */
  finished(r: Run): boolean;
  /** How many more times than at the start the venue sent the book of `symbol` (snapshot frames or REST answers). */
  resent(r: Run): number;
  /** Venue checks (Kraken: the checksums). */
  check?(r: Run): void;
}

interface Run {
  readonly statuses: Status[];
  /** The last update of each book, applied or not. */
  readonly last: Map<string, BookUpdate>;
  /** Each snapshot end: how many statuses came before it, and whether the book was valid after it. */
  readonly snapshotEnds: { symbol: string; at: number; valid: boolean }[];
  readonly errors: string[];
  /** Every frame the emulator sent. */
  readonly sent: string[];
  restRequests: number;
  books: Map<string, BookView>;
}

const cryptofeed = (...files: string[]): RecordedLine[] => files.flatMap((f) => readRecording(datasetFile('cryptofeed', f)));

/** Per symbol, the count and the last `value` of the received frames that match `re` (named groups `symbol`, `value`). */
function recorded(lines: RecordedLine[], re: RegExp): Map<string, { count: number; last: string }> {
  const out = new Map<string, { count: number; last: string }>();
  for (const l of lines) {
    const g = l.kind === 'received' ? re.exec(l.text)?.groups : undefined;
    if (g === undefined) continue;
    const seen = out.get(g['symbol']!);
    out.set(g['symbol']!, { count: (seen?.count ?? 0) + 1, last: g['value']! });
  }
  return out;
}

/** The count of statuses after which `symbol`'s book was valid again (its first valid snapshot end after its resync), or -1. */
function validAgainAt(r: Run, symbol: string): number {
  const resync = r.statuses.findIndex((s) => s.kind === 'resync' && s.symbol === symbol);
  return resync < 0 ? -1 : (r.snapshotEnds.find((e) => e.symbol === symbol && e.at > resync && e.valid)?.at ?? -1);
}

const checksumsOf = (r: Run, symbol: string, from = 0): Status[] =>
  r.statuses.slice(from).filter((s) => s.kind === 'checksum' && s.symbol === symbol);

function kraken(): Scenario {
  const checksums = recorded(cryptofeed('KRAKEN.ws.50.0'), /"c":"(?<value>\d+)"\}.*,"(?<symbol>[^"]+)"\]$/);
  const symbol = 'XMR/USD';
  const snapshots = (r: Run): number => r.sent.filter((f) => f.includes('{"as":') && f.endsWith(`"${symbol}"]`)).length;
  return {
    venue: 'kraken',
    symbols: KRAKEN_PAIRS,
    n: 500,
    symbol,
    key: `book:${symbol}`,
    detail: /^malformed frame skipped: kraken: not JSON, found \[992,\{"b":.*,"book-1000","XMR\/USD"\]$/,
    path: '',
    start: (faults, onSend) => KrakenEmulator.start({ lines: krakenRecording(), speed: 10, faults, onSend }),
    // Every other pair has checked all its checksums; this one (resubscribed: a few may not come) its last.
    finished: (r) =>
      KRAKEN_PAIRS.every((pair) =>
        pair === symbol
          ? checksumsOf(r, pair).some((s) => s.detail === `crc32 ${checksums.get(pair)!.last}`)
          : checksumsOf(r, pair).length === checksums.get(pair)!.count,
      ),
    resent: (r) => snapshots(r) - 1,
    // No checksum failed, and the new book of the pair verified its checksums too.
    check(r) {
      expect(r.statuses.filter((s) => s.kind === 'checksum' && s.ok !== true)).toEqual([]);
      expect(checksumsOf(r, symbol, validAgainAt(r, symbol)).length).toBeGreaterThan(10);
    },
  };
}

function binance(): Scenario {
  const lastIds = recorded(cryptofeed('BINANCE.ws.1.0'), /"e":"depthUpdate".*"s":"(?<symbol>[A-Z0-9]+)","U":\d+,"u":(?<value>\d+)/);
  const symbols = ['NKNUSDT', 'BLZETH', 'LRCBTC', 'RUNEEUR'];
  return {
    venue: 'binance',
    symbols,
    n: 100,
    symbol: 'NKNUSDT',
    key: 'nknusdt@depth@100ms',
    detail: /^malformed frame skipped: binance: not JSON, found \{"stream":"nknusdt@depth@100ms","data":\{"e":"depthUpdate"/,
    path: '/stream',
    start: (faults, onSend) =>
      BinanceEmulator.start({ lines: cryptofeed('BINANCE.ws.1.0', 'BINANCE.http.0.0'), speed: 10, faults, onSend }),
    // Each book has had its last recorded diff (or a snapshot past it).
    finished: (r) => symbols.every((s) => (r.last.get(s)?.seq ?? -1n) >= BigInt(lastIds.get(s)!.last)),
    // One REST snapshot per symbol at the start, and the one that rebuilt the book.
    resent: (r) => r.restRequests - symbols.length,
  };
}

function coinbase(): Scenario {
  const lastTimes = recorded(
    cryptofeed('COINBASE.ws.28.0'),
    /^\{"type":"l2update","product_id":"(?<symbol>[^"]+)".*"time":"(?<value>[^"]+)"/,
  );
  const products = ['SKL-USD', 'SKL-BTC', 'BAND-GBP', 'NMR-EUR', 'BAND-BTC', 'YFI-BTC', 'DASH-BTC', 'NU-GBP', 'CRV-EUR', 'SKL-GBP'];
  const symbol = 'BAND-GBP';
  return {
    venue: 'coinbase',
    symbols: products,
    n: 1000,
    symbol,
    key: `level2:${symbol}`,
    detail: /^malformed frame skipped: coinbase: not JSON, found \{"type":"l2update","product_id":"BAND-GBP","changes":/,
    path: '',
    start: (faults, onSend) => CoinbaseEmulator.start({ lines: cryptofeed('COINBASE.ws.28.0'), speed: 10, faults, onSend }),
    // Each book has had its last recorded update.
    finished: (r) => products.every((p) => r.last.get(p)?.tsEvent === isoToNs(lastTimes.get(p)!.last)),
    resent: (r) => r.sent.filter((f) => f.startsWith(`{"type":"snapshot","product_id":"${symbol}"`)).length - 1,
  };
}

const SCENARIOS = { kraken, binance, coinbase };

let emulator: KrakenEmulator | BinanceEmulator | CoinbaseEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});

/**
 * Runs the scenario's venue through the engine, with the handler on this thread or a worker
 * thread, until every book has had its last recorded frame; then checks the statuses; then
 * waits for the book that lost a frame to be valid again.
 */
async function run(s: Scenario, threaded: boolean, check: (r: Run) => void): Promise<Run> {
  const r: Run = { statuses: [], last: new Map(), snapshotEnds: [], errors: [], sent: [], restRequests: 0, books: new Map() };
  const e = await s.start(`malformed:${s.n}`, (text) => r.sent.push(text));
  emulator = e;
  const options = { url: `${e.url}${s.path}`, restUrl: e.restUrl, clock: new LiveClock() };
  const engine = new RealtimeEngine(threaded ? workerFeed(s.venue, options) : venueFeed(s.venue, options));
  engine.onStatus((st) => r.statuses.push(st));
  engine.onBookUpdate((u, book) => {
    r.last.set(u.symbol, u);
    if ((u.flags & BookFlags.SnapshotEnd) !== 0) r.snapshotEnds.push({ symbol: u.symbol, at: r.statuses.length, valid: book.valid });
  });
  engine.onError((error) => r.errors.push(error.message));
  await engine.start([...s.symbols]);
  try {
    await until(() => s.finished(r), `${s.venue}: the last recorded frame of every book`);
    check(r);
    await until(() => validAgainAt(r, s.symbol) >= 0, `the ${s.symbol} book valid again after its resync`);
  } finally {
    await engine.stop();
  }
  r.restRequests = e.stats.restRequests;
  r.books = new Map(s.symbols.map((sym) => [sym, engine.book(sym)]));
  return r;
}

describeWithDataset('cryptofeed', 'a malformed book frame from the emulator replaying the real recording', () => {
  it.each([
    ['kraken', 'main'],
    ['kraken', 'worker'],
    ['binance', 'main'],
    ['binance', 'worker'],
    ['coinbase', 'main'],
    ['coinbase', 'worker'],
  ] as const)(
    '%s, handler on the %s thread: a gap and a resync for its symbol alone; that book is sent again and valid; every other book stays valid',
    { timeout: 120_000 },
    async (venue, thread) => {
      const s = SCENARIOS[venue]();
      let gap: Status | undefined;
      let resync: Status | undefined;
      const r = await run(s, thread === 'worker', (r) => {
        expect(emulator!.stats.faultsFired).toEqual([`malformed:${s.n} ${s.key}`]);
        // One gap, naming the frame's symbol, and at once (same frame, same time) its resync.
        const lost = r.statuses.filter((st) => st.kind === 'gap' || st.kind === 'resync');
        expect(lost.map((st) => `${st.kind} ${st.symbol}`)).toEqual([`gap ${s.symbol}`, `resync ${s.symbol}`]);
        [gap, resync] = lost;
      });
      expect(r.errors).toEqual([]);
      expect(gap!.detail).toMatch(s.detail);
      expect(resync!.tsRecv).toBe(gap!.tsRecv);
      expect(r.statuses.indexOf(resync!)).toBe(r.statuses.indexOf(gap!) + 1);
      // The venue sent that book once more, and the book was valid again from that snapshot on.
      expect(s.resent(r)).toBe(1);
      expect(validAgainAt(r, s.symbol)).toBeGreaterThan(r.statuses.indexOf(resync!));
      // Only that book was ever cleared, once; every book is valid at the end.
      const books = Object.fromEntries(
        [...r.books].map(([sym, b]) => [sym, `${b.valid ? 'valid' : 'invalid'}, cleared ${b.stats().invalidations}x`]),
      );
      expect(books).toEqual(Object.fromEntries(s.symbols.map((sym) => [sym, `valid, cleared ${sym === s.symbol ? 1 : 0}x`])));
      s.check?.(r);
    },
  );
});

describe('a malformed frame from the Alpaca emulator', () => {
  it.each(['main', 'worker'] as const)(
    'handler on the %s thread: a gap for the symbol of its message, and the stream goes on (no book, nothing to resync)',
    { timeout: 120_000 },
    async (thread) => {
      const alpaca = await AlpacaEmulator.start({ speed: 'max', faults: 'malformed:100' });
      try {
        const options = { url: alpaca.url, key: 'key', secret: 'secret', clock: new LiveClock() };
        const engine = new RealtimeEngine(thread === 'worker' ? workerFeed('alpaca', options) : venueFeed('alpaca', options));
        const statuses: Status[] = [];
        let trades = 0;
        let quotes = 0;
        engine.onStatus((st) => statuses.push(st));
        engine.onTrade(() => trades++);
        engine.onQuote(() => quotes++);
        await engine.start(['AAPL', 'MSFT']);
        try {
          await until(() => trades === 1200 && quotes === 2400, 'every scripted trade and quote of AAPL and MSFT');
        } finally {
          await engine.stop();
        }
        expect(alpaca.stats.faultsFired).toEqual(['malformed:100 trades:AAPL']);
        const lost = statuses.filter((st) => st.kind === 'gap' || st.kind === 'resync');
        expect(lost.map((st) => `${st.kind} ${st.symbol}`)).toEqual(['gap AAPL']);
        expect(lost[0]!.detail).toMatch(/^malformed frame skipped: alpaca: not JSON, found \[\{"T":"t","S":"AAPL"/);
      } finally {
        await alpaca.close();
      }
    },
  );
});

describeWithDataset('nautilus-trader', 'a malformed record from the Databento gateway emulator', () => {
  it('a gap naming the symbol of the record header, and the stream goes on', { timeout: 120_000 }, async () => {
    const file = datasetFile('nautilus-trader', 'databento/bars_catalog/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst');
    const key = 'db-0123456789abcdefghijklmnopqrs';
    const gateway = await DatabentoGateway.start({ files: [file], key, speed: 'max', faults: 'malformed:50' });
    try {
      const feed = new DatabentoFeed({ key, dataset: 'GLBX.MDP3', schema: 'mbp-1', url: gateway.url, clock: new LiveClock() });
      const engine = new RealtimeEngine(feed);
      const statuses: Status[] = [];
      let quotes = 0;
      engine.onStatus((st) => statuses.push(st));
      engine.onQuote(() => quotes++);
      await engine.start(['ESU4']);
      try {
        await gateway.done();
        await until(() => feed.stats.records === gateway.stats.recordsSent, 'every record the gateway sent');
      } finally {
        await engine.stop();
      }
      expect(gateway.stats.faultsFired).toEqual(['malformed:50']);
      expect(quotes).toBeGreaterThan(1000);
      const gaps = statuses.filter((st) => st.kind === 'gap');
      expect(gaps.map((st) => [st.symbol, st.detail])).toEqual([
        [
          'ESU4',
          expect.stringMatching(/^GLBX\.MDP3: a record could not be read and was skipped: expected a known record type, found rtype 0xee/),
        ],
      ]);
    } finally {
      await gateway.close();
    }
  });
});

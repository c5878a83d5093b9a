import { readFileSync } from 'node:fs';
import { BookFlags, formatEventJson, VirtualClock } from '@mdcap/core';
import type { BookUpdate, MarketEvent, Status } from '@mdcap/core';
import { Mdp3Exchange } from '@mdcap/emulators';
import { OrderBook } from '@mdcap/engine';
import { CmeHandler, priceRule, toPrice } from '@mdcap/feeds';
import { parseSchema, SbeCodec, SbeDecimal } from '@mdcap/mdp3';
import type { SbeRecord } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

// The CME channel handler on packets built with CME's schema: arbitration, books, gaps, recovery.

const ID = 5482;
const T0 = 1_609_113_600_000_000_000n;
const px = (points: string): SbeDecimal => {
  // ES in CME price units (×100), at 1e-9: 3702.25 → 370225 → 370225_000000000
  const [i, f = ''] = points.split('.');
  return new SbeDecimal(BigInt(i! + f.padEnd(2, '0')) * 1_000_000_000n, -9);
};

describe('prices: wire units to the instrument scale, exactly', () => {
  it('ES: tick 0.25, display factor 0.01', () => {
    const rule = priceRule(new SbeDecimal(25_000_000_000n, -9), new SbeDecimal(10_000_000n, -9), 'ESH1');
    expect(rule).toEqual({ scale: 2, displayFactor: 10_000_000n, tick: 25n });
    expect(toPrice(px('3702.25'), rule)).toBe(370225n);
    expect(toPrice(new SbeDecimal(2431500000000n, -7), rule)).toBe(243150n); // v8's PRICE (1e-7)
    expect(toPrice(new SbeDecimal(1n, -9), rule)).toBeNull(); // finer than the scale: never rounded
  });
});

type Side = 'Bid' | 'Offer' | 'ImpliedBid' | 'ImpliedOffer';
interface Book {
  Bid: { price: string; size: number }[];
  Offer: { price: string; size: number }[];
  ImpliedBid: { price: string; size: number }[];
  ImpliedOffer: { price: string; size: number }[];
}

/** A tiny exchange for ES: the level book as CME keeps it, and the messages that change it. */
class Exchange {
  seq = 0;
  rpt = 0;
  readonly book: Book = { Bid: [], Offer: [], ImpliedBid: [], ImpliedOffer: [] };
  constructor(private readonly codec: SbeCodec) {}

  definition(): Uint8Array {
    const m = this.codec.encodeMessage('MDInstrumentDefinitionFuture54', {
      MatchEventIndicator: ['EndOfEvent'],
      TotNumReports: 1,
      SecurityUpdateAction: 'Add',
      LastUpdateTime: T0,
      MDSecurityTradingStatus: 'ReadyToTrade',
      ApplID: 310,
      MarketSegmentID: 64,
      UnderlyingProduct: 5,
      SecurityExchange: 'XCME',
      SecurityGroup: 'ES',
      Asset: 'ES',
      Symbol: 'ESH1',
      SecurityID: ID,
      SecurityType: 'FUT',
      CFICode: 'FFIXSX',
      MaturityMonthYear: { year: 2021, month: 3, day: null, week: null },
      Currency: 'USD',
      SettlCurrency: 'USD',
      MatchAlgorithm: 'F',
      MinTradeVol: 1,
      MaxTradeVol: 3000,
      MinPriceIncrement: new SbeDecimal(25_000_000_000n, -9),
      DisplayFactor: new SbeDecimal(10_000_000n, -9),
      UnitOfMeasure: 'IPNT',
      UnitOfMeasureQty: new SbeDecimal(50_000_000_000n, -9),
      SettlPriceType: [],
      UserDefinedInstrument: 'N',
      NoMDFeedTypes: [
        { MDFeedType: 'GBX', MarketDepth: 3 },
        { MDFeedType: 'GBI', MarketDepth: 2 },
      ],
    });
    return this.codec.encodePacket(1, T0, [m]);
  }

  /** One incremental packet of level changes (applied to the exchange's own book too). */
  levels(changes: readonly [action: string, side: Side, level: number, price: string, size: number][]): Uint8Array {
    const entries: SbeRecord[] = changes.map(([action, side, level, price, size]) => {
      const levels = this.book[side];
      if (action === 'New') levels.splice(level - 1, 0, { price, size });
      else if (action === 'Change') levels[level - 1] = { price, size };
      else if (action === 'Delete') levels.splice(level - 1, 1);
      if (levels.length > (side.startsWith('Implied') ? 2 : 3)) levels.pop(); // the definition's depths
      return {
        MDEntryPx: px(price),
        MDEntrySize: size,
        SecurityID: ID,
        RptSeq: ++this.rpt,
        NumberOfOrders: 1,
        MDPriceLevel: level,
        MDUpdateAction: action,
        MDEntryType: side,
      };
    });
    return this.packet(
      this.codec.encodeMessage('MDIncrementalRefreshBook46', {
        TransactTime: this.ts(),
        MatchEventIndicator: ['EndOfEvent'],
        NoMDEntries: entries,
        NoOrderIDEntries: [],
      }),
    );
  }

  trade(price: string, size: number, aggressor: 'Buy' | 'Sell'): Uint8Array {
    return this.packet(
      this.codec.encodeMessage('MDIncrementalRefreshTradeSummary48', {
        TransactTime: this.ts(),
        MatchEventIndicator: ['LastTradeMsg'],
        NoMDEntries: [
          {
            MDEntryPx: px(price),
            MDEntrySize: size,
            SecurityID: ID,
            RptSeq: ++this.rpt,
            NumberOfOrders: 2,
            AggressorSide: aggressor,
            MDUpdateAction: 'New',
            MDTradeEntryID: 7,
          },
        ],
        NoOrderIDEntries: [],
      }),
    );
  }

  /** The snapshot loop's packet for the book as it stands. */
  snapshot(): Uint8Array {
    const e: SbeRecord[] = [];
    for (const side of ['Bid', 'Offer', 'ImpliedBid', 'ImpliedOffer'] as const) {
      this.book[side].forEach((l, i) =>
        e.push({
          MDEntryPx: px(l.price),
          MDEntrySize: l.size,
          NumberOfOrders: 1,
          MDPriceLevel: i + 1,
          MDEntryType: side,
          SettlPriceType: [],
        }),
      );
    }
    const m = this.codec.encodeMessage('SnapshotFullRefresh52', {
      LastMsgSeqNumProcessed: this.seq,
      TotNumReports: 1,
      SecurityID: ID,
      RptSeq: this.rpt,
      TransactTime: this.ts(),
      LastUpdateTime: this.ts(),
      MDSecurityTradingStatus: 'ReadyToTrade',
      NoMDEntries: e,
    });
    return this.codec.encodePacket(1, this.ts(), [m]);
  }

  private ts(): bigint {
    return T0 + BigInt(this.seq) * 1_000n;
  }

  private packet(m: Uint8Array): Uint8Array {
    this.seq++;
    return this.codec.encodePacket(this.seq, this.ts(), [m]);
  }
}

/** The book the events describe: price → size per side, as an engine would keep it. */
function bookOf(events: readonly MarketEvent[]): { bid: [string, string][]; ask: [string, string][] } {
  const sides = { bid: new Map<bigint, bigint>(), ask: new Map<bigint, bigint>() };
  for (const e of events) {
    if (e.type !== 'book' || (e.flags & BookFlags.Implied) !== 0) continue;
    if ((e.flags & 2) !== 0) {
      sides.bid.clear();
      sides.ask.clear();
    }
    if (e.size === 0n) sides[e.side].delete(e.price);
    else sides[e.side].set(e.price, e.size);
  }
  const list = (m: Map<bigint, bigint>, desc: boolean): [string, string][] =>
    [...m].sort((a, b) => (a[0] < b[0] ? (desc ? 1 : -1) : desc ? -1 : 1)).map(([p, s]) => [String(p), String(s)]);
  return { bid: list(sides.bid, true), ask: list(sides.ask, false) };
}

const asBook = (b: Book): { bid: [string, string][]; ask: [string, string][] } => ({
  bid: b.Bid.map((l) => [String(Number(l.price.replace('.', '')) * (l.price.includes('.') ? 1 : 100)), String(l.size)]),
  ask: b.Offer.map((l) => [String(Number(l.price.replace('.', '')) * (l.price.includes('.') ? 1 : 100)), String(l.size)]),
});

describeWithDataset('cme-mdp3', 'CmeHandler', () => {
  let codec: SbeCodec;
  beforeAll(() => {
    codec = new SbeCodec(parseSchema(readFileSync(datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml'), 'utf8'), 'v9'));
  });

  function setup(): { h: CmeHandler; x: Exchange; events: MarketEvent[]; loops: string[]; clock: VirtualClock } {
    const clock = new VirtualClock(T0);
    const events: MarketEvent[] = [];
    const loops: string[] = [];
    const h = new CmeHandler({
      codec,
      symbols: ['ESH1'],
      clock,
      emit: (e) => events.push(e),
      onSnapshotLoop: (j) => loops.push(`snapshot ${j ? 'join' : 'leave'}`),
      onDefinitionLoop: (j) => loops.push(`definition ${j ? 'join' : 'leave'}`),
    });
    return { h, x: new Exchange(codec), events, loops, clock };
  }

  const statuses = (events: readonly MarketEvent[]): string[] =>
    events.filter((e): e is Status => e.type === 'status').map((s) => `${s.kind} ${s.symbol}`);

  it('starts from the definition and snapshot loops, replays what came meanwhile, and arbitrates A and B', () => {
    const { h, x, events, loops } = setup();
    let t = T0;
    const both = (p: Uint8Array): void => {
      t += 1_000n;
      h.onIncremental('A', p, t);
      h.onIncremental('B', p, t + 10n);
    };
    both(
      x.levels([
        ['New', 'Bid', 1, '3702.25', 5],
        ['New', 'Offer', 1, '3702.50', 7],
      ]),
    );
    h.onDefinition(x.definition(), (t += 1n));
    both(x.levels([['New', 'Bid', 2, '3702.00', 3]]));
    const snap = x.snapshot(); // after packet 2
    both(
      x.levels([
        ['New', 'Bid', 1, '3702.50', 1],
        ['Delete', 'Offer', 1, '3702.50', 0],
        ['New', 'Offer', 1, '3702.75', 4],
      ]),
    );
    expect(events.filter((e) => e.type === 'book')).toEqual([]); // no book until the snapshot
    h.onSnapshot(snap, (t += 1n));
    expect(loops).toEqual(['definition join', 'snapshot join', 'definition leave', 'snapshot leave']);
    expect(statuses(events)).toEqual(['gap ESH1', 'resync ESH1']);
    expect(bookOf(events)).toEqual(asBook(x.book));
    both(x.trade('3702.75', 2, 'Buy'));
    both(x.levels([['Change', 'Offer', 1, '3702.75', 2]]));
    expect(bookOf(events)).toEqual(asBook(x.book));
    expect(h.stats).toMatchObject({ processed: 5, duplicates: 5, gaps: 0, recoveries: 1 });
    const trade = events.find((e) => e.type === 'trade')!;
    expect(trade).toMatchObject({
      venue: 'cme',
      symbol: 'ESH1',
      price: 370275n,
      priceScale: 2,
      size: 2n,
      side: 'buy',
      tradeId: '7',
      seq: 4n,
    });
    // Each packet's last book update says the book is consistent there.
    const last = events.filter((e): e is BookUpdate => e.type === 'book' && (e.flags & 8) !== 0).map((e) => e.seq);
    expect(last).toEqual([3n, 5n]);
  });

  it('a level pushed past the depth falls off; a packet dropped on A only is filled by B: no gap', () => {
    const { h, x, events } = setup();
    h.onDefinition(x.definition(), T0);
    h.onSnapshot(x.snapshot(), T0 + 1n); // an empty book
    let t = T0 + 10n;
    const packets = [
      x.levels([['New', 'Bid', 1, '3702.00', 1]]),
      x.levels([['New', 'Bid', 1, '3702.25', 2]]),
      x.levels([['New', 'Bid', 1, '3702.50', 3]]),
      x.levels([['New', 'Bid', 1, '3702.75', 4]]), // 3702.00 falls off (depth 3)
    ];
    packets.forEach((p, i) => {
      t += 1_000n;
      if (i !== 1) h.onIncremental('A', p, t);
      h.onIncremental('B', p, t + 5n);
    });
    expect(bookOf(events)).toEqual(asBook(x.book));
    expect(bookOf(events).bid.map(([p]) => p)).toEqual(['370275', '370250', '370225']);
    expect(statuses(events)).toEqual(['gap ESH1', 'resync ESH1']); // the start only
    expect(h.stats).toMatchObject({ gaps: 0, processed: 4 });
  });

  it('a packet lost on both feeds: a gap after the wait, the snapshot loop, a resync, and the book equal to the exchange again', () => {
    const { h, x, events, loops, clock } = setup();
    h.onDefinition(x.definition(), T0);
    h.onSnapshot(x.snapshot(), T0 + 1n);
    const send = (p: Uint8Array, feeds: string): void => {
      const t = clock.now() + 1_000n;
      clock.advanceTo(t);
      if (feeds.includes('A')) h.onIncremental('A', p, t);
      if (feeds.includes('B')) h.onIncremental('B', p, t);
    };
    send(
      x.levels([
        ['New', 'Bid', 1, '3702.00', 1],
        ['New', 'Offer', 1, '3702.25', 1],
      ]),
      'AB',
    );
    send(x.levels([['Change', 'Bid', 1, '3702.00', 9]]), ''); // lost on both
    send(
      x.levels([
        ['New', 'Offer', 1, '3702.25', 2],
        ['Delete', 'Offer', 2, '3702.25', 0],
      ]),
      'AB',
    ); // waits for packet 2
    expect(h.stats.gaps).toBe(0);
    clock.advanceTo(clock.now() + 10_000_000n); // the wait runs out
    expect(h.stats).toMatchObject({ gaps: 1, lostPackets: 1 });
    const gap = events.find((e): e is Status => e.type === 'status' && e.kind === 'gap' && e.symbol === '*')!;
    expect(gap).toMatchObject({ fromSeq: 2n, toSeq: 2n });
    send(x.trade('3702.25', 1, 'Sell'), 'AB'); // trades go out during the recovery
    expect(events.filter((e) => e.type === 'trade')).toHaveLength(1);
    send(x.levels([['Change', 'Bid', 1, '3702.00', 4]]), 'AB'); // held: the book is invalid
    h.onSnapshot(x.snapshot(), clock.now());
    expect(loops.slice(-2)).toEqual(['snapshot join', 'snapshot leave']);
    expect(statuses(events).slice(-2)).toEqual(['gap ESH1', 'resync ESH1']);
    expect(bookOf(events)).toEqual(asBook(x.book));
    send(x.levels([['New', 'Bid', 2, '3701.75', 6]]), 'AB');
    expect(bookOf(events)).toEqual(asBook(x.book));
  });

  it('a snapshot with a price off the instrument\u2019s scale is not taken (never rounded): said once, and the book waits for another', () => {
    const { h, x, events } = setup();
    h.onDefinition(x.definition(), T0);
    const bad = codec.encodePacket(1, T0, [
      codec.encodeMessage('SnapshotFullRefresh52', {
        LastMsgSeqNumProcessed: 0,
        TotNumReports: 1,
        SecurityID: ID,
        RptSeq: 0,
        TransactTime: T0,
        LastUpdateTime: T0,
        MDSecurityTradingStatus: 'ReadyToTrade',
        NoMDEntries: [
          { MDEntryPx: new SbeDecimal(1n, -9), MDEntrySize: 1, NumberOfOrders: 1, MDPriceLevel: 1, MDEntryType: 'Bid', SettlPriceType: [] },
        ],
      }),
    ]);
    h.onSnapshot(bad, T0 + 1n);
    h.onSnapshot(bad, T0 + 2n); // the next round: not said again
    expect(statuses(events)).toEqual(['gap ESH1', 'gap ESH1']);
    expect(events.filter((e): e is Status => e.type === 'status').at(-1)!.detail).toMatch(
      /snapshot of packet 0 cannot be taken \(a price off its scale \(0\.000000001\)\)/,
    );
    h.onSnapshot(x.snapshot(), T0 + 3n);
    expect(statuses(events)).toEqual(['gap ESH1', 'gap ESH1', 'resync ESH1']);
  });

  it('a book still waiting when a newer hole comes takes only a snapshot newer than that hole', () => {
    const { h, x, events, clock } = setup();
    h.onDefinition(x.definition(), T0);
    h.onSnapshot(x.snapshot(), T0 + 1n);
    const send = (p: Uint8Array, feeds = 'A'): void => {
      clock.advanceBy(1_000n);
      if (feeds.includes('A')) h.onIncremental('A', p, clock.now());
    };
    send(x.levels([['New', 'Bid', 1, '3702.00', 1]]));
    send(x.levels([['New', 'Bid', 2, '3701.75', 2]]), ''); // packet 2, lost
    send(x.levels([['Change', 'Bid', 1, '3702.00', 3]])); // waits for 2
    clock.advanceBy(20_000_000n); // a gap
    const afterThree = x.snapshot(); // the book as of packet 3
    send(x.levels([['Change', 'Bid', 2, '3701.75', 4]]), ''); // packet 4, lost
    send(x.levels([['Change', 'Bid', 1, '3702.00', 5]])); // waits for 4
    clock.advanceBy(20_000_000n); // a second gap, the book still waiting
    expect(h.stats.gaps).toBe(2);
    h.onSnapshot(afterThree, clock.now()); // older than the second hole: not taken
    expect(statuses(events).filter((x) => x === 'resync ESH1')).toHaveLength(1); // the start's only
    h.onSnapshot(x.snapshot(), clock.now());
    expect(statuses(events).slice(-1)).toEqual(['resync ESH1']);
    expect(bookOf(events)).toEqual(asBook(x.book));
  });

  it('an older snapshot waits for the next; a RptSeq jump invalidates only that book; a corrupt packet is a counted status', () => {
    const { h, x, events } = setup();
    h.onDefinition(x.definition(), T0);
    const old = x.snapshot(); // LastMsgSeqNumProcessed 0
    h.onIncremental('A', x.levels([['New', 'Bid', 1, '3702.00', 1]]), T0 + 1n);
    h.onSnapshot(old, T0 + 2n); // fine: nothing before packet 1 is needed
    expect(statuses(events)).toEqual(['gap ESH1', 'resync ESH1']);
    x.rpt += 2; // two entries the handler never sees (as if on another channel's packet)
    h.onIncremental('A', x.levels([['New', 'Offer', 1, '3702.50', 1]]), T0 + 3n);
    expect(statuses(events).slice(-1)).toEqual(['gap ESH1']);
    const corrupt = x.levels([['New', 'Offer', 2, '3702.75', 1]]);
    corrupt[16] = 99; // template id
    h.onIncremental('A', corrupt, T0 + 4n);
    expect(h.stats.corrupt).toBe(1);
    h.onIncremental(
      'B',
      (() => {
        corrupt[16] = 46;
        return corrupt;
      })(),
      T0 + 5n,
    );
    h.onSnapshot(x.snapshot(), T0 + 6n);
    // The corrupt copy on A was said (B's copy filled the hole: no gap); the book recovered from the snapshot.
    expect(statuses(events).slice(-2)).toEqual(['corrupt *', 'resync ESH1']);
    const said = events.find((e): e is Status => e.type === 'status' && e.kind === 'corrupt')!;
    expect(said.detail).toMatch(/cme incremental A packet.*template.*99.*other line may still bring/);
    expect(h.stats.gaps).toBe(0);
    expect(bookOf(events)).toEqual(asBook(x.book));
  });

  it('implied levels are a book of their own: flagged Implied, kept apart by the engine, in the snapshot, emptied by a BookReset', () => {
    const { h, x, events } = setup();
    h.onDefinition(x.definition(), T0);
    h.onIncremental(
      'A',
      x.levels([
        ['New', 'Bid', 1, '3702.00', 5],
        ['New', 'ImpliedBid', 1, '3702.25', 2],
      ]),
      T0 + 1n,
    );
    h.onSnapshot(x.snapshot(), T0 + 2n);
    h.onIncremental(
      'A',
      x.levels([
        ['New', 'ImpliedOffer', 1, '3702.75', 3],
        ['New', 'ImpliedBid', 1, '3702.50', 1],
      ]),
      T0 + 3n,
    );
    h.onIncremental('A', x.levels([['New', 'ImpliedBid', 1, '3702.75', 9]]), T0 + 4n); // the third implied bid falls off (depth 2)
    h.onIncremental('A', x.levels([['New', 'Offer', 1, '3703.00', 4]]), T0 + 5n);
    const book = new OrderBook('cme', 'ESH1');
    for (const e of events) if (e.type === 'book') book.applyBookUpdate(e);
    // The outright book is the outright levels alone; the implied one is beside it.
    expect(bookOf(events)).toEqual(asBook(x.book));
    const side = (n: number, level: (i: number) => { price: bigint; size: bigint } | undefined): [string, string][] =>
      Array.from({ length: n }, (_, i) => [String(level(i)!.price), String(level(i)!.size)]);
    expect(side(book.depth('bid'), (i) => book.level('bid', i))).toEqual([['370200', '5']]);
    expect(side(book.impliedDepth('bid'), (i) => book.impliedLevel('bid', i))).toEqual([
      ['370275', '9'],
      ['370250', '1'],
    ]);
    expect(side(book.impliedDepth('ask'), (i) => book.impliedLevel('ask', i))).toEqual([['370275', '3']]);
    expect(book).toMatchObject({ valid: true, crossed: false }); // an implied bid at the outright offer is not a crossed book
    expect(events.filter((e): e is BookUpdate => e.type === 'book' && (e.flags & BookFlags.Implied) !== 0).length).toBeGreaterThan(4);
    // BookReset empties both books.
    const reset = codec.encodePacket(x.seq + 1, T0, [
      codec.encodeMessage('MDIncrementalRefreshBook46', {
        TransactTime: T0,
        MatchEventIndicator: ['EndOfEvent'],
        NoMDEntries: [
          {
            MDEntryPx: null,
            MDEntrySize: null,
            SecurityID: ID,
            RptSeq: x.rpt + 1,
            NumberOfOrders: null,
            MDPriceLevel: 1,
            MDUpdateAction: 'New',
            MDEntryType: 'BookReset',
          },
        ],
        NoOrderIDEntries: [],
      }),
    ]);
    h.onIncremental('A', reset, T0 + 6n);
    for (const e of events.slice(-1)) if (e.type === 'book') book.applyBookUpdate(e);
    expect([book.depth('bid'), book.depth('ask'), book.impliedDepth('bid'), book.impliedDepth('ask'), book.valid]).toEqual([
      0,
      0,
      0,
      0,
      true,
    ]);
  });

  it('reads a synthetic day by the schema offsets exactly as the generic decoder does: the same events, byte for byte', () => {
    const exchange = Mdp3Exchange.synthetic({ codec, instruments: 3, packets: 3_000, seed: 3 });
    const run = (decode: 'hot' | 'generic'): string[] => {
      const out: string[] = [];
      const h = new CmeHandler({
        codec,
        symbols: exchange.instruments.map((i) => i.symbol),
        clock: new VirtualClock(T0),
        decode,
        emit: (e) => void out.push(formatEventJson(e)),
      });
      for (const d of exchange.definitionPackets(0)) h.onDefinition(d.bytes, T0);
      for (const s of exchange.snapshotPackets(0)) h.onSnapshot(s.bytes, T0 + 1n);
      let t = T0 + 2n;
      for (const p of exchange.packets()) {
        h.onIncremental('A', p.bytes, t);
        h.onIncremental('B', p.bytes, t++);
      }
      expect(h.stats).toMatchObject({ processed: 3_000, duplicates: 3_000, gaps: 0, corrupt: 0 });
      return out;
    };
    const hot = run('hot');
    expect(hot.length).toBeGreaterThan(3_000);
    expect(hot).toEqual(run('generic'));
  });

  it('after a channel gap, a book whose RptSeq follows on is intact at once; only the instruments of the lost packet wait for the snapshot loop', () => {
    const exchange = Mdp3Exchange.synthetic({ codec, instruments: 3, packets: 1_000, seed: 8 });
    const packets = [...exchange.packets()];
    // A packet with entries of one instrument only, well into the day.
    const idsOf = (bytes: Uint8Array): Set<number> =>
      new Set(
        codec
          .decodePacket(bytes)
          .messages.flatMap((m) => ((m.fields['NoMDEntries'] as SbeRecord[] | undefined) ?? []).map((e) => e['SecurityID'] as number)),
      );
    const lost = packets.find((p) => p.seqNum > 400 && idsOf(p.bytes).size === 1)!;
    const hit = exchange.instruments.find((i) => idsOf(lost.bytes).has(i.securityId))!;
    const clock = new VirtualClock(T0);
    const events: MarketEvent[] = [];
    const loops: string[] = [];
    const h = new CmeHandler({
      codec,
      symbols: exchange.instruments.map((i) => i.symbol),
      clock,
      emit: (e) => events.push(e),
      onSnapshotLoop: (j) => loops.push(j ? 'join' : 'leave'),
    });
    for (const d of exchange.definitionPackets(0)) h.onDefinition(d.bytes, clock.now());
    for (const s of exchange.snapshotPackets(0)) h.onSnapshot(s.bytes, clock.now());
    for (const p of packets) {
      clock.advanceBy(1_000n);
      if (p === lost) continue;
      h.onIncremental('A', p.bytes, clock.now());
      if (p.seqNum === lost.seqNum + 1) clock.advanceBy(20_000_000n); // the wait runs out: a gap
    }
    expect(h.stats).toMatchObject({ gaps: 1, intact: exchange.instruments.length - 1 });
    const said = (symbol: string): string[] =>
      events
        .filter((e): e is Status => e.type === 'status' && e.symbol === symbol)
        .map((e) => `${e.kind}${/intact/.test(e.detail) ? ' intact' : ''}`);
    for (const inst of exchange.instruments) {
      expect(said(inst.symbol)).toEqual(inst === hit ? ['gap', 'resync', 'gap'] : ['gap', 'resync', 'gap', 'resync intact']);
    }
    // The instrument of the lost packet still waits for the loop, which it alone keeps joined.
    expect(loops).toEqual(['join', 'leave', 'join']);
    for (const s of exchange.snapshotPackets(exchange.packetCount)) h.onSnapshot(s.bytes, clock.now());
    expect(said(hit.symbol)).toEqual(['gap', 'resync', 'gap', 'resync']);
    expect(loops).toEqual(['join', 'leave', 'join', 'leave']);
    // Every book ends as the exchange's.
    for (const inst of exchange.instruments) {
      const mine = events.filter((e) => e.symbol === inst.symbol);
      const scale = mine.find((e): e is BookUpdate => e.type === 'book')!.priceScale;
      const b = bookOf(mine);
      const want = exchange.bookAt(inst.securityId, exchange.packetCount);
      const at9 = (l: [string, string][]): [bigint, bigint][] => l.map(([p, z]) => [BigInt(p) * 10n ** BigInt(9 - scale), BigInt(z)]);
      expect(at9(b.bid), `${inst.symbol} bid`).toEqual(want.bid);
      expect(at9(b.ask), `${inst.symbol} ask`).toEqual(want.ask);
    }
  });

  it('an MBO book reads the orders of the combined template too (NoOrderIDEntries of MDIncrementalRefreshBook, by ReferenceID)', () => {
    const events: MarketEvent[] = [];
    const h = new CmeHandler({ codec, symbols: ['ESH1'], clock: new VirtualClock(T0), book: 'mbo', emit: (e) => events.push(e) });
    const x = new Exchange(codec);
    h.onDefinition(x.definition(), T0);
    const empty = codec.encodeMessage('SnapshotFullRefreshOrderBook53', {
      LastMsgSeqNumProcessed: 0,
      TotNumReports: 1,
      SecurityID: ID,
      NoChunks: 1,
      CurrentChunk: 1,
      TransactTime: T0,
      NoMDEntries: [],
    });
    h.onSnapshot(codec.encodePacket(1, T0, [empty]), T0);
    let rpt = 0;
    const combined = (seq: number, price: string, size: number, action: string, orderAction: string): Uint8Array =>
      codec.encodePacket(seq, T0, [
        codec.encodeMessage('MDIncrementalRefreshBook46', {
          TransactTime: T0 + BigInt(seq),
          MatchEventIndicator: ['EndOfEvent'],
          NoMDEntries: [
            {
              MDEntryPx: px(price),
              MDEntrySize: size,
              SecurityID: ID,
              RptSeq: ++rpt,
              NumberOfOrders: 1,
              MDPriceLevel: 1,
              MDUpdateAction: action,
              MDEntryType: 'Bid',
            },
          ],
          NoOrderIDEntries: [{ OrderID: 77n, MDOrderPriority: 5n, MDDisplayQty: size, ReferenceID: 1, OrderUpdateAction: orderAction }],
        }),
      ]);
    h.onIncremental('A', combined(1, '3702.00', 3, 'New', 'New'), T0 + 1n);
    h.onIncremental('A', combined(2, '3702.00', 2, 'Change', 'Update'), T0 + 2n);
    h.onIncremental('A', combined(3, '3702.00', 0, 'Delete', 'Delete'), T0 + 3n);
    const orders = events.filter((e) => e.type === 'order').map((e) => [e.action, e.orderId, e.side, e.price, e.size]);
    expect(orders).toEqual([
      ['clear', 0n, 'bid', 0n, 0n],
      ['add', 77n, 'bid', 370200n, 3n],
      ['modify', 77n, 'bid', 370200n, 2n],
      ['cancel', 77n, 'bid', 370200n, 0n],
    ]);
    expect(events.filter((e) => e.type === 'book')).toEqual([]);
  });

  it('an MBO book: orders from the MBO snapshot loop, then order updates; a lost packet is a gap, the orders rebuilt from the next MBO snapshot', () => {
    const exchange = Mdp3Exchange.synthetic({ codec, instruments: 3, packets: 1_500, seed: 5 });
    const symbols = exchange.instruments.map((i) => i.symbol);
    const clock = new VirtualClock(T0);
    const events: MarketEvent[] = [];
    const loops: string[] = [];
    const h = new CmeHandler({
      codec,
      symbols,
      clock,
      book: 'mbo',
      emit: (e) => events.push(e),
      onSnapshotLoop: (j) => loops.push(j ? 'join' : 'leave'),
    });
    const t = (): bigint => clock.now();
    for (const d of exchange.definitionPackets(0)) h.onDefinition(d.bytes, t());
    // The MBP loop means nothing to an MBO book; the MBO loop builds it.
    for (const s of exchange.snapshotPackets(0)) h.onSnapshot(s.bytes, t());
    expect(statuses(events).filter((x) => x.startsWith('resync'))).toEqual([]);
    for (const s of exchange.orderBookSnapshotPackets(0)) h.onSnapshot(s.bytes, t());
    expect(loops).toEqual(['join', 'leave']);
    const packets = [...exchange.packets()];
    for (const p of packets) {
      clock.advanceBy(1_000n);
      if (p.seqNum === 700) continue; // lost on both lines
      h.onIncremental('A', p.bytes, t());
      h.onIncremental('B', p.bytes, t());
      if (p.seqNum === 701) clock.advanceBy(20_000_000n); // the wait for 700 runs out: a gap
      // A round of the MBO loop that started before the loss is too old; one after it rebuilds.
      if (p.seqNum === 800) for (const s of exchange.orderBookSnapshotPackets(650)) h.onSnapshot(s.bytes, t());
      if (p.seqNum === 1_000) for (const s of exchange.orderBookSnapshotPackets(900)) h.onSnapshot(s.bytes, t());
    }
    expect(h.stats).toMatchObject({ gaps: 1, lostPackets: 1, recoveries: 2 * symbols.length });
    expect(loops).toEqual(['join', 'leave', 'join', 'leave']);
    expect(events.filter((e) => e.type === 'book')).toEqual([]);
    for (const symbol of symbols) {
      expect(statuses(events).filter((x) => x.endsWith(` ${symbol}`))).toEqual([
        `gap ${symbol}`,
        `resync ${symbol}`,
        `gap ${symbol}`,
        `resync ${symbol}`,
      ]);
    }
    // The orders the events describe are the exchange's, order for order.
    for (const inst of exchange.instruments) {
      const orders = new Map<bigint, { side: 'bid' | 'ask'; price: bigint; size: bigint }>();
      let scale = 0;
      for (const e of events) {
        if (e.type !== 'order' || e.symbol !== inst.symbol) continue;
        scale = e.priceScale;
        if (e.action === 'clear') orders.clear();
        else if (e.action === 'cancel' || e.size === 0n) orders.delete(e.orderId as bigint);
        else orders.set(e.orderId as bigint, { side: e.side, price: e.price, size: e.size });
      }
      const want = exchange.ordersAt(inst.securityId, exchange.packetCount);
      expect(want.size).toBeGreaterThan(5);
      const got = new Map([...orders].map(([id, o]) => [id, { ...o, price: o.price * 10n ** BigInt(9 - scale) }]));
      expect(got, inst.symbol).toEqual(want);
    }
  });
});

import { readFileSync } from 'node:fs';
import type { BookUpdate, MarketEvent, Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { localChannelConfig, loopsOnly, Mdp3Exchange, startCmeMulticast } from '@mdcap/emulators';
import type { CmeFaults, CmeMulticast, Mdp3PacketSource } from '@mdcap/emulators';
import { CmeFeed, cmeChannel, CmeWorkerFeed } from '@mdcap/feeds';
import { parseSchema, SbeCodec } from '@mdcap/mdp3';
import type { ChannelConfig, Schema } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset, waitFor } from '@mdcap/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

// The CME feed on real multicast (127.0.0.1, TTL 0) against the MDP3 emulator replaying
// Databento's GLBX.MDP3 records: the book after every MBP-10 record equals that record's levels.

const UNDEF_PRICE = 9223372036854775807n;
let portBase = 20_000 + Math.floor(Math.random() * 20_000);

interface Run {
  events: MarketEvent[];
  feed: CmeFeed | CmeWorkerFeed;
  engine: RealtimeEngine;
  done: Promise<void>;
}

/** The book the events describe, per symbol: price → size per side. */
class Books {
  readonly sides = new Map<string, { bid: Map<bigint, bigint>; ask: Map<bigint, bigint> }>();
  apply(e: MarketEvent): void {
    if (e.type !== 'book') return;
    let b = this.sides.get(e.symbol);
    if (b === undefined) this.sides.set(e.symbol, (b = { bid: new Map(), ask: new Map() }));
    if ((e.flags & 2) !== 0) {
      b.bid.clear();
      b.ask.clear();
    }
    if (e.size === 0n) b[e.side].delete(e.price);
    else b[e.side].set(e.price, e.size);
  }
  top(symbol: string, side: 'bid' | 'ask', n: number): [bigint, bigint][] {
    const m = this.sides.get(symbol)?.[side] ?? new Map<bigint, bigint>();
    return [...m].sort((a, b) => (side === 'bid' ? (a[0] < b[0] ? 1 : -1) : a[0] < b[0] ? -1 : 1)).slice(0, n);
  }
}

describeWithDataset('cme-mdp3', 'CME feed over multicast', () => {
  let schema: Schema;
  let codec: SbeCodec;
  const open: { close(): Promise<void> }[] = [];
  beforeAll(() => {
    schema = parseSchema(readFileSync(datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml'), 'utf8'), 'v9');
    codec = new SbeCodec(schema);
  });
  afterEach(async () => {
    for (const o of open.splice(0)) await o.close();
  });

  const glbx = (s: string): string => datasetFile('databento-python', `GLBX.MDP3/test_data.${s}.dbn.zst`);

  /** A channel on fresh ports: incremental lines only, or the loops only (a second sender). */
  function channels(): { all: ChannelConfig; incremental: ChannelConfig; loops: ChannelConfig } {
    portBase += 4;
    const all = localChannelConfig({ portA: portBase, portB: portBase + 1 });
    return {
      all,
      incremental: { ...all, connections: all.connections.filter((c) => c.feedType === 'I') },
      // The sender wants an incremental line even with nothing to send on it: one nobody joins.
      loops: loopsOnly(all, portBase + 2),
    };
  }

  /** How the feed runs: on the engine's thread or (`worker`) on a handler thread behind the shared ring; its book kind. */
  interface How {
    readonly worker?: boolean;
    readonly book?: 'mbp' | 'mbo';
  }

  function startFeed(channel: ChannelConfig, symbols: readonly string[], staleMs?: number, how: How = {}): Run {
    // A and B come from one sender in bursts, and this machine may be loaded: B's copy of a packet
    // dropped on A can trail by more than CME's microseconds. The wait is generous, so that only
    // the packets really lost on both lines are gaps.
    const options = {
      channel: cmeChannel(channel),
      schema,
      gapWaitMs: 500,
      ...(staleMs === undefined ? {} : { staleMs }),
      ...(how.book === undefined ? {} : { book: how.book }),
    };
    const feed = how.worker === true ? new CmeWorkerFeed(options) : new CmeFeed(options);
    const engine = new RealtimeEngine(feed, { books: true });
    const events: MarketEvent[] = [];
    engine.onEvent((e) => events.push(e));
    const done = engine.run(symbols);
    open.push({ close: () => engine.stop().then(() => done) });
    return { events, feed, engine, done };
  }

  /**
   * The loops (definitions; snapshots of the exchange as of what the incremental sender has sent)
   * cycle until the test ends; the incremental feed starts once the feed's books are valid, so
   * the first book comes from the empty start and every record after it is seen.
   */
  async function replay(
    exchange: Mdp3Exchange,
    symbol: string | readonly string[],
    faults: CmeFaults = {},
    how: How = {},
  ): Promise<{ run: Run; sender: CmeMulticast }> {
    const ch = channels();
    let sent = 0;
    const loops: Mdp3PacketSource = {
      packets: () => [],
      snapshotPackets: () => exchange.snapshotPackets(sent),
      orderBookSnapshotPackets: () => exchange.orderBookSnapshotPackets(sent),
      definitionPackets: () => exchange.definitionPackets(sent),
    };
    const symbols = typeof symbol === 'string' ? [symbol] : symbol;
    const run = startFeed(ch.all, symbols, undefined, how);
    await waitFor(() => run.engine.status === 'running', { what: 'the engine to connect the feed' });
    const loopSender = await startCmeMulticast({
      source: loops,
      channel: ch.loops,
      speed: 'max',
      lingerMs: Infinity,
      snapshotIntervalMs: 50,
      definitionIntervalMs: 50,
    });
    open.push(loopSender);
    await waitFor(() => symbols.every((x) => run.events.some((e) => e.type === 'status' && e.kind === 'resync' && e.symbol === x)), {
      what: `${symbols.join(', ')}'s books from the snapshot loop`,
      deadlineMs: 30_000,
    });
    const sender = await startCmeMulticast({ source: exchange, channel: ch.incremental, speed: 'max', faults });
    open.push(sender);
    // The snapshots follow what the incremental sender has sent.
    const poll = setInterval(() => (sent = sender.stats().lastSeqNum), 1);
    open.push({ close: () => Promise.resolve(clearInterval(poll)) });
    await sender.ended;
    sent = sender.stats().lastSeqNum;
    const last = exchange.packetCount;
    await waitFor(
      () =>
        run.events.some((e) => e.seq !== null && e.seq >= BigInt(last) && e.type !== 'status') ||
        (run.feed.stats()?.processed ?? 0) >= last,
      {
        what: 'every incremental packet through the feed',
        deadlineMs: 30_000,
        state: () => JSON.stringify(run.feed.stats()),
      },
    );
    return { run, sender };
  }

  /** After each MBP-10 record's packet, the book's top 10 levels are the record's, at Databento's 1e-9 prices. */
  function checkBooks(exchange: Mdp3Exchange, events: readonly MarketEvent[], symbol: string, fromSeq = 0): number {
    const books = new Books();
    const truths = exchange.bookTruths().filter((t) => t.afterSeq > fromSeq);
    let i = 0;
    let checked = 0;
    const check = (upTo: number): void => {
      while (i < truths.length && truths[i]!.afterSeq <= upTo) {
        const t = truths[i++]!;
        for (const [side, p] of [
          ['bid', 'bid'],
          ['ask', 'ask'],
        ] as const) {
          const want: [bigint, bigint][] = [];
          for (let k = 0; k < 10; k++) {
            const n = String(k).padStart(2, '0');
            const px = t.record[`${p}_px_${n}`] as bigint;
            if (px !== UNDEF_PRICE) want.push([px, BigInt(t.record[`${p}_sz_${n}`] as number)]);
          }
          const got = books.top(symbol, side, 10).map(([price, size]): [bigint, bigint] => [price * 10n ** 7n, size]); // scale 2 → 1e-9
          expect(got, `${side} after packet ${t.afterSeq} (MBP-10 record ${t.index})`).toEqual(want);
        }
        checked++;
      }
    };
    let seq = 0;
    for (const e of events) {
      if (e.seq !== null && e.type === 'book' && Number(e.seq) > seq) {
        check(seq);
        seq = Number(e.seq);
      }
      books.apply(e);
    }
    check(Number.MAX_SAFE_INTEGER);
    return checked;
  }

  describe('ESH1 and the LIVE capture (ESZ4)', () => {
    it('the book after every MBP-10 record equals that record, all 10 levels, on both datasets', async () => {
      for (const [files, symbol] of [
        [['definition', 'mbp-10', 'trades', 'status'].map(glbx), 'ESH1'],
        [[datasetFile('databento-python', 'LIVE/test_data.live.dbn.zst')], 'ESZ4'],
      ] as const) {
        const exchange = Mdp3Exchange.fromDbnFiles(codec, [...files]);
        const { run } = await replay(exchange, symbol);
        expect(checkBooks(exchange, run.events, symbol)).toBe(exchange.bookTruths().length);
        expect(run.feed.stats()).toMatchObject({ gaps: 0, corrupt: 0 });
        expect(run.feed.stats()!.duplicates).toBe(run.feed.stats()!.processed); // B's copy of every packet
        const trades = run.events.filter((e) => e.type === 'trade');
        expect(trades.length).toBe(exchange.inputs.trades.length);
        for (const o of open.splice(0)) await o.close();
      }
    });

    it.each([
      ['the engine thread', false],
      ['a handler thread', true],
    ] as const)(
      'faults on a synthetic day, the handler on %s: drop on A only is no loss; lost on both lines or corrupt on both is a gap, then a resync, and the books end equal to the exchange',
      async (_where, worker) => {
        const exchange = Mdp3Exchange.synthetic({ codec, instruments: 2, packets: 600, seed: 7 });
        const symbols = exchange.instruments.map((i) => i.symbol);
        const { run, sender } = await replay(
          exchange,
          symbols,
          {
            dropA: [10, 11],
            dropBoth: [200],
            duplicate: [300],
            corrupt: [400],
            reorder: [500],
          },
          { worker },
        );
        expect(sender.stats().faults).toMatchObject({ dropA: 2, dropBoth: 1, duplicate: 1, corrupt: 1, reorder: 1 });
        await waitFor(() => run.feed.stats()!.recoveries >= 2 * symbols.length + symbols.length && run.feed.stats()!.processed >= 598, {
          what: 'the recoveries after the two packets lost on both lines',
          deadlineMs: 30_000,
          state: () => JSON.stringify(run.feed.stats()),
        });
        const stats = run.feed.stats()!;
        expect(stats).toMatchObject({ gaps: 2, lostPackets: 2 }); // 200 (dropped) and 400 (unreadable on both lines)
        expect(stats.corrupt).toBe(2); // packet 400, on A and on B
        const statuses = run.events.filter((e): e is Status => e.type === 'status');
        // Each unreadable copy is said; the hole they leave is the gap below.
        expect(statuses.filter((s) => s.kind === 'corrupt').map((s) => [s.symbol, /incremental [AB] packet/.test(s.detail)])).toEqual([
          ['*', true],
          ['*', true],
        ]);
        expect(statuses.filter((s) => s.symbol === '*' && s.kind === 'gap' && s.fromSeq !== null).map((s) => [s.fromSeq, s.toSeq])).toEqual(
          [
            [200n, 200n],
            [400n, 400n],
          ],
        );
        for (const symbol of symbols) {
          expect(statuses.filter((s) => s.symbol === symbol).map((s) => s.kind)).toEqual([
            'gap',
            'resync',
            'gap',
            'resync',
            'gap',
            'resync',
          ]);
        }
        // The books at the end are the exchange's, level for level.
        const books = new Books();
        for (const e of run.events) books.apply(e);
        for (const inst of exchange.instruments) {
          const want = exchange.bookAt(inst.securityId, exchange.packetCount);
          const scale = run.events.find((e): e is BookUpdate => e.type === 'book' && e.symbol === inst.symbol)!.priceScale;
          for (const side of ['bid', 'ask'] as const) {
            const got = books.top(inst.symbol, side, 100).map(([p, z]): [bigint, bigint] => [p * 10n ** BigInt(9 - scale), z]);
            expect(got, `${inst.symbol} ${side}`).toEqual(want[side]);
            // The engine's own book too: valid again after each resync, level for level.
            const book = run.engine.book(inst.symbol);
            const levels = Array.from({ length: book.depth(side) }, (_, i): [bigint, bigint] => {
              const l = book.level(side, i)!;
              return [l.price * 10n ** BigInt(9 - scale), l.size];
            });
            expect(book.valid, `${inst.symbol} engine book valid`).toBe(true);
            expect(levels, `${inst.symbol} ${side} engine book`).toEqual(want[side]);
          }
        }
        // Nothing delivered twice (B's copies, the duplicate, the reordered packet).
        const trades = run.events.filter((e) => e.type === 'trade').map((e) => `${e.symbol} ${e.tsEvent} ${e.seq}`);
        expect(new Set(trades).size).toBe(trades.length);
      },
    );
  });

  it('an MBO book over multicast, a packet lost on both lines: orders from the MBO snapshot loop, a gap, the orders rebuilt, and the engine book equal to the exchange', async () => {
    const exchange = Mdp3Exchange.synthetic({ codec, instruments: 2, packets: 600, seed: 9 });
    const symbols = exchange.instruments.map((i) => i.symbol);
    const { run } = await replay(exchange, symbols, { dropBoth: [300] }, { book: 'mbo', worker: true });
    await waitFor(() => (run.feed.stats()?.recoveries ?? 0) >= 2 * symbols.length && run.feed.stats()!.processed >= 599, {
      what: 'the recovery after the packet lost on both lines',
      deadlineMs: 30_000,
      state: () => JSON.stringify(run.feed.stats()),
    });
    // The engine's L2 view of each book (built from the orders) against the exchange's orders
    // summed per price, once the ring has handed the engine the last packet's events.
    const views = (): { got: Map<bigint, bigint>[]; want: Map<bigint, bigint>[] } => {
      const got: Map<bigint, bigint>[] = [];
      const want: Map<bigint, bigint>[] = [];
      for (const inst of exchange.instruments) {
        const book = run.engine.book(inst.symbol);
        const scale = 10n ** BigInt(9 - book.priceScale);
        for (const side of ['bid', 'ask'] as const) {
          const g = new Map<bigint, bigint>();
          for (let i = 0; i < book.depth(side); i++) g.set(book.level(side, i)!.price * scale, book.level(side, i)!.size);
          const w = new Map<bigint, bigint>();
          for (const o of exchange.ordersAt(inst.securityId, exchange.packetCount).values()) {
            if (o.side === side) w.set(o.price, (w.get(o.price) ?? 0n) + o.size);
          }
          got.push(g);
          want.push(w);
        }
      }
      return { got, want };
    };
    const same = (): boolean => {
      const { got, want } = views();
      return got.every((g, i) => g.size === want[i]!.size && [...g].every(([p, z]) => want[i]!.get(p) === z));
    };
    await waitFor(same, { what: 'the engine books to take the last packet', deadlineMs: 10_000 }).catch(() => undefined);
    const { got, want } = views();
    expect(got).toEqual(want);
    expect(want.every((w) => w.size > 0)).toBe(true);
    for (const inst of exchange.instruments) {
      const book = run.engine.book(inst.symbol);
      expect(book.valid).toBe(true);
      expect(book.stats()).toMatchObject({ unknownOrders: 0, duplicateOrders: 0 });
    }
    expect(run.events.filter((e) => e.type === 'book')).toEqual([]);
    for (const symbol of symbols) {
      const said = run.events.filter((e): e is Status => e.type === 'status' && e.symbol === symbol);
      expect(said.map((s) => s.kind)).toEqual(['gap', 'resync', 'gap', 'resync']);
      expect(said[3]!.detail).toMatch(/orders rebuilt from the MBO snapshot of packet \d+/);
    }
  });

  it.each([
    ['the engine thread', false],
    ['a handler thread', true],
  ] as const)('lines that go quiet, the handler on %s: a stale status, then the engine joins the groups again', async (_where, worker) => {
    const ch = channels();
    const run = startFeed(ch.all, ['ESH1'], 300, { worker });
    await waitFor(() => run.events.filter((e) => e.type === 'status' && e.kind === 'connected').length >= 2, {
      what: 'a stale status and the reconnect that follows it',
      deadlineMs: 30_000,
    });
    const kinds = run.events.filter((e): e is Status => e.type === 'status').map((e) => e.kind);
    expect(kinds.slice(0, 2)).toEqual(['connected', 'stale']);
    expect(kinds).toContain('disconnected');
  });
});

import type { Clock, Instrument, MarketEvent } from '@mdcap/core';
import type { BookView, RealtimeEngine } from '@mdcap/engine';
import type { LatencyStages } from './metrics.js';
import type { Appender } from './subscriber.js';
import { ProtoWriter, writeEvent, writeInstrument, writeSnapshot } from './wire.js';

/** What a subscription streams (proto `EventKind`, by the names of the event model). */
export type ItemKind = 'trade' | 'quote' | 'book' | 'order' | 'bar' | 'status' | 'snapshot' | 'instrument';

/** What one subscriber wants of a source. */
export interface Selection {
  readonly kinds: ReadonlySet<ItemKind>;
  /** null: every symbol of the source. A venue-wide status (symbol `*`) reaches everyone. */
  readonly symbols: ReadonlySet<string> | null;
  /** Bar intervals (s) to stream. */
  readonly bars: ReadonlySet<number>;
  /** Snapshot depth (levels per side) and the least time between two snapshots of a symbol. */
  readonly depth: number;
  readonly cadenceNs: bigint;
}

interface Member {
  readonly sub: Appender;
  readonly sel: Selection;
  /** The selection's event kinds as bits of KIND_BIT (looked up once per event, not a Set per member). */
  readonly kinds: number;
  readonly snapshots: boolean;
  readonly lastSnapshot: Map<string, bigint>;
}

const KIND_BIT: Record<MarketEvent['type'], number> = { trade: 1, quote: 2, book: 4, order: 8, bar: 16, status: 32 };

function kindBits(kinds: ReadonlySet<ItemKind>): number {
  let bits = 0;
  for (const k of kinds) if (k !== 'snapshot' && k !== 'instrument') bits |= KIND_BIT[k];
  return bits;
}

/**
 * The engine's callbacks, encoded once per event and handed to every subscriber that wants
 * the event. Registered in `mdcap replay`'s order (trades, quotes, book, orders, bars,
 * statuses: each event reaches one of them, so the stream is the engine's dispatch order), with
 * a snapshot right after the book or order event that made it.
 */
export class Fanout {
  /** Replaced, never changed in place: a subscriber leaving mid-event does not shift the others. */
  private members: readonly Member[] = [];
  private readonly scratch = new ProtoWriter(4096);
  private readonly snap = new ProtoWriter(4096);

  constructor(
    engine: RealtimeEngine,
    private readonly clock: Clock,
    private readonly stages: LatencyStages,
    /** Live feeds time the venue→tsRecv and tsRecv→dispatch stages; a replay's tsRecv is history. */
    private readonly live: boolean,
  ) {
    engine.onTrade((e) => this.deliver(e, null));
    engine.onQuote((e) => this.deliver(e, null));
    engine.onBookUpdate((e, book) => this.deliver(e, book));
    engine.onOrderUpdate((e, book) => this.deliver(e, book));
    engine.onBar((e) => this.deliver(e, null));
    engine.onStatus((e) => this.deliver(e, null));
  }

  get size(): number {
    return this.members.length;
  }

  /** Adds a subscriber; with kind `instrument` its symbols' definitions go first. */
  add(sub: Appender, sel: Selection, instruments: readonly Instrument[]): void {
    if (sel.kinds.has('instrument')) {
      const w = new ProtoWriter(1024);
      for (const i of instruments) {
        if (sel.symbols !== null && !sel.symbols.has(i.symbol)) continue;
        w.reset();
        writeInstrument(w, i);
        sub.append(w.buf, 0, w.pos);
      }
    }
    const member = { sub, sel, kinds: kindBits(sel.kinds), snapshots: sel.depth > 0 && sel.kinds.has('snapshot'), lastSnapshot: new Map() };
    this.members = [...this.members, member];
  }

  remove(sub: Appender): void {
    this.members = this.members.filter((m) => m.sub !== sub);
  }

  private deliver(e: MarketEvent, book: BookView | null): void {
    if (this.live && e.type !== 'bar') {
      this.stages.record('venue_to_recv', Number(e.tsRecv - e.tsEvent));
      this.stages.record('recv_to_dispatch', Number(this.clock.now() - e.tsRecv));
    }
    const bit = KIND_BIT[e.type];
    const members = this.members;
    // One subscriber (every replay, a live feed with one client): encoded straight into its batch.
    const alone = members.length === 1;
    let encoded = false;
    for (let i = 0; i < members.length; i++) {
      const m = members[i]!;
      const sel = m.sel;
      if (sel.symbols !== null && e.symbol !== '*' && !sel.symbols.has(e.symbol)) continue;
      if ((m.kinds & bit) !== 0 && (e.type !== 'bar' || sel.bars.has(e.interval))) {
        if (alone) {
          m.sub.appendEvent(e);
        } else {
          if (!encoded) {
            this.scratch.reset();
            writeEvent(this.scratch, e);
            encoded = true;
          }
          m.sub.append(this.scratch.buf, 0, this.scratch.pos);
        }
      }
      if (book !== null && m.snapshots) this.snapshot(m, e, book);
    }
  }

  private snapshot(m: Member, e: MarketEvent, book: BookView): void {
    if (m.sel.cadenceNs > 0n) {
      const last = m.lastSnapshot.get(e.symbol);
      if (last !== undefined && e.tsRecv - last < m.sel.cadenceNs) return;
      m.lastSnapshot.set(e.symbol, e.tsRecv);
    }
    const top = book.top(m.sel.depth);
    this.snap.reset();
    writeSnapshot(this.snap, e, book.valid, book.priceScale, book.sizeScale, top.bids, top.asks);
    m.sub.append(this.snap.buf, 0, this.snap.pos);
  }
}

import { BookFlags, formatDecimal, MdcapError, nsToIso, rescale } from '@mdcap/core';
import type { Bar, MarketEvent, OrderUpdate, Trade } from '@mdcap/core';
import { DBN_PRICE_SCALE, DbnFlags, RType, SCHEMA_RTYPES } from './constants.js';
import type { DbnMetadata } from './metadata.js';
import type { DbnRecord } from './records.js';

/** The schemas a capture maps back to, and the event type each takes. */
export const EXPORT_SCHEMAS: Readonly<Record<string, { readonly types: ReadonlySet<string>; readonly interval?: number }>> = {
  trades: { types: new Set(['trade']) },
  mbo: { types: new Set(['order', 'trade']) },
  'ohlcv-1s': { types: new Set(['bar']), interval: 1 },
  'ohlcv-1m': { types: new Set(['bar']), interval: 60 },
  'ohlcv-1h': { types: new Set(['bar']), interval: 3600 },
  'ohlcv-1d': { types: new Set(['bar']), interval: 86_400 },
};

const U32_MAX = 2n ** 32n - 1n;
const ORDER_ACTION: Readonly<Record<string, string>> = { add: 'A', modify: 'M', cancel: 'C', fill: 'F', clear: 'R' };

/** `YYYYMMDD` of a time (UTC). */
function ymd(ns: bigint): number {
  const d = new Date(Number(ns / 1_000_000n));
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/**
 * mdcap events as DBN records of one schema (`EXPORT_SCHEMAS`): prices rescaled to DBN's 1e-9
 * exactly, sizes as whole numbers (a size with decimals cannot be a DBN size: an error names
 * the event), instrument ids as given (a Databento import keeps them), else numbered by symbol
 * with the metadata's mappings saying so. `publisher_id`, `ts_in_delta` and `channel_id` are 0,
 * flags carry only LAST and SNAPSHOT: events do not keep the rest.
 */
export class EventsToDbn {
  readonly records: DbnRecord[] = [];
  private readonly ids = new Map<string, number>();

  constructor(
    private readonly schema: string,
    known: ReadonlyMap<string, number>,
  ) {
    for (const [s, id] of known) this.ids.set(s, id);
  }

  idOf(symbol: string): number {
    let id = this.ids.get(symbol);
    if (id === undefined) {
      const used = new Set(this.ids.values());
      id = 1;
      while (used.has(id)) id++;
      this.ids.set(symbol, id);
    }
    return id;
  }

  get symbolIds(): ReadonlyMap<string, number> {
    return this.ids;
  }

  /** True for the events this schema takes (its event types; bars of its interval). */
  accepts(e: MarketEvent): boolean {
    const spec = EXPORT_SCHEMAS[this.schema]!;
    return spec.types.has(e.type) && (e.type !== 'bar' || e.interval === spec.interval);
  }

  /** DBN v3 metadata for the records so far: their time range, and `symbols` mapped to their ids. */
  metadata(dataset: string, symbols: readonly string[]): DbnMetadata {
    const records = this.records;
    let start = (records[0]?.['ts_event'] as bigint | undefined) ?? 0n;
    let end = start;
    for (const r of records) {
      const t = r['ts_event'] as bigint;
      if (t < start) start = t;
      if (t > end) end = t;
    }
    const used = [...this.ids].filter(([s]) => symbols.includes(s));
    return {
      version: 3,
      dataset: dataset.length <= 15 ? dataset : dataset.slice(0, 15),
      schema: this.schema,
      start,
      end: end + 1n,
      limit: 0n,
      stypeIn: 'raw_symbol',
      stypeOut: 'instrument_id',
      tsOut: false,
      symbolCstrLen: 71,
      symbols: used.map(([s]) => s),
      partial: [],
      notFound: [],
      mappings: used.map(([s, id]) => ({
        rawSymbol: s,
        intervals: [{ startDate: ymd(start), endDate: ymd(end + 86_400_000_000_000n), symbol: String(id) }],
      })),
    };
  }

  private price(e: MarketEvent, v: bigint, scale: number): bigint {
    try {
      return rescale(v, scale, DBN_PRICE_SCALE);
    } catch (error) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `export dbn: ${e.type} ${e.venue}:${e.symbol} at ${nsToIso(e.tsRecv)}: expected a price DBN can hold (9 decimals, 64 bits), found one at scale ${scale}: ${(error as Error).message}`,
      );
    }
  }

  private size(e: MarketEvent, v: bigint, scale: number, max: bigint = U32_MAX): bigint {
    let whole: bigint;
    try {
      whole = rescale(v, scale, 0);
    } catch {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `export dbn: ${e.type} ${e.venue}:${e.symbol} at ${nsToIso(e.tsRecv)}: expected a whole size (DBN sizes are integers), found ${formatDecimal(v, scale)}`,
      );
    }
    if (whole > max)
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `export dbn: ${e.type} ${e.venue}:${e.symbol}: size ${whole} is beyond ${max}`);
    return whole;
  }

  add(e: MarketEvent): void {
    const head = { rtype: 0, publisher_id: 0, instrument_id: this.idOf(e.symbol), ts_event: e.tsEvent };
    const seq = e.seq === null ? 0 : Number(e.seq & U32_MAX);
    if (e.type === 'trade') {
      const t: Trade = e;
      const trade = {
        price: this.price(e, t.price, t.priceScale),
        size: Number(this.size(e, t.size, t.sizeScale)),
        action: 'T',
        side: t.side === 'buy' ? 'B' : t.side === 'sell' ? 'A' : 'N',
        flags: 0,
        ts_recv: e.tsRecv,
        ts_in_delta: 0,
        sequence: seq,
      };
      if (this.schema === 'mbo') this.records.push({ ...head, rtype: RType.Mbo, order_id: 0n, channel_id: 0, ...trade });
      else this.records.push({ ...head, rtype: RType.Mbp0, depth: 0, ...trade });
    } else if (e.type === 'order') {
      const o: OrderUpdate = e;
      let flags = 0;
      if ((o.flags & BookFlags.Last) !== 0 || (o.flags & BookFlags.SnapshotEnd) !== 0) flags |= DbnFlags.Last;
      if ((o.flags & BookFlags.Snapshot) !== 0) flags |= DbnFlags.Snapshot;
      if (typeof o.orderId !== 'bigint' || o.orderId < 0n || o.orderId >= 2n ** 64n) {
        throw new MdcapError(
          'MDCAP_ERR_INVALID_OPTION',
          `export dbn: order ${e.venue}:${e.symbol}: expected a numeric order id (u64), found ${String(o.orderId)}`,
        );
      }
      this.records.push({
        ...head,
        rtype: RType.Mbo,
        order_id: o.orderId,
        price: o.action === 'clear' ? 2n ** 63n - 1n : this.price(e, o.price, o.priceScale),
        size: Number(this.size(e, o.size, o.sizeScale)),
        flags,
        channel_id: 0,
        action: ORDER_ACTION[o.action]!,
        side: o.action === 'clear' ? 'N' : o.side === 'bid' ? 'B' : 'A',
        ts_recv: e.tsRecv,
        ts_in_delta: 0,
        sequence: seq,
      });
    } else if (e.type === 'bar') {
      const b: Bar = e;
      this.records.push({
        ...head,
        rtype: SCHEMA_RTYPES[this.schema]![0]!,
        ts_event: b.start,
        open: this.price(e, b.open, b.priceScale),
        high: this.price(e, b.high, b.priceScale),
        low: this.price(e, b.low, b.priceScale),
        close: this.price(e, b.close, b.priceScale),
        volume: this.size(e, b.volume, b.sizeScale, 2n ** 64n - 1n),
      });
    }
  }
}

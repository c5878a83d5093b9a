import { ALL_SYMBOLS, BarFlags, checkSameScale, createBar, EventError, NS_PER_SECOND } from '@mdcap/core';
import type { Bar, Status, TimerScheduler, Trade, TradeBatch } from '@mdcap/core';

/** Which timestamp buckets a trade: the venue's (`tsEvent`, default) or the local receive time. */
export type BarTimestamp = 'tsEvent' | 'tsRecv';
/** `skip`: a bucket without trades gives no bar (default). `emit`: it gives a bar with volume 0 and OHLC at the previous close. */
export type EmptyBarPolicy = 'skip' | 'emit';

export interface BarOptions {
  readonly timestamp: BarTimestamp;
  readonly graceNs: bigint;
  readonly emptyBars: EmptyBarPolicy;
}

export interface BarStats {
  readonly emitted: number;
  readonly empty: number;
  readonly partial: number;
  readonly gapFlagged: number;
  /** Trades (counted once per interval) that arrived after their bucket had closed, and were left out of it. */
  readonly lateTrades: number;
}

interface Interval {
  readonly seconds: number;
  readonly ns: bigint;
  readonly slot: number;
}

// A bucket's 64-bit integers are kept as 32-bit halves in number fields (the high word signed,
// the low word unsigned), compared and summed that way: a trade then costs no bigint (a bigint
// read from a column, or stored into an object, is an allocation and a GC write barrier).
const TWO32 = 4294967296;

/** The 64-bit integer of halves (high signed, low unsigned). */
function join64(h: number, l: number): bigint {
  return (BigInt(h) << 32n) | BigInt(l);
}

class Bucket {
  openHi: number;
  openLo: number;
  highHi: number;
  highLo: number;
  lowHi: number;
  lowLo: number;
  closeHi: number;
  closeLo: number;
  volumeHi = 0;
  volumeLo = 0;
  readonly startHi: number;
  readonly startLo: number;
  readonly endHi: number;
  readonly endLo: number;
  trades = 0;

  constructor(
    readonly series: Series,
    readonly interval: Interval,
    readonly start: bigint,
    readonly end: bigint,
    readonly closeAt: bigint,
    /** The price open, high, low and close start at (the previous close, for empty bars). */
    prev: bigint,
  ) {
    const w = HALVES;
    w[0] = prev;
    w[1] = start;
    w[2] = end;
    this.openHi = this.highHi = this.lowHi = this.closeHi = HALVES_HI[1]!;
    this.openLo = this.highLo = this.lowLo = this.closeLo = HALVES_LO[0]!;
    this.startHi = HALVES_HI[3]!;
    this.startLo = HALVES_LO[2]!;
    this.endHi = HALVES_HI[5]!;
    this.endLo = HALVES_LO[4]!;
  }
}

/** Scratch for splitting bigints into halves: store into the BigInt64Array, read the 32-bit views. */
const HALVES = new BigInt64Array(3);
const HALVES_HI = new Int32Array(HALVES.buffer);
const HALVES_LO = new Uint32Array(HALVES.buffer);

/**
 * Trade columns seen as 32-bit halves, for {@link BarAggregator.addRow}: the bucketing time, the
 * price and the size of each row. Built by {@link BarAggregator.rowsOf}, once per batch.
 */
export interface TradeRows {
  batch: TradeBatch;
  readonly ts: BigInt64Array;
  readonly tsHi: Int32Array;
  readonly tsLo: Uint32Array;
  readonly price: BigInt64Array;
  readonly priceHi: Int32Array;
  readonly priceLo: Uint32Array;
  readonly size: BigInt64Array;
  readonly sizeHi: Int32Array;
  readonly sizeLo: Uint32Array;
}

/** A [from, to] range (inclusive) of bucketing time in which data may be missing; `to` null while open. */
interface GapRange {
  from: bigint;
  to: bigint | null;
}

interface GapLog {
  readonly ranges: GapRange[];
  open: GapRange | null;
}

/** Bar state of one venue and symbol. Opaque outside this module. */
export interface BarSeries {
  readonly venue: string;
  readonly symbol: string;
}

interface Series extends BarSeries {
  /** Emission order among series: the order of their first trade (-1 before it). */
  index: number;
  readonly venue: string;
  readonly symbol: string;
  priceScale: number;
  sizeScale: number;
  /** Bucket last traded into, per interval slot: the fast path. */
  readonly current: (Bucket | null)[];
  /** Every open bucket per interval slot (usually one; more while tsEvent straddles a boundary). */
  readonly open: Bucket[][];
  /** End of the latest closed bucket per interval slot. */
  readonly closedEnd: bigint[];
  /** Close of the last bar emitted per interval slot (for empty bars). */
  readonly lastClose: (bigint | null)[];
  /** Bucketing time of the last trade ([0]); `hasTraded` says whether it is set. */
  readonly lastTs: BigInt64Array;
  /** `lastTs` as 32-bit words, for stores from halves (low word first). */
  readonly lastWords: Int32Array;
  hasTraded: boolean;
  readonly gaps: GapLog;
}

const MAX_GAP_RANGES = 256;

function floorTo(ts: bigint, ns: bigint): bigint {
  const r = ts % ns;
  return r < 0n ? ts - r - ns : ts - r;
}

function overlaps(log: GapLog, start: bigint, end: bigint): boolean {
  if (log.open !== null && log.open.from < end) return true;
  for (const g of log.ranges) if (g.from < end && g.to! >= start) return true;
  return false;
}

function addRange(log: GapLog, range: GapRange): void {
  log.ranges.push(range);
  if (log.ranges.length > MAX_GAP_RANGES) log.ranges.shift();
}

/**
 * Tick-to-OHLCV bars for any number of intervals. A bucket `[t, t + I)` closes when the clock
 * reaches `t + I + grace`, on a clock timer: live that is wall time, in replay the virtual clock,
 * and since the engine runs due timers before each event (see `Clock.runDue`), a bucket closes at
 * the same point of the event stream in both. Buckets are aligned to multiples of the interval
 * since the Unix epoch.
 */
export class BarAggregator {
  private readonly intervals: Interval[] = [];
  private readonly byVenue = new Map<string, Map<string, Series>>();
  /** Series by symbol alone, for the first venue seen with that symbol: one lookup on the hot path. */
  private readonly bySymbol = new Map<string, Series>();
  private readonly venueGaps = new Map<string, GapLog>();
  private readonly pending = new Map<bigint, { timer: number; buckets: Bucket[] }>();
  private seriesCount = 0;
  private lastSeries: Series | null = null;
  /** Buckets of the trade being added, one per interval (reused). */
  private readonly found: (Bucket | null)[] = [];
  private readonly useRecv: boolean;
  private counters = { emitted: 0, empty: 0, partial: 0, gapFlagged: 0, lateTrades: 0 };
  /** Buckets opened so far: each sets a timer (its close), which the engine watches for between rows. */
  bucketsOpened = 0;

  constructor(
    private readonly clock: TimerScheduler,
    private readonly options: BarOptions,
    private readonly emit: (bar: Bar) => void,
  ) {
    this.useRecv = options.timestamp === 'tsRecv';
  }

  /** Interval lengths in seconds, in the order they were added. */
  get intervalSeconds(): number[] {
    return this.intervals.map((i) => i.seconds);
  }

  get active(): boolean {
    return this.intervals.length > 0;
  }

  /** Adds an interval (validated by the caller); adding one twice is a no-op. */
  addInterval(seconds: number): void {
    if (this.intervals.some((i) => i.seconds === seconds)) return;
    const slot = this.intervals.length;
    this.intervals.push({ seconds, ns: BigInt(seconds) * NS_PER_SECOND, slot });
    for (const m of this.byVenue.values()) {
      for (const s of m.values()) {
        s.current.push(null);
        s.open.push([]);
        s.closedEnd.push(-(2n ** 63n));
        s.lastClose.push(null);
      }
    }
  }

  /** The series of a venue and symbol, created on first use. Callers may keep it for {@link addTrade}. */
  series(venue: string, symbol: string): BarSeries {
    return this.seriesOf(venue, symbol);
  }

  private seriesOf(venue: string, symbol: string): Series {
    const last = this.lastSeries;
    if (last !== null && last.symbol === symbol && last.venue === venue) return last;
    const quick = this.bySymbol.get(symbol);
    if (quick !== undefined && quick.venue === venue) return (this.lastSeries = quick);
    let m = this.byVenue.get(venue);
    if (m === undefined) {
      m = new Map();
      this.byVenue.set(venue, m);
    }
    let s = m.get(symbol);
    if (s === undefined) {
      const n = this.intervals.length;
      const lastTs = new BigInt64Array(1);
      s = {
        index: -1,
        venue,
        symbol,
        priceScale: -1,
        sizeScale: -1,
        current: new Array<Bucket | null>(n).fill(null),
        open: Array.from({ length: n }, () => []),
        closedEnd: new Array<bigint>(n).fill(-(2n ** 63n)),
        lastClose: new Array<bigint | null>(n).fill(null),
        lastTs,
        lastWords: new Int32Array(lastTs.buffer),
        hasTraded: false,
        gaps: { ranges: [], open: null },
      };
      m.set(symbol, s);
      if (!this.bySymbol.has(symbol)) this.bySymbol.set(symbol, s);
    }
    this.lastSeries = s;
    return s;
  }

  /**
   * Adds a trade to its bucket in every interval. Returns the number of intervals for which it
   * was late (its bucket had closed); those are counted and left out.
   * @throws {EventError} `MDCAP_ERR_SCALE_MISMATCH` when the trade's scales differ from the series'.
   */
  onTrade(t: Trade): number {
    return this.addTrade(this.seriesOf(t.venue, t.symbol), t);
  }

  /** {@link onTrade} with the trade's series already looked up (the engine's hot path). */
  addTrade(series: BarSeries, t: Trade): number {
    const s = series as Series;
    if (s.priceScale !== t.priceScale || s.sizeScale !== t.sizeScale) {
      if (s.priceScale === -1) {
        s.priceScale = t.priceScale;
        s.sizeScale = t.sizeScale;
      } else {
        checkSameScale(t, 'priceScale', s.priceScale, t.priceScale);
        checkSameScale(t, 'sizeScale', s.sizeScale, t.sizeScale);
      }
    }
    const ts = this.useRecv ? t.tsRecv : t.tsEvent;
    // Stored into a typed array (no allocation), read back as halves.
    const w = HALVES;
    w[0] = ts;
    w[1] = t.price;
    w[2] = t.size;
    const hi = HALVES_HI;
    const lo = HALVES_LO;
    const th = hi[1]!;
    const tl = lo[0]!;
    const ph = hi[3]!;
    const pl = lo[2]!;
    const sh = hi[5]!;
    const sl = lo[4]!;
    const n = this.intervals.length;
    let late = 0;
    if (n === 1) {
      // The common case, in one pass; the volume is checked before anything changes.
      let b: Bucket | null = s.current[0] ?? null;
      if (b === null || !holds(b, th, tl)) b = this.locate(s, 0, ts, t.tsRecv);
      if (b === null) late = 1;
      else {
        if (!fits(b, sh, sl)) throw volumeOverflow(t, b);
        apply(b, ph, pl, sh, sl);
      }
    } else {
      // Find every bucket and check every volume first: a trade goes into all its bars or none.
      const found = this.found;
      for (let k = 0; k < n; k++) {
        let b: Bucket | null = s.current[k] ?? null;
        if (b === null || !holds(b, th, tl)) b = this.locate(s, k, ts, t.tsRecv);
        if (b !== null && !fits(b, sh, sl)) throw volumeOverflow(t, b);
        found[k] = b;
      }
      for (let k = 0; k < n; k++) {
        const b = found[k]!;
        if (b === null) late++;
        else apply(b, ph, pl, sh, sl);
      }
    }
    if (!s.hasTraded) {
      s.hasTraded = true;
      s.index = this.seriesCount++;
    }
    s.lastTs[0] = ts;
    if (late > 0) this.counters.lateTrades += late;
    return late;
  }

  private rowCache: TradeRows | null = null;

  /** The halves of a batch's columns for {@link addRow}; cached while the batch's arrays stay the same. */
  rowsOf(batch: TradeBatch): TradeRows {
    const ts = this.useRecv ? batch.tsRecv : batch.tsEvent;
    const c = this.rowCache;
    if (c !== null && c.ts === ts && c.price === batch.price && c.size === batch.size) {
      c.batch = batch;
      return c;
    }
    const half = (a: BigInt64Array) =>
      [new Int32Array(a.buffer, a.byteOffset, a.length * 2), new Uint32Array(a.buffer, a.byteOffset, a.length * 2)] as const;
    const [tsHi, tsLo] = half(ts);
    const [priceHi, priceLo] = half(batch.price);
    const [sizeHi, sizeLo] = half(batch.size);
    const rows = { batch, ts, tsHi, tsLo, price: batch.price, priceHi, priceLo, size: batch.size, sizeHi, sizeLo };
    this.rowCache = rows;
    return rows;
  }

  /**
   * Row `r` of trade columns ({@link rowsOf}), as {@link addTrade} would add `rows.batch.trade(r)`,
   * without building the trade or a bigint: the engine's path for trades that come as columns.
   * Anything but the common case (the row's buckets are the series' current ones, its scales the
   * series', its volume fits) goes to {@link addTrade} with the row's trade.
   */
  addRow(series: BarSeries, rows: TradeRows, r: number): number {
    const s = series as Series;
    const batch = rows.batch;
    const th = rows.tsHi[2 * r + 1]!;
    const tl = rows.tsLo[2 * r]!;
    const ph = rows.priceHi[2 * r + 1]!;
    const pl = rows.priceLo[2 * r]!;
    const sh = rows.sizeHi[2 * r + 1]!;
    const sl = rows.sizeLo[2 * r]!;
    if (batch.priceScale[r] !== s.priceScale || batch.sizeScale[r] !== s.sizeScale) return this.addTrade(s, batch.trade(r));
    const n = this.intervals.length;
    const current = s.current;
    if (n === 1) {
      const b = current[0] ?? null;
      if (b === null || !holds(b, th, tl) || !fits(b, sh, sl)) return this.addTrade(s, batch.trade(r));
      apply(b, ph, pl, sh, sl);
    } else {
      for (let k = 0; k < n; k++) {
        const b = current[k] ?? null;
        if (b === null || !holds(b, th, tl) || !fits(b, sh, sl)) return this.addTrade(s, batch.trade(r));
      }
      for (let k = 0; k < n; k++) apply(current[k]!, ph, pl, sh, sl);
    }
    if (!s.hasTraded) {
      s.hasTraded = true;
      s.index = this.seriesCount++;
    }
    const last = s.lastWords;
    last[0] = tl;
    last[1] = th;
    return 0;
  }

  private locate(s: Series, k: number, ts: bigint, recv: bigint): Bucket | null {
    const iv = this.intervals[k]!;
    const start = floorTo(ts, iv.ns);
    const end = start + iv.ns;
    if (end + this.options.graceNs <= recv || end <= s.closedEnd[k]!) return null;
    const open = s.open[k]!;
    for (const b of open) {
      if (b.start === start) {
        s.current[k] = b;
        return b;
      }
    }
    const b = this.openBucket(s, iv, start);
    s.current[k] = b;
    return b;
  }

  private openBucket(s: Series, iv: Interval, start: bigint): Bucket {
    const end = start + iv.ns;
    const b = new Bucket(s, iv, start, end, end + this.options.graceNs, s.lastClose[iv.slot] ?? 0n);
    this.bucketsOpened++;
    s.open[iv.slot]!.push(b);
    let entry = this.pending.get(b.closeAt);
    if (entry === undefined) {
      const at = b.closeAt;
      entry = { timer: this.clock.setTimer(at, () => this.closeDue(at)), buckets: [] };
      this.pending.set(at, entry);
    }
    entry.buckets.push(b);
    return b;
  }

  /** Records a data-quality status; buckets overlapping the affected time get {@link BarFlags.Gap}. */
  onStatus(st: Status): void {
    const kind = st.kind;
    const affects =
      kind === 'gap' || kind === 'resync' || kind === 'disconnected' || kind === 'reconnected' || (kind === 'checksum' && st.ok === false);
    if (!affects) return;
    const ts = this.useRecv ? st.tsRecv : st.tsEvent;
    if (st.symbol === ALL_SYMBOLS) {
      let log = this.venueGaps.get(st.venue);
      if (log === undefined) {
        log = { ranges: [], open: null };
        this.venueGaps.set(st.venue, log);
      }
      let from = ts;
      for (const s of this.byVenue.get(st.venue)?.values() ?? []) {
        if (s.hasTraded && s.lastTs[0]! < from) from = s.lastTs[0]!;
      }
      this.record(log, kind, from, ts);
    } else {
      const s = this.seriesOf(st.venue, st.symbol);
      const from = s.hasTraded && s.lastTs[0]! < ts ? s.lastTs[0]! : ts;
      this.record(s.gaps, kind, from, ts);
    }
  }

  private record(log: GapLog, kind: Status['kind'], from: bigint, to: bigint): void {
    if (kind === 'disconnected') {
      log.open ??= { from, to: null };
    } else if (kind === 'reconnected') {
      if (log.open !== null) {
        log.open.to = to;
        addRange(log, log.open);
        log.open = null;
      } else {
        addRange(log, { from, to });
      }
    } else {
      addRange(log, { from, to });
    }
  }

  private closeDue(at: bigint): void {
    const entry = this.pending.get(at);
    if (entry === undefined) return;
    this.pending.delete(at);
    const buckets = entry.buckets.sort(order);
    for (const b of buckets) this.closeBucket(b, at, false);
  }

  private closeBucket(b: Bucket, tsRecv: bigint, flushing: boolean): void {
    const s = b.series;
    const slot = b.interval.slot;
    const open = s.open[slot]!;
    open.splice(open.indexOf(b), 1);
    if (s.current[slot] === b) s.current[slot] = null;
    if (b.end > s.closedEnd[slot]!) s.closedEnd[slot] = b.end;
    const empty = b.trades === 0;
    if (empty && (this.options.emptyBars === 'skip' || s.lastClose[slot] === null || flushing)) return;
    // A bucket whose end the clock has passed is complete even if its grace had not run out.
    let flags = flushing && b.end > tsRecv ? BarFlags.Partial : 0;
    if (empty) flags |= BarFlags.Empty;
    const vg = this.venueGaps.get(s.venue);
    if (overlaps(s.gaps, b.start, b.end) || (vg !== undefined && overlaps(vg, b.start, b.end))) flags |= BarFlags.Gap;
    const close = join64(b.closeHi, b.closeLo);
    s.lastClose[slot] = close;
    this.counters.emitted++;
    if (empty) this.counters.empty++;
    if ((flags & BarFlags.Partial) !== 0) this.counters.partial++;
    if ((flags & BarFlags.Gap) !== 0) this.counters.gapFlagged++;
    this.emit(
      createBar({
        venue: s.venue,
        symbol: s.symbol,
        tsEvent: b.end,
        tsRecv,
        interval: b.interval.seconds,
        start: b.start,
        end: b.end,
        open: join64(b.openHi, b.openLo),
        high: join64(b.highHi, b.highLo),
        low: join64(b.lowHi, b.lowLo),
        close,
        volume: join64(b.volumeHi, b.volumeLo),
        trades: b.trades,
        priceScale: s.priceScale,
        sizeScale: s.sizeScale,
        flags,
      }),
    );
    // Keep the empty-bar chain going: the next bucket exists even if no trade comes.
    if (this.options.emptyBars === 'emit' && !flushing) {
      const next = b.end;
      if (!open.some((x) => x.start === next)) this.openBucket(s, b.interval, next);
    }
  }

  /**
   * Emits every open bucket that has trades (when the engine stops or the data ends), in close
   * order, and cancels the close timers. A bucket whose end is after `tsRecv` is flagged
   * {@link BarFlags.Partial}; one that has ended is complete, its grace period cut short.
   */
  flush(tsRecv: bigint): void {
    const times = [...this.pending.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const at of times) {
      const entry = this.pending.get(at)!;
      this.clock.clearTimer(entry.timer);
      this.pending.delete(at);
      for (const b of entry.buckets.sort(order)) this.closeBucket(b, tsRecv, true);
    }
  }

  /** Forgets all series and open buckets (after flush). */
  reset(): void {
    for (const { timer } of this.pending.values()) this.clock.clearTimer(timer);
    this.pending.clear();
    this.byVenue.clear();
    this.bySymbol.clear();
    this.venueGaps.clear();
    this.lastSeries = null;
    this.seriesCount = 0;
  }

  stats(): BarStats {
    return { ...this.counters };
  }
}

/** Whether time (th, tl) is in the bucket's [start, end). */
function holds(b: Bucket, th: number, tl: number): boolean {
  return (th > b.startHi || (th === b.startHi && tl >= b.startLo)) && (th < b.endHi || (th === b.endHi && tl < b.endLo));
}

/** Whether the bucket's volume plus size (sh, sl) stays in the signed 64-bit range. */
function fits(b: Bucket, sh: number, sl: number): boolean {
  const h = b.volumeHi + sh + (b.volumeLo + sl >= TWO32 ? 1 : 0);
  return h <= 0x7fffffff && h >= -0x80000000;
}

/** Adds a trade of price (ph, pl) and size (sh, sl) to the bucket (its volume checked by {@link fits}). */
function apply(b: Bucket, ph: number, pl: number, sh: number, sl: number): void {
  if (b.trades === 0) {
    b.openHi = b.highHi = b.lowHi = ph;
    b.openLo = b.highLo = b.lowLo = pl;
  } else if (ph > b.highHi || (ph === b.highHi && pl > b.highLo)) {
    b.highHi = ph;
    b.highLo = pl;
  } else if (ph < b.lowHi || (ph === b.lowHi && pl < b.lowLo)) {
    b.lowHi = ph;
    b.lowLo = pl;
  }
  b.closeHi = ph;
  b.closeLo = pl;
  const l = b.volumeLo + sl;
  if (l >= TWO32) {
    b.volumeLo = l - TWO32;
    b.volumeHi += sh + 1;
  } else {
    b.volumeLo = l;
    b.volumeHi += sh;
  }
  b.trades++;
}

function volumeOverflow(t: Trade, b: Bucket): EventError {
  return new EventError(
    'MDCAP_ERR_DECIMAL_RANGE',
    `bar ${t.venue}:${t.symbol} ${b.interval.seconds}s at ${b.start}: volume would pass the signed 64-bit range adding size ${t.size}n`,
  );
}

/** Emission order of buckets closing at the same time: shorter interval first, then series first seen. */
function order(a: Bucket, b: Bucket): number {
  return a.interval.seconds - b.interval.seconds || a.series.index - b.series.index;
}

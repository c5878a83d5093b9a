import { BarFlags, BookFlags, formatDecimal, nsToIso } from '@mdcap/core';
import type { Bar, MarketEvent } from '@mdcap/core';
import type { BookView } from '@mdcap/engine';

/**
 * Human-readable output. The `--json` forms are the canonical event JSON of @mdcap/core
 * (`formatEventJson`) plus the `top` line below; those are what users diff and hash
 * (docs/cli.md). The text forms are for reading and may change.
 */

const px = (m: bigint | null, scale: number): string => (m === null ? '-' : formatDecimal(m, scale));
const sz = (m: bigint, scale: number): string => formatDecimal(m, scale, { trim: true });

function barFlags(flags: number): string {
  return [flags & BarFlags.Gap ? 'gap' : '', flags & BarFlags.Empty ? 'empty' : '', flags & BarFlags.Partial ? 'partial' : '']
    .filter(Boolean)
    .join(',');
}

function bookFlags(flags: number): string {
  const f = [
    flags & BookFlags.SnapshotBegin ? 'begin' : '',
    flags & BookFlags.Snapshot ? 'snapshot' : '',
    flags & BookFlags.SnapshotEnd ? 'end' : '',
  ];
  const s = f.filter(Boolean).join(',');
  return s === '' ? '' : ` [${s}]`;
}

/** One line per event: time, kind, venue:symbol, the kind's fields. */
export function eventText(e: MarketEvent): string {
  const head = `${nsToIso(e.tsRecv)} ${e.type.padEnd(6)} ${e.venue}:${e.symbol}`;
  const seq = e.seq === null ? '' : ` seq ${e.seq}`;
  switch (e.type) {
    case 'trade':
      return `${head} ${px(e.price, e.priceScale)} x ${sz(e.size, e.sizeScale)} ${e.side}${seq}`;
    case 'quote':
      return `${head} ${px(e.bidPrice, e.priceScale)} x ${sz(e.bidSize, e.sizeScale)} / ${px(e.askPrice, e.priceScale)} x ${sz(e.askSize, e.sizeScale)}${seq}`;
    case 'book':
      return `${head} ${e.side} ${px(e.price, e.priceScale)} = ${sz(e.size, e.sizeScale)}${bookFlags(e.flags)}${seq}`;
    case 'order':
      return `${head} ${e.action} #${e.orderId} ${e.side} ${px(e.price, e.priceScale)} x ${sz(e.size, e.sizeScale)}${seq}`;
    case 'bar':
      return barRow(e);
    case 'status': {
      const range = e.fromSeq === null ? '' : ` seq ${e.fromSeq}..${e.toSeq}`;
      const ok = e.ok === null ? '' : e.ok ? ' ok' : ' FAILED';
      return `${head} ${e.kind}${ok}${range}: ${e.detail}`;
    }
  }
}

export const BAR_HEADER: string = `${'bucket start (UTC)'.padEnd(20)} ${'bar'.padEnd(6)} ${'symbol'.padEnd(9)} ${'open'.padStart(10)} ${'high'.padStart(10)} ${'low'.padStart(10)} ${'close'.padStart(10)} ${'volume'.padStart(14)} ${'trades'.padStart(7)}  flags`;

/** A bar as a table row (see {@link BAR_HEADER}). */
export function barRow(b: Bar): string {
  return [
    nsToIso(b.start).slice(0, 19).replace('T', ' ').padEnd(20),
    `${b.interval}s`.padEnd(6),
    b.symbol.padEnd(9),
    px(b.open, b.priceScale).padStart(10),
    px(b.high, b.priceScale).padStart(10),
    px(b.low, b.priceScale).padStart(10),
    px(b.close, b.priceScale).padStart(10),
    sz(b.volume, b.sizeScale).padStart(14),
    b.trades.toLocaleString('en-US').padStart(7),
    `  ${barFlags(b.flags)}`,
  ].join(' ');
}

/**
 * The `top` line after a book or order event: the best `depth` levels of each side, best
 * first, as `[price, size]` pairs of exact decimal strings.
 */
export function topJson(e: MarketEvent, book: BookView, depth: number): string {
  const top = book.top(depth);
  const pairs = (levels: { price: bigint; size: bigint }[]): [string, string][] =>
    levels.map((l) => [formatDecimal(l.price, book.priceScale), formatDecimal(l.size, book.sizeScale)]);
  return JSON.stringify({
    type: 'top',
    venue: e.venue,
    symbol: e.symbol,
    tsEvent: e.tsEvent.toString(),
    tsRecv: e.tsRecv.toString(),
    seq: e.seq === null ? null : e.seq.toString(),
    valid: book.valid,
    bids: pairs(top.bids),
    asks: pairs(top.asks),
  });
}

export function topText(e: MarketEvent, book: BookView, depth: number): string {
  const top = book.top(depth);
  const side = (levels: { price: bigint; size: bigint }[]): string =>
    levels.map((l) => `${px(l.price, book.priceScale)}x${sz(l.size, book.sizeScale)}`).join(' ') || '-';
  return `${nsToIso(e.tsRecv)} top    ${e.venue}:${e.symbol} bids ${side(top.bids)} | asks ${side(top.asks)}${book.valid ? '' : ' (invalid)'}`;
}

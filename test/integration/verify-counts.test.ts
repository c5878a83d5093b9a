import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ALL_SYMBOLS, BookFlags, createBookUpdate, createStatus, createTrade } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { mdcap, recordEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What `mdcap verify` counts (issue 10, item 11): a venue that loops back is one out-of-order
 * run, not one per event of it; a book snapshotted again after a reconnect is a resync, as
 * docs/cli.md says, and is not counted twice when the feed also said `resync`.
 */

const dir = tempDir('verify-counts');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const T0 = 1_704_205_800_000_000_000n;
const venue = 'demo';

let t = T0;
const at = (): { venue: string; tsEvent: bigint; tsRecv: bigint } => {
  t += 1_000_000n;
  return { venue, tsEvent: t, tsRecv: t };
};
const trade = (seq: bigint, price: bigint): MarketEvent =>
  createTrade({ ...at(), symbol: 'AAPL', seq, price, size: 1n, priceScale: 2, sizeScale: 0 });
const snapshot = (symbol: string): MarketEvent[] => [
  createBookUpdate({
    ...at(),
    symbol,
    side: 'bid',
    price: 100n,
    size: 5n,
    priceScale: 2,
    sizeScale: 0,
    flags: BookFlags.Snapshot | BookFlags.SnapshotBegin,
  }),
  createBookUpdate({
    ...at(),
    symbol,
    side: 'ask',
    price: 101n,
    size: 5n,
    priceScale: 2,
    sizeScale: 0,
    flags: BookFlags.Snapshot | BookFlags.SnapshotEnd | BookFlags.Last,
  }),
];
const status = (kind: 'disconnected' | 'reconnected' | 'resync', symbol = ALL_SYMBOLS): MarketEvent =>
  createStatus({ ...at(), symbol, kind, detail: kind });

async function verify(events: readonly MarketEvent[], name: string): Promise<Record<string, unknown>> {
  const root = join(dir, name);
  await recordEvents(root, events, { feed: venue, symbols: ['AAPL', 'MSFT'] });
  return JSON.parse(mdcap(['verify', root, '--json']).stdout) as Record<string, unknown>;
}

describe('mdcap verify counts', () => {
  it('a loop-back of the sequence is one out-of-order run, however long', async () => {
    const events: MarketEvent[] = [];
    for (let s = 1n; s <= 10n; s++) events.push(trade(s, 100n + s));
    for (let s = 3n; s <= 14n; s++) events.push(trade(s, 200n + s)); // the venue starts over at 3, then goes on
    const r = await verify(events, 'loop');
    expect(r).toMatchObject({ outOfOrder: 1, gapsUnrecorded: 0, duplicates: 0 });
  });

  it('books snapshotted again after a reconnect are resyncs, each counted once', async () => {
    const events: MarketEvent[] = [
      ...snapshot('AAPL'),
      ...snapshot('MSFT'),
      status('disconnected'),
      status('reconnected'),
      ...snapshot('AAPL'),
      status('resync', 'MSFT'), // the feed said so itself: not counted again at the snapshot
      ...snapshot('MSFT'),
      ...snapshot('AAPL'), // a later snapshot with no reconnect before it: not a resync
    ];
    const r = await verify(events, 'reconnect');
    expect(r).toMatchObject({ resyncs: 2, gapsRecorded: 1 });
  });
});

/**
 * L2 book updates: a random walk of level updates concentrated near the top, applied to
 * OrderBook. Baseline: the same updates into an unordered Map per side (no sorting, no
 * best-price tracking). Usage: node dist/book.js [updates=5e6]
 */
import { BookFlags } from '@mdcap/core';
import type { BookUpdate } from '@mdcap/core';
import { BookTopBuffer, OrderBook } from '@mdcap/engine';
import { arg, report, seededRandom, since } from './measure.js';

const N = arg(0, 5_000_000);
const rnd = seededRandom(12345);

// Updates as objects, built up front (a feed handler hands these over).
const updates: BookUpdate[] = new Array<BookUpdate>(N);
{
  let mid = 100_000;
  for (let i = 0; i < N; i++) {
    if (rnd(100) === 0) mid += rnd(3) - 1;
    const bid = rnd(2) === 0;
    const depth = rnd(8) < 6 ? rnd(5) : rnd(50); // mostly near the top
    const price = BigInt(bid ? mid - 1 - depth : mid + 1 + depth);
    const size = rnd(4) === 0 ? 0n : BigInt(1 + rnd(1000));
    updates[i] = {
      type: 'book',
      venue: 'bench',
      symbol: 'X',
      tsEvent: BigInt(i),
      tsRecv: BigInt(i),
      seq: null,
      side: bid ? 'bid' : 'ask',
      price,
      size,
      priceScale: 2,
      sizeScale: 0,
      flags: BookFlags.Last,
    };
  }
}

{
  const bids = new Map<bigint, bigint>();
  const asks = new Map<bigint, bigint>();
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const u = updates[i]!;
    const m = u.side === 'bid' ? bids : asks;
    if (u.size === 0n) m.delete(u.price);
    else m.set(u.price, u.size);
  }
  report({
    bench: 'book',
    case: 'baseline: same updates into an unordered Map per side',
    items: N,
    seconds: since(t0),
    note: `${bids.size}/${asks.size} levels`,
  });
}
{
  const book = new OrderBook('bench', 'X');
  book.applyBookUpdate({ ...updates[0]!, size: 0n, flags: BookFlags.SnapshotBegin | BookFlags.SnapshotEnd });
  let crossings = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) if (book.applyBookUpdate(updates[i]!)) crossings++;
  report({
    bench: 'book',
    case: 'OrderBook.applyBookUpdate (sorted levels, best price, crossed check per update)',
    items: N,
    seconds: since(t0),
    note: `${book.depth('bid')}/${book.depth('ask')} levels, ${crossings} crossings`,
  });
}
// The top 10 levels read after every update (what a strategy looking at depth does): as new
// objects (`top`), and into one reusable buffer (`topInto`). Each beside the updates alone above.
{
  const book = new OrderBook('bench', 'X');
  book.applyBookUpdate({ ...updates[0]!, size: 0n, flags: BookFlags.SnapshotBegin | BookFlags.SnapshotEnd });
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    book.applyBookUpdate(updates[i]!);
    const t = book.top(10);
    sum += t.bids.length + t.asks.length;
  }
  report({ bench: 'book', case: 'update + top(10) read (new level objects)', items: N, seconds: since(t0), note: `${sum} levels read` });
}
{
  const book = new OrderBook('bench', 'X');
  book.applyBookUpdate({ ...updates[0]!, size: 0n, flags: BookFlags.SnapshotBegin | BookFlags.SnapshotEnd });
  const buffer = new BookTopBuffer();
  let sum = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    book.applyBookUpdate(updates[i]!);
    book.topInto(10, buffer);
    sum += buffer.bids + buffer.asks;
  }
  report({ bench: 'book', case: 'update + topInto(10) read (a reused buffer)', items: N, seconds: since(t0), note: `${sum} levels read` });
}

#!/usr/bin/env node
// The TypeScript side of the Python client's Trade test: runs the test strategy in-process on a
// BacktestSession over a capture (no server) and prints its fills as canonical text, their
// SHA-256 and the summary's counts and money, as one JSON line.
//
//   node ts_backtest.mjs CAPTURE_DIR [--entry NS] [--ack NS] [--feed NS] [--chase] [--maker RATE] [--taker RATE]
//
// The strategy (the same as tests/test_trade.py's and packages/serve/test/trade.test.ts'): every
// 20th AAPL trade, a limit buy two ticks below the trade's price and a market sell of 100 by
// turns; every third time, first a cancel of the oldest limit order still open; with --chase, an
// IOC sell of 100 at the price of every third fill, from the fill's callback.
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const load = (pkg) => import(join(repo, 'packages', pkg, 'dist/index.js'));
const [{ RealtimeEngine }, { ReplayProvider }, { BacktestSession }] = await Promise.all(['engine', 'replay', 'backtest'].map(load));

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    entry: { type: 'string', default: '0' },
    ack: { type: 'string', default: '0' },
    feed: { type: 'string', default: '0' },
    maker: { type: 'string', default: '0' },
    taker: { type: 'string', default: '0' },
    chase: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) throw new Error('usage: ts_backtest.mjs CAPTURE_DIR [--entry NS] [--ack NS] [--feed NS] [--chase]');

const provider = ReplayProvider.open(resolve(positionals[0]), { speed: 'max' });
const engine = new RealtimeEngine(provider, { books: true, barGraceMs: 250, barTimestamp: 'tsEvent' });
const session = new BacktestSession(engine, {
  latency: { entry: BigInt(values.entry), ack: BigInt(values.ack), feed: BigInt(values.feed) },
  fees: { maker: values.maker, taker: values.taker },
});
const broker = engine.orders;
let n = 0;
let k = 0;
const open = [];
engine.onTrade((t) => {
  if (t.symbol !== 'AAPL' || ++n % 20 !== 0) return;
  k++;
  if (k % 3 === 0 && open.length > 0) broker.cancel(open.shift());
  if (k % 2 === 1) broker.submit({ symbol: 'AAPL', side: 'buy', price: t.price - 2n, size: '100', clientId: `L${k}` });
  else broker.submit({ symbol: 'AAPL', side: 'sell', size: '100', clientId: `M${k}` });
});
engine.onOrder((o) => {
  const i = open.indexOf(o.id);
  if (o.type === 'limit' && o.tif === 'gtc' && o.status === 'open' && i < 0) open.push(o.id);
  if (o.status !== 'open' && o.status !== 'pending' && i >= 0) open.splice(i, 1);
});
engine.onFill((f) => {
  if (values.chase && f.fillId % 3 === 0)
    broker.submit({ symbol: f.symbol, side: 'sell', price: f.price, size: '100', tif: 'ioc', clientId: `F${f.fillId}` });
});
await engine.run(provider.symbols);
session.finish();
const text = session.fills
  .map((f) => `${f.fillId} ${f.orderId} ${f.side} ${f.price} ${f.size} ${f.liquidity} ${f.fee} ${f.tsVenue} ${f.tsRecv}\n`)
  .join('');
const s = session.summary();
console.log(
  JSON.stringify({
    sha256: createHash('sha256').update(text).digest('hex'),
    text,
    fills: session.fills.length,
    orders: s.orders,
    cancelled: s.cancelled,
    moneyScale: s.moneyScale,
    pnl: s.pnl.toString(),
    fees: s.fees.toString(),
    turnover: s.turnover.toString(),
  }),
);

// A market maker at the top of the book, the strategy `mdcap backtest` runs in its examples:
//   mdcap backtest examples/strategies/quote-top.mjs CAPTURE [--params '{"every":20}']
//   mdcap backtest examples/strategies/quote-top.mjs --feed demo --duration 30s     (paper mode)
//
// Every `every`-th book update of a symbol it cancels its resting orders there and quotes `size`
// on both sides at the best bid and ask (post-only: it never takes), a side only while the position
// stays within `maxPosition`. The same function runs on a replay and live: it sees the market
// through `engine` and trades through `broker` (docs/backtest.md).

/** Default parameters; `--params` and each set of `--sweep` are laid over them. */
export const params = {
  every: 50, // quote on every n-th book update of a symbol
  size: '1', // per order, as decimal text at the book's size scale
  maxPosition: '3', // the largest position per symbol it builds, in the same units
};

/** A non-negative decimal text as a mantissa at `scale` (exact; extra digits are an error). */
function mantissa(text, scale) {
  const m = /^(\d+)(?:\.(\d+))?$/.exec(String(text));
  const frac = m?.[2] ?? '';
  if (m === null || frac.length > scale) throw new Error(`expected a decimal with at most ${scale} places, found ${text}`);
  return BigInt(m[1] + frac.padEnd(scale, '0'));
}

/** @param {import('@mdcap/backtest').StrategyContext} ctx */
export default function quoteTop({ engine, broker, params: p }) {
  const every = Number(p.every);
  const seen = new Map(); // venue:symbol → book updates so far
  engine.onBookUpdate((update, book) => {
    const key = `${update.venue}:${update.symbol}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n % every !== 0 || !book.valid || book.crossed) return;
    const bid = book.bestBidPrice();
    const ask = book.bestAskPrice();
    if (bid === null || ask === null) return;
    for (const o of broker.openOrders(update.symbol)) if (o.venue === update.venue) broker.cancel(o.id);
    const size = mantissa(p.size, book.sizeScale);
    const limit = mantissa(p.maxPosition, book.sizeScale);
    const position = broker.position(update.symbol, update.venue).size;
    const order = { symbol: update.symbol, venue: update.venue, size, postOnly: true };
    if (position + size <= limit) broker.submit({ ...order, side: 'buy', price: bid, clientId: `bid-${n}` });
    if (position - size >= -limit) broker.submit({ ...order, side: 'sell', price: ask, clientId: `ask-${n}` });
  });
}

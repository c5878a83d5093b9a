// Record a feed from a plain script, then check the capture: node examples/record.mjs OUT [FEED URL SYMBOLS]
//   node examples/record.mjs cap                                          the simulated venue, 3 s
//   node examples/record.mjs cap kraken ws://127.0.0.1:9000 XMR/USD,ETH/CHF  an emulator (mdcap emulate)
import { record, verifyCapture } from '@mdcap/pipeline';

const [out, feed = 'demo', url, symbols = 'AAPL,MSFT'] = process.argv.slice(2);
const stop = new AbortController();
process.once('SIGINT', () => stop.abort()); // Ctrl-C: what the ring holds is written, then the capture is finalized

const summary = await record({
  feed: { feed, symbols: symbols.split(','), ...(url === undefined ? {} : { url }) },
  out,
  durationNs: 3_000_000_000n, // or until stop.abort()
  signal: stop.signal,
});
console.log(`recorded ${summary.events} events of ${summary.feed} into ${summary.out}`);

const report = await verifyCapture(out);
console.log(`${report.rows} rows; gaps ${report.gaps}; ${report.ok ? 'clean' : report.problems.join('; ')}`);

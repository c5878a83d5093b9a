// Several feeds into one capture from a plain script: node examples/record-feeds.mjs OUT [NAME:SYM1,SYM2[@URL] …]
//   node examples/record-feeds.mjs cap                                                  the simulated venue, 3 s
//   node examples/record-feeds.mjs cap kraken:XMR/USD@ws://127.0.0.1:9000 coinbase:SKL-USD@ws://127.0.0.1:9002 demo:AAPL
import { openFeeds, record, verifyCapture } from '@mdcap/pipeline';

const [out, ...items] = process.argv.slice(2);
const specs = (items.length > 0 ? items : ['demo:AAPL,MSFT']).map((item) => {
  const [, feed, symbols, url] = /^([^:@]+)(?::([^@]*))?(?:@(.*))?$/.exec(item);
  return { feed, symbols: symbols ? symbols.split(',') : [], ...(url ? { url } : {}) };
});
// One clock, one ring, one engine; each feed reconnects on its own (here: 0.5 s apart, 3 tries).
const feeds = openFeeds(specs, { reconnect: { delaysMs: [500], maxAttempts: 3 } });
const stop = new AbortController();
process.once('SIGINT', () => stop.abort());

const seen = {};
const summary = await record({
  feeds, // record() closes them at the end
  out,
  durationNs: 3_000_000_000n,
  signal: stop.signal,
  onStart: (engine) => engine.onEvent((e) => (seen[e.venue] = (seen[e.venue] ?? 0) + 1)),
});
for (const f of summary.feeds) console.log(`${f.venue} ${f.symbols.join(',')}: ${seen[f.venue] ?? 0} events`);

const report = await verifyCapture(out);
console.log(`${report.rows} rows of ${summary.feed}; ${report.ok ? 'clean' : report.problems.join('; ')}`);

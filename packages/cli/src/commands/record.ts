import { isoToNs, MdcapError, nsToIso, VirtualClock } from '@mdcap/core';
import type { DataProvider } from '@mdcap/core';
import { datasetPath } from '@mdcap/emulators';
import { feedDefinition, feedNames, record } from '@mdcap/pipeline';
import type { FeedSpec, OverflowPolicy } from '@mdcap/pipeline';
import { MergedNatsProvider, NatsProvider, SINK_SCHEMES, attachSink, describeNatsStream, openSink } from '@mdcap/sinks';
import type { SinkHandle, SinkStats } from '@mdcap/sinks';
import type { Argv } from 'yargs';
import { badOption, parseDurationOption, parseIntOption, parseList, parseUrlOption } from '../args.js';
import { EXIT, warn } from '../command.js';
import { parseFeedsOption, readFeedsConfig } from '../feeds-option.js';
import type { FeedDefaults } from '../feeds-option.js';
import type { Command } from '../command.js';
import { count, isQuiet, LineOutput, Progress } from '../output.js';
import { tellStderr, watchParent } from '../lifecycle.js';
import { DEFAULT_MDP3_SCHEMA } from './mdp3.js';

interface RecordArgs {
  readonly feed?: string;
  readonly feeds?: readonly string[];
  readonly config?: string;
  readonly url?: string;
  readonly restUrl?: string;
  readonly key?: string;
  readonly secret?: string;
  readonly stocksFeed: string;
  readonly dataset: string;
  readonly schema: string;
  readonly start?: string;
  readonly raw: boolean;
  readonly handlerThread?: boolean;
  readonly symbols?: string;
  readonly out: string;
  readonly duration?: string;
  readonly rotate: string;
  readonly flush: string;
  readonly seed: string;
  readonly rate: string;
  readonly gapEvery?: string;
  readonly ring: string;
  readonly overflow: string;
  readonly maxDrops: string;
  readonly json: boolean;
  readonly sink?: readonly string[];
  readonly from?: string;
  readonly follow: boolean;
  readonly bloombergModule?: string;
  readonly bloombergHost?: string;
  readonly bloombergPort?: string;
  readonly channel?: string;
  readonly sbeSchema?: string;
  readonly interface?: string;
  readonly gapWait?: string;
  readonly mbo?: boolean;
}

/** Alpaca credentials from the flags, else the environment variables Alpaca's own tools use. */
function credentials(a: RecordArgs, feed: string): { key?: string; secret?: string } {
  const key = a.key ?? process.env[feed === 'databento' ? 'DATABENTO_API_KEY' : 'APCA_API_KEY_ID'];
  const secret = a.secret ?? process.env['APCA_API_SECRET_KEY'];
  return { ...(key === undefined ? {} : { key }), ...(secret === undefined ? {} : { secret }) };
}

export const recordCommand: Command<RecordArgs> = {
  command: 'record',
  describe: 'Record a live feed into a capture directory (Arrow segments finalized to Parquet)',
  builder: (y: Argv) =>
    y
      .option('feed', {
        type: 'string',
        choices: feedNames(),
        describe: `The feed (default: demo): ${feedNames()
          .map((n) => `${n} (${feedDefinition(n).describe})`)
          .join('; ')}`,
      })
      .option('feeds', {
        type: 'string',
        array: true,
        describe:
          'Several feeds at once into one capture, each NAME:SYM1,SYM2 or NAME:SYM1,SYM2@URL (demo alone: its default symbols), e.g. --feeds kraken:XBT/USD coinbase:BTC-USD@ws://127.0.0.1:9002 demo. Each event keeps its venue; each feed reconnects on its own. Instead of --feed/--symbols/--url; handlers run on the main thread',
      })
      .option('config', {
        type: 'string',
        describe:
          'With --feed cme: CME\'s channel configuration (config.xml: the multicast groups of each channel). Otherwise several feeds from a JSON file: {"feeds": [{"feed": "kraken", "symbols": ["XBT/USD"], "url": "ws://…"}, …]} (keys: feed, symbols, url, restUrl, key, secret, stocksFeed, dataset, schema, start, seed, rate, gapEvery; flags fill in the rest)',
      })
      .option('url', { type: 'string', describe: 'Venue endpoint override: an emulator (mdcap emulate) or a testnet' })
      .option('rest-url', { type: 'string', describe: 'REST base URL override (binance: depth snapshots)' })
      .option('key', {
        type: 'string',
        describe: 'alpaca: API key id (default: $APCA_API_KEY_ID); databento: API key (default: $DATABENTO_API_KEY)',
      })
      .option('secret', { type: 'string', describe: 'alpaca: API secret (default: $APCA_API_SECRET_KEY)' })
      .option('raw', {
        type: 'boolean',
        default: false,
        describe: 'Also store the raw frames with their receive times in DIR/raw/ (replay them with mdcap emulate --frames)',
      })
      .option('handler-thread', {
        type: 'boolean',
        describe:
          'Run the venue handler (socket, parsing, book sync) on its own thread, feeding the recorder through a shared ring (default with --feed); --no-handler-thread runs it on the main thread (always so with --feeds)',
      })
      .option('dataset', { type: 'string', default: 'GLBX.MDP3', describe: 'databento: the dataset (GLBX.MDP3, XNAS.ITCH, …)' })
      .option('schema', {
        type: 'string',
        default: 'trades',
        describe: 'databento: the schema to subscribe (trades, mbo, mbp-1, tbbo, bbo-1s, ohlcv-1m, status, definition)',
      })
      .option('start', {
        type: 'string',
        describe: 'databento: replay the day from this time (ISO 8601, e.g. 2024-07-01T13:30:00Z), then go live',
      })
      .option('channel', { type: 'string', describe: 'cme: the channel to record (its groups from --config config.xml), e.g. 310' })
      .option('sbe-schema', {
        type: 'string',
        describe: `cme: CME's SBE schema (templates_FixBinary.xml; default: ${DEFAULT_MDP3_SCHEMA.join('/')} of the datasets)`,
      })
      .option('interface', { type: 'string', describe: 'cme: the interface that joins the multicast groups (default 127.0.0.1)' })
      .option('gap-wait', {
        type: 'string',
        describe: 'cme: how long a packet ahead of its turn waits for the other line before the hole is a gap (default 10ms)',
      })
      .option('mbo', {
        type: 'boolean',
        describe:
          'cme: order-by-order books (MBO: every order as L3 order updates, rebuilt from the MBO snapshot loop after a loss) instead of price levels (MBP)',
      })
      .option('bloomberg-module', {
        type: 'string',
        describe: 'bloomberg: the BLPAPI binding to load, a package or a module path (default: blpapi, an optional dependency)',
      })
      .option('bloomberg-host', { type: 'string', describe: 'bloomberg: Terminal, SAPI or B-PIPE host (default: localhost)' })
      .option('bloomberg-port', { type: 'string', describe: 'bloomberg: its port (default: 8194)' })
      .option('stocks-feed', {
        type: 'string',
        default: 'iex',
        choices: ['iex', 'sip'],
        describe: 'alpaca: iex (free) or sip (consolidated)',
      })
      .option('symbols', {
        type: 'string',
        describe: 'Comma-separated symbols (demo: default all; a venue: required, as the venue names them)',
      })
      .option('out', { type: 'string', demandOption: true, describe: 'Capture directory: new, empty, or a capture to add a session to' })
      .option('duration', { type: 'string', describe: 'Stop after 500ms, 30s, 5m, 1h (default: at Ctrl-C / SIGTERM, then finalize)' })
      .option('rotate', { type: 'string', default: '1m', describe: 'Start new segments (and finalize the old ones to Parquet) every ...' })
      .option('flush', {
        type: 'string',
        default: '1s',
        describe: 'Write buffered events to disk at least every ... (the most a crash can lose)',
      })
      .option('seed', { type: 'string', default: '1', describe: 'demo: market seed' })
      .option('rate', { type: 'string', default: '1000', describe: 'demo: venue packets per second' })
      .option('gap-every', { type: 'string', describe: 'demo: lose every N-th packet of a symbol (a gap status, then a resync)' })
      .option('ring', { type: 'string', default: '65536', describe: 'Ring slots between the feed and the recorder (a power of two)' })
      .option('overflow', {
        type: 'string',
        default: 'block',
        choices: ['block', 'drop-newest', 'drop-oldest'],
        describe: 'When the ring is full: block (lose nothing) or drop (counted, and recorded as a gap)',
      })
      .option('max-drops', {
        type: 'string',
        default: '1%',
        describe:
          'With a dropping --overflow: exit 1 when more than this share of the events was dropped (each drop is recorded as a gap either way)',
      })
      .option('sink', {
        type: 'string',
        array: true,
        describe: `Also hand every event downstream (give it once per sink): ${Object.entries(SINK_SCHEMES)
          .map(([s, d]) => `${s}://… ${d}`)
          .join(
            '; ',
          )}. A slow or failed server never holds up the capture: the sink retries, and what it must drop it counts and marks with a gap status`,
      })
      .option('from', {
        type: 'string',
        describe:
          'Record what another recorder publishes: nats://HOST:PORT/VENUE reads the venue stream (MD_VENUE) from its first message; nats://HOST:PORT/VENUE,VENUE… merges several in receive-time order (--symbols default: every symbol in them)',
      })
      .option('follow', {
        type: 'boolean',
        default: true,
        describe: '--from: keep recording as messages arrive (until Ctrl-C or --duration); --no-follow stops at the end of the stream',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the final summary as one JSON object' })
      .example('mdcap record --feed demo --symbols AAPL,MSFT --out cap --duration 30s', '30 seconds of the simulated venue')
      .example('mdcap record --out cap', 'record until Ctrl-C, then finalize cleanly')
      .example('mdcap record --feed kraken --symbols XBT/USD,ETH/USD --out cap', 'Kraken books, trades and tickers until Ctrl-C')
      .example('mdcap record --feed kraken --url ws://127.0.0.1:9000 --symbols XMR/USD --out cap', 'from a local emulator (mdcap emulate)')
      .example(
        'mdcap record --feed binance --symbols BTCUSDT,ETHUSDT --out cap --duration 1h',
        'Binance books, best bid/ask and trades for an hour',
      )
      .example('mdcap record --out cap --duration 5m --rotate 1m --flush 200ms', 'Parquet files per minute; a crash loses at most 200 ms')
      .example(
        'mdcap record --feeds kraken:XBT/USD,ETH/USD coinbase:BTC-USD demo:AAPL --out cap',
        'three feeds into one capture, each event with its venue',
      )
      .example(
        'mdcap record --feeds kraken:XMR/USD@ws://127.0.0.1:9000 coinbase:SKL-USD@ws://127.0.0.1:9002 --out cap',
        'two emulators (mdcap emulate) into one capture',
      )
      .example('mdcap record --config feeds.json --out cap', 'the feeds of a JSON file')
      .example(
        'mdcap record --feed demo --out cap --sink postgres://me@db/md --sink nats://127.0.0.1:4222',
        'a capture, and the same events into PostgreSQL and onto JetStream',
      )
      .example(
        'mdcap record --from nats://10.0.0.5:4222/kraken --out cap',
        'record, on another machine, what a recorder publishes to JetStream',
      )
      .example(
        'mdcap record --from nats://10.0.0.5:4222/kraken,coinbase --no-follow --out cap',
        'two venue streams merged into one capture, up to where they end now',
      ),
  async run(a) {
    if (a.from !== undefined) return recordFrom(a);
    if (a.feeds !== undefined || (a.config !== undefined && a.feed !== 'cme')) return recordSeveral(a);
    const feed = a.feed ?? 'demo';
    if (a.raw && feed === 'databento') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--raw: expected a WebSocket venue feed (kraken, binance, coinbase, alpaca), found --feed databento, whose records are kept whole in the capture',
      );
    }
    if (a.raw && feed === 'demo') {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        '--raw: expected a venue feed (kraken, binance, coinbase, alpaca), found --feed demo, which has no wire frames',
      );
    }
    const definition = feedDefinition(feed);
    if (a.symbols === undefined && definition.defaultSymbols === null) {
      throw new MdcapError(
        'MDCAP_ERR_INVALID_OPTION',
        `--symbols: expected the ${feed} symbols to record (e.g. XBT/USD,ETH/USD), found none`,
      );
    }
    if (a.url !== undefined) {
      const schemes = definition.urlSchemes;
      if (schemes.length === 0) throw badOption('--url', `a network feed: ${feed} has no endpoint`, `--feed ${feed} --url ${a.url}`);
      parseUrlOption('--url', a.url, schemes, `${schemes[0]!}://127.0.0.1:${schemes[0] === 'tcp' ? 13000 : 9000}`);
    }
    if (a.restUrl !== undefined) parseUrlOption('--rest-url', a.restUrl, ['http', 'https'], 'http://127.0.0.1:9001');
    const symbols = a.symbols === undefined ? [...definition.defaultSymbols!] : parseList('--symbols', a.symbols);
    return runRecording(a, feed, {
      feed: {
        ...feedDefaults(a, feed),
        feed,
        symbols,
        ...(a.url === undefined ? {} : { url: a.url }),
        handlerThread: a.handlerThread ?? true,
      },
    });
  },
};

/** `--from nats://HOST:PORT/VENUE[,VENUE…]`: venues' JetStream streams, as another recorder published them (several merged in receive-time order). */
async function recordFrom(a: RecordArgs): Promise<number> {
  const from = a.from!;
  const given = [
    a.feed === undefined ? null : '--feed',
    a.feeds === undefined ? null : '--feeds',
    a.config === undefined ? null : '--config',
    a.url === undefined ? null : '--url',
    a.raw ? '--raw' : null,
  ].filter((x) => x !== null);
  if (given.length > 0) throw badOption('--from', `the only source, found ${given.join(' and ')} too`, from);
  const u = parseUrlOption('--from', from, ['nats'], 'nats://127.0.0.1:4222/kraken');
  const venues = new URL(u).pathname
    .replace(/^\//, '')
    .split(',')
    .map((v) => decodeURIComponent(v.trim()));
  if (venues.some((v) => v === '' || v.includes('/')) || new Set(venues).size !== venues.length) {
    throw badOption('--from', 'nats://HOST:PORT/VENUE[,VENUE…], the venues whose streams to record', from);
  }
  const server = `nats://${new URL(u).host}`;
  const infos = await Promise.all(venues.map((v) => describeNatsStream(server, v)));
  const streams = infos.map((i) => i.stream).join(', ');
  const symbols = a.symbols === undefined ? [...new Set(infos.flatMap((i) => i.symbols))].sort() : parseList('--symbols', a.symbols);
  if (symbols.length === 0) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--symbols: expected symbols to record, found none given and none yet in ${streams} at ${server}`,
    );
  }
  // The clock starts where the streams do: the recorder sets its timers before the first event.
  const firsts = infos.map((i) => i.firstTsRecv).filter((t) => t !== null);
  const clock = new VirtualClock(firsts.reduce((m, t) => (t < m ? t : m), firsts[0] ?? 0n));
  const provider =
    venues.length === 1
      ? new NatsProvider({ url: server, venue: venues[0]!, follow: a.follow, sequencing: infos[0]!.sequencing, clock })
      : new MergedNatsProvider({
          url: server,
          venues,
          follow: a.follow,
          sequencing: Object.fromEntries(infos.map((i) => [i.venue, i.sequencing])),
          clock,
        });
  return runRecording(a, `${streams} at ${server}`, { feed: provider, symbols });
}

/** `--feeds` / `--config`: several feeds into one capture. */
async function recordSeveral(a: RecordArgs): Promise<number> {
  const given = [
    a.feeds !== undefined && a.config !== undefined ? '--config' : null,
    a.feed === undefined ? null : '--feed',
    a.symbols === undefined ? null : '--symbols',
    a.url === undefined ? null : '--url',
  ].filter((x) => x !== null);
  const flag = a.feeds !== undefined ? '--feeds' : '--config';
  if (given.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected the feeds, their symbols and URLs in its items alone, found ${given.join(' and ')} too (use one form: --feed/--symbols/--url for one feed)`,
    );
  }
  const defaults = (name: string): FeedDefaults => feedDefaults(a, name);
  const specs = a.feeds !== undefined ? parseFeedsOption(a.feeds, defaults) : readFeedsConfig(a.config!, defaults, isoStartOf);
  return runRecording(a, specs.map((s) => s.feed).join(','), { feeds: specs });
}

/** The flags every feed takes unless its own item says otherwise. */
function feedDefaults(a: RecordArgs, feed: string): FeedDefaults {
  return {
    ...(a.restUrl === undefined ? {} : { restUrl: parseUrlOption('--rest-url', a.restUrl, ['http', 'https'], 'http://127.0.0.1:9001') }),
    ...credentials(a, feed),
    dataset: a.dataset,
    schema: a.schema,
    ...(a.start === undefined ? {} : { start: isoStart(a.start) }),
    stocksFeed: a.stocksFeed === 'sip' ? 'sip' : 'iex',
    ...(a.handlerThread === undefined ? {} : { handlerThread: a.handlerThread }),
    ...(a.bloombergModule === undefined ? {} : { bloombergModule: a.bloombergModule }),
    ...(feed === 'cme' ? cmeOptions(a) : {}),
    ...(a.bloombergHost === undefined ? {} : { bloombergHost: a.bloombergHost }),
    ...(a.bloombergPort === undefined ? {} : { bloombergPort: parseIntOption('--bloomberg-port', a.bloombergPort, 1, 65_535) }),
    seed: parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1),
    rate: parseIntOption('--rate', a.rate, 1, 1_000_000),
    ...(a.gapEvery === undefined ? {} : { gapEvery: parseIntOption('--gap-every', a.gapEvery, 1, 2 ** 31) }),
    ringCapacity: parseIntOption('--ring', a.ring, 2, 2 ** 24),
    overflow: a.overflow as OverflowPolicy,
  };
}

async function runRecording(
  a: RecordArgs,
  label: string,
  what: { feed: FeedSpec } | { feeds: FeedSpec[] } | { feed: DataProvider; symbols: string[] },
): Promise<number> {
  // Checked before anything starts: a malformed --sink is a usage error, not a failed recording.
  const sinkUrls = a.sink ?? [];
  for (const url of sinkUrls) openSink(url);
  const sinks: SinkHandle[] = [];
  const maxDrops = parsePercent('--max-drops', a.maxDrops);
  const flushNs = parseDurationOption('--flush', a.flush);
  if (flushNs < 1_000_000n) throw badOption('--flush', 'at least 1ms', a.flush);
  const rotateNs = parseDurationOption('--rotate', a.rotate);
  if (rotateNs < flushNs) throw badOption('--rotate', `at least the flush interval (--flush ${a.flush})`, a.rotate);
  const progress = new Progress();
  const t0 = performance.now();
  // Signals are handled from the start: one during start-up stops as soon as recording runs.
  const stop = new AbortController();
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const s of signals) {
    const h = (): void => {
      if (stop.signal.aborted) {
        warn(
          'record',
          'interrupted again while finalizing: exiting now (mdcap verify --repair or the next record recovers what was flushed)',
        );
        process.exit(130);
      }
      progress.done();
      if (process.stderr.isTTY === true && !isQuiet()) process.stderr.write('stopping: finalizing the open segments…\n');
      stop.abort();
    };
    handlers.set(s, h);
    process.on(s, h);
  }
  // Started through a wrapper that was killed (`pnpm mdcap record`, a script): finalize and exit
  // rather than record forever, holding the lock.
  const unwatch = watchParent((parent) => {
    tellStderr(`mdcap record: the parent process ${parent} is gone: stopping and finalizing, as for SIGTERM`);
    stop.abort();
  });
  const sinkStats: SinkStats[] = [];
  const durationNs = a.duration === undefined ? undefined : parseDurationOption('--duration', a.duration);
  const { manifest: _m, ...recorded } = await record({
    ...what,
    raw: a.raw,
    out: a.out,
    ...(durationNs === undefined ? {} : { durationNs }),
    rotateNs,
    flushMs: Number(flushNs / 1_000_000n),
    signal: stop.signal,
    onProgress: (p) =>
      progress.update(
        () => {
          const secs = (performance.now() - t0) / 1000;
          return `recording ${label} → ${a.out}: ${count(p.events)} events (${count(Math.round(p.events / Math.max(secs, 0.001)))}/s) · ${count(p.rowsFlushed)} rows written · ${p.filesFinalized} Parquet files · ${count(p.ringDrops)} drops · ${count(p.statuses)} statuses · ${secs.toFixed(0)} s`;
        },
        durationNs === undefined ? undefined : Number(p.elapsedNs) / Number(durationNs),
      ),
    onError: (e) => warn('record', e.toString()),
    onStart: (engine, source) => {
      for (const url of sinkUrls) {
        let reported = false;
        sinks.push(
          attachSink(engine, openSink(url, { sequencing: source.sequencing }), {
            // The first failure of a run of failures is said; the sink retries either way.
            onError: (e, attempt) => {
              if (attempt === 1 && !reported) warn('record', `${e.message} (retrying)`);
              reported = attempt === 1;
            },
          }),
        );
      }
    },
  }).finally(async () => {
    sinkStats.push(...(await Promise.all(sinks.map((s) => s.close()))));
  });
  const summary = {
    ...recorded,
    ...(sinkStats.length === 0 ? {} : { sinks: sinkStats.map((s) => ({ ...s, lagNs: s.lagNs?.toString() ?? null })) }),
  };
  unwatch();
  for (const [s, h] of handlers) process.off(s, h);
  progress.done();
  const out = new LineOutput();
  if (a.json) out.line(JSON.stringify(summary));
  else {
    const secs = Number(BigInt(summary.end) - BigInt(summary.start)) / 1e9;
    out.line(
      `recorded ${summary.feed} ${summary.symbols.join(',')} into ${summary.out} (session ${summary.session}): ${count(summary.events)} events in ${secs.toFixed(1)} s, ` +
        `${summary.filesFinalized} Parquet files, ${summary.ringDrops} ring drops, until ${nsToIso(BigInt(summary.end))}`,
    );
    for (const f of summary.feeds ?? []) {
      const r = f.reconnects;
      const lost = r.losses === 0 ? '' : `; ${r.losses} connection(s) lost, ${r.succeeded} of ${r.attempts} reconnect attempt(s) succeeded`;
      const end = f.state === 'gave-up' ? '; gave up reconnecting' : f.state === 'ended' ? '; its data ended' : '';
      out.line(`  ${f.name} (venue ${f.venue}): ${f.symbols.join(',')}${lost}${end}`);
    }
    for (const k of sinkStats) {
      const trouble = k.failures === 0 ? '' : `; ${k.failures} failed write(s), retried`;
      out.line(
        `  sink ${k.kind} ${k.target}: ${count(k.written)} events in ${k.batches} batches${trouble}${k.dropped === 0 ? '' : `; ${count(k.dropped)} dropped (${k.gaps} gap statuses written)`}`,
      );
    }
    if (summary.repaired !== null) {
      out.line(
        `recovered an interrupted earlier session first: ${summary.repaired.segments} segment(s) finalized, ${summary.repaired.tornBytes} torn bytes cut`,
      );
    }
    out.line(
      `next: mdcap replay ${summary.out} --bars 60   ·   mdcap verify ${summary.out}   ·   mdcap query ${summary.out} "SELECT count(*) FROM trades"`,
    );
  }
  await out.end();
  // Drops are recorded as gaps, but a recording that lost much of its data must not look fine.
  const offered = summary.events + summary.ringDrops;
  const dropped = offered === 0 ? 0 : (summary.ringDrops * 100) / offered;
  if (summary.ringDrops > 0) {
    warn(
      'record',
      `${count(summary.ringDrops)} of ${count(offered)} events (${dropped.toFixed(dropped < 1 ? 3 : 1)}%) were dropped by the ring (--overflow ${a.overflow}); the drops are recorded as gap statuses. ` +
        `A larger --ring, or --overflow block, loses none${dropped > maxDrops ? ` (more than --max-drops ${a.maxDrops}: exit 1)` : ''}`,
    );
  }
  const sinkDrops = sinkStats.reduce((n, k) => n + k.dropped, 0);
  for (const k of sinkStats) {
    if (k.dropped > 0) {
      warn(
        'record',
        `sink ${k.kind} ${k.target} dropped ${count(k.dropped)} events (its queue filled while writes failed: ${k.lastError ?? 'no error kept'}); the capture has them all, and ${k.gaps} gap status(es) say so downstream`,
      );
    }
  }
  return summary.errors > 0 || dropped > maxDrops || sinkDrops > 0 ? EXIT.problems : EXIT.ok;
}

/** `1%`, `0.5`, `25%`: a share in percent, 0–100. */
function parsePercent(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(text.trim());
  const v = m === null ? NaN : Number(m[1]);
  if (!(v >= 0 && v <= 100)) throw badOption(flag, 'a share from 0% to 100%, such as 1% or 0.5', text);
  return v;
}

/** `--start` as ns since the epoch. */
function isoStart(text: string): bigint {
  return isoStartOf('--start', text);
}

function isoStartOf(flag: string, text: string): bigint {
  try {
    return isoToNs(text);
  } catch {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${flag}: expected an ISO 8601 time such as 2024-07-01T13:30:00Z, found "${text}"`);
  }
}

/** `--feed cme`: the channel, its config.xml, the schema (the datasets' unless given) and the interface. */
function cmeOptions(a: RecordArgs): Partial<FeedSpec> {
  return {
    ...(a.channel === undefined ? {} : { channel: parseIntOption('--channel', a.channel, 1, 65_535) }),
    ...(a.config === undefined ? {} : { channelConfig: a.config }),
    sbeSchema: a.sbeSchema ?? datasetPath(...DEFAULT_MDP3_SCHEMA),
    ...(a.interface === undefined ? {} : { multicastInterface: a.interface }),
    ...(a.gapWait === undefined ? {} : { gapWaitMs: Number(parseDurationOption('--gap-wait', a.gapWait) / 1_000_000n) }),
    ...(a.mbo === true ? { cmeBook: 'mbo' as const } : {}),
  };
}

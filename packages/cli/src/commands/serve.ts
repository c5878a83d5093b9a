import { setFlagsFromString } from 'node:v8';
import { feedNames } from '@mdcap/pipeline';
import { MarketDataServer, readPem } from '@mdcap/serve';
import { EngineViewSession, feedSource, ViewServer } from '@mdcap/view';
import type { LiveFeedOptions, StageSummary } from '@mdcap/serve';
import type { Argv } from 'yargs';
import { badOption, parseDurationOption, parseIntervals, parseIntOption, parseList, parseUrlOption } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { stopRequested, tellStderr } from '../lifecycle.js';
import { LineOutput } from '../output.js';

interface ServeArgs {
  readonly listen: string;
  readonly captures?: string;
  readonly feed?: string;
  readonly symbols?: string;
  readonly url?: string;
  readonly restUrl?: string;
  readonly key?: string;
  readonly secret?: string;
  readonly seed: string;
  readonly rate: string;
  readonly gapEvery?: string;
  readonly bars?: string;
  readonly token?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly metrics?: string;
  readonly stats?: string;
  readonly replayThreads?: string;
  readonly maxTrades?: string;
  readonly http?: string;
  readonly json: boolean;
}

function ms(ns: number): string {
  return (ns / 1e6).toFixed(3);
}

/** One line per stage: count and p50/p99/p99.9/max in ms. */
export function stagesText(stages: readonly StageSummary[]): string[] {
  return stages.map(
    (s) =>
      `  ${s.stage.padEnd(20)} ${String(s.count).padStart(12)} events  p50 ${ms(s.p50)}  p99 ${ms(s.p99)}  p99.9 ${ms(s.p999)}  max ${ms(s.max)} ms`,
  );
}

export const serveCommand: Command<ServeArgs> = {
  command: 'serve',
  describe: 'Stream live feeds and replayed captures over gRPC (proto/mdcap/v1) to strategies in any language',
  builder: (y: Argv) =>
    y
      .option('listen', {
        type: 'string',
        default: '127.0.0.1:50051',
        describe: 'host:port to serve gRPC on (port 0: any free one, printed)',
      })
      .option('captures', {
        type: 'string',
        describe: 'A directory of captures (each subdirectory one, replayed per subscriber by its name)',
      })
      .option('feed', { type: 'string', describe: `A live feed to run once and fan out: ${feedNames().join(', ')}` })
      .option('symbols', { type: 'string', describe: "The live feed's symbols, comma-separated (demo: default all)" })
      .option('url', { type: 'string', describe: "The live feed's endpoint (an emulator: mdcap emulate)" })
      .option('rest-url', { type: 'string', describe: 'binance: REST base URL for depth snapshots' })
      .option('key', { type: 'string', describe: 'alpaca / databento: API key (default: $APCA_API_KEY_ID / $DATABENTO_API_KEY)' })
      .option('secret', { type: 'string', describe: 'alpaca: API secret (default: $APCA_API_SECRET_KEY)' })
      .option('seed', { type: 'string', default: '1', describe: 'demo: market seed' })
      .option('rate', { type: 'string', default: '1000', describe: 'demo: venue packets per second' })
      .option('gap-every', { type: 'string', describe: 'demo: lose every N-th packet of a symbol' })
      .option('bars', { type: 'string', describe: 'Live feed: bar intervals in seconds its engine builds (subscribers pick among them)' })
      .option('token', { type: 'string', describe: 'Require metadata "authorization: Bearer TOKEN" on every call (default: $MDCAP_TOKEN)' })
      .option('tls-cert', { type: 'string', describe: 'PEM certificate chain: serve TLS (with --tls-key)' })
      .option('tls-key', { type: 'string', describe: 'PEM private key for --tls-cert' })
      .option('metrics', { type: 'string', describe: 'host:port for Prometheus GET /metrics (e.g. 127.0.0.1:9464)' })
      .option('stats', { type: 'string', describe: 'Print subscribers and latency per stage to stderr every ... (10s, 1m), and at exit' })
      .option('replay-threads', {
        type: 'string',
        describe: 'Worker threads that run capture replays (default: one per core but one; 0: replays on the main thread)',
      })
      .option('max-trades', {
        type: 'string',
        describe: 'Trade calls (backtests driven by a client) running at once, each on a thread of its own; more are refused (default 16)',
      })
      .option('http', {
        type: 'string',
        describe:
          "Also serve the web viewer of the live --feed on 127.0.0.1:PORT (0: any free one): the same engine session as gRPC's subscribers",
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the listening line (and --stats) as JSON objects' })
      .example('mdcap serve --captures caps', 'replay any capture under caps/ to any client, each at its own speed')
      .example('mdcap serve --feed demo --symbols AAPL,MSFT --bars 60', 'the simulated venue, live, with 1-minute bars')
      .example(
        'mdcap serve --feed kraken --url ws://127.0.0.1:9000 --symbols XMR/USD --captures caps --metrics 127.0.0.1:9464',
        'a Kraken emulator live plus captures, with Prometheus metrics',
      )
      .example('mdcap serve --feed demo --http 8321', 'the same live session in a browser too: http://127.0.0.1:8321/')
      .example('python3 -m mdcap_client subscribe 127.0.0.1:50051 --capture demo --speed 10x', 'then, from Python (clients/python)')
      .example('grpcurl -plaintext 127.0.0.1:50051 list', 'reflection: the services, for grpcurl and friends'),
  async run(a) {
    // V8 pretenures an allocation site once its objects survive young-generation collections,
    // and a feed's first catch-up burst makes the sites of events look long-lived: from then on
    // every event is allocated in the old generation, each scavenge takes ~10 ms and full
    // collections come every few seconds (measured at 100 k events/s: p99 dispatch → socket of
    // 2–3 ms instead of 0.5–0.8 ms, in about half the runs). An event lives for microseconds
    // here, so the server's process does without pretenuring (docs/serve.md).
    setFlagsFromString('--no-allocation-site-pretenuring');
    if (a.captures === undefined && a.feed === undefined) {
      throw badOption('--captures / --feed', 'something to serve: a directory of captures, a live feed, or both', 'neither');
    }
    if ((a.tlsCert === undefined) !== (a.tlsKey === undefined)) {
      throw badOption(
        '--tls-cert / --tls-key',
        'both (TLS needs the certificate and its key)',
        a.tlsCert === undefined ? '--tls-key only' : '--tls-cert only',
      );
    }
    const statsEvery = a.stats === undefined ? null : parseDurationOption('--stats', a.stats);
    const feeds: LiveFeedOptions[] = [];
    if (a.feed !== undefined) {
      if (!feedNames().includes(a.feed)) throw badOption('--feed', `one of ${feedNames().join(', ')}`, a.feed);
      const symbols =
        a.symbols === undefined ? (a.feed === 'demo' ? ['AAPL', 'MSFT', 'BTC-USD'] : null) : parseList('--symbols', a.symbols);
      if (symbols === null) throw badOption('--symbols', `the ${a.feed} symbols to serve`, 'none');
      if (a.url !== undefined) parseUrlOption('--url', a.url, ['ws', 'wss', 'tcp', 'http', 'https'], 'ws://127.0.0.1:9000');
      const key = a.key ?? process.env[a.feed === 'databento' ? 'DATABENTO_API_KEY' : 'APCA_API_KEY_ID'];
      const secret = a.secret ?? process.env['APCA_API_SECRET_KEY'];
      feeds.push({
        feed: a.feed,
        symbols,
        ...(a.url === undefined ? {} : { url: a.url }),
        ...(a.restUrl === undefined ? {} : { restUrl: a.restUrl }),
        ...(key === undefined ? {} : { key }),
        ...(secret === undefined ? {} : { secret }),
        seed: parseIntOption('--seed', a.seed, 0, 2 ** 32 - 1),
        rate: parseIntOption('--rate', a.rate, 1, 1_000_000),
        ...(a.gapEvery === undefined ? {} : { gapEvery: parseIntOption('--gap-every', a.gapEvery, 1, 2 ** 31) }),
        bars: a.bars === undefined ? [] : parseIntervals('--bars', a.bars),
      });
    } else if (a.bars !== undefined) {
      throw badOption('--bars', 'a live --feed to build bars for (capture subscribers ask for their own)', 'no --feed');
    }
    const httpPort = a.http === undefined ? null : parseIntOption('--http', a.http, 0, 65_535);
    if (httpPort !== null && feeds.length === 0) {
      throw badOption('--http', 'a live --feed to show (a capture is shown by mdcap view CAPTURE)', 'no --feed');
    }
    // The viewer picks among the live engine's bar intervals: give it some when none were asked for.
    if (httpPort !== null && feeds[0]!.bars!.length === 0) feeds[0] = { ...feeds[0]!, bars: [1, 60] };
    const token = a.token ?? process.env['MDCAP_TOKEN'];
    const server = await MarketDataServer.start({
      listen: a.listen,
      ...(a.captures === undefined ? {} : { captures: a.captures }),
      feeds,
      ...(token === undefined || token === '' ? {} : { token }),
      ...(a.tlsCert === undefined || a.tlsKey === undefined
        ? {}
        : { tls: { cert: readPem('--tls-cert', a.tlsCert), key: readPem('--tls-key', a.tlsKey) } }),
      ...(a.metrics === undefined ? {} : { metrics: a.metrics }),
      onError: (e) => warn('serve', e.toString()),
      ...(a.replayThreads === undefined ? {} : { replayThreads: parseIntOption('--replay-threads', a.replayThreads, 0, 256) }),
      ...(a.maxTrades === undefined ? {} : { maxTrades: parseIntOption('--max-trades', a.maxTrades, 0, 4096) }),
    });
    let viewer: ViewServer | null = null;
    if (httpPort !== null) {
      const f = feeds[0]!;
      const live = server.liveEngine(f.feed)!;
      try {
        viewer = await ViewServer.start({
          session: new EngineViewSession({ ...live, source: feedSource(f), intervals: f.bars ?? [] }),
          port: httpPort,
        });
      } catch (e) {
        await server.close();
        throw e;
      }
    }
    const out = new LineOutput();
    if (a.json) {
      out.line(
        JSON.stringify({
          event: 'listening',
          address: server.address,
          tls: a.tlsCert !== undefined,
          token: token !== undefined && token !== '',
          metrics: server.metricsAddress,
          captures: a.captures ?? null,
          feeds: feeds.map((f) => f.feed),
          viewer: viewer?.url ?? null,
        }),
      );
    } else {
      out.line(
        `mdcap serve: gRPC on ${server.address}${a.tlsCert === undefined ? '' : ' (TLS)'}${token === undefined || token === '' ? '' : ', bearer token required'}`,
      );
      if (a.captures !== undefined) out.line(`  captures: ${a.captures}/<name>, each subscriber its own replay`);
      for (const f of feeds) out.line(`  live: ${f.feed} ${f.symbols.join(',')}${f.bars?.length ? `, bars ${f.bars.join(',')} s` : ''}`);
      if (server.metricsAddress !== null) out.line(`  metrics: http://${server.metricsAddress}/metrics`);
      if (viewer !== null) out.line(`  viewer: ${viewer.url}`);
      out.line('Ctrl-C to stop.');
    }
    await out.end();
    const printStats = (): void => {
      const s = server.stats();
      if (a.json) {
        tellStderr(JSON.stringify({ event: 'stats', ...s }));
        return;
      }
      tellStderr(
        [
          `mdcap serve: ${s.subscribers} subscribers (${s.subscriptionsTotal} since start), ${s.eventsSent} events sent in ${s.batchesSent} batches, ${s.eventsDropped} dropped, ${s.disconnectedSlow} cut for being slow, ${s.rejected} requests refused, RSS ${(s.rssBytes / 2 ** 20).toFixed(0)} MiB`,
          ...stagesText(s.latency),
        ].join('\n'),
      );
    };
    const timer = statsEvery === null ? null : setInterval(printStats, Number(statsEvery / 1_000_000n));
    await stopRequested('serve');
    if (timer !== null) clearInterval(timer);
    await viewer?.close();
    await server.close();
    if (statsEvery !== null) printStats();
    return EXIT.ok;
  },
};

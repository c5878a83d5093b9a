import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { EMULATED_VENUES } from '@mdcap/emulators';
import type { CmeMulticast, Mdp3PacketSource, Mdp3SourcePacket } from '@mdcap/emulators';
import { channelConfigXml, SbeCodec, udpDatagrams } from '@mdcap/mdp3';
import type { ChannelConfig, ChannelProduct } from '@mdcap/mdp3';
import type { Argv } from 'yargs';
import { badOption, parseIntOption, parseList } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { LineOutput } from '../output.js';
import { listenError, stopRequested } from '../lifecycle.js';
import { checkOutFile, writeOutFile } from '../out-file.js';
import { loadMdp3Schema } from './mdp3.js';

interface EmulateArgs {
  readonly venue: string;
  readonly port: string;
  readonly host: string;
  readonly speed: string;
  readonly fault?: string;
  readonly frames?: string;
  readonly loops: string;
  readonly json: boolean;
  readonly channel: string;
  readonly configOut?: string;
  readonly force: boolean;
}

/** `--port` and `--speed`, checked. */
function portAndSpeed(a: EmulateArgs): { port: number; speed: number | 'max' } {
  const port = Number(a.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badOption('--port', 'a TCP port 0–65535', a.port);
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(a.speed);
  const speed: number | 'max' | null = a.speed === 'max' ? 'max' : m !== null && Number(m[1]) > 0 ? Number(m[1]) : null;
  if (speed === null) throw badOption('--speed', 'max or a positive multiple such as 1x, 10x, 0.5x', a.speed);
  return { port, speed };
}

async function defaultFrames(venue: string): Promise<string[]> {
  const { defaultRecordings } = await import('@mdcap/emulators');
  const files = defaultRecordings(venue);
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--frames: expected a recording to replay (give --frames FILE, or set MDCAP_DATASETS to the folder holding cryptofeed/), found no ${missing[0]}`,
    );
  }
  return files;
}

export const emulateCommand: Command<EmulateArgs> = {
  command: 'emulate',
  describe: "Run a local venue emulator: the venue's WebSocket protocol, replaying recorded traffic (test feeds and strategies offline)",
  builder: (y: Argv) =>
    y
      .option('venue', {
        type: 'string',
        default: 'kraken',
        choices: [...EMULATED_VENUES, 'databento', 'cme'],
        describe:
          'The venue protocol to speak (databento: the Live gateway over TCP, serving DBN files; cme: MDP 3.0 multicast on 127.0.0.1)',
      })
      .option('port', {
        type: 'string',
        default: '0',
        describe:
          "TCP port (0: any free port, printed); cme: line A's UDP port, B's is the next (0: 14000 + channel and 15000 + channel, as CME)",
      })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Interface to listen on' })
      .option('speed', { type: 'string', default: '1x', describe: 'Replay pace: 1x (as recorded), 10x, 0.5x, or max' })
      .option('fault', {
        type: 'string',
        describe:
          'Faults, each once, counted in data frames of a connection: drop:N, skip:N, corrupt-checksum:N, malformed:N, stall:N, reject-auth (alpaca, databento); cme, by MsgSeqNum (N or N-M): drop-a:N, drop-both:N, reorder:N, duplicate:N, corrupt:N, stall:N:MS',
      })
      .option('frames', {
        type: 'string',
        describe:
          'Comma-separated recordings in cryptofeed line format (also what record --raw writes), or DBN files for databento; cme: DBN files of GLBX.MDP3 (definitions, MBO, MBP-10, trades, status) or one pcap of MDP3 packets; default: the cryptofeed samples (databento: the ESU4 trades and MBP-1 of the NautilusTrader samples; cme: the GLBX.MDP3 ESH1 test data of databento-python/)',
      })
      .option('loops', { type: 'string', default: '1', describe: 'Play the recording this many times in a row (load tests)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the listening address as one JSON object' })
      .option('channel', { type: 'string', default: '310', describe: 'cme: the MDP3 channel id to emulate' })
      .option('config-out', {
        type: 'string',
        describe:
          "cme: write the channel's config.xml (CME's format: groups, ports) here, for the receiver (record --feed cme --config FILE)",
      })
      .option('force', { type: 'boolean', default: false, describe: 'Replace an existing --config-out file' })
      .example(
        'mdcap emulate --venue kraken --port 9000',
        'Kraken on ws://127.0.0.1:9000, replaying the recorded books, trades and tickers',
      )
      .example(
        'mdcap emulate --speed 10x --fault corrupt-checksum:100,drop:2000',
        'ten times faster, one bad checksum, one dropped connection',
      )
      .example(
        'mdcap record --feed kraken --url ws://127.0.0.1:9000 --symbols XMR/USD,XBT/CHF --out cap',
        'then, in another terminal: record from it',
      )
      .example(
        'mdcap emulate --venue databento --port 13000 --speed 10x',
        'a Databento Live gateway on tcp://127.0.0.1:13000 (record --feed databento --url tcp://127.0.0.1:13000)',
      )
      .example(
        'mdcap emulate --venue binance --port 9001',
        'Binance streams on ws://127.0.0.1:9001/stream, REST depth on http://127.0.0.1:9001',
      )
      .example(
        'mdcap emulate --venue cme --channel 310 --config-out config.xml --fault drop-both:100-102',
        'CME MDP3 channel 310 on multicast groups of 127.0.0.1 (incremental A and B, snapshot and definition loops), a gap to recover from',
      ),
  async run(a) {
    if (a.venue === 'databento') return runDatabento(a);
    if (a.venue === 'cme') return runCme(a);
    const { readRecording, parseFaults, startVenueEmulator } = await import('@mdcap/emulators');
    const { port, speed } = portAndSpeed(a);
    let faults;
    try {
      faults = parseFaults(a.fault ?? '');
    } catch (error) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', (error as Error).message);
    }
    // Alpaca has no recording: its emulator is scripted (credentials key / secret).
    const files = a.venue === 'alpaca' ? [] : a.frames === undefined ? await defaultFrames(a.venue) : parseList('--frames', a.frames);
    const lines = files.flatMap((f) => {
      if (!existsSync(f)) throw badOption('--frames', 'a recording file', f);
      try {
        return readRecording(f);
      } catch (error) {
        throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', (error as Error).message);
      }
    });
    const loops = Number(a.loops);
    if (!Number.isInteger(loops) || loops < 1) throw badOption('--loops', 'a whole number ≥ 1', a.loops);
    let emulator;
    try {
      emulator = await startVenueEmulator(a.venue, { lines, port, host: a.host, speed, faults: a.fault ?? '', loops });
    } catch (error) {
      throw listenError(error, '--port', a.host, port);
    }
    const { url } = emulator;
    const channels = emulator.channels();
    const out = new LineOutput();
    if (a.json) out.line(JSON.stringify({ venue: a.venue, url, restUrl: emulator.restUrl, port: emulator.port, channels }));
    else {
      out.line(
        `${a.venue} emulator on ${url} (REST ${emulator.restUrl}; ${lines.length} recorded lines, speed ${a.speed}${faults.length > 0 ? `, faults ${a.fault}` : ''})`,
      );
      for (const [channel, list] of Object.entries(channels)) out.line(`  ${channel}: ${list.join(', ')}`);
      out.line('Ctrl-C to stop. The recording starts with the first subscription.');
    }
    await out.end();
    await stopRequested('emulate');
    await emulator.close();
    return EXIT.ok;
  },
};

/** The Databento Live gateway emulator: DBN files served over the live protocol. */
async function runDatabento(a: EmulateArgs): Promise<number> {
  const { DatabentoGateway, datasetPath, DEFAULT_DBN_FILES } = await import('@mdcap/emulators');
  const { port, speed } = portAndSpeed(a);
  const files = a.frames === undefined ? DEFAULT_DBN_FILES.map((f) => datasetPath('nautilus-trader', f)) : parseList('--frames', a.frames);
  for (const f of files)
    if (!existsSync(f)) throw badOption('--frames', 'DBN files (or MDCAP_DATASETS set to the folder holding nautilus-trader/)', f);
  let gateway;
  try {
    gateway = await DatabentoGateway.start({ files, speed, port, ...(a.fault === undefined ? {} : { faults: a.fault }) });
  } catch (error) {
    const e = listenError(error, '--port', '127.0.0.1', port);
    throw e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_INVALID_OPTION', (error as Error).message);
  }
  const out = new LineOutput();
  if (a.json) out.line(JSON.stringify({ venue: 'databento', url: gateway.url, port: gateway.port, symbols: gateway.symbolList() }));
  else {
    out.line(
      `databento Live gateway on ${gateway.url} (${files.length} DBN file(s), speed ${a.speed}${a.fault === undefined ? '' : `, faults ${a.fault}`})`,
    );
    out.line(`  symbols: ${gateway.symbolList().join(', ')}`);
    out.line('Ctrl-C to stop. Any 32-character API key is accepted; the market starts with the first session.');
  }
  await out.end();
  await stopRequested('emulate');
  await gateway.close();
  return EXIT.ok;
}

/**
 * What `--venue cme` turns into MDP3 without `--frames`: Databento's GLBX.MDP3 test data (ESH1,
 * 2020-12-28), every schema the exchange reads, from the datasets.
 */
const DEFAULT_CME_DBN: readonly string[] = ['definition', 'mbo', 'mbp-10', 'trades', 'status'].map(
  (schema) => `GLBX.MDP3/test_data.${schema}.dbn.zst`,
);

const isPcap = (file: string): boolean => /\.pcap(ng)?$/i.test(file);

interface CmeSource {
  readonly source: Mdp3PacketSource;
  readonly packets: number;
  readonly products: readonly ChannelProduct[];
  /** What the feed is, for the banner. */
  readonly what: string;
}

/**
 * The exchange: `--frames` DBN files of GLBX.MDP3 (default: the datasets') encoded by
 * Mdp3Exchange into CME's packets and loops; or one pcap of MDP3 packets, replayed.
 */
async function cmeSource(a: EmulateArgs): Promise<CmeSource> {
  const { datasetPath, Mdp3Exchange } = await import('@mdcap/emulators');
  const frames = a.frames === undefined ? DEFAULT_CME_DBN.map((f) => datasetPath('databento-python', f)) : parseList('--frames', a.frames);
  for (const f of frames) {
    if (!existsSync(f)) {
      throw badOption(
        '--frames',
        'DBN files of GLBX.MDP3 or a pcap of MDP3 packets (or MDCAP_DATASETS set to the folder holding databento-python/)',
        f,
      );
    }
  }
  if (frames.some(isPcap)) {
    if (frames.length !== 1) throw badOption('--frames', 'DBN files of GLBX.MDP3, or one pcap of MDP3 packets alone', a.frames);
    const { source, packets } = pcapSource(frames[0]!);
    return {
      source,
      packets,
      products: [],
      what: `${packets} packets of ${frames[0]!} (no snapshot or definition loop: a capture has no book)`,
    };
  }
  const exchange = Mdp3Exchange.fromDbnFiles(new SbeCodec(loadMdp3Schema(undefined)), frames);
  // config.xml's <products>: each asset with the security groups it trades in.
  const groups = new Map<string, Set<string>>();
  for (const i of exchange.instruments) {
    let g = groups.get(i.asset);
    if (g === undefined) groups.set(i.asset, (g = new Set()));
    g.add(i.group);
  }
  return {
    source: exchange,
    packets: exchange.packetCount,
    products: [...groups].map(([code, g]) => ({ code, groups: [...g] })),
    what: `${exchange.packetCount} incremental packets of ${exchange.instruments.length} instrument(s) from ${frames.length} DBN file(s)`,
  };
}

/**
 * The incremental feed of a pcap of one MDP3 feed: each UDP datagram as it was captured, paced
 * by the capture's timestamps. A capture holds no exchange state, so the snapshot and
 * definition loops are empty.
 */
function pcapSource(file: string): { source: Mdp3PacketSource; packets: number } {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (error) {
    throw new MdcapError('MDCAP_ERR_IO', `--frames ${file}: expected a pcap file, found ${(error as Error).message}`, { cause: error });
  }
  const packets: Mdp3SourcePacket[] = [];
  for (const d of udpDatagrams(bytes, file)) {
    const p = d.payload;
    // MsgSeqNum and SendingTime from the packet header (a datagram shorter than it is sent as it is: a fault of the capture).
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    packets.push({
      seqNum: p.length >= 4 ? view.getUint32(0, true) : 0,
      sendingTime: p.length >= 12 ? view.getBigUint64(4, true) : 0n,
      tsNs: d.tsNs,
      bytes: p,
    });
  }
  if (packets.length === 0)
    throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', `--frames ${file}: expected UDP datagrams of MDP3 packets, found none`);
  return { source: { packets: () => packets, snapshotPackets: () => [], definitionPackets: () => [] }, packets: packets.length };
}

/** CME MDP 3.0 over UDP multicast on this host: the sender of @mdcap/emulators on a channel laid out as CME's. */
async function runCme(a: EmulateArgs): Promise<number> {
  const { localChannelConfig, parseCmeFaults, startCmeMulticast } = await import('@mdcap/emulators');
  const { speed } = portAndSpeed(a);
  const id = parseIntOption('--channel', a.channel, 1, 999_999);
  const port = parseIntOption('--port', a.port, 0, 65534);
  // Without --port, CME's own numbering: 14000 + channel on line A, 15000 + channel on B (14310 / 15310).
  if (port === 0 && id > 50_000) throw badOption('--port', `a UDP port for channel ${id} (14000 + channel would not be one)`, a.port);
  const faults = parseCmeFaults(a.fault ?? '');
  const out = a.configOut === undefined ? null : checkOutFile('--config-out', a.configOut, a.force);
  const { source, packets, products, what } = await cmeSource(a);
  const channel: ChannelConfig = localChannelConfig({
    id,
    portA: port === 0 ? 14_000 + id : port,
    portB: port === 0 ? 15_000 + id : port + 1,
    products,
  });
  if (out !== null) await writeOutFile(out, (tmp) => writeFileSync(tmp, channelConfigXml([channel])));
  let sender: CmeMulticast;
  try {
    // The loops keep cycling after the data's end, as CME's do, so a receiver started late still recovers.
    sender = await startCmeMulticast({ source, channel, speed, faults, lingerMs: Infinity });
  } catch (error) {
    throw error instanceof MdcapError
      ? error
      : new MdcapError('MDCAP_ERR_ADDRESS', `cme: could not open a multicast socket on 127.0.0.1: ${(error as Error).message}`, {
          cause: error,
        });
  }
  const lines = channel.connections.map((c) => ({ id: c.id, feedType: c.feedType, feed: c.feed, ip: c.ip!, port: c.port }));
  const lineOut = new LineOutput();
  if (a.json)
    lineOut.line(
      JSON.stringify({ venue: 'cme', channel: id, interface: '127.0.0.1', connections: lines, configOut: a.configOut ?? null, packets }),
    );
  else {
    lineOut.line(
      `cme MDP3 channel ${id} on multicast of 127.0.0.1, TTL 0 (${what}, speed ${a.speed}${a.fault === undefined ? '' : `, faults ${a.fault}`})`,
    );
    for (const l of lines) lineOut.line(`  ${l.id.padEnd(10)} ${l.ip}:${l.port}`);
    if (a.configOut !== undefined) lineOut.line(`  config.xml for receivers: ${a.configOut}`);
    lineOut.line('Ctrl-C to stop. The loops go on cycling after the last incremental packet.');
  }
  await lineOut.end();
  const stop = stopRequested('emulate');
  await Promise.race([stop, sender.ended]);
  const ended = sender.stats();
  if (ended.ended && !a.json)
    warn('emulate', `the incremental feed ended: ${ended.sent['IA'] ?? 0} datagrams on A, ${ended.sent['IB'] ?? 0} on B`);
  await stop;
  await sender.close();
  const s = sender.stats();
  if (s.sendErrors > 0) warn('emulate', `${s.sendErrors} datagrams were refused by the OS (the last: ${s.lastError ?? ''})`);
  return s.sendErrors > 0 ? EXIT.problems : EXIT.ok;
}

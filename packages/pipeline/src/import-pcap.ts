import type { Manifest } from '@mdcap/capture';
import { ALL_SYMBOLS, MdcapError, VirtualClock } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { CmeHandler } from '@mdcap/feeds';
import type { CmeHandlerStats } from '@mdcap/feeds';
import { SbeCodec, udpDatagrams } from '@mdcap/mdp3';
import type { PcapStats } from '@mdcap/mdp3';
import { loadCmeChannel, readInput } from './cme-files.js';
import { failedImport, openImportWriter } from './import-common.js';

export interface PcapImportOptions {
  /** A pcap or pcapng of the channel's multicast traffic (the incremental lines, and the loops for the books). */
  readonly file: string;
  readonly out: string;
  /** CME's channel configuration (`config.xml`): which group and port is which line of the channel. */
  readonly channelConfig: string;
  readonly channel: number;
  /** The SBE schema file (templates_FixBinary.xml). */
  readonly sbeSchema: string;
  /** CME symbols to import (default: every instrument the definition loop names). */
  readonly symbols?: readonly string[];
  /** Venue on the events (default `cme`). */
  readonly venue?: string;
  /** How long, on the capture's clock, a packet ahead of its turn waits for the other line (default 10 ms). */
  readonly gapWaitMs?: number;
  /** `mbp` price levels (default) or `mbo` every order, from the capture's MBO snapshot loop (SMBO). */
  readonly book?: 'mbp' | 'mbo';
  readonly keepPartial?: boolean;
  readonly replace?: boolean;
  /** Called every 65,536 datagrams of the channel with their count and how far through the file they are (0 to 1). */
  readonly onProgress?: (datagrams: number, fraction: number) => void;
}

export interface PcapImportSummary {
  readonly out: string;
  readonly format: 'pcap';
  readonly venue: string;
  readonly channel: number;
  readonly events: number;
  readonly symbols: readonly string[];
  /** What the file held: packet records, UDP datagrams, and what was skipped (not IPv4/UDP, fragments). */
  readonly pcap: PcapStats;
  /** Datagrams of the channel's groups, and of other groups (not read). */
  readonly channelDatagrams: number;
  readonly otherDatagrams: number;
  /** The handler's counts: packets per line, duplicates, gaps, lost packets, corrupt packets, recoveries. */
  readonly feed: CmeHandlerStats;
  readonly parquetFiles: number;
  readonly end: string;
  readonly replaced: readonly number[];
}

type Role = 'A' | 'B' | 'snapshot' | 'definition';

/**
 * `mdcap import pcap FILE --venue cme`: a capture of a CME channel's multicast traffic, played
 * through the same {@link CmeHandler} a live feed uses, on a virtual clock at the capture's
 * timestamps: the A/B arbitration, the books from the snapshot loop, every gap and resync as a
 * live recording would have them.
 */
export async function importPcap(o: PcapImportOptions): Promise<PcapImportSummary & { manifest: Manifest }> {
  const bytes = readInput(o.file, 'a pcap or pcapng file');
  const { config, schema } = loadCmeChannel(o);
  const codec = new SbeCodec(schema);
  const roles = new Map<string, Role>();
  for (const c of config.connections) {
    if (c.ip === undefined) continue;
    const loop = o.book === 'mbo' ? 'SMBO' : 'S';
    const role: Role | null = c.feedType === 'I' ? c.feed : c.feedType === loop ? 'snapshot' : c.feedType === 'N' ? 'definition' : null;
    // A single snapshot and definition line is enough (A, as the live feed joins).
    if (role !== null && (c.feedType === 'I' || c.feed === 'A')) roles.set(`${c.ip}:${c.port}`, role);
  }
  const venue = o.venue ?? 'cme';
  // The first datagram's time starts the clock, as a replay starts at its first event.
  const first = udpDatagrams(bytes, o.file).next();
  const start = first.done === true ? 0n : first.value.tsNs;
  const clock = new VirtualClock(start);
  // Events of a packet share its MsgSeqNum.
  const writer = await openImportWriter(o.out, venue, clock, start, [o.file], o.replace);
  const seen = new Set<string>();
  let events = 0;
  let last = start;
  const handler = new CmeHandler({
    codec,
    venue,
    symbols: o.symbols ?? 'all',
    clock,
    gapWaitNs: BigInt(Math.round((o.gapWaitMs ?? 10) * 1e6)),
    book: o.book ?? 'mbp',
    emit: (e: MarketEvent) => {
      if (e.symbol !== ALL_SYMBOLS) seen.add(e.symbol);
      if (!writer.write(e)) throw writer.failed!;
      events++;
      last = e.tsRecv;
    },
  });
  let channelDatagrams = 0;
  let otherDatagrams = 0;
  let stats: PcapStats;
  try {
    const datagrams = udpDatagrams(bytes, o.file);
    let r = datagrams.next();
    for (; r.done !== true; r = datagrams.next()) {
      const d = r.value;
      const role = roles.get(`${d.dstIp}:${d.dstPort}`);
      if (role === undefined) {
        otherDatagrams++;
        continue;
      }
      channelDatagrams++;
      // Capture times may step back a little (several capture points): the clock does not.
      if (d.tsNs > clock.now()) clock.advanceTo(d.tsNs);
      const t = clock.now();
      if (role === 'snapshot') handler.onSnapshot(d.payload, t);
      else if (role === 'definition') handler.onDefinition(d.payload, t);
      else handler.onIncremental(role, d.payload, t);
      if ((channelDatagrams & 0xffff) === 0) o.onProgress?.(channelDatagrams, d.offset / bytes.length);
    }
    stats = r.value;
    // Packets still waiting for their turn at the end are lost: their wait runs out.
    clock.advanceTo(clock.now() + BigInt(Math.round((o.gapWaitMs ?? 10) * 1e6)) + 1n);
  } catch (error) {
    writer.noteSymbols(seen);
    throw await failedImport(writer, error, o.keepPartial === true, venue, last);
  }
  if (events === 0) {
    await writer.abort();
    throw new MdcapError(
      'MDCAP_ERR_IMPORT_FORMAT',
      `${o.file}: expected MDP3 packets of channel ${o.channel} (${[...roles.keys()].join(', ')}), found ${channelDatagrams === 0 ? `none among its ${stats.udp} UDP datagrams` : `${channelDatagrams} datagrams that made no event (no instrument definitions or no snapshot for the books?)`}`,
    );
  }
  const symbolList = [...seen].sort();
  writer.noteSymbols(symbolList);
  writer.noteInstruments(handler.instruments().filter((i) => seen.has(i.symbol)));
  const manifest = await writer.close(last);
  return {
    out: o.out,
    format: 'pcap',
    venue,
    channel: o.channel,
    events,
    symbols: symbolList,
    pcap: stats,
    channelDatagrams,
    otherDatagrams,
    feed: handler.stats,
    parquetFiles: manifest.files.length,
    end: last.toString(),
    replaced: writer.replaced.map((x) => x.id),
    manifest,
  };
}

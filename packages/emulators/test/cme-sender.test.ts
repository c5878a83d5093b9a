import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { VirtualClock } from '@mdcap/core';
import { datasetPath, localChannelConfig, Mdp3Exchange, parseCmeFaults, startCmeMulticast } from '@mdcap/emulators';
import type { CmeMulticastOptions, Mdp3PacketSource, Mdp3SourcePacket } from '@mdcap/emulators';
import { channelConfigXml, findConnection, parseChannelConfig, parseSchema, SbeCodec, SbeDecimal } from '@mdcap/mdp3';
import type { ChannelConfig } from '@mdcap/mdp3';
import { describeWithDataset, waitFor } from '@mdcap/test-utils';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * The sender on real sockets: a receiver in the test joins the channel's groups on 127.0.0.1 the
 * way a feed handler does (bind to the group and port, join on the loopback interface, a large
 * receive buffer) and checks what arrives on each line.
 */

const T0 = 1_719_878_400_000_000_000n; // 2024-07-02T00:00:00Z
const ES = 5602; // a SecurityID

let codec: SbeCodec;

/** CME's v9 schema from the datasets: the same interpreter encodes the test packets and the receiver decodes them. */
function loadCodec(): void {
  const file = datasetPath('cme-mdp3', 'templates_FixBinary.v9.xml');
  codec = new SbeCodec(parseSchema(readFileSync(file, 'utf8'), file));
}

/**
 * A tiny exchange: book updates for one instrument, a two-packet MBP snapshot cycle (as packet
 * objects, as Mdp3Exchange returns them), a three-packet definition cycle (bare bytes).
 */
class TinySource implements Mdp3PacketSource {
  readonly snapshotCalls: number[] = [];
  readonly packetList: Mdp3SourcePacket[];

  constructor(count: number, stepNs = 1_000_000n) {
    this.packetList = Array.from({ length: count }, (_, i) => {
      const seqNum = i + 1;
      const tsNs = T0 + BigInt(i) * stepNs;
      const book = codec.encodeMessage('MDIncrementalRefreshBook46', {
        TransactTime: tsNs,
        MatchEventIndicator: ['LastQuoteMsg', 'EndOfEvent'],
        NoMDEntries: [
          {
            MDEntryPx: new SbeDecimal(5_500_250_000_000n + BigInt(i % 4) * 250_000_000n, -9),
            MDEntrySize: 10 + i,
            SecurityID: ES,
            RptSeq: seqNum,
            NumberOfOrders: 3,
            MDPriceLevel: 1,
            MDUpdateAction: 'Change',
            MDEntryType: i % 2 === 0 ? 'Bid' : 'Offer',
          },
        ],
        NoOrderIDEntries: [],
      });
      return { seqNum, sendingTime: tsNs, tsNs, bytes: codec.encodePacket(seqNum, tsNs, [book]) };
    });
  }

  packets(): Iterable<Mdp3SourcePacket> {
    return this.packetList;
  }

  snapshotPackets(afterSeq: number): { bytes: Uint8Array }[] {
    this.snapshotCalls.push(afterSeq);
    // MsgSeqNum 999 on purpose: the sender numbers each cycle's packets itself.
    return [ES, ES + 1].map((id) => ({
      bytes: codec.encodePacket(999, T0, [
        codec.encodeMessage('SnapshotFullRefresh52', {
          LastMsgSeqNumProcessed: afterSeq,
          TotNumReports: 2,
          SecurityID: id,
          RptSeq: id === ES ? afterSeq : 0,
          TransactTime: T0,
          LastUpdateTime: T0,
          TradeDate: 19906,
          MDSecurityTradingStatus: 'ReadyToTrade',
          HighLimitPrice: null,
          LowLimitPrice: null,
          MaxPriceVariation: null,
          NoMDEntries: [],
        }),
      ]),
    }));
  }

  definitionPackets(): Uint8Array[] {
    // Three definitions as the exchange writes them (its synthetic instruments), as bare bytes.
    return Mdp3Exchange.synthetic({ codec, instruments: 3, packets: 0, seed: 1 })
      .definitionPackets(0)
      .map((p) => p.bytes);
  }
}

/** The same, with an MBO snapshot loop: one packet per cycle, one resting order. */
class TinySourceWithMbo extends TinySource {
  orderBookSnapshotPackets(afterSeq: number): Uint8Array[] {
    const message = codec.encodeMessage('SnapshotFullRefreshOrderBook53', {
      LastMsgSeqNumProcessed: afterSeq,
      TotNumReports: 1,
      SecurityID: ES,
      NoChunks: 1,
      CurrentChunk: 1,
      TransactTime: T0,
      NoMDEntries: [
        { OrderID: 7n, MDOrderPriority: 1n, MDEntryPx: new SbeDecimal(5_500_250_000_000n, -9), MDDisplayQty: 2, MDEntryType: 'Bid' },
      ],
    });
    return [codec.encodePacket(0, T0, [message])];
  }
}

interface Arrival {
  readonly seq: number;
  readonly bytes: Uint8Array;
  /** performance.now() when it arrived. */
  readonly at: number;
}

/** Joins every multicast connection of a channel as a feed handler would; collects what arrives, per line (`IA`, `SB`…). */
class Receiver {
  readonly got = new Map<string, Arrival[]>();
  private readonly sockets: Socket[] = [];

  static async join(channel: ChannelConfig): Promise<Receiver> {
    const r = new Receiver();
    for (const c of channel.connections) {
      const conn = findConnection(channel, c.feedType, c.feed)!;
      const key = `${c.feedType}${c.feed}`;
      const list: Arrival[] = [];
      r.got.set(key, list);
      const socket = createSocket({ type: 'udp4', reuseAddr: true });
      r.sockets.push(socket);
      socket.on('message', (msg) => list.push({ seq: msg.readUInt32LE(0), bytes: new Uint8Array(msg), at: performance.now() }));
      await new Promise<void>((resolve) => socket.bind(conn.port, conn.ip, resolve));
      socket.addMembership(conn.ip, '127.0.0.1');
      socket.setRecvBufferSize(8 << 20);
    }
    return r;
  }

  seqs(key: string): number[] {
    return (this.got.get(key) ?? []).map((a) => a.seq);
  }

  count(key: string): number {
    return this.got.get(key)?.length ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all(this.sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** A channel of random groups and ports, so parallel runs and other tests do not hear each other. */
function randomChannel(): ChannelConfig {
  const portA = 20_000 + Math.floor(Math.random() * 20_000) * 2;
  const channel = localChannelConfig({ id: 310, portA, groupPrefix: `239.${100 + Math.floor(Math.random() * 150)}` });
  // The receiver reads the channel from the config.xml a user would give it.
  return parseChannelConfig(channelConfigXml([channel]), 'config.xml')[0]!;
}

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function start(options: CmeMulticastOptions): Promise<Awaited<ReturnType<typeof startCmeMulticast>>> {
  const sender = await startCmeMulticast(options);
  cleanup.push(() => sender.close());
  return sender;
}

async function receiver(channel: ChannelConfig): Promise<Receiver> {
  const r = await Receiver.join(channel);
  cleanup.push(() => r.close());
  return r;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** What `f` throws, as a rejection: `await expect(rejection(f)).rejects.toMatchObject({ code, message })`. */
const rejection = (f: () => unknown): Promise<unknown> => Promise.resolve().then(f);

describeWithDataset('cme-mdp3', 'startCmeMulticast: MDP3 multicast on 127.0.0.1', () => {
  beforeAll(loadCodec);

  it('lines A and B each get every incremental packet, in order and byte for byte, at max speed', async () => {
    const channel = randomChannel();
    const rx = await receiver(channel);
    const source = new TinySource(5000);
    const sender = await start({ source, channel, speed: 'max', lingerMs: 0 });
    await sender.ended;
    await waitFor(() => rx.count('IA') >= 5000 && rx.count('IB') >= 5000, {
      what: '5000 packets on A and B',
      state: () => `${rx.count('IA')} on A, ${rx.count('IB')} on B`,
    });
    const want = range(1, 5000);
    expect(rx.seqs('IA')).toEqual(want);
    expect(rx.seqs('IB')).toEqual(want);
    for (const key of ['IA', 'IB']) {
      const differ = rx.got.get(key)!.filter((a, i) => !Buffer.from(a.bytes).equals(source.packetList[i]!.bytes));
      expect(differ.map((a) => a.seq)).toEqual([]);
    }
    const stats = sender.stats();
    expect(stats).toMatchObject({ packets: 5000, lastSeqNum: 5000, ended: true, sendErrors: 0 });
    expect(stats.sent).toMatchObject({ IA: 5000, IB: 5000 });
    expect(Object.values(stats.faults).every((n) => n === 0)).toBe(true);
    // What the OS delivered on loopback, for the record (the test itself demands all of it).
    console.log(
      `loopback multicast at max speed: sent ${stats.sent['IA']}+${stats.sent['IB']}, received ${rx.count('IA')}+${rx.count('IB')}`,
    );
    // A decoder reads them as what the source encoded.
    const decoded = codec.decodePacket(rx.got.get('IB')![41]!.bytes);
    expect(decoded.seqNum).toBe(42);
    expect(decoded.messages[0]!.fields['NoMDEntries']).toMatchObject([{ SecurityID: ES, RptSeq: 42, MDEntryType: 'Offer' }]);
  });

  it('applies each fault to the packets named: drop on A, drop on both, reorder on A, duplicate, corrupt, stall', async () => {
    const channel = randomChannel();
    const rx = await receiver(channel);
    const source = new TinySource(60);
    const faults = parseCmeFaults('drop-a:5,drop-both:10-11,reorder:20,duplicate:30,corrupt:40,stall:50:400');
    expect(faults).toEqual({
      dropA: [5],
      dropBoth: [10, 11],
      reorder: [20],
      duplicate: [30],
      corrupt: [40],
      stall: [{ afterSeq: 50, ms: 400 }],
    });
    const sender = await start({ source, channel, speed: 'max', faults });
    await sender.ended;
    await waitFor(() => rx.seqs('IA').includes(60) && rx.seqs('IB').includes(60), { what: 'the last packet on A and B' });

    const a = [...range(1, 4), ...range(6, 9), ...range(12, 19), 21, 20, ...range(22, 29), 30, 30, ...range(31, 60)];
    const b = [...range(1, 9), ...range(12, 29), 30, 30, ...range(31, 60)];
    expect(rx.seqs('IA')).toEqual(a);
    expect(rx.seqs('IB')).toEqual(b);

    // The corrupt packet still names itself (its header is intact) but does not decode, on either line.
    for (const key of ['IA', 'IB']) {
      const bad = rx.got.get(key)!.find((p) => p.seq === 40)!;
      expect(bad.bytes.length).toBe(source.packetList[39]!.bytes.length);
      await expect(rejection(() => codec.decodePacket(bad.bytes, 'packet 40'))).rejects.toMatchObject({
        code: 'MDCAP_ERR_SBE_DECODE',
        message: expect.stringMatching(/^packet 40, byte 12: expected \d+ bytes of message/),
      });
      const good = rx.got.get(key)!.find((p) => p.seq === 41)!;
      expect(codec.decodePacket(good.bytes).seqNum).toBe(41);
    }
    // The duplicates are the same bytes.
    const dups = rx.got.get('IB')!.filter((p) => p.seq === 30);
    expect(dups[0]!.bytes).toEqual(dups[1]!.bytes);

    // Silence after packet 50 on both lines, then the rest (the exact timing is the virtual-clock test's; here the OS may
    // delay a read by a few tens of ms).
    for (const key of ['IA', 'IB']) {
      const list = rx.got.get(key)!;
      const at50 = list.find((p) => p.seq === 50)!.at;
      const at51 = list.find((p) => p.seq === 51)!.at;
      expect(at51 - at50).toBeGreaterThanOrEqual(300);
    }
    expect(sender.stats().faults).toEqual({ dropA: 1, dropBoth: 2, reorder: 1, duplicate: 1, corrupt: 1, stall: 1 });
    expect(sender.stats().sent).toMatchObject({ IA: a.length, IB: b.length });
  });

  it('cycles the snapshot and definition loops beside the feed, each cycle numbered from MsgSeqNum 1', async () => {
    const channel = randomChannel();
    const rx = await receiver(channel);
    const source = new TinySourceWithMbo(30, 10_000_000n); // 290 ms of data at speed 1
    const sender = await start({ source, channel, speed: 1, snapshotIntervalMs: 20, definitionIntervalMs: 30, lingerMs: Infinity });
    await sender.ended;
    const cycles = sender.stats().snapshotCycles;
    expect(cycles).toBeGreaterThanOrEqual(3); // the loop ran while the feed did
    // and goes on after it: two more cycles on both lines.
    await waitFor(() => rx.count('SA') >= 2 * (cycles + 2) && rx.count('SB') >= 2 * (cycles + 2), { what: 'two more snapshot cycles' });
    await waitFor(() => rx.count('NA') >= 9 && rx.count('NB') >= 9, { what: 'three definition cycles' });
    await waitFor(() => rx.count('SMBOA') >= 3 && rx.count('SMBOB') >= 3, { what: 'three MBO snapshot cycles' });

    for (const key of ['SA', 'SB']) {
      const seqs = rx.seqs(key);
      expect(seqs.slice(0, 2 * (cycles + 2))).toEqual(Array.from({ length: 2 * (cycles + 2) }, (_, i) => (i % 2) + 1));
      // Each cycle is the book after the last incremental packet sent: never behind, ending at 30.
      const processed = rx.got.get(key)!.map((p) => codec.decodePacket(p.bytes).messages[0]!.fields['LastMsgSeqNumProcessed'] as number);
      expect(processed).toEqual([...processed].sort((x, y) => x - y));
      expect(processed.at(-1)).toBe(30);
    }
    expect(source.snapshotCalls).toEqual([...source.snapshotCalls].sort((x, y) => x - y));
    expect(source.snapshotCalls.at(-1)).toBe(30);
    for (const key of ['NA', 'NB']) {
      expect(rx.seqs(key).slice(0, 9)).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3]);
      const symbols = rx.got
        .get(key)!
        .slice(0, 3)
        .map((p) => codec.decodePacket(p.bytes).messages[0]!.fields['Symbol']);
      expect(symbols).toEqual(['SYN0', 'SYN1', 'SYN2']);
    }
    for (const key of ['SMBOA', 'SMBOB']) {
      expect(rx.seqs(key).slice(0, 3)).toEqual([1, 1, 1]);
      const first = codec.decodePacket(rx.got.get(key)![0]!.bytes).messages[0]!;
      expect(first.name).toBe('SnapshotFullRefreshOrderBook53');
      expect(first.fields['NoMDEntries']).toMatchObject([{ OrderID: 7n, MDDisplayQty: 2, MDEntryType: 'Bid' }]);
    }
    expect(sender.stats().orderBookSnapshotCycles).toBeGreaterThanOrEqual(3);
    // Loop packets go only to the loops' groups.
    expect(rx.seqs('IA')).toEqual(range(1, 30));
  });
});

describeWithDataset('cme-mdp3', 'startCmeMulticast on a virtual clock: pacing, stalls and loop ends, exactly', () => {
  beforeAll(loadCodec);

  it("follows the data's timeline at the speed asked for, and a stall shifts what follows", async () => {
    const clock = new VirtualClock(1_000_000_000n);
    const source = new TinySource(6, 10_000_000n); // packets 10 ms apart
    const sender = await start({
      source,
      channel: randomChannel(),
      clock,
      speed: 2,
      faults: { stall: { afterSeq: 3, ms: 100 } },
      snapshotIntervalMs: 50,
    });
    const sent = (): number => sender.stats().packets;
    clock.advanceBy(0n);
    expect(sent()).toBe(1);
    clock.advanceBy(4_999_999n);
    expect(sent()).toBe(1);
    clock.advanceBy(1n); // 5 ms: 10 ms of data at 2x
    expect(sent()).toBe(2);
    clock.advanceBy(5_000_000n);
    expect(sent()).toBe(3);
    clock.advanceBy(104_999_999n); // the stall: 100 ms, then packet 4 is 5 ms after packet 3
    expect(sent()).toBe(3);
    clock.advanceBy(1n);
    expect(sent()).toBe(4);
    clock.advanceBy(10_000_000n);
    expect(sent()).toBe(6);
    await sender.ended;
    expect(sender.stats().faults.stall).toBe(1);
  });

  it('stops the loops after lingerMs, at the end of a cycle', async () => {
    const clock = new VirtualClock(0n);
    const sender = await start({
      source: new TinySource(3, 10_000_000n),
      channel: randomChannel(),
      clock,
      speed: 1,
      snapshotIntervalMs: 10,
      definitionIntervalMs: 10,
      lingerMs: 25,
    });
    clock.advanceBy(20_000_000n); // the feed's last packet is at 20 ms
    expect(sender.stats().ended).toBe(true);
    clock.advanceBy(1_000_000_000n);
    const s = sender.stats();
    // Cycles start at 0, 10, …, 40 ms (45 is past the 20 + 25 ms linger).
    expect([s.snapshotCycles, s.definitionCycles]).toEqual([5, 5]);
    // No MBO snapshot loop: the source has none.
    expect(s.sent).toEqual({ IA: 3, IB: 3, SA: 10, SB: 10, NA: 15, NB: 15 });
  });

  it('at max speed sends in bursts, letting the event loop turn between them', async () => {
    const clock = new VirtualClock(0n);
    const sender = await start({ source: new TinySource(10), channel: randomChannel(), clock, speed: 'max', burst: 4 });
    clock.advanceBy(0n);
    expect(sender.stats().packets).toBe(4);
    // The next bursts need no time, only turns of the event loop.
    await sender.ended;
    expect(clock.now()).toBe(0n);
    expect(sender.stats()).toMatchObject({ packets: 10, sent: { IA: 10, IB: 10 } });
  });
});

describe('startCmeMulticast: bad options', () => {
  const source: Mdp3PacketSource = { packets: () => [], snapshotPackets: () => [], definitionPackets: () => [] };
  const channel = localChannelConfig({ portA: 30_000 });

  it('says what it expected', async () => {
    const noIncremental: ChannelConfig = { ...channel, connections: channel.connections.filter((c) => c.feedType !== 'I') };
    const invalid = (message: string): object => ({ code: 'MDCAP_ERR_INVALID_OPTION', message });
    await expect(startCmeMulticast({ source, channel: noIncremental })).rejects.toMatchObject(
      invalid(
        'channel 310: expected a UDP incremental feed A (feed-type I, feed A) to send on, found connections 310NA, 310NB, 310SA, 310SB, 310SMBOA, 310SMBOB',
      ),
    );
    await expect(startCmeMulticast({ source, channel, speed: 0 })).rejects.toMatchObject(
      invalid('speed: expected a positive finite number, found 0'),
    );
    await expect(startCmeMulticast({ source, channel, faults: { dropA: [0] } })).rejects.toMatchObject(
      invalid('faults.dropA: expected MsgSeqNums (whole numbers from 1), found 0'),
    );
    await expect(startCmeMulticast({ source, channel, faults: { stall: { afterSeq: 3, ms: -1 } } })).rejects.toMatchObject({
      code: 'MDCAP_ERR_INVALID_OPTION',
    });
  });

  it('parses --fault, and refuses what it cannot', async () => {
    expect(parseCmeFaults('')).toEqual({});
    expect(parseCmeFaults('drop-a:3-5, corrupt:9,stall:2:10,stall:4:20')).toEqual({
      dropA: [3, 4, 5],
      corrupt: [9],
      stall: [
        { afterSeq: 2, ms: 10 },
        { afterSeq: 4, ms: 20 },
      ],
    });
    for (const bad of ['drop:5', 'drop-a:0', 'drop-a:9-3', 'stall:5', 'reorder:x']) {
      await expect(rejection(() => parseCmeFaults(bad))).rejects.toMatchObject({
        code: 'MDCAP_ERR_INVALID_OPTION',
        message: `--fault: expected drop-a:SEQ, drop-both:SEQ, reorder:SEQ, duplicate:SEQ, corrupt:SEQ (SEQ a MsgSeqNum or a range 10-20), stall:SEQ:MS, found ${JSON.stringify(bad)}`,
      });
    }
  });

  it("lays out a local channel like CME's channel 310, in a local multicast scope", async () => {
    const ch = localChannelConfig({ portA: 14310, portB: 15310 });
    expect(ch.connections.map((c) => `${c.id} ${c.ip}:${c.port}`)).toEqual([
      '310IA 239.255.31.1:14310',
      '310IB 239.255.32.1:15310',
      '310NA 239.255.31.43:14310',
      '310NB 239.255.32.43:15310',
      '310SA 239.255.31.22:14310',
      '310SB 239.255.32.22:15310',
      '310SMBOA 239.255.31.75:14310',
      '310SMBOB 239.255.32.75:15310',
    ]);
    await expect(rejection(() => localChannelConfig({ portA: 70_000 }))).rejects.toMatchObject({
      code: 'MDCAP_ERR_INVALID_OPTION',
      message: 'portA: expected a UDP port from 1 to 65535, found 70000',
    });
    await expect(rejection(() => localChannelConfig({ portA: 1, groupPrefix: '10.0' }))).rejects.toMatchObject({
      code: 'MDCAP_ERR_INVALID_OPTION',
      message: expect.stringMatching(/^groupPrefix: expected two octets of a multicast address/),
    });
  });
});

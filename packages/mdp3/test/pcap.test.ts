import { readFileSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { readPcap, udpDatagrams, writePcap } from '@mdcap/mdp3';
import type { PcapDatagram, PcapStats, UdpDatagram } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/**
 * pcap and pcapng reading: the constructed MDP3 capture of the cme-mdp3 dataset (its README's
 * record count, link type, addresses, timestamps, payloads); writePcap → readPcap round trips
 * in ns and µs; hand-built big-endian pcap and pcapng files (both byte orders, if_tsresol in
 * powers of 10 and 2, Enhanced and Simple Packet Blocks); VLAN tags, SLL, SLL2 and raw IP; what
 * is skipped and counted; errors naming the file, the record and the byte offset.
 */

/** Every datagram and the generator's return value. */
function drain(generator: Generator<UdpDatagram, PcapStats>): { datagrams: UdpDatagram[]; stats: PcapStats } {
  const datagrams: UdpDatagram[] = [];
  for (;;) {
    const next = generator.next();
    if (next.done === true) return { datagrams, stats: next.value };
    datagrams.push(next.value);
  }
}

/** The fields writePcap takes, payload as hex, for comparing datagrams. */
const plain = (d: PcapDatagram) => ({
  tsNs: d.tsNs,
  srcIp: d.srcIp,
  dstIp: d.dstIp,
  srcPort: d.srcPort,
  dstPort: d.dstPort,
  payload: Buffer.from(d.payload).toString('hex'),
});

const concat = (...parts: (Uint8Array | number[])[]): Uint8Array => new Uint8Array(Buffer.concat(parts.map((p) => Uint8Array.from(p))));

const datagram = (payload: number[], more: Partial<PcapDatagram> = {}): PcapDatagram => ({
  tsNs: 1_700_000_000_123_456_789n,
  srcIp: '10.0.0.1',
  dstIp: '224.0.31.1',
  srcPort: 40000,
  dstPort: 14310,
  payload: Uint8Array.from(payload),
  ...more,
});

/** The Ethernet frame writePcap makes for `d`, and its IPv4 packet (from byte 14). */
function frame(d: PcapDatagram = datagram([1, 2, 3, 4])): { ethernet: Uint8Array; ip: Uint8Array } {
  const ethernet = [...readPcap(writePcap([d]))][0]!.data;
  return { ethernet, ip: ethernet.subarray(14) };
}

/** A classic pcap by hand: `records` as [seconds, fraction, data]. */
function classic(
  records: [number, number, Uint8Array][],
  options: { little?: boolean; nano?: boolean; linkType?: number } = {},
): Uint8Array {
  const little = options.little ?? true;
  const out = new Uint8Array(24 + records.reduce((n, [, , data]) => n + 16 + data.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, options.nano === false ? 0xa1b2c3d4 : 0xa1b23c4d, little);
  view.setUint16(4, 2, little);
  view.setUint16(6, 4, little);
  view.setUint32(16, 0xffff, little);
  view.setUint32(20, options.linkType ?? 1, little);
  let at = 24;
  for (const [seconds, fraction, data] of records) {
    view.setUint32(at, seconds, little);
    view.setUint32(at + 4, fraction, little);
    view.setUint32(at + 8, data.length, little);
    view.setUint32(at + 12, data.length, little);
    out.set(data, at + 16);
    at += 16 + data.length;
  }
  return out;
}

/** pcapng blocks by hand, in one byte order: `words` are u32 fields, then `tail` padded to 4 bytes. */
function pcapng(little: boolean) {
  const block = (type: number, words: number[], tail: Uint8Array = new Uint8Array(0)): Uint8Array => {
    const length = 12 + 4 * words.length + Math.ceil(tail.length / 4) * 4;
    const out = new Uint8Array(length);
    const view = new DataView(out.buffer);
    view.setUint32(0, type, little);
    view.setUint32(4, length, little);
    words.forEach((w, i) => view.setUint32(8 + 4 * i, w, little));
    out.set(tail, 8 + 4 * words.length);
    view.setUint32(length - 4, length, little);
    return out;
  };
  const u16s = (...values: number[]): Uint8Array => {
    const out = new Uint8Array(2 * values.length);
    values.forEach((v, i) => new DataView(out.buffer).setUint16(2 * i, v, little));
    return out;
  };
  /** An option: code, length, value (padded). */
  const option = (code: number, value: number[]): Uint8Array =>
    concat(u16s(code, value.length), value, new Array<number>((4 - (value.length % 4)) % 4).fill(0));
  return {
    // byte-order magic, version 1.0, section length -1 (unknown)
    shb: () => block(0x0a0d0d0a, [0x1a2b3c4d, little ? 0x00000001 : 0x00010000, 0xffffffff, 0xffffffff]),
    idb: (linkType: number, ...options: Uint8Array[]) => block(1, [little ? linkType : linkType << 16, 0], concat(...options, u16s(0, 0))),
    tsresol: (resolution: number) => option(9, [resolution]),
    tsoffset: (seconds: number) => {
      const value = new Uint8Array(8);
      new DataView(value.buffer).setBigInt64(0, BigInt(seconds), little);
      return option(14, [...value]);
    },
    epb: (id: number, ticks: bigint, data: Uint8Array) =>
      block(6, [id, Number(ticks >> 32n), Number(ticks & 0xffffffffn), data.length, data.length], data),
    spb: (data: Uint8Array) => block(3, [data.length], data),
    other: () => block(5, [0, 0, 0]), // an Interface Statistics Block: skipped
  };
}

describeWithDataset('cme-mdp3', 'pcap: the constructed MDP3 capture (cme-mdp3)', () => {
  const file = datasetFile('cme-mdp3', 'mdp3_sbedecoder_payloads.constructed.pcap');
  const bytes = new Uint8Array(readFileSync(file));
  const packets = (
    JSON.parse(readFileSync(datasetFile('cme-mdp3', 'mdp3_packets_from_sbedecoder_tests.json'), 'utf8')) as { packets: { hex: string }[] }
  ).packets.map((p) => Uint8Array.from(Buffer.from(p.hex, 'hex')));
  const sendingTime = (payload: Uint8Array): bigint => new DataView(payload.buffer, payload.byteOffset).getBigUint64(4, true);

  it("holds 5 nanosecond records of link type 1, each stamped with its packet's SendingTime", () => {
    expect(Buffer.from(bytes.subarray(0, 4)).toString('hex')).toBe('4d3cb2a1'); // a1b23c4d, little-endian
    const records = [...readPcap(bytes, file)];
    expect(records.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
    expect(records.every((r) => r.linkType === 1 && r.data.length === r.originalLength)).toBe(true);
    expect(records[0]!.offset).toBe(24);
    records.slice(1).forEach((r, i) => expect(r.offset).toBe(records[i]!.offset + 16 + records[i]!.data.length));
    expect(records.map((r) => r.tsNs)).toEqual(packets.map(sendingTime));
    expect(records[0]!.tsNs).toBe(1502401500005340828n);
    expect(records[0]!.data.buffer).toBe(bytes.buffer); // a view, not a copy
  });

  it('gives the 5 payloads of the JSON, 10.0.0.1:40000 → 224.0.31.1:14310, sized 52, 52, 132, 188, 108', () => {
    const { datagrams, stats } = drain(udpDatagrams(bytes, file));
    expect(stats).toEqual({ records: 5, udp: 5, skipped: 0, fragments: 0 });
    expect(datagrams.map((d) => d.payload.length)).toEqual([52, 52, 132, 188, 108]);
    for (const [i, d] of datagrams.entries()) {
      expect(d).toMatchObject({ index: i, srcIp: '10.0.0.1', dstIp: '224.0.31.1', srcPort: 40000, dstPort: 14310 });
      expect(Buffer.from(d.payload).equals(packets[i]!)).toBe(true);
      expect(d.tsNs).toBe(sendingTime(d.payload));
    }
  });

  it('writePcap of those datagrams gives back the very bytes of the file (MACs, DF, TTL 32, checksums)', () => {
    const datagrams = drain(udpDatagrams(bytes, file)).datagrams;
    expect(Buffer.from(writePcap(datagrams)).equals(bytes)).toBe(true);
  });
});

describe('pcap: writePcap round trips', () => {
  const datagrams = [
    datagram([1, 2, 3]),
    datagram([], { tsNs: 1_700_000_001_000_000_001n, srcIp: '192.168.1.20', dstIp: '239.255.1.2', srcPort: 1, dstPort: 65535 }),
    datagram(
      [...Array(1400).keys()].map((i) => i & 0xff),
      { tsNs: 0n, dstIp: '10.1.2.3' },
    ),
  ];

  it('nanosecond (the default): readPcap and udpDatagrams give back every field, exactly', () => {
    const bytes = writePcap(datagrams);
    expect(Buffer.from(bytes.subarray(0, 4)).toString('hex')).toBe('4d3cb2a1');
    const records = [...readPcap(bytes)];
    expect(records.map((r) => [r.index, r.tsNs, r.linkType, r.data.length, r.originalLength])).toEqual([
      [0, 1_700_000_000_123_456_789n, 1, 45, 45],
      [1, 1_700_000_001_000_000_001n, 1, 42, 42],
      [2, 0n, 1, 1442, 1442],
    ]);
    const { datagrams: read, stats } = drain(udpDatagrams(bytes));
    expect(read.map(plain)).toEqual(datagrams.map(plain));
    expect(read.map((d) => [d.index, d.offset])).toEqual(records.map((r) => [r.index, r.offset]));
    expect(stats).toEqual({ records: 3, udp: 3, skipped: 0, fragments: 0 });
  });

  it('microsecond: whole microseconds round-trip; anything finer is refused, never rounded', () => {
    const us = datagrams.map((d, i) => ({ ...d, tsNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_234_000n }));
    const bytes = writePcap(us, { nanosecond: false });
    expect(Buffer.from(bytes.subarray(0, 4)).toString('hex')).toBe('d4c3b2a1');
    expect(new DataView(bytes.buffer).getUint32(24 + 16 + 45 + 4, true)).toBe(1234); // record 1's µs
    expect(drain(udpDatagrams(bytes)).datagrams.map(plain)).toEqual(us.map(plain));
    const error = catchError(() => writePcap([us[0]!, datagram([1], { tsNs: 1_700_000_000_000_000_001n })], { nanosecond: false }));
    expect(error.code).toBe('MDCAP_ERR_INVALID_OPTION');
    expect(error.message).toBe(
      'writePcap: datagram 1: expected tsNs a whole number of microseconds (nanosecond: false), found 1700000000000000001n',
    );
  });

  it('frames: multicast MACs from the group, a fixed unicast MAC, IPv4 header checksum, TTL 32, UDP checksum 0', () => {
    const macs = [...readPcap(writePcap(datagrams))].map((r) => Buffer.from(r.data.subarray(0, 12)).toString('hex'));
    expect(macs).toEqual(['01005e001f01020000000001', '01005e7f0102020000000001', '020000000002020000000001']);
    const { ip } = frame();
    let sum = 0;
    for (let i = 0; i < 20; i += 2) sum += (ip[i]! << 8) | ip[i + 1]!;
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    expect(sum).toBe(0xffff);
    expect([ip[8], ip[9], ip[26], ip[27]]).toEqual([32, 17, 0, 0]);
  });

  it('bad datagrams are MDCAP_ERR_INVALID_OPTION errors naming the datagram', () => {
    const fails = (d: Partial<PcapDatagram>) => catchError(() => writePcap([datagram([1]), datagram([1], d)]));
    expect(fails({ dstIp: '224.0.31.256' }).message).toBe(
      'writePcap: datagram 1: expected dstIp a dotted IPv4 address such as 224.0.31.1, found "224.0.31.256"',
    );
    expect(fails({ srcPort: 70000 }).message).toBe('writePcap: datagram 1: expected srcPort an integer from 0 to 65535, found 70000');
    expect(fails({ tsNs: -1n }).code).toBe('MDCAP_ERR_INVALID_OPTION');
    expect(fails({ payload: new Uint8Array(65508) }).message).toMatch(/expected a payload of 65507 bytes at most/);
  });
});

describe('pcap: hand-built files', () => {
  const d = datagram([9, 8, 7, 6, 5]);
  const { ethernet, ip } = frame(d);

  it('big-endian pcap, microsecond and nanosecond', () => {
    for (const nano of [false, true]) {
      const bytes = classic(
        [
          [1_700_000_000, 999_999, ethernet],
          [1_700_000_001, 5, ethernet],
        ],
        { little: false, nano },
      );
      expect(bytes[0]).toBe(0xa1);
      const unit = nano ? 1n : 1000n;
      expect([...readPcap(bytes)].map((r) => r.tsNs)).toEqual([
        1_700_000_000_000_000_000n + 999_999n * unit,
        1_700_000_001_000_000_000n + 5n * unit,
      ]);
      const { datagrams, stats } = drain(udpDatagrams(bytes));
      expect(datagrams.map((x) => plain({ ...x, tsNs: 0n }))).toEqual([plain({ ...d, tsNs: 0n }), plain({ ...d, tsNs: 0n })]);
      expect(stats.udp).toBe(2);
    }
  });

  it('pcapng: both byte orders, if_tsresol 10^-9, 2^-10 and the default µs, Enhanced and Simple Packet Blocks, other blocks skipped', () => {
    const le = pcapng(true);
    const be = pcapng(false);
    const blocks = [
      le.shb(),
      le.idb(1, le.tsresol(9)),
      le.idb(1), // no if_tsresol: microseconds
      le.other(),
      le.epb(0, 1_700_000_000_123_456_789n, ethernet),
      le.epb(1, 1_700_000_000_123_456n, ethernet),
      le.spb(ethernet), // 47 bytes, padded to 48 in the block
      be.shb(), // a new section: big-endian, its own interfaces
      be.idb(228, be.tsresol(0x80 | 10), be.tsoffset(100)),
      be.epb(0, 5n * 1024n + 512n, ip),
      be.spb(ip),
    ];
    const bytes = concat(...blocks);
    const records = [...readPcap(bytes, 'x.pcapng')];
    expect(records.map((r) => [r.index, r.tsNs, r.linkType, r.data.length, r.originalLength])).toEqual([
      [0, 1_700_000_000_123_456_789n, 1, 47, 47],
      [1, 1_700_000_000_123_456_000n, 1, 47, 47],
      [2, 0n, 1, 47, 47], // a Simple Packet Block has no timestamp
      [3, 105_500_000_000n, 228, 33, 33], // 5.5 s in 1/1024 s ticks, plus if_tsoffset 100 s
      [4, 0n, 228, 33, 33],
    ]);
    const starts = blocks.map((_, i) => blocks.slice(0, i).reduce((n, b) => n + b.length, 0));
    expect(records.map((r) => r.offset)).toEqual([4, 5, 6, 9, 10].map((i) => starts[i]));
    const { datagrams, stats } = drain(udpDatagrams(bytes, 'x.pcapng'));
    expect(stats).toEqual({ records: 5, udp: 5, skipped: 0, fragments: 0 });
    expect(new Set(datagrams.map((x) => Buffer.from(x.payload).toString('hex')))).toEqual(new Set(['0908070605']));
  });

  it('VLAN tags (802.1Q, and 802.1ad outside 802.1Q), Linux SLL and SLL2, raw IPv4 (101, 228) all give the datagram', () => {
    const macs = ethernet.subarray(0, 12);
    const vlan = concat(macs, [0x81, 0x00, 0x00, 0x64], ethernet.subarray(12));
    const qinq = concat(macs, [0x88, 0xa8, 0x00, 0x0a, 0x81, 0x00, 0x00, 0x64], ethernet.subarray(12));
    const sll = concat([0, 0, 0, 1, 0, 6, ...macs.subarray(6), 0, 0, 0x08, 0x00], ip);
    const sll2 = concat([0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, ...macs.subarray(6), 0, 0], ip);
    const cases: [number, Uint8Array][] = [
      [1, vlan],
      [1, qinq],
      [113, sll],
      [276, sll2],
      [101, ip],
      [228, ip],
    ];
    for (const [linkType, data] of cases) {
      const { datagrams, stats } = drain(udpDatagrams(classic([[1, 0, data]], { linkType })));
      expect(stats, `link type ${linkType}`).toEqual({ records: 1, udp: 1, skipped: 0, fragments: 0 });
      expect(plain(datagrams[0]!)).toEqual(plain({ ...d, tsNs: 1_000_000_000n }));
    }
  });

  it('skips and counts what is not a whole IPv4 UDP datagram: fragments, TCP, ARP, IPv6', () => {
    const patched = (at: number, values: number[]) => {
      const copy = Uint8Array.from(ethernet);
      copy.set(values, at);
      return copy;
    };
    const moreFragments = patched(14 + 6, [0x20, 0x00]);
    const lastFragment = patched(14 + 6, [0x00, 0x10]); // offset 128 bytes, no more fragments
    const tcp = patched(14 + 9, [6]);
    const arp = patched(12, [0x08, 0x06]);
    const ipv6 = concat([0x60], new Array<number>(39).fill(0));
    const bytes = classic([
      [1, 0, ethernet],
      [2, 0, moreFragments],
      [3, 0, lastFragment],
      [4, 0, tcp],
      [5, 0, arp],
      [6, 0, ethernet],
    ]);
    const { datagrams, stats } = drain(udpDatagrams(bytes));
    expect(datagrams.map((x) => x.index)).toEqual([0, 5]);
    expect(stats).toEqual({ records: 6, udp: 2, skipped: 2, fragments: 2 });
    expect(drain(udpDatagrams(classic([[1, 0, ipv6]], { linkType: 101 }))).stats).toEqual({ records: 1, udp: 0, skipped: 1, fragments: 0 });
  });
});

function catchError(f: () => unknown): MdcapError {
  try {
    f();
  } catch (error) {
    expect(error).toBeInstanceOf(MdcapError);
    return error as MdcapError;
  }
  throw new Error('expected an error, found none');
}

describe('pcap: errors name the file, the record and the byte offset', () => {
  const bytes = writePcap([datagram([1, 2, 3, 4]), datagram([5, 6, 7, 8])]); // records at 24 and 86
  const read = (b: Uint8Array) => [...readPcap(b, 'x.pcap')];
  const fails = (f: () => unknown, message: string, details: Record<string, unknown>) => {
    const error = catchError(f);
    expect(error.code).toBe('MDCAP_ERR_IMPORT_FORMAT');
    expect(error.message).toBe(message);
    expect(error.details).toEqual({ file: 'x.pcap', ...details });
  };

  it('bad magic', () => {
    fails(
      () => read(new TextEncoder().encode('hello, world: not a capture')),
      'x.pcap: byte 0: expected the magic number of a pcap file (a1b2c3d4 or a1b23c4d, either byte order) or of a pcapng file (0a 0d 0d 0a), found 68 65 6c 6c',
      { offset: 0 },
    );
  });

  it('a truncated record header: the records before it are read', () => {
    const cut = bytes.subarray(0, 86 + 10);
    const records: number[] = [];
    fails(
      () => {
        for (const r of readPcap(cut, 'x.pcap')) records.push(r.index);
      },
      'x.pcap: byte 86, record 1: expected a 16-byte record header, found 10 bytes before the end of the file (the file is truncated)',
      { offset: 86, record: 1 },
    );
    expect(records).toEqual([0]);
  });

  it('a record length past the end', () => {
    fails(
      () => read(bytes.subarray(0, bytes.length - 1)),
      'x.pcap: byte 94, record 1: expected 46 bytes of packet data, found 45 before the end of the file (the file is truncated, or the length is corrupt)',
      { offset: 94, record: 1 },
    );
  });

  it('a pcapng block length past the end', () => {
    const le = pcapng(true);
    const file = concat(le.shb(), le.idb(1), le.epb(0, 1n, frame().ethernet));
    fails(
      () => read(file.subarray(0, file.length - 4)),
      `x.pcap: byte 56, record 0: expected a ${file.length - 52}-byte block, found ${file.length - 56} bytes before the end of the file (the file is truncated, or the length is corrupt)`,
      { offset: 56, record: 0 },
    );
  });

  it('an unsupported link type (105, IEEE 802.11): readPcap reads it, udpDatagrams refuses it', () => {
    const wifi = Uint8Array.from(bytes);
    wifi[20] = 105;
    expect(read(wifi).map((r) => r.linkType)).toEqual([105, 105]);
    fails(
      () => drain(udpDatagrams(wifi, 'x.pcap')),
      'x.pcap: byte 24, record 0: expected link type Ethernet (1), Linux SLL (113), SLL2 (276) or raw IPv4 (101, 228), found 105',
      { offset: 24, record: 0 },
    );
  });

  it('a truncated UDP header', () => {
    const { ip } = frame();
    const short = classic(
      [
        [1, 0, ip],
        [2, 0, ip.subarray(0, 24)],
      ],
      { linkType: 228 },
    );
    // record 1 at 24 + 16 + 32: its data at 88, its UDP header at 108
    fails(() => drain(udpDatagrams(short, 'x.pcap')), 'x.pcap: byte 108, record 1: expected an 8-byte UDP header, found 4 bytes', {
      offset: 108,
      record: 1,
    });
  });
});

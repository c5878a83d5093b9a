import { ConfigError, MdcapError, describeValue } from '@mdcap/core';

/**
 * pcap and pcapng files as bytes: packet records read out of them, the UDP datagrams of their
 * IPv4 packets, and Ethernet/IPv4/UDP captures written (for tests and emulators). Files are
 * never read here: the caller hands in their bytes.
 */

/** One packet record of a pcap or pcapng file. */
export interface PcapRecord {
  /** 0-based index of the record among the file's packet records. */
  readonly index: number;
  /** Capture time, ns since the Unix epoch. */
  readonly tsNs: bigint;
  /** The LINKTYPE_ value of the record's interface: 1 Ethernet, 113 Linux SLL … */
  readonly linkType: number;
  /** The captured bytes, a view of the file's bytes (no copy). */
  readonly data: Uint8Array;
  /** The packet's length on the wire: more than `data.length` when the snap length cut it. */
  readonly originalLength: number;
  /** Byte offset of the record (its header, or its pcapng block) in the file. */
  readonly offset: number;
}

/** A UDP datagram and its capture time: what {@link writePcap} writes. */
export interface PcapDatagram {
  /** Capture time, ns since the Unix epoch. */
  readonly tsNs: bigint;
  /** Dotted IPv4 addresses. */
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/**
 * The UDP payload of one IPv4 packet of a capture, as {@link writePcap} takes it, with where it
 * is in the file. `payload` is as long as the UDP length field says, a view of the file's bytes
 * (no copy).
 */
export interface UdpDatagram extends PcapDatagram {
  /** Index of the packet's record in the file ({@link PcapRecord.index}). */
  readonly index: number;
  /** Byte offset of the packet's record in the file. */
  readonly offset: number;
}

/** What {@link udpDatagrams} read: `records` = `udp` + `skipped` + `fragments`. */
export interface PcapStats {
  /** Packet records in the file. */
  readonly records: number;
  /** UDP datagrams yielded. */
  readonly udp: number;
  /** Packets that are not IPv4, or not UDP (ARP, IPv6, TCP, ICMP …). */
  readonly skipped: number;
  /** Fragments of UDP datagrams: skipped, since IPv4 fragments are not reassembled. */
  readonly fragments: number;
}

export interface WritePcapOptions {
  /**
   * Nanosecond timestamps (magic a1b23c4d; default true). With false, the classic microsecond
   * format: every `tsNs` must then be a whole number of microseconds.
   */
  readonly nanosecond?: boolean;
}

const PCAP_US = 0xa1b2c3d4;
const PCAP_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const SPB = 3;
const EPB = 6;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;
const NS_PER_S = 1_000_000_000n;

const LINK_ETHERNET = 1;
const LINK_RAW = 101;
const LINK_SLL = 113;
const LINK_IPV4 = 228;
const LINK_SLL2 = 276;
const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_IPV6 = 0x86dd;
/** 802.1Q, 802.1ad, and the pre-standard QinQ tag some switches still send. */
const VLAN_TAGS = new Set([0x8100, 0x88a8, 0x9100]);
const UDP = 17;

function formatError(name: string, offset: number, record: number | null, what: string): MdcapError {
  return new MdcapError('MDCAP_ERR_IMPORT_FORMAT', `${name}: byte ${offset}${record === null ? '' : `, record ${record}`}: ${what}`, {
    details: { file: name, offset, ...(record === null ? {} : { record }) },
  });
}

function hex(bytes: Uint8Array, at: number, length: number): string {
  return [...bytes.subarray(at, at + length)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * The packet records of a pcap or pcapng file, lazily: a truncated or corrupt file gives every
 * record before the damage, then an `MDCAP_ERR_IMPORT_FORMAT` error naming `name`, the byte
 * offset and the record index.
 *
 * Classic pcap: microsecond (a1b2c3d4) and nanosecond (a1b23c4d) files, in either byte order.
 * pcapng: every section (each may have its own byte order), its interfaces' `if_tsresol` (a
 * power of 10 or of 2) and `if_tsoffset`, Enhanced and Simple Packet Blocks; other blocks are
 * skipped. Timestamps finer than a nanosecond, or in powers of 2, lose the fraction of a
 * nanosecond (floor). A Simple Packet Block has no timestamp: its record's `tsNs` is 0n, as in
 * libpcap.
 */
export function* readPcap(bytes: Uint8Array, name = 'pcap'): Generator<PcapRecord, void, undefined> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4) {
    throw formatError(name, 0, null, `expected a pcap or pcapng file (a 4-byte magic number first), found ${bytes.length} bytes`);
  }
  if (view.getUint32(0, true) === PCAPNG_SHB) yield* readPcapng(bytes, view, name);
  else yield* readClassic(bytes, view, name);
}

function* readClassic(bytes: Uint8Array, view: DataView, name: string): Generator<PcapRecord, void, undefined> {
  const magicLe = view.getUint32(0, true);
  const magicBe = view.getUint32(0, false);
  const little = magicLe === PCAP_US || magicLe === PCAP_NS;
  if (!little && magicBe !== PCAP_US && magicBe !== PCAP_NS) {
    throw formatError(
      name,
      0,
      null,
      `expected the magic number of a pcap file (a1b2c3d4 or a1b23c4d, either byte order) or of a pcapng file (0a 0d 0d 0a), found ${hex(bytes, 0, 4)}`,
    );
  }
  const nano = (little ? magicLe : magicBe) === PCAP_NS;
  if (bytes.length < 24) {
    throw formatError(name, 0, null, `expected a 24-byte pcap file header, found ${bytes.length} bytes (the file is truncated)`);
  }
  const major = view.getUint16(4, little);
  if (major !== 2) throw formatError(name, 4, null, `expected pcap format version 2.x, found ${major}.${view.getUint16(6, little)}`);
  // The upper 16 bits of this field carry the FCS length and reserved bits, not the link type.
  const linkType = view.getUint32(20, little) & 0xffff;
  const unit = nano ? 1n : 1000n;
  const perSecond = nano ? 1_000_000_000 : 1_000_000;
  let at = 24;
  let index = 0;
  while (at < bytes.length) {
    const left = bytes.length - at;
    if (left < 16) {
      throw formatError(
        name,
        at,
        index,
        `expected a 16-byte record header, found ${left} bytes before the end of the file (the file is truncated)`,
      );
    }
    const seconds = view.getUint32(at, little);
    const fraction = view.getUint32(at + 4, little);
    const captured = view.getUint32(at + 8, little);
    const original = view.getUint32(at + 12, little);
    // A fraction of a second that is a second or more cannot be placed in time: no guess.
    if (fraction >= perSecond) {
      throw formatError(name, at + 4, index, `expected ${nano ? 'nanoseconds' : 'microseconds'} below ${perSecond}, found ${fraction}`);
    }
    const dataAt = at + 16;
    if (captured > bytes.length - dataAt) {
      throw formatError(
        name,
        at + 8,
        index,
        `expected ${captured} bytes of packet data, found ${bytes.length - dataAt} before the end of the file (the file is truncated, or the length is corrupt)`,
      );
    }
    yield {
      index,
      tsNs: BigInt(seconds) * NS_PER_S + BigInt(fraction) * unit,
      linkType,
      data: bytes.subarray(dataAt, dataAt + captured),
      originalLength: original,
      offset: at,
    };
    at = dataAt + captured;
    index++;
  }
}

/** A pcapng interface: ns = ticks × `mul` / `div` + `offsetNs`. */
interface PcapngInterface {
  readonly linkType: number;
  readonly snapLength: number;
  readonly mul: bigint;
  readonly div: bigint;
  readonly offsetNs: bigint;
}

function* readPcapng(bytes: Uint8Array, view: DataView, name: string): Generator<PcapRecord, void, undefined> {
  let little = true;
  let interfaces: PcapngInterface[] = [];
  let at = 0;
  let index = 0;
  const fail = (offset: number, what: string): never => {
    throw formatError(name, offset, index, what);
  };
  while (at < bytes.length) {
    const left = bytes.length - at;
    if (left < 12)
      fail(at, `expected a pcapng block header of 12 bytes, found ${left} bytes before the end of the file (the file is truncated)`);
    const type = view.getUint32(at, little);
    if (type === PCAPNG_SHB) {
      // Its type reads the same in both byte orders; the byte-order magic says how to read the
      // rest of the section, its own length included.
      if (view.getUint32(at + 8, true) === BYTE_ORDER_MAGIC) little = true;
      else if (view.getUint32(at + 8, false) === BYTE_ORDER_MAGIC) little = false;
      else fail(at + 8, `expected the pcapng byte-order magic 1a2b3c4d (either byte order), found ${hex(bytes, at + 8, 4)}`);
      interfaces = [];
    }
    const length = view.getUint32(at + 4, little);
    if (length < 12 || length % 4 !== 0) fail(at + 4, `expected a block length of 12 bytes or more and a multiple of 4, found ${length}`);
    if (length > left) {
      fail(
        at + 4,
        `expected a ${length}-byte block, found ${left} bytes before the end of the file (the file is truncated, or the length is corrupt)`,
      );
    }
    const end = at + length - 4;
    const trailer = view.getUint32(end, little);
    if (trailer !== length) fail(end, `expected the block's trailing length to repeat its length ${length}, found ${trailer}`);
    const atLeast = (minimum: number, what: string): void => {
      if (length < minimum) fail(at + 4, `expected ${what} of ${minimum} bytes or more, found ${length}`);
    };
    switch (type) {
      case PCAPNG_SHB: {
        atLeast(28, 'a Section Header Block');
        const major = view.getUint16(at + 12, little);
        if (major !== 1) fail(at + 12, `expected pcapng version 1.x, found ${major}.${view.getUint16(at + 14, little)}`);
        break;
      }
      case IDB:
        atLeast(20, 'an Interface Description Block');
        interfaces.push(readInterface(bytes, view, little, at, end, fail));
        break;
      case EPB: {
        atLeast(32, 'an Enhanced Packet Block');
        const id = view.getUint32(at + 8, little);
        const iface =
          interfaces[id] ?? fail(at + 8, `expected an interface id below ${interfaces.length} (its section's interfaces), found ${id}`);
        const ticks = (BigInt(view.getUint32(at + 12, little)) << 32n) | BigInt(view.getUint32(at + 16, little));
        const captured = view.getUint32(at + 20, little);
        const dataAt = at + 28;
        if (captured > end - dataAt)
          fail(at + 20, `expected ${captured} bytes of packet data within the ${length}-byte block, found ${end - dataAt}`);
        yield {
          index,
          tsNs: (ticks * iface.mul) / iface.div + iface.offsetNs,
          linkType: iface.linkType,
          data: bytes.subarray(dataAt, dataAt + captured),
          originalLength: view.getUint32(at + 24, little),
          offset: at,
        };
        index++;
        break;
      }
      case SPB: {
        atLeast(16, 'a Simple Packet Block');
        const iface =
          interfaces[0] ?? fail(at, 'expected an Interface Description Block before a Simple Packet Block, found none in its section');
        const original = view.getUint32(at + 8, little);
        const dataAt = at + 12;
        // No captured length: the packet, as far as the snap length and the block (padding) allow.
        let captured = Math.min(original, end - dataAt);
        if (iface.snapLength !== 0) captured = Math.min(captured, iface.snapLength);
        yield {
          index,
          tsNs: 0n,
          linkType: iface.linkType,
          data: bytes.subarray(dataAt, dataAt + captured),
          originalLength: original,
          offset: at,
        };
        index++;
        break;
      }
      default:
        break; // name resolution, statistics, custom blocks: nothing a packet needs
    }
    at += length;
  }
}

function readInterface(
  bytes: Uint8Array,
  view: DataView,
  little: boolean,
  at: number,
  end: number,
  fail: (offset: number, what: string) => never,
): PcapngInterface {
  let mul = 1000n; // no if_tsresol: microseconds
  let div = 1n;
  let offsetNs = 0n;
  let o = at + 16;
  while (end - o >= 4) {
    const code = view.getUint16(o, little);
    const length = view.getUint16(o + 2, little);
    if (code === 0) break; // opt_endofopt
    const valueAt = o + 4;
    if (length > end - valueAt)
      fail(o + 2, `expected option ${code} of ${length} bytes within its block, found ${end - valueAt} bytes left`);
    if (code === IF_TSRESOL) {
      if (length !== 1) fail(o + 2, `expected if_tsresol of 1 byte, found ${length} bytes`);
      const resolution = bytes[valueAt]!;
      const exponent = BigInt(resolution & 0x7f);
      if ((resolution & 0x80) !== 0) {
        mul = NS_PER_S;
        div = 2n ** exponent;
      } else if (exponent <= 9n) {
        mul = 10n ** (9n - exponent);
        div = 1n;
      } else {
        mul = 1n;
        div = 10n ** (exponent - 9n);
      }
    } else if (code === IF_TSOFFSET) {
      if (length !== 8) fail(o + 2, `expected if_tsoffset of 8 bytes, found ${length} bytes`);
      offsetNs = view.getBigInt64(valueAt, little) * NS_PER_S;
    }
    o = valueAt + ((length + 3) & ~3);
  }
  return { linkType: view.getUint16(at + 8, little), snapLength: view.getUint32(at + 12, little), mul, div, offsetNs };
}

/**
 * The UDP datagrams of a capture's IPv4 packets, in file order, for link types Ethernet (1,
 * 802.1Q/802.1ad VLAN tags included), Linux SLL (113) and SLL2 (276), and raw IP (101, 228).
 * Packets that are not IPv4 or not UDP are skipped, and so are fragments of UDP datagrams (not
 * reassembled); the generator's return value counts them. A `for … of` loop drops that value:
 * call `next()` until `done`, or `yield*` the generator, to get it.
 *
 * Errors (`MDCAP_ERR_IMPORT_FORMAT`, naming `name`, the record index and the byte offset): those
 * of {@link readPcap}, another link type, a truncated or inconsistent link, IPv4 or UDP header,
 * a UDP payload the capture cut short.
 */
export function* udpDatagrams(bytes: Uint8Array, name = 'pcap'): Generator<UdpDatagram, PcapStats, undefined> {
  let records = 0;
  let udp = 0;
  let skipped = 0;
  let fragments = 0;
  for (const record of readPcap(bytes, name)) {
    records++;
    const { data, index } = record;
    const base = data.byteOffset - bytes.byteOffset;
    const fail = (at: number, what: string): never => {
      throw formatError(name, base + at, index, what);
    };
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const [ip, etherType] = networkLayer(record, view, name, fail);
    if (etherType !== ETHERTYPE_IPV4) {
      skipped++;
      continue;
    }
    const left = data.length - ip;
    if (left < 20) fail(ip, `expected a 20-byte IPv4 header, found ${left} bytes`);
    const version = data[ip]! >> 4;
    if (version !== 4) fail(ip, `expected IPv4 (version 4), found version ${version}`);
    const headerLength = (data[ip]! & 0x0f) * 4;
    if (headerLength < 20) fail(ip, `expected an IPv4 header length of 20 bytes or more, found ${headerLength}`);
    if (headerLength > left) fail(ip, `expected a ${headerLength}-byte IPv4 header, found ${left} bytes`);
    const totalLength = view.getUint16(ip + 2);
    if (totalLength < headerLength)
      fail(ip + 2, `expected an IPv4 total length of ${headerLength} bytes or more (its header), found ${totalLength}`);
    if (data[ip + 9] !== UDP) {
      skipped++;
      continue;
    }
    // More-fragments flag or a fragment offset: a piece of a datagram, useless alone.
    if ((view.getUint16(ip + 6) & 0x3fff) !== 0) {
      fragments++;
      continue;
    }
    const u = ip + headerLength;
    if (data.length - u < 8) fail(u, `expected an 8-byte UDP header, found ${data.length - u} bytes`);
    const room = totalLength - headerLength;
    const udpLength = view.getUint16(u + 4);
    if (udpLength < 8 || udpLength > room) {
      fail(u + 4, `expected a UDP length from 8 to ${room} (the IPv4 payload), found ${udpLength}`);
    }
    if (data.length - u < udpLength) {
      fail(
        u,
        `expected a ${udpLength}-byte UDP datagram, found ${data.length - u} bytes (the capture kept ${data.length} of the packet's ${record.originalLength} bytes)`,
      );
    }
    udp++;
    yield {
      index,
      tsNs: record.tsNs,
      offset: record.offset,
      srcIp: data.subarray(ip + 12, ip + 16).join('.'),
      dstIp: data.subarray(ip + 16, ip + 20).join('.'),
      srcPort: view.getUint16(u),
      dstPort: view.getUint16(u + 2),
      payload: data.subarray(u + 8, u + udpLength),
    };
  }
  return { records, udp, skipped, fragments };
}

/** Where a record's network-layer packet starts in its data, and its EtherType. */
function networkLayer(record: PcapRecord, view: DataView, name: string, fail: (at: number, what: string) => never): [number, number] {
  const { data } = record;
  const need = (length: number, what: string): void => {
    if (data.length < length) fail(0, `expected a ${length}-byte ${what} header, found ${data.length} bytes`);
  };
  let at: number;
  switch (record.linkType) {
    case LINK_ETHERNET:
      need(14, 'Ethernet');
      at = 12;
      break;
    case LINK_SLL:
      need(16, 'Linux SLL');
      at = 14;
      break;
    case LINK_SLL2:
      need(20, 'Linux SLL2');
      return vlanTags(view, 0, 20, fail);
    case LINK_RAW: {
      need(1, 'raw IP');
      const version = data[0]! >> 4;
      if (version === 4) return [0, ETHERTYPE_IPV4];
      if (version === 6) return [0, ETHERTYPE_IPV6];
      return fail(0, `expected IPv4 or IPv6 (version 4 or 6) in a raw IP packet, found version ${version}`);
    }
    case LINK_IPV4:
      return [0, ETHERTYPE_IPV4];
    default:
      throw formatError(
        name,
        record.offset,
        record.index,
        `expected link type Ethernet (1), Linux SLL (113), SLL2 (276) or raw IPv4 (101, 228), found ${record.linkType}`,
      );
  }
  return vlanTags(view, at, at + 2, fail);
}

/** The EtherType at `typeAt` (payload at `next`), past any VLAN tags. */
function vlanTags(view: DataView, typeAt: number, next: number, fail: (at: number, what: string) => never): [number, number] {
  let type = view.getUint16(typeAt);
  let at = next;
  while (VLAN_TAGS.has(type)) {
    if (view.byteLength - at < 4) fail(at, `expected a 4-byte VLAN tag, found ${view.byteLength - at} bytes`);
    type = view.getUint16(at + 2);
    at += 4;
  }
  return [at, type];
}

const SOURCE_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x01];
/** Unicast destinations get a fixed, locally administered address. */
const UNICAST_MAC = [0x02, 0x00, 0x00, 0x00, 0x00, 0x02];
const FRAME_HEADERS = 14 + 20 + 8;
const MAX_PAYLOAD = 0xffff - 20 - 8;
const MAX_TS_NS = (2n ** 32n - 1n) * NS_PER_S + NS_PER_S - 1n;

function invalid(index: number, what: string): ConfigError {
  return new ConfigError('MDCAP_ERR_INVALID_OPTION', `writePcap: datagram ${index}: ${what}`, { details: { datagram: index } });
}

function ipv4Bytes(text: string, index: number, field: string): number[] {
  const parts = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text)?.slice(1).map(Number);
  if (parts === undefined || parts.some((p) => p > 255)) {
    throw invalid(index, `expected ${field} a dotted IPv4 address such as 224.0.31.1, found ${describeValue(text)}`);
  }
  return parts;
}

function checkPort(port: number, index: number, field: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 0xffff)
    throw invalid(index, `expected ${field} an integer from 0 to 65535, found ${describeValue(port)}`);
}

/**
 * A little-endian classic pcap (link type Ethernet) holding each datagram in an Ethernet/IPv4/UDP
 * frame: a multicast destination (224.0.0.0/4) gets its group's MAC address (01:00:5e and the
 * group's low 23 bits), any other a fixed unicast one; the source MAC is fixed; IPv4 with TTL
 * 32, don't-fragment set and its header checksum; UDP checksum 0 (none).
 *
 * Bad arguments are `MDCAP_ERR_INVALID_OPTION` errors naming the datagram: an address or port
 * out of range, a payload too large for one IPv4 packet, a `tsNs` before 1970 or past pcap's
 * 32-bit seconds, or, with `nanosecond: false`, a `tsNs` that is not a whole number of
 * microseconds (never rounded).
 */
export function writePcap(datagrams: Iterable<PcapDatagram>, options: WritePcapOptions = {}): Uint8Array {
  const nano = options.nanosecond ?? true;
  const frames: { seconds: number; fraction: number; src: number[]; dst: number[]; datagram: PcapDatagram }[] = [];
  let size = 24;
  for (const datagram of datagrams) {
    const index = frames.length;
    const { tsNs, payload } = datagram;
    if (typeof tsNs !== 'bigint' || tsNs < 0n || tsNs > MAX_TS_NS) {
      throw invalid(index, `expected tsNs a bigint from 0n to ${MAX_TS_NS}n (pcap's 32-bit seconds), found ${describeValue(tsNs)}`);
    }
    if (!nano && tsNs % 1000n !== 0n) {
      throw invalid(index, `expected tsNs a whole number of microseconds (nanosecond: false), found ${describeValue(tsNs)}`);
    }
    const src = ipv4Bytes(datagram.srcIp, index, 'srcIp');
    const dst = ipv4Bytes(datagram.dstIp, index, 'dstIp');
    checkPort(datagram.srcPort, index, 'srcPort');
    checkPort(datagram.dstPort, index, 'dstPort');
    if (payload.length > MAX_PAYLOAD)
      throw invalid(index, `expected a payload of ${MAX_PAYLOAD} bytes at most (one IPv4 packet), found ${payload.length}`);
    const fraction = Number(tsNs % NS_PER_S);
    frames.push({ seconds: Number(tsNs / NS_PER_S), fraction: nano ? fraction : fraction / 1000, src, dst, datagram });
    size += 16 + FRAME_HEADERS + payload.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, nano ? PCAP_NS : PCAP_US, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 0xffff, true); // snap length
  view.setUint32(20, LINK_ETHERNET, true);
  let at = 24;
  for (const { seconds, fraction, src, dst, datagram } of frames) {
    const length = FRAME_HEADERS + datagram.payload.length;
    view.setUint32(at, seconds, true);
    view.setUint32(at + 4, fraction, true);
    view.setUint32(at + 8, length, true);
    view.setUint32(at + 12, length, true);
    const e = at + 16;
    out.set(dst[0]! >= 224 && dst[0]! <= 239 ? [0x01, 0x00, 0x5e, dst[1]! & 0x7f, dst[2]!, dst[3]!] : UNICAST_MAC, e);
    out.set(SOURCE_MAC, e + 6);
    view.setUint16(e + 12, ETHERTYPE_IPV4);
    const ip = e + 14;
    out[ip] = 0x45; // version 4, 20-byte header
    view.setUint16(ip + 2, 20 + 8 + datagram.payload.length);
    view.setUint16(ip + 6, 0x4000); // don't fragment
    out[ip + 8] = 32; // TTL
    out[ip + 9] = UDP;
    out.set(src, ip + 12);
    out.set(dst, ip + 16);
    view.setUint16(ip + 10, ipChecksum(out, ip));
    const u = ip + 20;
    view.setUint16(u, datagram.srcPort);
    view.setUint16(u + 2, datagram.dstPort);
    view.setUint16(u + 4, 8 + datagram.payload.length);
    out.set(datagram.payload, u + 8);
    at += 16 + length;
  }
  return out;
}

/** The IPv4 header checksum: the ones' complement of the ones' complement sum of its 16-bit words. */
function ipChecksum(bytes: Uint8Array, at: number): number {
  let sum = 0;
  for (let i = at; i < at + 20; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * @mdcap/mdp3: CME MDP 3.0 without I/O. SBE schemas (CME's `templates_FixBinary.xml`)
 * interpreted into decoders and encoders, MDP3 packets framed and decoded, pcap and pcapng files
 * read into UDP datagrams. Bytes in, values out: sockets and files belong to the feed, the
 * emulator and the CLI.
 */
export { parseXml } from './xml.js';
export type { XmlElement } from './xml.js';
export { parseSchema } from './schema.js';
export type {
  CompositeType,
  EncodedType,
  EnumType,
  FieldDef,
  GroupDef,
  MessageDef,
  Presence,
  Primitive,
  SbeType,
  Schema,
  SetType,
} from './schema.js';
export { MESSAGE_SIZE_BYTES, PACKET_HEADER_BYTES, SbeCodec, SbeDecimal } from './codec.js';
export type { DecodedMessage, DecodedPacket, EncodeOptions, SbeRecord, SbeValue } from './codec.js';
export { readPcap, udpDatagrams, writePcap } from './pcap.js';
export type { PcapDatagram, PcapRecord, PcapStats, UdpDatagram, WritePcapOptions } from './pcap.js';
export { channelConfigXml, FEED_TYPES, findChannel, findConnection, parseChannelConfig } from './config.js';
export type {
  ChannelConfig,
  ChannelConnection,
  ChannelProduct,
  ConnectionProtocol,
  FeedLine,
  FeedType,
  MulticastConnection,
} from './config.js';

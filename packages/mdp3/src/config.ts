import { ConfigError, MdcapError } from '@mdcap/core';
import { parseXml } from './xml.js';
import type { XmlElement } from './xml.js';

/**
 * CME's channel configuration (`config.xml`, published with the schemas under
 * SBEFix/<environment>/Configuration/): for each MDP 3.0 channel, the products it carries and the
 * connections a feed handler joins, each a multicast group and port (a TCP host for historical
 * replay) of one feed type on line A or B:
 *
 * ```xml
 * <configuration>
 *   <channel id="310" label="CME Globex Equity Futures">
 *     <products><product code="ES"><group code="ES"/></product></products>
 *     <connections>
 *       <connection id="310IA">
 *         <type feed-type="I">Incremental</type>
 *         <protocol>UDP/IP</protocol>
 *         <ip>224.0.31.1</ip>
 *         <host-ip>…</host-ip>  (the sources; CME lists two)
 *         <port>14310</port>
 *         <feed>A</feed>
 *       </connection>
 *       …
 * ```
 *
 * Parsed strictly (a wrong value names the file and line) but tolerantly of additions: elements
 * and attributes mdcap does not use are skipped, so a newer file from CME still loads.
 */

/**
 * The feed types of CME's file: `I` incremental, `N` instrument replay (the definition loop),
 * `S` market recovery (the MBP snapshot loop), `SMBO` the MBO snapshot loop, `H` historical
 * replay (TCP; parsed, not used by the multicast feed).
 */
export type FeedType = 'I' | 'N' | 'S' | 'SMBO' | 'H';

export const FEED_TYPES: readonly FeedType[] = ['I', 'N', 'S', 'SMBO', 'H'];

/** What CME writes inside `<type>` for each feed type: written back by {@link channelConfigXml} when a connection has no label. */
const FEED_TYPE_LABELS: Readonly<Record<FeedType, string>> = {
  I: 'Incremental',
  N: 'Instrument Replay',
  S: 'Snapshot',
  SMBO: 'Snapshot-MBO',
  H: 'Historical Replay',
};

export type FeedLine = 'A' | 'B';
export type ConnectionProtocol = 'UDP/IP' | 'TCP/IP';

export interface ChannelConnection {
  /** CME's id, such as `310IA`. */
  readonly id: string;
  readonly feedType: FeedType;
  /** The text of `<type>` (`Incremental`, `Snapshot`…): descriptive only. */
  readonly typeLabel?: string;
  readonly protocol: ConnectionProtocol;
  /** The multicast group. Absent only for a TCP connection (historical replay), which names hosts instead. */
  readonly ip?: string;
  /**
   * The `<host-ip>` elements in file order: for UDP the sources that send to the group (CME lists
   * two), for TCP the servers. A list because CME's file has two per connection.
   */
  readonly hostIps: readonly string[];
  readonly port: number;
  readonly feed: FeedLine;
}

/** One `<channel>`: what it carries and where to join it. */
export interface ChannelConfig {
  /** CME's channel number (`310`; MDP3's ApplID). */
  readonly id: number;
  /** CME's name for it (`CME Globex Equity Futures`); empty when the file has none. */
  readonly label: string;
  readonly products: readonly ChannelProduct[];
  /** In file order, every feed type and line (TCP historical replay included). */
  readonly connections: readonly ChannelConnection[];
}

export interface ChannelProduct {
  /** The product code (`ES`). */
  readonly code: string;
  /** The security groups of the product (`<group code="ES"/>`). */
  readonly groups: readonly string[];
}

/** A UDP connection: the group is known. */
export type MulticastConnection = ChannelConnection & { readonly ip: string };

/**
 * Reads CME's `config.xml` (or one written by {@link channelConfigXml}) into its channels.
 * @param file the name used in error messages.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` naming `file`, the line, what was expected there and what was found.
 */
export function parseChannelConfig(xmlText: string, file: string): ChannelConfig[] {
  let root: XmlElement;
  try {
    root = parseXml(xmlText, file);
  } catch (error) {
    // parseXml speaks of SBE schemas; here the XML is a channel configuration.
    if (error instanceof MdcapError)
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `channel configuration ${error.message}`, { cause: error });
    throw error;
  }
  const fail: Fail = (el, what) => {
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${file}:${el.line}: ${what}`, { details: { file, line: el.line } });
  };
  if (root.name !== 'configuration')
    fail(root, `expected a CME channel configuration (a <configuration> root element), found <${root.name}>`);
  const channels: ChannelConfig[] = [];
  const seen = new Set<number>();
  for (const el of root.children) {
    if (el.name !== 'channel') continue;
    const channel = parseChannel(el, fail);
    if (seen.has(channel.id)) fail(el, `expected each channel id once, found channel ${channel.id} again`);
    seen.add(channel.id);
    channels.push(channel);
  }
  if (channels.length === 0) fail(root, 'expected at least one <channel>, found none');
  return channels;
}

type Fail = (el: XmlElement, what: string) => never;

function parseChannel(el: XmlElement, fail: Fail): ChannelConfig {
  const idText = el.attributes['id'];
  if (idText === undefined || !/^\d{1,9}$/.test(idText))
    fail(el, `expected <channel id="…"> a channel number such as 310, found ${quote(idText)}`);
  const id = Number(idText);
  const label = el.attributes['label'] ?? '';
  const products: ChannelProduct[] = [];
  const productsEl = only(el, 'products', fail, false);
  for (const p of productsEl?.children ?? []) {
    if (p.name !== 'product') continue;
    const code = p.attributes['code'];
    if (code === undefined || code === '') fail(p, `expected <product code="…"> in channel ${id}, found ${quote(code)}`);
    const groups = p.children
      .filter((g) => g.name === 'group')
      .map((g) => {
        const c = g.attributes['code'];
        if (c === undefined || c === '') fail(g, `expected <group code="…"> in product ${code}, found ${quote(c)}`);
        return c;
      });
    products.push({ code, groups });
  }
  const connectionsEl = only(el, 'connections', fail, true);
  const connections: ChannelConnection[] = [];
  const ids = new Set<string>();
  for (const c of connectionsEl.children) {
    if (c.name !== 'connection') continue;
    const connection = parseConnection(c, id, fail);
    if (ids.has(connection.id)) fail(c, `expected each connection id once in channel ${id}, found ${connection.id} again`);
    ids.add(connection.id);
    connections.push(connection);
  }
  return { id, label, products, connections };
}

function parseConnection(el: XmlElement, channel: number, fail: Fail): ChannelConnection {
  const id = el.attributes['id'];
  if (id === undefined || id === '')
    fail(el, `expected <connection id="…"> (such as ${channel}IA) in channel ${channel}, found ${quote(id)}`);
  const where = `connection ${id}`;
  const typeEl = only(el, 'type', fail, true);
  const feedType = typeEl.attributes['feed-type'] as FeedType | undefined;
  if (feedType === undefined || !FEED_TYPES.includes(feedType)) {
    fail(typeEl, `expected <type feed-type="…"> one of ${FEED_TYPES.join(', ')} in ${where}, found ${quote(feedType)}`);
  }
  const protocol = only(el, 'protocol', fail, true);
  if (protocol.text !== 'UDP/IP' && protocol.text !== 'TCP/IP') {
    fail(protocol, `expected <protocol> UDP/IP or TCP/IP in ${where}, found ${quote(protocol.text)}`);
  }
  const ipEl = only(el, 'ip', fail, protocol.text === 'UDP/IP');
  if (ipEl !== undefined) {
    if (!isIpv4(ipEl.text)) fail(ipEl, `expected <ip> an IPv4 address in ${where}, found ${quote(ipEl.text)}`);
    if (protocol.text === 'UDP/IP' && !isMulticast(ipEl.text)) {
      fail(ipEl, `expected <ip> a multicast group (224.0.0.0/4) in ${where}, found ${ipEl.text}`);
    }
  }
  const hostIps = el.children
    .filter((h) => h.name === 'host-ip')
    .map((h) => {
      if (!isIpv4(h.text)) fail(h, `expected <host-ip> an IPv4 address in ${where}, found ${quote(h.text)}`);
      return h.text;
    });
  const portEl = only(el, 'port', fail, true);
  const port = /^\d{1,5}$/.test(portEl.text) ? Number(portEl.text) : NaN;
  if (!(port >= 1 && port <= 65535)) fail(portEl, `expected <port> a port from 1 to 65535 in ${where}, found ${quote(portEl.text)}`);
  const feedEl = only(el, 'feed', fail, true);
  if (feedEl.text !== 'A' && feedEl.text !== 'B') fail(feedEl, `expected <feed> A or B in ${where}, found ${quote(feedEl.text)}`);
  return {
    id,
    feedType,
    typeLabel: typeEl.text,
    protocol: protocol.text,
    ...(ipEl === undefined ? {} : { ip: ipEl.text }),
    hostIps,
    port,
    feed: feedEl.text,
  };
}

/** The one child named `name`: a second is an error, a missing one too when `required`. */
function only(el: XmlElement, name: string, fail: Fail, required: true): XmlElement;
function only(el: XmlElement, name: string, fail: Fail, required: boolean): XmlElement | undefined;
function only(el: XmlElement, name: string, fail: Fail, required: boolean): XmlElement | undefined {
  const found = el.children.filter((c) => c.name === name);
  const what = el.attributes['id'] === undefined ? `<${el.name}>` : `<${el.name} id="${el.attributes['id']}">`;
  if (found.length > 1) fail(found[1]!, `expected one <${name}> in ${what}, found another`);
  if (required && found.length === 0) fail(el, `expected <${name}> in ${what}, found none`);
  return found[0];
}

const quote = (s: string | undefined): string => (s === undefined ? 'none' : JSON.stringify(s));

function isIpv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isMulticast(s: string): boolean {
  const first = Number(s.split('.')[0]);
  return first >= 224 && first <= 239;
}

/**
 * The channel with this id.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` listing the channels there are.
 */
export function findChannel(configs: readonly ChannelConfig[], id: number): ChannelConfig {
  const found = configs.find((c) => c.id === id);
  if (found === undefined) {
    const ids = configs.map((c) => c.id);
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `channel: expected one of the configured channels (${ids.length > 10 ? `${ids.slice(0, 10).join(', ')}… ${ids.length} in all` : ids.join(', ')}), found ${id}`,
    );
  }
  return found;
}

/**
 * The UDP connection of a channel for a feed type and line (`I`, `A`: the incremental feed A),
 * or undefined when the channel has none.
 */
export function findConnection(channel: ChannelConfig, feedType: FeedType, feed: FeedLine): MulticastConnection | undefined {
  return channel.connections.find(
    (c): c is MulticastConnection => c.feedType === feedType && c.feed === feed && c.protocol === 'UDP/IP' && c.ip !== undefined,
  );
}

const escapeXml = (s: string): string =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);

/**
 * Writes channels in CME's `config.xml` format, which {@link parseChannelConfig} (and other CME
 * feed handlers) read back: what `mdcap emulate --venue cme --config-out` gives a receiver.
 */
export function channelConfigXml(channels: readonly ChannelConfig[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', '<configuration>'];
  for (const ch of channels) {
    out.push(`  <channel id="${ch.id}" label="${escapeXml(ch.label)}">`, '    <products>');
    for (const p of ch.products) {
      out.push(`      <product code="${escapeXml(p.code)}">`);
      for (const g of p.groups) out.push(`        <group code="${escapeXml(g)}"/>`);
      out.push('      </product>');
    }
    out.push('    </products>', '    <connections>');
    for (const c of ch.connections) {
      out.push(
        `      <connection id="${escapeXml(c.id)}">`,
        `        <type feed-type="${c.feedType}">${escapeXml(c.typeLabel ?? FEED_TYPE_LABELS[c.feedType])}</type>`,
        `        <protocol>${c.protocol}</protocol>`,
      );
      if (c.ip !== undefined) out.push(`        <ip>${c.ip}</ip>`);
      for (const h of c.hostIps) out.push(`        <host-ip>${h}</host-ip>`);
      out.push(`        <port>${c.port}</port>`, `        <feed>${c.feed}</feed>`, '      </connection>');
    }
    out.push('    </connections>', '  </channel>');
  }
  out.push('</configuration>', '');
  return out.join('\n');
}

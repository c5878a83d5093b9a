import { channelConfigXml, findChannel, findConnection, parseChannelConfig } from '@mdcap/mdp3';
import type { ChannelConfig } from '@mdcap/mdp3';
import { describe, expect, it } from 'vitest';

/**
 * A channel laid out as CME's production file lays out channel 310: a TCP historical-replay
 * connection, incremental, instrument replay, MBP and MBO snapshot loops, each on lines A and B,
 * two source hosts per connection, plus a second channel. The host addresses are made up.
 */
/** One `<connection>` of CME's file, laid out as there (no `<ip>` for TCP). */
function connection(
  id: string,
  type: string,
  label: string,
  ip: string | null,
  hosts: readonly string[],
  port: number,
  feed: string,
): string {
  return [
    `      <connection id="${id}">`,
    `        <type feed-type="${type}">${label}</type>`,
    `        <protocol>${ip === null ? 'TCP/IP' : 'UDP/IP'}</protocol>`,
    ...(ip === null ? [] : [`        <ip>${ip}</ip>`]),
    ...hosts.map((h) => `        <host-ip>${h}</host-ip>`),
    `        <port>${port}</port>`,
    `        <feed>${feed}</feed>`,
    '      </connection>',
  ].join('\n');
}

const CME_LIKE = `<?xml version="1.0" encoding="UTF-8"?>
<configuration environment="Production" updated="2024/07/01-12:00:00">
  <channel id="310" label="CME Globex Equity Futures">
    <products>
      <product code="0ES">
        <group code="$E"/>
      </product>
      <product code="ES">
        <group code="ES"/>
      </product>
    </products>
    <connections>
${[
  connection('310H2A', 'H', 'Historical Replay', null, ['10.1.0.1', '10.1.0.2'], 10000, 'A'),
  connection('310IA', 'I', 'Incremental', '224.0.31.1', ['10.2.0.1', '10.2.0.2'], 14310, 'A'),
  connection('310IB', 'I', 'Incremental', '224.0.32.1', ['10.3.0.1', '10.3.0.2'], 15310, 'B'),
  connection('310NA', 'N', 'Instrument Replay', '224.0.31.43', ['10.2.0.3'], 14310, 'A'),
  connection('310NB', 'N', 'Instrument Replay', '224.0.32.43', ['10.3.0.3'], 15310, 'B'),
  connection('310SA', 'S', 'Snapshot', '224.0.31.22', ['10.2.0.4'], 14310, 'A'),
  connection('310SB', 'S', 'Snapshot', '224.0.32.22', ['10.3.0.4'], 15310, 'B'),
  connection('310SAMBO', 'SMBO', 'Snapshot-MBO', '233.72.75.1', [], 23310, 'A'),
].join('\n')}
    </connections>
  </channel>
  <channel id="311" label="CME Globex Equity Options">
    <products>
      <product code="ES">
        <group code="ES"/>
        <group code="EW"/>
      </product>
    </products>
    <connections>
${connection('311IA', 'I', 'Incremental', '224.0.31.2', [], 14311, 'A')}
    </connections>
  </channel>
</configuration>
`;

/** What `f` threw (undefined: nothing). */
function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** An invalid-option error with exactly this message. */
const invalid = (message: string | RegExp): object => ({
  code: 'MDCAP_ERR_INVALID_OPTION',
  message: typeof message === 'string' ? message : expect.stringMatching(message),
});

describe('parseChannelConfig', () => {
  it("reads CME's layout: products, groups, every connection with its feed type, line, group, sources and port", () => {
    const channels = parseChannelConfig(CME_LIKE, 'config.xml');
    expect(channels.map((c) => [c.id, c.label])).toEqual([
      [310, 'CME Globex Equity Futures'],
      [311, 'CME Globex Equity Options'],
    ]);
    const ch = findChannel(channels, 310);
    expect(ch.products).toEqual([
      { code: '0ES', groups: ['$E'] },
      { code: 'ES', groups: ['ES'] },
    ]);
    expect(ch.connections.map((c) => `${c.id} ${c.feedType}${c.feed} ${c.protocol} ${c.ip ?? '-'}:${c.port}`)).toEqual([
      '310H2A HA TCP/IP -:10000',
      '310IA IA UDP/IP 224.0.31.1:14310',
      '310IB IB UDP/IP 224.0.32.1:15310',
      '310NA NA UDP/IP 224.0.31.43:14310',
      '310NB NB UDP/IP 224.0.32.43:15310',
      '310SA SA UDP/IP 224.0.31.22:14310',
      '310SB SB UDP/IP 224.0.32.22:15310',
      '310SAMBO SMBOA UDP/IP 233.72.75.1:23310',
    ]);
    expect(ch.connections[1]).toEqual({
      id: '310IA',
      feedType: 'I',
      typeLabel: 'Incremental',
      protocol: 'UDP/IP',
      ip: '224.0.31.1',
      hostIps: ['10.2.0.1', '10.2.0.2'],
      port: 14310,
      feed: 'A',
    });
    expect(ch.connections[0]!.hostIps).toEqual(['10.1.0.1', '10.1.0.2']);
    expect(ch.connections[7]!.hostIps).toEqual([]);
    expect(findChannel(channels, 311).products).toEqual([{ code: 'ES', groups: ['ES', 'EW'] }]);
  });

  it('finds the multicast connection of a feed type and line; the TCP replay and missing lines are not ones', () => {
    const ch = findChannel(parseChannelConfig(CME_LIKE, 'config.xml'), 310);
    expect(findConnection(ch, 'I', 'B')).toMatchObject({ id: '310IB', ip: '224.0.32.1', port: 15310 });
    expect(findConnection(ch, 'S', 'A')?.id).toBe('310SA');
    expect(findConnection(ch, 'N', 'B')?.id).toBe('310NB');
    expect(findConnection(ch, 'H', 'A')).toBeUndefined();
    expect(findConnection(ch, 'SMBO', 'B')).toBeUndefined();
  });

  it('round-trips through channelConfigXml, also with no products, no sources and markup in a label', () => {
    const channels = parseChannelConfig(CME_LIKE, 'config.xml');
    const again = parseChannelConfig(channelConfigXml(channels), 'written.xml');
    expect(again).toEqual(channels);
    const local: ChannelConfig[] = [
      {
        id: 7,
        label: 'Test <"A&B"> channel',
        products: [],
        connections: [
          { id: '7IA', feedType: 'I', protocol: 'UDP/IP', ip: '239.255.31.1', hostIps: [], port: 30001, feed: 'A' },
          {
            id: '7SB',
            feedType: 'S',
            typeLabel: 'Market Recovery',
            protocol: 'UDP/IP',
            ip: '239.255.32.22',
            hostIps: [],
            port: 30002,
            feed: 'B',
          },
        ],
      },
    ];
    const text = channelConfigXml(local);
    expect(text).toContain('<type feed-type="I">Incremental</type>');
    expect(text).toContain('label="Test &lt;&quot;A&amp;B&quot;&gt; channel"');
    const back = parseChannelConfig(text, 'local.xml');
    expect(back[0]!.label).toBe(local[0]!.label);
    expect(back[0]!.connections).toEqual([{ ...local[0]!.connections[0]!, typeLabel: 'Incremental' }, local[0]!.connections[1]]);
  });

  it('skips elements and attributes it does not use (a newer file from CME still loads)', () => {
    const text = CME_LIKE.replace(
      '<feed>A</feed>\n      </connection>',
      '<feed>A</feed>\n        <bandwidth>10</bandwidth>\n      </connection>',
    ).replace('<connections>', '<notes>later</notes>\n    <connections>');
    expect(parseChannelConfig(text, 'config.xml')).toEqual(parseChannelConfig(CME_LIKE, 'config.xml'));
  });
});

describe('findChannel', () => {
  it('names the channels there are when the one asked for is missing', () => {
    const channels = parseChannelConfig(CME_LIKE, 'config.xml');
    expect(thrownBy(() => findChannel(channels, 999))).toMatchObject(
      invalid('channel: expected one of the configured channels (310, 311), found 999'),
    );
  });
});

describe('parseChannelConfig: bad input names the file, the line and what was expected', () => {
  /** CME_LIKE with one piece replaced, and the error it gives. */
  const broken = (from: string, to: string): unknown => {
    expect(CME_LIKE).toContain(from);
    return thrownBy(() => parseChannelConfig(CME_LIKE.replace(from, to), 'config.xml'));
  };

  // [replaced, by, line of the error, what it says]
  it.each([
    ['<feed>A</feed>', '<feed>C</feed>', 19, 'expected <feed> A or B in connection 310H2A, found "C"'],
    ['<port>14310</port>', '<port>99999</port>', 27, 'expected <port> a port from 1 to 65535 in connection 310IA, found "99999"'],
    ['<port>14310</port>', '<port>x</port>', 27, 'expected <port> a port from 1 to 65535 in connection 310IA, found "x"'],
    ['>224.0.31.1<', '>10.0.0.1<', 24, 'expected <ip> a multicast group (224.0.0.0/4) in connection 310IA, found 10.0.0.1'],
    ['>224.0.31.1<', '>224.0.31<', 24, 'expected <ip> an IPv4 address in connection 310IA, found "224.0.31"'],
    ['<ip>224.0.31.1</ip>', '', 21, 'expected <ip> in <connection id="310IA">, found none'],
    ['<ip>224.0.31.1</ip>', '<ip>224.0.31.1</ip><ip>224.0.31.9</ip>', 24, 'expected one <ip> in <connection id="310IA">, found another'],
    ['<host-ip>10.2.0.1</host-ip>', '<host-ip>host</host-ip>', 25, 'expected <host-ip> an IPv4 address in connection 310IA, found "host"'],
    ['feed-type="I"', 'feed-type="X"', 22, 'expected <type feed-type="…"> one of I, N, S, SMBO, H in connection 310IA, found "X"'],
    [' feed-type="I"', '', 22, 'expected <type feed-type="…"> one of I, N, S, SMBO, H in connection 310IA, found none'],
    ['>UDP/IP<', '>SCTP<', 23, 'expected <protocol> UDP/IP or TCP/IP in connection 310IA, found "SCTP"'],
    ['<connection id="310IA">', '<connection>', 21, 'expected <connection id="…"> (such as 310IA) in channel 310, found none'],
    ['<connection id="310IB">', '<connection id="310IA">', 30, 'expected each connection id once in channel 310, found 310IA again'],
    ['<channel id="311"', '<channel id="310"', 80, 'expected each channel id once, found channel 310 again'],
    ['<channel id="310"', '<channel id="ES"', 3, 'expected <channel id="…"> a channel number such as 310, found "ES"'],
    ['<product code="ES">', '<product>', 8, 'expected <product code="…"> in channel 310, found none'],
    ['<group code="$E"/>', '<group/>', 6, 'expected <group code="…"> in product 0ES, found none'],
  ])('%s → %s', (from, to, line, message) => {
    expect(broken(from, to)).toMatchObject(invalid(`config.xml:${line}: ${message}`));
  });

  it('a file that is not a channel configuration, or not XML', () => {
    expect(thrownBy(() => parseChannelConfig('<messageSchema id="1"/>', 'templates.xml'))).toMatchObject(
      invalid('templates.xml:1: expected a CME channel configuration (a <configuration> root element), found <messageSchema>'),
    );
    expect(thrownBy(() => parseChannelConfig('<configuration>\n</configuration>', 'empty.xml'))).toMatchObject(
      invalid('empty.xml:1: expected at least one <channel>, found none'),
    );
    expect(thrownBy(() => parseChannelConfig('<configuration>\n<channel id="1">\n</channel>\n</configuration>', 'c.xml'))).toMatchObject(
      invalid('c.xml:2: expected <connections> in <channel id="1">, found none'),
    );
    expect(thrownBy(() => parseChannelConfig('<configuration>\n<channel id="1">\n</chanel>', 'bad.xml'))).toMatchObject(
      invalid('channel configuration bad.xml:3: not XML: expected </channel>, found </chanel>'),
    );
    expect(thrownBy(() => parseChannelConfig('<html>Not found</html>', 'page.html'))).toMatchObject(
      invalid(/^page\.html:1: expected a CME channel configuration/),
    );
  });
});

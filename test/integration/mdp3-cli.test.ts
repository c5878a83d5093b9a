import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePcap } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/** `mdcap mdp3 FILE`: CME MDP 3.0 pcaps decoded by the schema, and what it says about bad input. */
const dir = tempDir('mdp3');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PCAP = (): string => datasetFile('cme-mdp3', 'mdp3_sbedecoder_payloads.constructed.pcap');

function payloads(): Uint8Array[] {
  const file = JSON.parse(readFileSync(datasetFile('cme-mdp3', 'mdp3_packets_from_sbedecoder_tests.json'), 'utf8')) as {
    packets: { hex: string }[];
  };
  return file.packets.map((p) => new Uint8Array(Buffer.from(p.hex, 'hex')));
}

function pcapOf(packets: readonly Uint8Array[], name: string): string {
  const path = join(dir, name);
  const bytes = writePcap(
    packets.map((payload, i) => ({
      tsNs: 1_502_401_500_000_000_000n + BigInt(i),
      srcIp: '10.0.0.1',
      dstIp: '224.0.31.1',
      srcPort: 40000,
      dstPort: 14310,
      payload,
    })),
  );
  writeFileSync(path, bytes);
  return path;
}

describeWithDataset('cme-mdp3', 'mdcap mdp3', () => {
  it('prints one line per message with the schema names; --json gives exact values', () => {
    const text = mdcap(['mdp3', PCAP()]);
    expect(text.stderr).toBe('');
    expect(text.status).toBe(0);
    const lines = text.stdout.trim().split('\n');
    expect(lines).toHaveLength(6); // pkt4 holds two messages
    expect(lines[0]).toBe(
      '#0 seq=11076438 sent=2017-08-10T21:45:00.005340828Z 224.0.31.1:14310 SecurityStatus30 v8 TransactTime=1502401500001346819 SecurityGroup=ES Asset="" SecurityID=null TradeDate=17389 MatchEventIndicator=EndOfEvent SecurityTradingStatus=PreOpen HaltReason=GroupSchedule SecurityTradingEvent=ResetStatistics',
    );
    expect(lines[5]).toContain(
      'MDIncrementalRefreshTradeSummary42 v8 TransactTime=1502402400015595653 MatchEventIndicator=LastTradeMsg NoMDEntries[0].MDEntryPx=243450',
    );
    const json = mdcap(['mdp3', PCAP(), '--json']);
    const rows = json.stdout
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { packet: number; seqNum: number; sendingTime: string; template: string; fields: Record<string, unknown> },
      );
    expect(rows.map((r) => [r.packet, r.seqNum, r.template])).toEqual([
      [0, 11076438, 'SecurityStatus30'],
      [1, 11077908, 'SecurityStatus30'],
      [2, 11079619, 'MDIncrementalRefreshBook32'],
      [3, 11079625, 'MDIncrementalRefreshBook32'],
      [3, 11079625, 'MDIncrementalRefreshBook32'],
      [4, 11078191, 'MDIncrementalRefreshTradeSummary42'],
    ]);
    expect(rows[2]!.fields['NoMDEntries']).toEqual([
      {
        MDEntryPx: '243150',
        MDEntrySize: 2,
        SecurityID: 23936,
        RptSeq: 1322302,
        NumberOfOrders: 1,
        MDPriceLevel: 1,
        MDUpdateAction: 'New',
        MDEntryType: 'Bid',
      },
      {
        MDEntryPx: '243125',
        MDEntrySize: 2,
        SecurityID: 23936,
        RptSeq: 1322303,
        NumberOfOrders: 1,
        MDPriceLevel: 2,
        MDUpdateAction: 'Change',
        MDEntryType: 'Bid',
      },
    ]);
    expect(rows[0]!.sendingTime).toBe('1502401500005340828');
    expect(mdcap(['mdp3', PCAP(), '--limit', '2']).stdout.trim().split('\n')).toHaveLength(2);
  });

  it('a truncated packet: an error naming the packet and offset, or with --skip-bad, counted and skipped', () => {
    const p = payloads();
    const file = pcapOf([p[0]!, p[2]!.subarray(0, 100), p[4]!], 'truncated.pcap');
    const failed = mdcap(['mdp3', file]);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toBe(
      `mdcap mdp3: MDCAP_ERR_SBE_DECODE: ${file}: packet 1 (file offset 134), byte 12: expected 120 bytes of message (its MsgSize), found 88 left in the packet\n`,
    );
    const skipped = mdcap(['mdp3', file, '--skip-bad']);
    expect(skipped.status).toBe(1);
    expect(
      skipped.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[0]),
    ).toEqual(['#0', '#2']);
    expect(skipped.stderr).toContain('packet 1 (file offset 134)');
    expect(skipped.stderr).toContain('mdcap mdp3: 1 packet could not be decoded and were skipped');
  });

  it('an unknown template, a schema that is not SBE XML, a pcap of another link type: clear errors', () => {
    const unknown = payloads()[0]!.slice();
    unknown[16] = 77;
    const u = mdcap(['mdp3', pcapOf([unknown], 'unknown.pcap')]);
    expect(u.stderr).toMatch(
      /MDCAP_ERR_SBE_DECODE: .*unknown\.pcap: packet 0 \(file offset 24\), byte 12: expected a template id of schema 1 v9 .*found 77/,
    );
    const html = join(dir, 'schema.html');
    writeFileSync(html, '<html><body>Not found</body></html>');
    expect(mdcap(['mdp3', PCAP(), '--schema', html]).stderr).toBe(
      `mdcap mdp3: MDCAP_ERR_SBE_SCHEMA: ${html}:1: expected an SBE <messageSchema> root element, found <html>\n`,
    );
    expect(mdcap(['mdp3', PCAP(), '--schema', join(dir, 'none.xml')]).stderr).toMatch(
      /MDCAP_ERR_IO: --schema: expected an SBE schema file at .*none\.xml, found nothing there/,
    );
    const linkType = join(dir, 'linktype.pcap');
    const bytes = readFileSync(PCAP());
    bytes.writeUInt32LE(105, 20); // 802.11
    writeFileSync(linkType, bytes);
    const l = mdcap(['mdp3', linkType]);
    expect(l.status).toBe(2);
    expect(l.stderr).toMatch(/MDCAP_ERR_IMPORT_FORMAT: .*found 105/);
  });
});

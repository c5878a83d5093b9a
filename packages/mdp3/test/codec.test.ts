import { readFileSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { parseSchema, SbeCodec, SbeDecimal } from '@mdcap/mdp3';
import type { DecodedPacket, Schema } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

/** The decoded packet as JSON text: bigints as strings, decimals as their exact text. */
const json = (p: unknown): unknown => JSON.parse(JSON.stringify(p, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)));

function packets(): { id: string; bytes: Uint8Array }[] {
  const file = JSON.parse(readFileSync(datasetFile('cme-mdp3', 'mdp3_packets_from_sbedecoder_tests.json'), 'utf8')) as {
    packets: { id: string; hex: string }[];
  };
  return file.packets.map((p) => ({ id: p.id, bytes: new Uint8Array(Buffer.from(p.hex, 'hex')) }));
}

function codes(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    if (error instanceof MdcapError) return `${error.code}: ${error.message}`;
    throw error;
  }
  return 'no error';
}

describe('SbeDecimal', () => {
  it('is exact text, whatever the exponent', () => {
    expect(new SbeDecimal(24315000000000n, -7).toString()).toBe('2431500');
    expect(new SbeDecimal(24315000n, -7).toString()).toBe('2.4315');
    expect(new SbeDecimal(-5n, -9).toString()).toBe('-0.000000005');
    expect(new SbeDecimal(0n, -4).toString()).toBe('0');
    expect(new SbeDecimal(12n, 2).toString()).toBe('1200');
    expect(JSON.stringify({ p: new SbeDecimal(9223372036854775806n, -7) })).toBe('{"p":"922337203685.4775806"}');
  });
});

describe('parseSchema: bad input', () => {
  it('says what is wrong and where', () => {
    expect(codes(() => parseSchema('PK\u0003\u0004 binary zip bytes', 'a.zip'))).toMatch(
      /^MDCAP_ERR_SBE_SCHEMA: a\.zip:1: not XML: expected markup, found text/,
    );
    expect(codes(() => parseSchema('<html><body>Not found</body></html>', 'page.html'))).toBe(
      'MDCAP_ERR_SBE_SCHEMA: page.html:1: expected an SBE <messageSchema> root element, found <html>',
    );
    expect(codes(() => parseSchema('<messageSchema id="1">\n<types>\n</typez>', 'x.xml'))).toBe(
      'MDCAP_ERR_SBE_SCHEMA: x.xml:3: not XML: expected </types>, found </typez>',
    );
    const noType =
      '<messageSchema id="1"><types><composite name="messageHeader"><type name="blockLength" primitiveType="uint16"/><type name="templateId" primitiveType="uint16"/><type name="schemaId" primitiveType="uint16"/><type name="version" primitiveType="uint16"/></composite></types>\n<message name="M" id="1"><field name="F" id="1" type="Nope"/></message></messageSchema>';
    expect(codes(() => parseSchema(noType, 's.xml'))).toBe(
      'MDCAP_ERR_SBE_SCHEMA: s.xml:2: expected a type named Nope in <types>, found none',
    );
  });
});

describeWithDataset('cme-mdp3', 'MDP3 packets decoded by the v9 schema (real CME packets, SBE version 8)', () => {
  let schema: Schema;
  let codec: SbeCodec;
  let decoded: Map<string, DecodedPacket>;
  beforeAll(() => {
    schema = parseSchema(readFileSync(datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml'), 'utf8'), 'templates_FixBinary.v9.xml');
    codec = new SbeCodec(schema);
    decoded = new Map(packets().map((p) => [p.id, codec.decodePacket(p.bytes, p.id)]));
  });

  it('reads the schema: its id, version, byte order, and the templates MDP3 needs', () => {
    expect(schema).toMatchObject({ package: 'mktdata', id: 1, version: 9, byteOrder: 'littleEndian', description: '20180308' });
    expect(schema.messages.size).toBe(29);
    expect(schema.messagesByName.get('MDIncrementalRefreshBook32')).toMatchObject({ id: 32, blockLength: 11, semanticType: 'X' });
    const book = schema.messages.get(32)!;
    expect(book.groups.map((g) => [g.name, g.blockLength, g.dimension.name, g.dimension.size, g.sinceVersion])).toEqual([
      ['NoMDEntries', 32, 'groupSize', 3, 0],
      ['NoOrderIDEntries', 24, 'groupSize8Byte', 8, 7],
    ]);
    expect(schema.types.get('PRICE')).toMatchObject({ kind: 'composite', exponent: -7, size: 8 });
    expect(schema.types.get('PRICE9')).toMatchObject({ kind: 'composite', exponent: -9, sinceVersion: 9 });
    expect(schema.types.get('PRICENULL')).toMatchObject({ kind: 'composite', exponent: -7 });
    expect(schema.types.get('Int32NULL')).toMatchObject({ kind: 'type', presence: 'optional', nullValue: 2147483647n });
    expect(schema.types.get('MDEntryTypeTrade')).toMatchObject({ presence: 'constant', constant: '2', size: 0 });
  });

  it('pkt1, pkt2: SecurityStatus, every field, enum and set names, the null SecurityID', () => {
    expect(json(decoded.get('pkt1'))).toEqual({
      seqNum: 11076438,
      sendingTime: '1502401500005340828n',
      messages: [
        {
          templateId: 30,
          name: 'SecurityStatus30',
          schemaId: 1,
          version: 8,
          blockLength: 30,
          offset: 12,
          size: 40,
          fields: {
            TransactTime: '1502401500001346819n',
            SecurityGroup: 'ES',
            Asset: '',
            SecurityID: null,
            TradeDate: 17389,
            MatchEventIndicator: ['EndOfEvent'],
            SecurityTradingStatus: 'PreOpen',
            HaltReason: 'GroupSchedule',
            SecurityTradingEvent: 'ResetStatistics',
          },
          groupBlockLengths: {},
        },
      ],
    });
    const p2 = decoded.get('pkt2')!;
    expect(p2).toMatchObject({ seqNum: 11077908, sendingTime: 1502402370002610107n });
    expect(p2.messages[0]!.fields).toMatchObject({
      TransactTime: 1502402370000951321n,
      SecurityTradingEvent: 'NoCancel',
      TradeDate: 17389,
    });
  });

  it('pkt3: MDIncrementalRefreshBook with two MD entries and an order entry (groupSize8Byte), prices exact', () => {
    const p = decoded.get('pkt3')!;
    expect(p).toMatchObject({ seqNum: 11079619, sendingTime: 1502402403113098626n });
    const m = p.messages[0]!;
    expect(m).toMatchObject({
      templateId: 32,
      version: 8,
      blockLength: 11,
      size: 120,
      groupBlockLengths: { NoMDEntries: 32, NoOrderIDEntries: 24 },
    });
    expect(m.fields['TransactTime']).toBe(1502402403112954773n);
    expect(m.fields['MatchEventIndicator']).toEqual(['LastQuoteMsg', 'EndOfEvent']);
    const entries = m.fields['NoMDEntries'] as Record<string, unknown>[];
    expect(entries.map((e) => ({ ...e, MDEntryPx: (e['MDEntryPx'] as SbeDecimal).mantissa }))).toEqual([
      {
        MDEntryPx: 2431500000000n,
        MDEntrySize: 2,
        SecurityID: 23936,
        RptSeq: 1322302,
        NumberOfOrders: 1,
        MDPriceLevel: 1,
        MDUpdateAction: 'New',
        MDEntryType: 'Bid',
      },
      {
        MDEntryPx: 2431250000000n,
        MDEntrySize: 2,
        SecurityID: 23936,
        RptSeq: 1322303,
        NumberOfOrders: 1,
        MDPriceLevel: 2,
        MDUpdateAction: 'Change',
        MDEntryType: 'Bid',
      },
    ]);
    expect((entries[0]!['MDEntryPx'] as SbeDecimal).exponent).toBe(-7);
    expect(String(entries[0]!['MDEntryPx'])).toBe('243150');
    expect(m.fields['NoOrderIDEntries']).toEqual([
      { OrderID: 644422849436n, MDOrderPriority: 5437133604n, MDDisplayQty: 2, ReferenceID: 1, OrderUpdateAction: 'Update' },
    ]);
  });

  it('pkt4: two messages in one packet, each framed by its MsgSize', () => {
    const p = decoded.get('pkt4')!;
    expect(p.messages.map((m) => [m.offset, m.size, m.templateId])).toEqual([
      [12, 88, 32],
      [100, 88, 32],
    ]);
    expect(
      p.messages.map((m) =>
        (m.fields['NoMDEntries'] as Record<string, unknown>[]).map((e) => [
          e['SecurityID'],
          e['RptSeq'],
          String(e['MDEntryPx']),
          e['MDEntrySize'],
          e['NumberOfOrders'],
          e['MDPriceLevel'],
          e['MDUpdateAction'],
          e['MDEntryType'],
        ]),
      ),
    ).toEqual([[[24842, 11284470, '243225', 142, 48, 7, 'Change', 'Bid']], [[23936, 1322304, '243275', 4, 2, 2, 'Change', 'Offer']]]);
  });

  it('pkt5: MDIncrementalRefreshTradeSummary, the aggressor, the constant entry type, a null trade entry id, two order entries', () => {
    const m = decoded.get('pkt5')!.messages[0]!;
    expect(decoded.get('pkt5')).toMatchObject({ seqNum: 11078191, sendingTime: 1502402400018164861n });
    expect(m).toMatchObject({ name: 'MDIncrementalRefreshTradeSummary42', groupBlockLengths: { NoMDEntries: 32, NoOrderIDEntries: 16 } });
    expect(m.fields['MatchEventIndicator']).toEqual(['LastTradeMsg']);
    const [e] = m.fields['NoMDEntries'] as Record<string, unknown>[];
    expect({ ...e, MDEntryPx: String(e!['MDEntryPx']) }).toEqual({
      MDEntryPx: '243450',
      MDEntrySize: 2,
      SecurityID: 24842,
      RptSeq: 11283198,
      NumberOfOrders: 2,
      AggressorSide: 'Buy',
      MDUpdateAction: 'New',
      MDEntryType: '2',
      MDTradeEntryID: null,
    });
    expect(m.fields['NoOrderIDEntries']).toEqual([
      { OrderID: 644422848816n, LastQty: 2 },
      { OrderID: 644422848685n, LastQty: 2 },
    ]);
  });

  it('encodes what it decodes, byte for byte, in the version and block lengths each message states', () => {
    for (const { id, bytes } of packets()) {
      const p = decoded.get(id)!;
      const again = codec.encodePacket(
        p.seqNum,
        p.sendingTime,
        p.messages.map((m) =>
          codec.encodeMessage(m.templateId, m.fields, {
            version: m.version,
            blockLength: m.blockLength,
            groupBlockLengths: m.groupBlockLengths,
          }),
        ),
      );
      expect(Buffer.from(again).toString('hex'), id).toBe(Buffer.from(bytes).toString('hex'));
    }
  });

  it('schema evolution: a message of an older version lacks the newer fields and groups; a longer block is skipped', () => {
    const fields = decoded.get('pkt3')!.messages[0]!.fields;
    // Version 6 predates NoOrderIDEntries (sinceVersion 7): no bytes for it, no group decoded.
    const v6 = codec.decodePacket(codec.encodePacket(1, 2n, [codec.encodeMessage(32, fields, { version: 6 })]));
    expect(v6.messages[0]!.fields['NoOrderIDEntries']).toBeUndefined();
    expect(v6.messages[0]!.size).toBe(2 + 8 + 11 + 3 + 2 * 32);
    // A trade summary of version 6 lacks MDTradeEntryID (sinceVersion 7) though its block is as long.
    const trade = decoded.get('pkt5')!.messages[0]!.fields;
    const t6 = codec.decodePacket(codec.encodePacket(1, 2n, [codec.encodeMessage(42, { ...trade }, { version: 6 })])).messages[0]!;
    expect((t6.fields['NoMDEntries'] as Record<string, unknown>[])[0]).not.toHaveProperty('MDTradeEntryID');
    // A newer sender's longer root block and entries: the decoder uses the lengths the message states.
    const wide = codec.decodePacket(
      codec.encodePacket(1, 2n, [
        codec.encodeMessage(32, fields, { blockLength: 15, groupBlockLengths: { NoMDEntries: 40, NoOrderIDEntries: 24 } }),
      ]),
    );
    expect(json(wide.messages[0]!.fields)).toEqual(json(fields));
    // A shorter entry than the schema's: fields past its end are absent.
    const narrow = codec.decodePacket(
      codec.encodePacket(1, 2n, [codec.encodeMessage(32, fields, { groupBlockLengths: { NoMDEntries: 24, NoOrderIDEntries: 24 } })]),
    );
    expect(Object.keys((narrow.messages[0]!.fields['NoMDEntries'] as Record<string, unknown>[])[0]!)).toEqual([
      'MDEntryPx',
      'MDEntrySize',
      'SecurityID',
      'RptSeq',
      'NumberOfOrders',
    ]);
  });

  it('bad packets: a clear error naming the packet and the byte offset', () => {
    const p3 = packets()[2]!.bytes;
    expect(codes(() => codec.decodePacket(p3.subarray(0, 7), 'pkt3'))).toBe(
      'MDCAP_ERR_SBE_DECODE: pkt3, byte 0: expected a 12-byte packet header, found 7 bytes',
    );
    expect(codes(() => codec.decodePacket(p3.subarray(0, 100), 'pkt3'))).toBe(
      'MDCAP_ERR_SBE_DECODE: pkt3, byte 12: expected 120 bytes of message (its MsgSize), found 88 left in the packet',
    );
    const unknown = p3.slice();
    unknown[16] = 99; // templateId
    expect(codes(() => codec.decodePacket(unknown, 'pkt3'))).toMatch(
      /^MDCAP_ERR_SBE_DECODE: pkt3, byte 12: expected a template id of schema 1 v9 \(templates_FixBinary\.v9\.xml\), found 99 \(schema id 1, version 8\)/,
    );
    const many = p3.slice();
    many[12 + 2 + 8 + 11 + 2] = 9; // NoMDEntries.numInGroup: 9 entries of 32 bytes do not fit in the 120-byte message
    expect(codes(() => codec.decodePacket(many, 'pkt3'))).toBe(
      'MDCAP_ERR_SBE_DECODE: pkt3, byte 132: expected entry 3 of 9 of MDIncrementalRefreshBook32.NoMDEntries (32 bytes) within the message, found it past the end',
    );
    expect(codes(() => codec.decodePacket(p3.subarray(0, 13), 'pkt3'))).toBe(
      'MDCAP_ERR_SBE_DECODE: pkt3, byte 12: expected a 2-byte message size, found 1 bytes',
    );
  });

  it('encoding refuses what the type cannot carry exactly', () => {
    const fields = decoded.get('pkt3')!.messages[0]!.fields;
    const entries = fields['NoMDEntries'] as Record<string, unknown>[];
    const bad = { ...fields, NoMDEntries: [{ ...entries[0], MDEntryPx: new SbeDecimal(1n, -9) }] };
    expect(codes(() => codec.encodeMessage(32, bad as never))).toMatch(
      /encode MDIncrementalRefreshBook32\.NoMDEntries\.MDEntryPx: expected a PRICENULL with exponent -7/,
    );
    expect(codes(() => codec.encodeMessage('Nope', {}))).toBe(
      'MDCAP_ERR_INVALID_OPTION: encode: expected a template of templates_FixBinary.v9.xml, found "Nope"',
    );
  });
});

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { DbnReader, UNDEF_PRICE } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import { Mdp3Exchange, MDP3_MAX_PACKET_BYTES } from '@mdcap/emulators';
import type { IncrementalPacket, Mdp3Packet, Mdp3PacketSource } from '@mdcap/emulators';
import { MESSAGE_SIZE_BYTES, parseSchema, SbeCodec, SbeDecimal } from '@mdcap/mdp3';
import type { DecodedPacket, SbeRecord } from '@mdcap/mdp3';
import { datasetFile, describeWithDataset } from '@mdcap/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * The MDP3 exchange checked from the outside: its packets are decoded with the codec and applied
 * by a client written here (a level-indexed MBP book, an MBO order map, RptSeq counters), and
 * what that client holds is compared with the Databento records the packets came from and with
 * the exchange's snapshot loops.
 */

const E9 = 1_000_000_000n;
let codec: SbeCodec;

interface Lvl {
  readonly px: bigint;
  readonly size: number;
  readonly orders: number;
}
interface Ord {
  readonly side: string;
  readonly px: bigint;
  readonly qty: number;
  readonly priority: bigint;
}
interface Book {
  Bid: Lvl[];
  Offer: Lvl[];
  orders: Map<bigint, Ord>;
  rptSeq: number;
  lastTrade: { px: bigint; size: number } | null;
  status: string | null;
}

/** A PRICE9 as decoded: an SbeDecimal at 1e-9, its mantissa. */
function px(v: unknown): bigint {
  expect(v).toBeInstanceOf(SbeDecimal);
  expect((v as SbeDecimal).exponent).toBe(-9);
  return (v as SbeDecimal).mantissa;
}

/** A PRICE9 mantissa back in Databento's units (× display factor, 1e-9): exact, or the test fails. */
function dbnPrice(mantissa: bigint, displayFactor: bigint): bigint {
  expect((mantissa * displayFactor) % E9).toBe(0n);
  return (mantissa * displayFactor) / E9;
}

const entriesOf = (m: { fields: SbeRecord }): SbeRecord[] => m.fields['NoMDEntries'] as SbeRecord[];

/** What a feed handler keeps: applies decoded incremental packets, checking CME's rules as it goes. */
class Client {
  readonly books = new Map<number, Book>();
  seq = 0;

  book(id: number): Book {
    let b = this.books.get(id);
    if (b === undefined) this.books.set(id, (b = { Bid: [], Offer: [], orders: new Map(), rptSeq: 0, lastTrade: null, status: null }));
    return b;
  }

  apply(p: DecodedPacket): void {
    expect(p.seqNum).toBe(this.seq + 1); // MsgSeqNum: 1, 2, 3 … without gaps
    this.seq = p.seqNum;
    for (const m of p.messages) {
      for (const e of m.name === 'SecurityStatus30' ? [m.fields] : entriesOf(m)) {
        const b = this.book(e['SecurityID'] as number);
        switch (m.name) {
          case 'MDIncrementalRefreshBook46': {
            expect(e['RptSeq']).toBe(b.rptSeq + 1); // one more per entry of the instrument
            b.rptSeq = e['RptSeq'] as number;
            const side = b[e['MDEntryType'] as 'Bid' | 'Offer'];
            const k = (e['MDPriceLevel'] as number) - 1;
            const lvl: Lvl = { px: px(e['MDEntryPx']), size: e['MDEntrySize'] as number, orders: e['NumberOfOrders'] as number };
            if (e['MDUpdateAction'] === 'New') {
              expect(k).toBeLessThanOrEqual(side.length);
              side.splice(k, 0, lvl);
              if (side.length > 10) side.length = 10; // the level pushed past the depth is gone
            } else if (e['MDUpdateAction'] === 'Change') {
              expect(side[k]?.px).toBe(lvl.px);
              side[k] = lvl;
            } else {
              expect(e['MDUpdateAction']).toBe('Delete');
              expect(k).toBeLessThan(side.length);
              side.splice(k, 1);
            }
            break;
          }
          case 'MDIncrementalRefreshOrderBook47': {
            expect('RptSeq' in e).toBe(false); // MBO entries carry no RptSeq
            const id = e['OrderID'] as bigint;
            expect(b.orders.has(id)).toBe(e['MDUpdateAction'] !== 'New');
            if (e['MDUpdateAction'] === 'Delete') b.orders.delete(id);
            else {
              const o = { side: e['MDEntryType'] as string, px: px(e['MDEntryPx']), qty: e['MDDisplayQty'] as number };
              b.orders.set(id, { ...o, priority: e['MDOrderPriority'] as bigint });
            }
            break;
          }
          case 'MDIncrementalRefreshTradeSummary48':
            expect(e['RptSeq']).toBe(b.rptSeq + 1);
            b.rptSeq = e['RptSeq'] as number;
            b.lastTrade = { px: px(e['MDEntryPx']), size: e['MDEntrySize'] as number };
            break;
          case 'SecurityStatus30':
            b.status = e['SecurityTradingStatus'] as string;
            break;
          default:
            throw new Error(`unexpected ${m.name}`);
        }
      }
    }
  }

  clone(): Client {
    const c = new Client();
    c.seq = this.seq;
    for (const [id, b] of this.books) c.books.set(id, { ...b, Bid: [...b.Bid], Offer: [...b.Offer], orders: new Map(b.orders) });
    return c;
  }
}

/** The snapshot loops after `k` say what `client` holds: levels, last trade, RptSeq, status, orders. */
function expectSnapshots(ex: Mdp3Exchange, k: number, client: Client): { chunks: number } {
  const n = ex.instruments.length;
  const mbp = ex.snapshotPackets(k).map((p) => codec.decodePacket(p.bytes));
  expect(mbp.map((p) => p.seqNum)).toEqual(ex.instruments.map((_, i) => i + 1));
  for (const [i, p] of mbp.entries()) {
    const m = p.messages[0]!;
    expect(m.name).toBe('SnapshotFullRefresh52');
    const id = ex.instruments[i]!.securityId;
    const b = client.book(id);
    expect(m.fields).toMatchObject({ LastMsgSeqNumProcessed: k, TotNumReports: n, SecurityID: id, RptSeq: b.rptSeq });
    expect(m.fields['MDSecurityTradingStatus']).toBe(b.status);
    const got = entriesOf(m).map((e) => ({
      type: e['MDEntryType'],
      level: e['MDPriceLevel'],
      px: px(e['MDEntryPx']),
      size: e['MDEntrySize'],
      orders: e['NumberOfOrders'],
    }));
    const want = [
      ...(['Bid', 'Offer'] as const).flatMap((side) => b[side].map((l, j) => ({ type: side, level: j + 1, ...l }))),
      ...(b.lastTrade === null ? [] : [{ type: 'Trade', level: null, ...b.lastTrade, orders: null }]),
    ];
    expect(got).toEqual(want);
  }
  const mbo = ex.orderBookSnapshotPackets(k).map((p) => codec.decodePacket(p.bytes));
  expect(mbo.map((p) => p.seqNum)).toEqual(mbo.map((_, i) => i + 1));
  let at = 0;
  for (const inst of ex.instruments) {
    const chunks = mbo.slice(at).filter((p) => p.messages[0]!.fields['SecurityID'] === inst.securityId);
    const count = chunks[0]!.messages[0]!.fields['NoChunks'] as number;
    expect(chunks.map((p) => p.messages[0]!.fields['CurrentChunk'])).toEqual(Array.from({ length: count }, (_, c) => c + 1));
    at += count;
    const orders = new Map<bigint, Ord>();
    for (const p of chunks) {
      expect(p.messages[0]!.fields).toMatchObject({ LastMsgSeqNumProcessed: k, TotNumReports: n, NoChunks: count });
      for (const e of entriesOf(p.messages[0]!)) {
        orders.set(e['OrderID'] as bigint, {
          side: e['MDEntryType'] as string,
          px: px(e['MDEntryPx']),
          qty: e['MDDisplayQty'] as number,
          priority: e['MDOrderPriority'] as bigint,
        });
      }
    }
    expect(orders).toEqual(client.book(inst.securityId).orders);
  }
  expect(at).toBe(mbo.length);
  return { chunks: mbo.length - n };
}

/** Each message decoded and encoded again by the codec is the same bytes: the exchange writes nothing the codec would not. */
function expectCanonical(bytes: Uint8Array): void {
  for (const m of codec.decodePacket(bytes).messages) {
    const stated = { version: m.version, blockLength: m.blockLength, groupBlockLengths: m.groupBlockLengths };
    const body = bytes.subarray(m.offset + MESSAGE_SIZE_BYTES, m.offset + m.size);
    expect(Buffer.compare(codec.encodeMessage(m.templateId, m.fields, stated), body)).toBe(0);
  }
}

/** What `f` throws, an MdcapError, in its one-line form (`MDCAP_ERR_X: message`). */
function thrown(f: () => unknown): string {
  let error: unknown = null;
  try {
    f();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(MdcapError);
  return String(error);
}

const read = (file: string): DbnRecord[] => new DbnReader(readFileSync(file), { file }).all();

describeWithDataset('cme-mdp3', 'Mdp3Exchange', () => {
  beforeAll(() => {
    const file = datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml');
    codec = new SbeCodec(parseSchema(readFileSync(file, 'utf8'), file));
  });

  describeWithDataset('databento-python', 'from Databento GLBX.MDP3 records (ESH1 samples, the LIVE capture)', () => {
    const glbx = (schema: string): string => datasetFile('databento-python', `GLBX.MDP3/test_data.${schema}.dbn.zst`);
    let esh1: Mdp3Exchange;
    let live: Mdp3Exchange;
    /** Each exchange's packets decoded, and the client after each packet (index k: after packet k). */
    const decoded = new Map<Mdp3Exchange, DecodedPacket[]>();
    const clients = new Map<Mdp3Exchange, Client[]>();
    const packetsOf = (ex: Mdp3Exchange): IncrementalPacket[] => [...ex.packets()];

    beforeAll(() => {
      esh1 = Mdp3Exchange.fromDbnFiles(codec, ['definition', 'mbo', 'mbp-10', 'trades', 'status'].map(glbx));
      live = Mdp3Exchange.fromDbnFiles(codec, [datasetFile('databento-python', 'LIVE/test_data.live.dbn.zst')]);
      for (const ex of [esh1, live]) {
        const ds = packetsOf(ex).map((p, i) => codec.decodePacket(p.bytes, `packet ${i + 1}`));
        const client = new Client();
        const states = [client.clone()];
        for (const d of ds) {
          client.apply(d);
          states.push(client.clone());
        }
        decoded.set(ex, ds);
        clients.set(ex, states);
      }
    });

    it('(a) every packet decodes: v9 templates, MsgSeqNum from 1, SendingTime = ts_recv in time order, within 1,420 bytes, canonical bytes', () => {
      const source: Mdp3PacketSource = esh1; // what the multicast sender sends
      expect(source.orderBookSnapshotPackets).toBeDefined();
      expect(esh1.instruments.map((i) => [i.securityId, i.symbol, i.displayFactor])).toEqual([[5482, 'ESH1', 10_000_000n]]);
      expect(live.instruments.map((i) => [i.securityId, i.symbol])).toEqual([[183748, 'ESZ4']]); // its two identical definitions are one
      for (const ex of [esh1, live]) {
        const packets = packetsOf(ex);
        expect(packets.length).toBe(ex.packetCount);
        let last = 0n;
        for (const [i, p] of packets.entries()) {
          expect(p.seqNum).toBe(i + 1);
          expect(p.bytes.length).toBeLessThanOrEqual(MDP3_MAX_PACKET_BYTES);
          expect(p.sendingTime).toBeGreaterThanOrEqual(last);
          expect(p.tsNs).toBe(p.sendingTime);
          last = p.sendingTime;
          expect(p.sources.length).toBeGreaterThan(0);
          for (const s of p.sources) expect(s.record['ts_recv']).toBe(p.sendingTime);
          const d = decoded.get(ex)![i]!;
          expect(d).toMatchObject({ seqNum: i + 1, sendingTime: p.sendingTime });
          for (const m of d.messages) expect(m).toMatchObject({ schemaId: 1, version: 9 });
          const lastMessage = d.messages[d.messages.length - 1]!;
          expect(lastMessage.fields['MatchEventIndicator']).toContain('EndOfEvent');
          expectCanonical(p.bytes);
        }
      }
      expect(packetsOf(esh1).map((p) => p.sources.map((s) => `${s.kind}${s.index}`).join(' '))).toEqual([
        'status0', // ts_recv 00:00:00 (Databento's start-of-session status)
        'mbo0 mbo1 mbo2 mbo3', // the same ts_recv and ts_event: one event, one packet
        'mbp100',
        'mbp101',
        'mbp102',
        'mbp103',
        'trades0',
        'trades1',
        'trades2',
        'trades3',
        'status1',
        'status2',
        'status3',
      ]);
      expect(decoded.get(esh1)!.map((d) => d.messages.map((m) => m.templateId))).toEqual([
        [30],
        [47],
        [46],
        [46],
        [46],
        [46],
        [48],
        [48],
        [48],
        [48],
        [30],
        [30],
        [30],
      ]);
    });

    it('(b) MBP: the Book46 entries applied to a level-indexed book give each MBP-10 record its 10 levels (price × display factor = Databento price)', () => {
      for (const ex of [esh1, live]) {
        const df = ex.instruments[0]!.displayFactor;
        const truths = ex.bookTruths();
        expect(truths.map((t) => t.index)).toEqual(ex.inputs.mbp10.map((_, i) => i));
        for (const t of truths) {
          const book = clients.get(ex)![t.afterSeq]!.book(t.record['instrument_id'] as number);
          for (const [side, p] of [
            ['Bid', 'bid'],
            ['Offer', 'ask'],
          ] as const) {
            for (let i = 0; i < 10; i++) {
              const n = String(i).padStart(2, '0');
              const l = book[side][i];
              if (l === undefined) {
                expect(t.record[`${p}_px_${n}`]).toBe(UNDEF_PRICE);
                expect(t.record[`${p}_sz_${n}`]).toBe(0);
              } else {
                expect(dbnPrice(l.px, df)).toBe(t.record[`${p}_px_${n}`]);
                expect(l.size).toBe(t.record[`${p}_sz_${n}`]);
                expect(l.orders).toBe(t.record[`${p}_ct_${n}`]);
              }
            }
          }
        }
      }
      // The first record meets an empty book: 20 New entries; then only what changed.
      const book = (ex: Mdp3Exchange, seq: number): { a: string; t: string; l: number; px: string; sz: number }[] => {
        const d = decoded.get(ex)![seq - 1]!;
        return d.messages.flatMap(entriesOf).map((e) => ({
          a: e['MDUpdateAction'] as string,
          t: e['MDEntryType'] as string,
          l: e['MDPriceLevel'] as number,
          px: (e['MDEntryPx'] as SbeDecimal).toString(),
          sz: e['MDEntrySize'] as number,
        }));
      };
      expect(book(esh1, 3).map((e) => `${e.a} ${e.t} ${e.l}`)).toEqual([
        ...Array.from({ length: 10 }, (_, i) => `New Bid ${i + 1}`),
        ...Array.from({ length: 10 }, (_, i) => `New Offer ${i + 1}`),
      ]);
      expect(book(esh1, 3)[0]).toEqual({ a: 'New', t: 'Bid', l: 1, px: '370225', sz: 19 }); // 3702.25 = CME's 370225 × 0.01
      expect(book(esh1, 4)).toEqual([{ a: 'Change', t: 'Bid', l: 1, px: '370225', sz: 20 }]);
      expect(book(esh1, 5)).toEqual([{ a: 'Change', t: 'Offer', l: 1, px: '370275', sz: 14 }]);
      // LIVE: an offer moves from 4748.00 to 4747.75 at level 2: a New there, and the old price's Delete below it.
      const moved = live.bookTruths()[1]!.afterSeq;
      expect(book(live, moved)).toEqual([
        { a: 'New', t: 'Offer', l: 2, px: '474775', sz: 2 },
        { a: 'Delete', t: 'Offer', l: 3, px: '474800', sz: 2 },
      ]);
    });

    it('(c) MBO orders match the DBN MBO records after each event; trades and statuses match theirs', () => {
      for (const ex of [esh1, live]) {
        const df = ex.instruments[0]!.displayFactor;
        /** Databento's own MBO book: A adds, C takes size off, M replaces, R clears. */
        const reference = new Map<bigint, { side: string; price: bigint; size: number }>();
        for (const [i, p] of packetsOf(ex).entries()) {
          if (!p.endOfEvent) continue;
          const d = decoded.get(ex)![i]!;
          for (const s of p.sources.filter((x) => x.kind === 'mbo')) {
            const r = s.record;
            const id = r['order_id'] as bigint;
            if (r['action'] === 'A' || r['action'] === 'M')
              reference.set(id, { side: r['side'] as string, price: r['price'] as bigint, size: r['size'] as number });
            else if (r['action'] === 'C') {
              const o = reference.get(id)!;
              const left = o.size - (r['size'] as number);
              if (left > 0) reference.set(id, { ...o, size: left });
              else reference.delete(id);
            } else if (r['action'] === 'R') reference.clear();
          }
          const orders = clients.get(ex)![i + 1]!.book(ex.instruments[0]!.securityId).orders;
          expect(
            new Map([...orders].map(([id, o]) => [id, { side: o.side === 'Bid' ? 'B' : 'A', price: dbnPrice(o.px, df), size: o.qty }])),
          ).toEqual(reference);
          const trades = p.sources.filter((x) => x.kind === 'trades').map((x) => x.record);
          const summaries = d.messages.filter((m) => m.name === 'MDIncrementalRefreshTradeSummary48').flatMap(entriesOf);
          expect(
            summaries.map((e) => ({
              instrument_id: e['SecurityID'],
              price: dbnPrice(px(e['MDEntryPx']), df),
              size: e['MDEntrySize'],
              side: { Buy: 'B', Sell: 'A', NoAggressor: 'N' }[e['AggressorSide'] as string],
            })),
          ).toEqual(trades.map((r) => ({ instrument_id: r['instrument_id'], price: r['price'], size: r['size'], side: r['side'] })));
          for (const m of d.messages) expect(m.fields['TransactTime']).toBe(p.sources[0]!.record['ts_event']);
        }
        expect(reference.size).toBe(ex === esh1 ? 4 : 5);
      }
      // The status records: Databento's action, reason and trading event in CME's enums.
      const statuses = decoded
        .get(esh1)!
        .flatMap((d) => d.messages)
        .filter((m) => m.name === 'SecurityStatus30')
        .map((m) => m.fields);
      expect(statuses.map((f) => [f['SecurityTradingStatus'], f['HaltReason'], f['SecurityTradingEvent'], f['TradeDate']])).toEqual([
        ['ReadyToTrade', 'GroupSchedule', 'NoEvent', 18624], // 2020-12-28: Sunday 17:00 CT opens Monday's session
        ['PreOpen', 'GroupSchedule', 'NoEvent', 18624],
        ['PreOpen', 'GroupSchedule', 'NoCancel', 18624],
        ['NewPriceIndication', 'GroupSchedule', 'NoEvent', 18624],
      ]);
      expect(statuses[0]).toMatchObject({ SecurityGroup: 'ES', Asset: 'ES', SecurityID: 5482, TransactTime: 1609110000000000000n });
    });

    it('(d) RptSeq counts each Book46 and TradeSummary48 entry per instrument; Book47 and status messages none', () => {
      // The client checked +1 per entry as it applied them; here the totals.
      expect(clients.get(esh1)!.at(-1)!.book(5482).rptSeq).toBe(20 + 3 + 4); // 20 New, 3 Change, 4 trades
      const live0 = clients.get(live)!.at(-1)!.book(183748);
      expect(live0.rptSeq).toBe(7 + 2 + 2); // 4 bids and 3 offers, a New and a Delete, 2 trades
      for (const ex of [esh1, live]) {
        for (const d of decoded.get(ex)!) {
          for (const m of d.messages) {
            if (m.name === 'MDIncrementalRefreshOrderBook47') for (const e of entriesOf(m)) expect(e).not.toHaveProperty('RptSeq');
          }
        }
      }
    });

    it('(e) the snapshot loops after packet k hold the book at k, for every k', () => {
      for (const ex of [esh1, live]) {
        for (let k = 0; k <= ex.packetCount; k++) expectSnapshots(ex, k, clients.get(ex)![k]!);
        // Asked again for an earlier packet, the loops start over.
        expectSnapshots(ex, 2, clients.get(ex)![2]!);
      }
      const [snap] = esh1.snapshotPackets(13).map((p) => codec.decodePacket(p.bytes));
      expect(snap!.messages[0]!.fields).toMatchObject({
        SecurityID: 5482,
        RptSeq: 27,
        TransactTime: 1609191000000000000n,
        MDSecurityTradingStatus: 'NewPriceIndication',
      });
      expect(snap!.sendingTime).toBe(packetsOf(esh1)[12]!.sendingTime);
      expect(thrown(() => esh1.snapshotPackets(14))).toBe(
        'MDCAP_ERR_INVALID_OPTION: afterSeq: expected an incremental MsgSeqNum from 0 to 13, found 14',
      );
    });

    it('the definition loop: MDInstrumentDefinitionFuture54 from the DBN definition, prices before the display factor', () => {
      const [before] = esh1.definitionPackets().map((p) => codec.decodePacket(p.bytes));
      const [after] = esh1.definitionPackets(13).map((p: Mdp3Packet) => codec.decodePacket(p.bytes));
      expect(before!.seqNum).toBe(1);
      const f = before!.messages[0]!.fields;
      expect(before!.messages[0]!.name).toBe('MDInstrumentDefinitionFuture54');
      expect(f).toMatchObject({
        TotNumReports: 1,
        SecurityUpdateAction: 'Add',
        MDSecurityTradingStatus: null,
        ApplID: 310,
        SecurityExchange: 'XCME',
        SecurityGroup: 'ES',
        Asset: 'ES',
        Symbol: 'ESH1',
        SecurityID: 5482,
        SecurityType: 'FUT',
        CFICode: 'FFIXSX',
        MaturityMonthYear: { year: 2021, month: 3, day: null, week: null },
        Currency: 'USD',
        MatchAlgorithm: 'F',
        MinTradeVol: 1,
        MaxTradeVol: 3000,
        UnitOfMeasure: 'IPNT',
        NoMDFeedTypes: [{ MDFeedType: 'GBX', MarketDepth: 10 }],
        NoEvents: [
          { EventType: 'Activation', EventTime: 1576852200000000000n },
          { EventType: 'LastEligibleTradeDate', EventTime: 1616160600000000000n },
        ],
      });
      const text = (k: string): string => (f[k] as SbeDecimal).toString();
      expect([
        text('MinPriceIncrement'),
        text('DisplayFactor'),
        text('HighLimitPrice'),
        text('LowLimitPrice'),
        text('MaxPriceVariation'),
      ]).toEqual([
        '25', // 0.25 / 0.01
        '0.01',
        '395350',
        '343550',
        '600',
      ]);
      expect([text('MinPriceIncrementAmount'), text('UnitOfMeasureQty')]).toEqual(['12.5', '50']);
      expect(dbnPrice(px(f['HighLimitPrice']), 10_000_000n)).toBe(esh1.inputs.definitions[0]!['high_limit_price']);
      expect(after!.messages[0]!.fields['MDSecurityTradingStatus']).toBe('NewPriceIndication');
      const reset = codec.decodePacket(esh1.channelResetPacket(14, 1609200000000000000n).bytes);
      expect(reset.messages.map((m) => [m.name, entriesOf(m)])).toEqual([
        ['ChannelReset4', [{ MDUpdateAction: '0', MDEntryType: 'J', ApplID: 310 }]],
      ]);
    });

    it('what the samples hold: LIVE MBO orders sit in its MBP-10 book; the ESH1 MBO snapshot lies below the MBP-10 top 10', () => {
      const liveBook = clients.get(live)!.at(-1)!.book(183748);
      const levelsAt = (side: 'Bid' | 'Offer'): Map<bigint, Lvl> => new Map(liveBook[side].map((l) => [l.px, l]));
      const resting = [...liveBook.orders.values()].filter((o) => levelsAt(o.side as 'Bid' | 'Offer').has(o.px));
      expect(resting.map((o) => String(new SbeDecimal(o.px, -9)))).toEqual(['379000', '488800', '441000']); // 3790.00 and 4410.00 bid, 4888.00 offer: size 1, one order each
      for (const o of resting) expect(levelsAt(o.side as 'Bid' | 'Offer').get(o.px)).toEqual({ px: o.px, size: o.qty, orders: 1 });
      const esh1Book = clients.get(esh1)!.at(-1)!.book(5482);
      const deepest = esh1Book.Bid.at(-1)!.px;
      for (const o of esh1Book.orders.values()) expect(o.px).toBeLessThan(deepest); // 3675.xx below 3700.00
      expect(esh1.inputs.mbo.every((r) => r['flags'] === 40)).toBe(true); // SNAPSHOT | BAD_TS_RECV, ts_event the evening before
    });

    it('refuses what MDP3 cannot carry exactly, naming the record', () => {
      const defs = read(glbx('definition'));
      const [trade] = read(glbx('trades'));
      const [order] = read(glbx('mbo'));
      const [mbp] = read(glbx('mbp-10'));
      const [status] = read(glbx('status'));
      // With ES's factor 0.01 every Databento price divides exactly (10^9 / 10^7): a factor of 10 does not.
      const tens = [{ ...defs[0]!, display_factor: 10n * E9 }];
      expect(new Mdp3Exchange({ codec, definitions: tens, trades: [trade!] }).packetCount).toBe(1);
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: tens, trades: [{ ...trade!, price: 3702250000001n }] }))).toBe(
        'MDCAP_ERR_DECIMAL_PRECISION: trades[0] (ts_recv 1609113600246821748) price: expected a price that is a whole number of PRICE9 units once divided by the display factor 10000000000 (1e-9), found 3702250000001 (1e-9)',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: [{ ...defs[0]!, display_factor: 3n }] }))).toBe(
        'MDCAP_ERR_DECIMAL_PRECISION: ESH1 definition min_price_increment: expected a price that is a whole number of PRICE9 units once divided by the display factor 3 (1e-9), found 250000000 (1e-9)',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: defs, mbo: [{ ...order!, instrument_id: 1 }] }))).toBe(
        'MDCAP_ERR_UNKNOWN_INSTRUMENT: mbo[0] (ts_recv 1609113600000000000): expected an instrument with a definition (instrument_id 5482), found instrument_id 1',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: defs, mbo: [{ ...order!, action: 'C' }] }))).toBe(
        'MDCAP_ERR_INVALID_EVENT: mbo[0] (ts_recv 1609113600000000000): expected a cancel of a resting order, found order 647784248135 not in the book',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: defs, status: [{ ...status!, action: 3 }] }))).toBe(
        'MDCAP_ERR_IMPORT_FORMAT: status[0] (ts_recv 1609113600000000000) action: expected one of 0, 1, 2, 4, 6, 7, 8, 12, 13, 15 (those MDP3 has a value for), found 3',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: defs, mbp10: [{ ...mbp!, bid_px_03: UNDEF_PRICE }] }))).toBe(
        'MDCAP_ERR_IMPORT_FORMAT: mbp10[0] (ts_recv 1609113600006150193): expected no bid level after the empty level 3, found bid_px_04',
      );
      expect(thrown(() => new Mdp3Exchange({ codec, definitions: defs, mbo: [trade!] }))).toBe(
        'MDCAP_ERR_INVALID_OPTION: mbo[0]: expected a record of rtype 160, found rtype 0',
      );
    });
  });

  describe('synthetic', () => {
    const sha = (ex: Mdp3Exchange): string => {
      const h = createHash('sha256');
      for (const p of ex.packets()) h.update(p.bytes);
      return h.digest('hex');
    };

    it('(f) is deterministic per seed (the hash of its bytes), and another seed is another feed', () => {
      const make = (seed: number): Mdp3Exchange => Mdp3Exchange.synthetic({ codec, instruments: 4, packets: 2000, seed });
      const a = sha(make(7));
      expect(sha(make(7))).toBe(a);
      expect(sha(make(8))).not.toBe(a);
      expect([...make(7).packets()].length).toBe(2000);
      expect(thrown(() => Mdp3Exchange.synthetic({ codec, instruments: 0, packets: 1, seed: 1 }))).toBe(
        'MDCAP_ERR_INVALID_OPTION: synthetic instruments: expected an integer from 1 to 10000, found 0',
      );
    });

    it('(f) decodes into books that the snapshot loops confirm, with chunked MBO snapshots and split events under a small packet budget', () => {
      const ex = Mdp3Exchange.synthetic({ codec, instruments: 3, packets: 3000, seed: 42, maxPacketBytes: 400 });
      const client = new Client();
      const checkpoints = new Set([0, 1, 2, 7, 500, 1234, 2999, 3000]);
      const counts = new Map<number, number>();
      let split = 0;
      let chunks = 0;
      let last = { time: 0n, end: true };
      chunks += expectSnapshots(ex, 0, client).chunks;
      for (const p of ex.packets()) {
        expect(p.bytes.length).toBeLessThanOrEqual(400);
        // Time moves on between events; an event's packets share its time.
        if (last.end) expect(p.sendingTime).toBeGreaterThan(last.time);
        else expect(p.sendingTime).toBe(last.time);
        last = { time: p.sendingTime, end: p.endOfEvent };
        const d = codec.decodePacket(p.bytes);
        // Only an event's last packet ends it: the packets before carry no MatchEventIndicator bit.
        if (p.endOfEvent) expect(d.messages.at(-1)!.fields['MatchEventIndicator']).toContain('EndOfEvent');
        else {
          split++;
          expect(d.messages.at(-1)!.fields['MatchEventIndicator']).toEqual([]);
        }
        for (const m of d.messages) {
          counts.set(m.templateId, (counts.get(m.templateId) ?? 0) + 1);
          for (const e of entriesOf(m)) expect(px(e['MDEntryPx']) % 25_000_000_000n).toBe(0n); // on the 0.25 tick: CME's 25
        }
        client.apply(d);
        if (p.seqNum % 97 === 0) expectCanonical(p.bytes);
        if (checkpoints.has(p.seqNum)) chunks += expectSnapshots(ex, p.seqNum, client).chunks;
      }
      expect(client.seq).toBe(3000);
      expect(split).toBeGreaterThanOrEqual(3); // each instrument's first book (20 entries) needs two packets of 400 bytes
      expect(chunks).toBeGreaterThan(0);
      expect([...counts.keys()].sort((a, b) => a - b)).toEqual([46, 47, 48]);
      expect(ex.definitionPackets().map((p) => codec.decodePacket(p.bytes).messages[0]!.fields['Symbol'])).toEqual([
        'SYN0',
        'SYN1',
        'SYN2',
      ]);
    });
  });
});

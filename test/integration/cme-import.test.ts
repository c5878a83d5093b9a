import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RealtimeEngine } from '@mdcap/engine';
import { localChannelConfig, Mdp3Exchange } from '@mdcap/emulators';
import { channelConfigXml, parseSchema, SbeCodec, writePcap } from '@mdcap/mdp3';
import type { PcapDatagram } from '@mdcap/mdp3';
import { verifyCapture } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * `mdcap import pcap FILE --venue cme`: a capture of a channel's multicast (built here from the
 * emulator's exchange: the loops, both incremental lines, a packet lost on both) goes through the
 * live feed's handler: the same gaps, resyncs and books a recording would have.
 */
const dir = tempDir('cme-import');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWithDataset('cme-mdp3', 'mdcap import pcap --venue cme', () => {
  it(
    'imports a channel capture with a packet lost on both lines: the gap, the resyncs, and books equal to the exchange',
    { timeout: 120_000 },
    async () => {
      const schema = datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml');
      const codec = new SbeCodec(parseSchema(readFileSync(schema, 'utf8'), schema));
      const exchange = Mdp3Exchange.synthetic({ codec, instruments: 2, packets: 500, seed: 21 });
      const channel = localChannelConfig({ portA: 14310, portB: 15310 });
      const group = (type: string, line: string): { dstIp: string; dstPort: number } => {
        const c = channel.connections.find((x) => x.feedType === type && x.feed === line)!;
        return { dstIp: c.ip!, dstPort: c.port };
      };
      const t0 = 1_767_225_600_000_000_000n;
      const datagrams: PcapDatagram[] = [];
      let t = t0;
      const send = (payload: Uint8Array, to: { dstIp: string; dstPort: number }): void => {
        datagrams.push({ tsNs: (t += 1_000n), srcIp: '10.0.0.1', srcPort: 40_000, ...to, payload });
      };
      for (const p of exchange.definitionPackets(0)) send(p.bytes, group('N', 'A'));
      for (const p of exchange.snapshotPackets(0)) send(p.bytes, group('S', 'A'));
      // The MBO loop too, which only an MBO import reads (an MBP one counts its datagrams as others).
      let smbo = 0;
      for (const p of exchange.orderBookSnapshotPackets(0)) {
        send(p.bytes, group('SMBO', 'A'));
        smbo++;
      }
      for (const p of exchange.packets()) {
        if (p.seqNum !== 250) {
          send(p.bytes, group('I', 'A'));
          send(p.bytes, group('I', 'B'));
        }
        // The snapshot loop goes round again 20 ms later, after the handler gave packet 250 up (it
        // waits 10 ms of the capture's time for the other line), as CME's loops keep cycling.
        if (p.seqNum === 260) {
          t += 20_000_000n;
          for (const s of exchange.snapshotPackets(260)) send(s.bytes, group('S', 'A'));
          for (const s of exchange.orderBookSnapshotPackets(260)) {
            send(s.bytes, group('SMBO', 'A'));
            smbo++;
          }
        }
      }
      const pcap = join(dir, 'channel310.pcap');
      writeFileSync(pcap, writePcap(datagrams));
      const config = join(dir, 'config.xml');
      writeFileSync(config, channelConfigXml([channel]));
      const out = join(dir, 'cap');
      const run = mdcap(['import', 'pcap', pcap, '--venue', 'cme', '--channel', '310', '--config', config, '--out', out, '--json']);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const symbols = exchange.instruments.map((i) => i.symbol).sort();
      const summary = JSON.parse(run.stdout) as {
        symbols: string[];
        feed: Record<string, unknown>;
        channelDatagrams: number;
        otherDatagrams: number;
      };
      expect(summary.symbols).toEqual(symbols);
      expect(summary.feed).toMatchObject({
        processed: 499,
        duplicates: 499,
        gaps: 1,
        lostPackets: 1,
        corrupt: 0,
        recoveries: 2 * symbols.length,
      });
      expect(summary.otherDatagrams).toBe(smbo);
      // Only the gaps: an MBP import delivers levels, never orders (the two in one book would count twice).
      expect((await verifyCapture(out)).problems).toEqual([
        `${1 + 2 * symbols.length} recorded gap(s): gap and disconnect statuses, holes between recording sessions`,
      ]);
      const verify = JSON.parse(mdcap(['verify', out, '--json']).stdout) as Record<string, unknown>;
      expect(verify).toMatchObject({
        readable: true,
        gapsRecorded: 1 + 2 * symbols.length,
        gapsUnrecorded: 0,
        duplicates: 0,
        outOfOrder: 0,
      });

      // The imported books, replayed, end as the exchange's.
      const engine = new RealtimeEngine(ReplayProvider.open(out), { books: true });
      const books = new Map<string, { bid: Map<bigint, bigint>; ask: Map<bigint, bigint> }>();
      let scale = 0;
      engine.onEvent((e) => {
        if (e.type !== 'book') return;
        scale = e.priceScale;
        let b = books.get(e.symbol);
        if (b === undefined) books.set(e.symbol, (b = { bid: new Map(), ask: new Map() }));
        if ((e.flags & 2) !== 0) {
          b.bid.clear();
          b.ask.clear();
        }
        if (e.size === 0n) b[e.side].delete(e.price);
        else b[e.side].set(e.price, e.size);
      });
      await engine.run(symbols);
      for (const inst of exchange.instruments) {
        const want = exchange.bookAt(inst.securityId, exchange.packetCount);
        for (const side of ['bid', 'ask'] as const) {
          const got = [...books.get(inst.symbol)![side]]
            .sort((a, b) => (side === 'bid' ? (a[0] < b[0] ? 1 : -1) : a[0] < b[0] ? -1 : 1))
            .map(([p, z]) => [p * 10n ** BigInt(9 - scale), z]);
          expect(got, `${inst.symbol} ${side}`).toEqual(want[side]);
        }
      }

      // The same capture with MBO books: every order, from the MBO snapshot loop, and again after the loss.
      const mbo = join(dir, 'cap-mbo');
      const runMbo = mdcap([
        'import',
        'pcap',
        pcap,
        '--venue',
        'cme',
        '--channel',
        '310',
        '--config',
        config,
        '--out',
        mbo,
        '--mbo',
        '--json',
      ]);
      expect(runMbo.stderr).toBe('');
      expect((JSON.parse(runMbo.stdout) as { feed: Record<string, unknown> }).feed).toMatchObject({
        gaps: 1,
        recoveries: 2 * symbols.length,
      });
      expect((await verifyCapture(mbo)).problems).toEqual([
        `${1 + 2 * symbols.length} recorded gap(s): gap and disconnect statuses, holes between recording sessions`,
      ]);
      const engineMbo = new RealtimeEngine(ReplayProvider.open(mbo), { books: true });
      let orders = 0;
      engineMbo.onEvent(
        (e) => void (e.type === 'order' ? orders++ : e.type === 'book' ? expect.unreachable('a level update in an MBO capture') : 0),
      );
      await engineMbo.run(symbols);
      expect(orders).toBeGreaterThan(50);
      for (const inst of exchange.instruments) {
        const book = engineMbo.book(inst.symbol);
        expect(book.stats()).toMatchObject({ unknownOrders: 0, duplicateOrders: 0 });
        for (const side of ['bid', 'ask'] as const) {
          const want = new Map<bigint, bigint>();
          for (const o of exchange.ordersAt(inst.securityId, exchange.packetCount).values()) {
            if (o.side === side) want.set(o.price, (want.get(o.price) ?? 0n) + o.size);
          }
          const got = new Map(
            Array.from({ length: book.depth(side) }, (_, i): [bigint, bigint] => [
              book.level(side, i)!.price * 10n ** BigInt(9 - book.priceScale),
              book.level(side, i)!.size,
            ]),
          );
          expect(got, `${inst.symbol} ${side} (MBO)`).toEqual(want);
        }
      }
    },
  );

  it('a pcap with none of the channel\u2019s groups, or no --config: a clear error', () => {
    const config = join(dir, 'config.xml');
    const pcap = datasetFile('cme-mdp3', 'mdp3_sbedecoder_payloads.constructed.pcap');
    const none = mdcap(['import', 'pcap', pcap, '--venue', 'cme', '--channel', '310', '--config', config, '--out', join(dir, 'none')]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/MDCAP_ERR_IMPORT_FORMAT: .*expected MDP3 packets of channel 310 .*found none among its 5 UDP datagrams/);
    const noConfig = mdcap(['import', 'pcap', pcap, '--venue', 'cme', '--out', join(dir, 'none2')]);
    expect(noConfig.stderr).toMatch(/expected --channel N and --config config\.xml/);
  });
});

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { RealtimeEngine } from '@mdcap/engine';
import { localChannelConfig, loopsOnly, Mdp3Exchange, startCmeMulticast } from '@mdcap/emulators';
import type { CmeMulticast, Mdp3PacketSource } from '@mdcap/emulators';
import { channelConfigXml, parseSchema, SbeCodec } from '@mdcap/mdp3';
import { record, verifyCapture } from '@mdcap/pipeline';
import { ReplayProvider } from '@mdcap/replay';
import { collectCallbacks, datasetFile, describeWithDataset, hashLines, mdcap, tempDir, waitFor } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * `--feed cme` end to end: the MDP3 emulator's multicast (a seeded synthetic day, a packet lost on
 * both lines) recorded through the feed registry into a capture; `verify` counts the gap and the
 * resyncs; a replay of the capture gives the live callbacks exactly, hash included.
 */
const dir = tempDir('cme');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeWithDataset('cme-mdp3', 'mdcap record --feed cme', () => {
  let live: string[] = [];
  let symbols: string[] = [];
  const out = join(dir, 'cap');

  it(
    'records a channel with a packet lost on both lines, one corrupt on both and one duplicated: gaps, resyncs, and a capture that verifies',
    { timeout: 120_000 },
    async () => {
      const schemaFile = datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml');
      const codec = new SbeCodec(parseSchema(readFileSync(schemaFile, 'utf8'), schemaFile));
      const exchange = Mdp3Exchange.synthetic({ codec, instruments: 2, packets: 800, seed: 11 });
      symbols = exchange.instruments.map((i) => i.symbol);
      const port = 30_000 + Math.floor(Math.random() * 20_000);
      const channel = localChannelConfig({ portA: port, portB: port + 1 });
      const config = join(dir, 'config.xml');
      writeFileSync(config, channelConfigXml([channel]));
      const senders: CmeMulticast[] = [];
      let sent = 0;
      const stop = new AbortController();
      let log!: ReturnType<typeof collectCallbacks>;
      const resynced = new Set<string>();
      const started = new Promise<void>((resolve) => {
        void record({
          // A and B come from one sender in bursts on a machine that may be loaded: B's copy of a
          // packet can trail by more than CME's microseconds, so the wait is generous.
          feed: { feed: 'cme', symbols, channel: channel.id, channelConfig: config, sbeSchema: schemaFile, gapWaitMs: 500 },
          out,
          flushMs: 200,
          engine: { books: true },
          signal: stop.signal,
          onStart: (engine) => {
            log = collectCallbacks(engine);
            engine.onStatus((s) => {
              if (s.kind === 'resync') resynced.add(s.symbol);
            });
            resolve();
          },
        }).then(
          (summary) => (recorded = summary),
          (error: unknown) => {
            outcome.failed = error instanceof Error ? error : new Error(String(error));
            resolve();
          },
        );
      });
      let recorded: Awaited<ReturnType<typeof record>> | null = null;
      const outcome: { failed: Error | null } = { failed: null };
      const rethrow = (): void => {
        if (outcome.failed !== null) throw outcome.failed;
      };
      await started;
      rethrow();
      try {
        const loops: Mdp3PacketSource = {
          packets: () => [],
          snapshotPackets: () => exchange.snapshotPackets(sent),
          definitionPackets: () => exchange.definitionPackets(sent),
        };
        senders.push(
          await startCmeMulticast({
            source: loops,
            channel: loopsOnly(channel, port + 2),
            speed: 'max',
            lingerMs: Infinity,
            snapshotIntervalMs: 50,
            definitionIntervalMs: 50,
          }),
        );
        await waitFor(() => symbols.every((s) => resynced.has(s)), { what: 'the books from the snapshot loop', deadlineMs: 60_000 });
        const incremental = await startCmeMulticast({
          source: exchange,
          channel: { ...channel, connections: channel.connections.filter((c) => c.feedType === 'I') },
          speed: 'max',
          faults: { dropBoth: [300], dropA: [100], corrupt: [500], duplicate: [200] },
        });
        senders.push(incremental);
        const poll = setInterval(() => (sent = incremental.stats().lastSeqNum), 1);
        await incremental.ended;
        sent = incremental.stats().lastSeqNum;
        // Every packet through (the lost ones given up on), and the books recovered after each.
        await waitFor(() => log.lines.filter((l) => l.startsWith('status') && l.includes('"resync"')).length >= 3 * symbols.length, {
          what: 'the recoveries after packets 300 and 500',
          deadlineMs: 60_000,
        });
        await waitFor(() => log.lines.some((l) => l.includes(`"seq":"${exchange.packetCount}"`)), {
          what: 'the last packet',
          deadlineMs: 60_000,
        });
        clearInterval(poll);
      } finally {
        stop.abort();
        for (const s of senders) await s.close();
      }
      await waitFor(() => recorded !== null || outcome.failed !== null, { what: 'the recording to finish' });
      rethrow();
      expect(log.errors).toEqual([]);
      live = log.lines;
      expect(recorded!).toMatchObject({ feed: 'cme', symbols, errors: 0, ringDrops: 0 });
      // verify counts what the feed said: the channel's two lost packets (300 dropped, 500 unreadable
      // on both lines), each book's gap at the start (no book until the snapshot loop) and after
      // each lost packet, and the two corrupt copies. The duplicate was never delivered twice.
      // A book still recovering from 300 when 500 is lost (a loaded machine) says one gap for both:
      // verify must count exactly the gap statuses the feed gave live, whichever it was.
      const liveGaps = live.filter((l) => l.startsWith('status ') && l.includes('"kind":"gap"')).length;
      expect(liveGaps).toBeGreaterThanOrEqual(2 + 2 * symbols.length);
      expect(liveGaps).toBeLessThanOrEqual(2 + 3 * symbols.length);
      const report = await verifyCapture(out);
      expect(report.problems).toEqual([
        `${liveGaps} recorded gap(s): gap and disconnect statuses, holes between recording sessions`,
        '2 corrupt packet(s) or message(s) the feed could not decode and did not use',
      ]);
      const v = mdcap(['verify', out, '--json']);
      const json = JSON.parse(v.stdout) as Record<string, unknown>;
      expect(json).toMatchObject({ readable: true, duplicates: 0, outOfOrder: 0, gapsUnrecorded: 0, corrupt: 2 });
      expect(json['gapsRecorded']).toBe(liveGaps);
      // What the feed counted on the wire, kept with the session: B's copies and the duplicate (never
      // delivered twice), the two corrupt copies, the two packets lost on both lines.
      const counted = (json['feedCounters'] as { session: number; feed: string; counters: Record<string, number> }[])[0]!;
      expect(counted).toMatchObject({ session: 1, feed: 'cme', counters: { corrupt: 2, gaps: 2, lostPackets: 2 } });
      expect(counted.counters['duplicates']).toBeGreaterThanOrEqual(exchange.packetCount - 4);
      expect(recorded!.feedCounters).toEqual(counted.counters);
      const statuses = live.filter((l) => l.startsWith('status '));
      for (const lost of ['300', '500']) {
        expect(statuses.some((l) => l.includes(`"fromSeq":"${lost}"`) && l.includes(`"toSeq":"${lost}"`))).toBe(true);
      }
      expect(statuses.filter((l) => l.includes('"corrupt"'))).toHaveLength(2);
    },
  );

  it.each([['max'], ['10x']] as const)(
    'a replay at %s gives the live callbacks exactly, the gap and the resyncs included',
    { timeout: 60_000 },
    async (speed) => {
      expect(live.length).toBeGreaterThan(500);
      const engine = new RealtimeEngine(ReplayProvider.open(out, { speed: speed === 'max' ? 'max' : 10 }), { books: true });
      const log = collectCallbacks(engine);
      await engine.run(symbols);
      expect(log.errors).toEqual([]);
      const first = log.lines.findIndex((l, i) => l !== live[i]);
      expect(first === -1 ? null : { line: first, live: live[first], replay: log.lines[first] }).toBeNull();
      expect(hashLines(log.lines)).toBe(hashLines(live));
    },
  );
});

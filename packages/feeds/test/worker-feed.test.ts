import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { KrakenEmulator } from '@mdcap/emulators';
import { VirtualClock } from '@mdcap/core';
import type { LiveClock, Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { workerFeed } from '@mdcap/feeds';
import type { WorkerFeed } from '@mdcap/feeds';
import type { FrameTrail } from '@mdcap/test-utils';
import { describeWithDataset, RawTapFollower, tempDir, waitFor, withFrameTrail } from '@mdcap/test-utils';
import { afterAll, afterEach, expect, it } from 'vitest';
import { checksumsOf, KRAKEN_PAIRS, krakenRecording } from './kraken-recording.js';

/**
 * The Kraken handler on a worker thread (`workerFeed`), against the emulator replaying the real
 * recording: every checksum still matches, books and statuses arrive through the shared ring,
 * a checksum failure still resyncs, and a handler thread that dies counts as a lost connection
 * that the engine recovers from on a new thread. (The worker loads the built package: the test
 * command builds first.)
 */
let emulator: KrakenEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});
const dir = tempDir('worker-feed');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Waits until the handler thread has received every frame the emulator sent (what it received
 * is in its raw tap, in order) and the engine has every event of them.
 */
async function settle(feed: WorkerFeed, emu: KrakenEmulator, trail: FrameTrail, tap: RawTapFollower): Promise<void> {
  await waitFor(
    () => {
      tap.poll();
      return emu.stats.timelineDone && trail.caughtUp();
    },
    { what: 'the recording played and every frame sent received by the handler thread', state: () => trail.describe() },
  );
  // The thread stamped those frames' events before now: poll delivers them (waiting for a frame
  // it is still stamping), and the ring is empty.
  feed.poll(feed.clock.now());
  await waitFor(() => feed.ringStats().depth === 0, { what: 'the ring drained', state: () => JSON.stringify(feed.ringStats()) });
}

describeWithDataset('cryptofeed', 'Kraken handler on a worker thread', () => {
  it('every checksum matches; a corrupted one resyncs, through the shared ring', { timeout: 60_000 }, async () => {
    const { emulator: emu, trail } = await withFrameTrail((onSend) =>
      KrakenEmulator.start({ lines: krakenRecording(), speed: 10, faults: 'corrupt-checksum:100', onSend }),
    );
    emulator = emu;
    const feed = workerFeed('kraken', { url: emu.url, capacity: 4096 });
    feed.tapRaw(dir, 'kraken.log', 10);
    const tap = new RawTapFollower(join(dir, 'raw', 'kraken.log'), (text) => trail.received(text));
    const engine = new RealtimeEngine(feed, { reconnect: { delaysMs: [100] } });
    const statuses: Status[] = [];
    const errors: string[] = [];
    let books = 0;
    engine.onStatus((s) => statuses.push(s));
    engine.onBookUpdate(() => books++);
    engine.onError((e) => errors.push(e.message));
    await engine.start(KRAKEN_PAIRS);
    await settle(feed, emu, trail, tap);
    await engine.stop();
    const checksums = statuses.filter((s) => s.kind === 'checksum');
    expect(errors).toEqual([]);
    expect(checksums.filter((s) => s.ok === false)).toHaveLength(1);
    expect(statuses.filter((s) => s.kind === 'resync')).toHaveLength(1);
    // Every other pair verifies in full; the broken pair verifies again after its new snapshot.
    const pair = checksums.find((s) => s.ok === false)!.symbol;
    const others = checksums.filter((s) => s.symbol !== pair);
    expect(others.filter((s) => s.ok !== true).map((s) => `${s.symbol} ${s.detail}`)).toEqual([]);
    expect(others.length).toBe(4269 - checksumsOf(pair));
    const resync = statuses.findIndex((s) => s.kind === 'resync');
    expect(
      statuses.slice(resync).some((s) => s.kind === 'checksum' && s.symbol === pair && s.ok === true),
      statuses
        .slice(resync)
        .filter((s) => s.symbol === pair)
        .map((s) => `${s.kind} ${s.detail}`)
        .join('\n'),
    ).toBe(true);
    expect(books).toBeGreaterThan(10_000);
    expect(feed.ringStats()).toMatchObject({ drops: 0, depth: 0 });
    expect(feed.stats.frames).toBeGreaterThan(4000);
    expect([...feed.instruments()].find((i) => i.symbol === 'XBT/CHF')?.priceScale).toBe(5);
  });

  it('a handler thread that dies is a lost connection: the engine reconnects on a new thread', { timeout: 60_000 }, async () => {
    emulator = await KrakenEmulator.start({ lines: krakenRecording(), speed: 5 });
    const feed = workerFeed('kraken', { url: emulator.url });
    const engine = new RealtimeEngine(feed, { reconnect: { delaysMs: [100] } });
    const statuses: Status[] = [];
    let booksBefore = 0;
    let booksAfter = 0;
    engine.onStatus((s) => statuses.push(s));
    engine.onBookUpdate(() => {
      if (statuses.some((s) => s.kind === 'reconnected')) booksAfter++;
      else booksBefore++;
    });
    await engine.start(KRAKEN_PAIRS);
    await waitFor(() => booksBefore > 0, { what: 'book updates from the first handler thread' });
    // Simulate a crash: end the handler thread from outside, while the market is under way.
    await (feed as unknown as { worker: Worker }).worker.terminate();
    await waitFor(() => booksAfter > 0, {
      what: 'book updates after the reconnect on a new thread',
      state: () => statuses.map((s) => s.kind).join(','),
    });
    await engine.stop();
    const disconnected = statuses.find((s) => s.kind === 'disconnected');
    expect(disconnected?.detail).toMatch(/the feed handler thread exited/);
    expect(statuses.filter((s) => s.kind === 'reconnected')).toHaveLength(1);
    expect(statuses.filter((s) => s.kind === 'connected')).toHaveLength(2);
    expect(booksAfter).toBeGreaterThan(0);
  });

  it('refuses drop-oldest and a virtual clock, naming what it expects', () => {
    expect(() => workerFeed('kraken', { overflow: 'drop-oldest' as 'block' })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_RING_POLICY', message: expect.stringMatching(/expected block or drop-newest/) }),
    );
    expect(() => workerFeed('kraken', { clock: new VirtualClock() as unknown as LiveClock })).toThrow(/expected a LiveClock/);
    expect(() => workerFeed('nasdaq' as 'kraken')).toThrow(/expected one of kraken, binance, coinbase, alpaca, found "nasdaq"/);
    expect(() => workerFeed('alpaca')).toThrow(/expected API credentials/);
  });
});

import { KrakenEmulator } from '@mdcap/emulators';
import type { Status } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { krakenFeed } from '@mdcap/feeds';
import { describeWithDataset, waitFor, withFrameTrail } from '@mdcap/test-utils';
import { afterEach, expect, it } from 'vitest';
import { checksumsOf, KRAKEN_PAIRS, krakenRecording } from './kraken-recording.js';

/**
 * The real Kraken handler (WebSocket transport + parser) through the engine, against the
 * emulator replaying the real recording: every checksum Kraken sent matches the book mdcap
 * builds, and injected faults come out as statuses, reconnects and rebuilt books.
 */
let emulator: KrakenEmulator | null = null;
afterEach(async () => {
  await emulator?.close();
  emulator = null;
});

/**
 * Plays the whole recording to the feed and stops once the engine has everything the emulator
 * sent (and, for a fault, what `until` waits for), however long that takes on a busy machine.
 */
async function run(faults = '', feed: { staleMs?: number } = {}, until: (s: Status[], engine: RealtimeEngine) => boolean = () => true) {
  const { emulator: emu, trail } = await withFrameTrail((onSend) =>
    KrakenEmulator.start({ lines: krakenRecording(), speed: 'max', faults, onSend }),
  );
  emulator = emu;
  const provider = krakenFeed({ url: emu.url, ...feed, onFrame: (text) => trail.received(text) });
  const engine = new RealtimeEngine(provider, { reconnect: { delaysMs: [100] } });
  const statuses: Status[] = [];
  const errors: string[] = [];
  let books = 0;
  let trades = 0;
  let quotes = 0;
  engine.onTrade(() => trades++);
  engine.onQuote(() => quotes++);
  engine.onStatus((s) => statuses.push(s));
  engine.onBookUpdate(() => books++);
  engine.onError((e) => errors.push(e.message));
  await engine.start(KRAKEN_PAIRS);
  // The feed's handler runs on this thread: a frame received is a frame dispatched.
  await waitFor(() => emu.stats.timelineDone && until(statuses, engine) && trail.caughtUp(), {
    what: `the recording played${faults === '' ? '' : ` with ${faults}`} and every frame sent received`,
    state: () => `${trail.describe()}; statuses ${statuses.map((s) => s.kind).join(',')}`,
  });
  await engine.stop();
  const checksums = statuses.filter((s) => s.kind === 'checksum');
  return {
    provider,
    statuses,
    errors,
    books,
    verified: checksums.filter((s) => s.ok === true).length,
    failed: checksums.filter((s) => s.ok === false),
    kinds: (k: string) => statuses.filter((s) => s.kind === k),
    trades,
    quotes,
  };
}

describeWithDataset('cryptofeed', 'Kraken feed against the emulator', () => {
  it('all 4,269 checksums of the recording match the book mdcap builds', async () => {
    const r = await run();
    expect(r.errors).toEqual([]);
    expect(r.failed).toEqual([]);
    expect(r.verified).toBe(4269);
    expect(r.books).toBeGreaterThan(10_000);
    expect(r.trades).toBeGreaterThan(0);
    expect(r.quotes).toBe(18);
    expect(r.kinds('gap')).toEqual([]);
    expect(r.provider.stats.malformed).toBe(0);
  });

  it('a corrupted checksum: a failed checksum status, a resync, a new snapshot, then matching again', async () => {
    const r = await run('corrupt-checksum:100');
    expect(r.failed.length).toBe(1);
    expect(r.failed[0]!.detail).toMatch(/crc32: expected 1 as the venue sent, found \d+ in the book built; resnapshot/);
    const resync = r.kinds('resync');
    expect(resync.map((s) => s.symbol)).toEqual([r.failed[0]!.symbol]);
    // Every other pair verifies in full; the broken pair's book is rebuilt from the emulator's
    // snapshot (its updates while the new snapshot was on its way are not checked), then verifies again.
    const pair = r.failed[0]!.symbol;
    const others = r.statuses.filter((s) => s.kind === 'checksum' && s.symbol !== pair);
    expect(others.every((s) => s.ok === true)).toBe(true);
    expect(others.length).toBe(4269 - checksumsOf(pair));
    const after = r.statuses.slice(r.statuses.indexOf(resync[0]!));
    expect(after.some((s) => s.kind === 'checksum' && s.symbol === pair && s.ok === true)).toBe(true);
    expect(r.errors).toEqual([]);
  });

  it('a dropped connection: disconnected, reconnected on the engine backoff, books rebuilt, checksums match again', async () => {
    // Books rebuilt: every pair's book valid again from a snapshot on the new connection.
    const r = await run(
      'drop:1500',
      {},
      (s, engine) => s.some((x) => x.kind === 'reconnected') && KRAKEN_PAIRS.every((p) => engine.book(p).valid),
    );
    expect(r.kinds('disconnected').length).toBe(1);
    expect(r.kinds('reconnected').length).toBe(1);
    expect(r.kinds('connected').length).toBe(2);
    expect(r.failed).toEqual([]);
    expect(r.verified).toBeGreaterThan(1000);
    expect(r.errors).toEqual([]);
  });

  it('a malformed frame: counted, reported as a gap status with the frame, and the feed goes on', async () => {
    const r = await run('malformed:50');
    expect(r.provider.stats.malformed).toBe(1);
    const gap = r.kinds('gap');
    expect(gap.length).toBe(1);
    expect(gap[0]!.detail).toMatch(/^malformed frame skipped: kraken: not JSON, found \[\d+,\{"/);
    expect(r.failed).toEqual([]);
    expect(r.verified).toBe(4269);
  });

  it('a stalled venue: a stale status, then a reconnect', async () => {
    const r = await run('stall:300', { staleMs: 500 }, (s) => s.some((x) => x.kind === 'reconnected'));
    expect(r.kinds('stale').length).toBeGreaterThanOrEqual(1);
    expect(r.kinds('reconnected').length).toBeGreaterThanOrEqual(1);
    expect(r.failed).toEqual([]);
  });

  it('an unknown pair: the venue error as a status naming the pair', async () => {
    emulator = await KrakenEmulator.start({ lines: krakenRecording(), speed: 'max' });
    const engine = new RealtimeEngine(krakenFeed({ url: emulator.url }));
    const statuses: Status[] = [];
    engine.onStatus((s) => statuses.push(s));
    await engine.start(['NOPE/USD']);
    await waitFor(() => statuses.some((s) => s.kind === 'gap'), { what: 'a gap status for NOPE/USD' });
    await engine.stop();
    expect(statuses.find((s) => s.kind === 'gap')).toMatchObject({
      symbol: 'NOPE/USD',
      detail: 'kraken error: Currency pair not supported (NOPE/USD)',
    });
  });
});

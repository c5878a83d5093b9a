import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import {
  CaptureReader,
  CaptureWriter,
  createRowBuilder,
  FLUSHED,
  LOCK,
  readManifest,
  releaseLock,
  repairRoot,
  scanChunks,
  sha256File,
} from '@mdcap/capture';
import type { FinalizeMode } from '@mdcap/capture';
import { CaptureError, createTrade } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { tempDir } from '@mdcap/test-utils';
import { KIND_OF } from '../src/kinds/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { clockAt, edgeEvents, killedRecorder, SEC, simEvents, T0 } from './fixtures.js';

const dir = tempDir('capture');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `c${++n}`);
/** A one-cent AAPL trade of size 1 at `t`. */
const tradeAt = (t: bigint): MarketEvent =>
  createTrade({ venue: 'demo', symbol: 'AAPL', tsEvent: t, tsRecv: t, price: 1n, size: 1n, priceScale: 2, sizeScale: 0 });

/** Every event of a capture in replay order (recv_seq), as the reader decodes them. */
async function readAll(root: string): Promise<MarketEvent[]> {
  const reader = CaptureReader.open(root);
  const rows: [number, MarketEvent][] = [];
  for (const f of reader.files()) {
    for await (const b of reader.batches(f)) for (let i = 0; i < b.length; i++) rows.push([b.recvSeqNumber(i), b.event(i)]);
  }
  return rows.sort((a, b) => a[0] - b[0]).map(([, e]) => e);
}

async function record(
  root: string,
  events: readonly MarketEvent[],
  finalize: FinalizeMode = 'inline',
  rotateNs = 60n * SEC,
): Promise<void> {
  const w = await CaptureWriter.open(root, { feed: 'edge', symbols: ['BTC/USDT'], clock: clockAt(), finalize, rotateNs });
  for (const e of events) w.write(e);
  await w.close(T0 + 100n * SEC);
}

describe('round trip: event → Arrow segment → Parquet → event', () => {
  it.each<FinalizeMode>(['inline', 'worker'])('is bit-exact for every kind and edge value (%s finalization)', async (mode) => {
    const root = fresh();
    const events = edgeEvents();
    await record(root, events, mode);
    expect(await readAll(root)).toEqual(events);
    const m = readManifest(root);
    expect(m.sessions[0]).toMatchObject({
      clean: true,
      end: String(T0 + 100n * SEC),
      firstRecvSeq: '1',
      lastRecvSeq: String(events.length),
    });
    for (const f of m.files) {
      expect(f.path).toMatch(
        /^(trades|quotes|book_updates|order_updates|status|bars)\/venue=[^/]+\/date=\d{4}-\d{2}-\d{2}\/g\d{16}\.parquet$/,
      );
      expect(sha256File(join(root, f.path))).toBe(f.sha256);
      expect(statSync(join(root, f.path)).size).toBe(f.bytes);
    }
    expect(m.files.find((f) => f.venue === 'ven=ue/1')!.path).toContain('venue=ven%3Due%2F1');
    expect(existsSync(join(root, LOCK))).toBe(false);
    expect(existsSync(join(root, FLUSHED))).toBe(false);
  });

  it('is bit-exact for a simulated session across rotation groups, in replay order', async () => {
    const root = fresh();
    const events = await simEvents(20);
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL', 'MSFT', 'BTC-USD'],
      clock: clockAt(events[0]!.tsRecv),
      finalize: 'worker',
      rotateNs: 5n * SEC,
    });
    for (const e of events) w.write(e);
    await w.close(events[events.length - 1]!.tsRecv);
    const m = readManifest(root);
    expect(new Set(m.files.map((f) => f.group)).size).toBeGreaterThanOrEqual(4);
    expect(m.gaps.length).toBeGreaterThan(0); // the sim's gaps and resyncs are summarized
    expect(await readAll(root)).toEqual(events);
  });
});

describe('scanChunks', () => {
  it('finds the end of the last complete chunk at every possible cut', () => {
    const b = createRowBuilder('trades');
    const chunks: Uint8Array[] = [];
    for (let c = 0; c < 3; c++) {
      for (let i = 0; i < 5; i++)
        b.append(
          createTrade({ venue: 'v', symbol: 'S', tsEvent: T0, tsRecv: T0, price: BigInt(i), size: 1n, priceScale: 2, sizeScale: 0 }),
          BigInt(c * 5 + i),
        );
      chunks.push(tableToIPC(b.table(), 'stream'));
      b.reset();
    }
    const all = Buffer.concat(chunks);
    const ends = chunks.map((_, i) => chunks.slice(0, i + 1).reduce((a, x) => a + x.byteLength, 0));
    expect(scanChunks(all)).toEqual({ chunkEnds: ends, goodLength: all.byteLength, torn: false });
    for (let cut = 0; cut <= all.byteLength; cut++) {
      const scan = scanChunks(all.subarray(0, cut));
      const good = [0, ...ends].filter((e) => e <= cut).pop()!;
      expect(scan.goodLength).toBe(good);
      expect(scan.torn).toBe(cut > good);
    }
  });
});

describe('crash repair', () => {
  const crashed = (root: string, flushedBatches: number, unflushed: number): Promise<MarketEvent[]> =>
    killedRecorder(root, flushedBatches, 200, unflushed);

  it('recovers every flushed event, loses only the unflushed ones, and records the loss as a gap', async () => {
    const root = fresh();
    const flushed = await crashed(root, 3, 150);
    // A torn tail: half of a chunk that was being appended when the process died.
    const seg = readdirSync(join(root, 'trades/venue=demo'), { recursive: true }).find((f) => String(f).endsWith('.arrows'))!;
    appendFileSync(join(root, 'trades/venue=demo', String(seg)), Buffer.from([0xff, 0xff, 0xff, 0xff, 0x10, 0, 0, 0, 1, 2, 3]));
    const report = await repairRoot(root, 'inline');
    expect(report.truncated).toBe(1);
    expect(report.tornBytes).toBe(11);
    expect(report.session).toMatchObject({ id: 1, lastTsRecv: String(flushed[flushed.length - 1]!.tsRecv) });
    const got = await readAll(root);
    expect(got.slice(0, -1)).toEqual(flushed);
    expect(got[got.length - 1]).toMatchObject({ type: 'status', kind: 'gap', symbol: '*', tsRecv: flushed[flushed.length - 1]!.tsRecv });
    expect((got[got.length - 1] as { detail: string }).detail).toMatch(/^capture interrupted: session 1 stopped without finishing/);
    const m = readManifest(root);
    expect(m.sessions[0]).toMatchObject({
      clean: false,
      end: String(flushed[flushed.length - 1]!.tsRecv),
      lastRecvSeq: String(flushed.length + 1),
    });
    expect(m.nextRecvSeq).toBe(String(flushed.length + 2));
    expect(readdirSync(root, { recursive: true }).filter((f) => String(f).endsWith('.arrows'))).toEqual([]);
    // Repairing again finds nothing to do and adds nothing.
    expect(await repairRoot(root, 'inline')).toMatchObject({ segments: 0, session: null });
    expect(await readAll(root)).toEqual(got);
  });

  it('drops a flush that reached only some segments: a crash loses a suffix, never a hole', async () => {
    const root = fresh();
    const flushed = await crashed(root, 2, 0);
    const mark = readFileSync(join(root, FLUSHED));
    // Writes of a third flush reach the segments, but the process dies before confirming it.
    const events = await simEvents(10);
    const w = await CaptureWriter.open(fresh(), { feed: 'demo', symbols: ['AAPL'], clock: clockAt(), finalize: 'inline' }); // (only to build chunks)
    await w.close();
    const b = createRowBuilder('trades');
    const later = events.slice(400, 600).filter((e) => e.type === 'trade');
    later.forEach((e, i) => b.append(e, BigInt(401 + i)));
    const seg = readdirSync(join(root, 'trades/venue=demo'), { recursive: true }).find((f) => String(f).endsWith('.arrows'))!;
    appendFileSync(join(root, 'trades/venue=demo', String(seg)), tableToIPC(b.table(), 'stream'));
    writeFileSync(join(root, FLUSHED), mark);
    // Readers already ignore the unconfirmed chunk; repair removes it.
    expect((await readAll(root)).length).toBe(flushed.length);
    const report = await repairRoot(root, 'inline');
    expect(report.truncated).toBe(1);
    const got = await readAll(root);
    expect(got.slice(0, -1)).toEqual(flushed);
    expect(got[got.length - 1]).toMatchObject({ type: 'status', kind: 'gap' });
  });

  it('the next recording repairs the interrupted one, then appends a new session', async () => {
    const root = fresh();
    const flushed = await crashed(root, 1, 10);
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL'],
      clock: clockAt(flushed[flushed.length - 1]!.tsRecv + SEC),
      finalize: 'inline',
    });
    expect(w.repaired.session?.id).toBe(1);
    const next = tradeAt(T0 + 99n * SEC);
    w.write(next);
    const m = await w.close();
    expect(m.sessions.map((s) => [s.id, s.clean])).toEqual([
      [1, false],
      [2, true],
    ]);
    const got = await readAll(root);
    expect(got.slice(0, flushed.length)).toEqual(flushed);
    expect(got[flushed.length]).toMatchObject({ kind: 'gap' });
    expect(got[flushed.length + 1]).toEqual(next);
  });

  it('a crash right after a rotation keeps the finalized group whole (the gap gets its own group)', async () => {
    const root = fresh();
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL'],
      clock: clockAt(),
      finalize: 'inline',
      rotateNs: SEC,
      fsync: false,
    });
    const events = edgeEvents()
      .filter((e) => e.type === 'status' || e.type === 'trade')
      .map((e) => ({ ...e, venue: 'demo' }));
    const first = events.filter((e) => e.tsRecv < T0 + SEC);
    for (const e of first) w.write(e);
    w.write(tradeAt(T0 + 2n * SEC));
    while (w.stats().finalizing > 0) await new Promise((r) => setTimeout(r, 5));
    releaseLock(root); // killed before the next flush
    await repairRoot(root, 'inline');
    const got = await readAll(root);
    expect(got.slice(0, first.length)).toEqual(first);
    expect(got[first.length]).toMatchObject({ kind: 'gap' });
  });

  it('refuses a second writer or a repair of a root this process is recording', async () => {
    const root = fresh();
    const w = await CaptureWriter.open(root, { feed: 'demo', symbols: ['AAPL'], clock: clockAt(), finalize: 'inline' });
    await expect(repairRoot(root, 'inline')).rejects.toMatchObject({
      code: 'MDCAP_ERR_CAPTURE_LOCKED',
      message: expect.stringContaining('(this one)'),
    });
    await expect(CaptureWriter.open(root, { feed: 'demo', symbols: [], clock: clockAt() })).rejects.toMatchObject({
      code: 'MDCAP_ERR_CAPTURE_LOCKED',
    });
    await w.close();
    await expect(repairRoot(root, 'inline')).resolves.toMatchObject({ segments: 0 });
  });

  it('refuses to repair or record while another live process holds the lock', async () => {
    const root = fresh();
    await record(root, edgeEvents().slice(0, 3));
    const other = spawn('sleep', ['30']);
    try {
      writeFileSync(join(root, LOCK), `${other.pid}\n`);
      await expect(repairRoot(root, 'inline')).rejects.toMatchObject({
        code: 'MDCAP_ERR_CAPTURE_LOCKED',
        message: expect.stringContaining(`process ${other.pid}`),
      });
      await expect(CaptureWriter.open(root, { feed: 'edge', symbols: [], clock: clockAt() })).rejects.toMatchObject({
        code: 'MDCAP_ERR_CAPTURE_LOCKED',
      });
    } finally {
      other.kill();
    }
    // A lock left by a process that is gone is taken over.
    writeFileSync(join(root, LOCK), '999999999\n');
    await expect(repairRoot(root, 'inline')).resolves.toMatchObject({ segments: 0 });
  });
});

describe('reader', () => {
  it('a segment finalized after open() is read from its Parquet file only up to what was flushed at open()', async () => {
    const root = fresh();
    const events = await simEvents(6);
    const start = events[0]!.tsRecv;
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL', 'MSFT', 'BTC-USD'],
      clock: clockAt(start),
      finalize: 'inline',
      rotateNs: 5n * SEC,
    });
    const first = events.filter((e) => e.tsRecv < start + 2n * SEC);
    const later = events.filter((e) => e.tsRecv >= start + 2n * SEC);
    for (const e of first) w.write(e);
    w.flush();
    const reader = CaptureReader.open(root); // its snapshot: the rows flushed so far
    const segments = reader.files().filter((f) => f.format === 'arrow');
    expect(segments.length).toBeGreaterThan(1);
    for (const e of later) w.write(e); // more rows of the same segments, then their rotation and finalization
    await w.close();
    expect(segments.every((f) => !existsSync(f.path))).toBe(true);
    for (const decodeAhead of [false, true]) {
      let rows = 0;
      for (const f of segments) {
        const kindRows = first.filter((e) => f.kind === KIND_OF[e.type]).length;
        let n = 0;
        for await (const b of reader.batches(f, { decodeAhead })) n += b.length;
        expect(n, `${f.kind}, decodeAhead ${decodeAhead}`).toBe(kindRows);
        let m = 0;
        for await (const x of reader.ipcBatches(f)) m += tableFromIPC(x.bytes).numRows;
        expect(m).toBe(kindRows);
        rows += n;
      }
      expect(rows).toBe(first.length);
    }
  });

  it('skips files and row groups outside the time range and symbols', async () => {
    const root = fresh();
    const events = await simEvents(20);
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL', 'MSFT', 'BTC-USD'],
      clock: clockAt(events[0]!.tsRecv),
      finalize: 'inline',
      rotateNs: 5n * SEC,
    });
    for (const e of events) w.write(e);
    await w.close();
    const reader = CaptureReader.open(root);
    const start = events[0]!.tsRecv;
    const filter = { from: start + 10n * SEC, to: start + 12n * SEC, symbols: new Set(['MSFT']) };
    const matching = reader.files().filter((f) => reader.mayMatch(f, filter));
    expect(matching.length).toBeGreaterThan(0);
    expect(matching.length).toBeLessThan(reader.files().length / 2);
    // Venue-wide statuses (symbol *) always match a symbol filter.
    expect(
      reader
        .files()
        .filter((f) => f.kind === 'status')
        .every((f) => reader.mayMatch(f, { symbols: new Set(['MSFT']) })),
    ).toBe(true);
  });

  it.each<[string, (root: string) => void, string, RegExp]>([
    [
      'a missing directory',
      (root) => rmSync(root, { recursive: true }),
      'MDCAP_ERR_CAPTURE_NOT_FOUND',
      /expected a capture directory, found nothing/,
    ],
    [
      'a directory without a manifest',
      (root) => rmSync(join(root, 'manifest.json')),
      'MDCAP_ERR_CAPTURE_NOT_FOUND',
      /expected manifest.json/,
    ],
    [
      'a manifest that is not JSON',
      (root) => writeFileSync(join(root, 'manifest.json'), '{"format": "mdc'),
      'MDCAP_ERR_CAPTURE_CORRUPT',
      /expected JSON/,
    ],
    [
      'a foreign manifest',
      (root) => writeFileSync(join(root, 'manifest.json'), '{"format": "other"}'),
      'MDCAP_ERR_CAPTURE_SCHEMA',
      /expected an mdcap capture manifest, found format "other"/,
    ],
    [
      'a newer schema',
      (root) => {
        const m = JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as Record<string, unknown>;
        writeFileSync(join(root, 'manifest.json'), JSON.stringify({ ...m, schemaVersion: 2, writer: { name: 'mdcap', version: '9.0.0' } }));
      },
      'MDCAP_ERR_CAPTURE_SCHEMA',
      /expected schema version 1 or older, found 2 \(written by mdcap 9.0.0; upgrade mdcap to read it\)/,
    ],
    [
      'a listed file that is missing',
      (root) => rmSync(join(root, readManifest(root).files[0]!.path)),
      'MDCAP_ERR_CAPTURE_CORRUPT',
      /expected .*\.parquet \(listed in the manifest\), found no such file/,
    ],
    [
      'a truncated file',
      (root) => {
        const f = readManifest(root).files[0]!;
        writeFileSync(join(root, f.path), readFileSync(join(root, f.path)).subarray(0, 100));
      },
      'MDCAP_ERR_CAPTURE_CORRUPT',
      /expected \d+ bytes as the manifest says, found 100/,
    ],
  ])('rejects %s with a clear error', async (_name, damage, code, message) => {
    const root = fresh();
    await record(root, edgeEvents());
    damage(root);
    let error: unknown;
    try {
      CaptureReader.open(root);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CaptureError);
    expect(error).toMatchObject({ code, message: expect.stringMatching(message) });
  });

  it('names the file when a Parquet file was changed after it was written', async () => {
    const root = fresh();
    await record(root, edgeEvents());
    const f = readManifest(root).files.find((x) => x.kind === 'trades')!;
    const bytes = readFileSync(join(root, f.path));
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0x01;
    writeFileSync(join(root, f.path), bytes);
    await expect(readAll(root)).rejects.toMatchObject({
      code: 'MDCAP_ERR_CAPTURE_CORRUPT',
      message: expect.stringContaining(`${f.path}: expected sha256`),
    });
  });
});

describe('writer options and targets', () => {
  it('refuses a non-empty directory that is not a capture', async () => {
    const root = fresh();
    mkdirSync(root);
    writeFileSync(join(root, 'x.txt'), '');
    await expect(CaptureWriter.open(root, { feed: 'f', symbols: [], clock: clockAt() })).rejects.toMatchObject({
      code: 'MDCAP_ERR_CAPTURE_NOT_FOUND',
      message: expect.stringMatching(/expected an empty directory or an mdcap capture to add to, found 1 other entry \(x.txt\)/),
    });
  });

  it.each([
    [{ flushMs: 0 }, /capture flushMs: expected a positive integer, found 0/],
    [{ rotateNs: -1n }, /capture rotateNs: expected a positive integer, found -1n/],
    [{ rotateRows: 1.5 }, /capture rotateRows: expected a positive integer, found 1.5/],
  ])('rejects %o', async (options, message) => {
    await expect(CaptureWriter.open(fresh(), { feed: 'f', symbols: [], clock: clockAt(), ...options })).rejects.toMatchObject({
      code: 'MDCAP_ERR_INVALID_OPTION',
      message: expect.stringMatching(message),
    });
  });

  it('keeps a copy-safe layout: copying the root copies the capture', async () => {
    const root = fresh();
    await record(root, edgeEvents());
    const copy = fresh();
    mkdirSync(copy);
    for (const f of readdirSync(root, { recursive: true })) {
      const from = join(root, String(f));
      if (statSync(from).isDirectory()) mkdirSync(join(copy, String(f)), { recursive: true });
      else copyFileSync(from, join(copy, String(f)));
    }
    expect(await readAll(copy)).toEqual(edgeEvents());
  });
});

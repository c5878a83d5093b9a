import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureError } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { CaptureReader, CaptureWriter, finalizeSegment, findSegments, readManifest, releaseLock, repairRoot } from '@mdcap/capture';
import { recordEvents, tempDir } from '@mdcap/test-utils';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { clockAt, killedRecorder, SEC, simEvents } from './fixtures.js';

/**
 * A segment that was damaged on disk (a bad sector, a stray write) after the recorder flushed it:
 * every chunk carries a CRC-32 in its trailer, so a reader refuses it and repair cuts it, records
 * the loss as a gap status where the rows were, and never finalizes damaged rows into Parquet
 * with a fresh, valid sha256.
 */

const dir = tempDir('damage');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = (): string => join(dir, `d${++n}`);

/** Events of the capture in replay order, with their recv_seq. */
async function rows(root: string, skipDamaged = false): Promise<[bigint, MarketEvent][]> {
  const reader = CaptureReader.open(root);
  const out: [bigint, MarketEvent][] = [];
  for (const f of reader.files()) {
    for await (const b of reader.batches(f, { skipDamaged })) for (let i = 0; i < b.length; i++) out.push([b.recvSeq[i]!, b.event(i)]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** A recorder killed after `flushes` flushes of 300 events each (its segments stay unfinalized). */
const killedAfter = (root: string, flushes: number): Promise<unknown> => killedRecorder(root, flushes, 300);

function segment(root: string, kind: string): string {
  const rel = readdirSync(join(root, kind), { recursive: true })
    .map(String)
    .find((f) => f.endsWith('.arrows'))!;
  return join(root, kind, rel);
}

/** Byte offsets where each chunk's trailer starts. */
function trailers(bytes: Buffer): number[] {
  const out: number[] = [];
  for (let at = bytes.indexOf('MDCAPCK2'); at >= 0; at = bytes.indexOf('MDCAPCK2', at + 1)) out.push(at);
  return out;
}

/** Overwrites `count` bytes at `at` with a pseudo-random pattern (fixed by `seed`). */
function scribble(path: string, at: number, count: number, seed = 0x9e3779b9): void {
  const bytes = readFileSync(path);
  let x = seed | 1;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[at + i] = x & 0xff;
  }
  writeFileSync(path, bytes);
}

describe('damaged segments', () => {
  it('a reader refuses a chunk that fails its CRC, naming the file and the bytes', async () => {
    const root = fresh();
    await killedAfter(root, 3);
    const seg = segment(root, 'book_updates');
    const t = trailers(readFileSync(seg));
    scribble(seg, t[1]! - 200, 100); // inside the second chunk's IPC bytes
    await expect(rows(root)).rejects.toThrow(CaptureError);
    await expect(rows(root)).rejects.toThrow(
      /book_updates.*\.arrows: expected chunks that match their CRC-32, found a damaged chunk at bytes \d+\.\.\d+ \(chunk 2\)/,
    );
  });

  it('repair cuts a damaged chunk and records the loss where its rows were; the rest is kept bit-exact', async () => {
    const root = fresh();
    await killedAfter(root, 3);
    const before = await rows(root);
    const seg = segment(root, 'book_updates');
    const t = trailers(readFileSync(seg));
    // Up to 8 KiB of random bytes inside chunk 2 (which runs from t[0] + 64 to t[1]).
    const start = t[0]! + 64 + 256;
    scribble(seg, start, Math.min(8192, t[1]! - start - 16));
    const lost = before.filter(([, e]) => e.type === 'book').map(([s]) => s);
    const report = await repairRoot(root, 'inline');
    expect(report.damaged).toHaveLength(1);
    const d = report.damaged[0]!;
    expect(d.path).toMatch(/^book_updates\/venue=demo\/.*\.arrows$/);
    expect(d.rows).toBeGreaterThan(0);
    const [lo, hi] = d.recvSeq!.map(BigInt) as [bigint, bigint];
    expect(d.gapRecvSeq).toBe(String(lo));
    // Exactly the rows of the damaged chunk are gone; in their place, one gap status.
    const after = await rows(root);
    const cut = before.filter(([s, e]) => e.type === 'book' && s >= lo && s <= hi);
    expect(cut.length).toBe(d.rows);
    expect(lost).toContain(lo);
    const kept = before.filter(([s, e]) => !(e.type === 'book' && s >= lo && s <= hi));
    const gap = after.find(([s]) => s === lo)!;
    expect(gap[1]).toMatchObject({ type: 'status', kind: 'gap', symbol: '*', venue: 'demo', tsRecv: cut[0]![1].tsRecv });
    expect((gap[1] as { detail: string }).detail).toMatch(
      new RegExp(
        `^capture damaged: ${d.rows} rows of book_updates \\(recv_seq ${lo}\\.\\.${hi}, .*\\) in book_updates/.* failed their checksum and were cut by repair$`,
      ),
    );
    // Everything else, then the session's own end (interrupted: the unflushed suffix).
    expect(after.filter(([s]) => s !== lo).slice(0, kept.length)).toEqual(kept);
    expect(after[after.length - 1]![1]).toMatchObject({ kind: 'gap' });
    expect((after[after.length - 1]![1] as { detail: string }).detail).toMatch(/^capture interrupted: session 1/);
    // Replay order holds: ts_recv never goes back.
    for (let i = 1; i < after.length; i++) expect(after[i]![1].tsRecv >= after[i - 1]![1].tsRecv).toBe(true);
    expect(readManifest(root).gaps.some((g) => g.detail.startsWith('capture damaged:'))).toBe(true);
    // Repairing again finds nothing more, and adds nothing.
    expect(await repairRoot(root, 'inline')).toMatchObject({ segments: 0, damaged: [] });
    expect(await rows(root)).toEqual(after);
  });

  it('a chunk whose trailer is damaged too: the gap takes a recv_seq no surviving row holds', async () => {
    const root = fresh();
    await killedAfter(root, 3);
    const before = await rows(root);
    const seg = segment(root, 'trades');
    const t = trailers(readFileSync(seg));
    scribble(seg, t[1]! - 20, 60); // the end of chunk 2 and the start of its trailer
    const report = await repairRoot(root, 'inline');
    expect(report.damaged).toHaveLength(1);
    expect(report.damaged[0]).toMatchObject({ rows: null, recvSeq: null });
    const after = await rows(root);
    const gapSeq = BigInt(report.damaged[0]!.gapRecvSeq!);
    const survivors = new Set(after.map(([s]) => s));
    expect(survivors.has(gapSeq)).toBe(true);
    // The gap sits in the first place a trade of chunk 2 had (the other kinds keep theirs).
    const trades = before.filter(([, e]) => e.type === 'trade').map(([s]) => s);
    const lostTrades = trades.filter((s) => !after.some(([x, e]) => x === s && e.type === 'trade'));
    expect(lostTrades.length).toBeGreaterThan(0);
    expect(gapSeq).toBe(lostTrades[0]);
    for (let i = 1; i < after.length; i++) expect(after[i]![1].tsRecv >= after[i - 1]![1].tsRecv).toBe(true);
    expect(new Set(after.map(([s]) => s)).size).toBe(after.length); // recv_seq stays unique
  });

  it('garbage that holds no rows is cut without a gap; a torn tail stays the crash loss it is', async () => {
    const root = fresh();
    await killedAfter(root, 2);
    const before = await rows(root);
    const seg = segment(root, 'quotes');
    const bytes = readFileSync(seg);
    const t = trailers(bytes);
    // Foreign bytes between chunk 1 and chunk 2: no recv_seq is missing.
    writeFileSync(
      seg,
      Buffer.concat([bytes.subarray(0, t[0]! + 64), Buffer.alloc(300, 7), bytes.subarray(t[0]! + 64), Buffer.from([1, 2, 3])]),
    );
    const report = await repairRoot(root, 'inline');
    expect(report.damaged).toEqual([expect.objectContaining({ bytes: 300, gapRecvSeq: null })]);
    const after = await rows(root);
    expect(after.slice(0, -1)).toEqual(before);
  });
});

describe('reading a segment', () => {
  it('every chunk that damage did not touch is read whole, wherever the damage is; nothing else is read', async () => {
    const root = fresh();
    await killedAfter(root, 4);
    const seg = segment(root, 'trades');
    const pristine = readFileSync(seg);
    const all = await rows(root);
    // Each chunk: its bytes (from the end of the one before to the end of its trailer) and recv_seq range.
    const chunks = trailers(pristine).map((at, k, list) => ({
      start: k === 0 ? 16 : list[k - 1]! + 64,
      end: at + 64,
      seq: [pristine.readBigUInt64LE(at + 24), pristine.readBigUInt64LE(at + 32)] as const,
    }));
    expect(chunks.length).toBeGreaterThanOrEqual(4);
    const isTrade = (e: MarketEvent) => e.type === 'trade';
    // Anywhere, and often at or near a trailer (where the reader must find its way to the next chunk).
    const where = fc.oneof(
      fc.nat({ max: pristine.length - 1 }),
      fc.constantFrom(...trailers(pristine)).chain((t) => fc.integer({ min: t - 40, max: Math.min(t + 63, pristine.length - 1) })),
    );
    await fc.assert(
      fc.asyncProperty(where, fc.integer({ min: 1, max: 400 }), fc.nat(), async (at, count, seed) => {
        writeFileSync(seg, pristine);
        scribble(seg, at, Math.min(count, pristine.length - at), seed);
        const got = (await rows(root, true)).filter(([, e]) => isTrade(e));
        // Nothing that was not recorded, in order.
        const recorded = new Map(all.map(([q, e]) => [q, e]));
        for (const [q, e] of got) expect(e).toEqual(recorded.get(q));
        // Every untouched chunk after the header, whole.
        const have = new Set(got.map(([q]) => q));
        const touched = (c: { start: number; end: number }) => at < c.end && at + count > c.start;
        if (at >= 16) {
          for (const c of chunks.filter((c) => !touched(c))) {
            for (const [q, e] of all) if (isTrade(e) && q >= c.seq[0] && q <= c.seq[1]) expect(have.has(q)).toBe(true);
          }
        }
      }),
      { numRuns: 60 },
    );
    writeFileSync(seg, pristine);
  });

  it('a chunk whose values hold the trailer magic is read by its framing, whole', async () => {
    const root = fresh();
    const magic = 'MDCAPCK2'.repeat(20);
    const events = (await simEvents(4)).slice(0, 600).map((e) => (e.type === 'trade' ? { ...e, tradeId: magic } : e));
    const w = await CaptureWriter.open(root, {
      feed: 'demo',
      symbols: ['AAPL', 'MSFT', 'BTC-USD'],
      clock: clockAt(events[0]!.tsRecv),
      fsync: false,
    });
    events.forEach((e, i) => {
      w.write(e);
      if (i % 50 === 49) w.flush();
    });
    releaseLock(root); // left as a killed recorder leaves it: segments only
    expect(readFileSync(segment(root, 'trades')).indexOf(magic)).toBeGreaterThan(0);
    const got = await rows(root);
    expect(got.map(([, e]) => e)).toEqual(events);
  });
});

describe('a lost manifest', () => {
  it('repair rebuilds it from the Parquet files alone: files, sessions, instruments, gaps, next recv_seq', async () => {
    const root = fresh();
    const events = await simEvents(30);
    const half = Math.floor(events.length / 2);
    const one = await recordEvents(root, events.slice(0, half), { feed: 'demo', rotateNs: 5n * SEC });
    expect(one.sessions).toHaveLength(1);
    const original = await recordEvents(root, events.slice(half), {
      feed: 'demo',
      rotateNs: 5n * SEC,
      end: events[events.length - 1]!.tsRecv + SEC,
    });
    const before = await rows(root);
    writeFileSync(join(root, 'manifest.json'), 'DBN\u0003 not a manifest');
    expect(() => readManifest(root)).toThrow(
      /expected JSON, found unreadable text .*mdcap verify --repair rebuilds the manifest from them/,
    );
    const report = await repairRoot(root, 'inline');
    expect(report.rebuilt).toMatchObject({ files: original.files.length, sessions: 2, unreadable: [] });
    expect(readFileSync(join(root, 'manifest.json.unreadable'), 'utf8')).toBe('DBN\u0003 not a manifest');
    const m = readManifest(root);
    const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : 1);
    expect([...m.files].sort(byPath)).toEqual([...original.files].sort(byPath));
    expect(m.sessions).toEqual(original.sessions);
    expect(m.nextRecvSeq).toBe(original.nextRecvSeq);
    expect(new Set(m.symbols)).toEqual(new Set(original.symbols));
    expect(new Set(m.gaps.map((g) => JSON.stringify(g)))).toEqual(new Set(original.gaps.map((g) => JSON.stringify(g))));
    expect(m.feed).toBe(original.feed);
    expect(m.created).toBe(original.created);
    expect(m.instruments).toEqual(original.instruments);
    expect(await rows(root)).toEqual(before);
  });

  it('files without metadata (mdcap 0.1.0): one session over all of them, closed as interrupted', async () => {
    const root = fresh();
    await killedAfter(root, 2);
    const before = await rows(root);
    // Finalized as mdcap 0.1.0 did (no capture or session in the files), then the manifest is lost.
    for (const seg of findSegments(root)) {
      await finalizeSegment(root, seg.rel, seg.kind);
      rmSync(join(root, seg.rel));
    }
    rmSync(join(root, 'manifest.json'));
    expect(() => readManifest(root)).toThrow(/found none \(its files are there: mdcap verify --repair rebuilds the manifest from them\)/);
    const report = await repairRoot(root, 'inline');
    expect(report.rebuilt).toMatchObject({ savedAs: null, sessions: 1 });
    const m = readManifest(root);
    expect(m.sessions).toEqual([expect.objectContaining({ id: 1, feed: 'demo', clean: false, start: String(before[0]![1].tsRecv) })]);
    const after = await rows(root);
    expect(after.slice(0, -1)).toEqual(before);
    expect((after[after.length - 1]![1] as { detail: string }).detail).toMatch(/^capture interrupted: session 1/);
  });
});

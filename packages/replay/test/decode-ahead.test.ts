import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader, readManifest } from '@mdcap/capture';
import type { CaptureSource, ReadFilter } from '@mdcap/capture';
import { eventToJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { DECODE_AHEAD_MIN_ROWS, ReplayProvider } from '@mdcap/replay';
import type { ReplayOptions } from '@mdcap/replay';
import { recordEvents, SIM_SYMBOLS, simulatedEvents, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SEC = 1_000_000_000n;
const dir = tempDir('decode-ahead');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let events: MarketEvent[] = [];
const cap = join(dir, 'cap');
beforeAll(async () => {
  events = await simulatedEvents(20);
  await recordEvents(cap, events, { rotateNs: 4n * SEC });
}, 60_000);

async function replayed(root: string, options: ReplayOptions): Promise<{ events: MarketEvent[]; errors: string[] }> {
  const engine = new RealtimeEngine(ReplayProvider.open(root, options));
  const out: MarketEvent[] = [];
  const errors: string[] = [];
  engine.onEvent((e) => out.push(e));
  engine.onError((e) => errors.push(e.toString()));
  await engine.run(SIM_SYMBOLS);
  return { events: out, errors };
}

function hash(list: readonly MarketEvent[]): string {
  const h = createHash('sha256');
  for (const e of list) h.update(`${JSON.stringify(eventToJson(e))}\n`);
  return h.digest('hex');
}

describe('decoding ahead on a worker thread', () => {
  it('delivers the same events, byte for byte, as decoding on the engine thread, with any batch size', async () => {
    const main = await replayed(cap, { decodeAhead: false });
    expect(main.errors).toEqual([]);
    expect(main.events).toEqual(events);
    for (const batchSize of [65_536, 1_000, 37]) {
      const ahead = await replayed(cap, { decodeAhead: true, batchSize });
      expect(ahead.errors).toEqual([]);
      expect(hash(ahead.events)).toBe(hash(main.events));
    }
  });

  it('a file changed after it was written fails the replay with the same error on either thread', async () => {
    const root = join(dir, 'flipped');
    await recordEvents(root, events.slice(0, 3000));
    const f = readManifest(root).files.find((x) => x.kind === 'book_updates')!;
    const bytes = readFileSync(join(root, f.path));
    const mid = bytes.length >> 1;
    bytes[mid] = bytes[mid]! ^ 0x01;
    writeFileSync(join(root, f.path), bytes);
    for (const decodeAhead of [false, true]) {
      const got = await replayed(root, { decodeAhead });
      expect(got.errors.join('\n')).toMatch(new RegExp(`MDCAP_ERR_CAPTURE_CORRUPT: .*${f.path.replace(/[.]/g, '[.]')}: expected sha256`));
    }
  });

  it('a file that makes the decoder panic fails the replay naming the file; the process and later replays live on', async () => {
    const root = join(dir, 'damaged');
    await recordEvents(root, events.slice(0, 3000));
    const f = readManifest(root).files.find((x) => x.kind === 'quotes')!;
    const bytes = readFileSync(join(root, f.path));
    bytes.fill(0xff, 8, 200); // the first pages: garbage where column data was
    writeFileSync(join(root, f.path), bytes);
    // (On the engine thread such a panic of the wasm decoder escapes as an uncaught exception.)
    const got = await replayed(root, { decodeAhead: true, verifyHashes: false });
    expect(got.errors.join('\n')).toMatch(
      new RegExp(
        `MDCAP_ERR_CAPTURE_CORRUPT: .*${f.path.replace(/[.]/g, '[.]')}: expected a readable Parquet file of quotes, found an error: the decoder failed`,
      ),
    );
    const after = await replayed(cap, { decodeAhead: true });
    expect(after.errors).toEqual([]);
    expect(after.events).toEqual(events);
  });

  it('decodes ahead by default only a capture big enough to pay for the thread, or one read without hash checks', () => {
    expect(readManifest(cap).files.reduce((n, f) => n + f.rows, 0)).toBeLessThan(DECODE_AHEAD_MIN_ROWS);
    expect(ReplayProvider.open(cap).decodesAhead).toBe(false);
    expect(ReplayProvider.open(cap, { verifyHashes: false }).decodesAhead).toBe(true);
    expect(ReplayProvider.open(cap, { decodeAhead: true }).decodesAhead).toBe(true);
    // The count is the manifest's: a source whose files hold more rows decodes ahead.
    const reader = CaptureReader.open(cap);
    const files = reader.manifest.files.map((f) => ({ ...f, rows: DECODE_AHEAD_MIN_ROWS }));
    const big: CaptureSource = {
      root: reader.root,
      manifest: { ...reader.manifest, files },
      groups: () => reader.groups(),
      mayMatch: (f, filter) => reader.mayMatch(f, filter),
      batches: (f, filter) => reader.batches(f, filter),
    };
    expect(ReplayProvider.open(big).decodesAhead).toBe(true);
  });

  it('a seek does not read the rotation groups (nor the row groups) before its target', async () => {
    const reader = CaptureReader.open(cap);
    const read = new Set<string>();
    const source: CaptureSource = {
      root: reader.root,
      manifest: reader.manifest,
      groups: () => reader.groups(),
      mayMatch: (f, filter) => reader.mayMatch(f, filter),
      batches: (f, filter) => {
        read.add(f.group);
        return reader.batches(f, filter);
      },
    };
    const provider = ReplayProvider.open(source, { decodeAhead: true });
    const engine = new RealtimeEngine(provider);
    const got: MarketEvent[] = [];
    const target = events[0]!.tsRecv + 17n * SEC;
    engine.onEvent((e) => {
      got.push(e);
      if (got.length === 10) provider.seek(target);
    });
    await engine.run(SIM_SYMBOLS);
    expect(got.slice(0, 10)).toEqual(events.slice(0, 10));
    expect(got[10]).toMatchObject({ type: 'status', kind: 'gap', tsRecv: target });
    expect(got.slice(11)).toEqual(events.filter((e) => e.tsRecv >= target));
    const groups = reader.groups().map((g) => g.name);
    expect(groups.length).toBeGreaterThanOrEqual(5);
    // The first group (being read when the seek came), the one opened ahead of it, and those from the target on.
    const skipped = groups.filter((g) => !read.has(g));
    expect(skipped.length).toBeGreaterThanOrEqual(2);
    expect(groups.slice(-1).every((g) => read.has(g))).toBe(true);
  });

  it('a start inside a row group: the rows before it are not decoded, on either thread', async () => {
    const reader = CaptureReader.open(cap);
    const file = reader.files().find((f) => f.format === 'parquet' && f.kind === 'book_updates' && f.entry!.rows > 100)!;
    const times = async (filter: ReadFilter): Promise<bigint[]> => {
      const out: bigint[] = [];
      for await (const b of reader.batches(file, { batchSize: 29, ...filter })) out.push(...b.tsRecv);
      return out;
    };
    const all = await times({});
    expect(file.entry!.rowGroups.length).toBe(1);
    const from = all[Math.floor(all.length / 2)]! + 1n;
    const first = all.findIndex((t) => t >= from);
    expect(first).toBeGreaterThan(0);
    for (const decodeAhead of [false, true]) {
      // Exactly the rows from the first received at or after `from`: the prefix before it is not read.
      expect(await times({ from, decodeAhead })).toEqual(all.slice(first));
      expect(await times({ from: all[0]!, decodeAhead })).toEqual(all);
      expect(await times({ from: all[all.length - 1]! + 1n, decodeAhead })).toEqual([]);
    }
  });

  it('a file left (its signal aborted) drops the batches asked for ahead: the decode thread does not keep decoding them', async () => {
    const reader = CaptureReader.open(cap);
    const file = reader.files().find((f) => f.format === 'parquet' && f.kind === 'book_updates')!;
    const all = async (stopAfter = Infinity): Promise<number> => {
      let n = 0;
      const controller = new AbortController();
      for await (const b of reader.batches(file, { decodeAhead: true, batchSize: 37, signal: controller.signal })) {
        expect(b.length).toBeGreaterThan(0);
        if (++n === stopAfter) controller.abort();
      }
      return n;
    };
    const whole = await all();
    expect(whole).toBeGreaterThan(20);
    // Aborted after the first batch: at most the three asked for ahead come (those decoded before the abort arrived), then the end.
    const cut = await all(1);
    expect(cut).toBeLessThanOrEqual(4);
  });

  it('a seek across recording sessions marks the jump once, however the skipped rows lie in files', async () => {
    const root = join(dir, 'sessions');
    const parts = [events.slice(0, 400), events.slice(1500, 1900), events.slice(3000, 3400)];
    for (const p of parts) await recordEvents(root, p, { end: p[p.length - 1]!.tsRecv + 1n, rotateNs: 2n * SEC });
    const target = parts[2]![100]!.tsRecv;
    for (const decodeAhead of [true, false]) {
      const provider = ReplayProvider.open(root, { decodeAhead });
      const engine = new RealtimeEngine(provider);
      const got: MarketEvent[] = [];
      engine.onEvent((e) => {
        got.push(e);
        if (got.length === 1) provider.seek(target);
      });
      await engine.run(SIM_SYMBOLS);
      const gaps = got.filter((e) => e.type === 'status' && e.kind === 'gap');
      expect(gaps.map((g) => (g as { detail: string }).detail)).toEqual([expect.stringMatching(/^replay skipped ahead to /)]);
      expect(got.slice(2)).toEqual(parts[2]!.filter((e) => e.tsRecv >= target));
    }
  });
});

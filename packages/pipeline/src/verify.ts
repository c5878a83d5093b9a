import { relative, sep } from 'node:path';
import { CaptureReader, lockHolder, repairRoot, segmentDamage, sha256FileAsync } from '@mdcap/capture';
import type { RepairReport, SegmentDamage } from '@mdcap/capture';
import { ALL_SYMBOLS, BookFlags, eventToJson } from '@mdcap/core';
import type { MarketEvent, Status, MdcapError } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import { captureFraction } from './progress.js';

/** One venue sequence stream (venue and symbol) as verify saw it. */
export interface StreamReport {
  readonly venue: string;
  readonly symbol: string;
  /** The event kind, for venues whose ids are per kind (sequencing `monotonic-per-kind`); else null. */
  readonly kind: string | null;
  readonly events: number;
  readonly firstSeq: string | null;
  readonly lastSeq: string | null;
  /** Sequence jumps that a gap status announced, and those nothing announced. */
  readonly recordedGaps: number;
  readonly unrecordedGaps: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly root: string;
  /** Files: finalized Parquet files plus segments not finalized yet. */
  readonly files: number;
  readonly segments: number;
  readonly rows: number;
  /** Data-loss statuses in the capture (gap, resync, disconnect) and recording-session holes, plus unannounced sequence jumps. */
  readonly gaps: number;
  readonly gapsRecorded: number;
  readonly gapsUnrecorded: number;
  readonly interruptedSessions: number;
  /** Book resnapshots the feed made (after a gap, a reconnect, a failed checksum). */
  readonly resyncs: number;
  readonly duplicates: number;
  readonly outOfOrder: number;
  /** Times a book turned crossed or locked at a packet boundary in the engine's replay. */
  readonly crossedBooks: number;
  /** L3: order updates (cancel, modify, fill) that named an order id the book did not hold, over all books. */
  readonly unknownOrders: number;
  /** Packets or messages the feed could not decode and did not use (`corrupt` statuses); any data lost is a gap too. */
  readonly corrupt: number;
  /**
   * What the feeds counted on the wire, per recording session that kept counters (CME: copies
   * from the other line not delivered twice, corrupt packets, packets lost): not events, so not
   * problems by themselves; the events above say what reached the capture.
   */
  readonly feedCounters: readonly {
    readonly session: number;
    readonly feed: string;
    readonly counters: Readonly<Record<string, number>>;
  }[];
  /** Checksum results the feed recorded. */
  readonly checksums: { readonly verified: number; readonly failed: number };
  /** Files whose sha256 differs from the manifest. */
  readonly hashMismatches: readonly string[];
  /** Chunks of unfinalized segments that fail their CRC-32 (not decoded; `--repair` cuts them and records the loss). */
  readonly damagedChunks: readonly (SegmentDamage & { readonly path: string })[];
  readonly engineErrors: readonly string[];
  readonly streams: readonly StreamReport[];
  /** One sentence per kind of problem; empty when ok. */
  readonly problems: readonly string[];
  readonly repaired: RepairReport | null;
}

interface StreamState {
  venue: string;
  symbol: string;
  kind: string | null;
  events: number;
  first: bigint | null;
  /** The last sequence number (null after a reset), and the last one seen at all. */
  last: bigint | null;
  lastSeen: bigint | null;
  /** Payloads seen with the current `last` sequence number (duplicate detection). */
  seen: Set<string> | null;
  /** The first event with the current sequence number. */
  runFirst: MarketEvent | null;
  announced: boolean;
  /** In a run of sequence numbers below `last` (a loop-back or a late burst): counted once. */
  behind: boolean;
  recordedGaps: number;
  unrecordedGaps: number;
  duplicates: number;
  outOfOrder: number;
}

const RESETS = new Set(['disconnected', 'reconnected', 'resync']);
/** Statuses that mean data was lost (a resync is the recovery from one, counted apart). */
const LOSS = new Set(['gap', 'disconnected']);

/** The event without its receive time: two copies of one venue message compare equal. */
function payload(e: MarketEvent): string {
  const { tsRecv: _t, ...rest } = eventToJson(e);
  return JSON.stringify(rest);
}

export interface VerifyOptions {
  readonly repair?: boolean;
  /** Called every 65,536 events with the tsRecv reached and how far that is through the capture's time (0 to 1). */
  readonly onProgress?: (tsRecv: bigint, fraction: number) => void;
  /** Called after each file's sha256 (the first pass, over every byte) with the bytes hashed so far and in all. */
  readonly onHashProgress?: (bytes: number, total: number) => void;
}

/**
 * Checks a capture: every file's sha256 against the manifest; every row readable (a replay
 * through the RealtimeEngine, which also finds crossed books); per venue and symbol, sequence
 * continuity (jumps announced by a gap status or not), duplicates (a repeated message: same
 * sequence number and payload) and out-of-order sequence numbers; recorded gaps, resyncs,
 * disconnects, interrupted sessions, checksum results and corrupt packets. With `repair`, first finalizes what
 * an interrupted recording left.
 * @throws {MdcapError} when the capture cannot be read (missing, newer, corrupt file: the file
 *   and row group are named).
 */
export async function verifyCapture(root: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const repaired = options.repair === true ? await repairRoot(root) : null;
  const reader = CaptureReader.open(root);
  const files = reader.files();
  const segments = files.filter((f) => f.format === 'arrow').length;
  const hashMismatches: string[] = [];
  const skip = new Set<string>();
  const damagedChunks: (SegmentDamage & { path: string })[] = [];
  const hashTotal = files.reduce((n, f) => n + (f.entry?.bytes ?? 0), 0);
  let hashed = 0;
  for (const f of files) {
    if (f.entry !== null && (await sha256FileAsync(f.path)) !== f.entry.sha256) {
      hashMismatches.push(f.entry.path);
      skip.add(f.path); // changed after it was written: not decoded (its rows are not trustworthy)
    }
    if (f.entry !== null) {
      hashed += f.entry.bytes;
      options.onHashProgress?.(hashed, hashTotal);
    }
    if (f.format === 'arrow') {
      for (const d of segmentDamage(f.path)) damagedChunks.push({ path: relative(root, f.path).split(sep).join('/'), ...d });
    }
  }

  // Hashes were checked above (a mismatch is a finding, not a reason to stop reading).
  const provider = ReplayProvider.open(root, { speed: 'max', verifyHashes: false, skipFiles: skip, skipDamaged: true });
  const engine = new RealtimeEngine(provider, { validate: false });
  const fraction = captureFraction(reader.manifest);
  const streams = new Map<string, StreamState>();
  // A venue whose ids grow by any step per kind (its feed's sequencing rule, kept in the
  // manifest) is checked per kind for order only.
  const rules = reader.manifest.sequencing;
  const perKind = (venue: string): boolean => rules[venue] === 'monotonic-per-kind';
  const stream = (venue: string, symbol: string, kind = ''): StreamState => {
    const key = `${venue}\u0000${symbol}\u0000${perKind(venue) ? kind : ''}`;
    let s = streams.get(key);
    if (s === undefined) {
      s = {
        venue,
        symbol,
        kind: perKind(venue) ? kind : null,
        events: 0,
        first: null,
        last: null,
        lastSeen: null,
        seen: null,
        runFirst: null,
        announced: false,
        behind: false,
        recordedGaps: 0,
        unrecordedGaps: 0,
        duplicates: 0,
        outOfOrder: 0,
      };
      streams.set(key, s);
    }
    return s;
  };
  // The replay's own marks (a hole between sessions) carry the capture's feed name: for a capture
  // of several feeds (`kraken+coinbase`), that is every venue's.
  const feedName = reader.manifest.feed;
  const affected = (st: Status): StreamState[] => {
    const every = st.venue === feedName && st.symbol === ALL_SYMBOLS;
    const all = [...streams.values()].filter(
      (s) => every || (s.venue === st.venue && (st.symbol === ALL_SYMBOLS || s.symbol === st.symbol)),
    );
    return all.length > 0 || st.symbol === ALL_SYMBOLS ? all : [stream(st.venue, st.symbol)];
  };
  let gapsRecorded = 0;
  let resyncs = 0;
  let crossedBooks = 0;
  let corrupt = 0;
  const checksums = { verified: 0, failed: 0 };
  const engineErrors: MdcapError[] = [];
  let outOfOrderTs = 0;
  let n = 0;
  // Books that lost their connection: each one's next snapshot is a resync (the feed resubscribed
  // it), unless a resync status already said so.
  const afterReconnect = new Map<string, { all: boolean; symbols: Set<string>; done: Set<string> }>();
  const resnapshot = (venue: string, symbol: string): boolean => {
    const p = afterReconnect.get(venue);
    if (p === undefined || p.done.has(symbol) || (!p.all && !p.symbols.has(symbol))) return false;
    p.done.add(symbol);
    p.symbols.delete(symbol);
    return true;
  };
  engine.onEvent((e) => {
    if ((++n & 0xffff) === 0) options.onProgress?.(e.tsRecv, fraction(e.tsRecv));
    if ((e.type === 'book' || e.type === 'order') && (e.flags & BookFlags.SnapshotBegin) !== 0 && resnapshot(e.venue, e.symbol)) resyncs++;
    if (e.type === 'status') {
      if (e.kind === 'checksum') {
        if (e.ok === true) checksums.verified++;
        else if (e.ok === false) checksums.failed++;
      }
      if (e.kind === 'corrupt') corrupt++;
      if (e.kind === 'resync') {
        resyncs++;
        const p = afterReconnect.get(e.venue);
        if (e.symbol === ALL_SYMBOLS) afterReconnect.delete(e.venue);
        else if (p !== undefined) resnapshot(e.venue, e.symbol); // counted here, not again at its snapshot
      }
      if (e.kind === 'disconnected' || e.kind === 'reconnected') {
        const p = afterReconnect.get(e.venue);
        if (e.symbol === ALL_SYMBOLS || p === undefined) {
          afterReconnect.set(e.venue, {
            all: e.symbol === ALL_SYMBOLS,
            symbols: new Set(e.symbol === ALL_SYMBOLS ? [] : [e.symbol]),
            done: new Set(),
          });
        } else {
          p.symbols.add(e.symbol);
          p.done.delete(e.symbol);
        }
      }
      if (LOSS.has(e.kind)) {
        gapsRecorded++;
        for (const s of affected(e)) {
          s.recordedGaps++;
          s.announced = true;
        }
      }
      // Sequence numbers may restart on a new connection, a snapshot, or after a venue-wide hole
      // (a new recording session is a new connection).
      if (RESETS.has(e.kind) || (e.kind === 'gap' && e.symbol === ALL_SYMBOLS)) {
        for (const s of affected(e)) {
          s.last = null;
          s.seen = null;
          s.runFirst = null;
        }
      }
      return;
    }
    if (e.seq === null) return;
    // A snapshot lists the book, not the stream: its records carry each order's last sequence
    // number (Databento MBO), in book order. The stream's order is checked from its end on.
    if ((e.type === 'book' || e.type === 'order') && (e.flags & BookFlags.Snapshot) !== 0) return;
    const s = stream(e.venue, e.symbol, e.type);
    s.events++;
    s.first ??= e.seq;
    const last = s.last;
    if (last === null || e.seq === last + 1n || (e.seq > last && perKind(e.venue))) {
      s.seen = null;
    } else if (e.seq > last + 1n) {
      if (!s.announced) s.unrecordedGaps++;
      s.seen = null;
    } else if (e.seq === last) {
      s.seen ??= new Set(s.runFirst === null ? [] : [payload(s.runFirst)]);
      const p = payload(e);
      if (s.seen.has(p)) s.duplicates++;
      s.seen.add(p);
      return;
    } else {
      // Back in the sequence: one count per run of such events (a venue that loops back, or a
      // burst delivered late), not one per event of it.
      if (!s.behind) s.outOfOrder++;
      s.behind = true;
      return;
    }
    s.behind = false;
    s.last = e.seq;
    s.lastSeen = e.seq;
    s.announced = false;
    s.runFirst = e;
  });
  engine.onStatus((st) => {
    if (st.kind === 'crossed') crossedBooks++;
  });
  engine.onError((error) => {
    if (error.code === 'MDCAP_ERR_OUT_OF_ORDER') outOfOrderTs++;
    engineErrors.push(error);
  });
  await engine.run(reader.manifest.symbols.length > 0 ? reader.manifest.symbols : ['*']);
  if (engine.stats().state === 'failed') {
    const fatal = engineErrors.find((e) => e.code.startsWith('MDCAP_ERR_CAPTURE') || e.code === 'MDCAP_ERR_IO');
    if (fatal !== undefined) throw fatal;
  }
  const replayStats = provider.stats();
  const interrupted = reader.manifest.sessions.filter((s) => !s.clean && s.end !== null).length;
  const list = [...streams.values()];
  const sum = (f: (s: StreamState) => number): number => list.reduce((a, s) => a + f(s), 0);
  const gapsUnrecorded = sum((s) => s.unrecordedGaps);
  const duplicates = sum((s) => s.duplicates);
  const outOfOrder = sum((s) => s.outOfOrder) + outOfOrderTs;
  const gaps = gapsRecorded + gapsUnrecorded; // the replay's marks between sessions are gap statuses too
  const otherErrors = engineErrors.filter((e) => e.code !== 'MDCAP_ERR_OUT_OF_ORDER');
  const problems: string[] = [];
  if (hashMismatches.length > 0)
    problems.push(`${hashMismatches.length} file(s) differ from their manifest sha256: ${hashMismatches.slice(0, 3).join(', ')}`);
  if (damagedChunks.length > 0) {
    const d = damagedChunks[0]!;
    problems.push(
      `${damagedChunks.length} damaged chunk(s) in unfinalized segments, not read (first: ${d.path} ${d.where}${d.rows === null ? '' : `, ${d.rows} rows`}): mdcap verify --repair cuts them and records each loss as a gap`,
    );
  }
  const unfinished = reader.manifest.sessions.filter((x) => x.end === null);
  const recorder = lockHolder(root);
  if (unfinished.length > 0) {
    const ids = unfinished.map((x) => x.id).join(', ');
    problems.push(
      recorder !== null
        ? `a recording is in progress (process ${recorder}): session ${ids} has no end yet`
        : `session ${ids} did not finish (the recorder was killed?): mdcap verify --repair closes it and records the loss as a gap`,
    );
  }
  if (segments > 0)
    problems.push(`${segments} segment(s) not finalized to Parquet (a recording is running, or was interrupted: mdcap verify --repair)`);
  if (gapsRecorded > 0) problems.push(`${gapsRecorded} recorded gap(s): gap and disconnect statuses, holes between recording sessions`);
  if (gapsUnrecorded > 0) problems.push(`${gapsUnrecorded} sequence jump(s) that no gap status announced`);
  if (duplicates > 0) problems.push(`${duplicates} duplicate message(s)`);
  if (outOfOrder > 0) problems.push(`${outOfOrder} event(s) out of order`);
  if (crossedBooks > 0) problems.push(`${crossedBooks} time(s) a book turned crossed or locked`);
  let unknownOrders = 0;
  // A symbol of several venues (a capture of several feeds) has a book per venue.
  const venues = [...new Set([...Object.keys(rules), ...reader.manifest.files.map((f) => f.venue)])];
  for (const symbol of reader.manifest.symbols) {
    if (venues.length <= 1) unknownOrders += engine.book(symbol).stats().unknownOrders;
    else for (const venue of venues) unknownOrders += engine.book(symbol, venue).stats().unknownOrders;
  }
  if (unknownOrders > 0) problems.push(`${unknownOrders} order update(s) named an order id the book did not hold`);
  if (checksums.failed > 0) problems.push(`${checksums.failed} failed checksum(s)`);
  if (corrupt > 0) problems.push(`${corrupt} corrupt packet(s) or message(s) the feed could not decode and did not use`);
  if (otherErrors.length > 0) problems.push(`${otherErrors.length} engine error(s): ${otherErrors[0]!.toString()}`);
  return {
    ok: problems.length === 0,
    root,
    files: files.length,
    segments,
    rows: replayStats.events - replayStats.marks,
    gaps,
    gapsRecorded,
    gapsUnrecorded,
    interruptedSessions: interrupted,
    resyncs,
    duplicates,
    outOfOrder,
    crossedBooks,
    unknownOrders,
    corrupt,
    feedCounters: reader.manifest.sessions.flatMap((x) =>
      x.feedCounters === undefined ? [] : [{ session: x.id, feed: x.feed, counters: x.feedCounters }],
    ),
    checksums,
    hashMismatches,
    damagedChunks,
    engineErrors: otherErrors.map((e) => e.toString()),
    streams: list.map((s) => ({
      venue: s.venue,
      symbol: s.symbol,
      kind: s.kind,
      events: s.events,
      firstSeq: s.first?.toString() ?? null,
      lastSeq: s.lastSeen?.toString() ?? null,
      recordedGaps: s.recordedGaps,
      unrecordedGaps: s.unrecordedGaps,
      duplicates: s.duplicates,
      outOfOrder: s.outOfOrder,
    })),
    problems,
    repaired,
  };
}

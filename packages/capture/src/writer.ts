import {
  closeSync,
  existsSync,
  statSync,
  fdatasyncSync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  rmSync,
  unlinkSync,
  writeSync,
  writevSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tableToIPC } from 'apache-arrow';
import { CaptureError, ConfigError, describeValue, nsToIso } from '@mdcap/core';
import type { Clock, Instrument, MarketEvent, SequenceRule } from '@mdcap/core';
import { Finalizer } from './finalizer.js';
import type { FinalizeMode } from './finalizer.js';
import { CAPTURE_KINDS, createRowBuilder, KIND_OF } from './kinds/index.js';
import type { CaptureKind, RowBuilder } from './kinds/index.js';
import { acquireLock, releaseLock } from './lock.js';
import {
  FLUSHED,
  groupName,
  layoutFiles,
  LOCK,
  MANIFEST,
  PARQUET_EXT,
  partitionDir,
  relativePath,
  SEGMENT_EXT,
  utcDate,
} from './layout.js';
import { emptyManifest, fileMetaOf, hasCaptureData, instrumentToJson, readManifest, writeManifest } from './manifest.js';
import type { FileEntry, Manifest, SessionEntry, SourceFile } from './manifest.js';
import { describeOverlap, importOverlap, removeSessions } from './sessions.js';
import { gapEntry, isDataLoss, MAX_GAP_ENTRIES } from './gaps.js';
import { chunkTrailer, segmentHeader } from './segment.js';
import { repairCapture } from './repair.js';
import type { RepairReport } from './repair.js';

export interface CaptureWriterOptions {
  /** The feed (venue or provider name) being recorded. */
  readonly feed: string;
  readonly symbols: readonly string[];
  readonly instruments?: Iterable<Instrument>;
  /** How the feed numbers its messages, per venue (default: `contiguous` for the feed): kept in the manifest for `mdcap verify`. */
  readonly sequencing?: Readonly<Record<string, SequenceRule>>;
  /** The recording's clock: session start, and the flush timer. */
  readonly clock: Clock;
  /** Buffered rows reach the segment files at least this often (default 1000 ms). */
  readonly flushMs?: number;
  /** Rotate segments (and finalize them to Parquet) when ts_recv crosses a multiple of this (default 60 s). */
  readonly rotateNs?: bigint;
  /** …or when a rotation group holds this many rows (default 4,000,000). */
  readonly rotateRows?: number;
  /** fdatasync segments after each flush (default true): survives power loss, not only a killed process. */
  readonly fsync?: boolean;
  /** Finalize Parquet on a worker thread (default) or inline. */
  readonly finalize?: FinalizeMode;
  /**
   * The first write failure (disk full, permissions, a segment that fails its checksum before
   * finalization). From then on the writer writes nothing more (`write` returns false); `close`
   * leaves the session for repair and throws a complete account of what happened.
   */
  readonly onError?: (error: CaptureError) => void;
  /**
   * An import: where its data starts and the files it comes from. A capture replays in recording
   * order, so an import that starts before the capture ends (or repeats a file already imported)
   * is refused with `MDCAP_ERR_IMPORT_OVERLAP`, unless `replace`: then the sessions it overlaps
   * are removed first. The files are kept in the session entry.
   */
  readonly import?: { readonly start: bigint; readonly sources: readonly SourceFile[]; readonly replace?: boolean };
}

export interface WriterStats {
  readonly events: number;
  /** Rows written to segment files (flushed). */
  readonly rowsFlushed: number;
  readonly bytesFlushed: number;
  /** Parquet files finalized in this session. */
  readonly filesFinalized: number;
  readonly finalizing: number;
  /** ts_recv of the last event flushed to disk, or null. */
  readonly lastFlushedTsRecv: bigint | null;
  /** Rows of flushes that finished on every segment (`.flushed`): what a crash cannot take. */
  readonly rowsConfirmed: number;
  readonly lastConfirmedTsRecv: bigint | null;
  /** Events not written because an earlier write failed. */
  readonly dropped: number;
}

interface Segment {
  readonly kind: CaptureKind;
  readonly venue: string;
  readonly date: string;
  readonly rel: string;
  readonly builder: RowBuilder;
  fd: number;
  /** Bytes of complete chunks in the file. */
  size: number;
  /** The buffered rows' first and last recv_seq and ts_recv (for the chunk's trailer). */
  readonly range: BigInt64Array;
}

/** Flush a segment early once this many rows wait in memory. */
const FLUSH_ROWS = 65_536;

function checkPositive(name: string, v: unknown, integer = true): void {
  const ok = typeof v === 'number' ? v > 0 && (!integer || Number.isInteger(v)) : typeof v === 'bigint' ? v > 0n : false;
  if (!ok)
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `capture ${name}: expected a positive ${integer ? 'integer' : 'number'}, found ${describeValue(v)}`,
    );
}

/**
 * Creates `root` and its missing parents one level at a time (Node's recursive mkdir loops
 * forever under some virtual file systems, such as /proc).
 */
function makeDirs(root: string): string[] {
  const missing: string[] = [];
  for (let dir = resolve(root); !existsSync(dir);) {
    missing.unshift(dir);
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  for (const dir of missing) {
    try {
      mkdirSync(dir);
    } catch (error) {
      throw ioError(`capture ${root}: cannot create the directory ${dir}`, error);
    }
  }
  if (!statSync(root).isDirectory()) throw new CaptureError('MDCAP_ERR_IO', `capture ${root}: expected a directory, found a file`);
  return missing;
}

function ioError(what: string, error: unknown): CaptureError {
  if (error instanceof CaptureError) return error;
  return new CaptureError('MDCAP_ERR_IO', `${what}: ${(error as Error).message}`, { cause: error });
}

/**
 * Records normalized events into a capture root. Each event gets the next `recv_seq` (the
 * capture's arrival counter) and goes into the open segment of its kind, venue and UTC date:
 * an Arrow IPC stream appended with one complete chunk per flush. Flushes happen at least every
 * `flushMs`; segments rotate together on time or size and are finalized to Parquet on a worker
 * thread, then listed in the manifest and deleted. A crash loses at most the unflushed rows;
 * the next `open` (or `mdcap verify --repair`) cuts torn tails, finalizes what was flushed and
 * records the loss as a `gap` status.
 */
export class CaptureWriter {
  private readonly segments = new Map<string, Segment>();
  private readonly finalizer: Finalizer;
  private readonly finalizing = new Set<Promise<void>>();
  private next: bigint;
  private groupName = '';
  private groupEnd = -(2n ** 63n);
  private groupRows = 0;
  private timer: number | null = null;
  private closed = false;
  private counters = {
    events: 0,
    rowsFlushed: 0,
    bytesFlushed: 0,
    filesFinalized: 0,
    lastFlushedTsRecv: null as bigint | null,
    rowsConfirmed: 0,
    lastConfirmedTsRecv: null as bigint | null,
    dropped: 0,
  };
  private failure: CaptureError | null = null;
  private readonly session: SessionEntry;
  private lastTsRecv: bigint | null = null;
  private readonly flushNs: bigint;
  private readonly rotateNs: bigint;
  private readonly rotateRows: number;
  private readonly fsync: boolean;
  /** `.flushed`: the recv_seq below which every row of this session is on disk (see flush). */
  private readonly markFd: number;

  private constructor(
    readonly root: string,
    private readonly manifest: Manifest,
    private readonly options: CaptureWriterOptions,
    /** What the open-time repair found (torn segments of an earlier, interrupted session). */
    readonly repaired: RepairReport,
    /** Sessions an import replaced (see `import.replace`). */
    readonly replaced: readonly SessionEntry[],
    /** How the capture was before this session: what `abort` puts back (null: it did not exist). */
    private readonly before: { readonly manifest: string | null; readonly createdDirs: readonly string[] },
  ) {
    this.finalizer = new Finalizer(options.finalize ?? 'worker');
    this.flushNs = BigInt(options.flushMs ?? 1000) * 1_000_000n;
    this.rotateNs = options.rotateNs ?? 60_000_000_000n;
    this.rotateRows = options.rotateRows ?? 4_000_000;
    this.fsync = options.fsync ?? true;
    this.next = BigInt(manifest.nextRecvSeq);
    const now = options.clock.now();
    this.session = {
      id: [...manifest.sessions, ...replaced].reduce((max, s) => Math.max(max, s.id), 0) + 1, // ids are never reused
      feed: options.feed,
      symbols: [...options.symbols],
      start: now.toString(),
      end: null,
      clean: false,
      firstRecvSeq: this.next.toString(),
      lastRecvSeq: null,
      ...(options.import === undefined ? {} : { sources: options.import.sources }),
    };
    manifest.sessions.push(this.session);
    for (const s of options.symbols) if (!manifest.symbols.includes(s)) manifest.symbols.push(s);
    Object.assign(manifest.sequencing, options.sequencing ?? { [options.feed]: manifest.sequencing[options.feed] ?? 'contiguous' });
    for (const i of options.instruments ?? []) {
      if (!manifest.instruments.some((x) => x.venue === i.venue && x.symbol === i.symbol)) manifest.instruments.push(instrumentToJson(i));
    }
    writeManifest(root, manifest);
    this.markFd = openSync(join(root, FLUSHED), 'w');
    this.writeMark(); // nothing of this session is confirmed yet
    this.scheduleFlush();
  }

  /**
   * Opens (or creates) a capture root for recording: takes the lock, repairs what an interrupted
   * session left, and starts a new session.
   * @throws {CaptureError} `MDCAP_ERR_CAPTURE_LOCKED` if another live recorder holds the root,
   *   `MDCAP_ERR_CAPTURE_SCHEMA` for a manifest from a newer mdcap, `MDCAP_ERR_IO`.
   */
  static async open(root: string, options: CaptureWriterOptions): Promise<CaptureWriter> {
    checkPositive('flushMs', options.flushMs ?? 1000);
    checkPositive('rotateNs', options.rotateNs ?? 60_000_000_000n);
    checkPositive('rotateRows', options.rotateRows ?? 4_000_000);
    const createdDirs = makeDirs(root);
    const exists = existsSync(join(root, MANIFEST));
    if (!exists) {
      const other = readdirSync(root).filter((f) => f !== LOCK);
      if (other.length > 0) {
        const hint = hasCaptureData(root) ? ': its files are there (mdcap verify --repair rebuilds the manifest from them)' : '';
        throw new CaptureError(
          'MDCAP_ERR_CAPTURE_NOT_FOUND',
          `capture ${root}: expected an empty directory or an mdcap capture to add to, found ${other.length} other entr${other.length === 1 ? 'y' : 'ies'} (${other.slice(0, 3).join(', ')}) and no ${MANIFEST}${hint}`,
          { details: { root } },
        );
      }
    }
    acquireLock(root, 'recording');
    try {
      const manifest = exists ? readManifest(root) : emptyManifest(options.feed, options.symbols, new Date().toISOString());
      if (manifest.feed !== options.feed) {
        throw new ConfigError(
          'MDCAP_ERR_INVALID_OPTION',
          `capture ${root}: expected a recording of feed ${describeValue(manifest.feed)} to add a session to, found feed ${describeValue(options.feed)} (record into another directory)`,
        );
      }
      const repaired = await repairCapture(root, manifest, new Finalizer(options.finalize ?? 'worker'));
      const replaced: SessionEntry[] = [];
      if (options.import !== undefined) {
        const overlap = importOverlap(manifest, options.import.start, options.import.sources);
        if (overlap !== null && options.import.replace !== true) {
          throw new CaptureError(
            'MDCAP_ERR_IMPORT_OVERLAP',
            `capture ${root}: expected data that starts after what the capture holds (it replays in recording order), found an import starting at ${nsToIso(options.import.start)} where ${describeOverlap(overlap)} (--replace replaces those sessions; or import into another directory)`,
            { details: { sessions: [...new Set([...overlap.later, ...overlap.sameFile.map((x) => x.session)])].map((x) => x.id) } },
          );
        }
        if (overlap !== null) {
          for (const x of [...overlap.later, ...overlap.sameFile.map((y) => y.session)]) if (!replaced.includes(x)) replaced.push(x);
          removeSessions(root, manifest, new Set(replaced.map((x) => x.id)));
          writeManifest(root, manifest);
        }
      }
      const before = { manifest: exists ? JSON.stringify(manifest) : null, createdDirs };
      return new CaptureWriter(root, manifest, options, repaired, replaced, before);
    } catch (error) {
      releaseLock(root);
      throw error;
    }
  }

  /**
   * Records one event (the engine's `onEvent` stream, in dispatch order). Returns false, writing
   * nothing, once a write has failed (see {@link failed}): a recording stops at its first failure
   * rather than half-write what follows.
   */
  write(e: MarketEvent): boolean {
    if (this.closed) throw new CaptureError('MDCAP_ERR_IO', `capture ${this.root}: write after close`);
    if (this.failure !== null) {
      this.counters.dropped++;
      return false;
    }
    try {
      this.append(e);
    } catch (error) {
      this.fail(error, `capture ${this.root}: writing failed`);
      this.counters.dropped++;
      return false;
    }
    return this.failure === null;
  }

  /** The first write failure, or null (see CaptureWriterOptions.onError). */
  get failed(): CaptureError | null {
    return this.failure;
  }

  private fail(error: unknown, what: string): void {
    if (this.failure !== null) return;
    this.failure = ioError(what, error);
    this.options.onError?.(this.failure);
  }

  private append(e: MarketEvent): void {
    const ts = e.tsRecv;
    if (ts >= this.groupEnd || this.groupRows >= this.rotateRows) this.rotate(ts);
    const rs = this.next++;
    const kind = KIND_OF[e.type];
    const key = `${kind}\u0000${e.venue}`;
    let seg = this.segments.get(key);
    if (seg === undefined) seg = this.openSegment(kind, e.venue, utcDate(ts));
    const range = seg.range;
    if (seg.builder.rows === 0) {
      range[0] = rs;
      range[2] = ts;
    }
    range[1] = rs;
    range[3] = ts;
    seg.builder.append(e, rs);
    this.groupRows++;
    this.counters.events++;
    this.lastTsRecv = ts;
    if (e.type === 'status') this.noteGap(e);
    if (seg.builder.rows >= FLUSH_ROWS) this.flush();
  }

  private noteGap(e: Extract<MarketEvent, { type: 'status' }>): void {
    if (!isDataLoss(e) || this.manifest.gaps.length >= MAX_GAP_ENTRIES) return;
    this.manifest.gaps.push(gapEntry(e));
  }

  private openSegment(kind: CaptureKind, venue: string, date: string): Segment {
    const dir = partitionDir(this.root, kind, venue, date);
    const rel = relativePath(kind, venue, date, this.groupName, SEGMENT_EXT);
    try {
      mkdirSync(dir, { recursive: true });
      const path = join(this.root, rel);
      const fd = openSync(path, 'a');
      let size = fstatSync(fd).size;
      if (size === 0) size += writeSync(fd, segmentHeader(), 0, undefined, 0);
      const seg: Segment = { kind, venue, date, rel, builder: createRowBuilder(kind), fd, size, range: new BigInt64Array(4) };
      this.segments.set(`${kind}\u0000${venue}`, seg);
      return seg;
    } catch (error) {
      throw ioError(`capture ${join(this.root, rel)}: cannot open the segment`, error);
    }
  }

  /** Starts a new rotation group at an event stamped `ts`. */
  private rotate(ts: bigint): void {
    this.closeGroup();
    this.groupName = groupName(this.next);
    const r = this.rotateNs;
    const q = ts / r - (ts % r < 0n ? 1n : 0n);
    const nextBoundary = (q + 1n) * r;
    const day = 86_400_000_000_000n;
    const midnight = (ts / day + 1n) * day;
    this.groupEnd = nextBoundary < midnight ? nextBoundary : midnight; // a group never spans two dates
    this.groupRows = 0;
  }

  /**
   * Flushes and closes the open segments, and queues them for finalization. `session`: the
   * session entry the files carry (at close, as it will be once closed).
   */
  private closeGroup(session: SessionEntry = this.session): void {
    this.flush();
    const meta = fileMetaOf(this.manifest, this.groupName, { ...session });
    for (const seg of this.segments.values()) {
      closeSync(seg.fd);
      if (this.failure !== null) continue; // left for repair, which finalizes what was flushed
      const job = this.finalizer
        .run(this.root, seg.rel, seg.kind, meta)
        .then((entry) => this.finalized(seg.rel, entry))
        .catch((error: unknown) => this.fail(error, `capture ${join(this.root, seg.rel)}: finalizing failed`))
        .finally(() => this.finalizing.delete(job));
      this.finalizing.add(job);
    }
    this.segments.clear();
  }

  /** Lists a finalized file (errors go to the `.catch` of its job, then `onError`). */
  private finalized(rel: string, entry: FileEntry): void {
    const files = this.manifest.files;
    const at = files.findIndex((f) => f.path === entry.path);
    if (at >= 0) files[at] = entry;
    else files.push(entry);
    this.counters.filesFinalized++;
    writeManifest(this.root, this.manifest);
    // Only now, with the Parquet file listed, is the segment redundant.
    unlinkSync(join(this.root, rel));
  }

  /**
   * Writes every buffered row to its segment file now, then confirms them: `.flushed` records
   * the next recv_seq, so every row below it is on disk in every segment. A crash during a flush
   * leaves some segments with the new chunk and some without; repair drops the unconfirmed
   * chunks, so a crash always loses a suffix of the stream (at most one flush window), never
   * rows from the middle.
   */
  flush(): void {
    if (this.failure !== null) return;
    try {
      let wrote = false;
      for (const seg of this.segments.values()) wrote = this.flushSegment(seg) || wrote;
      if (wrote) {
        this.writeMark();
        this.counters.rowsConfirmed = this.counters.rowsFlushed;
        this.counters.lastConfirmedTsRecv = this.counters.lastFlushedTsRecv;
      }
    } catch (error) {
      this.fail(error, `capture ${this.root}: flush failed`);
    }
  }

  private writeMark(): void {
    try {
      writeSync(this.markFd, `${this.session.id} ${this.next}`.padEnd(48), 0);
      if (this.fsync) fdatasyncSync(this.markFd);
    } catch (error) {
      throw ioError(`capture ${join(this.root, FLUSHED)}: writing failed`, error);
    }
  }

  private flushSegment(seg: Segment): boolean {
    const rows = seg.builder.rows;
    if (rows === 0) return false;
    const ipc = tableToIPC(seg.builder.table(), 'stream');
    const r = seg.range;
    const trailer = chunkTrailer(ipc, rows, [BigInt.asUintN(64, r[0]!), BigInt.asUintN(64, r[1]!)], [r[2]!, r[3]!]);
    const total = ipc.byteLength + trailer.byteLength;
    try {
      // One write for the chunk and its trailer (a short write is continued at the same place).
      let off = writevSync(seg.fd, [ipc, trailer], seg.size);
      while (off < total) {
        off +=
          off < ipc.byteLength
            ? writeSync(seg.fd, ipc, off, ipc.byteLength - off, seg.size + off)
            : writeSync(seg.fd, trailer, off - ipc.byteLength, total - off, seg.size + off);
      }
      if (this.fsync) fdatasyncSync(seg.fd);
    } catch (error) {
      // A partly written chunk would hide every later chunk from a reader: cut it off again.
      try {
        ftruncateSync(seg.fd, seg.size);
      } catch {
        // repair cuts it at the next open
      }
      throw ioError(`capture ${join(this.root, seg.rel)}: writing failed`, error);
    }
    seg.size += total;
    seg.builder.reset();
    this.counters.rowsFlushed += rows;
    this.counters.bytesFlushed += total;
    this.counters.lastFlushedTsRecv = this.lastTsRecv;
    return true;
  }

  private scheduleFlush(): void {
    if (this.closed) return;
    const clock = this.options.clock;
    this.timer = clock.setTimer(clock.now() + this.flushNs, () => {
      this.timer = null;
      this.flush();
      if (this.failure === null) this.scheduleFlush();
    });
  }

  /** The id of the recording session this writer appends (1 for a new capture). */
  get sessionId(): number {
    return this.session.id;
  }

  /**
   * Adds instruments learned while recording (a venue whose scales come with its data) to the
   * manifest; it is written at the next flush or at close.
   */
  noteInstruments(instruments: Iterable<Instrument>): void {
    for (const i of instruments) {
      if (!this.manifest.instruments.some((x) => x.venue === i.venue && x.symbol === i.symbol))
        this.manifest.instruments.push(instrumentToJson(i));
    }
  }

  /** Keeps the feed's own counters at the end of the session (see {@link SessionEntry.feedCounters}); written at close. */
  noteFeedCounters(counters: Readonly<Record<string, number>>): void {
    this.session.feedCounters = counters;
  }

  /** Adds symbols found in the data (an import that learns them as it goes) to the manifest. */
  noteSymbols(symbols: Iterable<string>): void {
    for (const s of symbols) {
      if (!this.manifest.symbols.includes(s)) this.manifest.symbols.push(s);
      if (!this.session.symbols.includes(s)) (this.session.symbols as string[]).push(s);
    }
  }

  /**
   * Flushes, finalizes every open segment, waits for all finalizations, and closes the session
   * at `end` (the engine's `finishedAt`; the replay ends its clock there).
   * @throws {CaptureError} after a write failure (see {@link failed}): the session is left open
   *   for repair, what was flushed before the failure stays, and the message says what happened
   *   and what to run.
   */
  async close(end: bigint = this.options.clock.now()): Promise<Manifest> {
    if (this.closed) return this.manifest;
    this.closed = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    this.closeGroup({ ...this.session, end: end.toString(), clean: true, lastRecvSeq: (this.next - 1n).toString() });
    await Promise.all([...this.finalizing]);
    await this.finalizer.close();
    if (this.failure !== null) throw this.leaveForRepair(this.failure);
    this.session.end = end.toString();
    this.session.clean = true;
    this.session.lastRecvSeq = (this.next - 1n).toString();
    this.manifest.nextRecvSeq = this.next.toString();
    writeManifest(this.root, this.manifest);
    closeSync(this.markFd);
    unlinkSync(join(this.root, FLUSHED)); // a clean end: nothing to repair
    releaseLock(this.root);
    return this.manifest;
  }

  /**
   * `await using writer = await CaptureWriter.open(…)`: closes it at the end of the scope (as
   * `close()`; a write failure is thrown from there too).
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * After a write failure: the session stays open (repair closes it as interrupted, keeping
   * everything that was flushed and confirmed), the lock is released, and the error says so.
   */
  private leaveForRepair(failure: CaptureError): CaptureError {
    try {
      writeManifest(this.root, this.manifest); // the files finalized before the failure (best effort: the disk may be full)
    } catch {
      // the last manifest written lists them too, but for the last one
    }
    closeSync(this.markFd); // `.flushed` stays: it is what repair keeps
    releaseLock(this.root);
    const w = this.counters;
    const kept =
      w.lastConfirmedTsRecv === null
        ? 'nothing of this session had reached the disk'
        : `${w.rowsConfirmed.toLocaleString('en-US')} events up to ${nsToIso(w.lastConfirmedTsRecv)} had reached the disk and are kept`;
    return new CaptureError(
      failure.code,
      `${failure.message}; the recording stopped there: ${kept}. Fix the cause (free disk space, permissions), then run mdcap verify --repair ${this.root} (or record into it again) to finalize what was kept and record the loss as a gap`,
      { cause: failure, details: { root: this.root, rowsConfirmed: w.rowsConfirmed } },
    );
  }

  /**
   * Gives up this session (a failed import that must not leave half of itself behind): its files
   * are deleted, the manifest goes back to what it was before the session (a capture this writer
   * created is removed again), and the lock is released. What earlier sessions hold is untouched.
   */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== null) this.options.clock.clearTimer(this.timer);
    for (const seg of this.segments.values()) closeSync(seg.fd);
    this.segments.clear();
    await Promise.all([...this.finalizing]);
    await this.finalizer.close();
    const first = BigInt(this.session.firstRecvSeq);
    for (const ext of [PARQUET_EXT, SEGMENT_EXT]) {
      for (const f of layoutFiles(this.root, ext)) {
        const group = f.rel.slice(f.rel.lastIndexOf('/') + 1, -ext.length);
        if (BigInt(group.slice(1)) >= first) unlinkSync(join(this.root, f.rel));
      }
    }
    closeSync(this.markFd);
    unlinkSync(join(this.root, FLUSHED));
    if (this.before.manifest !== null) {
      writeManifest(this.root, JSON.parse(this.before.manifest) as Manifest);
    } else {
      // The capture did not exist: leave the directory as it was.
      unlinkSync(join(this.root, MANIFEST));
      for (const kind of CAPTURE_KINDS) rmSync(join(this.root, kind), { recursive: true, force: true });
    }
    releaseLock(this.root);
    for (const dir of [...this.before.createdDirs].reverse()) rmdirSync(dir);
  }

  stats(): WriterStats {
    return { ...this.counters, finalizing: this.finalizing.size };
  }
}

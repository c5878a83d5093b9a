import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CaptureError, describeValue } from '@mdcap/core';
import type { Instrument, SequenceRule } from '@mdcap/core';
import { CAPTURE_KINDS, SCHEMA_VERSION } from './kinds/index.js';
import type { CaptureKind } from './kinds/index.js';
import { MANIFEST } from './layout.js';
import type { FileMeta } from './finalize.js';

/**
 * The manifest of a capture root (`manifest.json`): what was recorded, when, and every finalized
 * file with its row count, sha256 and per-row-group statistics (time range, recv_seq range,
 * symbols), which readers use to skip row groups. 64-bit values are decimal strings.
 * It is replaced atomically (temp file, fsync, rename) after every change.
 */

export const WRITER_NAME = 'mdcap';
export const WRITER_VERSION = '0.1.0';

export interface RowGroupStats {
  readonly rows: number;
  readonly tsRecvMin: string;
  readonly tsRecvMax: string;
  readonly recvSeqMin: string;
  readonly recvSeqMax: string;
  readonly symbols: readonly string[];
}

export interface FileEntry {
  readonly kind: CaptureKind;
  readonly venue: string;
  readonly date: string;
  /** Rotation group name (`g` + first recv_seq). */
  readonly group: string;
  /** Path relative to the root, `/`-separated. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
  readonly tsRecvMin: string;
  readonly tsRecvMax: string;
  readonly recvSeqMin: string;
  readonly recvSeqMax: string;
  readonly rowGroups: readonly RowGroupStats[];
}

export interface SessionEntry {
  readonly id: number;
  readonly feed: string;
  readonly symbols: readonly string[];
  /** ns since the epoch, when recording started. */
  readonly start: string;
  /** When recording stopped (the engine's `finishedAt`); null while recording or after a crash until repaired. */
  end: string | null;
  /** False if the session was interrupted (a crash) and repaired. */
  clean: boolean;
  readonly firstRecvSeq: string;
  lastRecvSeq: string | null;
  /** Imports: the files the session was imported from (so the same file is not imported twice). */
  readonly sources?: readonly SourceFile[];
  /**
   * The feed's own counters at the end of the session, where it keeps some (CME: packets per
   * line, duplicates of the other line, corrupt packets, lost packets, recoveries): what happened
   * on the wire that the events do not show, for `mdcap verify`. Names are the feed's.
   */
  feedCounters?: Readonly<Record<string, number>>;
  /**
   * Paper trading while recording: the simulated venue's fills, order updates and equity curve
   * of the session, as Parquet files beside the kinds (see `addSessionExecutions`).
   */
  executions?: readonly ExecutionFile[];
}

/** A table of what a paper-trading strategy's simulated venue did in a session. */
export type ExecutionTable = 'fills' | 'orders' | 'equity';

export interface ExecutionFile {
  readonly table: ExecutionTable;
  /** Relative to the capture root: `executions/session-<id>/<table>.parquet`. */
  readonly path: string;
  readonly rows: number;
  readonly bytes: number;
  readonly sha256: string;
}

/** A file a session was imported from. */
export interface SourceFile {
  /** Its name as given (a path or a base name). */
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
}

export interface GapEntry {
  readonly venue: string;
  readonly symbol: string;
  readonly tsRecv: string;
  readonly kind: string;
  readonly fromSeq: string | null;
  readonly toSeq: string | null;
  readonly detail: string;
}

export interface InstrumentEntry {
  readonly venue: string;
  readonly symbol: string;
  readonly priceScale: number;
  readonly sizeScale: number;
  readonly [key: string]: unknown;
}

export interface Manifest {
  readonly format: 'mdcap-capture';
  readonly schemaVersion: number;
  readonly writer: { readonly name: string; readonly version: string };
  readonly created: string;
  feed: string;
  symbols: string[];
  instruments: InstrumentEntry[];
  sessions: SessionEntry[];
  files: FileEntry[];
  /** Gap, resync, disconnect and failed-checksum statuses recorded (a summary for inspect). */
  gaps: GapEntry[];
  /** The next recv_seq to assign: recv_seq is unique and increasing across every session. */
  nextRecvSeq: string;
  /** How each venue of the capture numbers its messages (what `mdcap verify` checks), as its feed said. */
  sequencing: Record<string, SequenceRule>;
}

/**
 * Manifests written before the rule was kept in them: the rules of the venues mdcap recorded
 * then (Databento datasets are named like GLBX.MDP3). Everything else was `contiguous`.
 */
export function inferSequencing(m: Manifest): Record<string, SequenceRule> {
  const out: Record<string, SequenceRule> = {};
  const venues = new Set([m.feed, ...m.files.map((f) => f.venue)]);
  for (const v of venues)
    out[v] = v === 'binance' || v === 'coinbase' || /^[A-Z0-9]+\.[A-Z0-9]+$/.test(v) ? 'monotonic-per-kind' : 'contiguous';
  return out;
}

export function emptyManifest(feed: string, symbols: readonly string[], created: string): Manifest {
  return {
    format: 'mdcap-capture',
    schemaVersion: SCHEMA_VERSION,
    writer: { name: WRITER_NAME, version: WRITER_VERSION },
    created,
    feed,
    symbols: [...symbols],
    instruments: [],
    sessions: [],
    files: [],
    gaps: [],
    nextRecvSeq: '1',
    sequencing: {},
  };
}

/** Whether `dir` holds an mdcap capture manifest. */
function isCaptureRoot(dir: string): boolean {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as { format?: unknown } | null;
    return m?.format === 'mdcap-capture';
  } catch {
    return false;
  }
}

/**
 * The capture `dir` lies in: `dir` itself or its nearest ancestor holding an mdcap manifest, or
 * null. Give a resolved path (symlinks followed) to ask where a write would really land.
 */
export function captureContaining(dir: string): string | null {
  for (let d = dir; ; d = dirname(d)) {
    if (isCaptureRoot(d)) return d;
    if (dirname(d) === d) return null;
  }
}

export function instrumentToJson(i: Instrument): InstrumentEntry {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(i)) out[k] = typeof v === 'bigint' ? v.toString() : v;
  return out as unknown as InstrumentEntry;
}

const BIGINT_INSTRUMENT_FIELDS = new Set(['tickSize', 'lotSize', 'minSize', 'expiry', 'instrumentId']);

export function instrumentFromJson(e: InstrumentEntry): Instrument {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) out[k] = BIGINT_INSTRUMENT_FIELDS.has(k) && typeof v === 'string' ? BigInt(v) : v;
  return out as unknown as Instrument;
}

/** True if `root` holds capture data (kind directories, with Parquet files or segments). */
export function hasCaptureData(root: string): boolean {
  return CAPTURE_KINDS.some((k) => existsSync(join(root, k)) && statSync(join(root, k)).isDirectory());
}

/** The hint for a manifest that is gone while the capture's files are there. */
function rebuildHint(root: string): string {
  return hasCaptureData(root) ? ' (its files are there: mdcap verify --repair rebuilds the manifest from them)' : '';
}

/**
 * The time a capture covers: its first session's start, and the latest of its sessions' ends
 * and its files' last tsRecv (ns); null where it has none (no session; nothing recorded yet).
 */
export function captureSpan(m: Manifest): { start: bigint | null; end: bigint | null } {
  const start = m.sessions.length === 0 ? null : BigInt(m.sessions[0]!.start);
  let end: bigint | null = null;
  for (const t of [...m.sessions.map((x) => x.end), ...m.files.map((f) => f.tsRecvMax)]) {
    if (t !== null && (end === null || BigInt(t) > end)) end = BigInt(t);
  }
  return { start, end };
}

/**
 * Reads and checks the manifest of `root`.
 * @throws {CaptureError} `MDCAP_ERR_CAPTURE_NOT_FOUND` if there is none, `MDCAP_ERR_CAPTURE_SCHEMA`
 *   for a newer or foreign format, `MDCAP_ERR_CAPTURE_CORRUPT` if it is not valid JSON.
 */
export function readManifest(root: string): Manifest {
  const path = join(root, MANIFEST);
  if (!existsSync(root)) {
    throw new CaptureError('MDCAP_ERR_CAPTURE_NOT_FOUND', `capture ${root}: expected a capture directory, found nothing at that path`, {
      details: { root },
    });
  }
  if (!existsSync(path)) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_NOT_FOUND',
      `capture ${root}: expected ${MANIFEST} (written by mdcap record), found none${rebuildHint(root)}`,
      {
        details: { root },
      },
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_CORRUPT',
      `${path}: expected JSON, found unreadable text (${(error as Error).message})${rebuildHint(root)}`,
      {
        cause: error,
      },
    );
  }
  const m = parsed as Partial<Manifest>;
  if (typeof m !== 'object' || m === null || m.format !== 'mdcap-capture') {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_SCHEMA',
      `${path}: expected an mdcap capture manifest, found format ${describeValue(m?.format)}${rebuildHint(root)}`,
    );
  }
  if (typeof m.schemaVersion !== 'number' || m.schemaVersion > SCHEMA_VERSION || m.schemaVersion < 1) {
    throw new CaptureError(
      'MDCAP_ERR_CAPTURE_SCHEMA',
      `${path}: expected schema version ${SCHEMA_VERSION} or older, found ${describeValue(m.schemaVersion)} (written by ${m.writer?.name ?? '?'} ${m.writer?.version ?? '?'}; upgrade mdcap to read it)`,
    );
  }
  for (const f of m.files ?? []) {
    if (!CAPTURE_KINDS.includes(f.kind)) {
      throw new CaptureError(
        'MDCAP_ERR_CAPTURE_CORRUPT',
        `${path}: file ${describeValue(f.path)} has unknown kind ${describeValue(f.kind)}`,
      );
    }
  }
  const manifest = m as Manifest;
  manifest.sequencing ??= inferSequencing(manifest);
  return manifest;
}

/** Writes the manifest atomically: a reader sees the old one or the new one, never half of one. */
export function writeManifest(root: string, m: Manifest): void {
  const path = join(root, MANIFEST);
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, `${JSON.stringify(m, null, 1)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}

/** The session that wrote the group `g<first recv_seq>` (the last one that started at or before it). */
export function sessionOfGroup(m: Manifest, group: string): SessionEntry | undefined {
  const first = BigInt(group.slice(1));
  let found: SessionEntry | undefined;
  for (const s of m.sessions) if (BigInt(s.firstRecvSeq) <= first) found = s;
  return found;
}

/** What a file of `group` carries about its capture (see FileMeta). */
export function fileMetaOf(m: Manifest, group: string, session: SessionEntry | undefined = sessionOfGroup(m, group)): FileMeta {
  return {
    capture: { created: m.created, feed: m.feed, sequencing: m.sequencing },
    ...(session === undefined ? {} : { session }),
    instruments: m.instruments,
  };
}

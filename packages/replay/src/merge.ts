import type { CaptureFile, CaptureSource, DecodedBatch, ReadFilter } from '@mdcap/capture';

/**
 * Merges the files of one rotation group into replay order. Within a capture, replay order is
 * `recv_seq` (the arrival counter the writer assigned, which follows ts_recv); the group's files
 * hold disjoint subsets of it, so the next row is simply the one whose recv_seq is smallest among
 * the heads of the (few) files. The values compared are plain numbers read from the uint64
 * column's 32-bit halves where they are needed, so the merge allocates nothing per row (and
 * reads nothing per row of a file that has the group to itself).
 */

interface Cursor {
  readonly file: CaptureFile;
  readonly iterator: AsyncGenerator<DecodedBatch>;
  batch: DecodedBatch | null;
  /** The batch's recv_seq column as 32-bit halves (see {@link seqAt}). */
  seqs: Uint32Array;
  i: number;
  /** The next batch, already being read and decoded (decoding runs ahead of dispatch). */
  next: Promise<IteratorResult<DecodedBatch>> | null;
}

function seqWords(b: DecodedBatch): Uint32Array {
  return new Uint32Array(b.recvSeq.buffer, b.recvSeq.byteOffset, b.recvSeq.length * 2);
}

/** Row i's recv_seq as a number (exact: a capture numbers far fewer than 2^53 rows); NaN past the end. */
function seqAt(words: Uint32Array, i: number): number {
  return words[2 * i]! + words[2 * i + 1]! * 4294967296;
}

/**
 * The next batch of a file, asked for before it is needed. Marked as handled: when the merger is
 * closed before it is awaited (a seek, a stop, another file's error), its failure is not an
 * unhandled rejection; when it is awaited, the error comes out there as usual.
 */
function readAhead(it: AsyncGenerator<DecodedBatch>): Promise<IteratorResult<DecodedBatch>> {
  const p = it.next();
  p.catch(() => undefined);
  return p;
}

export class GroupMerger {
  private readonly cursors: Cursor[];

  /** Aborted when the group is left: batches asked for ahead and not decoded yet are dropped. */
  private readonly reads = new AbortController();

  constructor(reader: CaptureSource, files: readonly CaptureFile[], filter: ReadFilter) {
    const f = { ...filter, signal: this.reads.signal };
    this.cursors = files.map((file) => ({
      file,
      iterator: reader.batches(file, f),
      batch: null,
      seqs: new Uint32Array(0),
      i: 0,
      next: null,
    }));
  }

  /** Loads the first batch of every file. */
  async start(): Promise<void> {
    for (const c of this.cursors) {
      c.next = readAhead(c.iterator);
      await this.advance(c);
    }
  }

  private async advance(c: Cursor): Promise<void> {
    const r = await c.next!;
    if (r.done === true) {
      c.batch = null;
      c.next = null;
      return;
    }
    c.batch = r.value;
    c.seqs = seqWords(r.value);
    c.i = 0;
    c.next = readAhead(c.iterator); // read ahead while this batch is dispatched
    if (c.batch.length === 0) await this.advance(c);
  }

  /** Rows `runStart` to `runEnd` (exclusive) of the batch the last {@link takeRun} returned. */
  runStart = 0;
  runEnd = 0;

  /**
   * The next run of rows in replay order: a stretch of one batch that comes before every other
   * file's next row. Returns its batch (the rows are `runStart`..`runEnd`), or null when the
   * group is exhausted. Runs are long when one kind dominates, one row when kinds alternate.
   */
  async takeRun(): Promise<DecodedBatch | null> {
    for (;;) {
      const b = this.takeRunNow();
      if (b !== undefined) return b;
      // A file's batch is used up: its next one (decoded ahead, usually there already).
      if (this.exhausted !== null) {
        const c = this.exhausted;
        this.exhausted = null;
        await this.advance(c);
      }
    }
  }

  /** The next run if its batch is at hand, null at the end, or undefined when a file needs its next batch first. */
  private takeRunNow(): DecodedBatch | null | undefined {
    if (this.exhausted !== null) return undefined;
    const cs = this.cursors;
    for (;;) {
      let best: Cursor | null = null;
      let bestSeq = Infinity;
      let limit = Infinity;
      for (let k = 0; k < cs.length; k++) {
        const c = cs[k]!;
        if (c.batch === null) continue;
        const s = seqAt(c.seqs, c.i);
        if (s < bestSeq) {
          limit = bestSeq;
          bestSeq = s;
          best = c;
        } else if (s < limit) {
          limit = s;
        }
      }
      if (best === null) return null;
      const b = best.batch!;
      if (best.i >= b.length) {
        this.exhausted = best;
        return undefined;
      }
      const seqs = best.seqs;
      const end = b.length;
      let i = best.i;
      this.runStart = i;
      if (limit === Infinity) i = end;
      else while (i < end && seqAt(seqs, i) < limit) i++;
      this.runEnd = i;
      best.i = i;
      if (i >= end) this.exhausted = best; // advanced on the next call, once the run is dispatched
      return b;
    }
  }

  private exhausted: Cursor | null = null;

  /** Stops reading ahead at once (the decode thread drops what it was asked for ahead); {@link close} still follows. */
  stopReading(): void {
    this.reads.abort();
  }

  async close(): Promise<void> {
    this.stopReading();
    for (const c of this.cursors) await c.iterator.return(undefined);
  }
}

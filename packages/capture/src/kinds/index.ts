import type { RecordBatch } from 'apache-arrow';
import { decodeHead, isValid } from './common.js';
import type { CaptureKind, DecodedBatch, RowBuilder } from './common.js';
import { TradeBuilder, decodeTrades } from './trades.js';
import { QuoteBuilder, decodeQuotes } from './quotes.js';
import { BookBuilder, decodeBookUpdates } from './book-updates.js';
import { OrderBuilder, decodeOrderUpdates } from './order-updates.js';
import { StatusBuilder, decodeStatuses } from './status.js';
import { BarBuilder, decodeBars } from './bars.js';

export { CAPTURE_KINDS, KIND_OF, SCHEMA_VERSION } from './common.js';
export type { CaptureKind, DecodedBatch, DecodedHead, RowBuilder } from './common.js';

/** A row builder of `kind`: events in, an Arrow table out (see common.ts for the columns). */
export function createRowBuilder(kind: CaptureKind): RowBuilder {
  switch (kind) {
    case 'trades':
      return new TradeBuilder();
    case 'quotes':
      return new QuoteBuilder();
    case 'book_updates':
      return new BookBuilder();
    case 'order_updates':
      return new OrderBuilder();
    case 'status':
      return new StatusBuilder();
    case 'bars':
      return new BarBuilder();
  }
}

/** Decodes a record batch of `kind` (from a segment or a Parquet file). */
export function decodeBatch(kind: CaptureKind, batch: RecordBatch): DecodedBatch {
  const h = decodeHead(kind, batch);
  const { seqCol, seq } = h;
  const seqAt =
    seqCol.nullCount === 0 ? (i: number): bigint | null => seq[i]! : (i: number): bigint | null => (isValid(seqCol, i) ? seq[i]! : null);
  switch (kind) {
    case 'trades':
      return decodeTrades(batch, h, seqAt);
    case 'quotes':
      return decodeQuotes(batch, h, seqAt);
    case 'book_updates':
      return decodeBookUpdates(batch, h, seqAt);
    case 'order_updates':
      return decodeOrderUpdates(batch, h, seqAt);
    case 'status':
      return decodeStatuses(batch, h, seqAt);
    case 'bars':
      return decodeBars(batch, h, seqAt);
  }
}

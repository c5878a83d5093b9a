import type { RecordBatch } from 'apache-arrow';
import type { MarketEvent, Status, StatusKind } from '@mdcap/core';
import { BoolColumn, DictColumn, U64Column, Utf8Column } from '../columns.js';
import type { ColumnBuilder } from '../columns.js';
import { BaseBuilder, col, dictStrings, isValid, TextColumn, typed } from './common.js';
import type { DecodedBatch, DecodedHead } from './common.js';

/** The `status` codec: events into Arrow columns (below: back into events). */
export class StatusBuilder extends BaseBuilder {
  readonly kind = 'status';
  private readonly statusKind = new DictColumn();
  private readonly fromSeq = new U64Column(true);
  private readonly toSeq = new U64Column(true);
  private readonly ok = new BoolColumn();
  private readonly detail = new Utf8Column();

  append(e: MarketEvent, recvSeq: bigint): void {
    const s = e as Status;
    this.head(s, recvSeq);
    this.statusKind.push(s.kind);
    this.fromSeq.push(s.fromSeq);
    this.toSeq.push(s.toSeq);
    this.ok.push(s.ok);
    this.detail.push(s.detail);
  }

  protected columns(): Record<string, ColumnBuilder> {
    return { kind: this.statusKind, from_seq: this.fromSeq, to_seq: this.toSeq, ok: this.ok, detail: this.detail };
  }
}

/** Decodes a record batch of `status`. */
export function decodeStatuses(batch: RecordBatch, h: DecodedHead, seqAt: (i: number) => bigint | null): DecodedBatch {
  const { tsRecv, tsEvent, venueCodes, venues, symbolCodes, symbols } = h;
  const kindCol = col(batch, 'kind');
  const kindCodes = typed<Int32Array>(kindCol);
  const kinds = dictStrings(kindCol) as StatusKind[];
  const fromCol = col(batch, 'from_seq');
  const toCol = col(batch, 'to_seq');
  const from = typed<BigUint64Array>(fromCol);
  const to = typed<BigUint64Array>(toCol);
  const okCol = col(batch, 'ok');
  const okBits = okCol.values as Uint8Array;
  const detail = new TextColumn(col(batch, 'detail'));
  return {
    ...h,
    event: (i: number): Status => {
      const j = okCol.offset + i;
      return {
        type: 'status',
        venue: venues[venueCodes[i]!]!,
        symbol: symbols[symbolCodes[i]!]!,
        tsEvent: tsEvent[i]!,
        tsRecv: tsRecv[i]!,
        seq: seqAt(i),
        kind: kinds[kindCodes[i]!]!,
        fromSeq: isValid(fromCol, i) ? from[i]! : null,
        toSeq: isValid(toCol, i) ? to[i]! : null,
        ok: isValid(okCol, i) ? ((okBits[j >> 3]! >> (j & 7)) & 1) === 1 : null,
        detail: detail.at(i) ?? '',
      };
    },
  };
}

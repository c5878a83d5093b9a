import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { formatEventJson } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { decodeBatch, ProtoWriter, writeEvent } from '@mdcap/serve';
import { inCI, REPO_ROOT, simulatedEvents, tempDir } from '@mdcap/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
// The generated reference codec (ts-proto), by path: it is not part of the package's API.
import { EventBatch } from '../src/gen/mdcap/v1/events.js';
import { monotonicNs } from '../src/metrics.js';
import { BatchBuilder } from '../src/subscriber.js';
import type { Event as PbEvent } from '../src/gen/mdcap/v1/events.js';

/**
 * The hand-written encoder and decoder (wire.ts) against the generated codec of the same
 * proto: bytes from one must read back through the other as the very same events.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

const text = fc.string({ maxLength: 40, unit: 'grapheme' });
const price = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
const size = fc.bigInt({ min: 0n, max: INT64_MAX });
const scale = fc.integer({ min: 0, max: 18 });
const ts = fc.bigInt({ min: INT64_MIN, max: INT64_MAX });
const seq = fc.option(fc.bigInt({ min: 0n, max: UINT64_MAX }), { nil: null });
const header = fc.record({ venue: text, symbol: text, tsEvent: ts, tsRecv: ts, seq });
const side = fc.constantFrom('bid' as const, 'ask' as const);
const flags = fc.integer({ min: 0, max: 15 });

const eventArb: fc.Arbitrary<MarketEvent> = fc.oneof(
  fc
    .record({
      h: header,
      price,
      size,
      priceScale: scale,
      sizeScale: scale,
      side: fc.constantFrom('buy' as const, 'sell' as const, 'none' as const),
      tradeId: fc.option(text, { nil: null }),
    })
    .map(({ h, ...r }) => ({ type: 'trade' as const, ...h, ...r })),
  fc
    .record({
      h: header,
      bidPrice: fc.option(price, { nil: null }),
      bidSize: size,
      askPrice: fc.option(price, { nil: null }),
      askSize: size,
      priceScale: scale,
      sizeScale: scale,
    })
    .map(({ h, ...r }) => ({ type: 'quote' as const, ...h, ...r })),
  fc
    .record({ h: header, side, price, size, priceScale: scale, sizeScale: scale, flags })
    .map(({ h, ...r }) => ({ type: 'book' as const, ...h, ...r })),
  fc
    .record({
      h: header,
      action: fc.constantFrom('add' as const, 'modify' as const, 'cancel' as const, 'fill' as const, 'clear' as const),
      orderId: fc.oneof(fc.bigInt({ min: 0n, max: UINT64_MAX }), fc.bigInt({ min: UINT64_MAX + 1n, max: 2n ** 80n }), text),
      side,
      price,
      size,
      priceScale: scale,
      sizeScale: scale,
      flags,
    })
    .map(({ h, ...r }) => ({ type: 'order' as const, ...h, ...r })),
  fc
    .record({
      h: header,
      interval: fc.integer({ min: 1, max: 31_536_000 }),
      start: ts,
      end: ts,
      open: price,
      high: price,
      low: price,
      close: price,
      volume: size,
      trades: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      priceScale: scale,
      sizeScale: scale,
      flags: fc.integer({ min: 0, max: 7 }),
    })
    .map(({ h, ...r }) => ({ type: 'bar' as const, ...h, ...r })),
  fc
    .record({
      h: header,
      kind: fc.constantFrom('gap' as const, 'resync' as const, 'checksum' as const, 'disconnected' as const),
      fromSeq: fc.option(fc.bigInt({ min: 0n, max: 2n ** 70n }), { nil: null }),
      toSeq: fc.option(fc.bigInt({ min: 0n, max: 2n ** 70n }), { nil: null }),
      ok: fc.option(fc.boolean(), { nil: null }),
      detail: text,
    })
    .map(({ h, ...r }) => ({ type: 'status' as const, ...h, ...r })),
);

function encodeOurs(events: readonly MarketEvent[]): Buffer {
  const w = new ProtoWriter(64);
  for (const e of events) writeEvent(w, e);
  return w.take();
}

/** The generated message for an event (what another language's bindings would build). */
function toPb(e: MarketEvent): PbEvent {
  const header = { venue: e.venue, symbol: e.symbol, tsEvent: e.tsEvent, tsRecv: e.tsRecv, seq: e.seq ?? undefined };
  const sideNo = (s: 'bid' | 'ask'): number => (s === 'bid' ? 0 : 1);
  switch (e.type) {
    case 'trade':
      return {
        event: {
          $case: 'trade',
          value: {
            header,
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            side: { none: 0, buy: 1, sell: 2 }[e.side],
            tradeId: e.tradeId ?? undefined,
          },
        },
      };
    case 'quote':
      return {
        event: {
          $case: 'quote',
          value: {
            header,
            bidPrice: e.bidPrice ?? undefined,
            bidSize: e.bidSize,
            askPrice: e.askPrice ?? undefined,
            askSize: e.askSize,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
          },
        },
      };
    case 'book':
      return {
        event: {
          $case: 'book',
          value: {
            header,
            side: sideNo(e.side),
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    case 'order': {
      const id = e.orderId;
      const orderId =
        typeof id === 'string'
          ? { $case: 'orderIdText' as const, value: id }
          : id <= UINT64_MAX
            ? { $case: 'orderIdNumber' as const, value: id }
            : { $case: 'orderIdBig' as const, value: id.toString() };
      return {
        event: {
          $case: 'order',
          value: {
            header,
            action: { add: 0, modify: 1, cancel: 2, fill: 3, clear: 4 }[e.action],
            orderId,
            side: sideNo(e.side),
            price: e.price,
            size: e.size,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    }
    case 'bar':
      return {
        event: {
          $case: 'bar',
          value: {
            header,
            interval: e.interval,
            start: e.start,
            end: e.end,
            open: e.open,
            high: e.high,
            low: e.low,
            close: e.close,
            volume: e.volume,
            trades: e.trades,
            priceScale: e.priceScale,
            sizeScale: e.sizeScale,
            flags: e.flags,
          },
        },
      };
    case 'status': {
      const small = (v: bigint | null): bigint | undefined => (v !== null && v <= UINT64_MAX ? v : undefined);
      const big = (v: bigint | null): string | undefined => (v !== null && v > UINT64_MAX ? v.toString() : undefined);
      return {
        event: {
          $case: 'status',
          value: {
            header,
            kind: e.kind,
            fromSeq: small(e.fromSeq),
            toSeq: small(e.toSeq),
            fromSeqBig: big(e.fromSeq),
            toSeqBig: big(e.toSeq),
            ok: e.ok ?? undefined,
            detail: e.detail,
          },
        },
      };
    }
  }
}

describe('wire: the hand-written codec against the generated one', () => {
  it('our bytes decode with the generated codec into the same messages, and back into the same events', () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 20 }), (events) => {
        const bytes = encodeOurs(events);
        const generated = EventBatch.decode(bytes);
        expect(generated.events).toEqual(events.map(toPb));
        expect(decodeBatch(bytes).items).toEqual(events);
      }),
      { numRuns: 400 },
    );
  });

  it("the generated codec's bytes decode with ours into the same events (and are the same bytes)", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 20 }), (events) => {
        const theirs = Buffer.from(EventBatch.encode({ events: events.map(toPb), dropped: 0n }).finish());
        expect(decodeBatch(theirs).items).toEqual(events);
        expect(encodeOurs(events).equals(theirs)).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('a simulated market (gaps, resyncs, books, trades, quotes) round-trips to the same canonical JSON', async () => {
    const events = await simulatedEvents(5, { faults: { gapEvery: 40 } });
    const { items, dropped } = decodeBatch(encodeOurs(events));
    expect(dropped).toBe(0n);
    expect(items.map((e) => formatEventJson(e as MarketEvent))).toEqual(events.map(formatEventJson));
  });

  it('nested messages deeper than the writer first allows, and long ones, get their lengths right after a reset', () => {
    const w = new ProtoWriter(16);
    for (const round of [0, 1]) {
      w.reset();
      // 20 messages each inside the one before (field 1), the innermost holding 200 bytes (field 2):
      // every length past the innermost one is two bytes, moved into place when the message ends.
      for (let d = 0; d < 20; d++) w.begin(1);
      w.string(2, 'x'.repeat(200 + round));
      for (let d = 0; d < 20; d++) w.end();
      let at = 0;
      const bytes = w.take();
      for (let d = 0; d < 20; d++) {
        expect(bytes[at]).toBe(0x0a); // field 1, length-delimited
        let len = 0;
        let shift = 0;
        let b: number;
        do {
          b = bytes[++at]!;
          len |= (b & 0x7f) << shift;
          shift += 7;
        } while (b & 0x80);
        at++;
        expect(at + len).toBe(bytes.length); // each message runs to the end
      }
      expect(bytes.subarray(at + 3).toString()).toBe('x'.repeat(200 + round));
    }
  });

  it('an entry whose encoding fails part-way is cut from its batch: the batch keeps only whole entries', async () => {
    const [a, b] = (await simulatedEvents(2)).filter((e) => e.type === 'trade');
    const batches: Buffer[] = [];
    const builder = new BatchBuilder({ batchEvents: 1024, batchMicros: 0 }, monotonicNs, (w) => batches.push(w.take()));
    builder.appendEvent(a!);
    // A trade whose price is not a bigint: the writer is inside two nested messages when it throws.
    expect(() => builder.appendEvent({ ...b!, price: undefined as unknown as bigint })).toThrow();
    builder.appendEvent(b!);
    builder.flush();
    builder.close();
    expect(batches).toHaveLength(1);
    expect(decodeBatch(batches[0]!).items).toEqual([a, b]);
  });

  it('bytes that are not an EventBatch are a WireError, never a crash or a wrong event', () => {
    const good = encodeOurs([
      {
        type: 'trade',
        venue: 'demo',
        symbol: 'AAPL',
        tsEvent: 1n,
        tsRecv: 2n,
        seq: 3n,
        price: 100n,
        size: 1n,
        priceScale: 2,
        sizeScale: 0,
        side: 'buy',
        tradeId: null,
      },
    ]);
    for (let cut = 1; cut < good.length; cut++) {
      expect(() => decodeBatch(good.subarray(0, cut)), `cut at ${cut}`).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_PROTOCOL' }));
    }
  });
});

describe('generated bindings are in step with proto/', () => {
  const protoc = spawnSync('protoc', ['--version'], { encoding: 'utf8' });
  const grpcPlugin = spawnSync('test', ['-x', '/usr/bin/grpc_python_plugin']);
  const available = protoc.status === 0 && grpcPlugin.status === 0;
  const reason = 'needs protoc and grpc_python_plugin (apt-get install protobuf-compiler protobuf-compiler-grpc)';
  it.runIf(available || inCI())(`node tools/gen-proto.mjs writes exactly what is committed (${reason})`, () => {
    const out = tempDir('gen-proto');
    execFileSync(process.execPath, [join(REPO_ROOT, 'tools/gen-proto.mjs'), '--out', out]);
    const files = (root: string): Record<string, string> => {
      const r: Record<string, string> = {};
      for (const f of readdirSync(root, { recursive: true, withFileTypes: true })) {
        if (f.isFile() && !f.name.endsWith('.pyc'))
          r[relative(root, join(f.parentPath, f.name))] = readFileSync(join(f.parentPath, f.name), 'utf8');
      }
      return r;
    };
    for (const dir of ['packages/serve/src/gen', 'clients/python/mdcap_client/_proto']) {
      expect(files(join(out, dir)), `${dir} differs from a fresh generation: run node tools/gen-proto.mjs and commit`).toEqual(
        files(join(REPO_ROOT, dir)),
      );
    }
  });
  if (!available && !inCI()) console.warn(`[mdcap] skipping the generated-bindings drift check: ${reason}`);
});

import { BacktestSession } from '@mdcap/backtest';
import type { BacktestOptions } from '@mdcap/backtest';
import { MdcapError } from '@mdcap/core';
import type { Fill, MarketEvent, OrderState } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { ReplayProvider } from '@mdcap/replay';
import type { ItemKind } from './fanout.js';
import { Fill as PbFill, OrderState as PbOrderState } from './gen/mdcap/v1/execution.js';
import { TradeResponse } from './gen/mdcap/v1/market_data.js';
import type { ActionResult, TradeRequest } from './gen/mdcap/v1/market_data.js';
import { fillToPb, orderIdOf, orderRequestFromPb, orderStateToPb, replaceFromPb, summaryToPb } from './trade-codec.js';
import { ProtoWriter, writeEvent, writeInstrument, writeSnapshot } from './wire.js';

/** The market kinds a client may send orders on. */
export type DecisionKind = MarketEvent['type'];

/** One Trade call's run, all of it plain data (it crosses to the worker thread as it is). */
export interface TradeSpec {
  readonly dir: string;
  readonly from: bigint | undefined;
  readonly to: bigint | undefined;
  readonly symbols: readonly string[];
  readonly kinds: readonly ItemKind[];
  readonly intervals: readonly number[];
  readonly depth: number;
  readonly decideOn: readonly DecisionKind[];
  readonly graceMs: number;
  readonly barTimestamp: 'tsEvent' | 'tsRecv';
  readonly backtest: BacktestOptions;
}

/** How a run talks to its client: the main thread's end of the call, seen from the worker. */
export interface TradeLink {
  /** Sends one `TradeResponse` (bytes); `answer` says the client must reply before the run goes on. */
  send(bytes: Uint8Array, answer: boolean): void;
  /** Blocks until the client's next request; null when the call is over (cancelled, or the server stopping). */
  receive(): TradeRequest | null;
}

/** Items a window holds before it goes out without waiting for an answer (events nobody decides on). */
const WINDOW_ITEMS = 1024;

/** A protocol error of the client's: the call ends with INVALID_ARGUMENT. */
function badRequest(message: string): MdcapError {
  return new MdcapError('MDCAP_ERR_BAD_REQUEST', message);
}

/**
 * A capture replayed through a simulated venue for a remote strategy, in lockstep: its own
 * `ReplayProvider` and `RealtimeEngine` with a `BacktestSession` attached, and in the place of a
 * TypeScript strategy's callbacks (registered after the session's, as a strategy's are) a proxy
 * that streams what they would receive. At each event the client decides on, and at each of its
 * order updates and fills, the proxy sends the window of items so far and blocks (the worker
 * thread waits, the engine stands still mid-callback) until the client has sent its orders,
 * which it submits right there, at that clock time and at that point of the dispatch, exactly as
 * a strategy calling `broker.submit` from that callback; a report the submit makes at once (no
 * latency, a rejection) is a nested window, answered before the submit's own result.
 */
export class TradeRun {
  readonly provider: ReplayProvider;
  readonly engine: RealtimeEngine;
  readonly session: BacktestSession;
  private readonly errors: MdcapError[] = [];
  private readonly w = new ProtoWriter(64 * 1024);
  private readonly snap = new ProtoWriter(4096);
  private readonly kinds: ReadonlySet<ItemKind>;
  private readonly decide: ReadonlySet<DecisionKind>;
  private readonly bars: ReadonlySet<number>;
  private items = 0;
  private seq = 0n;
  /** Set when the call is over or broken: callbacks do nothing more, the engine stops. */
  private over = false;
  /** A protocol error of the client's (it ends the call). */
  failure: MdcapError | null = null;

  constructor(
    private readonly spec: TradeSpec,
    private readonly link: TradeLink,
  ) {
    this.kinds = new Set(spec.kinds);
    this.decide = new Set(spec.decideOn);
    this.bars = new Set(spec.intervals);
    this.provider = ReplayProvider.open(spec.dir, {
      speed: 'max',
      ...(spec.from === undefined ? {} : { from: spec.from }),
      ...(spec.to === undefined ? {} : { to: spec.to }),
    });
    this.engine = new RealtimeEngine(this.provider, { books: true, barGraceMs: spec.graceMs, barTimestamp: spec.barTimestamp });
    if (spec.intervals.length > 0) this.engine.setBarInterval(...spec.intervals);
    this.engine.onError((e) => this.errors.push(e));
    // The venue and the record first, as `mdcap backtest` attaches them; then the strategy's place.
    this.session = new BacktestSession(this.engine, spec.backtest);
    const e = this.engine;
    e.onTrade((x) => this.market(x, null));
    e.onQuote((x) => this.market(x, null));
    e.onBookUpdate((x, book) => this.market(x, book));
    e.onOrderUpdate((x, book) => this.market(x, book));
    e.onBar((x) => this.market(x, null));
    e.onStatus((x) => this.market(x, null));
    e.onOrder((o) => this.own(o, null));
    e.onFill((f) => this.own(null, f));
    this.startWindow();
    if (this.kinds.has('instrument')) {
      const wanted = new Set(spec.symbols);
      for (const i of this.provider.instruments()) {
        if (!wanted.has(i.symbol)) continue;
        this.w.begin(2);
        writeInstrument(this.w, i);
        this.w.end();
        this.items++;
      }
    }
  }

  /** Replays to the end (or until the call is over); then the last items and the summary. Resolves with what made the replay fail, or null. */
  async run(): Promise<MdcapError | null> {
    await this.engine.run(this.spec.symbols);
    this.session.finish();
    if (this.failure !== null) return this.failure;
    if (this.over) return null;
    if (this.engine.stats().state === 'failed') {
      const e = this.errors;
      return (
        [...e].reverse().find((x) => x.code.startsWith('MDCAP_ERR_CAPTURE') || x.code === 'MDCAP_ERR_IO') ??
        e.at(-1) ??
        new MdcapError('MDCAP_ERR_IO', `the replay of ${this.spec.dir} failed`)
      );
    }
    if (this.items > 0) this.flush(false);
    this.link.send(TradeResponse.encode({ response: { $case: 'summary', value: summaryToPb(this.session.summary()) } }).finish(), false);
    return null;
  }

  // ---- windows ------------------------------------------------------------------------------

  private startWindow(): void {
    this.w.reset();
    this.w.begin(1); // TradeResponse.window
    this.items = 0;
  }

  /** Sends the window so far (`answer`: its last item waits for the client). */
  private flush(answer: boolean): bigint {
    const seq = ++this.seq;
    const w = this.w;
    w.uint64(1, seq);
    w.sfixed64(3, this.engine.clock.now());
    if (answer) w.bool(4, true);
    w.end();
    this.link.send(w.take(), answer);
    this.startWindow();
    return seq;
  }

  private market(e: MarketEvent, book: BookView | null): void {
    if (this.over) return;
    const kinds = this.kinds;
    const streamed = kinds.has(e.type) && (e.type !== 'bar' || this.bars.has(e.interval));
    if (streamed) {
      this.w.begin(2);
      writeEvent(this.w, e);
      this.w.end();
      this.items++;
    }
    if (book !== null && this.spec.depth > 0 && kinds.has('snapshot')) {
      const top = book.top(this.spec.depth);
      this.snap.reset();
      writeSnapshot(this.snap, e, book.valid, book.priceScale, book.sizeScale, top.bids, top.asks);
      this.w.begin(2);
      this.w.bytes(this.snap.buf, 0, this.snap.pos);
      this.w.end();
      this.items++;
    }
    if (streamed && this.decide.has(e.type)) this.answer();
    else if (this.items >= WINDOW_ITEMS) this.flush(false);
  }

  private own(o: OrderState | null, f: Fill | null): void {
    if (this.over) return;
    const bytes = o !== null ? PbOrderState.encode(orderStateToPb(o)).finish() : PbFill.encode(fillToPb(f!)).finish();
    this.w.begin(2); // TradeWindow.items
    this.w.begin(o !== null ? 2 : 3); // TradeItem.order / .fill
    this.w.bytes(bytes, 0, bytes.length);
    this.w.end();
    this.w.end();
    this.items++;
    this.answer();
  }

  /** Sends the window and carries out the client's requests for it until it says `done`. */
  private answer(): void {
    const seq = this.flush(true);
    for (;;) {
      const req = this.link.receive();
      if (req === null) return this.end();
      if (req.window !== seq) {
        return this.fail(badRequest(`window: expected an answer to window ${seq} (the one waiting), found one to window ${req.window}`));
      }
      const r = req.request;
      if (r === undefined || r.$case === 'start') {
        return this.fail(
          badRequest(
            `request: expected submit, cancel, replace or done for window ${seq}, found ${r === undefined ? 'none' : 'a second start'}`,
          ),
        );
      }
      if (r.$case === 'done') return;
      const result: ActionResult = { window: seq, order: undefined, errorCode: '', errorMessage: '' };
      try {
        const broker = this.session.broker;
        if (r.$case === 'submit') {
          result.order = orderStateToPb(broker.submit(orderRequestFromPb(r.value)));
        } else if (r.$case === 'cancel') {
          broker.cancel(orderIdOf(r.value.orderId));
        } else {
          const { orderId, request } = replaceFromPb(r.value);
          broker.replace(orderId, request);
        }
      } catch (e) {
        const err = e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_INVALID_ORDER', e instanceof Error ? e.message : String(e));
        result.errorCode = err.code;
        result.errorMessage = err.message;
      }
      if (this.over) return;
      // (Reports a request makes at once were sent, and answered, as windows of their own.)
      if (this.items > 0) this.flush(false);
      this.link.send(TradeResponse.encode({ response: { $case: 'result', value: result } }).finish(), true);
    }
  }

  private fail(error: MdcapError): void {
    this.failure = error;
    this.end();
  }

  /** The call is over: nothing more is sent, the replay stops. */
  private end(): void {
    this.over = true;
    void this.engine.stop();
  }
}

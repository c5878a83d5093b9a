/**
 * What a feed on the main thread ({@link HandlerThreadFeed}) and its handler on a worker thread
 * share: the control flags, the data a handler thread starts with, the commands it takes, and
 * its end of the ring ({@link HandlerThreadRing}). This module has no side effects, so both
 * threads import it (a worker script itself cannot be imported: it starts running).
 *
 * Stamping protocol: the handler thread's clock reads exactly the main thread's time (same
 * anchor, same process-wide monotonic timer). The handler raises BUSY before it reads the time
 * an event is stamped with, and drops it only after that event's records are flushed to the
 * ring. So once the main thread sees BUSY down at its time `T`, every event stamped before `T`
 * is in the ring, and every later stamp is at or after `T`: that is what `poll(before)` needs.
 */
import { LiveClock } from '@mdcap/core';
import type { DataProvider, EventSink, LiveClockAnchor, SubscriptionKind } from '@mdcap/core';
import { EventRecordWriter } from '@mdcap/ring';

/** Int32 slot of the control buffer: the handler thread is stamping or writing. */
export const BUSY = 0;
/** Int32 slot of the control buffer: the main thread waits for BUSY to drop (so the handler notifies it). */
export const MAIN_WAITING = 1;
/**
 * Int32 slot of the control buffer, for a handler thread that never returns to its event loop
 * (Bloomberg's blocking loop): a count of the commands posted, which that thread sleeps on
 * while it has nothing else to do (a message alone would not wake it).
 */
export const COMMANDS = 2;

export interface HandlerThreadData {
  /** The main thread's clock, for the handler thread's own LiveClock on the same time. */
  readonly anchor: LiveClockAnchor;
  readonly ring: SharedArrayBuffer;
  /** Int32 flags: [0] BUSY, [1] MAIN_WAITING, and [2] COMMANDS if the feed uses it. */
  readonly control: SharedArrayBuffer;
}

/** The commands every handler thread takes; `id` names the answer, `{ id, error? }`. */
export type HandlerRequest =
  | { readonly op: 'connect' | 'disconnect'; readonly id: number }
  | { readonly op: 'subscribe'; readonly id: number; readonly symbol: string; readonly kinds: readonly SubscriptionKind[] }
  | { readonly op: 'unsubscribe'; readonly id: number; readonly symbol: string }
  | { readonly op: 'ready' };

/** The handler thread's end of the ring: writes the events as event records and keeps the BUSY flag. */
export class HandlerThreadRing {
  readonly writer: EventRecordWriter;
  readonly control: Int32Array;
  /** The sink the handler delivers to: everything goes into the ring, in order. */
  readonly sink: EventSink;

  constructor(data: HandlerThreadData) {
    const writer = new EventRecordWriter(data.ring, { batch: 1024 });
    this.writer = writer;
    this.control = new Int32Array(data.control);
    this.sink = {
      push: (e) => writer.write(e),
      lost: (error) => writer.lost(error),
      end: (error?: unknown) => writer.end(error),
    };
  }

  /** Raises BUSY: call it before reading the time an event is stamped with. */
  raise(): void {
    Atomics.store(this.control, BUSY, 1);
  }

  /** Flushes the records written so far, then drops BUSY (and wakes the main thread if it waits in `poll`). */
  settle(): void {
    this.writer.flush();
    Atomics.store(this.control, BUSY, 0);
    if (Atomics.load(this.control, MAIN_WAITING) !== 0) Atomics.notify(this.control, BUSY);
  }
}

/**
 * The handler thread's clock: a LiveClock on the main thread's time that marks the thread busy
 * from its first reading in a task until the task's events are flushed (at the end of the task,
 * a microtask), as the stamping protocol above needs.
 */
export class StampingClock extends LiveClock {
  private busy = false;
  private readonly idle = (): void => {
    this.busy = false;
    this.ring.settle();
  };

  constructor(
    private readonly ring: HandlerThreadRing,
    anchor: LiveClockAnchor,
  ) {
    super(anchor);
  }

  override now(): bigint {
    if (!this.busy) {
      this.busy = true;
      this.ring.raise(); // before the time is read
      queueMicrotask(this.idle);
    }
    return super.now();
  }
}

/**
 * Carries out a command every handler thread takes on its `feed`, answering through `reply`
 * (`disconnect` flushes the ring after the feed has stopped, then runs `after`).
 */
export function runRequest(
  m: HandlerRequest,
  feed: DataProvider,
  ring: HandlerThreadRing,
  reply: (id: number, work: Promise<unknown>) => void,
  after?: () => void,
): void {
  switch (m.op) {
    case 'connect':
      return reply(m.id, feed.connect(ring.sink));
    case 'subscribe':
      return reply(m.id, feed.subscribe(m.symbol, m.kinds));
    case 'unsubscribe':
      return reply(m.id, feed.unsubscribe?.(m.symbol) ?? Promise.resolve());
    case 'ready':
      return feed.ready?.();
    case 'disconnect':
      return reply(
        m.id,
        feed.disconnect().then(() => {
          ring.writer.flush();
          after?.();
        }),
      );
  }
}

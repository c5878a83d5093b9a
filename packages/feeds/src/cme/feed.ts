import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { ConfigError, createStatus, LiveClock, MdcapError, SUBSCRIPTION_KINDS } from '@mdcap/core';
import type { DataProvider, EventSink, Instrument, SequenceRule, SubscriptionKind } from '@mdcap/core';
import { findConnection, SbeCodec } from '@mdcap/mdp3';
import type { ChannelConfig, FeedType, Schema } from '@mdcap/mdp3';
import { StaleWatch } from '../transport/stale-watch.js';
import { CmeHandler } from './handler.js';
import type { CmeFeedSide, CmeHandlerStats } from './handler.js';

/** A multicast group and port. */
export interface CmeGroup {
  readonly ip: string;
  readonly port: number;
}

/** The groups of one channel the feed reads: the incremental feeds A and B, the snapshot loop, the definition loop. */
export interface CmeChannel {
  readonly id: number;
  readonly incrementalA: CmeGroup;
  /** Optional: a single incremental feed still works, with no arbitration to fill its holes. */
  readonly incrementalB?: CmeGroup;
  readonly snapshot: CmeGroup;
  /** The MBO snapshot loop (feed type SMBO), which an MBO book (`book: 'mbo'`) recovers from. */
  readonly orderBookSnapshot?: CmeGroup;
  readonly definition: CmeGroup;
}

/**
 * The groups of a channel of CME's `config.xml` (see `parseChannelConfig`): incremental (`I`) A
 * and B, market recovery (`S`) and instrument replay (`N`), each on its A line.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` naming the connection the channel lacks.
 */
export function cmeChannel(config: ChannelConfig): CmeChannel {
  const need = (type: FeedType, line: 'A' | 'B', what: string): CmeGroup => {
    const c = findConnection(config, type, line);
    if (c === undefined) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `channel ${config.id}: expected a UDP ${what} connection (feed-type ${type}, feed ${line}) in its config, found none`,
      );
    }
    return { ip: c.ip, port: c.port };
  };
  const b = findConnection(config, 'I', 'B');
  const mbo = findConnection(config, 'SMBO', 'A');
  return {
    id: config.id,
    incrementalA: need('I', 'A', 'incremental'),
    ...(b === undefined ? {} : { incrementalB: { ip: b.ip, port: b.port } }),
    snapshot: need('S', 'A', 'market recovery (snapshot)'),
    ...(mbo === undefined ? {} : { orderBookSnapshot: { ip: mbo.ip, port: mbo.port } }),
    definition: need('N', 'A', 'instrument replay (definition)'),
  };
}

export interface CmeFeedOptions {
  readonly channel: CmeChannel;
  /** CME's SBE schema for the channel (`parseSchema` of templates_FixBinary.xml). */
  readonly schema: Schema;
  /** The engine's clock (default a new LiveClock): packets are stamped by it as they arrive. */
  readonly clock?: LiveClock;
  /** The interface that joins the groups (default 127.0.0.1: nothing leaves or enters the host unless told). */
  readonly interface?: string;
  /** Socket receive buffer (default 8 MiB: a burst of packets must not overflow the kernel's queue). */
  readonly receiveBufferBytes?: number;
  /** Venue name on the events (default `cme`). */
  readonly venue?: string;
  /** How long a packet ahead of its turn waits for the other feed (default 10 ms). */
  readonly gapWaitMs?: number;
  /**
   * `mbp` (default): price-level books, recovered from the snapshot loop. `mbo`: every order, as
   * L3 order updates, recovered from the MBO snapshot loop (the channel needs an SMBO connection).
   */
  readonly book?: 'mbp' | 'mbo';
  /**
   * Nothing on either incremental line for this long (CME sends heartbeats when the market is
   * quiet) → a `stale` status and a lost connection, which the engine reconnects: the groups are
   * joined again and the books rebuilt from the snapshot loop (default 60 s).
   */
  readonly staleMs?: number;
}

type Role = CmeFeedSide | 'snapshot' | 'definition';

/**
 * The snapshot group of `channel` for a book kind.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` for an MBO book on a channel without an SMBO loop.
 */
export function snapshotGroup(channel: CmeChannel, book: 'mbp' | 'mbo'): CmeGroup {
  if (book === 'mbp') return channel.snapshot;
  if (channel.orderBookSnapshot === undefined) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `channel ${channel.id}: expected an MBO snapshot connection (feed-type SMBO, feed A) for an MBO book, found none in its config`,
    );
  }
  return channel.orderBookSnapshot;
}

/**
 * The CME MDP 3.0 feed of one channel, on UDP multicast: the sockets on this thread, the
 * {@link CmeHandler} behind them. The snapshot and definition loops are joined only while the
 * handler wants them (at the start, and while a book recovers), as CME asks of its clients.
 */
export class CmeFeed implements DataProvider {
  readonly venue: string;
  readonly clock: LiveClock;
  readonly kinds: readonly SubscriptionKind[] = SUBSCRIPTION_KINDS.filter((k) => k !== 'quote' && k !== 'bar');
  readonly validatesEvents = true;
  /** MDP3's `MsgSeqNum` numbers the channel's packets: events of a packet share it. */
  readonly sequencing: SequenceRule = 'monotonic-per-kind';
  private readonly codec: SbeCodec;
  private readonly iface: string;
  private readonly recvBuffer: number;
  /** Open sockets by role, each with its join (a second `open` of a role waits for the first). */
  private readonly sockets = new Map<Role, { socket: Socket; joined: Promise<void> }>();
  private handler: CmeHandler | null = null;
  /** The counters of the handlers of earlier connections, summed. */
  private retired: CmeHandlerStats | null = null;
  private sink: EventSink | null = null;
  private readonly symbols = new Set<string>();
  private readonly stale: StaleWatch;
  private readonly snapshotGroup: CmeGroup;

  constructor(private readonly options: CmeFeedOptions) {
    this.snapshotGroup = snapshotGroup(options.channel, options.book ?? 'mbp');
    this.venue = options.venue ?? 'cme';
    this.clock = options.clock ?? new LiveClock();
    this.codec = new SbeCodec(options.schema);
    this.iface = options.interface ?? '127.0.0.1';
    this.recvBuffer = options.receiveBufferBytes ?? 8 << 20;
    this.stale = new StaleWatch(this.clock, options.staleMs ?? 60_000);
  }

  /**
   * Counters of the handlers (packets per feed, duplicates, gaps, recoveries, corrupt packets),
   * summed over every connection so far (a reconnect starts a new handler); null before the first.
   */
  stats(): CmeHandlerStats | null {
    const now = this.handler?.stats ?? null;
    if (this.retired === null) return now;
    return now === null ? this.retired : addStats(this.retired, now);
  }

  instruments(): Iterable<Instrument> {
    return this.handler?.instruments() ?? [];
  }

  /** How many instruments the current connection has defined (cheap: no list is built). */
  definedCount(): number {
    return this.handler?.defined ?? 0;
  }

  async connect(sink: EventSink): Promise<void> {
    this.sink = sink;
    const handler = new CmeHandler({
      codec: this.codec,
      venue: this.venue,
      symbols: [...this.symbols],
      clock: this.clock,
      gapWaitNs: BigInt(Math.round((this.options.gapWaitMs ?? 10) * 1e6)),
      book: this.options.book ?? 'mbp',
      emit: (e) => this.sink?.push(e),
      onSnapshotLoop: (join) => this.toggle('snapshot', join),
      onDefinitionLoop: (join) => this.toggle('definition', join),
    });
    this.handler = handler;
    const ch = this.options.channel;
    await this.open('A', ch.incrementalA);
    if (ch.incrementalB !== undefined) await this.open('B', ch.incrementalB);
    // The handler asked for the definition loop in its constructor, before the sockets existed.
    await this.open('definition', ch.definition);
    this.stale.start(() => {
      const s = this.sink;
      if (s === null) return;
      const t = this.clock.now();
      s.push(
        createStatus({
          venue: this.venue,
          symbol: '*',
          tsEvent: t,
          tsRecv: t,
          kind: 'stale',
          detail: `cme channel ${ch.id}: nothing on the incremental lines for ${this.stale.ms} ms (not even a heartbeat)`,
        }),
      );
      this.fail(new MdcapError('MDCAP_ERR_CONNECT_FAILED', `cme channel ${ch.id}: stale incremental lines`));
    });
    sink.push(
      createStatus({
        venue: this.venue,
        symbol: '*',
        tsEvent: this.clock.now(),
        tsRecv: this.clock.now(),
        kind: 'connected',
        detail: `cme channel ${ch.id}: incremental ${group(ch.incrementalA)}${ch.incrementalB === undefined ? '' : ` and ${group(ch.incrementalB)}`} on ${this.iface}`,
      }),
    );
  }

  private toggle(role: 'snapshot' | 'definition', join: boolean): void {
    const ch = this.options.channel;
    if (join) void this.open(role, role === 'snapshot' ? this.snapshotGroup : ch.definition).catch((error: unknown) => this.fail(error));
    else this.close(role);
  }

  private open(role: Role, g: CmeGroup): Promise<void> {
    const open = this.sockets.get(role);
    if (open !== undefined) return open.joined;
    // reuseAddr: feeds A and B (and other processes) may share a port.
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    const joined = this.join(role, s, g);
    this.sockets.set(role, { socket: s, joined });
    return joined;
  }

  private async join(role: Role, s: Socket, g: CmeGroup): Promise<void> {
    s.on('message', (msg) => this.onPacket(role, msg));
    s.on('error', (error) => this.fail(error));
    try {
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.bind(g.port, g.ip, () => {
          s.off('error', reject);
          resolve();
        });
      });
      s.addMembership(g.ip, this.iface);
      s.setRecvBufferSize(this.recvBuffer);
    } catch (error) {
      this.sockets.delete(role);
      s.close();
      throw new MdcapError(
        'MDCAP_ERR_CONNECT_FAILED',
        `cme ${role}: expected to join ${group(g)} on ${this.iface}, found ${(error as Error).message}`,
        {
          cause: error,
        },
      );
    }
  }

  private close(role: Role): void {
    const open = this.sockets.get(role);
    if (open === undefined) return;
    this.sockets.delete(role);
    open.socket.close();
  }

  private onPacket(role: Role, msg: Buffer): void {
    const h = this.handler;
    if (h === null) return;
    const bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    const t = this.clock.now();
    if (role === 'snapshot') h.onSnapshot(bytes, t);
    else if (role === 'definition') h.onDefinition(bytes, t);
    else {
      this.stale.seen(t);
      h.onIncremental(role, bytes, t);
    }
  }

  private fail(error: unknown): void {
    const sink = this.sink;
    if (sink === null) return;
    void this.disconnect().then(() => sink.lost(error));
  }

  subscribe(symbol: string, _kinds: readonly SubscriptionKind[]): Promise<void> {
    this.symbols.add(symbol);
    this.handler?.want(symbol, this.clock.now());
    return Promise.resolve();
  }

  unsubscribe(symbol: string): Promise<void> {
    this.symbols.delete(symbol);
    this.handler?.unwant(symbol);
    return Promise.resolve();
  }

  disconnect(): Promise<void> {
    this.stale.stop();
    for (const role of [...this.sockets.keys()]) this.close(role);
    const h = this.handler;
    if (h !== null) {
      h.close(); // its wait may not fire into a later connection
      this.retired = this.retired === null ? h.stats : addStats(this.retired, h.stats);
    }
    this.handler = null;
    return Promise.resolve();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.disconnect();
  }
}

function addStats(a: CmeHandlerStats, b: CmeHandlerStats): CmeHandlerStats {
  const out = { ...a, packets: { ...a.packets } };
  for (const k of Object.keys(b.packets) as (keyof CmeHandlerStats['packets'])[]) out.packets[k] += b.packets[k];
  for (const k of Object.keys(b) as (keyof CmeHandlerStats)[]) {
    if (k !== 'packets') out[k] += b[k];
  }
  return out;
}

function group(g: CmeGroup): string {
  return `${g.ip}:${g.port}`;
}

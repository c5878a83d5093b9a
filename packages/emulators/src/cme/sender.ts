import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { ConfigError, describeValue, LiveClock } from '@mdcap/core';
import type { Clock, TimerId } from '@mdcap/core';
import { findConnection } from '@mdcap/mdp3';
import type { ChannelConfig, ChannelConnection, ChannelProduct, FeedLine, FeedType, MulticastConnection } from '@mdcap/mdp3';

/**
 * CME's MDP 3.0 multicast, sent on this host only: one channel's incremental feed on lines A and
 * B (the same packet on both, as CME does), with its snapshot loops (market recovery: MBP, and
 * MBO if the source has one) and instrument-definition loop cycling beside it, paced on the
 * data's timeline, with faults a
 * feed handler must survive. Packets come from a {@link Mdp3PacketSource} (the exchange that
 * encodes the Databento data); this module only moves bytes.
 *
 * Nothing leaves the machine: every datagram goes out of the 127.0.0.1 interface with a
 * multicast TTL of 0, and loopback on so local receivers get it. Neither is an option.
 */

/** One packet of the incremental feed. */
export interface Mdp3SourcePacket {
  /** The packet's `MsgSeqNum` (also in its first 4 bytes). */
  readonly seqNum: number;
  /** The packet's `SendingTime` (ns). */
  readonly sendingTime: bigint;
  /** Where the packet sits on the data's timeline (ns): what pacing follows. */
  readonly tsNs: bigint;
  /** The whole packet: header and messages. */
  readonly bytes: Uint8Array;
}

/** A packet of a loop: its bytes, bare or as a packet object (whose MsgSeqNum the sender sets anyway). */
export type Mdp3LoopPacket = Uint8Array | { readonly bytes: Uint8Array };

/** What the sender sends: an exchange's packets. */
export interface Mdp3PacketSource {
  /** The incremental feed, in order; read lazily, one packet at a time as the timeline reaches it. */
  packets(): Iterable<Mdp3SourcePacket>;
  /** A full MBP snapshot cycle (feed type S): the books after incremental packet `afterSeq` (0: before any). */
  snapshotPackets(afterSeq: number): readonly Mdp3LoopPacket[];
  /** A full MBO snapshot cycle (feed type SMBO), if the source has one. */
  orderBookSnapshotPackets?(afterSeq: number): readonly Mdp3LoopPacket[];
  /** A full cycle of the instrument definitions (feed type N), as of incremental packet `afterSeq`. */
  definitionPackets(afterSeq: number): readonly Mdp3LoopPacket[];
}

/** `afterSeq`: the incremental packet after which everything the sender sends goes silent for `ms`. */
export interface CmeStall {
  readonly afterSeq: number;
  readonly ms: number;
}

/**
 * Faults, by incremental `MsgSeqNum`, so each run sends exactly the same bytes.
 * A packet may carry several (a duplicate that is also reordered is held back twice over).
 */
export interface CmeFaults {
  /** Not sent on A; B has it (arbitration hides the loss). */
  readonly dropA?: readonly number[];
  /** Sent on neither line: a real gap, recovered from the snapshot loop. */
  readonly dropBoth?: readonly number[];
  /** On line A the packet goes out after the one that follows it (B keeps the order). */
  readonly reorder?: readonly number[];
  /** Sent twice on each line. */
  readonly duplicate?: readonly number[];
  /** Sent on both lines with its first message's `MsgSize` flipped, so that it cannot be decoded. */
  readonly corrupt?: readonly number[];
  /** After these packets, every feed (incremental and loops) goes silent for a while, then goes on. */
  readonly stall?: CmeStall | readonly CmeStall[];
}

export interface CmeMulticastOptions {
  readonly source: Mdp3PacketSource;
  /**
   * The groups and ports: the incremental feed (`I`) on A and, if configured, B; the snapshot
   * (`S`, and `SMBO` if the source has it) and definition (`N`) loops on each of their lines that
   * is configured (none: not sent).
   */
  readonly channel: ChannelConfig;
  /** A multiple of the data's pace (1: as recorded), or 'max': as fast as bursts allow. Default 1. */
  readonly speed?: number | 'max';
  /** Where time comes from (pacing, loop cycles, stalls). Default: a new LiveClock. */
  readonly clock?: Clock;
  readonly faults?: CmeFaults;
  /** Pause between two snapshot cycles (MBP and MBO each), ms. Default 200. */
  readonly snapshotIntervalMs?: number;
  /** Pause between two definition cycles, ms. Default 500. */
  readonly definitionIntervalMs?: number;
  /**
   * Packets sent per line in one turn of the event loop, before the sender lets others catch up.
   * Default 32: libuv reads at most 32 datagrams per socket in one turn, so a receiver in the
   * same process (a test) keeps up with any larger burst only as long as its buffer lasts.
   */
  readonly burst?: number;
  /** How long the loops keep cycling after the incremental feed's last packet, ms (Infinity: until close). Default 0. */
  readonly lingerMs?: number;
  /** Wait before the first packet, ms (receivers join first). Default 0. */
  readonly startDelayMs?: number;
}

/** What was sent so far. */
export interface CmeSenderStats {
  /** Datagrams handed to the OS per line of each feed: `IA`, `IB`, `SA`, `SB`, `SMBOA`, `SMBOB`, `NA`, `NB`. */
  readonly sent: Readonly<Record<string, number>>;
  /** Incremental packets taken from the source (sent or not). */
  readonly packets: number;
  /** `MsgSeqNum` of the last incremental packet taken (0: none yet). */
  readonly lastSeqNum: number;
  /** Complete cycles of each loop. */
  readonly snapshotCycles: number;
  readonly orderBookSnapshotCycles: number;
  readonly definitionCycles: number;
  /** Faults applied (a packet with two faults counts in both). */
  readonly faults: Readonly<Record<'dropA' | 'dropBoth' | 'reorder' | 'duplicate' | 'corrupt' | 'stall', number>>;
  /** Sends the OS refused (each also kept as `lastError`). */
  readonly sendErrors: number;
  readonly lastError: string | null;
  /** The incremental feed has sent its last packet. */
  readonly ended: boolean;
}

/** A running sender. */
export interface CmeMulticast extends AsyncDisposable {
  readonly channel: ChannelConfig;
  stats(): CmeSenderStats;
  /** Resolves once the incremental feed's last packet is sent (or on close); rejects if the source throws. */
  readonly ended: Promise<void>;
  /** Stops every feed and closes the sockets. */
  close(): Promise<void>;
}

const DEFAULTS = { speed: 1, snapshotIntervalMs: 200, definitionIntervalMs: 500, burst: 32, lingerMs: 0, startDelayMs: 0 };
/** The one interface mdcap sends multicast on: this host's loopback. */
const LOOPBACK = '127.0.0.1';
const PACKET_HEADER_BYTES = 12;

/**
 * Starts sending a channel's feeds on this host.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` for a channel without an incremental feed A, a bad speed, interval or fault.
 */
export async function startCmeMulticast(options: CmeMulticastOptions): Promise<CmeMulticast> {
  const sender = new CmeSender(options);
  await sender.open();
  return sender;
}

/** A seqNum list as a set, checked. */
function seqSet(name: string, list: readonly number[] | undefined): ReadonlySet<number> {
  for (const s of list ?? []) {
    if (!Number.isInteger(s) || s < 1 || s > 0xffffffff) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `faults.${name}: expected MsgSeqNums (whole numbers from 1), found ${describeValue(s)}`,
      );
    }
  }
  return new Set(list);
}

function positive(name: string, value: number, allowZero: boolean, allowInfinity = false): number {
  if (
    typeof value !== 'number' ||
    Number.isNaN(value) ||
    value < 0 ||
    (!allowZero && value === 0) ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${name}: expected a ${allowZero ? 'non-negative' : 'positive'}${allowInfinity ? '' : ' finite'} number, found ${describeValue(value)}`,
    );
  }
  return value;
}

const msToNs = (ms: number): bigint => BigInt(Math.round(ms * 1e6));

class CmeSender implements CmeMulticast {
  readonly channel: ChannelConfig;
  readonly ended: Promise<void>;
  private readonly source: Mdp3PacketSource;
  private readonly clock: Clock;
  private readonly speed: number | 'max';
  private readonly burst: number;
  private readonly lingerNs: bigint | null;
  private readonly startDelayNs: bigint;
  private readonly incremental: readonly MulticastConnection[];
  private readonly lineA: MulticastConnection;
  private readonly lineB: MulticastConnection | undefined;
  private readonly loops: Loop[] = [];
  private readonly dropA: ReadonlySet<number>;
  private readonly dropBoth: ReadonlySet<number>;
  private readonly reorder: ReadonlySet<number>;
  private readonly duplicate: ReadonlySet<number>;
  private readonly corrupt: ReadonlySet<number>;
  private readonly stalls: ReadonlyMap<number, bigint>;
  /** One socket per line, connected to its group: a connected UDP socket sends without a lookup per datagram. */
  private readonly sockets = new Map<string, Socket>();
  private readonly immediates = new Set<NodeJS.Immediate>();
  private iterator: Iterator<Mdp3SourcePacket> | null = null;
  private pending: Mdp3SourcePacket | null = null;
  private heldA: Uint8Array[] | null = null;
  /** Wall time (clock ns) the data's first packet is due, and that packet's tsNs. */
  private origin: { wall: bigint; data: bigint } | null = null;
  private stallUntil: bigint | null = null;
  /** Loops start no new cycle after this (clock ns); null while the incremental feed runs. */
  private loopsUntil: bigint | null = null;
  private timer: TimerId | null = null;
  private closed = false;
  private resolveEnded!: () => void;
  private rejectEnded!: (error: unknown) => void;
  private readonly counts = {
    sent: {} as Record<string, number>,
    packets: 0,
    lastSeqNum: 0,
    snapshotCycles: 0,
    orderBookSnapshotCycles: 0,
    definitionCycles: 0,
    faults: { dropA: 0, dropBoth: 0, reorder: 0, duplicate: 0, corrupt: 0, stall: 0 },
    sendErrors: 0,
    lastError: null as string | null,
    ended: false,
  };

  constructor(o: CmeMulticastOptions) {
    this.source = o.source;
    this.channel = o.channel;
    this.clock = o.clock ?? new LiveClock();
    const speed = o.speed ?? DEFAULTS.speed;
    this.speed = speed === 'max' ? 'max' : positive('speed', speed, false);
    this.burst = positive('burst', o.burst ?? DEFAULTS.burst, false);
    const linger = positive('lingerMs', o.lingerMs ?? DEFAULTS.lingerMs, true, true);
    this.lingerNs = Number.isFinite(linger) ? msToNs(linger) : null;
    this.startDelayNs = msToNs(positive('startDelayMs', o.startDelayMs ?? DEFAULTS.startDelayMs, true));
    const a = findConnection(o.channel, 'I', 'A');
    if (a === undefined) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `channel ${o.channel.id}: expected a UDP incremental feed A (feed-type I, feed A) to send on, found connections ${o.channel.connections.map((c) => c.id).join(', ') || 'none'}`,
      );
    }
    this.lineA = a;
    this.lineB = findConnection(o.channel, 'I', 'B');
    this.incremental = this.lineB === undefined ? [a] : [a, this.lineB];
    const f = o.faults ?? {};
    this.dropA = seqSet('dropA', f.dropA);
    this.dropBoth = seqSet('dropBoth', f.dropBoth);
    this.reorder = seqSet('reorder', f.reorder);
    this.duplicate = seqSet('duplicate', f.duplicate);
    this.corrupt = seqSet('corrupt', f.corrupt);
    const stalls = f.stall === undefined ? [] : 'afterSeq' in f.stall ? [f.stall] : f.stall;
    seqSet(
      'stall',
      stalls.map((s) => s.afterSeq),
    );
    this.stalls = new Map(stalls.map((s) => [s.afterSeq, msToNs(positive('faults.stall.ms', s.ms, false))]));
    const snapshotNs = msToNs(positive('snapshotIntervalMs', o.snapshotIntervalMs ?? DEFAULTS.snapshotIntervalMs, true));
    const definitionNs = msToNs(positive('definitionIntervalMs', o.definitionIntervalMs ?? DEFAULTS.definitionIntervalMs, true));
    // Each loop reads the source at the start of a cycle: the state after the last packet taken.
    const loop = (
      kind: LoopKind,
      type: FeedType,
      intervalNs: bigint,
      fetch: ((afterSeq: number) => readonly Mdp3LoopPacket[]) | undefined,
    ): void => {
      const lines = (['A', 'B'] as const).map((l) => findConnection(o.channel, type, l)).filter((c) => c !== undefined);
      if (lines.length > 0 && fetch !== undefined) this.loops.push(new Loop(kind, lines, intervalNs, () => fetch(this.counts.lastSeqNum)));
    };
    const src = this.source;
    loop('snapshot', 'S', snapshotNs, (after) => src.snapshotPackets(after));
    loop(
      'orderBookSnapshot',
      'SMBO',
      snapshotNs,
      src.orderBookSnapshotPackets === undefined ? undefined : (after) => src.orderBookSnapshotPackets!(after),
    );
    loop('definition', 'N', definitionNs, (after) => src.definitionPackets(after));
    for (const c of [...this.incremental, ...this.loops.flatMap((l) => l.connections)]) this.counts.sent[lineKey(c)] = 0;
    this.ended = new Promise<void>((resolve, reject) => {
      this.resolveEnded = resolve;
      this.rejectEnded = reject;
    });
    // A source error rejects `ended`; a caller that never awaits it must not crash the process for it.
    this.ended.catch(() => undefined);
  }

  async open(): Promise<void> {
    try {
      for (const c of [...this.incremental, ...this.loops.flatMap((l) => l.connections)]) {
        this.sockets.set(lineKey(c), await localSender(c, (error) => this.sendFailed(error)));
      }
    } catch (error) {
      await this.close();
      throw error;
    }
    const start = this.clock.now() + this.startDelayNs;
    this.timer = this.clock.setTimer(start, () => this.pump());
    for (const loop of this.loops) loop.timer = this.clock.setTimer(start, () => this.cycle(loop));
  }

  stats(): CmeSenderStats {
    const c = this.counts;
    return { ...c, sent: { ...c.sent }, faults: { ...c.faults } };
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    for (const loop of this.loops) if (loop.timer !== null) this.clock.clearTimer(loop.timer);
    for (const h of this.immediates) clearImmediate(h);
    this.immediates.clear();
    this.resolveEnded();
    const sockets = [...this.sockets.values()];
    this.sockets.clear();
    return Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.close(() => resolve())))).then(() => undefined);
  }

  /**
   * Runs `next` after one turn of the event loop. Not a pacing decision (what it sends is due
   * already, by the clock): the turn lets receivers in this process and the OS buffers drain.
   */
  private soon(next: () => void): void {
    const h = setImmediate(() => {
      this.immediates.delete(h);
      next();
    });
    this.immediates.add(h);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Sends every incremental packet that is due, up to a burst, then waits for the next one's time. */
  private pump(): void {
    this.timer = null;
    if (this.closed) return;
    try {
      const now = this.clock.now();
      if (this.stallUntil !== null && now < this.stallUntil) {
        this.timer = this.clock.setTimer(this.stallUntil, () => this.pump());
        return;
      }
      this.stallUntil = null;
      for (let n = 0; ; n++) {
        const p = this.peek();
        if (p === null) return this.finish(now);
        const due = this.dueAt(p, now);
        if (due > now) {
          this.timer = this.clock.setTimer(due, () => this.pump());
          return;
        }
        if (n >= this.burst) return this.soon(() => this.pump());
        this.pending = null;
        this.send(p);
        const stall = this.stalls.get(p.seqNum);
        if (stall !== undefined) {
          this.counts.faults.stall++;
          this.stallUntil = now + stall;
          // The timeline resumes where it stopped: packets after the stall keep their spacing.
          if (this.origin !== null) this.origin = { wall: this.origin.wall + stall, data: this.origin.data };
          this.timer = this.clock.setTimer(this.stallUntil, () => this.pump());
          return;
        }
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private peek(): Mdp3SourcePacket | null {
    if (this.pending === null) {
      this.iterator ??= this.source.packets()[Symbol.iterator]();
      const r = this.iterator.next();
      if (r.done === true) return null;
      this.pending = r.value;
    }
    return this.pending;
  }

  /** Clock time the packet is due: the first now, each next one its data distance later, divided by the speed. */
  private dueAt(p: Mdp3SourcePacket, now: bigint): bigint {
    if (this.speed === 'max') return now;
    this.origin ??= { wall: now, data: p.tsNs };
    const dataNs = p.tsNs - this.origin.data;
    // A float only for the pacing decision; the packets' own times are untouched bigints.
    return this.origin.wall + (this.speed === 1 ? dataNs : BigInt(Math.round(Number(dataNs) / this.speed)));
  }

  /** One incremental packet on A and B, with its faults. */
  private send(p: Mdp3SourcePacket): void {
    const seq = p.seqNum;
    const f = this.counts.faults;
    this.counts.packets++;
    this.counts.lastSeqNum = seq;
    let bytes = p.bytes;
    if (this.corrupt.has(seq)) {
      bytes = corrupted(bytes);
      f.corrupt++;
    }
    const copies = this.duplicate.has(seq) ? 2 : 1;
    if (copies === 2) f.duplicate++;
    const both = this.dropBoth.has(seq);
    if (both) f.dropBoth++;
    const onA = !both && !this.dropA.has(seq);
    if (!both && !onA) f.dropA++;
    const held = this.heldA;
    if (onA && held === null && this.reorder.has(seq)) {
      f.reorder++;
      this.heldA = Array.from({ length: copies }, () => bytes);
    } else {
      if (onA) for (let i = 0; i < copies; i++) this.put(this.lineA, bytes);
      // The held packet goes right after its successor (or in its place, if A drops the successor).
      if (held !== null) for (const h of held) this.put(this.lineA, h);
      this.heldA = null;
    }
    if (this.lineB !== undefined && !both) for (let i = 0; i < copies; i++) this.put(this.lineB, bytes);
  }

  private finish(now: bigint): void {
    if (this.heldA !== null) for (const h of this.heldA) this.put(this.lineA, h);
    this.heldA = null;
    this.counts.ended = true;
    this.loopsUntil = this.lingerNs === null ? null : now + this.lingerNs;
    this.resolveEnded();
  }

  /** Loops run while the incremental feed runs, and `lingerMs` after it. */
  private loopsDone(now: bigint): boolean {
    return this.counts.ended && this.loopsUntil !== null && now >= this.loopsUntil;
  }

  /** Sends the next burst of a loop's cycle; a cycle's packets are numbered from 1. */
  private cycle(loop: Loop): void {
    loop.timer = null;
    if (this.closed) return;
    try {
      const now = this.clock.now();
      if (this.stallUntil !== null && now < this.stallUntil) {
        loop.timer = this.clock.setTimer(this.stallUntil, () => this.cycle(loop));
        return;
      }
      if (loop.packets === null) {
        if (this.loopsDone(now)) return;
        loop.packets = loop.fetch();
        loop.index = 0;
      }
      const end = Math.min(loop.packets.length, loop.index + this.burst);
      for (; loop.index < end; loop.index++) {
        const p = loop.packets[loop.index]!;
        const bytes = withSeqNum(p instanceof Uint8Array ? p : p.bytes, loop.index + 1);
        for (const c of loop.connections) this.put(c, bytes);
      }
      if (loop.index < loop.packets.length) return this.soon(() => this.cycle(loop));
      loop.packets = null;
      this.counts[`${loop.kind}Cycles`]++;
      loop.timer = this.clock.setTimer(now + loop.intervalNs, () => this.cycle(loop));
    } catch (error) {
      this.fail(error);
    }
  }

  private put(c: MulticastConnection, bytes: Uint8Array): void {
    const key = lineKey(c);
    const socket = this.sockets.get(key);
    if (socket === undefined) return;
    socket.send(bytes);
    this.counts.sent[key] = (this.counts.sent[key] ?? 0) + 1;
  }

  private sendFailed(error: Error): void {
    this.counts.sendErrors++;
    this.counts.lastError = error.message;
  }

  private fail(error: unknown): void {
    this.rejectEnded(error);
    void this.close();
  }
}

/** A UDP socket that sends to one group, from this host's loopback only. */
async function localSender(c: MulticastConnection, onError: (error: Error) => void): Promise<Socket> {
  const socket = createSocket({ type: 'udp4' });
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // The three settings that keep every datagram on this host (see the module comment).
    socket.setMulticastInterface(LOOPBACK);
    socket.setMulticastTTL(0);
    socket.setMulticastLoopback(true);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(c.port, c.ip, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    socket.close();
    throw error;
  }
  socket.on('error', onError);
  return socket;
}

type LoopKind = 'snapshot' | 'orderBookSnapshot' | 'definition';

class Loop {
  packets: readonly Mdp3LoopPacket[] | null = null;
  index = 0;
  timer: TimerId | null = null;
  constructor(
    readonly kind: LoopKind,
    readonly connections: readonly MulticastConnection[],
    readonly intervalNs: bigint,
    readonly fetch: () => readonly Mdp3LoopPacket[],
  ) {}
}

const lineKey = (c: ChannelConnection): string => `${c.feedType}${c.feed}`;

/** A copy with another `MsgSeqNum`: each loop cycle counts its own packets from 1, as CME's loops do. */
function withSeqNum(bytes: Uint8Array, seqNum: number): Uint8Array {
  const copy = bytes.slice();
  if (copy.length >= 4) new DataView(copy.buffer, copy.byteOffset, copy.byteLength).setUint32(0, seqNum, true);
  return copy;
}

/**
 * A copy that no decoder accepts but that still names its packet: the header (MsgSeqNum,
 * SendingTime) is kept and the first message's MsgSize is flipped, so the size runs past the
 * packet's end (or falls under the smallest message, for a packet over 32 KB). A packet with no
 * message is cut short of its header instead.
 */
function corrupted(bytes: Uint8Array): Uint8Array {
  if (bytes.length < PACKET_HEADER_BYTES + 2) return bytes.slice(0, Math.min(bytes.length, 6));
  const copy = bytes.slice();
  const view = new DataView(copy.buffer, copy.byteOffset, copy.byteLength);
  const flipped = view.getUint16(PACKET_HEADER_BYTES, true) ^ 0xffff;
  view.setUint16(PACKET_HEADER_BYTES, flipped > copy.length - PACKET_HEADER_BYTES ? flipped : 0, true);
  return copy;
}

const FAULT_SYNTAX = 'drop-a:SEQ, drop-both:SEQ, reorder:SEQ, duplicate:SEQ, corrupt:SEQ (SEQ a MsgSeqNum or a range 10-20), stall:SEQ:MS';

/**
 * `drop-a:5,drop-both:10-12,reorder:20,duplicate:30,corrupt:40,stall:50:2000` (what `mdcap emulate
 * --venue cme --fault` takes) → faults.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` saying the syntax for anything else.
 */
export function parseCmeFaults(text: string): CmeFaults {
  const lists: Record<'dropA' | 'dropBoth' | 'reorder' | 'duplicate' | 'corrupt', number[]> = {
    dropA: [],
    dropBoth: [],
    reorder: [],
    duplicate: [],
    corrupt: [],
  };
  const stall: CmeStall[] = [];
  const names = { 'drop-a': 'dropA', 'drop-both': 'dropBoth', reorder: 'reorder', duplicate: 'duplicate', corrupt: 'corrupt' } as const;
  for (const part of text.split(',').map((p) => p.trim())) {
    if (part === '') continue;
    const bad = (): never => {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `--fault: expected ${FAULT_SYNTAX}, found ${JSON.stringify(part)}`);
    };
    const s = /^stall:(\d+):(\d+)$/.exec(part);
    if (s !== null) {
      if (Number(s[1]) < 1 || Number(s[2]) < 1) bad();
      stall.push({ afterSeq: Number(s[1]), ms: Number(s[2]) });
      continue;
    }
    const m = /^([a-z-]+):(\d+)(?:-(\d+))?$/.exec(part);
    const key = m === null ? undefined : names[m[1] as keyof typeof names];
    if (m === null || key === undefined) return bad();
    const from = Number(m[2]);
    const to = m[3] === undefined ? from : Number(m[3]);
    if (from < 1 || to < from || to - from > 1_000_000) bad();
    for (let q = from; q <= to; q++) lists[key].push(q);
  }
  const out: { -readonly [K in keyof CmeFaults]: CmeFaults[K] } = {};
  for (const [k, v] of Object.entries(lists)) if (v.length > 0) out[k as keyof typeof lists] = v;
  if (stall.length > 0) out.stall = stall;
  return out;
}

export interface LocalChannelOptions {
  /** Default 310. */
  readonly id?: number;
  readonly label?: string;
  /** The port of line A's groups (incremental, snapshots, definitions): one port per line, the groups tell the feeds apart. */
  readonly portA: number;
  /** Default portA + 1. */
  readonly portB?: number;
  /**
   * The first two octets of the groups. Default 239.255, the organization-local scope: never
   * CME's own groups, so a machine that also receives CME cannot mix the two.
   */
  readonly groupPrefix?: string;
  /** What the channel carries, for the file a receiver reads (`config.xml`'s `<products>`). */
  readonly products?: readonly ChannelProduct[];
}

/**
 * A sender's channel for the loops alone (definitions, MBP and MBO snapshots): a second sender
 * beside one for the incremental lines. The sender wants an incremental connection, so it gets
 * one nobody joins, on `unusedPort`.
 */
export function loopsOnly(channel: ChannelConfig, unusedPort: number): ChannelConfig {
  const unused: ChannelConfig['connections'][number] = {
    id: 'unused',
    feedType: 'I',
    protocol: 'UDP/IP',
    ip: '239.254.99.2',
    hostIps: [],
    port: unusedPort,
    feed: 'A',
  };
  return {
    ...channel,
    connections: [...channel.connections.filter((c) => c.feedType === 'N' || c.feedType === 'S' || c.feedType === 'SMBO'), unused],
  };
}

/**
 * A channel for emulating on this host, laid out as CME lays out channel 310 (incremental,
 * instrument replay, MBP and MBO snapshot feeds on A and B, line A's groups on one port, B's on
 * another) in a local multicast scope: `<prefix>.31.1` incremental A, `.32.1` B, `.31.43` /
 * `.32.43` definitions, `.31.22` / `.32.22` MBP snapshots, `.31.75` / `.32.75` MBO snapshots.
 */
export function localChannelConfig(options: LocalChannelOptions): ChannelConfig {
  const id = options.id ?? 310;
  const prefix = options.groupPrefix ?? '239.255';
  const portB = options.portB ?? options.portA + 1;
  for (const [name, port] of [
    ['portA', options.portA],
    ['portB', portB],
  ] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${name}: expected a UDP port from 1 to 65535, found ${describeValue(port)}`);
    }
  }
  if (!/^(22[4-9]|23\d)\.\d{1,3}$/.test(prefix) || Number(prefix.split('.')[1]) > 255) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `groupPrefix: expected two octets of a multicast address such as 239.255, found ${JSON.stringify(prefix)}`,
    );
  }
  const conn = (type: 'I' | 'N' | 'S' | 'SMBO', feed: FeedLine, last: number): ChannelConnection => ({
    id: `${id}${type}${feed}`,
    feedType: type,
    protocol: 'UDP/IP',
    ip: `${prefix}.${feed === 'A' ? 31 : 32}.${last}`,
    hostIps: [LOOPBACK],
    port: feed === 'A' ? options.portA : portB,
    feed,
  });
  return {
    id,
    label: options.label ?? `mdcap emulated channel ${id}`,
    products: options.products ?? [],
    connections: [
      conn('I', 'A', 1),
      conn('I', 'B', 1),
      conn('N', 'A', 43),
      conn('N', 'B', 43),
      conn('S', 'A', 22),
      conn('S', 'B', 22),
      conn('SMBO', 'A', 75),
      conn('SMBO', 'B', 75),
    ],
  };
}

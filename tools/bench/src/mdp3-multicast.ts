/**
 * CME MDP 3.0 multicast → Parquet capture, end to end, with the loss counted. A small C sender
 * (tools/bench/c/mdp3-blast.c, compiled here with gcc; skipped without it) sends a seeded
 * synthetic day of the emulator's exchange (4 instruments) on the incremental lines A and B
 * (each packet on A then on B, as CME does), paced to a target rate per line with sendmmsg, or as
 * fast as the kernel takes it (rate 0). This process records the channel as `mdcap record --feed
 * cme` does (`record()`: the handler on a worker thread: sockets, A/B arbitration, SBE, books →
 * shared ring → engine → CaptureWriter, finalized to Parquet), its definition and MBP snapshot
 * loops sent by the Node emulator (`startCmeMulticast`) so that the books are built first.
 *
 * Measured per rate: the sender's achieved rate, the packets the handler processed, the packets
 * lost (the channel's `gap` statuses, plus any missing at the tail), kernel drops on the
 * incremental sockets (/proc/net/udp), events written, and the CPU of the recorder's threads.
 * Baseline in the same run, at the same rates: bare `dgram` sockets on both groups (8 MiB
 * receive buffers) that only count the datagrams: the ceiling of a Node socket on this host.
 *
 * Each run starts with a warm-up (`warmup` packets at 10 k/s per line, so that the receivers' code
 * is compiled before the rate is on; 0: none, a cold start), then sends `packets` at the target
 * rate (at most 12 s of them at a paced rate). Loss counts over every packet, warm-up included.
 *
 * Usage: node dist/mdp3-multicast.js [packets=200000] [rates=25000,35000,50000,100000,200000,300000,0] [batch=32] [warmup=20000]
 * (rates in packets per second per line, 0: as fast as possible). One JSON line per case on
 * stdout; a summary table on stderr; MDCAP_BENCH_TRACE=1 traces the recorder every 100 ms.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Status } from '@mdcap/core';
import { datasetPath, localChannelConfig, loopsOnly, Mdp3Exchange, startCmeMulticast } from '@mdcap/emulators';
import type { CmeMulticast, Mdp3PacketSource } from '@mdcap/emulators';
import { CmeWorkerFeed } from '@mdcap/feeds';
import type { CmeHandlerStats } from '@mdcap/feeds';
import { channelConfigXml, findConnection, parseSchema, SbeCodec } from '@mdcap/mdp3';
import type { ChannelConfig, MulticastConnection } from '@mdcap/mdp3';
import { openFeed, record, verifyCapture } from '@mdcap/pipeline';
import { arg, report } from './measure.js';

const N = arg(0, 200_000);
const RATES = (process.argv[3] ?? '25000,35000,50000,100000,200000,300000,0').split(',').map(Number);
const BATCH = arg(2, 32);
const WARMUP = arg(3, 20_000);
const WARMUP_RATE = 10_000;
/** A paced run sends at most this long (its packet count cut to fit). */
const MAX_SECONDS = 12;
const here = dirname(fileURLToPath(import.meta.url));
const SOURCE = resolve(here, '..', 'c', 'mdp3-blast.c');
const RECV_BUFFER = 8 << 20;
/** After the sender is done: give up waiting for the last packet once nothing moved for this long. */
const IDLE_MS = 10_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `ok` every 10 ms until it holds or `deadlineMs` passed; true if it held. */
async function until(ok: () => boolean, deadlineMs: number): Promise<boolean> {
  const end = performance.now() + deadlineMs;
  while (!ok()) {
    if (performance.now() > end) return false;
    await sleep(10);
  }
  return true;
}

// --- the sender, compiled ----------------------------------------------------------------------
const work = mkdtempSync(join(tmpdir(), 'mdcap-bench-mdp3-mc-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));
const BLAST = join(work, 'mdp3-blast');
{
  const gcc = spawnSync('gcc', ['-O2', '-o', BLAST, SOURCE], { encoding: 'utf8' });
  if (gcc.error !== undefined && (gcc.error as NodeJS.ErrnoException).code === 'ENOENT') {
    process.stderr.write('mdp3-multicast: skipped: gcc not found (it compiles the C multicast sender tools/bench/c/mdp3-blast.c)\n');
    process.exit(0);
  }
  if (gcc.status !== 0) throw new Error(`gcc -O2 ${SOURCE} failed:\n${gcc.stderr}${gcc.error?.message ?? ''}`);
}

// --- the data: a synthetic exchange, its incremental packets in the sender's file -----------------
const schemaFile = datasetPath('cme-mdp3', 'templates_FixBinary.v9.xml');
const codec = new SbeCodec(parseSchema(readFileSync(schemaFile, 'utf8'), 'v9'));
const exchange = Mdp3Exchange.synthetic({ codec, instruments: 4, packets: WARMUP + N, seed: 5 });
const symbols = exchange.instruments.map((i) => i.symbol);
const blastFile = join(work, 'packets.bin');
let packetBytes = 0;
{
  const parts: Uint8Array[] = [];
  for (const p of exchange.packets()) {
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, p.bytes.length, true);
    parts.push(len, p.bytes);
    packetBytes += p.bytes.length;
  }
  writeFileSync(blastFile, Buffer.concat(parts));
}
const dataNote = `synthetic, 4 instruments, seed 5, avg ${Math.round(packetBytes / (WARMUP + N))} B a packet, on lines A and B; sendmmsg batch ${BATCH}`;

/** One run's packets: the warm-up's, then the measured ones (all of N, or what the rate sends in MAX_SECONDS). */
function runOf(rate: number): { main: number; total: number; note: string } {
  const main = rate === 0 ? N : Math.min(N, Math.round(rate * MAX_SECONDS));
  const warm = WARMUP === 0 ? 'no warm-up' : `after ${WARMUP} warm-up packets at ${WARMUP_RATE / 1000}k/s`;
  return { main, total: WARMUP + main, note: `${main} packets (${2 * main} datagrams) ${warm}; ${dataNote}` };
}

interface Blast {
  /** Every packet sent per line, warm-up included; `seconds` and `rate` are the measured phase's. */
  packets: number;
  datagrams: number;
  seconds: number;
  rate: number;
  retries: number;
  errors: number;
  cpuUser: number;
  cpuSystem: number;
}

/** Runs the sender to the end, without blocking this thread (the recorder's engine runs on it). */
function blast(a: MulticastConnection, b: MulticastConnection, rate: number, total: number): Promise<Blast> {
  const args = [
    blastFile,
    a.ip,
    String(a.port),
    b.ip,
    String(b.port),
    String(rate),
    String(BATCH),
    String(total),
    String(WARMUP),
    String(WARMUP_RATE),
  ];
  return new Promise((done, fail) => {
    const child = spawn(BLAST, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    blasterPid = child.pid ?? -1;
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      if (code !== 0 || out === '') fail(new Error(`mdp3-blast exited with ${code}: ${err}${out}`));
      else done(JSON.parse(out) as Blast);
    });
  });
}

/** A channel on fresh ports (the groups of `localChannelConfig`), its config.xml, and its incremental lines. */
function freshChannel(dir: string): { channel: ChannelConfig; config: string; lineA: MulticastConnection; lineB: MulticastConnection } {
  const port = 30_000 + 2 * Math.floor(Math.random() * 10_000);
  const channel = localChannelConfig({ portA: port, portB: port + 1 });
  const config = join(dir, 'config.xml');
  writeFileSync(config, channelConfigXml([channel]));
  const line = (feed: 'A' | 'B'): MulticastConnection => {
    const c = findConnection(channel, 'I', feed);
    if (c === undefined) throw new Error(`no incremental ${feed} line in the local channel`);
    return c;
  };
  return { channel, config, lineA: line('A'), lineB: line('B') };
}

/** Kernel drops (receive buffer full) of the sockets bound to these groups, from /proc/net/udp (this network namespace). */
function socketDrops(lines: readonly MulticastConnection[]): number {
  const keys = new Set(
    lines.map((c) => {
      const ip = c.ip
        .split('.')
        .map((o) => Number(o).toString(16).toUpperCase().padStart(2, '0'))
        .reverse()
        .join('');
      return `${ip}:${c.port.toString(16).toUpperCase().padStart(4, '0')}`;
    }),
  );
  let drops = 0;
  for (const row of readFileSync('/proc/net/udp', 'utf8').trim().split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (keys.has(f[1]!)) drops += Number(f[f.length - 1]);
  }
  return drops;
}

/** CPU clock ticks (user + system) of each thread of this process, by thread id. */
function threadTicks(): Map<number, number> {
  const m = new Map<number, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      m.set(Number(tid), Number(f[11]) + Number(f[12]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return m;
}
/** The sender's process id while it runs (its CPU is its own, reported by it). */
let blasterPid = -1;

/**
 * CPU clock ticks of every other process on the machine (kernel threads included; children that
 * ended count in their parent's), not this one nor the sender: what else competed for the cores.
 */
function othersTicks(): number {
  let sum = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid || Number(pid) === blasterPid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      sum += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    } catch {
      // ended meanwhile
    }
  }
  return sum;
}
const TICK = 1 / Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** Where the CPU counters stood at a moment: this process's threads, the process, the other processes. */
interface CpuMark {
  readonly ticks: Map<number, number>;
  readonly process: NodeJS.CpuUsage;
  readonly others: number;
  readonly at: number;
}
const cpuMark = (): CpuMark => ({ ticks: threadTicks(), process: process.cpuUsage(), others: othersTicks(), at: performance.now() });

interface CpuUse {
  /** Seconds of wall time since the mark. */
  readonly window: number;
  /** CPU seconds of the main thread, of the busiest other thread (the handler's), of the whole process, of the other processes. */
  readonly main: number;
  readonly busiestOther: number;
  readonly process: number;
  readonly others: number;
}

function cpuSince(m: CpuMark): CpuUse {
  let main = 0;
  let other = 0;
  for (const [tid, t] of threadTicks()) {
    const d = (t - (m.ticks.get(tid) ?? 0)) * TICK;
    if (tid === process.pid) main = d;
    else other = Math.max(other, d);
  }
  const u = process.cpuUsage(m.process);
  return {
    window: (performance.now() - m.at) / 1000,
    main,
    busiestOther: other,
    process: (u.user + u.system) / 1e6,
    others: (othersTicks() - m.others) * TICK,
  };
}

const label = (rate: number): string => (rate === 0 ? 'max' : `${rate / 1000}k/s`);
const fmt = (n: number): string => `${Math.round(n / 1000)}k`;
const summary: string[] = [];

// --- baseline: bare sockets that only count ---------------------------------------------------------
async function baseline(rate: number): Promise<void> {
  const run = runOf(rate);
  const dir = mkdtempSync(join(work, 'base-'));
  const { lineA, lineB } = freshChannel(dir);
  let received = 0;
  /** When the measured phase's first datagram came (the warm-up's all in), and the last one. */
  let first = 0;
  let last = 0;
  const sockets: Socket[] = [];
  for (const g of [lineA, lineB]) {
    const s = createSocket({ type: 'udp4', reuseAddr: true });
    await new Promise<void>((r) => s.bind(g.port, g.ip, r));
    s.addMembership(g.ip, '127.0.0.1');
    s.setRecvBufferSize(RECV_BUFFER);
    s.on('message', () => {
      if (received++ === 2 * WARMUP) {
        first = performance.now();
        if (WARMUP > 0) mark = cpuMark();
      }
      last = performance.now();
    });
    sockets.push(s);
  }
  const t0 = performance.now();
  let mark = cpuMark();
  let cpu: CpuUse | null = null;
  const sent = await blast(lineA, lineB, rate, run.total);
  // Until every datagram is in, or nothing more came for half a second (the CPU taken when the last came).
  await until(() => {
    if (received >= 2 * run.total) return true;
    if (performance.now() - Math.max(last, t0) < 100) cpu = cpuSince(mark);
    return performance.now() - Math.max(last, t0) > 500;
  }, 30_000);
  if (received >= 2 * run.total || cpu === null) cpu = cpuSince(mark);
  const measured = Math.max(0, received - 2 * WARMUP);
  const cpuNote =
    `CPU over the measured ${cpu.window.toFixed(2)} s: receiver ${cpu.main.toFixed(2)} s (${((cpu.main / Math.max(1, measured)) * 1e6).toFixed(1)} us a datagram); ` +
    `other processes ${cpu.others.toFixed(2)} s (${cpus().length} cores)`;
  const seconds = (last - first) / 1000;
  const drops = socketDrops([lineA, lineB]);
  for (const s of sockets) s.close();
  rmSync(dir, { recursive: true, force: true });
  const lost = 2 * run.total - received;
  report({
    bench: 'mdp3-multicast',
    case: `baseline: bare dgram sockets counting A and B datagrams, sender at ${label(rate)} per line`,
    items: measured,
    seconds,
    note: `${run.note}; sent ${fmt(sent.rate)} packets/s per line; received ${received} of ${2 * run.total} datagrams (${lost} lost, ${drops} kernel drops); ${cpuNote}`,
  });
  summary.push(
    `| baseline | ${label(rate)} | ${run.main} | ${fmt(sent.rate)} | ${received}/${2 * run.total} datagrams | ${lost} | ${drops} | - | ${lost === 0 ? 'yes' : 'no'} | ${fmt(measured / seconds)} datagrams/s received; ${cpuNote} |`,
  );
}

// --- the recorder --------------------------------------------------------------------------------------
async function recorder(rate: number): Promise<void> {
  const run = runOf(rate);
  const dir = mkdtempSync(join(work, 'rec-'));
  const { channel, config, lineA, lineB } = freshChannel(dir);
  const out = join(dir, 'cap');
  const stop = new AbortController();
  const resynced = new Set<string>();
  let lost = 0;
  let gaps = 0;
  let maxSeq = 0n;
  let firstAt = 0;
  /** The CPU counters as the measured phase starts (the warm-up's last packet through). */
  let mark = cpuMark();
  let lastAt = 0;
  let events = 0;
  const outcome: { failed: Error | null } = { failed: null };
  // As `record({ feed: { feed: 'cme', … } })` opens it, opened here to reach the handler's counters.
  const opened = openFeed({ feed: 'cme', symbols, channel: channel.id, channelConfig: config, sbeSchema: schemaFile, gapWaitMs: 50 });
  if (!(opened.provider instanceof CmeWorkerFeed)) throw new Error('expected the cme feed on its handler thread (CmeWorkerFeed)');
  const worker = opened.provider;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const recording = record({
    feed: opened,
    symbols,
    out,
    signal: stop.signal,
    onStart: (engine) => {
      engine.onStatus((s: Status) => {
        if (s.kind === 'resync') resynced.add(s.symbol);
        if (s.kind === 'gap' && s.symbol === '*' && s.fromSeq !== null && s.toSeq !== null) {
          gaps++;
          lost += Number(s.toSeq - s.fromSeq) + 1;
        }
      });
      engine.onEvent((e) => {
        events++;
        if (e.seq === null || e.seq < 1n || resynced.size < symbols.length) return;
        if (firstAt === 0 && e.seq > BigInt(WARMUP)) {
          firstAt = performance.now();
          if (WARMUP > 0) mark = cpuMark();
        }
        if (e.seq > maxSeq) {
          maxSeq = e.seq;
          lastAt = performance.now();
        }
      });
      started();
    },
  });
  recording.catch((error: unknown) => {
    outcome.failed = error instanceof Error ? error : new Error(String(error));
    started();
  });
  await running;
  // The loops first: definitions and MBP snapshots (the books as of before packet 1), cycling until closed.
  const snapshots = exchange.snapshotPackets(0);
  const definitions = exchange.definitionPackets(0);
  const loops: Mdp3PacketSource = { packets: () => [], snapshotPackets: () => snapshots, definitionPackets: () => definitions };
  let loopSender: CmeMulticast | null = null;
  let row = `| recorder | ${label(rate)} | failed |`;
  try {
    loopSender = await startCmeMulticast({
      source: loops,
      channel: loopsOnly(channel, lineA.port + 2),
      speed: 'max',
      lingerMs: Infinity,
      snapshotIntervalMs: 50,
      definitionIntervalMs: 50,
    });
    if (!(await until(() => outcome.failed !== null || symbols.every((s) => resynced.has(s)), 60_000)) || outcome.failed !== null) {
      throw new Error(
        `the books from the snapshot loop: ${resynced.size} of ${symbols.length} resynced${outcome.failed === null ? '' : `; ${outcome.failed.message}`}`,
      );
    }
    const eventsBefore = events;
    mark = cpuMark();
    const t0 = performance.now();
    // MDCAP_BENCH_TRACE=1: every 100 ms on stderr, the packets the engine reached, the handler's
    // counters, the ring's depth, the kernel's drops, and the CPU each thread used meanwhile.
    let traced = threadTicks();
    const trace =
      process.env['MDCAP_BENCH_TRACE'] === '1'
        ? setInterval(() => {
            const now = threadTicks();
            const busy = [...now]
              .map(
                ([tid, t]) => [tid === process.pid ? 'main' : String(tid), Math.round((t - (traced.get(tid) ?? 0)) * TICK * 1000)] as const,
              )
              .filter(([, ms]) => ms > 0)
              .map(([who, ms]) => `${who} ${ms} ms`);
            traced = now;
            const st = worker.stats();
            process.stderr.write(
              `  ${Math.round(performance.now() - t0)} ms: engine at seq ${maxSeq}, handler processed ${st?.processed ?? '?'} lost ${st?.lostPackets ?? '?'}, ring depth ${worker.ringStats().depth}, kernel drops ${socketDrops([lineA, lineB])}; CPU ${busy.join(', ')}\n`,
            );
          }, 100)
        : null;
    const sent = await blast(lineA, lineB, rate, run.total);
    const sentAt = performance.now();
    // The last packet at the engine, or nothing new (events, handler counters) for IDLE_MS. The
    // CPU is taken when something last moved (not over the idle wait).
    let progress = -1;
    let movedAt = performance.now();
    let cpu = cpuSince(mark);
    const done = (): boolean =>
      maxSeq >= BigInt(run.total) || (worker.stats()?.processed ?? 0) + (worker.stats()?.lostPackets ?? 0) >= run.total;
    await until(() => {
      if (done()) return true;
      const now = events + (worker.stats()?.processed ?? 0);
      if (now !== progress) {
        progress = now;
        movedAt = performance.now();
        cpu = cpuSince(mark);
      }
      return performance.now() - movedAt > IDLE_MS;
    }, 300_000);
    if (done()) cpu = cpuSince(mark);
    if (trace !== null) clearInterval(trace);
    const drainedAt = done() ? performance.now() : movedAt;
    // The thread reports its counters every 100 ms.
    await sleep(300);
    const st: CmeHandlerStats | null = worker.stats() ?? null;
    const drops = socketDrops([lineA, lineB]);
    const ring = worker.ringStats();
    stop.abort();
    const rec = await recording;
    const verify = await verifyCapture(out);
    const tail = maxSeq >= BigInt(run.total) ? 0 : run.total - Number(maxSeq);
    const totalLost = lost + tail;
    const processed = st?.processed ?? run.total - totalLost;
    const items = Math.max(0, processed - WARMUP);
    const seconds = ((lastAt || drainedAt) - (firstAt || t0)) / 1000;
    // Zero loss: every packet captured. Datagrams the kernel dropped on one line only, whose copy
    // came on the other (A/B arbitration), are no loss, but they are the margin, said beside it.
    const zero = totalLost === 0 && ring.drops === 0 && (st?.lostPackets ?? 0) === 0;
    const verdict = zero
      ? drops === 0
        ? 'zero loss'
        : `zero loss (A/B arbitration filled ${drops} datagrams dropped on one line)`
      : 'LOSS';
    const sender = sent.cpuUser + sent.cpuSystem;
    const per = (x: number): string => ((x / Math.max(1, items)) * 1e6).toFixed(1);
    const cpuNote =
      `CPU over the measured ${cpu.window.toFixed(2)} s: handler thread ${cpu.busiestOther.toFixed(2)} s (${per(cpu.busiestOther)} us a packet), ` +
      `main thread ${cpu.main.toFixed(2)} s (${per(cpu.main)} us), whole process ${cpu.process.toFixed(2)} s; sender ${sender.toFixed(2)} s for the whole run; ` +
      `other processes ${cpu.others.toFixed(2)} s (${cpus().length} cores)`;
    report({
      bench: 'mdp3-multicast',
      case: `CME multicast A+B → handler thread → ring → engine → Parquet capture, sender at ${label(rate)} per line`,
      items,
      seconds,
      note:
        `${run.note}; sent ${fmt(sent.rate)} packets/s per line; ` +
        `processed ${processed} of ${run.total}, lost ${totalLost} (${gaps} channel gaps, ${tail} missing at the tail; handler lostPackets ${st?.lostPackets ?? '?'}), ` +
        `${drops} kernel drops on the incremental sockets, ring drops ${ring.drops} (high water ${ring.highWater} of ${ring.capacity}); ` +
        `${events - eventsBefore} events at the engine, ${rec.events} written, ${verify.rows} rows verified, ${verify.gapsRecorded} gaps recorded (the books' start-up gaps included); ` +
        `drained ${((drainedAt - sentAt) / 1000).toFixed(2)} s after the sender ended; ${cpuNote}; ${verdict}`,
    });
    row =
      `| recorder | ${label(rate)} | ${run.main} | ${fmt(sent.rate)} | ${processed}/${run.total} packets | ${totalLost} | ${drops} | ${rec.events} | ${zero ? (drops === 0 ? 'yes' : 'yes (A/B)') : 'no'} | ` +
      `${fmt(items / seconds)}/s at the engine; drained ${((drainedAt - sentAt) / 1000).toFixed(2)} s after the send; ${cpuNote} |`;
  } catch (error) {
    process.stderr.write(`mdp3-multicast: recorder at ${label(rate)}: ${String(error)}\n`);
    stop.abort();
    await recording.catch(() => undefined);
  } finally {
    await loopSender?.close();
    rmSync(dir, { recursive: true, force: true });
  }
  summary.push(row);
}

for (const rate of RATES) {
  await baseline(rate);
  await recorder(rate);
}
process.stderr.write(
  `\n| receiver | target/line | measured packets | sent/line | received (warm-up included) | lost | kernel drops | events written | zero loss | notes |\n|---|---|---|---|---|---|---|---|---|---|\n${summary.join('\n')}\n`,
);
process.exit(0);

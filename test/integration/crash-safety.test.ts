import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader } from '@mdcap/capture';
import { MDCAP_BIN, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * `kill -9` at random moments: during start-up (while the recorder repairs the previous
 * session), between flushes, during a flush or a rotation's finalization. After every kill,
 * `mdcap verify` must read the capture (exit 0 or 1, never 2), `mdcap replay` must run it, the
 * killed session's data must end no earlier than one flush window (plus scheduling slack)
 * before the kill, and every session's data must be a prefix of what the feed sent: sequence
 * numbers 1..k of each symbol with no hole. The next `mdcap record` into the same root repairs
 * the previous session itself; every fifth time `verify --repair` does it instead.
 *
 * The schedule is random; its seed is printed, and MDCAP_CRASH_SEED=n replays it.
 */
const KILLS = 20;
const FLUSH_MS = 100;
/** Scheduling slack on a loaded 2-core machine: event-loop delay, process kill latency. */
const SLACK_MS = 150;
const SEED = Number(process.env['MDCAP_CRASH_SEED'] ?? Date.now() % 1_000_000);

function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function sessionsIn(root: string): number {
  try {
    return (JSON.parse(readFileSync(join(root, 'manifest.json'), 'utf8')) as { sessions: unknown[] }).sessions.length;
  } catch {
    return 0; // not written yet
  }
}

interface Row {
  readonly session: number;
  readonly symbol: string;
  readonly seq: bigint | null;
  readonly tsRecv: bigint;
  readonly type: string;
}

/** Every row of the capture (Parquet and segments, as a reader sees them), with its session. */
async function rows(root: string): Promise<{ rows: Row[]; reader: CaptureReader }> {
  const reader = CaptureReader.open(root);
  const starts = reader.manifest.sessions.map((s) => BigInt(s.firstRecvSeq));
  const out: Row[] = [];
  for (const f of reader.files()) {
    for await (const b of reader.batches(f)) {
      for (let i = 0; i < b.length; i++) {
        const rs = BigInt(b.recvSeqNumber(i));
        let session = 0;
        while (session + 1 < starts.length && rs >= starts[session + 1]!) session++;
        const e = b.event(i);
        out.push({ session: session + 1, symbol: e.symbol, seq: e.seq, tsRecv: e.tsRecv, type: e.type });
      }
    }
  }
  return { rows: out, reader };
}

/** Per session and symbol, the sequence numbers must be exactly 1..max: a prefix, no hole. */
function holes(all: readonly Row[]): string[] {
  const seqs = new Map<string, Set<bigint>>();
  for (const r of all) {
    if (r.seq === null || r.symbol === '*') continue;
    const key = `session ${r.session} ${r.symbol}`;
    let set = seqs.get(key);
    if (set === undefined) seqs.set(key, (set = new Set()));
    set.add(r.seq);
  }
  const bad: string[] = [];
  for (const [key, set] of seqs) {
    const max = [...set].reduce((a, b) => (b > a ? b : a), 0n);
    if (BigInt(set.size) !== max) bad.push(`${key}: ${set.size} distinct seqs but max ${max}`);
  }
  return bad;
}

describe('crash safety: mdcap record killed with SIGKILL', () => {
  const root = join(tempDir('crash'), 'cap');
  afterAll(() => rmSync(join(root, '..'), { recursive: true, force: true }));

  it(`${KILLS} kills at random moments lose at most the flush window, and never anything flushed`, { timeout: 300_000 }, async () => {
    const random = rng(SEED);
    console.log(`crash-safety schedule seed ${SEED} (MDCAP_CRASH_SEED=${SEED} replays it)`);
    const losses: number[] = [];
    for (let k = 1; k <= KILLS; k++) {
      const before = sessionsIn(root);
      const child = spawn(
        process.execPath,
        [
          MDCAP_BIN,
          'record',
          '--out',
          root,
          '--symbols',
          'AAPL,MSFT',
          '--flush',
          `${FLUSH_MS}ms`,
          '--rotate',
          '1s',
          '--rate',
          '2000',
          '--seed',
          String(k),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const early = random() < 0.3;
      let started = false;
      if (early) {
        await sleep(random() * 700); // start-up: loading, repairing the previous session
      } else {
        const t0 = Date.now();
        while (sessionsIn(root) === before && Date.now() - t0 < 20_000) await sleep(5);
        started = true;
        await sleep(50 + random() * 1450);
      }
      const killNs = BigInt(Date.now()) * 1_000_000n;
      child.kill('SIGKILL');
      await exited;
      expect(stderr, `kill ${k}: the recorder reported errors before the kill`).toBe('');
      if (!existsSync(join(root, 'manifest.json'))) continue; // killed before it created anything

      const v = mdcap(['verify', root, '--json']);
      expect([0, 1], `kill ${k}: verify exit ${v.status}: ${v.stderr}`).toContain(v.status);
      expect((JSON.parse(v.stdout) as { readable: boolean }).readable).toBe(true);
      const r = mdcap(['replay', root, '--print', 'status', '--json']);
      expect(r.status, `kill ${k}: replay: ${r.stderr}`).toBe(0);

      const { rows: all, reader } = await rows(root);
      expect(holes(all), `kill ${k}`).toEqual([]);
      const session = reader.manifest.sessions.length;
      if (started && session > before) {
        const start = BigInt(reader.manifest.sessions[session - 1]!.start);
        const mine = all.filter((x) => x.session === session && x.type !== 'status');
        const last = mine.reduce<bigint | null>((m, x) => (m === null || x.tsRecv > m ? x.tsRecv : m), null);
        if (killNs - start > BigInt(FLUSH_MS + SLACK_MS) * 1_000_000n) {
          expect(last, `kill ${k}: nothing recovered of a session that ran ${(killNs - start) / 1_000_000n} ms`).not.toBeNull();
          const lossMs = Number(killNs - last!) / 1e6;
          losses.push(lossMs);
          expect(lossMs, `kill ${k}: lost the last ${lossMs.toFixed(1)} ms`).toBeLessThanOrEqual(FLUSH_MS + SLACK_MS);
        }
      }
      if (k % 5 === 0) {
        const repaired = mdcap(['verify', root, '--repair', '--json']);
        expect([0, 1], repaired.stderr).toContain(repaired.status);
        expect((JSON.parse(repaired.stdout) as { segments: number }).segments).toBe(0);
      }
    }
    // The last crash, repaired: every session closed, all Parquet, all readable, still a prefix.
    const final = mdcap(['verify', root, '--repair', '--json']);
    expect([0, 1], final.stderr).toContain(final.status);
    const report = JSON.parse(final.stdout) as {
      segments: number;
      rows: number;
      duplicates: number;
      outOfOrder: number;
      gapsUnrecorded: number;
    };
    expect(report).toMatchObject({ segments: 0, duplicates: 0, outOfOrder: 0, gapsUnrecorded: 0 });
    const { rows: all, reader } = await rows(root);
    expect(holes(all)).toEqual([]);
    expect(reader.manifest.sessions.every((s) => s.end !== null)).toBe(true);
    expect(all.length).toBe(report.rows);
    const replay = mdcap(['replay', root, '--json']);
    expect(replay.status, replay.stderr).toBe(0);
    losses.sort((a, b) => a - b);
    console.log(
      `crash-safety: ${losses.length} measured losses, median ${losses[Math.floor(losses.length / 2)]?.toFixed(1)} ms, max ${losses[losses.length - 1]?.toFixed(1)} ms (flush window ${FLUSH_MS} ms)`,
    );
  });
});

import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureWriter } from '@mdcap/capture';
import { LiveClock } from '@mdcap/core';
import { KrakenEmulator, readRecording } from '@mdcap/emulators';
import { RealtimeEngine } from '@mdcap/engine';
import { krakenFeed } from '@mdcap/feeds';
import { ReplayProvider } from '@mdcap/replay';
import { ringProvider } from '@mdcap/ring';
import { collectCallbacks, datasetFile, datasetsRoot, describeWithDataset, hashLines, mdcap, MDCAP_BIN, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * Kraken end to end: the emulator replays the real recording; the real handler records it;
 * the capture replays to the identical callback stream, and `mdcap verify` counts every
 * checksum Kraken sent.
 */
const PAIRS = ['WAVES/EUR', 'XMR/USD', 'KSM/XBT', 'GRT/ETH', 'SC/EUR', 'ETH/CHF', 'OCEAN/XBT', 'OMG/USD', 'XBT/CHF', 'ADA/XBT'];
const FILES = ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'];

describeWithDataset('cryptofeed', 'Kraken: emulator → record → replay', () => {
  const dir = tempDir('kraken');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parity: replaying the capture gives the callbacks the strategy saw live', { timeout: 60_000 }, async () => {
    const emulator = await KrakenEmulator.start({
      lines: FILES.flatMap((f) => readRecording(datasetFile('cryptofeed', f))),
      speed: 20,
      faults: 'drop:2500',
    });
    const root = join(dir, 'parity');
    try {
      const clock = new LiveClock();
      const feed = krakenFeed({ url: emulator.url, clock });
      const engine = new RealtimeEngine(ringProvider(feed), { reconnect: { delaysMs: [200] } });
      engine.setBarInterval(1);
      const writer = await CaptureWriter.open(root, { feed: 'kraken', symbols: PAIRS, clock, flushMs: 200, rotateNs: 1_000_000_000n });
      engine.onEvent((e) => writer.write(e));
      const log = collectCallbacks(engine);
      await engine.start(PAIRS);
      await emulator.done();
      await new Promise((r) => setTimeout(r, 500));
      await engine.stop();
      writer.noteInstruments(feed.instruments());
      await writer.close(engine.stats().finishedAt!);
      expect(log.errors).toEqual([]);
      const kinds = (k: string): number => log.lines.filter((l) => l.startsWith(`${k} `)).length;
      expect(kinds('book')).toBeGreaterThan(5000);
      expect(kinds('trade')).toBeGreaterThan(0);
      expect(kinds('reconnect')).toBe(1); // the dropped connection
      const replay = new RealtimeEngine(ReplayProvider.open(root));
      replay.setBarInterval(1);
      const again = collectCallbacks(replay);
      await replay.run(PAIRS);
      expect(again.errors).toEqual([]);
      const first = again.lines.findIndex((l, i) => l !== log.lines[i]);
      expect(first === -1 ? null : { line: first, live: log.lines[first], replay: again.lines[first] }).toBeNull();
      expect(hashLines(again.lines)).toBe(hashLines(log.lines));
    } finally {
      await emulator.close();
    }
  });

  it(
    'mdcap emulate + mdcap record --feed kraken: verify counts all 4,269 checksums verified, none failed',
    { timeout: 60_000 },
    async () => {
      const child = spawn(process.execPath, [MDCAP_BIN, 'emulate', '--venue', 'kraken', '--speed', 'max', '--json'], {
        env: { ...process.env, MDCAP_DATASETS: datasetsRoot() },
      });
      try {
        const url = await new Promise<string>((resolve, reject) => {
          let out = '';
          child.stdout.on('data', (d: Buffer) => {
            out += d.toString();
            const nl = out.indexOf('\n');
            if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { url: string }).url);
          });
          child.on('exit', (code) => reject(new Error(`mdcap emulate exited with ${code}`)));
        });
        const cap = join(dir, 'cli');
        const rec = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
          const r = spawn(process.execPath, [
            MDCAP_BIN,
            'record',
            '--feed',
            'kraken',
            '--url',
            url,
            '--symbols',
            PAIRS.join(','),
            '--out',
            cap,
            '--duration',
            '4s',
          ]);
          let stderr = '';
          r.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
          r.on('exit', (status) => resolve({ status, stderr }));
        });
        expect(rec.status, rec.stderr).toBe(0);
        const v = mdcap(['verify', cap, '--json']);
        const report = JSON.parse(v.stdout) as { checksums: { verified: number; failed: number }; gaps: number; crossedBooks: number };
        expect(report.checksums).toEqual({ verified: 4269, failed: 0 });
        expect(report.gaps).toBe(0);
        const manifest = JSON.parse(readFileSync(join(cap, 'manifest.json'), 'utf8')) as {
          instruments: { symbol: string; priceScale: number }[];
        };
        expect(manifest.instruments.find((i) => i.symbol === 'XBT/CHF')?.priceScale).toBe(5);
      } finally {
        child.kill('SIGTERM');
      }
    },
  );
});

import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CaptureWriter, readManifest } from '@mdcap/capture';
import { createTrade, VirtualClock } from '@mdcap/core';
import { DbnReader } from '@mdcap/dbn';
import { KrakenEmulator, localChannelConfig, readRecording } from '@mdcap/emulators';
import { CmeWorkerFeed } from '@mdcap/feeds';
import { channelConfigXml } from '@mdcap/mdp3';
import { RealtimeEngine } from '@mdcap/engine';
import { exportDbn, feedNames, importLobster, openFeed, record, verifyCapture } from '@mdcap/pipeline';
import { datasetFile, describeWithDataset, REPO_ROOT, tempDir } from '@mdcap/test-utils';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * What the `mdcap` command does, from library code: a plain Node script records the demo venue
 * and a venue emulator (examples/record.mjs, the script README shows), and the library's
 * functions are used the way a test or a tool would use them.
 */

const dir = tempDir('pipeline');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const run = promisify(execFile);
const SCRIPT = join(REPO_ROOT, 'examples', 'record.mjs');

describe('a plain script: examples/record.mjs', () => {
  it('records the demo venue and checks the capture', { timeout: 120_000 }, async () => {
    const out = join(dir, 'demo');
    const { stdout } = await run(process.execPath, [SCRIPT, out]);
    const m = /^recorded (\d+) events of demo into .*\n(\d+) rows; gaps 0; clean\n$/.exec(stdout);
    expect(m, stdout).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThan(0);
    expect(Number(m![2])).toBe(Number(m![1]));
    expect(readManifest(out).sequencing).toEqual({ demo: 'contiguous' });
  });

  describeWithDataset('cryptofeed', 'from a venue emulator', () => {
    it('records Kraken from its emulator, books with CRC32 checks included', { timeout: 120_000 }, async () => {
      const lines = ['KRAKEN.ws.48.0', 'KRAKEN.ws.49.0', 'KRAKEN.ws.50.0'].flatMap((f) => readRecording(datasetFile('cryptofeed', f)));
      await using emulator = await KrakenEmulator.start({ lines, speed: 10 });
      const out = join(dir, 'kraken');
      const { stdout } = await run(process.execPath, [SCRIPT, out, 'kraken', emulator.url, 'XMR/USD,ETH/CHF']);
      expect(stdout).toMatch(/^recorded \d+ events of kraken into /);
      const report = await verifyCapture(out);
      expect(report.rows).toBeGreaterThan(0);
      expect(report.checksums.verified).toBeGreaterThan(0);
      expect(report.checksums.failed).toBe(0);
    });
  });
});

describe('the library', () => {
  it('has one registry of feeds', () => {
    expect(feedNames()).toEqual(['demo', 'kraken', 'binance', 'coinbase', 'alpaca', 'databento', 'bloomberg', 'cme']);
    expect(() => openFeed({ feed: 'nope', symbols: ['X'] })).toThrow(
      /feed: expected one of demo, kraken, binance, coinbase, alpaca, databento, bloomberg, cme, found "nope"/,
    );
    expect(() => openFeed({ feed: 'alpaca', symbols: ['AAPL'] })).toThrow(/MDCAP_ERR_INVALID_OPTION|expected Alpaca API credentials/);
  });

  describeWithDataset('cme-mdp3', 'the cme feed', () => {
    it('runs its handler on a worker thread unless told not to; an MBO book needs the channel\u2019s MBO snapshot loop', () => {
      const channel = localChannelConfig({ portA: 31_310, portB: 31_311 });
      const config = join(dir, 'cme-config.xml');
      const noMbo = join(dir, 'cme-config-no-smbo.xml');
      writeFileSync(config, channelConfigXml([channel]));
      writeFileSync(noMbo, channelConfigXml([{ ...channel, connections: channel.connections.filter((c) => c.feedType !== 'SMBO') }]));
      const spec = {
        feed: 'cme',
        symbols: ['ESH1'],
        channel: channel.id,
        sbeSchema: datasetFile('cme-mdp3', 'templates_FixBinary.v9.xml'),
      };
      expect(openFeed({ ...spec, channelConfig: config }).provider).toBeInstanceOf(CmeWorkerFeed);
      expect(openFeed({ ...spec, channelConfig: config, cmeBook: 'mbo', handlerThread: false }).provider).not.toBeInstanceOf(CmeWorkerFeed);
      expect(() => openFeed({ ...spec, channelConfig: noMbo, cmeBook: 'mbo' })).toThrow(
        /channel 310: expected an MBO snapshot connection \(feed-type SMBO, feed A\) for an MBO book, found none in its config/,
      );
      expect(() => openFeed({ ...spec, channelConfig: config, overflow: 'drop-oldest' })).toThrow(/drop-oldest would tear/);
    });
  });

  it('record() stops cleanly when its signal is aborted, and the engine it ran is the caller to watch', async () => {
    const out = join(dir, 'abort');
    const stop = new AbortController();
    let trades = 0;
    const summary = await record({
      feed: { feed: 'demo', symbols: ['AAPL'], rate: 2000 },
      out,
      signal: stop.signal,
      onStart: (engine) =>
        engine.onTrade(() => {
          if (++trades === 20) stop.abort(); // a test that has what it needs
        }),
    });
    expect(trades).toBeGreaterThanOrEqual(20);
    expect(summary).toMatchObject({ feed: 'demo', symbols: ['AAPL'], session: 1, errors: 0, ringDrops: 0 });
    expect(readManifest(out).sessions[0]).toMatchObject({ clean: true });
    expect((await verifyCapture(out)).ok).toBe(true);
  });

  it('engines, feeds and writers close with await using', async () => {
    const root = join(dir, 'using');
    {
      await using feed = openFeed({ feed: 'demo', symbols: ['AAPL'] });
      await using engine = new RealtimeEngine(feed.provider);
      let seen = 0;
      engine.onEvent(() => seen++);
      await engine.start(['AAPL']);
      await new Promise<void>((resolve) => engine.onTrade(() => resolve()));
      expect(seen).toBeGreaterThan(0);
      expect(engine.status).toBe('running');
    }
    {
      const t = 1_704_205_800_000_000_000n;
      await using writer = await CaptureWriter.open(root, {
        feed: 'demo',
        symbols: ['AAPL'],
        clock: new VirtualClock(t),
        finalize: 'inline',
      });
      writer.write(createTrade({ venue: 'demo', symbol: 'AAPL', tsEvent: t, tsRecv: t, price: 1n, size: 1n, priceScale: 2, sizeScale: 0 }));
    }
    expect(readManifest(root).sessions[0]).toMatchObject({ clean: true }); // closed at the end of its scope
  });

  describeWithDataset('lobster', 'vendor files', () => {
    it('importLobster, then exportDbn and verifyCapture of the same capture', async () => {
      const out = join(dir, 'aapl');
      const summary = await importLobster({
        messages: datasetFile('lobster', 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv'),
        orderbook: datasetFile('lobster', 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv'),
        out,
      });
      expect(summary).toMatchObject({ symbol: 'AAPL', date: '2012-06-21', rows: 999, events: 1116, replaced: [] });
      const dbn = await exportDbn({ dir: out, schema: 'trades' });
      const back = new DbnReader(dbn.bytes()).all();
      expect(back).toHaveLength(159);
      expect(dbn.metadata.symbols).toEqual(['AAPL']);
      const report = await verifyCapture(out);
      expect(report).toMatchObject({ rows: 1116, gaps: 0, duplicates: 0, outOfOrder: 0 });
    });
  });
});

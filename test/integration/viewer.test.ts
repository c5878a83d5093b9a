import type { ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  ARTIFACTS_DIR,
  datasetsRoot,
  describeWithBrowser,
  launchChromium,
  mdcap,
  mdcapAsync,
  mdcapServer,
  recordEvents,
  REPO_ROOT,
  simulatedEvents,
  TcpRelay,
  tempDir,
} from '@mdcap/test-utils';
import { formatMoney } from '@mdcap/backtest';
import { formatDecimal } from '@mdcap/core';
import { runBacktest } from '@mdcap/pipeline';
import type { Page } from 'playwright-core';
import { afterAll, expect, it } from 'vitest';

/**
 * Acceptance of issue 17, the viewer: `mdcap view` serves its page, and headless Chromium
 * (Debian's, driven by playwright-core) plays it. What is checked is the page's own state
 * (`window.mdcapView`, exact strings as received), against what `mdcap replay --json` prints
 * for the same capture; screenshots are kept in test-artifacts/.
 */

type Json = Record<string, string | number | boolean | null>;
interface PageView {
  hello: { run: number; start: string | null; end: string | null; mode: string; intervals: number[] } | null;
  state: { state: string; clock: string; run: number; events: number } | null;
  states: number;
  selected: { venue: string; symbol: string; interval: number } | null;
  candles: Json[];
  statuses: Json[];
  marks: { status: Json; time: number }[];
  tape: Json[];
  book: { bids: [string, string][]; asks: [string, string][] } | null;
  errors: { code: string; message: string }[];
  backtest: unknown;
  fills: Json[];
  equity: Json[];
}
declare const window: { mdcapView: PageView };

const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
});

const SEC = 1_000_000_000n;
const view = (page: Page): Promise<PageView> => page.evaluate(() => window.mdcapView);
/** Waits for a condition on the page's state (polled in the page: no fixed sleeps). */
async function until(page: Page, what: string, fn: string, arg?: unknown): Promise<void> {
  try {
    await page.waitForFunction(fn, arg, { timeout: 90_000, polling: 50 });
  } catch (e) {
    const v = await view(page);
    throw new Error(
      `waiting for ${what}: ${(e as Error).message.split('\n')[0]} (state ${JSON.stringify(v.state)}, ${v.candles.length} candles, errors ${JSON.stringify(v.errors)})`,
      { cause: e },
    );
  }
}

async function startView(args: readonly string[]): Promise<string> {
  const s = await mdcapServer(['view', ...args, '--http', '0', '--json']);
  children.push(s.child);
  const line = JSON.parse(s.firstLine) as { event: string; url: string };
  expect(line.event).toBe('listening');
  expect(line.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  return line.url;
}

function jsonLines(stdout: string): Json[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Json);
}

/** Data-quality statuses the page marks on the chart (a checksum only when it failed). */
const MARKED = new Set(['gap', 'resync', 'disconnected', 'reconnected', 'checksum', 'corrupt', 'stale', 'crossed']);
const marked = (s: Json): boolean => MARKED.has(String(s['kind'])) && !(s['kind'] === 'checksum' && s['ok'] === true);
const concerns = (s: Json, symbol: string): boolean => s['symbol'] === symbol || s['symbol'] === '*' || s['symbol'] === '';

describeWithBrowser('mdcap view: the web viewer in headless Chromium', () => {
  it(
    'a capture played at max: candles equal mdcap replay --bars, every gap is marked; pause and seek act on the replay',
    { timeout: 300_000 },
    async () => {
      const dir = tempDir('view');
      const cap = join(dir, 'cap');
      // Ten minutes of the simulated venue, a packet lost every 300 of a symbol: gaps and resyncs.
      await recordEvents(cap, await simulatedEvents(600, { packetsPerSecond: 100, faults: { gapEvery: 300 } }), { feed: 'demo' });
      const SYMBOL = 'AAPL';
      const INTERVAL = 10;
      const replay = mdcap(['replay', cap, '--bars', `${INTERVAL}`, '--print', 'bars,status', '--json']);
      expect(replay.status, replay.stderr).toBe(0);
      const lines = jsonLines(replay.stdout);
      const bars = lines.filter((l) => l['type'] === 'bar' && l['symbol'] === SYMBOL && l['interval'] === INTERVAL);
      const gaps = lines.filter((l) => l['type'] === 'status' && marked(l) && concerns(l, SYMBOL));
      expect(bars.length).toBeGreaterThan(50);
      expect(gaps.filter((g) => g['kind'] === 'gap').length).toBeGreaterThan(0);

      const url = await startView([cap, '--bars', `${INTERVAL},60`]);
      await using browser = await launchChromium();
      const { page, errors } = await browser.page();
      await page.goto(`${url}?symbol=${SYMBOL}&interval=${INTERVAL}`);
      await until(
        page,
        'the subscription',
        `window.mdcapView.selected?.symbol === ${JSON.stringify(SYMBOL)} && window.mdcapView.state !== null`,
      );
      expect((await view(page)).state?.state).toBe('ready');

      // Play at max: the replay ends; every bar of the series reaches the page.
      await page.click('#play');
      await until(page, 'the end of the replay', `window.mdcapView.state?.state === 'ended'`);
      await until(page, `${bars.length} candles`, `window.mdcapView.candles.length >= ${bars.length}`);
      let v = await view(page);
      expect(v.candles).toEqual(bars);
      // Every data-quality status of the capture for this symbol is marked, with its reason, at its bucket.
      const shown = v.marks.map((m) => m.status);
      expect(shown).toEqual(gaps);
      for (const m of v.marks) expect(m.time % INTERVAL).toBe(0);
      expect(await page.locator('#statuses tr.bad').count()).toBe(gaps.length);
      expect(v.book?.bids.length ?? 0).toBeGreaterThan(0);
      expect(v.tape.length).toBeGreaterThan(0);
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'viewer-replay.png') });
      // README's picture of the viewer is this screenshot: MDCAP_UPDATE_DOCS=1 writes it to docs/images/.
      if (process.env['MDCAP_UPDATE_DOCS'] === '1')
        copyFileSync(join(ARTIFACTS_DIR, 'viewer-replay.png'), join(REPO_ROOT, 'docs/images/viewer.png'));

      // Seek back: a new run of the replay from there, and the page starts over. Play was the last
      // thing pressed, so it plays, at the speed chosen before.
      await page.selectOption('#speed', '10x');
      await until(page, 'the speed', `window.mdcapView.state?.speed === '10'`);
      const start = BigInt(v.hello!.start!);
      const from = start + 120n * SEC;
      const firstRun = v.hello!.run;
      await page.fill('#seek-to', from.toString());
      await page.click('#seek');
      await until(page, 'a new run', `window.mdcapView.hello?.run === ${firstRun + 1} && window.mdcapView.state?.run === ${firstRun + 1}`);
      expect((await view(page)).state?.state).toBe('playing');

      // Then pause: the clock stops while the server's heartbeats go on.
      await until(page, 'a candle after the seek', `window.mdcapView.candles.length >= 2`);
      await page.click('#pause');
      await until(page, 'paused', `window.mdcapView.state?.state === 'paused'`);
      const paused = await view(page);
      await until(page, 'three heartbeats', `window.mdcapView.states >= ${paused.states + 3}`);
      const later = await view(page);
      expect(later.state!.clock).toBe(paused.state!.clock);
      expect(later.state!.events).toBe(paused.state!.events);
      expect(later.candles.length).toBe(paused.candles.length);

      // Seek forward while paused, then play at max: the replay skips there and marks the skip.
      const to = start + 400n * SEC;
      await page.fill('#seek-to', to.toString());
      await page.click('#seek');
      await page.selectOption('#speed', 'max');
      await page.click('#play');
      await until(page, 'the end after the seek', `window.mdcapView.state?.state === 'ended'`);
      const lastBar = bars[bars.length - 1]!;
      await until(page, 'the last candle', `window.mdcapView.candles.at(-1)?.start === ${JSON.stringify(lastBar['start'])}`);
      v = await view(page);
      expect(v.hello!.run).toBe(firstRun + 1);
      // Whole buckets between the two seeks, and after the second, are the capture's own bars.
      const whole = (b: Json): boolean =>
        (BigInt(String(b['start'])) >= from && BigInt(String(b['end'])) <= BigInt(paused.state!.clock)) || BigInt(String(b['start'])) >= to;
      const expectedWhole = bars.filter(whole);
      expect(v.candles.filter(whole)).toEqual(expectedWhole);
      expect(v.candles.some((b) => BigInt(String(b['start'])) < from)).toBe(false);
      // No candle of the skipped stretch, and the skip is marked as a gap.
      expect(v.candles.some((b) => BigInt(String(b['end'])) <= to && BigInt(String(b['start'])) > BigInt(later.state!.clock))).toBe(false);
      const seekGap = v.statuses.find((s) => s['kind'] === 'gap' && BigInt(String(s['tsRecv'])) === to);
      expect(seekGap, JSON.stringify(v.statuses.slice(-5))).toBeDefined();

      // A bad seek is refused with its code, and the page and server go on.
      await page.fill('#seek-to', 'yesterday');
      await page.click('#seek');
      await until(page, 'the error', `window.mdcapView.errors.length > 0`);
      expect((await view(page)).errors[0]!.code).toBe('MDCAP_ERR_INVALID_OPTION');
      expect(errors).toEqual([]);
    },
  );

  it('a live emulated feed: candles grow while it runs, and a dropped connection is marked', { timeout: 300_000 }, async () => {
    // Coinbase's recording at its own pace, looped: SKL-USD trades a few times a second.
    const emulate = await mdcapServer(['emulate', '--venue', 'coinbase', '--port', '0', '--speed', '1x', '--loops', '100', '--json'], {
      MDCAP_DATASETS: datasetsRoot(),
    });
    children.push(emulate.child);
    const venue = JSON.parse(emulate.firstLine) as { port: number; channels: { products: string[] } };
    const SYMBOL = 'SKL-USD';
    expect(venue.channels.products).toContain(SYMBOL);
    const relay = await TcpRelay.start({ port: venue.port });
    try {
      const url = await startView(['--feed', `coinbase:${venue.channels.products.join(',')}@ws://127.0.0.1:${relay.port}`, '--bars', '1']);
      await using browser = await launchChromium();
      const { page, errors } = await browser.page();
      await page.goto(`${url}?symbol=${SYMBOL}`);
      await until(page, 'live hello', `window.mdcapView.hello?.mode === 'live' && window.mdcapView.selected?.symbol === '${SYMBOL}'`);
      expect(await page.locator('#play').isDisabled()).toBe(true);
      await until(page, 'a first candle', `window.mdcapView.candles.length >= 1`);
      const first = (await view(page)).candles.length;
      await until(page, 'candles growing', `window.mdcapView.candles.length >= ${first + 2}`);

      // The venue's connection drops: the page marks it on the axis.
      expect(relay.cut()).toBe(1);
      await until(
        page,
        'the disconnect marked',
        `window.mdcapView.marks.some((m) => m.status.kind === 'disconnected') && window.mdcapView.marks.some((m) => m.status.kind === 'reconnected')`,
      );
      const v = await view(page);
      const drop = v.marks.find((m) => m.status.kind === 'disconnected')!;
      expect(String(drop.status.detail)).not.toBe('');
      const atDrop = v.candles.length;
      await until(page, 'candles after the reconnect', `window.mdcapView.candles.length >= ${atDrop + 2}`);
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'viewer-live.png') });
      expect(errors).toEqual([]);
    } finally {
      await relay.close();
    }
  });

  it(
    'a backtest run over the capture: its fills on the chart and its equity curve, exactly, as the replay reaches them',
    { timeout: 300_000 },
    async () => {
      const dir = tempDir('view-backtest');
      const cap = join(dir, 'cap');
      await recordEvents(cap, await simulatedEvents(30, { faults: { gapEvery: 300 } }), { feed: 'demo' });
      const strategy = join(REPO_ROOT, 'examples', 'strategies', 'quote-top.mjs');
      const params = { every: 15 };
      const run = join(dir, 'run');
      const bt = mdcap([
        'backtest',
        strategy,
        cap,
        '--fees',
        '-0.0001,0.0003',
        '--params',
        JSON.stringify(params),
        '--out',
        run,
        '--quiet',
      ]);
      expect(bt.status, bt.stderr).toBe(0);
      // The same run in memory: what the page shows must equal it, digit for digit.
      const memory = await runBacktest({ capture: cap, strategy, params, fees: { maker: '-0.0001', taker: '0.0003' } });
      const SYMBOL = 'AAPL';
      const expected = memory.fills
        .filter((f) => f.symbol === SYMBOL)
        .map((f) => ({
          fillId: f.fillId,
          side: f.side,
          price: formatDecimal(f.price, f.priceScale),
          size: formatDecimal(f.size, f.sizeScale),
          tsRecv: String(f.tsRecv),
        }));
      expect(expected.length).toBeGreaterThan(2);

      const url = await startView([cap, '--backtest', run, '--bars', '1']);
      await using browser = await launchChromium();
      const { page, errors } = await browser.page();
      await page.goto(`${url}?symbol=${SYMBOL}&interval=1`);
      await until(page, 'the run', `window.mdcapView.backtest !== null && window.mdcapView.selected?.symbol === '${SYMBOL}'`);
      expect((await view(page)).fills).toEqual([]); // nothing before the replay reaches it
      // At the pace it was recorded: the fills come over 30 s, and Pause comes long before the end.
      await page.selectOption('#speed', '1x');
      await until(page, 'the speed', `window.mdcapView.state?.speed === '1'`);
      await page.click('#play');
      await until(page, 'some fills', `window.mdcapView.fills.length > 0`);
      await page.click('#pause');
      await until(page, 'paused', `window.mdcapView.state?.state === 'paused'`);
      let v = await view(page);
      const clock = BigInt(v.state!.clock);
      // Only what the clock has reached.
      expect(v.fills.length).toBeLessThan(expected.length);
      expect(v.fills.every((f) => BigInt(String(f['tsRecv'])) <= clock)).toBe(true);
      expect(v.fills.map((f) => f['fillId'])).toEqual(expected.filter((f) => BigInt(f.tsRecv) <= clock).map((f) => f.fillId));
      await page.selectOption('#speed', 'max');
      await page.click('#play');
      await until(page, 'the end', `window.mdcapView.state?.state === 'ended' && window.mdcapView.fills.length === ${expected.length}`);
      v = await view(page);
      expect(
        v.fills.map((f) => ({ fillId: f['fillId'], side: f['side'], price: f['price'], size: f['size'], tsRecv: f['tsRecv'] })),
      ).toEqual(expected);
      expect(v.equity.map((e) => [e['ts'], e['pnl']])).toEqual(memory.equity.map((e) => [String(e.ts), formatMoney(e.pnl, e.moneyScale)]));
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, 'viewer-backtest.png') });
      expect(errors).toEqual([]);
    },
  );

  it('mdcap serve --http: the viewer shows the live engine gRPC subscribers get', { timeout: 180_000 }, async () => {
    const s = await mdcapServer(['serve', '--listen', '127.0.0.1:0', '--feed', 'demo', '--symbols', 'AAPL', '--http', '0', '--json']);
    children.push(s.child);
    const line = JSON.parse(s.firstLine) as { viewer: string | null; feeds: string[] };
    expect(line.viewer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    await using browser = await launchChromium();
    const { page, errors } = await browser.page();
    await page.goto(`${line.viewer!}?symbol=AAPL&interval=1`);
    await until(page, 'live hello', `window.mdcapView.hello?.mode === 'live' && window.mdcapView.selected?.symbol === 'AAPL'`);
    expect((await view(page)).hello).toMatchObject({ intervals: [1, 60] });
    await until(page, 'candles', `window.mdcapView.candles.length >= 2`);
    const v = await view(page);
    expect(v.candles.every((b) => b['symbol'] === 'AAPL' && b['interval'] === 1)).toBe(true);
    expect(v.book?.bids.length ?? 0).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });

  it('refuses what it cannot serve, with its code', async () => {
    const none = mdcap(['view']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/MDCAP_ERR_INVALID_OPTION: view: expected a capture directory or --feed, found "neither"/);
    const both = mdcap(['view', '/nonexistent', '--feed', 'demo']);
    expect(both.status).toBe(2);
    expect(both.stderr).toMatch(/not both/);
    // A port in use: a clear error, and the process exits (nothing left running holds it).
    const cap = join(tempDir('view-port'), 'cap');
    await recordEvents(cap, await simulatedEvents(5), { feed: 'demo' });
    const url = await startView([cap]);
    const busy = await mdcapAsync(['view', cap, '--http', new URL(url).port]);
    expect(busy.status).toBe(2);
    expect(busy.stderr).toMatch(/MDCAP_ERR_ADDRESS: --http \d+: expected a free port/);
    const noFeed = mdcap(['serve', '--captures', '/nonexistent', '--http', '0']);
    expect(noFeed.status).toBe(2);
    expect(noFeed.stderr).toMatch(/MDCAP_ERR_INVALID_OPTION: --http: expected a live --feed to show/);
  });
});

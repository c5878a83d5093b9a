import { CaptureSet, readManifest } from '@mdcap/capture';
import { formatEventJson, MdcapError, nsToIso, timeFraction } from '@mdcap/core';
import type { MarketEvent } from '@mdcap/core';
import { RealtimeEngine } from '@mdcap/engine';
import type { BookView } from '@mdcap/engine';
import { parseSpeed, ReplayProvider } from '@mdcap/replay';
import type { Argv } from 'yargs';
import { badOption, parseChoices, parseIntervals, parseIntOption, parseList, parseCaptureRange, positionalList } from '../args.js';
import { EXIT, warn } from '../command.js';
import type { Command } from '../command.js';
import { BAR_HEADER, eventText, topJson, topText } from '../format.js';
import { count, isQuiet, LineOutput, Progress } from '../output.js';

const PRINTABLE = ['trades', 'quotes', 'book', 'orders', 'bars', 'status', 'top'] as const;
type Printable = (typeof PRINTABLE)[number];

interface ReplayArgs {
  readonly dir: string;
  /** More capture directories after the first: replayed with it as one capture (CaptureSet). */
  readonly more?: readonly string[];
  readonly speed: string;
  readonly from?: string;
  readonly to?: string;
  readonly symbols?: string;
  readonly bars?: string;
  readonly print?: string;
  readonly depth: string;
  readonly json: boolean;
  readonly graceMs: string;
  readonly barTimestamp: string;
}

/** What `replay` prints, and how; shared with `demo`. */
export interface PrintOptions {
  readonly print: ReadonlySet<Printable>;
  readonly json: boolean;
  readonly depth: number;
}

/**
 * Registers the printing callbacks on an engine, in one place so that the order of lines is the
 * engine's callback order: each event reaches exactly one kind callback, and a `top` line
 * follows its book or order event.
 */
export function printCallbacks(engine: RealtimeEngine, out: LineOutput, o: PrintOptions): void {
  const line = o.json ? formatEventJson : eventText;
  const p = o.print;
  const top = p.has('top');
  const topLine = (e: MarketEvent, book: BookView): void => out.line(o.json ? topJson(e, book, o.depth) : topText(e, book, o.depth));
  if (p.has('trades')) engine.onTrade((e) => out.line(line(e)));
  if (p.has('quotes')) engine.onQuote((e) => out.line(line(e)));
  if (p.has('book') || top) {
    engine.onBookUpdate((e, book) => {
      if (p.has('book')) out.line(line(e));
      if (top) topLine(e, book);
    });
  }
  if (p.has('orders') || top) {
    engine.onOrderUpdate((e, book) => {
      if (p.has('orders')) out.line(line(e));
      if (top) topLine(e, book);
    });
  }
  if (p.has('bars')) engine.onBar((e) => out.line(line(e)));
  if (p.has('status')) engine.onStatus((e) => out.line(line(e)));
}

export const replayCommand: Command<ReplayArgs> = {
  command: 'replay <dir> [more..]',
  describe: 'Replay a capture through the RealtimeEngine, at any speed, printing its callbacks',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory (made by mdcap record or mdcap import)' })
      .positional('more', {
        type: 'string',
        array: true,
        describe:
          'More capture directories whose times follow one another (a folder a day): replayed as one capture, the holes between them marked as gaps',
      })
      .option('speed', { type: 'string', default: 'max', describe: 'max (as fast as possible) or a multiple of real time: 1x, 10x, 0.5x' })
      .option('from', {
        type: 'string',
        describe: 'Start at this tsRecv: 2024-01-02T14:31:00Z, +5m after the capture start, -5m before its end, or integer ns',
      })
      .option('to', { type: 'string', describe: 'Stop before this tsRecv (same forms as --from)' })
      .option('symbols', { type: 'string', describe: 'Comma-separated symbols (default: all in the capture)' })
      .option('bars', { type: 'string', describe: 'Build OHLCV bars of these intervals in seconds: 60 or 60,300' })
      .option('print', {
        type: 'string',
        describe: `What to print, comma-separated: ${PRINTABLE.join(', ')} (default: all but top with --json; bars and status without)`,
      })
      .option('depth', { type: 'string', default: '10', describe: 'Levels per side in top lines' })
      .option('json', { type: 'boolean', default: false, describe: 'One canonical JSON object per callback per line (docs/cli.md)' })
      .option('grace-ms', {
        type: 'string',
        default: '250',
        describe: "Bars: how long a bucket stays open for late trades (the engine's grace)",
      })
      .option('bar-timestamp', {
        type: 'string',
        default: 'tsEvent',
        choices: ['tsEvent', 'tsRecv'],
        describe: 'Bars: bucket trades by this timestamp',
      })
      .example('mdcap replay cap --bars 60', 'every 1-minute bar and data-quality status, as fast as possible')
      .example('mdcap replay cap --speed 10x --json > cap.jsonl', 'every callback as JSON lines, ten times faster than it was recorded')
      .example('mdcap replay cap --from +5m --to +10m --symbols AAPL --print trades', "AAPL's trades in minutes 5 to 10")
      .example('mdcap replay lob --print top --depth 10 --json', 'the best 10 levels after every book or order event')
      .example('mdcap replay /mnt/caps/2024-01-0{2,3,4} --bars 60', 'three captures of a day each, replayed as one'),
  async run(a) {
    // Flags first (no file is touched for a bad flag), then the capture.
    const speed = parseSpeed(a.speed);
    const intervals = a.bars === undefined ? [] : parseIntervals('--bars', a.bars);
    const print = parseChoices('--print', a.print ?? (a.json ? 'trades,quotes,book,orders,bars,status' : 'bars,status'), PRINTABLE);
    if (print.has('bars') && intervals.length === 0 && a.print !== undefined) {
      throw badOption('--print bars', 'bar intervals to build (--bars 60)', 'no --bars');
    }
    const depth = parseIntOption('--depth', a.depth, 1, 1000);
    const graceMs = parseIntOption('--grace-ms', a.graceMs, 0, 86_400_000);
    const wanted = a.symbols === undefined ? null : parseList('--symbols', a.symbols);
    const dirs = [a.dir, ...positionalList(a.more)];
    const source = dirs.length === 1 ? a.dir : CaptureSet.open(dirs);
    const manifest = typeof source === 'string' ? readManifest(source) : source.manifest;
    const { from, to, base, last } = parseCaptureRange(manifest, a.from, a.to);
    // A range that misses the capture would print nothing: say so instead.
    const first = base;
    if (first !== null && last !== null && ((from !== undefined && from > last) || (to !== undefined && to <= first))) {
      throw new MdcapError(
        'MDCAP_ERR_REPLAY_RANGE',
        `--from/--to: expected a range that overlaps the capture (${nsToIso(first)} to ${nsToIso(last)}), found ${from === undefined ? 'the start' : nsToIso(from)} to ${to === undefined ? 'the end' : nsToIso(to)}`,
      );
    }
    const symbols = wanted ?? manifest.symbols;
    const unknown = symbols.filter((s) => !manifest.symbols.includes(s));
    if (unknown.length > 0) {
      throw new MdcapError(
        'MDCAP_ERR_UNKNOWN_SYMBOL',
        `--symbols: expected symbols of the capture (${manifest.symbols.join(', ')}), found ${unknown.join(', ')}`,
      );
    }
    if (symbols.length === 0) throw badOption('--symbols', 'a capture with symbols', a.dir);

    // Printing is the bottleneck here, not decoding: no decode thread (it would hold 80–150 MiB
    // more while a slow reader holds the replay back; docs/capture.md).
    const provider = ReplayProvider.open(source, {
      speed,
      decodeAhead: false,
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
    });
    const engine = new RealtimeEngine(provider, { barGraceMs: graceMs, barTimestamp: a.barTimestamp as 'tsEvent' | 'tsRecv' });
    if (intervals.length > 0) engine.setBarInterval(...intervals);
    const out = new LineOutput().throttle(engine); // a slow reader pauses the replay
    if (!a.json && print.has('bars') && intervals.length > 0 && print.size <= 2) out.line(BAR_HEADER);
    printCallbacks(engine, out, { print, json: a.json, depth });
    const progress = new Progress();
    const errors: MdcapError[] = [];
    engine.onError((e) => {
      errors.push(e);
      // An unreadable file ends the replay and is reported once, below.
      if (errors.length <= 10 && !e.code.startsWith('MDCAP_ERR_CAPTURE') && e.code !== 'MDCAP_ERR_IO') {
        progress.clear();
        warn('replay', e.toString());
      }
    });
    const startNs = from ?? base ?? 0n;
    const ends = manifest.sessions.map((s) => (s.end === null ? 0n : BigInt(s.end)));
    const endNs = to ?? ends.reduce((m, e) => (e > m ? e : m), startNs + 1n);
    if (progress.enabled) {
      // No allocation per event: the line's text is made only when it is drawn.
      let at = startNs;
      const text = (): string => `replaying ${dirs.join(' ')}: ${nsToIso(at)}`;
      const fraction = (): number => timeFraction(at, startNs, endNs);
      engine.onEvent((e) => {
        at = e.tsRecv;
        progress.update(text, fraction);
      });
    }
    const t0 = performance.now();
    await engine.run(symbols);
    progress.done();
    await out.end();
    const stats = engine.stats();
    if (stats.state === 'failed') {
      const fatal =
        [...errors].reverse().find((e) => e.code.startsWith('MDCAP_ERR_CAPTURE') || e.code === 'MDCAP_ERR_IO') ?? errors[errors.length - 1];
      if (fatal !== undefined) throw fatal; // the file and row group that could not be read
    }
    const events = provider.stats().events;
    if (!a.json && process.stdout.isTTY === true && !isQuiet()) {
      const s = (performance.now() - t0) / 1000;
      const pacing = provider.stats().pacing;
      out.line(
        `\n${count(events)} events replayed in ${s.toFixed(2)} s (${count(Math.round(events / s))}/s${speed === 'max' ? '' : `, ${speed}x; pacing error p50 ${(pacing.p50 / 1e6).toFixed(3)} ms, p99 ${(pacing.p99 / 1e6).toFixed(3)} ms`}); ${count(stats.events.bar)} bars, ${count(stats.events.status)} statuses`,
      );
      await out.end();
    }
    if (errors.length > 10) warn('replay', `${errors.length - 10} more errors not shown`);
    return errors.length > 0 ? EXIT.problems : EXIT.ok;
  },
};

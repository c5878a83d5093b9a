import { existsSync } from 'node:fs';
import { ConfigError, MdcapError } from '@mdcap/core';
import { feedNames } from '@mdcap/pipeline';
import type { FeedSpec } from '@mdcap/pipeline';
import { parseFeedItem, parseFeedsOption } from './feeds-option.js';
import type { FeedDefaults } from './feeds-option.js';

/** How fast the venues the demo starts play their recordings: a few seconds hold a good part of them. */
export const LOCAL_VENUE_SPEED = 10;

/** The venues `mdcap demo --feeds` runs on this machine, from the datasets, when an item gives no `@URL`. */
export const LOCAL_VENUES: readonly string[] = ['kraken', 'binance', 'coinbase', 'alpaca', 'databento'];

/** A feed of the demo, and where its data comes from. */
export interface DemoFeed {
  readonly spec: FeedSpec;
  /** Its local venue (an emulator the demo started), or null: the simulated venue, or the item's own `@URL`. */
  readonly local: string | null;
}

/** The feeds of `--feeds`, with the local venues started for them; `close` stops those. */
export interface DemoFeeds {
  readonly feeds: readonly DemoFeed[];
  close(): Promise<void>;
}

/** A venue emulator the demo started: where it listens, what it serves, what a feed needs to log in. */
interface LocalVenue {
  readonly url: string;
  readonly symbols: readonly string[];
  readonly spec: Partial<FeedSpec>;
  close(): Promise<void>;
}

const nameOf = (item: string): string => /^[a-z][a-z0-9_-]*/.exec(item.trim())?.[0] ?? '';

/**
 * `mdcap demo --feeds ITEM…`: the items as `record --feeds` takes them, except that a venue
 * given without `@URL` (kraken, binance, coinbase, alpaca, databento) is served by its local
 * emulator, started here on 127.0.0.1 (a free port) from the datasets and replaying at
 * {@link LOCAL_VENUE_SPEED}x; without symbols it records every one the emulator serves. No item
 * reaches the network unless it names a URL.
 * @throws {ConfigError} `MDCAP_ERR_INVALID_OPTION` for a malformed item, a feed the demo cannot
 *   run locally, or datasets that are not where `MDCAP_DATASETS` says; `MDCAP_ERR_UNKNOWN_SYMBOL`
 *   for symbols the local venue does not serve.
 */
export async function openDemoFeeds(items: readonly string[], defaults: FeedDefaults, flag = '--feeds'): Promise<DemoFeeds> {
  const list = items.flatMap((i) => String(i).split(/\s+/)).filter((i) => i !== '');
  const isLocal = (item: string): boolean => !item.includes('@') && LOCAL_VENUES.includes(nameOf(item));
  // Everything that needs nothing started is checked first: a bad item costs no emulator.
  for (const item of list) {
    const name = nameOf(item);
    if (isLocal(item) && item.trim() === name) continue; // a bare venue name: its symbols come from the emulator
    if (!item.includes('@') && name !== 'demo' && !LOCAL_VENUES.includes(name) && feedNames().includes(name)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${flag}: expected demo, a venue the demo runs locally (${LOCAL_VENUES.join(', ')}) or NAME:SYMBOLS@URL of one you run, found ${name}, which has no local emulator, in "${item}"`,
      );
    }
    parseFeedItem(item, defaults, flag);
  }
  const started = new Map<string, LocalVenue>();
  const close = async (): Promise<void> => {
    await Promise.all([...started.values()].map((v) => v.close()));
  };
  try {
    for (const item of list) {
      const name = nameOf(item);
      if (isLocal(item) && !started.has(name)) started.set(name, await startLocalVenue(name, flag));
    }
    const expanded = list.map((item) => {
      const venue = isLocal(item) ? started.get(nameOf(item))! : null;
      return venue !== null && item.trim() === nameOf(item) ? `${item.trim()}:${venue.symbols.join(',')}` : item;
    });
    const specs = parseFeedsOption(expanded, () => defaults);
    const feeds = specs.map((spec, i): DemoFeed => {
      if (!isLocal(list[i]!)) return { spec, local: null };
      const venue = started.get(spec.feed)!;
      const unknown = spec.symbols.filter((s) => !venue.symbols.includes(s));
      if (unknown.length > 0) {
        throw new MdcapError(
          'MDCAP_ERR_UNKNOWN_SYMBOL',
          `${flag} ${spec.feed}: expected symbols its local emulator replays (${venue.symbols.join(', ')}), found ${unknown.join(', ')}`,
        );
      }
      return { spec: { ...spec, url: venue.url, ...venue.spec }, local: venue.url };
    });
    return { feeds, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The dataset files a local venue replays, checked to be there. */
async function datasetFiles(venue: string, flag: string): Promise<string[]> {
  const { datasetPath, datasetsRoot, DEFAULT_DBN_FILES, defaultRecordings } = await import('@mdcap/emulators');
  const [dataset, files] =
    venue === 'databento'
      ? ['nautilus-trader', DEFAULT_DBN_FILES.map((f) => datasetPath('nautilus-trader', f))]
      : ['cryptofeed', defaultRecordings(venue)];
  const missing = files.find((f) => !existsSync(f));
  if (missing !== undefined) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag} ${venue}: expected the ${dataset} dataset its local emulator replays under ${datasetsRoot()} (set MDCAP_DATASETS to the folder holding ${dataset}/, or give ${venue}:SYMBOLS@URL of a venue you run), found no ${missing}`,
    );
  }
  return files;
}

/** Starts the emulator of a venue on 127.0.0.1, any free port, replaying its default recording. */
async function startLocalVenue(venue: string, flag: string): Promise<LocalVenue> {
  const { DatabentoGateway, readRecording, startVenueEmulator } = await import('@mdcap/emulators');
  const speed = LOCAL_VENUE_SPEED;
  if (venue === 'databento') {
    const gateway = await DatabentoGateway.start({ files: await datasetFiles(venue, flag), speed, port: 0 });
    // The gateway takes any key of 32 characters.
    return { url: gateway.url, symbols: gateway.symbolList(), spec: { key: 'demo'.padEnd(32, '0') }, close: () => gateway.close() };
  }
  // Alpaca's emulator is scripted (no recording) and takes the credentials key / secret.
  const files = venue === 'alpaca' ? [] : await datasetFiles(venue, flag);
  const lines = files.flatMap((f) => {
    try {
      return readRecording(f);
    } catch (error) {
      throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', (error as Error).message);
    }
  });
  const emulator = await startVenueEmulator(venue, { lines, port: 0, host: '127.0.0.1', speed });
  const channels = emulator.channels();
  const served =
    venue === 'binance'
      ? (channels['streams'] ?? []).map((s) => s.slice(0, s.indexOf('@')).toUpperCase())
      : venue === 'alpaca'
        ? (channels['symbols'] ?? [])
        : Object.values(channels).flat();
  return {
    url: emulator.url,
    symbols: [...new Set(served)].sort(),
    spec: venue === 'binance' ? { restUrl: emulator.restUrl } : venue === 'alpaca' ? { key: 'key', secret: 'secret' } : {},
    close: () => emulator.close(),
  };
}

/** The demo's feed without `--feeds`: the simulated venue alone, nothing to start or stop. */
export function simulatedFeed(symbols: readonly string[], defaults: FeedDefaults): DemoFeeds {
  return { feeds: [{ spec: { ...defaults, feed: 'demo', symbols }, local: null }], close: () => Promise.resolve() };
}

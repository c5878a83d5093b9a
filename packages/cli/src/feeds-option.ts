import { readFileSync } from 'node:fs';
import { ConfigError, describeValue, MdcapError } from '@mdcap/core';
import { feedDefinition, feedNames } from '@mdcap/pipeline';
import type { FeedSpec } from '@mdcap/pipeline';
import { parseIntOption, parseUrlOption } from './args.js';

/** What every feed of `--feeds` / `--config` takes from the flags unless its item says otherwise. */
export type FeedDefaults = Omit<FeedSpec, 'feed' | 'symbols' | 'url'>;

const SYNTAX = 'NAME, NAME:SYM1,SYM2 or NAME:SYM1,SYM2@URL (e.g. kraken:XBT/USD,ETH/USD@ws://127.0.0.1:9000)';

/**
 * One item of `--feeds`: `NAME[:SYM1,SYM2…][@URL]`. The name is a registered feed; the symbols
 * are as the venue names them (required unless the feed has defaults, as `demo` does); the URL
 * overrides the feed's endpoint (an emulator).
 */
export function parseFeedItem(item: string, defaults: FeedDefaults, flag = '--feeds'): FeedSpec {
  const m = /^([a-z][a-z0-9_-]*)(?::([^@]*))?(?:@(.*))?$/.exec(item.trim());
  if (m === null) {
    const names = item.trim().split(',');
    // `demo,kraken`: feeds are items of their own (a comma separates symbols).
    const hint =
      names.length > 1 && names.every((n) => feedNames().includes(n))
        ? ` (several feeds are separate items: ${flag} ${names.join(' ')})`
        : '';
    throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${flag}: expected ${SYNTAX}, found ${describeValue(item)}${hint}`);
  }
  const name = m[1]!;
  if (!feedNames().includes(name)) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected a feed of ${feedNames().join(', ')}, found "${name}" in ${describeValue(item)}`,
    );
  }
  const definition = feedDefinition(name);
  const symbols = (m[2] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (m[2] !== undefined && symbols.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected symbols after "${name}:" (${SYNTAX}), found none in ${describeValue(item)}`,
    );
  }
  if (symbols.length === 0 && definition.defaultSymbols === null) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected the ${name} symbols to record (${name}:SYM1,SYM2, as the venue names them), found none in ${describeValue(item)}`,
    );
  }
  const url = m[3];
  if (url !== undefined) checkUrl(`${flag} ${name}`, name, url);
  return {
    ...defaults,
    feed: name,
    symbols: symbols.length > 0 ? [...new Set(symbols)] : [...definition.defaultSymbols!],
    ...(url === undefined ? {} : { url }),
  };
}

function checkUrl(flag: string, name: string, url: string): void {
  const schemes = feedDefinition(name).urlSchemes;
  if (schemes.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected a network feed for @URL, found ${name}, which has no endpoint (${url})`,
    );
  }
  parseUrlOption(flag, url, schemes, `${schemes[0]!}://127.0.0.1:${schemes[0] === 'tcp' ? 13000 : 9000}`);
}

/** The `--feeds` items: each feed once. */
export function parseFeedsOption(items: readonly string[], defaults: (name: string) => FeedDefaults): FeedSpec[] {
  const list = items.flatMap((i) => String(i).split(/\s+/)).filter((i) => i !== '');
  if (list.length === 0) throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `--feeds: expected one or more items ${SYNTAX}, found none`);
  const specs = list.map((item) => {
    const name = /^[a-z][a-z0-9_-]*/.exec(item.trim())?.[0] ?? '';
    return parseFeedItem(item, defaults(name));
  });
  checkDistinct('--feeds', specs);
  return specs;
}

function checkDistinct(flag: string, specs: readonly FeedSpec[]): void {
  const seen = new Set<string>();
  for (const s of specs) {
    if (seen.has(s.feed)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${flag}: expected each feed once, found ${s.feed} twice (list all of its symbols in one item: ${s.feed}:A,B)`,
      );
    }
    seen.add(s.feed);
  }
}

const CONFIG_KEYS = new Set([
  'feed',
  'symbols',
  'url',
  'restUrl',
  'key',
  'secret',
  'stocksFeed',
  'dataset',
  'schema',
  'start',
  'seed',
  'rate',
  'gapEvery',
]);

/**
 * `--config FILE`: a JSON file `{ "feeds": [ { "feed": "kraken", "symbols": ["XBT/USD"], "url": "ws://…" }, … ] }`
 * (or just the array). An item takes the keys of a FeedSpec that a command line can say (`feed`,
 * `symbols`, `url`, `restUrl`, `key`, `secret`, `stocksFeed`, `dataset`, `schema`, `start` as
 * ISO 8601, `seed`, `rate`, `gapEvery`); the flags fill in what it leaves out.
 */
export function readFeedsConfig(
  path: string,
  defaults: (name: string) => FeedDefaults,
  isoStart: (flag: string, text: string) => bigint,
): FeedSpec[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new MdcapError('MDCAP_ERR_IO', `--config ${path}: expected a readable JSON file, found ${(error as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `--config ${path}: expected JSON (YAML is not read), found ${(error as Error).message}`,
    );
  }
  const items = Array.isArray(doc) ? doc : (doc as { feeds?: unknown } | null)?.feeds;
  const flag = `--config ${path}`;
  if (!Array.isArray(items) || items.length === 0) {
    throw new ConfigError(
      'MDCAP_ERR_INVALID_OPTION',
      `${flag}: expected {"feeds": [{"feed": "kraken", "symbols": ["XBT/USD"]}, …]}, found ${describeValue(doc)}`,
    );
  }
  const specs = items.map((raw, i) => {
    const where = `${flag}: feeds[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${where}: expected an object such as {"feed": "kraken", "symbols": ["XBT/USD"]}, found ${describeValue(raw)}`,
      );
    }
    const o = raw as Record<string, unknown>;
    const unknown = Object.keys(o).filter((k) => !CONFIG_KEYS.has(k));
    if (unknown.length > 0) {
      throw new ConfigError(
        'MDCAP_ERR_INVALID_OPTION',
        `${where}: expected keys of ${[...CONFIG_KEYS].join(', ')}, found ${unknown.join(', ')}`,
      );
    }
    if (typeof o['feed'] !== 'string')
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}.feed: expected a feed name, found ${describeValue(o['feed'])}`);
    const symbols = o['symbols'];
    const list =
      typeof symbols === 'string'
        ? symbols
        : Array.isArray(symbols) && symbols.every((s) => typeof s === 'string')
          ? symbols.join(',')
          : symbols === undefined
            ? null
            : false;
    if (list === false)
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}.symbols: expected an array of strings, found ${describeValue(symbols)}`);
    const url = o['url'];
    if (url !== undefined && typeof url !== 'string')
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}.url: expected a URL, found ${describeValue(url)}`);
    const base = parseFeedItem(`${o['feed']}${list === null ? '' : `:${list}`}`, defaults(o['feed']), where);
    if (url !== undefined) checkUrl(`${where}.url`, base.feed, url);
    const str = (k: string): string | undefined => {
      const v = o[k];
      if (v !== undefined && typeof v !== 'string')
        throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}.${k}: expected a string, found ${describeValue(v)}`);
      return v;
    };
    const int = (k: string, min: number, max: number): number | undefined =>
      o[k] === undefined ? undefined : parseIntOption(`${where}.${k}`, o[k] as number, min, max);
    const stocksFeed = str('stocksFeed');
    if (stocksFeed !== undefined && stocksFeed !== 'iex' && stocksFeed !== 'sip') {
      throw new ConfigError('MDCAP_ERR_INVALID_OPTION', `${where}.stocksFeed: expected iex or sip, found ${describeValue(stocksFeed)}`);
    }
    const start = str('start');
    const restUrl = str('restUrl');
    if (restUrl !== undefined) parseUrlOption(`${where}.restUrl`, restUrl, ['http', 'https'], 'http://127.0.0.1:9001');
    const fields: Partial<Record<keyof FeedSpec, unknown>> = {
      url,
      restUrl,
      key: str('key'),
      secret: str('secret'),
      stocksFeed,
      dataset: str('dataset'),
      schema: str('schema'),
      start: start === undefined ? undefined : isoStart(`${where}.start`, start),
      seed: int('seed', 0, 2 ** 32 - 1),
      rate: int('rate', 1, 1_000_000),
      gapEvery: int('gapEvery', 1, 2 ** 31),
    };
    const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    return { ...base, ...given };
  });
  checkDistinct(flag, specs);
  return specs;
}

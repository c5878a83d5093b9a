import { existsSync } from 'node:fs';
import { MdcapError } from '@mdcap/core';
import { EMULATED_VENUES } from '@mdcap/emulators';
import type { Argv } from 'yargs';
import { badOption, parseList } from '../args.js';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { LineOutput } from '../output.js';
import { listenError, stopRequested } from '../lifecycle.js';

interface EmulateArgs {
  readonly venue: string;
  readonly port: string;
  readonly host: string;
  readonly speed: string;
  readonly fault?: string;
  readonly frames?: string;
  readonly loops: string;
  readonly json: boolean;
}

/** `--port` and `--speed`, checked. */
function portAndSpeed(a: EmulateArgs): { port: number; speed: number | 'max' } {
  const port = Number(a.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badOption('--port', 'a TCP port 0–65535', a.port);
  const m = /^(\d+(?:\.\d+)?)x?$/.exec(a.speed);
  const speed: number | 'max' | null = a.speed === 'max' ? 'max' : m !== null && Number(m[1]) > 0 ? Number(m[1]) : null;
  if (speed === null) throw badOption('--speed', 'max or a positive multiple such as 1x, 10x, 0.5x', a.speed);
  return { port, speed };
}

async function defaultFrames(venue: string): Promise<string[]> {
  const { defaultRecordings } = await import('@mdcap/emulators');
  const files = defaultRecordings(venue);
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `--frames: expected a recording to replay (give --frames FILE, or set MDCAP_DATASETS to the folder holding cryptofeed/), found no ${missing[0]}`,
    );
  }
  return files;
}

export const emulateCommand: Command<EmulateArgs> = {
  command: 'emulate',
  describe: "Run a local venue emulator: the venue's WebSocket protocol, replaying recorded traffic (test feeds and strategies offline)",
  builder: (y: Argv) =>
    y
      .option('venue', {
        type: 'string',
        default: 'kraken',
        choices: [...EMULATED_VENUES, 'databento'],
        describe: 'The venue protocol to speak (databento: the Live gateway over TCP, serving DBN files)',
      })
      .option('port', { type: 'string', default: '0', describe: 'TCP port (0: any free port, printed)' })
      .option('host', { type: 'string', default: '127.0.0.1', describe: 'Interface to listen on' })
      .option('speed', { type: 'string', default: '1x', describe: 'Replay pace: 1x (as recorded), 10x, 0.5x, or max' })
      .option('fault', {
        type: 'string',
        describe:
          'Faults, each once, counted in data frames of a connection: drop:N, skip:N, corrupt-checksum:N, malformed:N, stall:N, reject-auth (alpaca, databento)',
      })
      .option('frames', {
        type: 'string',
        describe:
          'Comma-separated recordings in cryptofeed line format (also what record --raw writes), or DBN files for databento; default: the cryptofeed samples (databento: the ESU4 trades and MBP-1 of the NautilusTrader samples)',
      })
      .option('loops', { type: 'string', default: '1', describe: 'Play the recording this many times in a row (load tests)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the listening address as one JSON object' })
      .example(
        'mdcap emulate --venue kraken --port 9000',
        'Kraken on ws://127.0.0.1:9000, replaying the recorded books, trades and tickers',
      )
      .example(
        'mdcap emulate --speed 10x --fault corrupt-checksum:100,drop:2000',
        'ten times faster, one bad checksum, one dropped connection',
      )
      .example(
        'mdcap record --feed kraken --url ws://127.0.0.1:9000 --symbols XMR/USD,XBT/CHF --out cap',
        'then, in another terminal: record from it',
      )
      .example(
        'mdcap emulate --venue databento --port 13000 --speed 10x',
        'a Databento Live gateway on tcp://127.0.0.1:13000 (record --feed databento --url tcp://127.0.0.1:13000)',
      )
      .example(
        'mdcap emulate --venue binance --port 9001',
        'Binance streams on ws://127.0.0.1:9001/stream, REST depth on http://127.0.0.1:9001',
      ),
  async run(a) {
    if (a.venue === 'databento') return runDatabento(a);
    const { readRecording, parseFaults, startVenueEmulator } = await import('@mdcap/emulators');
    const { port, speed } = portAndSpeed(a);
    let faults;
    try {
      faults = parseFaults(a.fault ?? '');
    } catch (error) {
      throw new MdcapError('MDCAP_ERR_INVALID_OPTION', (error as Error).message);
    }
    // Alpaca has no recording: its emulator is scripted (credentials key / secret).
    const files = a.venue === 'alpaca' ? [] : a.frames === undefined ? await defaultFrames(a.venue) : parseList('--frames', a.frames);
    const lines = files.flatMap((f) => {
      if (!existsSync(f)) throw badOption('--frames', 'a recording file', f);
      try {
        return readRecording(f);
      } catch (error) {
        throw new MdcapError('MDCAP_ERR_IMPORT_FORMAT', (error as Error).message);
      }
    });
    const loops = Number(a.loops);
    if (!Number.isInteger(loops) || loops < 1) throw badOption('--loops', 'a whole number ≥ 1', a.loops);
    let emulator;
    try {
      emulator = await startVenueEmulator(a.venue, { lines, port, host: a.host, speed, faults: a.fault ?? '', loops });
    } catch (error) {
      throw listenError(error, '--port', a.host, port);
    }
    const { url } = emulator;
    const channels = emulator.channels();
    const out = new LineOutput();
    if (a.json) out.line(JSON.stringify({ venue: a.venue, url, restUrl: emulator.restUrl, port: emulator.port, channels }));
    else {
      out.line(
        `${a.venue} emulator on ${url} (REST ${emulator.restUrl}; ${lines.length} recorded lines, speed ${a.speed}${faults.length > 0 ? `, faults ${a.fault}` : ''})`,
      );
      for (const [channel, list] of Object.entries(channels)) out.line(`  ${channel}: ${list.join(', ')}`);
      out.line('Ctrl-C to stop. The recording starts with the first subscription.');
    }
    await out.end();
    await stopRequested('emulate');
    await emulator.close();
    return EXIT.ok;
  },
};

/** The Databento Live gateway emulator: DBN files served over the live protocol. */
async function runDatabento(a: EmulateArgs): Promise<number> {
  const { DatabentoGateway, datasetPath, DEFAULT_DBN_FILES } = await import('@mdcap/emulators');
  const { port, speed } = portAndSpeed(a);
  const files = a.frames === undefined ? DEFAULT_DBN_FILES.map((f) => datasetPath('nautilus-trader', f)) : parseList('--frames', a.frames);
  for (const f of files)
    if (!existsSync(f)) throw badOption('--frames', 'DBN files (or MDCAP_DATASETS set to the folder holding nautilus-trader/)', f);
  let gateway;
  try {
    gateway = await DatabentoGateway.start({ files, speed, port, ...(a.fault === undefined ? {} : { faults: a.fault }) });
  } catch (error) {
    const e = listenError(error, '--port', '127.0.0.1', port);
    throw e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_INVALID_OPTION', (error as Error).message);
  }
  const out = new LineOutput();
  if (a.json) out.line(JSON.stringify({ venue: 'databento', url: gateway.url, port: gateway.port, symbols: gateway.symbolList() }));
  else {
    out.line(
      `databento Live gateway on ${gateway.url} (${files.length} DBN file(s), speed ${a.speed}${a.fault === undefined ? '' : `, faults ${a.fault}`})`,
    );
    out.line(`  symbols: ${gateway.symbolList().join(', ')}`);
    out.line('Ctrl-C to stop. Any 32-character API key is accepted; the market starts with the first session.');
  }
  await out.end();
  await stopRequested('emulate');
  await gateway.close();
  return EXIT.ok;
}

#!/usr/bin/env node
// Records the simulated venue on a virtual clock (as fast as it runs) into a new capture, the way
// `mdcap record --feed demo` records it live: the engine's event stream, gaps, resyncs and
// reconnects included. Used by the Python client's tests and throughput measurement.
//
//   node make_capture.mjs OUT [--seconds 20] [--pps 500] [--gap-every 150] [--disconnect-after 0] [--seed 3]
//
// Prints one JSON line: {"out": OUT, "events": N, "start": "ns", "end": "ns"}.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const load = (pkg) => import(join(repo, 'packages', pkg, 'dist/index.js'));
const [{ VirtualClock }, { RealtimeEngine }, { SimProvider, DEFAULT_SIM_START }, { CaptureWriter }] = await Promise.all(
  ['core', 'engine', 'sim', 'capture'].map(load),
);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seconds: { type: 'string', default: '20' },
    pps: { type: 'string', default: '500' },
    'gap-every': { type: 'string', default: '150' },
    'disconnect-after': { type: 'string', default: '0' },
    seed: { type: 'string', default: '3' },
  },
});
if (positionals.length !== 1)
  throw new Error('usage: make_capture.mjs OUT [--seconds N] [--pps N] [--gap-every N] [--disconnect-after N] [--seed N]');
const out = resolve(positionals[0]);
const symbols = ['AAPL', 'MSFT', 'BTC-USD'];
const gapEvery = Number(values['gap-every']);
const disconnectAfter = Number(values['disconnect-after']);
const clock = new VirtualClock(DEFAULT_SIM_START);
const sim = new SimProvider({
  seed: Number(values.seed),
  clock,
  durationNs: BigInt(values.seconds) * 1_000_000_000n,
  packetsPerSecond: Number(values.pps),
  faults: { ...(gapEvery > 0 ? { gapEvery } : {}), ...(disconnectAfter > 0 ? { disconnectAfter } : {}) },
});
const writer = await CaptureWriter.open(out, { feed: 'demo', symbols, instruments: sim.instruments(), clock, fsync: false });
const engine = new RealtimeEngine(sim, { reconnect: { delaysMs: [100] } });
let events = 0;
let last = DEFAULT_SIM_START;
engine.onEvent((e) => {
  writer.write(e);
  events++;
  last = e.tsRecv;
});
engine.onError((e) => {
  throw e;
});
await engine.run(symbols);
await writer.close(last);
console.log(JSON.stringify({ out, events, start: DEFAULT_SIM_START.toString(), end: last.toString() }));

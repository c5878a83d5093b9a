/**
 * Runs every benchmark RUNS times, each in a fresh process, and prints the median and range
 * per case as a markdown table (plus the machine), ready for BENCHMARKS.md.
 * Usage: pnpm bench [runs=3]
 */
import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

const runs = Number(process.argv[2] ?? 3);
const dir = fileURLToPath(new URL('.', import.meta.url));
// [script, arguments, at most this many runs (pacing and serve take about two minutes a run)]
const benches: [string, string[], number][] = [
  ['engine.js', [], runs],
  ['engine.js', ['10000000', '1'], runs],
  ['book.js', [], runs],
  ['ring.js', [], runs],
  ['capture.js', [], runs],
  ['feeds.js', [], runs],
  ['dbn.js', [], runs],
  ['mdp3.js', [], runs],
  // CME multicast (a C sender, compiled with gcc; skipped without it) → capture, beside bare sockets: about a minute a run.
  ['mdp3-multicast.js', ['100000', '25000,100000,0'], Math.min(runs, 3)],
  ['e2e.js', [], runs],
  ['pacing.js', [], Math.min(runs, 3)],
  // mdcap serve: about two minutes a run (a 3 M-event capture made, then every case beside its raw-socket baseline).
  ['serve.js', [], Math.min(runs, 3)],
  // Sinks against real servers the script starts (PostgreSQL, Redis, nats-server): about a minute a run.
  ['sinks.js', [], Math.min(runs, 3)],
  // Backtesting (issue 15): a 3 M-event demo capture made, then replay alone beside replay + simulated execution, 3 reps inside: about two minutes a run.
  ['backtest.js', [], Math.min(runs, 3)],
  // Books read on real venue captures (issue 16): two 15 s recordings from the emulators, then replays: about a minute a run.
  ['books-replay.js', [], Math.min(runs, 3)],
  // The web viewer's cost (issue 17): a 1 M-event demo capture, then the replay alone, with the viewer's session, and with its server and a page.
  ['view.js', [], Math.min(runs, 3)],
  // Captures bigger than memory (issue 16), scaled down to 10 M trades here (about two minutes; BENCHMARKS.md has the 100 M run).
  ['scale.js', ['10000000'], 1],
];

interface Row {
  bench: string;
  case: string;
  perSecond: number;
  note?: string;
}

const results = new Map<string, Row[]>();
for (let r = 0; r < runs; r++) {
  for (const [file, args, most] of benches) {
    if (r >= most) continue;
    process.stderr.write(`run ${r + 1}/${runs}: ${file}\n`);
    const out = execFileSync(process.execPath, [`${dir}${file}`, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
    for (const line of out.trim().split('\n')) {
      const row = JSON.parse(line) as Row;
      const key = `${row.bench}\u0000${row.case}`;
      results.set(key, [...(results.get(key) ?? []), row]);
    }
  }
}

const fmt = (n: number): string => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M/s` : `${(n / 1e3).toFixed(0)} k/s`);
console.log(
  `Machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}; ${runs} runs per case, each in a fresh process.\n`,
);
console.log('| bench | case | median | range | note |');
console.log('| --- | --- | --- | --- | --- |');
for (const rows of results.values()) {
  const v = rows.map((r) => r.perSecond).sort((a, b) => a - b);
  const median = v[Math.floor(v.length / 2)]!;
  console.log(
    `| ${rows[0]!.bench} | ${rows[0]!.case} | **${fmt(median)}** | ${fmt(v[0]!)}–${fmt(v[v.length - 1]!)} | ${rows.map((x) => x.note ?? '').join('<br>')} |`,
  );
}

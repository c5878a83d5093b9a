import { MdcapError, nsToIso } from '@mdcap/core';
import type { Argv } from 'yargs';
import { EXIT } from '../command.js';
import type { Command } from '../command.js';
import { bytes, count, LineOutput, Progress } from '../output.js';
import { verifyCapture } from '@mdcap/pipeline';
import type { VerifyReport } from '@mdcap/pipeline';

interface VerifyArgs {
  readonly dir: string;
  readonly json: boolean;
  readonly repair: boolean;
}

function text(r: VerifyReport, out: LineOutput): void {
  if (r.repaired !== null) {
    const p = r.repaired;
    out.line(
      p.segments === 0 && p.session === null
        ? 'repair: nothing to repair'
        : `repair: ${p.segments} segment(s) finalized, ${p.truncated} torn tail(s) cut (${count(p.tornBytes)} bytes)${p.session === null ? '' : `; session ${p.session.id} closed at ${nsToIso(BigInt(p.session.lastTsRecv))} with a gap`}`,
    );
    for (const d of p.damaged) {
      out.line(
        `repair: cut ${d.path} ${d.where}: failed its CRC-32${d.rows === null ? '' : `; ${count(d.rows)} rows, recv_seq ${d.recvSeq![0]}..${d.recvSeq![1]}`}${d.gapRecvSeq === null ? ' (no rows were lost)' : `; recorded as a gap (recv_seq ${d.gapRecvSeq})`}`,
      );
    }
  }
  out.line(
    `capture ${r.root}: ${count(r.files)} files (${r.segments} not finalized), ${count(r.rows)} rows, sha256 ${r.hashMismatches.length === 0 ? 'ok' : `${r.hashMismatches.length} MISMATCHED`}${r.damagedChunks.length === 0 ? '' : `, ${r.damagedChunks.length} DAMAGED chunk(s) in segments`}`,
  );
  for (const s of r.streams) {
    const issues = [
      s.recordedGaps > 0 ? `${s.recordedGaps} recorded gaps` : '',
      s.unrecordedGaps > 0 ? `${s.unrecordedGaps} unannounced jumps` : '',
      s.duplicates > 0 ? `${s.duplicates} duplicates` : '',
      s.outOfOrder > 0 ? `${s.outOfOrder} out of order` : '',
    ].filter(Boolean);
    out.line(
      `  ${s.venue}:${s.symbol}${s.kind === null ? '' : ` ${s.kind}`}  ${count(s.events)} events, seq ${s.firstSeq ?? '-'}..${s.lastSeq ?? '-'}${issues.length === 0 ? '' : `  (${issues.join(', ')})`}`,
    );
  }
  out.line(
    `gaps ${r.gaps} (${r.gapsRecorded} recorded, ${r.gapsUnrecorded} unannounced; ${r.interruptedSessions} interrupted sessions) · resyncs ${r.resyncs} · duplicates ${r.duplicates} · out of order ${r.outOfOrder} · crossed books ${r.crossedBooks} · unknown order ids ${r.unknownOrders} · checksums ${r.checksums.verified} verified, ${r.checksums.failed} failed · corrupt ${r.corrupt}`,
  );
  for (const c of r.feedCounters) {
    const list = Object.entries(c.counters).map(([k, v]) => `${k} ${count(v)}`);
    out.line(`  session ${c.session} (${c.feed}) counted on the wire: ${list.join(', ')}`);
  }
  out.line(r.ok ? 'OK' : `PROBLEMS:\n${r.problems.map((p) => `  - ${p}`).join('\n')}`);
}

export const verifyCommand: Command<VerifyArgs> = {
  command: 'verify <dir>',
  describe: 'Check a capture: file hashes, sequence continuity, gaps, duplicates, order, crossed books, checksums, corrupt packets',
  builder: (y: Argv) =>
    y
      .positional('dir', { type: 'string', describe: 'Capture directory' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object (see docs/cli.md)' })
      .option('repair', {
        type: 'boolean',
        default: false,
        describe: 'First repair an interrupted recording: cut torn segment tails, finalize them, record the loss as a gap',
      })
      .example('mdcap verify cap', 'exit 0 if clean, 1 if problems were found, 2 if unreadable')
      .example('mdcap verify cap --repair --json | jq .gaps', 'after a crash: finalize what was flushed, then count the gaps'),
  async run(a) {
    const progress = new Progress();
    let report: VerifyReport;
    try {
      progress.update(() => `verifying ${a.dir}`);
      report = await verifyCapture(a.dir, {
        repair: a.repair,
        onHashProgress: (done, total) =>
          progress.update(() => `verifying ${a.dir}: sha256 of ${bytes(done)} of ${bytes(total)}`, total === 0 ? 1 : done / total),
        onProgress: (ts, fraction) => progress.update(() => `verifying ${a.dir}: events at ${nsToIso(ts)}`, fraction),
      });
    } catch (error) {
      progress.done();
      if (a.json && error instanceof MdcapError) {
        process.stdout.write(
          `${JSON.stringify({ ok: false, readable: false, root: a.dir, error: { code: error.code, message: error.message } })}\n`,
        );
      }
      throw error;
    }
    progress.done();
    const out = new LineOutput();
    if (a.json) out.line(JSON.stringify({ readable: true, ...report }));
    else text(report, out);
    await out.end();
    return report.ok ? EXIT.ok : EXIT.problems;
  },
};

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatDecimal } from '@mdcap/core';
import { dbnBytes, DbnReader, SymbolMap } from '@mdcap/dbn';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * `mdcap import dbn` on real Databento files (NautilusTrader's samples): the engine's bars from
 * imported trades equal Databento's own OHLCV bars, and an imported MBO day (start-of-day
 * snapshot, then live orders) replays into a book that never misses an order id and is never
 * crossed where Databento marks a packet's last record.
 */
const dir = tempDir('dbn-import');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const nautilus = (path: string): string => datasetFile('nautilus-trader', `databento/${path}`);

describeWithDataset('nautilus-trader', 'mdcap import dbn', () => {
  it("vendor bars: 1-minute bars from the imported ESU4 trades equal Databento's ohlcv-1m", () => {
    const out = join(dir, 'esu4');
    const imp = mdcap([
      'import',
      'dbn',
      nautilus('bars_catalog/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst'),
      nautilus('bars_catalog/futures_definition.dbn.zst'),
      '--out',
      out,
      '--json',
    ]);
    expect(imp.status, imp.stderr).toBe(0);
    expect(JSON.parse(imp.stdout)).toMatchObject({ records: 122, events: 120, symbols: ['ESU4'], instruments: 2, skipped: {} });
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { instruments: Record<string, unknown>[] };
    expect(manifest.instruments.find((i) => i['symbol'] === 'ESU4')).toMatchObject({
      kind: 'future',
      tickSize: '250000000',
      multiplier: '50',
    });

    const replay = mdcap(['replay', out, '--bars', '60', '--print', 'bars', '--json']);
    expect(replay.status, replay.stderr).toBe(0);
    const ours = new Map(
      replay.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, string>)
        .map((b) => [b['start'], b] as const),
    );
    // Databento's bars for ESU4 (instrument 118) from the ohlcv-1m file of the same window.
    const file = nautilus('bars_catalog/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst');
    const reader = new DbnReader(readFileSync(file), { file });
    const symbols = SymbolMap.fromMetadata(reader.metadata);
    const theirs = reader.all().filter((r) => symbols.symbolOf(r) === 'ESU4');
    // The trades run from 23:58:01 to 00:01:52: the four minutes they fully cover.
    const minutes = ['2024-07-01T23:58:00Z', '2024-07-01T23:59:00Z', '2024-07-02T00:00:00Z', '2024-07-02T00:01:00Z'].map(
      (t) => BigInt(Date.parse(t)) * 1_000_000n,
    );
    for (const start of minutes) {
      const d = theirs.find((r) => r['ts_event'] === start)!;
      const b = ours.get(start.toString())!;
      expect(b, `bar at ${start}`).toBeDefined();
      expect([b['open'], b['high'], b['low'], b['close'], b['volume']]).toEqual([
        formatDecimal(d['open'] as bigint, 9),
        formatDecimal(d['high'] as bigint, 9),
        formatDecimal(d['low'] as bigint, 9),
        formatDecimal(d['close'] as bigint, 9),
        String(d['volume']),
      ]);
    }
  });

  it('export dbn: the imported trades written back as DBN equal the original records in every field the capture keeps', () => {
    const out = join(dir, 'esu4'); // imported by the test above
    const file = join(dir, 'esu4-trades.dbn');
    const exp = mdcap(['export', 'dbn', out, '--schema', 'trades', '--out', file, '--json']);
    expect(exp.status, exp.stderr).toBe(0);
    expect(JSON.parse(exp.stdout)).toMatchObject({ records: 120, symbols: ['ESU4'] });
    const original = nautilus('bars_catalog/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst');
    const kept = ['ts_recv', 'ts_event', 'rtype', 'instrument_id', 'action', 'side', 'depth', 'price', 'size', 'sequence'];
    const pick = (r: Record<string, unknown>): unknown[] => kept.map((k) => r[k]);
    const theirs = new DbnReader(readFileSync(original), { file: original }).all().map(pick);
    const ours = new DbnReader(readFileSync(file), { file });
    expect(ours.all().map(pick)).toEqual(theirs);
    expect(ours.metadata).toMatchObject({ schema: 'trades', stypeOut: 'instrument_id', symbols: ['ESU4'] });
    expect(SymbolMap.fromMetadata(ours.metadata).symbolOf(ours.all()[0]!)).toBe('ESU4');
    // A size DBN cannot hold is refused with the event named, not rounded.
    const crypto = join(dir, 'crypto');
    expect(mdcap(['record', '--feed', 'demo', '--symbols', 'BTC-USD', '--out', crypto, '--duration', '1s']).status).toBe(0);
    const frac = mdcap(['export', 'dbn', crypto, '--schema', 'trades', '--out', join(dir, 'btc.dbn')]);
    expect(frac.status).toBe(2);
    expect(frac.stderr).toMatch(
      /^mdcap export: MDCAP_ERR_INVALID_OPTION: export dbn: trade demo:BTC-USD at \S+Z: expected a whole size \(DBN sizes are integers\), found 0\.\d+\n$/,
    );
    // A schema the capture has nothing of is a clear error.
    expect(mdcap(['export', 'dbn', out, '--schema', 'ohlcv-1m', '--out', join(dir, 'x.dbn')]).stderr).toMatch(
      /--schema ohlcv-1m: expected events of that kind in .*, found none/,
    );
  });

  it('MBO: the ESM4 snapshot and live orders never name an unknown order id, and the book is never crossed at a last record', () => {
    const out = join(dir, 'esm4');
    const imp = mdcap([
      'import',
      'dbn',
      nautilus('mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst'),
      nautilus('mbo_catalog/orderbooks_definition.dbn.zst'),
      '--out',
      out,
      '--json',
    ]);
    expect(imp.status, imp.stderr).toBe(0);
    const summary = JSON.parse(imp.stdout) as { records: number; skipped: Record<string, number> };
    expect(summary.records).toBe(13_796 + 1);
    expect(Object.values(summary.skipped).reduce((a, n) => a + n, 0)).toBe(5); // the fills, counted
    const verify = JSON.parse(mdcap(['verify', out, '--json']).stdout) as Record<string, unknown>;
    expect(verify).toMatchObject({ ok: true, unknownOrders: 0, crossedBooks: 0, outOfOrder: 0, engineErrors: [] });
    // The book is valid after the snapshot, and ends uncrossed.
    const tops = mdcap(['replay', out, '--print', 'top', '--json']).stdout.trim().split('\n');
    const last = JSON.parse(tops[tops.length - 1]!) as { valid: boolean; bids: [string, string][]; asks: [string, string][] };
    expect(last.valid).toBe(true);
    expect(Number(last.bids[0]![0])).toBeLessThan(Number(last.asks[0]![0]));
  });

  it('a truncated file: one line naming the file, byte and record; with --keep-partial what came before is kept, marked as cut short', () => {
    // The decompressed stream: metadata, then 120 trades of 48 bytes. Keep 60 and a piece of the 61st.
    const whole = dbnBytes(readFileSync(nautilus('bars_catalog/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst')));
    const meta = whole.length - new DbnReader(whole).body.length;
    const bad = join(dir, 'cut.dbn');
    writeFileSync(bad, whole.subarray(0, meta + 60 * 48 + 20));
    const out = join(dir, 'cut');
    const imp = mdcap(['import', 'dbn', bad, '--out', out, '--keep-partial']);
    expect(imp.status).toBe(2);
    expect(imp.stderr).toMatch(
      new RegExp(
        `^mdcap import: MDCAP_ERR_IMPORT_FORMAT: .*cut\\.dbn: byte ${meta + 60 * 48}, record 60: expected 48 bytes of record \\(rtype 0x0\\), found 20 \\(the file is truncated\\)`,
      ),
    );
    const verify = JSON.parse(mdcap(['verify', out, '--json']).stdout) as { rows: number; gapsRecorded: number };
    expect(verify.rows).toBe(60 + 1); // the 60 trades, and the gap status that says the import stopped there
    expect(verify.gapsRecorded).toBe(1);
  });
});

describeWithDataset('databento-python', 'mdcap import dbn: MBP-10', () => {
  it('the book rebuilt from the level changes equals the ten levels of every MBP-10 record', () => {
    const file = datasetFile('databento-python', 'GLBX.MDP3/test_data.mbp-10.dbn.zst');
    const out = join(dir, 'mbp10');
    expect(mdcap(['import', 'dbn', file, '--out', out]).status).toBe(0);
    const tops = mdcap(['replay', out, '--print', 'top', '--depth', '10', '--json'])
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: string; valid: boolean; bids: [string, string][]; asks: [string, string][] });
    const records = new DbnReader(readFileSync(file), { file }).all();
    const level = (r: Record<string, unknown>, side: 'bid' | 'ask'): [string, string][] =>
      Array.from({ length: 10 }, (_, i) => String(i).padStart(2, '0'))
        .filter((k) => (r[`${side}_sz_${k}`] as number) > 0)
        .map((k) => [formatDecimal(r[`${side}_px_${k}`] as bigint, 9), String(r[`${side}_sz_${k}`])]);
    // One book per record (each record's last update is flagged Last); compare them in order.
    const bySeq = new Map(tops.map((t) => [t.seq, t]));
    for (const r of records) {
      const top = bySeq.get(String(r['sequence']))!;
      expect(top.valid).toBe(true);
      expect(top.bids).toEqual(level(r, 'bid'));
      expect(top.asks).toEqual(level(r, 'ask'));
    }
  });
});

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DbnError, DbnReader, dbnBytes, encodeDbn, encodeRecords, RType, UNDEF_PRICE } from '@mdcap/dbn';
import type { DbnRecord } from '@mdcap/dbn';
import { datasetFile, describeWithDataset, tempDir } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

/**
 * The DBN codec against Databento's own sample files (databento/dbn, databento-cpp,
 * databento-python) and real v1 files from NautilusTrader: every file decodes, with the record
 * counts their READMEs state; the same data in v1, v2 and v3, plain or zstd, decodes to the same
 * records; decode → encode gives back the very bytes; bad input gives errors that name the
 * file, the byte offset and the record.
 */
const manifest = JSON.parse(readFileSync(new URL('../../../datasets/manifest.json', import.meta.url), 'utf8')) as {
  datasets: { name: string; files: { path: string }[] }[];
};
const dbnFiles = (dataset: string): string[] =>
  manifest.datasets
    .find((d) => d.name === dataset)!
    .files.map((f) => f.path)
    .filter((p) => p !== 'README.md');

const show = (records: DbnRecord[]): string => JSON.stringify(records, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** `| file | bytes | DBN ver | dataset | schema | symbol | records | rtypes |` rows of a dataset README: file → records. */
function readmeCounts(dataset: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(datasetFile(dataset, 'README.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 9 || !/\.(dbn|zst|frag)$/.test(cells[1]!)) continue;
    if (/^\d+$/.test(cells[7]!)) counts.set(cells[1]!, Number(cells[7]));
  }
  return counts;
}

function open(dataset: string, path: string, options: { upgrade?: boolean } = {}): DbnReader {
  const file = datasetFile(dataset, path);
  return new DbnReader(readFileSync(file), { file, ...options });
}

for (const dataset of ['databento-dbn', 'databento-cpp-extra', 'databento-python']) {
  describeWithDataset(dataset, `DBN: ${dataset}`, () => {
    it('every file decodes (legacy DBZ is refused), with the record count its README states', () => {
      const counts = readmeCounts(dataset);
      const checked: string[] = [];
      for (const path of dbnFiles(dataset)) {
        const name = path.split('/').pop()!;
        if (path.endsWith('.dbz')) {
          expect(() => open(dataset, path)).toThrow(/found legacy DBZ/);
          continue;
        }
        const n = open(dataset, path).all().length;
        const expected = counts.get(name) ?? counts.get(path);
        if (expected !== undefined) {
          expect(n, path).toBe(expected);
          checked.push(path);
        }
      }
      expect(checked.length).toBeGreaterThan(10);
    });

    it('decode → encode gives back the same bytes (records, metadata, v3 padding, reserved bytes); decoding that again gives the same records', () => {
      for (const path of dbnFiles(dataset).filter((p) => !p.endsWith('.dbz'))) {
        const raw = dbnBytes(readFileSync(datasetFile(dataset, path)));
        const reader = new DbnReader(raw, { upgrade: false, file: path });
        const records = reader.all();
        const again = reader.metadata === null ? encodeRecords(records, reader.version, reader.tsOut) : encodeDbn(reader.metadata, records);
        expect(Buffer.from(again).equals(Buffer.from(raw)), path).toBe(true);
        const fragment = reader.metadata === null ? { fragmentVersion: reader.version as 1 | 2 | 3 } : {};
        expect(show(new DbnReader(again, { upgrade: false, ...fragment }).all()), path).toBe(show(records));
      }
    });
  });
}

describeWithDataset('databento-dbn', 'DBN versions', () => {
  it('the same data in v1, v2 and v3, plain or zstd, decodes to the same (v3) records', () => {
    const schemas = [
      'mbo',
      'mbp-1',
      'mbp-10',
      'tbbo',
      'trades',
      'ohlcv-1s',
      'ohlcv-1m',
      'ohlcv-1h',
      'ohlcv-1d',
      'definition',
      'statistics',
      'imbalance',
    ];
    for (const schema of schemas) {
      const v3 = show(open('databento-dbn', `tests-data/test_data.${schema}.v3.dbn.zst`).all());
      for (const other of [`test_data.${schema}.v1.dbn.zst`, `test_data.${schema}.v2.dbn.zst`, `test_data.${schema}.dbn`]) {
        expect(show(open('databento-dbn', `tests-data/${other}`).all()), other).toBe(v3);
      }
    }
    for (const schema of ['status', 'bbo-1s', 'bbo-1m', 'cmbp-1', 'cbbo-1s']) {
      expect(show(open('databento-dbn', `tests-data/test_data.${schema}.v2.dbn.zst`).all())).toBe(
        show(open('databento-dbn', `tests-data/test_data.${schema}.v3.dbn.zst`).all()),
      );
    }
    // Fragments: bare records, version told by the record sizes; eight zstd frames back to back.
    const frag = show(open('databento-dbn', 'tests-data/test_data.definition.v3.dbn.frag').all());
    expect(show(open('databento-dbn', 'tests-data/test_data.definition.v1.dbn.frag').all())).toBe(frag);
    expect(show(open('databento-dbn', 'tests-data/test_data.definition.dbn.frag.zst').all())).toBe(frag); // v2
    expect(open('databento-dbn', 'tests-data/multi-frame.definition.v1.dbn.frag.zst').all()).toHaveLength(8);
  });

  it('keeps 64-bit values exact and sentinels as sentinels', () => {
    const mbo = open('databento-dbn', 'tests-data/test_data.mbo.v3.dbn').all();
    expect(mbo[0]).toMatchObject({ rtype: RType.Mbo, instrument_id: 5482, action: 'C', side: 'A', price: 3722750000000n });
    expect(typeof mbo[0]!['ts_recv']).toBe('bigint');
    const def = open('databento-dbn', 'tests-data/test_data.definition.v3.dbn.zst').all();
    expect(def[0]).toMatchObject({ raw_symbol: 'MSFT', strike_price: UNDEF_PRICE });
    const v1 = open('databento-dbn', 'tests-data/test_data.statistics.v1.dbn.zst', { upgrade: false }).all();
    const v3 = open('databento-dbn', 'tests-data/test_data.statistics.v1.dbn.zst').all();
    expect(v1[0]!['quantity']).toBe(2 ** 31 - 1); // v1: i32::MAX means "no quantity" …
    expect(v3[0]!['quantity']).toBe(2n ** 63n - 1n); // … which becomes i64::MAX in v3
  });
});

describeWithDataset('nautilus-trader', 'DBN: the cursor', () => {
  it('reads the same values as the decoded records, without objects per record (v1: unaligned in the file)', () => {
    const reader = open('nautilus-trader', 'databento/mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst');
    const records = reader.all();
    const cursor = reader.cursor();
    let i = 0;
    while (cursor.next()) {
      const r = records[i++]!;
      expect(cursor.rtype).toBe(r['rtype']);
      expect(cursor.instrumentId).toBe(r['instrument_id']);
      expect(cursor.tsEvent).toBe(r['ts_event']);
      expect(cursor.u64At(16)).toBe(r['order_id']);
      expect(cursor.i64At(24)).toBe(r['price']);
      expect(cursor.u32At(32)).toBe(r['size']);
      expect(String.fromCharCode(cursor.u8At(38))).toBe(r['action']);
      expect(cursor.u64At(40)).toBe(r['ts_recv']);
      expect(cursor.i32At(48)).toBe(r['ts_in_delta']);
      expect(cursor.u32At(52)).toBe(r['sequence']);
    }
    expect(i).toBe(13_796);
  });
});

describeWithDataset('nautilus-trader', 'DBN: real v1 files (NautilusTrader)', () => {
  it('decode with the counts its README states', () => {
    const counts: Record<string, number> = {
      'databento/bars_catalog/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst': 120,
      'databento/bars_catalog/futures_ohlcv-1m_2024-07-01T23-40_2024-07-02T00-10.dbn.zst': 60,
      'databento/bars_catalog/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst': 2288,
      'databento/mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst': 13_796,
      'databento/esh4-glbx-mdp3-20231224.mbo.dbn.zst': 8725,
      'databento/definition-glbx-es-fut.dbn.zst': 2,
      'databento/definition-glbx-es-futspread.dbn.zst': 2,
    };
    for (const path of dbnFiles('nautilus-trader')) {
      const reader = open('nautilus-trader', path);
      expect(reader.version, path).toBe(1);
      const n = reader.all().length;
      if (counts[path] !== undefined) expect(n, path).toBe(counts[path]);
    }
    const mbp1 = open('nautilus-trader', 'databento/bars_catalog/futures_mbp-1_2024-07-01T23-58_2024-07-02T00-02.dbn.zst').all();
    const actions = new Map<string, number>();
    for (const r of mbp1) actions.set(r['action'] as string, (actions.get(r['action'] as string) ?? 0) + 1);
    expect(Object.fromEntries(actions)).toEqual({ A: 1061, C: 989, T: 120, M: 118 });
  });
});

describeWithDataset('databento-dbn', 'DBN: bad input', () => {
  const plain = (): Uint8Array => new Uint8Array(readFileSync(datasetFile('databento-dbn', 'tests-data/test_data.mbo.v3.dbn')));
  const decode = (bytes: Uint8Array, options: { skipBad?: boolean } = {}) => new DbnReader(bytes, { file: 'x.dbn', ...options }).all();

  it('a truncated record names the file, the byte offset and the record index', () => {
    const bytes = plain();
    const cut = bytes.subarray(0, bytes.length - 10); // 472 bytes: metadata 360, then two 56-byte records
    expect(() => decode(cut)).toThrow(
      'x.dbn: byte 416, record 1: expected 56 bytes of record (rtype 0xa0), found 46 (the file is truncated)',
    );
    expect(() => decode(bytes.subarray(0, 50))).toThrow(
      /x\.dbn: byte 4: expected \d+ bytes of metadata, found only 42 bytes after the header \(truncated\)/,
    );
  });

  it('a wrong magic, an unknown version, an impossible length', () => {
    const bytes = plain();
    expect(() => decode(new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]))).toThrow(
      /x\.dbn: byte 0: expected the DBN magic "DBN" \(44 42 4e\), found 50 4b 03 04/,
    );
    const v9 = bytes.slice();
    v9[3] = 9;
    expect(() => decode(v9)).toThrow('x.dbn: byte 3: expected DBN version 1, 2 or 3, found version 9');
    const short = bytes.slice();
    short[360] = 2; // the first record claims 8 bytes
    expect(() => decode(short)).toThrow('x.dbn: byte 360, record 0: expected a record length of at least 16 bytes, found 8 (rtype 0xa0)');
    const long = bytes.slice();
    long[360] = 200; // 800 bytes: past the end
    expect(() => decode(long)).toThrow(/x\.dbn: byte 360, record 0: expected 800 bytes of record \(rtype 0xa0\), found 112/);
  });

  it('an unknown record type fails, or with skipBad is skipped and counted', () => {
    const bytes = plain();
    bytes[361] = 0x77;
    expect(() => decode(bytes)).toThrow('x.dbn: byte 360, record 0: expected a known record type, found rtype 0x77 (56 bytes)');
    const reader = new DbnReader(bytes, { file: 'x.dbn', skipBad: true });
    expect(reader.all()).toHaveLength(1);
    expect(reader.skipped).toBe(1);
    expect(reader.firstSkip).toMatch(/byte 360, record 0: expected a known record type/);
  });

  it("a truncated zstd file: a cut in the last frame's checksum, or in a file of one block, is not lost silently", () => {
    const zst = new Uint8Array(readFileSync(datasetFile('databento-dbn', 'tests-data/test_data.mbo.v3.dbn.zst')));
    // The records are all there, but the frame's 4-byte checksum is not: still a truncated file.
    const reader = new DbnReader(zst.subarray(0, zst.length - 2), { file: 'x.dbn.zst' });
    const got: DbnRecord[] = [];
    expect(() => {
      for (const r of reader.records()) got.push(r);
    }).toThrow(
      /^x\.dbn\.zst: byte 472, record 2: expected a 16-byte record header, found 0 bytes \(the file is truncated: its zstd stream breaks off/,
    );
    expect(got).toHaveLength(2);
    // One block holds the whole file: nothing before the cut, and the error says why.
    expect(() => new DbnReader(zst.subarray(0, 100), { file: 'x.dbn.zst' })).toThrow(
      'x.dbn.zst: byte 0: expected a DBN header of at least 8 bytes, found 0 bytes (the file is truncated: its zstd stream breaks off inside a frame at compressed byte 100, the end of the file)',
    );
  });

  it('a corrupt zstd frame', () => {
    const zst = new Uint8Array(readFileSync(datasetFile('databento-dbn', 'tests-data/test_data.mbp-10.v3.dbn.zst')));
    for (let i = 20; i < zst.length - 8; i++) zst[i] = zst[i]! ^ 0x5a;
    expect(() => decode(zst)).toThrow(/x\.dbn: byte 0: expected a valid zstd stream, found a corrupt one/);
  });
});

describeWithDataset('nautilus-trader', 'DBN: a truncated zstd file', () => {
  it('gives every record of the blocks before the cut, then fails naming the file, the byte and record, and the compressed byte', () => {
    const source = datasetFile('nautilus-trader', 'databento/mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst');
    const zst = readFileSync(source);
    const whole = new DbnReader(zst, { file: source });
    const all = whole.all();
    const dir = tempDir('dbn-cut');
    try {
      const file = join(dir, 'cut.dbn.zst');
      writeFileSync(file, zst.subarray(0, zst.length >> 1));
      const reader = new DbnReader(readFileSync(file), { file });
      expect(reader.metadata).toEqual(whole.metadata);
      const got: DbnRecord[] = [];
      let error: unknown = null;
      try {
        for (const r of reader.records()) got.push(r);
      } catch (e) {
        error = e;
      }
      // A real part of the file, record for record the same as in the whole file.
      expect(got.length).toBeGreaterThan(all.length / 4);
      expect(got.length).toBeLessThan(all.length);
      expect(show(got)).toBe(show(all.slice(0, got.length)));
      // The error: where the data stop (the byte and the index of the first record not whole) and where the stream broke off.
      const at = whole.bodyOffset + got.length * 56;
      expect(error).toBeInstanceOf(DbnError);
      expect((error as DbnError).code).toBe('MDCAP_ERR_IMPORT_FORMAT');
      expect((error as DbnError).message).toBe(
        `${file}: byte ${at}, record ${got.length}: expected 56 bytes of record (rtype 0xa0), found ${reader.body.length - got.length * 56} ` +
          `(the file is truncated: its zstd stream breaks off inside a frame at compressed byte ${zst.length >> 1}, the end of the file)`,
      );
      // The cursor reads the same records, then fails at the same place.
      const cursor = reader.cursor();
      let n = 0;
      expect(() => {
        while (cursor.next()) n++;
      }).toThrow((error as Error).message);
      expect(n).toBe(got.length);
      // dbnBytes, which promises the whole stream, refuses it.
      expect(() => dbnBytes(readFileSync(file), file)).toThrow(/expected a whole zstd stream, found that its zstd stream breaks off/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('DBN: encoding from scratch', () => {
  it('writes a v3 stream that decodes to the records it was given, padded to 8 bytes', () => {
    const records: DbnRecord[] = [
      {
        length: 12,
        rtype: RType.Mbp0,
        publisher_id: 1,
        instrument_id: 42,
        ts_event: 1_700_000_000_000_000_001n,
        price: 4_321_250_000_000n,
        size: 7,
        action: 'T',
        side: 'B',
        flags: 0x80,
        depth: 0,
        ts_recv: 1_700_000_000_000_000_123n,
        ts_in_delta: -5,
        sequence: 99,
      },
    ];
    const bytes = encodeDbn(
      {
        version: 3,
        dataset: 'GLBX.MDP3',
        schema: 'trades',
        start: 1n,
        end: null,
        limit: 0n,
        stypeIn: 'raw_symbol',
        stypeOut: 'instrument_id',
        tsOut: false,
        symbolCstrLen: 71,
        symbols: ['ESZ3'],
        partial: [],
        notFound: [],
        mappings: [{ rawSymbol: 'ESZ3', intervals: [{ startDate: 20231101, endDate: 20231102, symbol: '42' }] }],
      },
      records,
    );
    const reader = new DbnReader(bytes);
    expect((bytes.length - 48) % 8).toBe(0);
    expect(reader.metadata).toMatchObject({ dataset: 'GLBX.MDP3', schema: 'trades', end: null, symbols: ['ESZ3'] });
    expect(reader.all()).toEqual(records);
  });
});

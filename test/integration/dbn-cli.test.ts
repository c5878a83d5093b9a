import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dbnBytes, DbnReader } from '@mdcap/dbn';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, beforeAll, expect, it } from 'vitest';

/** `mdcap dbn`: Databento files printed in Databento's CSV and JSON encodings. */
describeWithDataset('databento-dbn', 'mdcap dbn', () => {
  const file = (name: string): string => datasetFile('databento-dbn', `tests-data/${name}`);

  it('CSV with a header, JSON lines with "hd", 64-bit integers as strings, pretty prices and times', () => {
    const csv = mdcap(['dbn', file('test_data.mbp-1.v3.dbn.zst'), '--map-symbols']);
    expect(csv.status, csv.stderr).toBe(0);
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe(
      'ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,depth,price,size,flags,ts_in_delta,sequence,bid_px_00,ask_px_00,bid_sz_00,ask_sz_00,bid_ct_00,ask_ct_00,symbol',
    );
    expect(lines[1]).toBe(
      '1609160400006136329,1609160400006001487,1,1,5482,A,A,0,3720500000000,1,128,17214,1170362,3720250000000,3720500000000,24,11,15,9,ESH1',
    );
    expect(lines).toHaveLength(3);

    const json = mdcap(['dbn', file('test_data.mbp-1.v3.dbn.zst'), '--json', '--pretty', '--limit', '1']);
    expect(JSON.parse(json.stdout)).toEqual({
      ts_recv: '2020-12-28T13:00:00.006136329Z',
      hd: { ts_event: '2020-12-28T13:00:00.006001487Z', rtype: 1, publisher_id: 1, instrument_id: 5482 },
      action: 'A',
      side: 'A',
      depth: 0,
      price: '3720.500000000',
      size: 1,
      flags: 128,
      ts_in_delta: 17214,
      sequence: 1170362,
      levels: [{ bid_px: '3720.250000000', ask_px: '3720.500000000', bid_sz: 24, ask_sz: 11, bid_ct: 15, ask_ct: 9 }],
    });
    // A v1 file prints the same records (upgraded to v3, as databento-python and `dbn --upgrade` do).
    expect(mdcap(['dbn', file('test_data.mbp-1.v1.dbn.zst'), '--map-symbols']).stdout).toBe(csv.stdout);
  });

  it('--meta prints the metadata; absent prices are empty in pretty CSV', () => {
    const meta = mdcap(['dbn', file('test_data.mbo.v3.dbn'), '--meta', '--pretty']);
    expect(JSON.parse(meta.stdout)).toMatchObject({
      version: 3,
      dataset: 'GLBX.MDP3',
      schema: 'mbo',
      stype_in: 'raw_symbol',
      stype_out: 'instrument_id',
      symbols: ['ESH1'],
      mappings: [{ raw_symbol: 'ESH1', intervals: [{ start_date: '2020-12-28', end_date: '2020-12-29', symbol: '5482' }] }],
    });
    const def = mdcap(['dbn', file('test_data.definition.v3.dbn.zst'), '--csv', '--pretty']).stdout.split('\n');
    const cols = def[0]!.split(',');
    const row = def[1]!.split(',');
    expect(row[cols.indexOf('raw_symbol')]).toBe('MSFT');
    expect(row[cols.indexOf('strike_price')]).toBe(''); // UNDEF_PRICE
  });

  it('bad input: one line naming the file and the byte, exit 2', () => {
    const dbz = mdcap(['dbn', file('test_data.mbo.dbz')]);
    expect(dbz.status).toBe(2);
    expect(dbz.stderr).toMatch(
      /^mdcap dbn: MDCAP_ERR_IMPORT_FORMAT: .*test_data\.mbo\.dbz: byte 0: expected DBN \(plain or zstd\), found legacy DBZ/,
    );
    const csvJson = mdcap(['dbn', file('test_data.mbo.v3.dbn'), '--csv', '--json']);
    expect(csvJson.status).toBe(2);
    expect(csvJson.stderr).toMatch(/--csv and --json: expected one of them, found both/);
  });
});

/**
 * Against the renderings databento-python's own tests assert for these two files (the
 * expected values of `DBNStore.to_csv` / `to_json`): the first record of each, byte for byte.
 */
describeWithDataset('databento-python', "mdcap dbn: Databento's own renderings", () => {
  const file = (name: string): string => datasetFile('databento-python', `GLBX.MDP3/${name}`);

  it('mbo as plain CSV, and mbp-1 as pretty JSON with symbols, equal Databento’s output', () => {
    const csv = mdcap(['dbn', file('test_data.mbo.dbn.zst'), '--csv']).stdout.split('\n');
    expect(csv[0]).toBe(
      'ts_recv,ts_event,rtype,publisher_id,instrument_id,action,side,price,size,channel_id,order_id,flags,ts_in_delta,sequence',
    );
    expect(csv[1]).toBe('1609113600000000000,1609099225061045683,160,1,5482,A,B,3675750000000,2,0,647784248135,40,0,1180');
    expect(csv).toHaveLength(6); // header, 4 records, and the final newline
    const json = mdcap(['dbn', file('test_data.mbp-1.dbn.zst'), '--json', '--pretty', '--map-symbols']).stdout.split('\n');
    expect(json[0]).toBe(
      '{"ts_recv":"2020-12-28T00:00:00.006150193Z","hd":{"ts_event":"2020-12-28T00:00:00.005871213Z","rtype":1,"publisher_id":1,"instrument_id":5482},"action":"A","side":"B","depth":0,"price":"3702.250000000","size":1,"flags":130,"ts_in_delta":26128,"sequence":145805,"levels":[{"bid_px":"3702.250000000","ask_px":"3702.750000000","bid_sz":19,"ask_sz":13,"bid_ct":11,"ask_ct":13}],"symbol":"ESH1"}',
    );
  });
});

/**
 * DBN v1/v2 files in Databento's two renderings. databento-python (`DBNStore.to_json`, whose
 * `Transcoder` takes the default policy `UpgradeToV3`) and `dbn --upgrade` print v3 records,
 * converted by `From<&v1::StatMsg>` / `From<&v1::InstrumentDefMsg>` (rust/dbn/src/v3/methods.rs):
 * mdcap's default. Databento's `dbn` tool without `--upgrade` decodes `AsIs`
 * (rust/dbn-cli/src/lib.rs) and prints the v1/v2 structs of compat.rs: mdcap's `--no-upgrade`.
 */
describeWithDataset('databento-dbn', "mdcap dbn: v1/v2 files, upgraded and as written, as Databento's tools print them", () => {
  const file = (name: string): string => datasetFile('databento-dbn', `tests-data/${name}`);
  const json = (name: string, ...args: string[]): string[] => {
    const run = mdcap(['dbn', file(name), '--json', ...args]);
    expect(run.status, run.stderr).toBe(0);
    return run.stdout.trim().split('\n');
  };

  it("statistics: the upgrade widens quantity's null sentinel to i64::MAX; as written, v1/v2 keep i32::MAX (a JSON number)", () => {
    for (const name of ['test_data.statistics.v1.dbn.zst', 'test_data.statistics.v2.dbn.zst', 'test_data.statistics.dbn']) {
      expect(json(name)[0], name).toContain('"quantity":"9223372036854775807",');
      expect(json(name, '--no-upgrade')[0], name).toContain('"quantity":2147483647,');
    }
    // v3 is written with the i64 sentinel: the same either way.
    expect(json('test_data.statistics.v3.dbn.zst', '--no-upgrade')).toEqual(json('test_data.statistics.v3.dbn.zst'));
    expect(json('test_data.statistics.v1.dbn.zst')).toEqual(json('test_data.statistics.v3.dbn.zst'));
  });

  it('definitions: as written, v1/v2 have the four fields v3 dropped, in the order of compat.rs, and no leg fields', () => {
    // InstrumentDefMsgV1/V2 (rust/dbn/src/compat.rs) in their encode order, the header apart.
    // prettier-ignore
    const v1v2 = [
      'ts_recv', 'hd', 'raw_symbol', 'security_update_action', 'instrument_class', 'min_price_increment', 'display_factor',
      'expiration', 'activation', 'high_limit_price', 'low_limit_price', 'max_price_variation', 'trading_reference_price',
      'unit_of_measure_qty', 'min_price_increment_amount', 'price_ratio', 'inst_attrib_value', 'underlying_id',
      'raw_instrument_id', 'market_depth_implied', 'market_depth', 'market_segment_id', 'max_trade_vol', 'min_lot_size',
      'min_lot_size_block', 'min_lot_size_round_lot', 'min_trade_vol', 'contract_multiplier', 'decay_quantity',
      'original_contract_size', 'trading_reference_date', 'appl_id', 'maturity_year', 'decay_start_date', 'channel_id',
      'currency', 'settl_currency', 'secsubtype', 'group', 'exchange', 'asset', 'cfi', 'security_type', 'unit_of_measure',
      'underlying', 'strike_price_currency', 'strike_price', 'match_algorithm', 'md_security_trading_status', 'main_fraction',
      'price_display_format', 'settl_price_type', 'sub_fraction', 'underlying_product', 'maturity_month', 'maturity_day',
      'maturity_week', 'user_defined_instrument', 'contract_multiplier_unit', 'flow_schedule_type', 'tick_rule',
    ];
    const v3 = json('test_data.definition.v3.dbn.zst');
    for (const name of ['test_data.definition.v1.dbn.zst', 'test_data.definition.v2.dbn.zst']) {
      const asWritten = json(name, '--no-upgrade').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(Object.keys(asWritten[0]!), name).toEqual(v1v2);
      expect(asWritten[0], name).toMatchObject({
        trading_reference_price: '9223372036854775807',
        trading_reference_date: 65535,
        md_security_trading_status: 78,
        settl_price_type: 255,
        raw_instrument_id: 2147483647, // a u32 there, a JSON number
      });
      const csv = mdcap(['dbn', file(name), '--csv', '--no-upgrade']).stdout.split('\n');
      expect(csv[0], name).toBe(['ts_recv', 'ts_event', 'rtype', 'publisher_id', 'instrument_id', ...v1v2.slice(2)].join(','));
      // Upgraded, they are the v3 records: without those four fields, with the leg fields.
      expect(json(name), name).toEqual(v3);
    }
    expect(Object.keys(JSON.parse(v3[0]!) as object)).not.toContain('trading_reference_price');
  });

  it('leg_instrument_class: a NUL char, null in JSON and empty in CSV (write_c_char_field in encode/json and encode/csv serialize.rs)', () => {
    for (const name of ['test_data.definition.v3.dbn.zst', 'test_data.definition.v1.dbn.zst']) {
      expect(json(name)[0], name).toContain('"leg_raw_symbol":"","leg_instrument_class":null,"leg_side":"N",');
      const csv = mdcap(['dbn', file(name), '--csv']).stdout.split('\n');
      const cols = csv[0]!.split(',');
      expect(csv[1]!.split(',')[cols.indexOf('leg_instrument_class')], name).toBe('');
    }
  });
});

/**
 * A truncated file: `mdcap dbn` prints the records before the cut, then one error line (exit 2);
 * `mdcap import dbn` keeps them behind a gap status. A .dbn.zst whose zstd stream breaks off
 * does the same as a plain .dbn cut at the same byte of its data.
 */
describeWithDataset('nautilus-trader', 'mdcap dbn and import dbn: a truncated .dbn.zst, as a plain file cut at the same byte', () => {
  const dir = tempDir('dbn-cli-cut');
  const zstCut = join(dir, 'mbo-cut.dbn.zst');
  const plainCut = join(dir, 'mbo-cut.dbn');
  let source = '';
  let zst = Buffer.alloc(0);
  let data: DbnReader;
  beforeAll(() => {
    source = datasetFile('nautilus-trader', 'databento/mbo_catalog/orderbooks_mbo_2024-05-08T00-00-00_2024-05-08T00-00-02.dbn.zst');
    zst = readFileSync(source);
    // The zstd file cut in the middle; the plain one at the byte of its data where the zstd one stops.
    writeFileSync(zstCut, zst.subarray(0, zst.length >> 1));
    data = new DbnReader(readFileSync(zstCut), { file: zstCut });
    writeFileSync(plainCut, dbnBytes(zst).subarray(0, data.bodyOffset + data.body.length));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('mdcap dbn prints the records of the whole blocks, then names the file, the byte and record, and where the stream breaks off', () => {
    const whole = mdcap(['dbn', source, '--json']).stdout.split('\n');
    const fromZst = mdcap(['dbn', zstCut, '--json']);
    const fromPlain = mdcap(['dbn', plainCut, '--json']);
    expect([fromZst.status, fromPlain.status]).toEqual([2, 2]);
    const printed = fromZst.stdout.split('\n').slice(0, -1);
    expect(printed.length).toBeGreaterThan(1000);
    expect(printed).toEqual(whole.slice(0, printed.length));
    expect(fromPlain.stdout).toBe(fromZst.stdout);
    const n = printed.length;
    const where = `byte ${data.bodyOffset + n * 56}, record ${n}: expected 56 bytes of record (rtype 0xa0), found ${data.body.length - n * 56}`;
    const cut = `its zstd stream breaks off inside a frame at compressed byte ${zst.length >> 1}, the end of the file`;
    expect(fromZst.stderr).toBe(`mdcap dbn: MDCAP_ERR_IMPORT_FORMAT: ${zstCut}: ${where} (the file is truncated: ${cut})\n`);
    expect(fromPlain.stderr).toBe(`mdcap dbn: MDCAP_ERR_IMPORT_FORMAT: ${plainCut}: ${where} (the file is truncated)\n`);
  });

  it('mdcap import dbn --keep-partial keeps the same records from both, marked as cut short', () => {
    const verify = (file: string, out: string): Record<string, unknown> => {
      const imp = mdcap(['import', 'dbn', file, '--out', join(dir, out), '--keep-partial']);
      expect(imp.status).toBe(2);
      expect(imp.stderr).toMatch(
        /^mdcap import: MDCAP_ERR_IMPORT_FORMAT: .*mbo-cut\.dbn(\.zst)?: byte \d+, record \d+: .*\(the file is truncated/,
      );
      const { root: _root, ...rest } = JSON.parse(mdcap(['verify', join(dir, out), '--json']).stdout) as Record<string, unknown>;
      return rest;
    };
    const fromZst = verify(zstCut, 'zst');
    expect(fromZst['rows']).toBeGreaterThan(1000);
    expect(fromZst['gapsRecorded']).toBe(1); // the gap status that says where the import stopped
    expect(fromZst).toEqual(verify(plainCut, 'plain'));
  });
});

import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFile, describeWithDataset, mdcap, tempDir } from '@mdcap/test-utils';
import { afterAll, expect, it } from 'vitest';

/**
 * Imports are all or nothing, and never count data twice (issue 10, item 4): a failed import
 * used to commit the part before the error, and running it again added the data a second time
 * (LOBSTER: 173 trades instead of 159; a DBN file imported twice doubled the volume), exit 0.
 */

const dir = tempDir('import-safety');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const MESSAGES = 'AAPL_2012-06-21_34200000_57600000_message_10.first999.csv';
const BOOKS = 'AAPL_2012-06-21_34200000_57600000_orderbook_10.first999.csv';

const lines = (file: string): string[] => readFileSync(file, 'utf8').trim().split('\n');

function lobster(out: string, messages: string, books: string, ...more: string[]): ReturnType<typeof mdcap> {
  return mdcap([
    'import',
    'lobster',
    '--messages',
    messages,
    '--orderbook',
    books,
    '--symbol',
    'AAPL',
    '--date',
    '2012-06-21',
    '--out',
    out,
    ...more,
  ]);
}

/** `mdcap verify --json` without the fields that name the files. */
function verified(cap: string): Record<string, unknown> {
  const { root: _r, files: _f, ...rest } = JSON.parse(mdcap(['verify', cap, '--json']).stdout) as Record<string, unknown>;
  return rest;
}

function scalar(cap: string, sql: string): string {
  const r = mdcap(['query', cap, sql, '--json']);
  expect(r.status, r.stderr).toBe(0);
  return String(Object.values(JSON.parse(r.stdout.trim()) as Record<string, unknown>)[0]);
}

describeWithDataset('lobster', 'LOBSTER imports: all or nothing, never twice', () => {
  const messages = (): string => datasetFile('lobster', MESSAGES);
  const books = (): string => datasetFile('lobster', BOOKS);

  it('a failed import leaves nothing behind; the good file then gives exactly its trades, and a second run is refused', () => {
    const rows = lines(messages());
    const bad = join(dir, 'bad-messages.csv');
    writeFileSync(bad, [...rows.slice(0, 600), '34713.5,9,x,100,5850000,1', ...rows.slice(601)].join('\n') + '\n');
    const cap = join(dir, 'aapl');
    const failed = lobster(cap, bad, books());
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(
      /^mdcap import: MDCAP_ERR_IMPORT_FORMAT: .*bad-messages\.csv.*row 601.*; nothing was imported \(--keep-partial keeps what came before the error\)\n$/,
    );
    expect(existsSync(cap)).toBe(false); // the capture it would have created is not there

    const good = lobster(cap, messages(), books(), '--json');
    expect(good.status, good.stderr).toBe(0);
    const trades = scalar(cap, 'SELECT count(*) FROM trades');
    expect(Number(trades)).toBe(159);
    const clean = verified(cap);
    expect(clean).toMatchObject({ rows: 1116, gaps: 0, duplicates: 0, outOfOrder: 0, engineErrors: [] });

    const again = lobster(cap, messages(), books());
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(
      /^mdcap import: MDCAP_ERR_IMPORT_OVERLAP: capture .*aapl: expected data that starts after what the capture holds \(it replays in recording order\), found an import starting at 2012-06-21T13:30:00\.004241176Z where .*message_10\.first999\.csv and .*orderbook_10\.first999\.csv were already imported as session 1 \(--replace replaces those sessions/,
    );
    expect(scalar(cap, 'SELECT count(*) FROM trades')).toBe(trades);
    expect(verified(cap)).toEqual(clean);

    // Said how to treat it: the session is replaced, not doubled.
    const replaced = lobster(cap, messages(), books(), '--replace', '--json');
    expect(replaced.status, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ replaced: [1] });
    expect(scalar(cap, 'SELECT count(*) FROM trades')).toBe(trades);
    const inspect = JSON.parse(mdcap(['inspect', cap, '--json']).stdout) as { sessions: { id: number }[] };
    expect(inspect.sessions.map((s) => s.id)).toEqual([2]);
    expect(verified(cap)).toEqual(clean);
  });

  it('--keep-partial keeps what came before behind a gap; re-importing is refused, --replace makes it whole', () => {
    const rows = lines(messages());
    const bad = join(dir, 'bad2-messages.csv');
    writeFileSync(bad, [...rows.slice(0, 600), 'not,a,lobster,row', ...rows.slice(601)].join('\n') + '\n');
    const cap = join(dir, 'partial');
    const failed = lobster(cap, bad, books(), '--keep-partial');
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/what came before it was kept \(--keep-partial\), behind a gap status\n$/);
    const partial = Number(scalar(cap, 'SELECT count(*) FROM trades'));
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(159);
    expect(scalar(cap, "SELECT count(*) FROM status WHERE kind = 'gap' AND detail LIKE 'import stopped early:%'")).toBe('1');
    expect(lobster(cap, messages(), books()).status).toBe(2); // would count the first 600 rows twice
    expect(scalar(cap, 'SELECT count(*) FROM trades')).toBe(String(partial));
    expect(lobster(cap, messages(), books(), '--replace').status).toBe(0);
    expect(scalar(cap, 'SELECT count(*) FROM trades')).toBe('159');
  });

  it('data that starts where the capture ends is added as a new session', () => {
    const rows = lines(messages());
    const bookRows = lines(books());
    const a = [join(dir, 'a-messages.csv'), join(dir, 'a-books.csv')] as const;
    const b = [join(dir, 'b-messages.csv'), join(dir, 'b-books.csv')] as const;
    writeFileSync(a[0], `${rows.slice(0, 500).join('\n')}\n`);
    writeFileSync(a[1], `${bookRows.slice(0, 500).join('\n')}\n`);
    // The second half: seeded from the book after message 500, then messages 501….
    writeFileSync(b[0], `${rows.slice(500).join('\n')}\n`);
    writeFileSync(b[1], `${bookRows.slice(500).join('\n')}\n`);
    const cap = join(dir, 'halves');
    expect(lobster(cap, ...a).status).toBe(0);
    const second = lobster(cap, ...b);
    expect(second.status, second.stderr).toBe(0);
    const inspect = JSON.parse(mdcap(['inspect', cap, '--json']).stdout) as { sessions: unknown[] };
    expect(inspect.sessions).toHaveLength(2);
    // Starting before the end of what is there (the first half again) is refused.
    expect(lobster(cap, ...a).status).toBe(2);
    expect(readdirSync(cap).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describeWithDataset('nautilus-trader', 'DBN imports: never twice', () => {
  it('the same DBN file imported twice is refused, and the volume stays what the file holds', () => {
    const file = datasetFile('nautilus-trader', 'databento/bars_catalog/futures_trades_2024-07-01T23-58_2024-07-02T00-02.dbn.zst');
    const cap = join(dir, 'es');
    expect(mdcap(['import', 'dbn', file, '--out', cap]).status).toBe(0);
    const volume = scalar(cap, 'SELECT sum(size) FROM trades');
    const again = mdcap(['import', 'dbn', file, '--out', cap]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(
      /^mdcap import: MDCAP_ERR_IMPORT_OVERLAP: .*futures_trades_2024-07-01T23-58_2024-07-02T00-02\.dbn\.zst was already imported as session 1 /,
    );
    expect(scalar(cap, 'SELECT sum(size) FROM trades')).toBe(volume);
    const report = JSON.parse(mdcap(['report', cap, 'vwap', '--json']).stdout.trim().split('\n')[0]!) as Record<string, unknown>;
    expect(report).toMatchObject({ report: 'vwap' });
  });
});

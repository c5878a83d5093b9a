import { readFileSync } from 'node:fs';
import { ERROR_CODES, MdcapError } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

describe('error codes', () => {
  it('docs/errors.md lists exactly the codes in ERROR_CODES', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^\| `(MDCAP_ERR_[A-Z0-9_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('errors carry their code, class name and a one-line form', () => {
    const e = new MdcapError('MDCAP_ERR_BAR_INTERVAL', 'bar interval: expected a positive integer number of seconds, found 0');
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('MdcapError');
    expect(e.toString()).toBe('MDCAP_ERR_BAR_INTERVAL: bar interval: expected a positive integer number of seconds, found 0');
  });
});

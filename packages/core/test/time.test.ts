import { isoToNs, msToNs, nsToIso, parseDuration } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

describe('nanosecond time', () => {
  it('parses ISO timestamps with all nine fraction digits', () => {
    expect(isoToNs('2021-02-22T15:51:44.208123456Z')).toBe(1_614_009_104_208_123_456n);
    expect(isoToNs('2024-01-02T14:30:00Z')).toBe(1_704_205_800_000_000_000n);
    expect(isoToNs('2024-01-02T09:30:00.5-05:00')).toBe(1_704_205_800_500_000_000n);
    expect(isoToNs('2024-02-29T00:00:00Z')).toBe(1_709_164_800_000_000_000n); // a leap day
    expect(nsToIso(1_614_009_104_208_123_456n)).toBe('2021-02-22T15:51:44.208123456Z');
    expect(nsToIso(-1n)).toBe('1969-12-31T23:59:59.999999999Z');
  });

  it('rejects what is not a timestamp', () => {
    for (const bad of [
      '2024-01-02',
      '2024-13-02T00:00:00Z',
      '2026-02-31T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-01-02T00:00:00.1234567891Z',
      'yesterday',
    ]) {
      expect(() => isoToNs(bad)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
    }
  });

  it('reads timestamps within the last parsed minute the same as a full parse would', () => {
    // The reference: whole seconds from Date.UTC, the fraction digits appended exactly.
    const reference = (t: string): bigint => {
      const [whole, frac = ''] = t.slice(0, -1).split('.');
      return BigInt(Date.parse(`${whole}Z`)) * 1_000_000n + BigInt(frac.padEnd(9, '0'));
    };
    isoToNs('2021-05-21T12:34:00.000001Z'); // remembers 2021-05-21T12:34
    const same = ['2021-05-21T12:34:56.789012Z', '2021-05-21T12:34:59Z', '2021-05-21T12:34:07.5Z', '2021-05-21T12:34:00.999999999Z'];
    for (const t of same) expect(isoToNs(t), t).toBe(reference(t));
    expect(isoToNs('2021-05-21T12:35:00.1Z')).toBe(reference('2021-05-21T12:35:00.1Z')); // the next minute
    expect(isoToNs('2021-05-21T12:34:56.1+01:00')).toBe(reference('2021-05-21T12:34:56.1Z') - 3_600_000_000_000n);
    for (const bad of ['2021-05-21T12:34:5x.1Z', '2021-05-21T12:34:61Z', '2021-05-21T12:34:56.Z', '2021-05-21T12:34:56.1234567890Z']) {
      expect(() => isoToNs(bad), bad).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
    }
  });

  it('converts ms and durations exactly', () => {
    expect(msToNs(1_700_000_000_123)).toBe(1_700_000_000_123_000_000n);
    expect(() => msToNs(1.5)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
    expect([parseDuration('500ms'), parseDuration('30s'), parseDuration('5m'), parseDuration('1h')]).toEqual([
      500_000_000n,
      30_000_000_000n,
      300_000_000_000n,
      3_600_000_000_000n,
    ]);
    expect(() => parseDuration('5 minutes')).toThrow(/expected a duration such as 500ms, 30s, 5m or 1h, found "5 minutes"/);
  });
});

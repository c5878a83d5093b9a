import { InstrumentRegistry } from '@mdcap/core';
import { describe, expect, it } from 'vitest';

describe('InstrumentRegistry', () => {
  const aapl = { venue: 'demo', symbol: 'AAPL', priceScale: 2, sizeScale: 0, tickSize: 1n } as const;

  it('registers, finds and lists in insertion order', () => {
    const r = new InstrumentRegistry([aapl, { venue: 'coinbase', symbol: 'BTC-USD', priceScale: 2, sizeScale: 8 }]);
    r.add(aapl); // identical: no-op
    expect(r.get('demo', 'AAPL')).toEqual(aapl);
    expect(r.find('demo', 'MSFT')).toBeUndefined();
    expect(r.list().map((i) => i.symbol)).toEqual(['AAPL', 'BTC-USD']);
    expect(r.size).toBe(2);
    expect(Object.isFrozen(r.get('demo', 'AAPL'))).toBe(true);
  });

  it('names what it knows when a lookup fails', () => {
    const r = new InstrumentRegistry([aapl]);
    expect(() => r.get('demo', 'TSLA')).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_UNKNOWN_INSTRUMENT', message: 'no instrument "TSLA" on venue "demo"; known: AAPL' }),
    );
    expect(() => r.get('kraken', 'XBT/USD')).toThrow(/no instruments are registered for venue "kraken"/);
  });

  it('refuses a conflicting definition and bad fields', () => {
    const r = new InstrumentRegistry([aapl]);
    expect(() => r.add({ ...aapl, priceScale: 4 })).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INSTRUMENT_CONFLICT' }));
    expect(() => r.add({ venue: 'x', symbol: 'Y', priceScale: 20, sizeScale: 0 })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_SCALE' }),
    );
    expect(() => r.add({ venue: 'x', symbol: 'Y', priceScale: 2, sizeScale: 0, tickSize: 1 as unknown as bigint })).toThrow(
      expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }),
    );
  });
});

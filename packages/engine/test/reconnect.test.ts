import { DEFAULT_RECONNECT_POLICY, RealtimeEngine } from '@mdcap/engine';
import { describe, expect, it } from 'vitest';
import { advance, flush, level, ManualProvider, SEC, T0 } from './helpers.js';

const snapshotFlags = 1 | 2 | 4 | 8;

describe('reconnect policy', () => {
  it('waits 1, 2, 4, 8, 16, 32, 60, 60, 60, 60 s and gives up after 10 consecutive failures', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const errors: string[] = [];
    const statuses: string[] = [];
    engine.onError((e) => errors.push(`${e.code}: ${e.message}`));
    engine.onStatus((s) => statuses.push(`${s.kind}@${(s.tsRecv - T0) / SEC}`));
    await engine.start(['AAPL']);
    p.failConnects = 1000;
    p.drop('reset by peer');
    await advance(p.clock, T0 + 600n * SEC);
    const attempts = p.connectTimes.slice(1).map((t) => Number((t - T0) / SEC));
    const gaps = attempts.map((t, i) => t - (i === 0 ? 0 : attempts[i - 1]!));
    expect(gaps).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60, 60]);
    expect(statuses).toEqual(['disconnected@0']);
    expect(errors).toEqual([
      'MDCAP_ERR_RECONNECT_GAVE_UP: test: expected a connection within 10 attempts, found 10 consecutive failures; last: connection refused',
    ]);
    expect(engine.status).toBe('failed');
    expect(engine.stats().reconnects).toEqual({ attempts: 10, succeeded: 0, gaveUp: 1 });
    await engine.done();
  });

  it('on success it resubscribes every symbol, clears the books, then fires onReconnect', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    const log: string[] = [];
    engine.onStatus((s) => log.push(`status ${s.kind} ${s.detail}`));
    engine.onReconnect((s) => log.push(`onReconnect@${(s.tsRecv - T0) / SEC} book valid=${engine.book('AAPL').valid}`));
    await engine.start(['AAPL', 'MSFT']);
    p.push(level('AAPL', T0, 'bid', 15000n, 1n, snapshotFlags));
    expect(engine.book('AAPL').valid).toBe(true);
    p.failConnects = 2;
    p.drop();
    expect(engine.book('AAPL').valid).toBe(false);
    await advance(p.clock, T0 + 10n * SEC);
    expect(p.subscriptions).toEqual(['AAPL', 'MSFT', 'AAPL', 'MSFT']);
    expect(log).toEqual([
      'status disconnected connection lost: socket closed',
      'status reconnected reconnected after 3 attempts',
      'onReconnect@7 book valid=false',
    ]);
    expect(p.readies).toBe(2);
    expect(engine.status).toBe('running');
    expect(engine.stats().reconnects).toEqual({ attempts: 3, succeeded: 1, gaveUp: 0 });
    // the next drop starts the table from 1 s again
    p.drop();
    await advance(p.clock, T0 + 20n * SEC);
    expect(p.connectTimes.map((t) => Number((t - T0) / SEC))).toEqual([0, 1, 3, 7, 11]);
    await engine.stop();
  });

  it('a connect that hangs times out and counts as a failed attempt', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p, { reconnect: { connectTimeoutMs: 5_000, maxAttempts: 2 } });
    const errors: string[] = [];
    engine.onError((e) => errors.push(e.code));
    await engine.start(['AAPL']);
    p.connect = (sink) => {
      p.connectTimes.push(p.clock.now());
      void sink;
      return new Promise(() => {});
    };
    p.drop();
    await advance(p.clock, T0 + 60n * SEC);
    expect(p.connectTimes.map((t) => Number((t - T0) / SEC))).toEqual([0, 1, 8]);
    expect(errors).toEqual(['MDCAP_ERR_RECONNECT_GAVE_UP']);
    await engine.done();
  });

  it('stop() during the wait cancels the remaining attempts', async () => {
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p);
    await engine.start(['AAPL']);
    p.failConnects = 1000;
    p.drop();
    await advance(p.clock, T0 + 4n * SEC);
    await engine.stop();
    await advance(p.clock, T0 + 600n * SEC);
    expect(p.connectTimes.length).toBe(3);
    expect(engine.status).toBe('stopped');
  });

  it('takes a custom table, and rejects a bad one', async () => {
    expect(DEFAULT_RECONNECT_POLICY.delaysMs).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 60000]);
    const p = new ManualProvider();
    const engine = new RealtimeEngine(p, { reconnect: { delaysMs: [100, 500], maxAttempts: 4 } });
    engine.onError(() => {});
    await engine.start(['AAPL']);
    p.failConnects = 10;
    p.drop();
    await advance(p.clock, T0 + 5n * SEC, SEC / 10n);
    await flush();
    expect(p.connectTimes.slice(1).map((t) => Number((t - T0) / 1_000_000n))).toEqual([100, 600, 1100, 1600]);
    expect(() => new RealtimeEngine(p, { reconnect: { maxAttempts: 0 } })).toThrow(
      /reconnect.maxAttempts: expected a positive integer, found 0/,
    );
    expect(() => new RealtimeEngine(p, { reconnect: { delaysMs: [] } })).toThrow(/reconnect.delaysMs: expected a non-empty array/);
  });
});

import { LiveClock, VirtualClock } from '@mdcap/core';
import { waitFor } from '@mdcap/test-utils';
import { describe, expect, it } from 'vitest';

describe('VirtualClock', () => {
  it('fires timers in due-time order, ties in creation order, each seeing its own due time', () => {
    const clock = new VirtualClock(100n);
    const fired: string[] = [];
    const at = (name: string) => () => fired.push(`${name}@${clock.now()}`);
    clock.setTimer(300n, at('c'));
    clock.setTimer(200n, at('a'));
    clock.setTimer(200n, at('b'));
    clock.setTimer(250n, at('x'));
    clock.clearTimer(clock.setTimer(210n, at('cancelled')));
    clock.advanceTo(260n);
    expect(fired).toEqual(['a@200', 'b@200', 'x@250']);
    expect(clock.now()).toBe(260n);
    clock.advanceBy(1000n);
    expect(fired).toEqual(['a@200', 'b@200', 'x@250', 'c@300']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('runDue fires timers due at or before an event time and moves the clock to it', () => {
    const clock = new VirtualClock(0n);
    const fired: bigint[] = [];
    clock.setTimer(50n, () => fired.push(clock.now()));
    clock.setTimer(60n, () => fired.push(clock.now()));
    clock.runDue(49n);
    expect(fired).toEqual([]);
    expect(clock.now()).toBe(49n);
    clock.runDue(50n);
    expect(fired).toEqual([50n]);
    expect(clock.nextDue()).toBe(60n);
    clock.runDue(40n); // behind: nothing moves
    expect(clock.now()).toBe(50n);
  });

  it('timers set from timers fire in the same advance when due', () => {
    const clock = new VirtualClock(0n);
    const fired: bigint[] = [];
    clock.setTimer(10n, () => {
      fired.push(clock.now());
      clock.setTimer(15n, () => fired.push(clock.now()));
      clock.setTimer(5n, () => fired.push(clock.now())); // in the past: fires at once
    });
    clock.advanceTo(20n);
    expect(fired).toEqual([10n, 10n, 15n]);
  });

  it('refuses times outside the int64 range instead of wrapping', () => {
    const clock = new VirtualClock(0n);
    expect(() => clock.advanceTo(2n ** 63n)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_TIMESTAMP' }));
    expect(() => clock.runDue(2n ** 64n - 1n)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_TIMESTAMP' }));
    expect(clock.now()).toBe(0n);
  });

  it('refuses to go backwards', () => {
    const clock = new VirtualClock(1000n);
    expect(() => clock.advanceTo(999n)).toThrow(
      expect.objectContaining({
        code: 'MDCAP_ERR_CLOCK_BACKWARDS',
        message: 'virtual clock: expected a time at or after 1000, found 999 (1 ns earlier)',
      }),
    );
    expect(() => new VirtualClock(5 as unknown as bigint)).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
    expect(() => clock.setTimer(5 as unknown as bigint, () => {})).toThrow(expect.objectContaining({ code: 'MDCAP_ERR_INVALID_OPTION' }));
  });
});

describe('LiveClock', () => {
  it('reads wall time in ns and never goes backwards', () => {
    // Wall time read before and after, so a busy machine's pause between two lines cannot matter.
    const before = BigInt(Date.now()) * 1_000_000n;
    const clock = new LiveClock();
    const a = clock.now();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    expect(a >= before && a <= after, `${before} <= ${a} <= ${after}`).toBe(true);
    let prev = a;
    for (let i = 0; i < 100_000; i++) {
      const t = clock.now();
      expect(t >= prev).toBe(true);
      prev = t;
    }
  });

  it('fires timers in order once wall time reaches them', async () => {
    const clock = new LiveClock();
    const fired: string[] = [];
    const start = clock.now();
    await new Promise<void>((resolve) => {
      clock.setTimer(start + 30_000_000n, () => {
        fired.push('b');
        resolve();
      });
      clock.setTimer(start + 10_000_000n, () => fired.push('a'));
      clock.clearTimer(clock.setTimer(start + 20_000_000n, () => fired.push('cancelled')));
    });
    expect(fired).toEqual(['a', 'b']);
    expect(clock.now() - start >= 30_000_000n).toBe(true);
  });

  it('runDue runs due timers before their host timeout would', () => {
    const clock = new LiveClock();
    const fired: bigint[] = [];
    const t = clock.now() + 3_600_000_000_000n;
    clock.setTimer(t, () => fired.push(t));
    clock.runDue(t);
    expect(fired).toEqual([t]);
    expect(clock.nextDue()).toBeNull();
  });
});

describe('LiveClock, a timer that keeps re-arming itself in the past', () => {
  it('fires once per pass and goes on over later host turns instead of spinning', async () => {
    const clock = new LiveClock();
    const past = clock.now() - 1_000_000n;
    let n = 0;
    const tick = (): void => {
      n++;
      if (n < 5) clock.setTimer(past, tick);
    };
    clock.setTimer(past, tick);
    clock.runDue(clock.now());
    expect(n).toBe(1);
    await waitFor(() => n >= 5, { what: 'the four later passes', state: () => `${n} passes` });
    expect(n).toBe(5);
  });
});

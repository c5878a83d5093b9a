import type { Bar, MarketEvent } from '@mdcap/core';
import { NatsProvider, NatsSink, attachSink, streamName, subjectToken } from '@mdcap/sinks';
import type { SinkHandle, SinkStats } from '@mdcap/sinks';
import { describeWithServers, engineRun, publishRun, startNats, waitFor } from '@mdcap/test-utils';
import type { PublishRun, PublishRunOptions, TestServer } from '@mdcap/test-utils';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, expect, it } from 'vitest';

// NATS JetStream as the scale-out bus, against a real nats-server started for this file.

let server: TestServer;
beforeAll(async () => {
  server = await startNats();
});
afterAll(async () => {
  await server?.stop();
});

async function streamMessages(name: string): Promise<number> {
  const nc = await connect({ servers: `127.0.0.1:${server.port}` });
  try {
    const jsm = await jetstreamManager(nc);
    return (await jsm.streams.info(name)).state.messages;
  } finally {
    await nc.close();
  }
}

/** The simulated venue published through a NatsSink (a message per event, or batches of 300) into streams named by `prefix`. */
async function publish(
  options: PublishRunOptions<SinkHandle> & { prefix: string; batch?: boolean },
): Promise<PublishRun<SinkStats> & { sink: NatsSink }> {
  const sink = new NatsSink({
    url: server.url,
    streamPrefix: options.prefix,
    subjectPrefix: options.prefix.toLowerCase(),
    ...(options.batch === true ? { messages: 'batch' as const, batchEvents: 300 } : {}),
    sequencing: { demo: 'contiguous' },
  });
  const run = await publishRun(sink, attachSink, options);
  return { ...run, sink };
}

/** An engine on the venue's stream, replayed to its end: its callback stream and bars. */
async function consume(prefix: string): Promise<{ events: MarketEvent[]; bars: Bar[]; provider: NatsProvider }> {
  const provider = new NatsProvider({ url: server.url, venue: 'demo', streamPrefix: prefix, follow: false });
  const { events, bars } = await engineRun(provider);
  return { events, bars, provider };
}

describeWithServers(['nats'], 'NATS JetStream sink and provider', () => {
  it('names subjects and streams safely', () => {
    expect(subjectToken('BRK.B')).toBe('BRK%2EB');
    expect(subjectToken('*')).toBe('%2A');
    expect(subjectToken('XBT/USD')).toBe('XBT/USD');
    expect(streamName('MD', 'GLBX.MDP3')).toBe('MD_GLBX_2EMDP3');
  });

  it('publishes a run into the venue stream; engines reading it back see the same events and the same bars; a repeat adds nothing', async () => {
    const run = await publish({ prefix: 'A' });
    expect(run.stats).toMatchObject({ written: run.events.length + run.bars.length, dropped: 0, failures: 0 });
    expect(await streamMessages('A_demo')).toBe(run.events.length + run.bars.length);
    const one = await consume('A');
    expect(one.provider.sequencing).toBe('contiguous');
    expect(one.events).toEqual(run.events);
    // Bars the stream has closed are the publisher's bars; the last ones, still open when the
    // stream ends, close at its last event instead of at the publisher's end (flagged Partial).
    const last = run.events[run.events.length - 1]!.tsRecv;
    const closed = (bars: readonly Bar[]): Bar[] => bars.filter((b) => b.end <= last);
    expect(closed(one.bars)).toEqual(closed(run.bars));
    expect(one.bars.length).toBe(run.bars.length);
    const two = await consume('A');
    expect(two.bars).toEqual(one.bars);
    // The same stream published again (a restarted publisher): JetStream drops every repeat.
    const again = await publish({ prefix: 'A' });
    expect(again.events).toEqual(run.events);
    expect(again.sink.duplicates).toBe(run.events.length + run.bars.length);
    expect(await streamMessages('A_demo')).toBe(run.events.length + run.bars.length);
  });

  it('batch mode: many events to a message, in order; an engine reading them sees the run; a repeat adds nothing', async () => {
    const run = await publish({ prefix: 'C', batch: true });
    const total = run.events.length + run.bars.length;
    expect(run.stats).toMatchObject({ written: total, dropped: 0, failures: 0 });
    const messages = await streamMessages('C_demo');
    expect(messages).toBeLessThan(total / 100);
    expect((await consume('C')).events).toEqual(run.events);
    const again = await publish({ prefix: 'C', batch: true });
    expect(again.sink.duplicates).toBe(messages);
    expect(await streamMessages('C_demo')).toBe(messages);
  });

  it('a server that goes down mid-run: the sink retries and catches up, and the stream holds each event once', async () => {
    const run = await publish({
      prefix: 'B',
      onEngine: (engine, sink) => {
        let n = 0;
        engine.onEvent(() => {
          if (++n !== 2_000) return;
          engine.pause();
          void server.down().then(async () => {
            engine.resume();
            await waitFor(() => sink.stats().failures > 0, { what: 'a publish to fail while nats-server is down' });
            await server.up();
          });
        });
      },
    });
    expect(run.stats.failures).toBeGreaterThan(0);
    expect(run.stats).toMatchObject({ written: run.events.length + run.bars.length, dropped: 0 });
    expect(await streamMessages('B_demo')).toBe(run.events.length + run.bars.length);
    expect((await consume('B')).events).toEqual(run.events);
  });
});

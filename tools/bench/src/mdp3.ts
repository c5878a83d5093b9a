/**
 * CME MDP 3.0 decoding, one thread: a seeded synthetic day of the emulator's exchange (book
 * updates and trades of several instruments, as CME packs them) read three ways from the same
 * bytes: a bare walk of the framing (each message's size and template id: the floor), the
 * schema-interpreting decoder (`SbeCodec.decodePacket`, a record per message), the handler's reader
 * (`HotReader`: entries by the schema's offsets) and the feed's handler (read, books, events). Usage: node mdp3.js [packets=100000]
 */
import { readFileSync } from 'node:fs';
import { VirtualClock } from '@mdcap/core';
import { datasetPath, Mdp3Exchange } from '@mdcap/emulators';
import { CmeHandler, HotReader } from '@mdcap/feeds';
import { parseSchema, SbeCodec } from '@mdcap/mdp3';
import { arg, report, since } from './measure.js';

const N = arg(0, 100_000);
const codec = new SbeCodec(parseSchema(readFileSync(datasetPath('cme-mdp3', 'templates_FixBinary.v9.xml'), 'utf8'), 'v9'));
const exchange = Mdp3Exchange.synthetic({ codec, instruments: 4, packets: N, seed: 5 });
const packets = [...exchange.packets()].map((p) => p.bytes);
let messages = 0;
for (const p of packets) messages += codec.decodePacket(p).messages.length;
const note = `${N} packets, ${messages} messages (${(messages / N).toFixed(2)} per packet), synthetic, 4 instruments`;

// The floor: the packets' framing walked, each message's size and template id read.
{
  let t0 = performance.now();
  let sum = 0;
  for (let r = 0; r < 3; r++) {
    t0 = performance.now();
    for (const p of packets) {
      const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
      for (let at = 12; at < p.length; at += v.getUint16(at, true)) sum += v.getUint16(at + 4, true);
    }
  }
  report({
    bench: 'mdp3',
    case: 'baseline: bare walk of the framing (MsgSize, templateId per message)',
    items: messages,
    seconds: since(t0),
    note: `${note}; checksum ${sum}`,
  });
}

// The generic decoder: every field by the schema's tables into a record.
{
  let t0 = 0;
  for (let r = 0; r < 3; r++) {
    t0 = performance.now();
    for (const p of packets) codec.decodePacket(p);
  }
  report({
    bench: 'mdp3',
    case: 'SbeCodec.decodePacket: messages decoded into records (generic, schema-interpreted)',
    items: messages,
    seconds: since(t0),
    note,
  });
}

// The handler's reader: every entry of the book, order and trade messages read by the schema's offsets.
{
  const hot = new HotReader(codec.schema);
  let entries = 0;
  const visitor = { entry: () => void entries++, skipped: () => undefined, other: () => undefined };
  let t0 = 0;
  for (let r = 0; r < 3; r++) {
    t0 = performance.now();
    for (const p of packets) hot.read(p, visitor);
  }
  report({
    bench: 'mdp3',
    case: 'HotReader: messages read to their entries by the schema offsets (no record per message)',
    items: messages,
    seconds: since(t0),
    note: `${note}; ${Math.round(entries / 3)} entries per run`,
  });
}

// The feed's handler: decode, arbitration (line A only), books, events.
{
  let events = 0;
  let t0 = 0;
  for (let r = 0; r < 3; r++) {
    const clock = new VirtualClock(0n);
    const h = new CmeHandler({ codec, symbols: exchange.instruments.map((i) => i.symbol), clock, emit: () => void events++ });
    for (const d of exchange.definitionPackets(0)) h.onDefinition(d.bytes, 1n);
    for (const s of exchange.snapshotPackets(0)) h.onSnapshot(s.bytes, 2n);
    t0 = performance.now();
    let t = 3n;
    for (const p of packets) h.onIncremental('A', p, t++);
  }
  report({
    bench: 'mdp3',
    case: 'CmeHandler: packets to events (decode, books, RptSeq), messages per second',
    items: messages,
    seconds: since(t0),
    note: `${note}; ${Math.round(events / 3)} events per run`,
  });
}

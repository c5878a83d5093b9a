#!/usr/bin/env node
// The TypeScript side's canonical JSON of events given on stdin, one line each on stdout: what
// the Python client's to_json() must reproduce byte for byte.
//
// Input: a JSON array of events in @mdcap/core's field names; bigints are {"$big": "digits"}.
// Events are made with core's factories (so they are valid events) and printed with
// formatEventJson; {"type": "top", …, "valid", "priceScale", "sizeScale", "bids", "asks"} is
// printed with the CLI's topJson (the `mdcap replay --print top --json` line).
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const core = await import(join(repo, 'packages/core/dist/index.js'));
const { topJson } = await import(join(repo, 'packages/cli/dist/format.js'));

const revive = (_key, v) => (v !== null && typeof v === 'object' && typeof v.$big === 'string' ? BigInt(v.$big) : v);
const specs = JSON.parse(readFileSync(0, 'utf8'), revive);
const make = {
  trade: core.createTrade,
  quote: core.createQuote,
  book: core.createBookUpdate,
  order: core.createOrderUpdate,
  bar: core.createBar,
  status: core.createStatus,
};
const lines = specs.map(({ type, ...init }) => {
  if (type === 'top') {
    const { valid, priceScale, sizeScale, bids, asks, ...head } = init;
    const levels = (l) => l.map(([price, size]) => ({ price, size }));
    const book = { valid, priceScale, sizeScale, top: () => ({ bids: levels(bids), asks: levels(asks) }) };
    return topJson(head, book, Math.max(bids.length, asks.length));
  }
  return core.formatEventJson(make[type](init));
});
process.stdout.write(lines.map((l) => `${l}\n`).join(''));

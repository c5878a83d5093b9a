import { subscribeBatches } from '@mdcap/serve';
const address = process.argv[2];
let events = 0; const t0 = performance.now();
for await (const b of subscribeBatches(address, { capture: 'demo', speed: 'max' })) { events += b.length; }
console.log('events', events, (events / (performance.now() - t0) * 1000 / 1e6).toFixed(3), 'M/s');

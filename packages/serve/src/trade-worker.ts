import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { MdcapError } from '@mdcap/core';
import type { TradeRequest } from './gen/mdcap/v1/market_data.js';
import { TradeRun } from './trade-session.js';
import type { TradeLink } from './trade-session.js';
import { SIGNAL, UNANSWERED_AHEAD } from './trade-worker-signal.js';
import type { FromTradeWorker, TradeWorkerData } from './trade-worker-signal.js';

// The worker thread of one Trade call (trade.ts): runs its TradeRun and blocks at each window
// until the main thread has the client's answer. The main thread posts each request on `requests`
// and then counts it in SIGNAL[POSTED]; this thread waits on that count (Atomics.wait: the
// engine stands still mid-callback, which only a thread of its own can afford) and takes the
// request with receiveMessageOnPort. Windows nobody answers are paced by SIGNAL[WRITTEN], counted
// by the main thread as it hands them to the socket.

const data = workerData as TradeWorkerData;
const port = parentPort!;
const signal = new Int32Array(data.signal);
let consumed = 0;
let sent = 0;

const post = (m: FromTradeWorker, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);
const stopped = (): boolean => Atomics.load(signal, SIGNAL.STOP) !== 0;

const link: TradeLink = {
  send(bytes, answer) {
    const copy = new Uint8Array(bytes); // its own buffer, to transfer
    post({ type: 'send', bytes: copy }, [copy.buffer]);
    sent++;
    if (answer) return;
    // Unanswered windows: wait while too many are not yet on the socket.
    for (;;) {
      const written = Atomics.load(signal, SIGNAL.WRITTEN);
      if (sent - written <= UNANSWERED_AHEAD || stopped()) return;
      Atomics.wait(signal, SIGNAL.WRITTEN, written);
    }
  },
  receive() {
    for (;;) {
      if (stopped()) return null;
      const posted = Atomics.load(signal, SIGNAL.POSTED);
      if (posted !== consumed) {
        const m = receiveMessageOnPort(data.requests);
        if (m !== undefined) {
          consumed++;
          return m.message as TradeRequest;
        }
      }
      Atomics.wait(signal, SIGNAL.POSTED, posted, posted !== consumed ? 1 : undefined);
    }
  },
};

const finish = (error: MdcapError | null): void =>
  post({ type: 'end', error: error === null ? null : { code: error.code, message: error.message } });

const asMdcap = (e: unknown): MdcapError =>
  e instanceof MdcapError ? e : new MdcapError('MDCAP_ERR_IO', e instanceof Error ? e.message : String(e));

let run: TradeRun | null = null;
try {
  run = new TradeRun(data.spec, link);
} catch (e) {
  finish(asMdcap(e));
}
run?.run().then(finish, (e: unknown) => finish(asMdcap(e)));

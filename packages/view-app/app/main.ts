// The viewer's page: candles with volume (lightweight-charts), the book's ladder, the tape and the
// data-quality statuses of one engine session, streamed by `mdcap view` over /ws. Prices arrive
// as exact decimal strings and are kept so (`window.mdcapView`); only the chart's copy is numbers.
import { CandlestickSeries, createChart, createSeriesMarkers, HistogramSeries, LineSeries } from 'lightweight-charts';
import type { CandlestickData, HistogramData, LineData, SeriesMarker, Time, UTCTimestamp } from 'lightweight-charts';
import type {
  BacktestEquityPoint,
  BacktestFill,
  BacktestRun,
  ClientMessage,
  EventJson,
  InstrumentRef,
  ServerMessage,
} from '../src/protocol.js';

type Hello = Extract<ServerMessage, { type: 'hello' }>;
type State = Extract<ServerMessage, { type: 'state' }>;
type Book = Extract<ServerMessage, { type: 'book' }>;

/** A status shown on the chart: the status as it came, and where it is marked. */
interface Mark {
  readonly status: EventJson;
  readonly time: number;
}

/** The page's own state, exact as received: what a test reads (`window.mdcapView`). */
interface ViewState {
  hello: Hello | null;
  state: State | null;
  /** States received (a heartbeat comes at least every 500 ms). */
  states: number;
  selected: { venue: string; symbol: string; interval: number } | null;
  /** The bars of the selected series, as `mdcap replay --json` prints them. */
  candles: EventJson[];
  /** Bars of the series older than those held (trimmed by the limits). */
  candlesTrimmed: number;
  /** Every status of the session (up to the limit). */
  statuses: EventJson[];
  statusesTrimmed: number;
  /** The statuses marked on the chart: those of the selected instrument and of its whole venue. */
  marks: Mark[];
  tape: EventJson[];
  book: Book | null;
  errors: { code: string; message: string }[];
  connected: boolean;
  /** A backtest run over the capture, when the viewer was given one. */
  backtest: BacktestRun | null;
  /** Its fills of the selected instrument that the replay's clock has reached, marked on the chart. */
  fills: BacktestFill[];
  /** Its equity curve up to the replay's clock. */
  equity: BacktestEquityPoint[];
}

const view: ViewState = {
  hello: null,
  state: null,
  states: 0,
  selected: null,
  candles: [],
  candlesTrimmed: 0,
  statuses: [],
  statusesTrimmed: 0,
  marks: [],
  tape: [],
  book: null,
  errors: [],
  connected: false,
  backtest: null,
  fills: [],
  equity: [],
};
(window as unknown as { mdcapView: ViewState }).mdcapView = view;

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const instrumentSelect = $<HTMLSelectElement>('instrument');
const intervalSelect = $<HTMLSelectElement>('interval');
const speedSelect = $<HTMLSelectElement>('speed');
const seekInput = $<HTMLInputElement>('seek-to');
const errorBox = $<HTMLDivElement>('error');

/** Statuses that say something about the data: marked on the chart. */
const MARKED = new Set(['gap', 'resync', 'disconnected', 'reconnected', 'checksum', 'corrupt', 'stale', 'crossed']);
const isBad = (s: EventJson): boolean => MARKED.has(String(s['kind'])) && !(s['kind'] === 'checksum' && s['ok'] === true);

const NS_PER_S = 1_000_000_000n;
const seconds = (ns: string): number => Number(BigInt(ns) / NS_PER_S);
/** ns → ISO 8601 with nanoseconds. */
function iso(ns: string): string {
  const t = BigInt(ns);
  const ms = Number(t / 1_000_000n);
  const frac = (t % NS_PER_S).toString().padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac}Z`;
}

// ---- chart -----------------------------------------------------------------------------------

const chart = createChart($('chart'), {
  autoSize: true,
  layout: { background: { color: '#101418' }, textColor: '#d8dee6' },
  grid: { vertLines: { color: '#1d242c' }, horzLines: { color: '#1d242c' } },
  timeScale: { timeVisible: true, secondsVisible: true },
});
const candleSeries = chart.addSeries(CandlestickSeries, {
  upColor: '#26a69a',
  downColor: '#ef5350',
  wickUpColor: '#26a69a',
  wickDownColor: '#ef5350',
  borderVisible: false,
});
const volumeSeries = chart.addSeries(HistogramSeries, { priceScaleId: 'volume', priceFormat: { type: 'volume' } });
chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
const markers = createSeriesMarkers(candleSeries, []);
/** The backtest's equity (PnL) curve, in a pane of its own below the candles (created when a run is shown). */
let equitySeries: ReturnType<typeof chart.addSeries<'Line'>> | null = null;

function candleOf(b: EventJson): CandlestickData<Time> {
  return {
    time: seconds(String(b['start'])) as UTCTimestamp,
    open: Number(b['open']),
    high: Number(b['high']),
    low: Number(b['low']),
    close: Number(b['close']),
  };
}
function volumeOf(b: EventJson): HistogramData<Time> {
  const up = Number(b['close']) >= Number(b['open']);
  return { time: seconds(String(b['start'])) as UTCTimestamp, value: Number(b['volume']), color: up ? '#26a69a66' : '#ef535066' };
}

let lastCandleTime = -Infinity;
function redrawCandles(): void {
  // Bars of one series come in time order; a bucket sent again (a late correction) replaces its candle.
  const byTime = new Map<number, EventJson>();
  for (const b of view.candles) byTime.set(seconds(String(b['start'])), b);
  const sorted = [...byTime.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  candleSeries.setData(sorted.map(candleOf));
  volumeSeries.setData(sorted.map(volumeOf));
  chart.timeScale().fitContent();
  lastCandleTime = sorted.length === 0 ? -Infinity : seconds(String(sorted[sorted.length - 1]!['start']));
}

function addCandles(bars: readonly EventJson[]): void {
  for (const b of bars) {
    view.candles.push(b);
    const t = seconds(String(b['start']));
    if (t < lastCandleTime) {
      redrawCandles();
      continue;
    }
    candleSeries.update(candleOf(b));
    volumeSeries.update(volumeOf(b));
    lastCandleTime = t;
  }
  const limit = view.hello?.limits.bars ?? 20_000;
  if (view.candles.length > limit) {
    // The server trims the same (its count, in the message, is the one shown).
    view.candles.splice(0, view.candles.length - limit);
    redrawCandles();
  }
}

function relevant(s: EventJson): boolean {
  const sel = view.selected;
  if (sel === null) return false;
  return (s['symbol'] === sel.symbol || s['symbol'] === '*' || s['symbol'] === '') && (s['venue'] === sel.venue || s['venue'] === '*');
}

/** How many of each label fall in each bucket (seconds): one marker per bucket and label, or per bucket. */
function countByBucket(entries: Iterable<readonly [number, string]>): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const [time, label] of entries) {
    const counts = out.get(time) ?? new Map<string, number>();
    counts.set(label, (counts.get(label) ?? 0) + 1);
    out.set(time, counts);
  }
  return out;
}

function redrawMarks(): void {
  const sel = view.selected;
  /** The start of the selected interval's bucket that holds a time (ns), in seconds. */
  const bucketOf = (ns: string): number => {
    const t = seconds(ns);
    return sel === null ? t : t - (t % sel.interval);
  };
  view.marks =
    sel === null
      ? []
      : view.statuses.filter((s) => isBad(s) && relevant(s)).map((s) => ({ status: s, time: bucketOf(String(s['tsRecv'])) }));
  const list: SeriesMarker<Time>[] = [];
  // One marker per bucket, naming each kind once with its count (the table below lists every status and its reason).
  for (const [time, kinds] of countByBucket(view.marks.map((m) => [m.time, String(m.status['kind'])]))) {
    const connection = kinds.has('disconnected') || kinds.has('reconnected');
    list.push({
      time: time as UTCTimestamp,
      position: 'aboveBar',
      shape: connection ? 'circle' : 'arrowDown',
      color: connection ? '#f5a623' : '#ef5350',
      text: [...kinds.entries()].map(([k, n]) => (n > 1 ? `${k}×${n}` : k)).join(' '),
    });
  }
  // The backtest's fills the clock has reached: one marker per bucket and side.
  for (const [time, sides] of countByBucket(view.fills.map((f) => [bucketOf(f.tsRecv), f.side]))) {
    for (const [side, n] of sides) {
      const buy = side === 'buy';
      list.push({
        time: time as UTCTimestamp,
        position: buy ? 'belowBar' : 'aboveBar',
        shape: buy ? 'arrowUp' : 'arrowDown',
        color: buy ? '#4fc3f7' : '#ce93d8',
        text: `${buy ? 'B' : 'S'}${n > 1 ? `×${n}` : ''}`,
      });
    }
  }
  list.sort((a, b) => (a.time as number) - (b.time as number));
  markers.setMarkers(list);
  $('chart-note').textContent =
    `${view.candles.length} bars${view.candlesTrimmed > 0 ? ` (${view.candlesTrimmed} older trimmed)` : ''} · ` +
    `${view.marks.length} data-quality marks (the table below gives their reasons)` +
    (view.backtest === null
      ? ''
      : ` · backtest ${view.backtest.source}: ${view.fills.length} fills so far, PnL ${view.equity.at(-1)?.pnl ?? '0'}` +
        (view.backtest.omittedFills + view.backtest.omittedEquity > 0
          ? ` (the run's last ${view.backtest.omittedFills} fills and ${view.backtest.omittedEquity} equity points are not shown: over the limit)`
          : ''));
}

/** The backtest run's times as bigints, made once (the filter runs at every state message). */
let fillTimes: bigint[] = [];
let equityTimes: bigint[] = [];

/** Shows the part of the backtest run the replay's clock has reached: fills of the selected instrument, the equity curve. */
function showBacktest(): void {
  const run = view.backtest;
  if (run === null) return;
  const clock = BigInt(view.state?.clock ?? '0');
  const sel = view.selected;
  const ended = view.state?.state === 'ended';
  const fills = run.fills.filter(
    (f, i) => sel !== null && f.venue === sel.venue && f.symbol === sel.symbol && (ended || fillTimes[i]! <= clock),
  );
  const equity = run.equity.filter((_, i) => ended || equityTimes[i]! <= clock);
  if (fills.length === view.fills.length && equity.length === view.equity.length && view.fills[0] === fills[0]) return;
  view.fills = fills;
  view.equity = equity;
  if (equitySeries === null) {
    equitySeries = chart.addSeries(LineSeries, { color: '#4fc3f7', lineWidth: 2, title: 'PnL' }, 1);
  }
  const bySecond = new Map<number, number>();
  for (const e of equity) bySecond.set(seconds(e.ts), Number(e.pnl)); // the last point of each second
  const data: LineData<Time>[] = [...bySecond.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, v]) => ({ time: t as UTCTimestamp, value: v }));
  equitySeries.setData(data);
  redrawMarks();
}

// ---- tables ----------------------------------------------------------------------------------

function row(cells: readonly string[], className = ''): HTMLTableRowElement {
  const tr = document.createElement('tr');
  if (className !== '') tr.className = className;
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  return tr;
}

function drawBook(): void {
  const b = view.book;
  const table = $('book');
  table.replaceChildren();
  $('book-valid').textContent = b === null ? '' : b.valid ? '' : '(not valid: waiting for a snapshot)';
  if (b === null) return;
  for (const [p, s] of [...b.asks].reverse()) table.append(row([p, s], 'ask'));
  table.append(row([`${iso(b.tsRecv).slice(11)}`], 'spread'));
  for (const [p, s] of b.bids) table.append(row([p, s], 'bid'));
}

function drawTape(skipped: number): void {
  const table = $('tape');
  table.replaceChildren();
  for (const t of [...view.tape].reverse()) {
    table.append(
      row([String(t['price']), String(t['size']), iso(String(t['tsRecv'])).slice(11, 23)], t['side'] === 'sell' ? 'sell' : 'buy'),
    );
  }
  $('tape-skipped').textContent = skipped > 0 ? `(${skipped} more since the last look: too fast to show)` : '';
}

function drawStatuses(): void {
  const table = $('statuses');
  table.replaceChildren();
  const shown = view.statuses.filter(relevant).slice(-500);
  for (const s of shown) {
    const tr = row(
      [iso(String(s['tsRecv'])), String(s['kind']), `${String(s['venue'])} ${String(s['symbol'])}`, String(s['detail'] ?? '')],
      isBad(s) ? 'bad' : '',
    );
    tr.title = JSON.stringify(s);
    table.append(tr);
  }
  $('status-count').textContent =
    `${view.statuses.length} statuses${view.statusesTrimmed > 0 ? ` (${view.statusesTrimmed} older trimmed)` : ''}`;
}

// ---- the connection ----------------------------------------------------------------------------

let ws: WebSocket;
const sendMessage = (m: ClientMessage): void => {
  if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m));
};

function fillInstruments(list: readonly InstrumentRef[]): void {
  const current = instrumentSelect.value;
  instrumentSelect.replaceChildren();
  for (const i of list) {
    const o = document.createElement('option');
    o.value = JSON.stringify([i.venue, i.symbol]);
    o.textContent = `${i.symbol} (${i.venue})`;
    instrumentSelect.append(o);
  }
  if (current !== '' && [...instrumentSelect.options].some((o) => o.value === current)) instrumentSelect.value = current;
}

function subscribe(): void {
  if (instrumentSelect.value === '' || intervalSelect.value === '') return;
  const [venue, symbol] = JSON.parse(instrumentSelect.value) as [string, string];
  const interval = Number(intervalSelect.value);
  view.selected = { venue, symbol, interval };
  view.candles = [];
  view.candlesTrimmed = 0;
  view.tape = [];
  view.book = null;
  view.fills = [];
  lastCandleTime = -Infinity;
  redrawCandles();
  showBacktest();
  redrawMarks();
  drawBook();
  drawTape(0);
  drawStatuses();
  sendMessage({ type: 'subscribe', venue, symbol, interval });
}

function onHello(h: Hello): void {
  view.hello = h;
  view.backtest = null;
  view.statuses = [];
  view.statusesTrimmed = 0;
  $('source').textContent = `${h.mode === 'live' ? 'live' : 'replay'}: ${h.source}`;
  fillInstruments(h.instruments);
  intervalSelect.replaceChildren();
  for (const s of h.intervals) {
    const o = document.createElement('option');
    o.value = String(s);
    o.textContent = s % 60 === 0 ? `${s / 60} min` : `${s} s`;
    intervalSelect.append(o);
  }
  const params = new URLSearchParams(location.search);
  const wantInterval = params.get('interval');
  if (wantInterval !== null && h.intervals.includes(Number(wantInterval))) intervalSelect.value = wantInterval;
  if (view.selected !== null) {
    const keep = JSON.stringify([view.selected.venue, view.selected.symbol]);
    if ([...instrumentSelect.options].some((o) => o.value === keep)) instrumentSelect.value = keep;
    if (h.intervals.includes(view.selected.interval)) intervalSelect.value = String(view.selected.interval);
  }
  for (const id of ['play', 'pause', 'speed', 'seek-to', 'seek']) $<HTMLInputElement>(id).disabled = h.mode === 'live';
  if (h.start !== null) seekInput.placeholder = iso(h.start);
  if (view.selected !== null || pickWanted()) subscribe();
}

/**
 * Selects the instrument `?symbol=` names, once it is known (a live feed's instruments are learnt
 * as their events come); without one, the first. False while the named one is not known yet.
 */
function pickWanted(): boolean {
  const want = new URLSearchParams(location.search).get('symbol');
  if (want === null) return instrumentSelect.options.length > 0;
  const o = [...instrumentSelect.options].find((x) => (JSON.parse(x.value) as [string, string])[1] === want);
  if (o !== undefined) instrumentSelect.value = o.value;
  return o !== undefined;
}

function onMessage(m: ServerMessage): void {
  if (m.type !== 'hello' && m.type !== 'instruments' && m.type !== 'error' && view.hello !== null && m.run !== view.hello.run) return;
  switch (m.type) {
    case 'hello':
      onHello(m);
      break;
    case 'instruments':
      fillInstruments(m.instruments);
      if (view.selected === null && pickWanted()) subscribe();
      break;
    case 'state': {
      if (m.state === 'ended' && view.state?.state !== 'ended') chart.timeScale().fitContent();
      view.state = m;
      view.states++;
      syncSpeed(m.speed);
      showBacktest();
      const s = m.state === 'failed' && m.error !== null ? `failed: ${m.error.code}` : m.state;
      $('state').textContent =
        `${s} · ${m.clock === '0' ? '-' : iso(m.clock)} · ${m.events.toLocaleString('en-US')} events${m.speed === 'live' ? '' : ` · ${m.speed === 'max' ? 'max' : `${m.speed}x`}`}`;
      break;
    }
    case 'bars': {
      const sel = view.selected;
      if (sel === null || m.venue !== sel.venue || m.symbol !== sel.symbol || m.interval !== sel.interval) break;
      if (m.reset) {
        view.candles = [];
        lastCandleTime = -Infinity;
        redrawCandles();
      }
      view.candlesTrimmed = m.trimmed;
      addCandles(m.bars);
      redrawMarks();
      break;
    }
    case 'statuses': {
      if (m.reset) view.statuses = [];
      view.statuses.push(...m.statuses);
      view.statusesTrimmed = m.trimmed;
      const limit = view.hello?.limits.statuses ?? 10_000;
      if (view.statuses.length > limit) view.statuses.splice(0, view.statuses.length - limit);
      redrawMarks();
      drawStatuses();
      break;
    }
    case 'tape': {
      const sel = view.selected;
      if (sel === null || m.venue !== sel.venue || m.symbol !== sel.symbol) break;
      if (m.reset) view.tape = [];
      view.tape.push(...m.trades);
      const limit = view.hello?.limits.tape ?? 50;
      if (view.tape.length > limit) view.tape.splice(0, view.tape.length - limit);
      drawTape(m.skipped);
      break;
    }
    case 'book': {
      const sel = view.selected;
      if (sel === null || m.venue !== sel.venue || m.symbol !== sel.symbol) break;
      view.book = m;
      drawBook();
      break;
    }
    case 'backtest':
      view.backtest = { source: m.source, fills: m.fills, equity: m.equity, omittedFills: m.omittedFills, omittedEquity: m.omittedEquity };
      fillTimes = m.fills.map((f) => BigInt(f.tsRecv));
      equityTimes = m.equity.map((e) => BigInt(e.ts));
      view.fills = [];
      view.equity = [];
      showBacktest();
      break;
    case 'error':
      view.errors.push({ code: m.code, message: m.message });
      errorBox.hidden = false;
      errorBox.textContent = `${m.code}: ${m.message}`;
      break;
  }
}

/** The speed menu shows the session's speed (set with --speed, or by another page). */
function syncSpeed(speed: string): void {
  if (speed === 'live' || document.activeElement === speedSelect) return;
  const value = speed === 'max' ? 'max' : `${speed}x`;
  if (![...speedSelect.options].some((o) => o.value === value)) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = value;
    speedSelect.append(o);
  }
  speedSelect.value = value;
}

function connect(): void {
  ws = new WebSocket(new URL('ws', location.href.replace(/^http/, 'ws')));
  ws.onopen = () => {
    view.connected = true;
  };
  ws.onmessage = (e: MessageEvent<string>) => onMessage(JSON.parse(e.data) as ServerMessage);
  ws.onclose = () => {
    view.connected = false;
    $('state').textContent = 'disconnected from mdcap view: reconnecting…';
    view.hello = null;
    setTimeout(connect, 1000);
  };
}

instrumentSelect.onchange = subscribe;
intervalSelect.onchange = subscribe;
$('play').onclick = () => sendMessage({ type: 'play' });
$('pause').onclick = () => sendMessage({ type: 'pause' });
speedSelect.onchange = () => sendMessage({ type: 'speed', speed: speedSelect.value });
$('seek').onclick = () => {
  errorBox.hidden = true;
  sendMessage({ type: 'seek', to: seekInput.value.trim() });
};
connect();

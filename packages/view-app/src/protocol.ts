// The messages between the viewer's page and `mdcap view` over its WebSocket (`/ws`), one JSON
// object per text frame. Prices, sizes and nanosecond times are exact decimal strings, as in
// `mdcap replay --json` (the canonical event JSON of @mdcap/core): the page keeps them as they
// came and turns a copy into numbers only to place it on a chart.

/** A JSON field of a canonical event (`eventToJson`). */
export type JsonValue = string | number | boolean | null;

/** A bar, a status or a trade as `mdcap replay --json` prints it (`type`, `venue`, `symbol`, `tsRecv`, …). */
export type EventJson = Readonly<Record<string, JsonValue>>;

/** An instrument of the session: the picker's entries. */
export interface InstrumentRef {
  readonly venue: string;
  readonly symbol: string;
}

/** What the session is doing. */
export type SessionState = 'ready' | 'playing' | 'paused' | 'ended' | 'failed';

/** How much of each stream the server and the page keep (older entries are trimmed, and counted). */
export interface ViewLimits {
  /** Bars per instrument and interval. */
  readonly bars: number;
  /** Statuses of the whole session. */
  readonly statuses: number;
  /** Trades in the tape. */
  readonly tape: number;
  /** Book levels per side. */
  readonly depth: number;
}

/** A fill of a backtest run shown with the capture it ran on (`mdcap view CAP --backtest RUN`): exact text. */
export interface BacktestFill {
  readonly fillId: number;
  readonly venue: string;
  readonly symbol: string;
  readonly side: string;
  readonly liquidity: string;
  readonly price: string;
  readonly size: string;
  readonly fee: string;
  readonly position: string;
  /** ns */
  readonly tsRecv: string;
}

/** A point of the run's equity curve: money as exact decimal text, `ts` in ns. */
export interface BacktestEquityPoint {
  readonly ts: string;
  readonly pnl: string;
  readonly realized: string;
  readonly unrealized: string;
  readonly fees: string;
}

/** A backtest run over the capture: its fills and its equity curve (the page shows what the replay's clock has reached). */
export interface BacktestRun {
  /** The run's directory. */
  readonly source: string;
  /** The run's first fills and equity points, up to the viewer's limit (100,000 each)… */
  readonly fills: readonly BacktestFill[];
  readonly equity: readonly BacktestEquityPoint[];
  /** …and how many more it has that are not shown. */
  readonly omittedFills: number;
  readonly omittedEquity: number;
}

export type ServerMessage =
  | {
      readonly type: 'hello';
      readonly mode: 'replay' | 'live';
      /** The capture directories, or the feeds (`demo`, `coinbase@ws://…`). */
      readonly source: string;
      readonly instruments: readonly InstrumentRef[];
      /** Bar intervals in seconds the engine builds (the page picks among them). */
      readonly intervals: readonly number[];
      /** The capture's first and last tsRecv (ns), null for a live feed. */
      readonly start: string | null;
      readonly end: string | null;
      readonly limits: ViewLimits;
      /** Counts up when a seek back starts the replay again: messages of an older run are not mixed in. */
      readonly run: number;
    }
  | {
      readonly type: 'state';
      readonly run: number;
      readonly state: SessionState;
      /** The engine clock (ns). */
      readonly clock: string;
      /** `max` or a multiple of real time (`10`); `live` for a live feed. */
      readonly speed: string;
      readonly events: number;
      /** What ended the session, when it failed. */
      readonly error: { readonly code: string; readonly message: string } | null;
    }
  | { readonly type: 'instruments'; readonly instruments: readonly InstrumentRef[] }
  | {
      readonly type: 'bars';
      readonly run: number;
      readonly venue: string;
      readonly symbol: string;
      readonly interval: number;
      /** True: these replace what the page holds of this series (a subscription, a trim the page missed). */
      readonly reset: boolean;
      /** Bars of the series the server no longer holds (older than its limit). */
      readonly trimmed: number;
      readonly bars: readonly EventJson[];
    }
  | {
      readonly type: 'statuses';
      readonly run: number;
      readonly reset: boolean;
      readonly trimmed: number;
      readonly statuses: readonly EventJson[];
    }
  | {
      readonly type: 'tape';
      readonly run: number;
      readonly venue: string;
      readonly symbol: string;
      /** True: these replace the page's tape (a new subscription, a new run). */
      readonly reset: boolean;
      /** The newest trades since the last tape message, oldest first. */
      readonly trades: readonly EventJson[];
      /** Trades of the instrument since the last tape message that are not in `trades` (too many to show). */
      readonly skipped: number;
    }
  | {
      readonly type: 'book';
      readonly run: number;
      readonly venue: string;
      readonly symbol: string;
      readonly tsRecv: string;
      /** After a complete snapshot and until the next gap or disconnect. */
      readonly valid: boolean;
      /** [price, size] exact decimals, best first. */
      readonly bids: readonly (readonly [string, string])[];
      readonly asks: readonly (readonly [string, string])[];
    }
  | ({ readonly type: 'backtest'; readonly run: number } & BacktestRun)
  | {
      readonly type: 'error';
      /** A stable `MDCAP_ERR_*` code (docs/errors.md). */
      readonly code: string;
      readonly message: string;
    };

export type ClientMessage =
  | { readonly type: 'subscribe'; readonly venue: string; readonly symbol: string; readonly interval: number }
  | { readonly type: 'play' }
  | { readonly type: 'pause' }
  /** `max` or a multiple of real time: `1x`, `10x`, `0.5x`. */
  | { readonly type: 'speed'; readonly speed: string }
  /** A time: ISO 8601 (`2024-01-02T14:31:00Z`) or integer ns. Back in time starts the replay again from there. */
  | { readonly type: 'seek'; readonly to: string };

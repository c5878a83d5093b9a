/**
 * Every error mdcap raises on purpose is an {@link MdcapError} with a stable `code`.
 *
 * The table below is the single source of the codes; `docs/errors.md` lists the same codes
 * and a test keeps the two in step. Codes are a contract: never reuse or rename one.
 */
export const ERROR_CODES = {
  MDCAP_ERR_DECIMAL_SYNTAX: 'A price or size is not a decimal number.',
  MDCAP_ERR_DECIMAL_PRECISION: 'A decimal has more significant fraction digits than the instrument scale allows.',
  MDCAP_ERR_DECIMAL_RANGE: 'A decimal mantissa does not fit in a signed 64-bit integer.',
  MDCAP_ERR_SCALE: 'A decimal scale is not an integer from 0 to 18.',
  MDCAP_ERR_SCALE_MISMATCH: 'An event uses a different scale than earlier events of the same instrument.',
  MDCAP_ERR_INVALID_EVENT: 'An event is malformed: a field is missing or has the wrong type or value.',
  MDCAP_ERR_NEGATIVE_SIZE: 'A size is negative where the event kind forbids it.',
  MDCAP_ERR_INVALID_TIMESTAMP: 'A timestamp is not a bigint count of nanoseconds since the Unix epoch.',
  MDCAP_ERR_UNKNOWN_INSTRUMENT: 'No instrument is registered for this venue and symbol.',
  MDCAP_ERR_INSTRUMENT_CONFLICT: 'An instrument is registered twice with different definitions.',
  MDCAP_ERR_UNKNOWN_SYMBOL: 'A symbol was requested that the provider or engine does not know.',
  MDCAP_ERR_CLOCK_BACKWARDS: 'A virtual clock was asked to move back in time.',
  MDCAP_ERR_INVALID_OPTION: 'An option or argument has a value outside its allowed range.',
  MDCAP_ERR_BAR_INTERVAL: 'A bar interval is not a positive integer number of seconds.',
  MDCAP_ERR_PROVIDER_CONTRACT: 'A data provider broke the DataProvider contract.',
  MDCAP_ERR_OUT_OF_ORDER: 'A provider delivered an event with a tsRecv earlier than the event before it.',
  MDCAP_ERR_ENGINE_STATE: 'An engine method was called in a state that does not allow it.',
  MDCAP_ERR_CALLBACK: 'A user callback threw; the engine reports it and carries on.',
  MDCAP_ERR_CONNECT_FAILED: 'A provider could not connect or subscribe when the engine started.',
  MDCAP_ERR_CONNECT_TIMEOUT: 'A provider did not finish connecting within the connect timeout.',
  MDCAP_ERR_RECONNECT_GAVE_UP: 'The engine stopped reconnecting after the configured number of consecutive failures.',
  MDCAP_ERR_RING_CAPACITY: 'A ring buffer capacity is not a power of two in the allowed range.',
  MDCAP_ERR_RING_RECORD_SIZE: 'A shared ring record size is not a positive multiple of 8 bytes.',
  MDCAP_ERR_RING_POLICY: "A shared ring operation does not apply to the ring's overflow policy.",
  MDCAP_ERR_RING_BUFFER: 'A SharedArrayBuffer handed to a ring does not match the ring layout.',
  MDCAP_ERR_CAPTURE_NOT_FOUND: 'A capture directory is missing, empty, or has no manifest.',
  MDCAP_ERR_CAPTURE_SCHEMA: 'A capture was written with a newer or unknown schema version.',
  MDCAP_ERR_CAPTURE_CORRUPT: 'A capture file is truncated, foreign or does not match its manifest entry.',
  MDCAP_ERR_CAPTURE_LOCKED: 'Another recorder is writing to the capture directory.',
  MDCAP_ERR_CAPTURE_OVERLAP: 'Captures opened as one set cover overlapping times (or one capture is listed twice).',
  MDCAP_ERR_IO: 'A file system operation failed (permissions, disk full, missing path).',
  MDCAP_ERR_OUTPUT_EXISTS: 'An output file already exists (or is a directory) and --force was not given.',
  MDCAP_ERR_OUTPUT_IN_CAPTURE: "An output path lies inside an mdcap capture, which mdcap never writes into on a user's behalf.",
  MDCAP_ERR_REPLAY_RANGE: 'A replay time range is empty or reversed (from after to).',
  MDCAP_ERR_VIEW_REQUEST:
    'A message from a viewer page over its WebSocket is not one the viewer takes (not JSON, an unknown type, a missing or wrong field).',
  MDCAP_ERR_IMPORT_FORMAT: 'An input file to import does not have the expected format.',
  MDCAP_ERR_IMPORT_OVERLAP:
    'An import overlaps what a capture already holds (a file imported before, or data that starts before the capture ends).',
  MDCAP_ERR_ADDRESS:
    "A server cannot listen on the address it was given: the port is in use, the address is not this machine's, or binding it is not allowed.",
  MDCAP_ERR_QUERY: 'An SQL query over a capture failed.',
  MDCAP_ERR_QUERY_READ_ONLY: 'A query tried to write a file, change a setting or read beyond the capture: queries are read-only.',
  MDCAP_ERR_USAGE: 'A command line is malformed: an unknown command or flag, or a missing argument.',
  MDCAP_ERR_BAD_REQUEST: 'A request to mdcap serve is malformed: no source, an unknown kind or policy, a field out of range.',
  MDCAP_ERR_SOURCE_NOT_FOUND: 'A request names a live feed or capture that the server does not serve.',
  MDCAP_ERR_UNAUTHENTICATED: 'A request to mdcap serve lacks the bearer token the server requires, or carries a wrong one.',
  MDCAP_ERR_BUSY: 'The server already runs as many calls of this kind as it was started to allow (mdcap serve --max-trades).',
  MDCAP_ERR_SLOW_CONSUMER: "A subscriber's queue filled up under the disconnect policy: the server ended its subscription.",
  MDCAP_ERR_SHUTDOWN: 'The server stopped while a subscription was streaming: what was queued was sent, the rest was not.',
  MDCAP_ERR_PROTOCOL: 'Bytes from a server or client are not the protobuf messages of proto/mdcap/v1.',
  MDCAP_ERR_SINK_WRITE:
    "A write to a sink's server (PostgreSQL, Redis, NATS, Kafka) failed: the sink retries it, and counts what it has to drop as a gap.",
  MDCAP_ERR_OPTIONAL_DEPENDENCY:
    "An optional dependency a feature needs (a vendor's binding, such as Bloomberg's blpapi) is not installed, or is not the API mdcap expects.",
  MDCAP_ERR_SBE_SCHEMA: 'An SBE schema file (CME MDP 3.0 templates) is not SBE XML, or defines something mdcap cannot decode.',
  MDCAP_ERR_SBE_DECODE:
    'An SBE packet or message is malformed: truncated, a message size past the packet end, an unknown template, a group past its message.',
  MDCAP_ERR_INVALID_ORDER:
    'An order, cancel or replace request is malformed (no side, a size that is not a decimal, an unknown order type): a program error, not the venue refusing it.',
  MDCAP_ERR_NO_BROKER: 'Orders, fills or positions were asked of an engine that has no broker attached (attachBroker first).',
  MDCAP_ERR_STRATEGY: 'A strategy module cannot be used: it is missing, does not export a strategy function, or threw while being set up.',
} as const;

export type MdcapErrorCode = keyof typeof ERROR_CODES;

export interface MdcapErrorOptions {
  /** The error that caused this one, if any. */
  readonly cause?: unknown;
  /** Structured context (field, row, value…) for logs and `--json` output. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base class of every error mdcap raises on purpose. Check `code`, not the message text. */
export class MdcapError extends Error {
  readonly code: MdcapErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: MdcapErrorCode, message: string, options: MdcapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.details = options.details ?? {};
  }

  /** `MDCAP_ERR_X: message`, the one-line form the CLI prints. */
  override toString(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** Prices, sizes and scales that are not exact decimals. */
export class DecimalError extends MdcapError {}
/** Events that are malformed or inconsistent with earlier events. */
export class EventError extends MdcapError {}
/** Instrument registry lookups and conflicts. */
export class InstrumentError extends MdcapError {}
/** Clock misuse. */
export class ClockError extends MdcapError {}
/** Options and arguments out of range. */
export class ConfigError extends MdcapError {}
/** A provider that breaks its contract, fails to connect, or loses its connection. */
export class ProviderError extends MdcapError {}
/** Engine lifecycle misuse. */
export class EngineStateError extends MdcapError {}
/** A user callback threw; `cause` holds what it threw. */
export class CallbackError extends MdcapError {}
/** Ring buffer construction errors. */
export class RingError extends MdcapError {}
/** Captures on disk: missing, newer, corrupt, locked; file system failures. */
export class CaptureError extends MdcapError {}

/**
 * A short, unambiguous rendering of a value for error messages: strings are quoted,
 * bigints get their `n`, long values are cut.
 */
export function describeValue(value: unknown): string {
  let text: string;
  switch (typeof value) {
    case 'string':
      text = JSON.stringify(value);
      break;
    case 'bigint':
      text = `${value}n`;
      break;
    case 'number':
      text = Object.is(value, -0) ? '-0' : String(value);
      break;
    case 'undefined':
      text = 'undefined';
      break;
    case 'function':
      text = 'a function';
      break;
    case 'symbol':
      text = value.toString();
      break;
    case 'boolean':
      text = String(value);
      break;
    case 'object':
      if (value === null) text = 'null';
      else if (Array.isArray(value)) text = `an array of ${value.length}`;
      else {
        try {
          text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? Object.prototype.toString.call(value);
        } catch {
          text = Object.prototype.toString.call(value);
        }
      }
      break;
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describeValue, MdcapError } from '@mdcap/core';

/**
 * The part of BLPAPI's synchronous Session API the Bloomberg feed uses, as Bloomberg documents
 * it for its C++ and Python SDKs: a `Session` built from `SessionOptions`, started, a service
 * opened, a `SubscriptionList` subscribed, and then a blocking `nextEvent(timeoutMs)` loop whose
 * `Event`s hold `Message`s with typed element access. mdcap only ever loads the binding on the
 * feed's worker thread, where blocking is fine.
 */
export interface BlpapiModule {
  readonly Session: new (options: BlpSessionOptions) => BlpSession;
  readonly SessionOptions: new () => BlpSessionOptions;
  readonly SubscriptionList: new () => BlpSubscriptionList;
  readonly CorrelationId: new (value: number) => BlpCorrelationId;
  /** The event type constants (`Event.SESSION_STATUS`, …) as class or object properties. */
  readonly Event: BlpEventTypes;
}

export interface BlpEventTypes {
  readonly ADMIN: number;
  readonly SESSION_STATUS: number;
  readonly SUBSCRIPTION_STATUS: number;
  readonly SUBSCRIPTION_DATA: number;
  readonly SERVICE_STATUS?: number;
  readonly TIMEOUT: number;
}

export interface BlpSessionOptions {
  setServerHost(host: string): unknown;
  setServerPort(port: number): unknown;
}

export interface BlpCorrelationId {
  value(): unknown;
}

export interface BlpSubscriptionList {
  add(topic: string, fields: string | readonly string[], options: string | readonly string[], correlationId: BlpCorrelationId): unknown;
}

/** BLPAPI's Datetime accessors (C++ `blpapi::Datetime`); fractions of the second at each precision. */
export interface BlpDatetime {
  year(): number;
  month(): number;
  day(): number;
  hours(): number;
  minutes(): number;
  seconds(): number;
  milliseconds?(): number;
  microseconds?(): number;
  nanoseconds?(): number;
  /** Minutes east of UTC (0 when the value is UTC). */
  offset?(): number;
  /** True if the value has a date part (a `*_TIME_RT` field may be a time of day only). */
  hasDate?(): boolean;
}

export interface BlpElement {
  hasElement(name: string, excludeNullElements?: boolean): boolean;
  getElementAsString(name: string): string;
  getElementAsInteger?(name: string): number;
}

export interface BlpMessage extends BlpElement {
  messageType(): unknown;
  correlationIds(): readonly BlpCorrelationId[];
  getElementAsFloat(name: string): number;
  getElementAsDatetime(name: string): BlpDatetime | Date;
  getElement?(name: string): BlpElement;
  toString(): string;
}

export interface BlpEvent extends Iterable<BlpMessage> {
  eventType(): number;
}

export interface BlpSession {
  /** Starts the session; false if it could not (the reason follows as a SESSION_STATUS event). */
  start(): boolean;
  /** Opens a service, blocking; false if it could not. */
  openService(uri: string): boolean;
  subscribe(list: BlpSubscriptionList): unknown;
  unsubscribe?(list: BlpSubscriptionList): unknown;
  /** Blocks until an event comes or `timeoutMs` passes (then an event of type TIMEOUT). */
  nextEvent(timeoutMs: number): BlpEvent;
  stop(): unknown;
}

/** A module specifier that names a file (absolute or relative path, file: URL) rather than a package. */
function isPath(specifier: string): boolean {
  return specifier.startsWith('file:') || specifier.startsWith('.') || isAbsolute(specifier);
}

function notInstalled(specifier: string, cause: unknown): MdcapError {
  const hint =
    specifier === 'blpapi'
      ? "it is an optional dependency, not installed with mdcap: it needs Bloomberg's C++ SDK and a Terminal (Desktop API), SAPI or B-PIPE; install it next to mdcap, or pass the module path with --bloomberg-module"
      : 'check the path or package name given with --bloomberg-module (bloombergModule)';
  return new MdcapError(
    'MDCAP_ERR_OPTIONAL_DEPENDENCY',
    `bloomberg: expected the BLPAPI binding ${describeValue(specifier)} to be importable, found it is not installed (${hint})`,
    { cause, details: { dependency: specifier } },
  );
}

const REQUIRED = ['Session', 'SessionOptions', 'SubscriptionList', 'CorrelationId', 'Event'] as const;

/**
 * Checks that `mod` has the synchronous Session API (see {@link BlpapiModule}). npm's `blpapi`
 * package exposes BLPAPI as an event emitter instead (no `nextEvent`), which this feed does not
 * drive: it is refused with a message saying so.
 */
export function checkBinding(mod: unknown, specifier: string): BlpapiModule {
  const m = mod as Record<string, unknown> | null;
  const missing = m === null || typeof m !== 'object' ? [...REQUIRED] : REQUIRED.filter((k) => m[k] === undefined);
  const session = m?.['Session'] as { prototype?: { nextEvent?: unknown } } | undefined;
  if (missing.length === 0 && typeof session?.prototype?.nextEvent === 'function') return m as unknown as BlpapiModule;
  const found = m === null || typeof m !== 'object' ? describeValue(m) : `exports ${Object.keys(m).sort().join(', ') || 'nothing'}`;
  return fail(
    new MdcapError(
      'MDCAP_ERR_OPTIONAL_DEPENDENCY',
      `bloomberg: expected ${describeValue(specifier)} to be a BLPAPI binding with the synchronous Session API (${REQUIRED.join(', ')}; Session.nextEvent), found a module that ${found}${missing.length === 0 ? ' but no Session.nextEvent' : ''}`,
      { details: { dependency: specifier } },
    ),
  );
}

function fail(e: MdcapError): never {
  throw e;
}

function isNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/**
 * Imports the BLPAPI binding named by `specifier` (a package name, default `blpapi`, or a path
 * to a module), only when a Bloomberg feed connects. A package is looked for from mdcap's own
 * install, then from the current directory.
 * @throws {MdcapError} `MDCAP_ERR_OPTIONAL_DEPENDENCY` when it is not installed or is not the
 *   synchronous Session API.
 */
export async function loadBlpapi(specifier = 'blpapi'): Promise<BlpapiModule> {
  let mod: unknown;
  try {
    mod = await import(isPath(specifier) && !specifier.startsWith('file:') ? pathToFileURL(resolve(specifier)).href : specifier);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    if (isPath(specifier)) throw notInstalled(specifier, e);
    try {
      const path = createRequire(join(process.cwd(), 'noop.js')).resolve(specifier);
      mod = await import(pathToFileURL(path).href);
    } catch (e2) {
      throw notInstalled(specifier, isNotFound(e2) ? e : e2);
    }
  }
  const m = mod as { default?: unknown };
  // A CommonJS binding comes as the default export of its namespace.
  const candidate = m !== null && typeof m === 'object' && !('Session' in m) && m.default !== undefined ? m.default : mod;
  return checkBinding(candidate, specifier);
}

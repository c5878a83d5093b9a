/**
 * @mdcap/view-app: the viewer's page. Its browser code (`app/`) is bundled at build time into
 * static files that need no network (`VIEW_APP_DIR`); `mdcap view` serves them. The messages
 * between page and server are typed in `protocol.ts`.
 */
import { fileURLToPath } from 'node:url';

export type {
  BacktestEquityPoint,
  BacktestFill,
  BacktestRun,
  ClientMessage,
  EventJson,
  InstrumentRef,
  JsonValue,
  ServerMessage,
  SessionState,
  ViewLimits,
} from './protocol.js';

/** The bundled page: `index.html`, `app.js`, `app.css` (made by `build.mjs`, after `tsc -b`). */
export const VIEW_APP_DIR: string = fileURLToPath(new URL('../dist/app/', import.meta.url));

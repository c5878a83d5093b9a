import type { AnalyticsOptions, CaptureAnalytics } from '@mdcap/analytics';
import { warn } from './command.js';

/**
 * Opens DuckDB over a capture (or several roots as one) for `command` (loaded only by the commands that use it), warning
 * once on stderr when segments are not finalized yet: those rows are not in the views. Read-only
 * unless `options` name an export file.
 */
export async function openAnalytics(
  command: string,
  dir: string | readonly string[],
  options: AnalyticsOptions = {},
): Promise<CaptureAnalytics> {
  const { CaptureAnalytics } = await import('@mdcap/analytics');
  const db = await CaptureAnalytics.open(dir, options);
  if (db.unfinalizedSegments > 0) {
    warn(
      command,
      `${db.unfinalizedSegments} segment(s) are not finalized to Parquet yet and not included (a recording is running, or was interrupted: mdcap verify --repair)`,
    );
  }
  return db;
}

import { MdcapError } from '@mdcap/core';

/** A URL without its password (for messages, stats and logs). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}

/** Parses a sink or source URL, or says what was expected. */
export function parseUrl(url: string, what: string, schemes: readonly string[]): URL {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MdcapError('MDCAP_ERR_INVALID_OPTION', `${what}: expected a URL such as ${schemes[0]}://127.0.0.1, found "${url}"`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (!schemes.includes(scheme)) {
    throw new MdcapError(
      'MDCAP_ERR_INVALID_OPTION',
      `${what}: expected a ${schemes.map((s) => `${s}://`).join(' or ')} URL, found "${redactUrl(url)}"`,
    );
  }
  return u;
}

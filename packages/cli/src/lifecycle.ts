import { MdcapError } from '@mdcap/core';

/**
 * Calls `onGone` once if this process's parent dies (it is then re-parented): a recorder started
 * through a wrapper (`pnpm mdcap …`, a shell script) that is killed must not go on recording
 * forever, holding the capture's lock. Checked twice a second; returns a function that stops
 * watching.
 */
export function watchParent(onGone: (parent: number) => void): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone(parent);
  }, 500);
  timer.unref();
  return () => clearInterval(timer);
}

/** Writes a line to stderr even if nobody reads it any more (the parent that held it is gone). */
export function tellStderr(text: string): void {
  process.stderr.on('error', () => undefined);
  try {
    process.stderr.write(`${text}\n`);
  } catch {
    // nobody is listening
  }
}

/** Resolves at the first SIGINT or SIGTERM, or when the parent process dies. */
export function stopRequested(command: string): Promise<void> {
  return new Promise<void>((done) => {
    const stop = watchParent((parent) => {
      tellStderr(`mdcap ${command}: the parent process ${parent} is gone: stopping`);
      done();
    });
    for (const s of ['SIGINT', 'SIGTERM'] as const)
      process.once(s, () => {
        stop();
        done();
      });
  });
}

/**
 * A server that could not listen, as a clear error: the port is taken, the address is not
 * this machine's, or binding it is not allowed. Other errors come back as they are.
 */
export function listenError(error: unknown, flag: string, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new MdcapError(
      'MDCAP_ERR_ADDRESS',
      `${flag} ${port}: expected a free port on ${host}, found it in use by another process (choose another with ${flag}, or 0 for any free one)`,
      { cause: error },
    );
  }
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new MdcapError(
      'MDCAP_ERR_ADDRESS',
      `--host ${host}: expected an address of this machine (such as 127.0.0.1), found one it cannot listen on (${code})`,
      { cause: error },
    );
  }
  if (code === 'EACCES') {
    return new MdcapError(
      'MDCAP_ERR_ADDRESS',
      `${flag} ${port}: expected a port this user may listen on, found it refused (ports below 1024 need privileges; use a higher one)`,
      { cause: error },
    );
  }
  return error;
}

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './datasets.js';

// Real servers for the tests of the sinks and scale-out (issue 13): PostgreSQL, Redis,
// nats-server (JetStream) and librdkafka's mock Kafka cluster, each started from Debian's
// packages on a random port of 127.0.0.1 in a temporary directory, and stopped by the test.
// Never the machine's own instances (5432, 6379, 4222): a test must pass where none run.

/** The servers this module starts. */
export type ServerKind = 'postgres' | 'redis' | 'nats' | 'kafka';

/** A server a test started; `await using` stops it and removes its directory. */
export interface TestServer extends AsyncDisposable {
  readonly kind: ServerKind;
  readonly host: string;
  readonly port: number;
  /** How a client names it: `postgres://mdcap@127.0.0.1:PORT/postgres`, `redis://…`, `nats://…`, or Kafka's `127.0.0.1:PORT`. */
  readonly url: string;
  readonly dir: string;
  /** Stops the server (and waits for it to exit); the directory is removed. Idempotent. */
  stop(): Promise<void>;
  /** An outage: stops the server process but keeps its data, until {@link up}. */
  down(): Promise<void>;
  /** Starts the server again after {@link down}, on the same port with the same data. */
  up(): Promise<void>;
  /** The current process id (changes with `up()`). */
  readonly pid: number;
}

/** The Debian package that provides each server, for the messages of a missing one. */
export const SERVER_PACKAGES: Record<ServerKind, string> = {
  postgres: 'postgresql',
  redis: 'redis-server',
  nats: 'nats-server',
  kafka: 'librdkafka-dev (and a C compiler)',
};

const HOST = '127.0.0.1';

function onPath(name: string): string | null {
  for (const dir of (process.env['PATH'] ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/usr/local/bin'])) {
    if (dir !== '' && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** PostgreSQL's server binaries: the newest /usr/lib/postgresql/N/bin, else the PATH. */
function postgresBin(name: 'initdb' | 'postgres'): string | null {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', name)))
      .sort((a, b) => Number(b) - Number(a));
    if (versions.length > 0) return join(base, versions[0]!, 'bin', name);
  }
  return onPath(name);
}

const KMOCK_SOURCE = `/* librdkafka's mock cluster (a test double, not a broker): prints BOOTSTRAP=host:port. */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
static volatile sig_atomic_t run = 1;
static void stop(int s) { (void)s; run = 0; }
int main(int argc, char **argv) {
  char err[512];
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
  if (!rk) { fprintf(stderr, "%s\\n", err); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, argc > 1 ? atoi(argv[1]) : 1);
  if (!mc) { fprintf(stderr, "rd_kafka_mock_cluster_new failed\\n"); return 1; }
  for (int i = 2; i < argc; i++) rd_kafka_mock_topic_create(mc, argv[i], 3, 1);
  signal(SIGINT, stop);
  signal(SIGTERM, stop);
  printf("BOOTSTRAP=%s\\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);
  while (run) pause();
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
`;

/** Builds the mock cluster once per checkout (node_modules/.cache); null when it cannot be built. */
function kafkaMockBinary(): string | null {
  const dir = join(REPO_ROOT, 'node_modules', '.cache', 'mdcap-kmock');
  const bin = join(dir, 'kmock');
  if (existsSync(bin)) return bin;
  if (!existsSync('/usr/include/librdkafka/rdkafka_mock.h')) return null;
  const cc = onPath('cc') ?? onPath('gcc');
  if (cc === null) return null;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'kmock.c'), KMOCK_SOURCE);
  const r = spawnSync(cc, ['-O2', '-o', `${bin}.tmp`, join(dir, 'kmock.c'), '-lrdkafka'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  execFileSync('mv', [`${bin}.tmp`, bin]);
  return bin;
}

/** Why a server cannot be started here (its binary is missing), or null when it can. */
export function serverMissing(kind: ServerKind): string | null {
  const missing = (what: string): string => `${what} is not installed (apt-get install ${SERVER_PACKAGES[kind]})`;
  switch (kind) {
    case 'postgres':
      return postgresBin('initdb') !== null && postgresBin('postgres') !== null ? null : missing('PostgreSQL (initdb, postgres)');
    case 'redis':
      return onPath('redis-server') !== null ? null : missing('redis-server');
    case 'nats':
      return onPath('nats-server') !== null ? null : missing('nats-server');
    case 'kafka':
      return kafkaMockBinary() !== null ? null : missing("librdkafka's mock cluster (rdkafka_mock.h, cc)");
  }
}

/** A port free on 127.0.0.1 right now (the server is started on it at once; a lost race is retried). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((ok, fail) => {
    s.once('error', fail);
    s.listen(0, HOST, () => ok());
  });
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((ok) => s.close(() => ok()));
  return port;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of running) p.kill('SIGKILL'); // a test that died still leaves no server behind
});

interface Launch {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly uid?: number;
  readonly gid?: number;
  /** Ready once a line of its output matches; the match may carry the port. */
  readonly ready: RegExp;
}

/** Starts a process and resolves once its output says it is ready (or rejects with that output). */
async function launch(l: Launch, what: string): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  const proc = spawn(l.cmd, l.args, { stdio: ['ignore', 'pipe', 'pipe'], ...(l.uid === undefined ? {} : { uid: l.uid, gid: l.gid }) });
  running.add(proc);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    let done = false;
    const onLine = (line: string): void => {
      output.push(line);
      if (output.length > 200) output.shift();
      const m = done ? null : l.ready.exec(line);
      if (m !== null) {
        done = true;
        resolve({ proc, match: m });
      }
    };
    createInterface({ input: proc.stdout }).on('line', onLine);
    createInterface({ input: proc.stderr }).on('line', onLine);
    proc.once('error', (e) => {
      running.delete(proc);
      if (!done) reject(new Error(`${what}: could not start ${l.cmd}: ${e.message}`));
    });
    proc.once('exit', (code, signal) => {
      running.delete(proc);
      if (!done) reject(new Error(`${what}: ${l.cmd} exited (${code ?? signal}) before it was ready:\n${output.join('\n')}`));
    });
    const timer = setTimeout(() => {
      if (done) return;
      proc.kill('SIGKILL');
      reject(new Error(`${what}: ${l.cmd} was not ready after 60 s:\n${output.join('\n')}`));
    }, 60_000);
    timer.unref();
  });
}

function handle(
  kind: ServerKind,
  first: ChildProcess,
  port: number,
  url: string,
  dir: string,
  signal: NodeJS.Signals,
  relaunch: (() => Promise<ChildProcess>) | null = null,
): TestServer {
  let proc = first;
  let stopping: Promise<void> | null = null;
  const kill = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((ok) => proc.once('exit', () => ok()));
      proc.kill(signal);
      const killer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(killer);
    }
    running.delete(proc);
  };
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    })());
  return {
    kind,
    host: HOST,
    port,
    url,
    dir,
    get pid() {
      return proc.pid!;
    },
    stop,
    down: kill,
    async up() {
      if (relaunch === null) throw new Error(`${kind}: this test server cannot be started again`);
      if (proc.exitCode === null && proc.signalCode === null) return;
      proc = await relaunch();
    },
    [Symbol.asyncDispose]: stop,
  };
}

/** Starts on a fresh port, retrying when another process took it between the probe and the start. */
async function onFreePort(what: string, start: (port: number) => Promise<TestServer>): Promise<TestServer> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(await freePort());
    } catch (e) {
      last = e;
      if (!/address already in use|EADDRINUSE/i.test(String(e))) throw e;
    }
  }
  throw new Error(`${what}: no free port after 3 attempts: ${String(last)}`);
}

function needs(kind: ServerKind): void {
  const why = serverMissing(kind);
  if (why !== null) throw new Error(`cannot start ${kind}: ${why}`);
}

/**
 * PostgreSQL: a new cluster (initdb, trust auth, user `mdcap`, fsync off) in a temp dir. As
 * root it runs as the `postgres` user (initdb refuses root). Stopped with SIGINT (fast shutdown).
 */
export async function startPostgres(): Promise<TestServer> {
  needs('postgres');
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-pg-'));
  let owner: { uid: number; gid: number } | undefined;
  if (process.getuid?.() === 0) {
    const id = (flag: string): number => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    owner = { uid: id('-u'), gid: id('-g') };
    chownSync(dir, owner.uid, owner.gid);
  }
  const data = join(dir, 'data');
  const initdb = spawnSync(postgresBin('initdb')!, ['-D', data, '-U', 'mdcap', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], {
    encoding: 'utf8',
    ...(owner ?? {}),
  });
  if (initdb.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${initdb.status}): ${initdb.stderr}`);
  }
  try {
    return await onFreePort('postgres', async (port) => {
      const start = async (): Promise<ChildProcess> => (await launch(postgresLaunch(port), 'postgres')).proc;
      const postgresLaunch = (port: number): Launch => ({
        cmd: postgresBin('postgres')!,
        args: [
          '-D',
          data,
          '-h',
          HOST,
          '-p',
          String(port),
          '-k',
          dir,
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
        ],
        ...(owner ?? {}),
        // A taken port: postgres says "Address already in use" and exits, and onFreePort tries another.
        ready: /database system is ready to accept connections/,
      });
      return handle('postgres', await start(), port, `postgres://mdcap@${HOST}:${port}/postgres`, dir, 'SIGINT', start);
    });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Redis: nothing saved to disk, listening on 127.0.0.1 only. */
export async function startRedis(): Promise<TestServer> {
  needs('redis');
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-redis-'));
  const redisArgs = (port: number): string[] => [
    '--bind',
    HOST,
    '--port',
    String(port),
    '--save',
    '',
    '--appendonly',
    'no',
    '--dir',
    dir,
    '--logfile',
    '',
  ];
  return onFreePort('redis', async (port) => {
    const { proc } = await launch(
      {
        cmd: onPath('redis-server')!,
        args: redisArgs(port),
        ready: /Ready to accept connections/,
      },
      'redis',
    );
    const again = async (): Promise<ChildProcess> =>
      (await launch({ cmd: onPath('redis-server')!, args: redisArgs(port), ready: /Ready to accept connections/ }, 'redis')).proc;
    return handle('redis', proc, port, `redis://${HOST}:${port}`, dir, 'SIGTERM', again);
  });
}

/** nats-server with JetStream, its store in the temp dir, on a port it picks itself. */
export async function startNats(): Promise<TestServer> {
  needs('nats');
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-nats-'));
  try {
    const { proc, match } = await launch(
      {
        cmd: onPath('nats-server')!,
        args: ['-a', HOST, '-p', '-1', '-js', '-sd', dir, '--http_port', '0'],
        ready: /Listening for client connections on [^\s]*:(\d+)/,
      },
      'nats',
    );
    const port = Number(match[1]);
    const again = async (): Promise<ChildProcess> =>
      (
        await launch(
          {
            cmd: onPath('nats-server')!,
            args: ['-a', HOST, '-p', String(port), '-js', '-sd', dir, '--http_port', '0'],
            ready: /Listening for client connections/,
          },
          'nats',
        )
      ).proc;
    return handle('nats', proc, port, `nats://${HOST}:${port}`, dir, 'SIGTERM', again);
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * librdkafka's mock cluster (`rd_kafka_mock_cluster_new`, built here from a few lines of C): the
 * Kafka wire protocol in memory, a test double from the official C client, not a production
 * broker. `topics` are created with 3 partitions (the mock has no admin API to create them later).
 */
export async function startKafkaMock(topics: readonly string[] = [], brokers = 1): Promise<TestServer> {
  needs('kafka');
  const dir = mkdtempSync(join(tmpdir(), 'mdcap-kafka-'));
  try {
    const { proc, match } = await launch(
      { cmd: kafkaMockBinary()!, args: [String(brokers), ...topics], ready: /^BOOTSTRAP=([^:,\s]+):(\d+)/ },
      'kafka mock',
    );
    const port = Number(match[2]);
    return handle('kafka', proc, port, `${match[1]!}:${port}`, dir, 'SIGTERM');
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** Starts a server of `kind` with its defaults. */
export function startServer(kind: ServerKind): Promise<TestServer> {
  switch (kind) {
    case 'postgres':
      return startPostgres();
    case 'redis':
      return startRedis();
    case 'nats':
      return startNats();
    case 'kafka':
      return startKafkaMock();
  }
}

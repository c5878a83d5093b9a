import { createConnection, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 between a client and a server that runs in another process (an
 * `mdcap emulate` child): it forwards bytes both ways untouched, and `cut()` drops every
 * connection at the moment the test chooses — both sockets destroyed, no close handshake, as a
 * venue's dropped connection looks to the client. (An emulator's `drop:N` fault fires at a frame
 * count instead, which is a different moment on a busy machine.)
 */
export class TcpRelay {
  /** Connections accepted so far (a client that reconnects after a cut makes the second). */
  connections = 0;
  /** Connections cut so far. */
  cuts = 0;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket }>();

  private constructor(
    private readonly server: Server,
    private readonly target: { readonly host: string; readonly port: number },
  ) {
    server.on('connection', (client) => this.accept(client));
  }

  /** Listens on a free port of 127.0.0.1 and relays to `target`. */
  static async start(target: { readonly host?: string; readonly port: number }): Promise<TcpRelay> {
    const server = createServer();
    const relay = new TcpRelay(server, { host: target.host ?? '127.0.0.1', port: target.port });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return relay;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Connections open now. */
  get open(): number {
    return this.pairs.size;
  }

  private accept(client: Socket): void {
    this.connections++;
    const upstream = createConnection(this.target);
    const pair = { client, upstream };
    this.pairs.add(pair);
    const done = (): void => {
      this.pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.pipe(upstream);
    upstream.pipe(client);
    for (const s of [client, upstream]) {
      s.on('error', done);
      s.on('close', done);
    }
  }

  /** Drops every open connection (both sides destroyed at once); returns how many. */
  cut(): number {
    const n = this.pairs.size;
    for (const { client, upstream } of [...this.pairs]) {
      client.destroy();
      upstream.destroy();
    }
    this.pairs.clear();
    this.cuts += n;
    return n;
  }

  /** Stops listening and drops what is still open. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

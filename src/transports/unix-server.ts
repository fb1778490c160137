/**
 * The Unix socket listener (protocol.md §1): refuses to start over a live kernel,
 * removes a stale socket file, creates the socket with the configured mode, and
 * removes it on close (only if it is still ours).
 */
import { chmod, lstat, rename, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server } from 'node:net';
import { AgntConnection } from './agnt-connection.js';
import type { TransportContext } from './connection-port.js';

export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}

/** True when something accepts connections on the socket at `path`. */
function answers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    const timer = setTimeout(() => {
      probe.destroy();
      // A socket that accepts but never completes is still someone's: do not steal it.
      resolve(true);
    }, timeoutMs);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}

async function clearStaleSocket(path: string): Promise<void> {
  let info: Awaited<ReturnType<typeof lstat>>;
  try {
    info = await lstat(path);
  } catch {
    return;
  }
  if (!info.isSocket()) {
    throw new StartupError(`${path} exists and is not a socket; refusing to replace it (choose another path with --socket)`);
  }
  if (await answers(path)) {
    throw new StartupError(`another kernel is already listening on ${path}; stop it first or choose another path with --socket`);
  }
  await unlink(path);
}

export class UnixServer {
  readonly #server: Server;
  readonly #path: string;
  readonly #connections = new Set<AgntConnection>();
  #inode: number | undefined;

  private constructor(server: Server, path: string) {
    this.#server = server;
    this.#path = path;
  }

  static async listen(context: TransportContext): Promise<UnixServer> {
    const { socketPath, socketMode, maxConnections } = context.options;
    await clearStaleSocket(socketPath);
    const server = createServer({ allowHalfOpen: true });
    const listener = new UnixServer(server, socketPath);
    server.maxConnections = maxConnections;
    server.on('connection', (socket) => {
      const connection = new AgntConnection(socket, context);
      listener.#connections.add(connection);
      socket.once('close', () => listener.#connections.delete(connection));
    });
    server.on('error', (error) => context.log.error({ err: error }, 'unix socket server error'));

    // The umask makes the socket file private from the moment it exists; chmod then sets the configured mode.
    const previousUmask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // A Unix socket refuses a connect (EAGAIN) once the accept queue is full instead of
        // waiting as TCP does; Node's default queue is 511, so a burst of clients would fail.
        // The OS caps the backlog at net.core.somaxconn.
        server.listen({ path: socketPath, backlog: maxConnections }, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      throw new StartupError(`cannot listen on ${socketPath}: ${(error as Error).message}`);
    } finally {
      process.umask(previousUmask);
    }
    await chmod(socketPath, socketMode);
    listener.#inode = (await stat(socketPath)).ino;
    return listener;
  }

  get path(): string {
    return this.#path;
  }

  get connectionCount(): number {
    return this.#connections.size;
  }

  /** Stop accepting, let each connection finish its replies, force the rest after `timeoutMs`. */
  async close(timeoutMs: number): Promise<void> {
    // libuv unlinks the path it bound, whatever is there, the moment the server closes: a
    // socket another kernel has since put at the path is stepped aside for that instant.
    const aside = await this.#stepAsideIfTaken();
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    if (aside !== undefined) await rename(aside, this.#path).catch(() => {});
    for (const connection of this.#connections) connection.shutdown();
    const force = setTimeout(() => {
      for (const connection of this.#connections) connection.destroy();
    }, timeoutMs);
    force.unref();
    await closed;
    clearTimeout(force);
    await this.#removeSocketFile();
  }

  /** When another socket now holds the path, move it aside and return where it went. */
  async #stepAsideIfTaken(): Promise<string | undefined> {
    try {
      if ((await lstat(this.#path)).ino === this.#inode) return undefined;
      const aside = `${this.#path}.${process.pid}.aside`;
      await rename(this.#path, aside);
      return aside;
    } catch {
      return undefined;
    }
  }

  async #removeSocketFile(): Promise<void> {
    try {
      // Another kernel may have taken the path over after a forced start: leave its socket alone.
      if ((await stat(this.#path)).ino === this.#inode) await unlink(this.#path);
    } catch {
      // Already gone.
    }
  }
}

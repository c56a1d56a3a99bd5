// A unix-socket byte stream for the HTTP/2 session, from whichever runtime runs the shim:
// Bun's native `Bun.connect` under Bun (its node:net costs ~12 ms to load there), node:net
// under Node (loaded only here, only when the agent is called).
import type { ByteSink } from './client.ts';

export interface StreamHandlers {
  data(chunk: Uint8Array): void;
  /** The stream ended; `err` when it failed rather than closed. */
  closed(err?: Error): void;
}

/** The members of Bun's socket API this module uses (no @types/bun needed). */
interface BunSocket {
  /** Bytes accepted now; the rest must wait for `drain`. -1 when the socket is closed. */
  write(data: Uint8Array): number;
  end(): void;
}

interface BunSocketHandlers {
  data(socket: BunSocket, data: Uint8Array): void;
  drain(socket: BunSocket): void;
  close(socket: BunSocket, error?: Error): void;
  error(socket: BunSocket, error: Error): void;
}

interface BunRuntime {
  connect(options: { unix: string; socket: BunSocketHandlers }): Promise<BunSocket>;
}

/** Bun, when the shim runs under it. */
export function bunRuntime(): BunRuntime | undefined {
  return (globalThis as { Bun?: BunRuntime }).Bun;
}

/** Connects to a unix socket; rejects when it cannot (no such socket, refused). */
export function connectUnix(path: string, handlers: StreamHandlers): Promise<ByteSink> {
  const bun = bunRuntime();
  return bun ? connectBun(bun, path, handlers) : connectNode(path, handlers);
}

async function connectBun(bun: BunRuntime, path: string, handlers: StreamHandlers): Promise<ByteSink> {
  // Bun's write takes what fits in the socket buffer now; the rest is queued for `drain`.
  const queue: Uint8Array[] = [];
  let closed = false;
  const flush = (socket: BunSocket): void => {
    while (queue.length > 0) {
      const head = queue[0]!;
      const n = Math.max(0, socket.write(head));
      if (n < head.length) {
        queue[0] = head.subarray(n);
        return;
      }
      queue.shift();
    }
  };
  const end = (err?: Error): void => {
    if (closed) return;
    closed = true;
    handlers.closed(err);
  };
  const socket = await bun
    .connect({
      unix: path,
      socket: {
        data: (_s, data) => handlers.data(data),
        drain: flush,
        close: (_s, error) => end(error),
        error: (_s, error) => end(error),
      },
    })
    .catch((err: unknown) => {
      // Bun says only "Failed to connect"; name the errno and the path as node:net does.
      const code = (err as { code?: unknown } | null)?.code;
      throw new Error(`connect ${typeof code === 'string' ? code : 'failed'} ${path}`, { cause: err });
    });
  return {
    write(bytes) {
      if (closed) return;
      queue.push(bytes);
      if (queue.length === 1) flush(socket);
    },
    close() {
      closed = true;
      socket.end();
    },
  };
}

function connectNode(path: string, handlers: StreamHandlers): Promise<ByteSink> {
  // getBuiltinModule, not import(): a dynamic import would start Node's ESM loader inside the
  // CommonJS bundle, and a start-up snapshot cannot take one at all.
  const { createConnection } = process.getBuiltinModule('node:net');
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      resolve({ write: (bytes) => void socket.write(bytes), close: () => void socket.end() });
    });
    socket.on('data', (chunk: Buffer) => handlers.data(chunk));
    socket.on('error', (err) => {
      if (!connected) reject(err);
      else handlers.closed(err);
    });
    socket.on('close', () => {
      if (connected) handlers.closed();
    });
  });
}

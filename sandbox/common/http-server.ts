import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningServer {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:4010`. */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 = an ephemeral port) and resolves once the socket is bound. */
export async function listen(handler: http.RequestListener, port = 0, host = '127.0.0.1'): Promise<RunningServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/**
 * `fetch` for the sandboxes' clients, where a read the server reset is read once more: a pooled
 * keep-alive socket can be closed by the server just as it is reused (its event loop was busy past
 * the idle timeout), and only an idempotent read may safely go again.
 */
export async function fetchReadOnce(url: string | URL, init: RequestInit & { method: string }): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (err) {
    const code =
      err instanceof TypeError && err.cause instanceof Error ? (err.cause as NodeJS.ErrnoException).code : null;
    if (init.method !== 'GET' || code !== 'ECONNRESET') throw err;
    return fetch(url, init);
  }
}

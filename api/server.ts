import type http from 'node:http';

export interface ServerTimeouts {
  /** The whole request, headers and body, must arrive within this time, or it is answered 408 and closed. */
  requestMs: number;
  /** The headers must arrive within this time (slowloris). At most `requestMs`. */
  headersMs: number;
  /** An idle keep-alive connection is closed after this time. */
  keepAliveMs: number;
}

/**
 * Webhook senders give up after about 10 s (Zendesk) and send at most 1 MiB, so 30 s for a
 * request is generous for every honest client and short for one that never finishes.
 */
export const API_SERVER_TIMEOUTS: ServerTimeouts = { requestMs: 30_000, headersMs: 10_000, keepAliveMs: 5_000 };

/**
 * Applies the timeouts to the API's HTTP server, so a request whose headers or body never arrive
 * is answered (408) or closed within bounded time. Call it before `listen`: Node starts its
 * timeout checks, at the interval set here, when the server starts listening.
 */
export function applyServerTimeouts(server: http.Server, timeouts: ServerTimeouts = API_SERVER_TIMEOUTS): http.Server {
  const headersMs = Math.min(timeouts.headersMs, timeouts.requestMs);
  server.requestTimeout = timeouts.requestMs;
  server.headersTimeout = headersMs;
  server.keepAliveTimeout = timeouts.keepAliveMs;
  // Node checks for expired requests at this interval (30 s by default), which bounds how late a timeout fires.
  Object.assign(server, { connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(headersMs / 4))) });
  return server;
}

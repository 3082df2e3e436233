import type { ServerResponse } from 'node:http';
import type { Response } from 'express';

const lostAtMs = new WeakMap<ServerResponse, number>();

/**
 * Lets the handler run to its end, then drops its answer: the socket is destroyed instead of
 * written to, so the client sees a network error although the change was made. This is the
 * failure an idempotency bug hides behind.
 */
export function loseResponse(res: Response): void {
  const drop = (): void => {
    if (!lostAtMs.has(res)) lostAtMs.set(res, Date.now());
    res.socket?.destroy();
  };
  res.write = (): boolean => {
    drop();
    return false;
  };
  res.end = (): Response => {
    drop();
    return res;
  };
}

/** When the answer of a lost response was dropped, or undefined for an answer that was sent. */
export function responseLostAt(res: ServerResponse): number | undefined {
  return lostAtMs.get(res);
}

import { z } from 'zod';

/**
 * The status page's full-sync controls, through the contract's operator endpoints
 * (`POST/GET/DELETE /operator/accounts/:subdomain/full-sync`), called on this API itself with the
 * operator token, so the page works with whatever serves them and never hands the token to a
 * browser. Until those endpoints exist, every call answers `unavailable` and the page says so.
 */
export const FullSyncProgressSchema = z.looseObject({
  state: z.string(),
  done: z.number().nonnegative().default(0),
  total: z.number().nonnegative().nullable().default(null),
  linked: z.number().nonnegative().default(0),
  created: z.number().nonnegative().default(0),
  repaired: z.number().nonnegative().default(0),
  conflicts: z.number().nonnegative().default(0),
  errors: z.number().nonnegative().default(0),
  /** Whether it is still going, when the endpoint says so (otherwise judged from `state`). */
  running: z.boolean().optional(),
});
export type FullSyncProgress = z.infer<typeof FullSyncProgressSchema>;

export type FullSyncAnswer =
  | { kind: 'progress'; progress: FullSyncProgress }
  /** The account has had no full sync yet. */
  | { kind: 'none' }
  /** This version serves no full-sync endpoints (the full-sync work has not landed). */
  | { kind: 'unavailable' }
  | { kind: 'error'; message: string };

const TIMEOUT_MS = 5_000;

export class FullSyncControls {
  constructor(
    /** Where this API answers, e.g. `http://127.0.0.1:3000`. */
    private readonly baseUrl: () => string,
    private readonly operatorToken: string | null,
  ) {}

  private async call(method: 'GET' | 'POST' | 'DELETE', subdomain: string): Promise<FullSyncAnswer> {
    if (this.operatorToken === null) return { kind: 'error', message: 'OPERATOR_TOKEN is not set: the operator endpoints are off' };
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl()}/operator/accounts/${encodeURIComponent(subdomain)}/full-sync`, {
        method,
        headers: { authorization: `Bearer ${this.operatorToken}` },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch (err) {
      return { kind: 'error', message: `the full-sync endpoint did not answer: ${err instanceof Error ? err.message : String(err)}` };
    }
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      // Not JSON: judged by the status alone below.
      body = null;
    }
    const code = z.object({ error: z.object({ code: z.string() }) }).safeParse(body);
    // The app's own fallback answers `not_found` for a route it does not have.
    if (res.status === 404 && code.success && code.data.error.code === 'not_found') return { kind: 'unavailable' };
    if (res.status === 404 || res.status === 204) return { kind: 'none' };
    if (!res.ok) return { kind: 'error', message: `${method} full-sync answered ${res.status}${code.success ? ` (${code.data.error.code})` : ''}` };
    const progress = FullSyncProgressSchema.safeParse(body);
    if (progress.success) return { kind: 'progress', progress: progress.data };
    // A start or cancel may answer an id only: read the progress.
    return method === 'GET' ? { kind: 'error', message: 'the full-sync progress was not understood' } : this.progress(subdomain);
  }

  progress(subdomain: string): Promise<FullSyncAnswer> {
    return this.call('GET', subdomain);
  }

  start(subdomain: string): Promise<FullSyncAnswer> {
    return this.call('POST', subdomain);
  }

  cancel(subdomain: string): Promise<FullSyncAnswer> {
    return this.call('DELETE', subdomain);
  }
}

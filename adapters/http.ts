/** A response read in full, so callers can map any status to a typed error. */
export interface HttpResponse {
  status: number;
  headers: Headers;
  text: string;
}

export class NetworkError extends Error {
  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    super(`request to ${new URL(url).origin} failed: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'NetworkError';
  }
}

export async function send(url: string, init: RequestInit & { timeoutMs?: number }): Promise<HttpResponse> {
  const { timeoutMs = 15_000, ...rest } = init;
  try {
    const res = await fetch(url, { ...rest, signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, headers: res.headers, text: await res.text() };
  } catch (err) {
    throw new NetworkError(url, err);
  }
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** Fills `{subdomain}` in a URL template from the configuration; no trailing slash. */
export function fillTemplate(template: string, subdomain: string): string {
  return template.replaceAll('{subdomain}', encodeURIComponent(subdomain)).replace(/\/+$/, '');
}

/** The subdomain a URL was built from, or null when the URL does not fit the template. */
export function matchTemplate(template: string, url: string): string | null {
  const [before, after = ''] = template.replace(/\/+$/, '').split('{subdomain}', 2);
  const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escape(before ?? '')}([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)${escape(after)}/?$`, 'i').exec(url);
  return match?.[1]?.toLowerCase() ?? null;
}

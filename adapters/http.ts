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

/** An id refused before it could reach a URL: it does not have the shape the remote system gives its ids. */
export class InvalidId extends Error {
  constructor(readonly kind: string) {
    super(`refused to call with a malformed ${kind} id`);
    this.name = 'InvalidId';
  }
}

/**
 * An id as one URL path segment: checked against the shape its system uses and percent-encoded,
 * so no input can become a dot segment, a slash or a query.
 */
export function pathSegment(id: string, kind: string, shape: RegExp): string {
  if (!shape.test(id)) throw new InvalidId(kind);
  return encodeURIComponent(id);
}

/** The request line of a failed call, with every id replaced, so messages carry no data. */
export function requestLine(method: string, path: string): string {
  const segments = (path.split('?')[0] ?? '').split('/');
  const idLike = (segment: string): boolean =>
    /^\d+$/.test(segment) || /^[0-9a-f]{24}$/i.test(segment) || /[@%]/.test(segment) || segment.length > 24;
  return `${method} ${segments.map((segment) => (idLike(segment) ? ':id' : segment)).join('/')}`;
}

/** Fills `{subdomain}` in a URL template from the configuration; no trailing slash. */
export function fillTemplate(template: string, subdomain: string): string {
  return template.replaceAll('{subdomain}', encodeURIComponent(subdomain)).replace(/\/+$/, '');
}

/**
 * The subdomain a URL was built from, or null when the URL is not exactly what the template gives
 * for some subdomain. Only the scheme and host compare without case (a URL's path is
 * case-sensitive), a trailing slash is ignored, and nothing else may differ: no query, no other
 * spelling of the path, no other spelling of the host and port.
 */
export function matchTemplate(template: string, url: string): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return null;
  }
  if (parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') return null;
  const given = canonical(url, parsed);
  const [before, after = ''] = template.replace(/\/+$/, '').split('{subdomain}', 2);
  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const match = new RegExp(`^${escape(before ?? '')}([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)${escape(after)}$`, 'i').exec(
    given,
  );
  const subdomain = match?.[1]?.toLowerCase() ?? null;
  if (subdomain === null) return null;
  const expected = fillTemplate(template, subdomain);
  // The parser reads `\` as `/`, drops tabs and newlines, and takes `127.1` or `@host` for the same host:
  // the authority as written must be the template's too, or the text could name another host to another reader.
  return given === canonical(expected) &&
    writtenAuthority(url)?.toLowerCase() === writtenAuthority(expected)?.toLowerCase()
    ? subdomain
    : null;
}

const WRITTEN_AUTHORITY = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i;

/** What stands between `scheme://` and the path, exactly as written. */
const writtenAuthority = (url: string): string | null => WRITTEN_AUTHORITY.exec(url)?.[1] ?? null;

/** Scheme and host as the URL parser spells them (lower case, default port dropped), the path exactly as written. */
function canonical(url: string, parsed = new URL(url)): string {
  const path = url.replace(WRITTEN_AUTHORITY, '').replace(/\/+$/, '');
  return `${parsed.protocol}//${parsed.host}${path}`;
}

import net from 'node:net';

/** One request exactly as it goes on the wire: no client library fixes anything up. */
export interface WireRequest {
  method: string;
  /** The request target as written (dot segments, bad escapes and all). */
  target: string;
  /** Header lines in order; values are written as latin1 bytes. `host` and `connection` are added unless given. */
  headers: Array<[string, string]>;
  body: Buffer | null;
  /** The Content-Length to declare (any text, valid or not): the body's length when absent, none when null. */
  contentLength?: number | string | null;
  /** Write the head only and keep the connection open (a body that never comes). */
  withholdBody?: boolean;
  /** Written as is instead of a request built from the fields above. */
  raw?: Buffer;
}

export interface WireAnswer {
  /** The final status (1xx interim answers skipped); null when none came. */
  status: number | null;
  headers: Record<string, string>;
  body: string;
  ms: number;
  /** `closed`: the server closed the connection without a status line; `timeout`: nothing complete came in time. */
  outcome: 'answered' | 'closed' | 'timeout';
}

export function encodeRequest(request: WireRequest, port: number): Buffer {
  if (request.raw !== undefined) return request.raw;
  const given = new Set(request.headers.map(([name]) => name.toLowerCase()));
  const lines = [`${request.method} ${request.target} HTTP/1.1`];
  if (!given.has('host')) lines.push(`Host: 127.0.0.1:${port}`);
  if (!given.has('connection')) lines.push('Connection: close');
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  const declared =
    request.contentLength === undefined ? (request.body === null ? null : request.body.length) : request.contentLength;
  if (declared !== null && !given.has('content-length')) lines.push(`Content-Length: ${declared}`);
  const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  return request.withholdBody === true || request.body === null ? head : Buffer.concat([head, request.body]);
}

interface ParsedHead {
  status: number;
  headers: Record<string, string>;
  bodyStart: number;
}

/** The first final (non-1xx) answer head in `data`, skipping `100 Continue` and the like. */
function finalHead(data: Buffer): ParsedHead | null {
  let offset = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', offset, 'latin1');
    if (end === -1) return null;
    const [statusLine = '', ...lines] = data.subarray(offset, end).toString('latin1').split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? NaN);
    if (!Number.isFinite(status)) return null;
    if (status >= 200) {
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      return { status, headers, bodyStart: end + 4 };
    }
    offset = end + 4;
  }
}

/** The body once complete: by Content-Length, by the last chunk, or (neither) only when the server closes. */
function completeBody(data: Buffer, head: ParsedHead, closed: boolean): string | null {
  const body = data.subarray(head.bodyStart);
  const length = head.headers['content-length'];
  if (length !== undefined)
    return body.length >= Number(length)
      ? body.subarray(0, Number(length)).toString('utf8')
      : closed
        ? body.toString('utf8')
        : null;
  if ((head.headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
    if (!body.includes('\r\n0\r\n\r\n') && !body.subarray(0, 5).equals(Buffer.from('0\r\n\r\n')) && !closed)
      return null;
    return body.toString('utf8');
  }
  return closed ? body.toString('utf8') : null;
}

/**
 * Sends one request on a new connection and waits for one complete answer, the server closing the
 * connection, or `timeoutMs`. Write errors (the server answered early and closed) are not failures.
 */
export function exchange(port: number, request: WireRequest, timeoutMs: number): Promise<WireAnswer> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = net.connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    let settled = false;
    const finish = (closed: boolean, timedOut: boolean): void => {
      if (settled) return;
      const head = finalHead(data);
      const body = head === null ? null : completeBody(data, head, closed || timedOut);
      if (!closed && !timedOut && (head === null || body === null)) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const ms = performance.now() - started;
      if (head === null)
        return resolve({ status: null, headers: {}, body: '', ms, outcome: timedOut ? 'timeout' : 'closed' });
      resolve({ status: head.status, headers: head.headers, body: body ?? '', ms, outcome: 'answered' });
    };
    const timer = setTimeout(() => finish(false, true), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      finish(false, false);
    });
    socket.on('close', () => finish(true, false));
    // ECONNRESET or EPIPE after the server answered early: whatever came is the answer.
    socket.on('error', () => finish(true, false));
    socket.write(encodeRequest(request, port));
  });
}

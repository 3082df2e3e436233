import { createHmac } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import type { Random } from '../../sandbox/common/random';
import type { WireAnswer, WireRequest } from './wire';

// The requests of a fuzz run. Each one is a mutation of a valid request of its class, with what
// the product must do about it: refuse it (any answer but 2xx), accept it (2xx), or either (then
// only a 5xx, a hang or a side effect counts). Every id a request carries is tagged with its
// index, so a workflow it made Temporal start can be traced back to it.

export const FUZZ_CLASSES = [
  'signatures',
  'bodies',
  'encodings',
  'routing',
  'api-url',
  'oauth',
  'operator-codec',
  'unicode',
  'valid',
] as const;
export type FuzzClass = (typeof FUZZ_CLASSES)[number];

export type Expectation = 'refuse' | 'accept' | 'either';

export interface FuzzCustomer {
  sgId: string;
  zdId: number;
  email: string;
  name: string;
}

export interface FuzzAccount {
  subdomain: string;
  zendeskSubdomain: string;
  addonId: string;
  /** The account's API root as the template gives it. */
  apiUrl: string;
  zendeskSecret: string;
  customers: FuzzCustomer[];
}

/** What the generator needs to know about the system under test. */
export interface FuzzTarget {
  storeganiseSecret: string;
  operatorToken: string;
  /** The Temporal Web UI origin the codec grants CORS to. */
  webUiOrigin: string;
  accounts: readonly FuzzAccount[];
  /** A loopback server that must never be called: `http://127.0.0.1:port`. */
  trapOrigin: string;
  /** Genuine OAuth `state` values the authorize link issued. */
  oauthStates: readonly string[];
  /** A `state` sealed with a key this installation does not hold. */
  foreignState: string;
  /** A codec body holding one payload encrypted with the installation's key. */
  codecBody: string;
}

export interface FuzzCase {
  fuzzClass: FuzzClass;
  label: string;
  expect: Expectation;
  request: WireRequest;
  /** How long an answer may take before it counts as a hang. */
  timeoutMs: number;
  /** Closing the connection without an answer is the designed reply (CONNECT, which Node drops). */
  mayClose?: boolean;
  /** A problem with the answer beyond its status, e.g. CORS granted to a foreign origin. */
  check?: (answer: WireAnswer) => string | null;
}

// ---- tags ------------------------------------------------------------------------------------

export const eventTag = (n: number): string => `fz-${n}-`;
export const userTag = (n: number): string => `fzu${n}`;
export const subdomainTag = (n: number): string => `fzs${n}`;
/** A Zendesk user id no real user has (13 digits, leading 9); real sandbox ids have 14. */
export const zendeskUserTag = (n: number): string => `9${String(n).padStart(12, '0')}`;

/** The request indexes whose tags appear in a workflow id or an event id. */
export function tagsIn(text: string): number[] {
  const found = new Set<number>();
  for (const match of text.matchAll(/fz-(\d+)-|fzu(\d+)|fzs(\d+)|zd:9(\d{12})(?!\d)/g)) {
    const digits = match[1] ?? match[2] ?? match[3] ?? match[4];
    if (digits !== undefined) found.add(Number(digits));
  }
  return [...found];
}

// ---- small helpers -----------------------------------------------------------------------------

const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;
const chance = (r: Random, p: number): boolean => r() < p;
const hex = (r: Random, length: number): string =>
  Array.from({ length }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/** `text` with the first `marker` replaced by raw bytes. */
function withBytes(text: string, marker: string, bytes: Buffer): Buffer {
  const at = text.indexOf(marker);
  if (at === -1) return Buffer.from(text);
  return Buffer.concat([Buffer.from(text.slice(0, at)), bytes, Buffer.from(text.slice(at + marker.length))]);
}

const signStoreganise = (secret: string, body: Buffer): string =>
  createHmac('sha256', secret).update(body).digest('base64');
const signZendesk = (secret: string, timestamp: string, body: Buffer): string =>
  createHmac('sha256', secret).update(timestamp).update(body).digest('base64');
const zendeskTimestamp = (at = Date.now()): string => new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z');

const EVENT_ID = /^[\x21-\x7E]{1,128}$/;
const EVENT_TYPE = /^[A-Za-z0-9_.:/-]{1,100}$/;
const STOREGANISE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Person-typed and id-shaped text no code path should choke on. */
const HOSTILE_TEXT: ReadonlyArray<(r: Random) => string> = [
  () => '\ud800',
  () => '\udfff',
  () => 'a\udc00\ud800b',
  () => 'nul\u0000led',
  () => '\u0001\u0002\u001b[31m\u007f',
  () => '\u0085\u009b\u00a0',
  () => '\u202eevil\u202c',
  () => '\u200f\u200e\u200b\u200d\u2060',
  () => '\ufeffbom',
  () => 'line\u2028para\u2029',
  () => '\uffff\ufffe\ufdd0',
  () => '\ue000\u{10ffff}',
  () => `e${'\u0301'.repeat(300)}`,
  () => '\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u{1F3FD}',
  () => 'ｆｕｌｌ\u3000ｗｉｄｔｈ',
  () => 'раура\u0430l',
  () => '../..',
  () => '%00%2e%2e%2F',
  () => '<script>alert(1)</script>',
  () => '${jndi:ldap://x}',
  () => '"},"apiUrl":"http://evil',
  () => '\\u0000\\ud800',
  (r) => pick(r, ['\u202e', '\ud800', 'x', '\u0000', '\u{1F600}']).repeat(pick(r, [70_000, 100_000])),
  (r) => Array.from({ length: 40 }, () => String.fromCharCode(Math.floor(r() * 0x10000))).join(''),
];

/** Bytes that are not UTF-8: a CESU-8 surrogate, an overlong slash, BOM-like bytes, a lone continuation, beyond U+10FFFF, a truncated sequence. */
const RAW_BYTES: readonly Buffer[] = [
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xc0, 0xaf]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0xe2, 0x82]),
  Buffer.from([0x00]),
];

const hostile = (r: Random): string => pick(r, HOSTILE_TEXT)(r);

// ---- valid requests, the material every mutation starts from -------------------------------------

interface Gen {
  n: number;
  r: Random;
  t: FuzzTarget;
}

type Mutation = (g: Gen) => Omit<FuzzCase, 'fuzzClass' | 'label' | 'timeoutMs'> & { timeoutMs?: number };

/** No answer within the server's request timeout (30 s) is a hang; the api answers 503 itself after 20 s. */
const DEFAULT_TIMEOUT_MS = 31_000;

const accountOf = (g: Gen): FuzzAccount => pick(g.r, g.t.accounts);
const customerOf = (g: Gen, account: FuzzAccount): FuzzCustomer => pick(g.r, account.customers);
const otherAccount = (g: Gen, account: FuzzAccount): FuzzAccount => g.t.accounts.find((a) => a !== account) ?? account;

/** A Storeganise `user.updated` about a real customer, as Storeganise would send it. */
function storeganiseUserEvent(
  g: Gen,
  account = accountOf(g),
  customer = customerOf(g, account),
): Record<string, unknown> {
  const keys = ['firstName', 'lastName', 'email', 'phone'].filter(() => chance(g.r, 0.5));
  return {
    id: `${eventTag(g.n)}${hex(g.r, 8)}`,
    type: 'user.updated',
    created: new Date().toISOString(),
    data: { userId: customer.sgId, changedKeys: keys.length > 0 ? keys : ['firstName'] },
    apiUrl: account.apiUrl,
    addonId: account.addonId,
  };
}

/** A Zendesk `user.name_changed` about a real linked user, as Zendesk would send it. */
function zendeskNameEvent(g: Gen, account = accountOf(g), customer = customerOf(g, account)): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    type: 'zen:event-type:user.name_changed',
    account_id: 12514403,
    id: `${eventTag(g.n)}${hex(g.r, 8)}-${hex(g.r, 4)}`,
    time: now,
    zendesk_event_version: '2022-11-06',
    subject: `zen:user:${customer.zdId}`,
    detail: {
      created_at: now,
      email: customer.email,
      external_id: customer.sgId,
      id: String(customer.zdId),
      role: 'end-user',
      updated_at: now,
    },
    event: { current: customer.name, previous: `${customer.name} (before)` },
  };
}

/** Zendesk users nobody has, shared by the run's events about unknown users (13 digits, leading 8: no tag). */
const UNKNOWN_ZENDESK_USERS = 24;

/**
 * The same, about a Zendesk user nobody has. The users come from a small pool, so accepted events
 * signal a few customer workflows rather than start one each; the event id still carries the tag.
 */
function zendeskUnknownUserEvent(g: Gen): Record<string, unknown> {
  const id = `8${String(Math.floor(g.r() * UNKNOWN_ZENDESK_USERS)).padStart(12, '0')}`;
  const now = new Date().toISOString();
  return {
    type: 'zen:event-type:user.name_changed',
    account_id: 12514403,
    id: `${eventTag(g.n)}${hex(g.r, 8)}`,
    time: now,
    zendesk_event_version: '2022-11-06',
    subject: `zen:user:${id}`,
    detail: {
      created_at: now,
      email: `${userTag(g.n)}@example.com`,
      external_id: '',
      id,
      role: 'end-user',
      updated_at: now,
    },
    event: { current: 'Someone New', previous: 'Someone' },
  };
}

function storeganiseRequest(
  g: Gen,
  body: Buffer,
  options: { signature?: string | null; headers?: Array<[string, string]>; target?: string } = {},
): WireRequest {
  const signature = options.signature === undefined ? signStoreganise(g.t.storeganiseSecret, body) : options.signature;
  return {
    method: 'POST',
    target: options.target ?? '/addon/storeganise',
    headers: [
      ['Content-Type', 'application/json'],
      ...(signature === null ? [] : ([['sg-signature', signature]] as Array<[string, string]>)),
      ...(options.headers ?? []),
    ],
    body,
  };
}

function zendeskRequest(
  g: Gen,
  account: FuzzAccount,
  body: Buffer,
  options: {
    secret?: string;
    timestamp?: string | null;
    signature?: string | null;
    headers?: Array<[string, string]>;
    target?: string;
  } = {},
): WireRequest {
  const timestamp = options.timestamp === undefined ? zendeskTimestamp() : options.timestamp;
  const signature =
    options.signature === undefined
      ? signZendesk(options.secret ?? account.zendeskSecret, timestamp ?? '', body)
      : options.signature;
  return {
    method: 'POST',
    target: options.target ?? `/addon/zendesk/${account.subdomain}`,
    headers: [
      ['Content-Type', 'application/json'],
      ...(timestamp === null
        ? []
        : ([['x-zendesk-webhook-signature-timestamp', timestamp]] as Array<[string, string]>)),
      ...(signature === null ? [] : ([['x-zendesk-webhook-signature', signature]] as Array<[string, string]>)),
      ...(options.headers ?? []),
    ],
    body,
  };
}

const refuse = (request: WireRequest): ReturnType<Mutation> => ({ expect: 'refuse', request });
const either = (request: WireRequest): ReturnType<Mutation> => ({ expect: 'either', request });

// ---- signatures --------------------------------------------------------------------------------

const signatures: Array<[string, Mutation]> = [
  ['sg: missing', (g) => refuse(storeganiseRequest(g, json(storeganiseUserEvent(g)), { signature: null }))],
  ['sg: empty', (g) => refuse(storeganiseRequest(g, json(storeganiseUserEvent(g)), { signature: '' }))],
  [
    'sg: wrong secret',
    (g) => {
      const body = json(storeganiseUserEvent(g));
      return refuse(storeganiseRequest(g, body, { signature: signStoreganise(`not-${g.t.storeganiseSecret}`, body) }));
    },
  ],
  ...(
    ['base64url', 'hex', 'unpadded', 'padded twice', 'with a space', 'with a tab', 'lower case', 'truncated'] as const
  ).map((spelling): [string, Mutation] => [
    `sg: ${spelling}`,
    (g) => {
      const body = json(storeganiseUserEvent(g));
      return refuse(
        storeganiseRequest(g, body, { signature: respell(signStoreganise(g.t.storeganiseSecret, body), spelling) }),
      );
    },
  ]),
  [
    'sg: body changed after signing',
    (g) => {
      const body = json(storeganiseUserEvent(g));
      const signature = signStoreganise(g.t.storeganiseSecret, body);
      return refuse(
        storeganiseRequest(g, Buffer.concat([body, Buffer.from(pick(g.r, [' ', '\n', '{}', '\u0000']))]), {
          signature,
        }),
      );
    },
  ],
  [
    'sg: two signature headers',
    (g) => {
      const body = json(storeganiseUserEvent(g));
      return refuse(storeganiseRequest(g, body, { headers: [['sg-signature', signStoreganise('other', body)]] }));
    },
  ],
  [
    'sg: random base64',
    (g) =>
      refuse(
        storeganiseRequest(g, json(storeganiseUserEvent(g)), {
          signature: Buffer.from(hex(g.r, 64), 'hex').toString('base64'),
        }),
      ),
  ],
  [
    'sg: latin1 bytes',
    (g) => refuse(storeganiseRequest(g, json(storeganiseUserEvent(g)), { signature: '\u00e9\u00ff'.repeat(22) })),
  ],
  [
    'sg: 8 KB header',
    (g) => refuse(storeganiseRequest(g, json(storeganiseUserEvent(g)), { signature: 'A'.repeat(8_000) })),
  ],
  ['zd: missing both', (g) => zendeskSigned(g, { timestamp: null, signature: null })],
  ['zd: missing timestamp', (g) => zendeskSigned(g, { timestamp: null })],
  ['zd: missing signature', (g) => zendeskSigned(g, { signature: null })],
  ['zd: wrong secret', (g) => zendeskSigned(g, { secret: `not-the-secret-${hex(g.r, 6)}` })],
  ["zd: the other account's secret", (g) => zendeskSigned(g, { otherSecret: true })],
  ['zd: storeganise secret', (g) => zendeskSigned(g, { secret: g.t.storeganiseSecret })],
  ['zd: base64url', (g) => zendeskSigned(g, { spelling: 'base64url' })],
  ['zd: hex', (g) => zendeskSigned(g, { spelling: 'hex' })],
  ['zd: unpadded', (g) => zendeskSigned(g, { spelling: 'unpadded' })],
  ['zd: RFC 2822 timestamp', (g) => zendeskSigned(g, { timestamp: new Date().toUTCString() })],
  ['zd: epoch seconds timestamp', (g) => zendeskSigned(g, { timestamp: String(Math.floor(Date.now() / 1000)) })],
  ['zd: epoch ms timestamp', (g) => zendeskSigned(g, { timestamp: String(Date.now()) })],
  ['zd: +00:00 timestamp', (g) => zendeskSigned(g, { timestamp: zendeskTimestamp().replace('Z', '+00:00') })],
  [
    'zd: +09:00 timestamp',
    (g) =>
      zendeskSigned(g, {
        timestamp: new Date(Date.now() + 9 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, '+09:00'),
      }),
  ],
  ['zd: lower-case z', (g) => zendeskSigned(g, { timestamp: zendeskTimestamp().replace('Z', 'z') })],
  ['zd: stale by 6 minutes', (g) => zendeskSigned(g, { timestamp: zendeskTimestamp(Date.now() - 6 * 60_000) })],
  ['zd: ahead by 6 minutes', (g) => zendeskSigned(g, { timestamp: zendeskTimestamp(Date.now() + 6 * 60_000) })],
  ['zd: year 1970', (g) => zendeskSigned(g, { timestamp: '1970-01-01T00:00:00Z' })],
  ['zd: 30 February', (g) => zendeskSigned(g, { timestamp: `${new Date().getUTCFullYear()}-02-30T00:00:00Z` })],
  ['zd: body only signed', (g) => zendeskSigned(g, { order: 'body-only' })],
  ['zd: body then timestamp signed', (g) => zendeskSigned(g, { order: 'reversed' })],
  ['zd: 8 KB timestamp', (g) => zendeskSigned(g, { timestamp: `${zendeskTimestamp()}${' '.repeat(8_000)}` })],
  [
    'zd: sg-signature instead',
    (g) => zendeskSigned(g, { timestamp: null, signature: null, headers: [['sg-signature', 'x']] }),
  ],
  ['zd: body changed after signing', (g) => zendeskSigned(g, { tamper: true })],
];

function respell(
  signature: string,
  spelling:
    'base64url' | 'hex' | 'unpadded' | 'padded twice' | 'with a space' | 'with a tab' | 'lower case' | 'truncated',
): string {
  const bytes = Buffer.from(signature, 'base64');
  switch (spelling) {
    case 'base64url':
      return bytes.toString('base64url');
    case 'hex':
      return bytes.toString('hex');
    case 'unpadded':
      return signature.replace(/=+$/, '');
    case 'padded twice':
      return `${signature}=`;
    case 'with a space':
      return `${signature.slice(0, 10)} ${signature.slice(10)}`;
    case 'with a tab':
      return `${signature.slice(0, 10)}\t${signature.slice(10)}`;
    case 'lower case':
      return signature.toLowerCase() === signature ? `${signature.slice(0, -2)}A=` : signature.toLowerCase();
    case 'truncated':
      return signature.slice(0, 40);
  }
}

function zendeskSigned(
  g: Gen,
  options: {
    secret?: string;
    otherSecret?: boolean;
    timestamp?: string | null;
    signature?: null;
    spelling?: 'base64url' | 'hex' | 'unpadded';
    order?: 'body-only' | 'reversed';
    headers?: Array<[string, string]>;
    tamper?: boolean;
  },
): ReturnType<Mutation> {
  const account = accountOf(g);
  const body = json(chance(g.r, 0.5) ? zendeskNameEvent(g, account) : zendeskUnknownUserEvent(g));
  const timestamp = options.timestamp === undefined ? zendeskTimestamp() : options.timestamp;
  const secret = options.otherSecret
    ? otherAccount(g, account).zendeskSecret
    : (options.secret ?? account.zendeskSecret);
  let signature: string | null | undefined;
  if (options.signature === null) signature = null;
  else if (options.order === 'body-only') signature = createHmac('sha256', secret).update(body).digest('base64');
  else if (options.order === 'reversed')
    signature = createHmac('sha256', secret)
      .update(body)
      .update(timestamp ?? '')
      .digest('base64');
  else signature = signZendesk(secret, timestamp ?? '', body);
  if (signature !== null && options.spelling !== undefined) signature = respell(signature, options.spelling);
  const sent = options.tamper ? Buffer.concat([body.subarray(0, body.length - 1), Buffer.from(' }')]) : body;
  return refuse(
    zendeskRequest(g, account, sent, {
      timestamp,
      signature,
      ...(options.headers ? { headers: options.headers } : {}),
    }),
  );
}

// ---- bodies ------------------------------------------------------------------------------------

/** A Storeganise event signed as sent, with `mutate` applied to the valid object first. */
const storeganiseShaped =
  (expect: Expectation, mutate: (event: Record<string, unknown>, g: Gen) => unknown): Mutation =>
  (g) => ({ expect, request: storeganiseRequest(g, json(mutate(storeganiseUserEvent(g), g))) });

const zendeskShaped =
  (expect: Expectation, mutate: (event: Record<string, unknown>, g: Gen) => unknown): Mutation =>
  (g) => {
    const account = accountOf(g);
    return {
      expect,
      request: zendeskRequest(
        g,
        account,
        json(mutate(chance(g.r, 0.5) ? zendeskNameEvent(g, account) : zendeskUnknownUserEvent(g), g)),
      ),
    };
  };

const withData = (event: Record<string, unknown>, data: unknown): Record<string, unknown> => ({ ...event, data });
const withDetail = (event: Record<string, unknown>, detail: Record<string, unknown>): Record<string, unknown> => ({
  ...event,
  detail: { ...(event.detail as Record<string, unknown>), ...detail },
});
const without = (event: Record<string, unknown>, key: string): Record<string, unknown> =>
  Object.fromEntries(Object.entries(event).filter(([k]) => k !== key));
/** Built once: the run's own event loop serves the sandboxes too, and must not spend it rebuilding large constants. */
function once<T>(make: () => T): () => T {
  let made: { value: T } | null = null;
  return () => (made ??= { value: make() }).value;
}

/** JSON text nested `depth` deep: built as text, since JSON.stringify overflows the stack long before JSON.parse does. */
const nestedJson = (depth: number, asArray: boolean): string =>
  depth > 1_000 ? (asArray ? deepArray() : deepObject()) : nestedText(depth, asArray);
const nestedText = (depth: number, asArray: boolean): string =>
  asArray ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
const deepArray = once(() => nestedText(50_000, true));
const deepObject = once(() => nestedText(50_000, false));
const manyKeys = once(() => Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`k${i}`, i])));
/** 50 MB of spaces, gzipped to about 50 kB. */
const gzipBomb = once(() => gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)));

/** `event` as JSON with `"key":<raw JSON>` added as the first member of its object member `parent`. */
const withRawMember = (event: Record<string, unknown>, parent: string, key: string, raw: string): Buffer =>
  Buffer.from(JSON.stringify(event).replace(`"${parent}":{`, `"${parent}":{"${key}":${raw},`));

/** A signed raw body (any bytes) to either endpoint. */
const rawSigned =
  (expect: Expectation, body: (g: Gen) => Buffer): Mutation =>
  (g) => {
    const bytes = body(g);
    if (chance(g.r, 0.5)) return { expect, request: storeganiseRequest(g, bytes) };
    return { expect, request: zendeskRequest(g, accountOf(g), bytes) };
  };

const WRONG_VALUES: readonly unknown[] = [null, true, 0, -1, 1.5, 1e308, [], {}, [1], { $ne: null }, '', ' '];

const bodies: Array<[string, Mutation]> = [
  ['empty body', rawSigned('refuse', () => Buffer.alloc(0))],
  ...['null', 'true', '0', '"text"', '[]', '[{}]', '{}'].map((text): [string, Mutation] => [
    `root ${text}`,
    rawSigned('refuse', () => Buffer.from(text)),
  ]),
  [
    'truncated JSON',
    (g) => {
      const event = json(chance(g.r, 0.5) ? storeganiseUserEvent(g) : zendeskNameEvent(g));
      const cut = event.subarray(0, 1 + Math.floor(g.r() * (event.length - 2)));
      return {
        expect: 'refuse',
        request: chance(g.r, 0.5) ? storeganiseRequest(g, cut) : zendeskRequest(g, accountOf(g), cut),
      };
    },
  ],
  [
    'trailing comma',
    rawSigned('refuse', (g) => Buffer.from(JSON.stringify(storeganiseUserEvent(g)).replace(/}$/, ',}'))),
  ],
  [
    'single quotes',
    rawSigned('refuse', (g) => Buffer.from(JSON.stringify(storeganiseUserEvent(g)).replaceAll('"', "'"))),
  ],
  [
    'two documents',
    rawSigned('refuse', (g) =>
      Buffer.from(`${JSON.stringify(storeganiseUserEvent(g))}${JSON.stringify(storeganiseUserEvent(g))}`),
    ),
  ],
  ['NaN and comments', rawSigned('refuse', () => Buffer.from('{"id": NaN, /* x */ "type": "user.updated"}'))],
  [
    'a random byte changed',
    (g) => {
      const body = json(chance(g.r, 0.5) ? storeganiseUserEvent(g) : zendeskNameEvent(g));
      body[Math.floor(g.r() * body.length)] = Math.floor(g.r() * 256);
      return {
        expect: 'either',
        request: chance(g.r, 0.5) ? storeganiseRequest(g, body) : zendeskRequest(g, accountOf(g), body),
      };
    },
  ],
  ...(['id', 'type', 'apiUrl', 'addonId'] as const).map((key): [string, Mutation] => [
    `sg: no ${key}`,
    storeganiseShaped('refuse', (e) => without(e, key)),
  ]),
  ['sg: no data', storeganiseShaped('refuse', (e) => without(e, 'data'))],
  ...(['id', 'type', 'apiUrl', 'addonId'] as const).map((key): [string, Mutation] => [
    `sg: ${key} of a wrong type`,
    storeganiseShaped('refuse', (e, g) => ({ ...e, [key]: pick(g.r, WRONG_VALUES) })),
  ]),
  [
    'sg: data of a wrong type',
    storeganiseShaped('refuse', (e, g) => withData(e, pick(g.r, [null, 'u1', 5, ['userId'], true]))),
  ],
  [
    'sg: userId of a wrong type',
    storeganiseShaped('refuse', (e, g) => withData(e, { userId: pick(g.r, WRONG_VALUES), changedKeys: ['firstName'] })),
  ],
  [
    'sg: changedKeys a string',
    storeganiseShaped('refuse', (e) => withData(e, { ...(e.data as object), changedKeys: 'firstName' })),
  ],
  [
    'sg: changedKeys an object',
    storeganiseShaped('refuse', (e) =>
      withData(e, { ...(e.data as object), changedKeys: { 0: 'firstName', length: 1 } }),
    ),
  ],
  [
    'sg: changedKeys of numbers',
    storeganiseShaped('refuse', (e) => withData(e, { ...(e.data as object), changedKeys: [1, 2] })),
  ],
  [
    'sg: changedKeys nested',
    storeganiseShaped('refuse', (e) => withData(e, { ...(e.data as object), changedKeys: [['firstName']] })),
  ],
  [
    'sg: 201 changedKeys',
    storeganiseShaped('refuse', (e) =>
      withData(e, { ...(e.data as object), changedKeys: Array.from({ length: 201 }, () => 'firstName') }),
    ),
  ],
  [
    'sg: a 201-character changed key',
    storeganiseShaped('refuse', (e) => withData(e, { ...(e.data as object), changedKeys: ['f'.repeat(201)] })),
  ],
  [
    'sg: created of a wrong type',
    storeganiseShaped('refuse', (e, g) => ({ ...e, created: pick(g.r, [5, {}, [], true]) })),
  ],
  [
    'sg: created not a date',
    storeganiseShaped('either', (e, g) => ({
      ...e,
      created: pick(g.r, ['yesterday', '2024-13-45T99:99:99Z', '', '0']),
    })),
  ],
  [
    'sg: rental event without ids',
    storeganiseShaped('refuse', (e) => ({ ...e, type: 'job.unit_moveIn.completed', data: {} })),
  ],
  [
    'sg: rental ids of a wrong type',
    storeganiseShaped('refuse', (e, g) => ({
      ...e,
      type: 'unitRental.updated',
      data: { unitRentalId: pick(g.r, [5, {}, [], true]) },
    })),
  ],
  [
    'sg: unused type, garbage data',
    storeganiseShaped('either', (e, g) => ({
      ...e,
      type: 'invoice.state.updated',
      data: { x: pick(g.r, WRONG_VALUES) },
    })),
  ],
  ['sg: 1.1 MB id', storeganiseShaped('refuse', (e) => ({ ...e, id: 'i'.repeat(1_100_000) }))],
  [
    'sg: 900 kB extra value',
    storeganiseShaped('either', (e) => withData(e, { ...(e.data as object), extra: 'x'.repeat(900_000) })),
  ],
  ['sg: 20,000 extra keys', storeganiseShaped('either', (e) => withData(e, { ...(e.data as object), ...manyKeys() }))],
  [
    'sg: deep nesting in data',
    (g) =>
      either(
        storeganiseRequest(
          g,
          withRawMember(
            storeganiseUserEvent(g),
            'data',
            'deep',
            nestedJson(pick(g.r, [1_000, 50_000]), chance(g.r, 0.5)),
          ),
        ),
      ),
  ],
  [
    'deep nesting as the root',
    rawSigned('refuse', (g) => Buffer.from(`${'['.repeat(100_000)}${']'.repeat(pick(g.r, [100_000, 99_999]))}`)),
  ],
  [
    'sg: prototype keys',
    (g) => ({
      expect: 'either',
      request: storeganiseRequest(
        g,
        Buffer.from(
          JSON.stringify(storeganiseUserEvent(g)).replace(
            /^\{/,
            '{"__proto__":{"apiUrl":"http://127.0.0.1:1/x","admin":true},"constructor":{"prototype":{"x":1}},',
          ),
        ),
      ),
    }),
  ],
  [
    'sg: duplicate apiUrl key, last foreign',
    (g) => ({
      expect: 'refuse',
      request: storeganiseRequest(
        g,
        Buffer.from(JSON.stringify(storeganiseUserEvent(g)).replace(/\}$/, `,"apiUrl":"${g.t.trapOrigin}/x/api"}`)),
      ),
    }),
  ],
  [
    'sg: duplicate userId key, last invalid',
    (g) => ({
      expect: 'refuse',
      request: storeganiseRequest(
        g,
        Buffer.from(JSON.stringify(storeganiseUserEvent(g)).replace(/\}\}?,"apiUrl"/, ',"userId":"../.."},"apiUrl"')),
      ),
    }),
  ],
  ...(['type', 'id', 'time', 'subject', 'detail'] as const).map((key): [string, Mutation] => [
    `zd: no ${key}`,
    zendeskShaped('refuse', (e) => without(e, key)),
  ]),
  [
    'zd: no detail.id',
    zendeskShaped('refuse', (e) => ({ ...e, detail: without(e.detail as Record<string, unknown>, 'id') })),
  ],
  [
    'zd: detail of a wrong type',
    zendeskShaped('refuse', (e, g) => ({ ...e, detail: pick(g.r, [null, 'user', 5, [1], true]) })),
  ],
  [
    'zd: event of a wrong type',
    zendeskShaped('refuse', (e, g) => ({ ...e, event: pick(g.r, [null, 'x', 5, ['current'], true]) })),
  ],
  [
    'zd: detail.id of a wrong type',
    zendeskShaped('refuse', (e, g) =>
      withDetail(e, { id: pick(g.r, [null, true, -1, 1.5, 1e300, [], {}, '', '1e5', '0x10']) }),
    ),
  ],
  [
    'zd: external_id of a wrong type',
    zendeskShaped('refuse', (e, g) => withDetail(e, { external_id: pick(g.r, [true, [], {}, [1]]) })),
  ],
  [
    'zd: email of a wrong type',
    zendeskShaped('refuse', (e, g) => withDetail(e, { email: pick(g.r, [true, 5, [], {}]) })),
  ],
  ['zd: type of a wrong type', zendeskShaped('refuse', (e, g) => ({ ...e, type: pick(g.r, WRONG_VALUES) }))],
  ['zd: time of a wrong type', zendeskShaped('refuse', (e, g) => ({ ...e, time: pick(g.r, [5, null, {}, []]) }))],
  [
    'zd: time not a date',
    zendeskShaped('either', (e, g) => ({
      ...e,
      time: pick(g.r, ['later', '2024-02-30T00:00:00Z', '', '+275760-09-13T00:00:00.001Z']),
    })),
  ],
  [
    'zd: account_id of a wrong type',
    zendeskShaped('refuse', (e, g) => ({ ...e, account_id: pick(g.r, [null, {}, [], true]) })),
  ],
  ['zd: a 257-character subject', zendeskShaped('refuse', (e) => ({ ...e, subject: 's'.repeat(257) }))],
  [
    'zd: name as an object',
    zendeskShaped('either', (e) => ({ ...e, event: { current: { first: 'A', last: 'B' }, previous: [] } })),
  ],
  [
    'zd: identity not an object',
    zendeskShaped('either', (e, g) => ({
      ...e,
      type: 'zen:event-type/user.identity_changed',
      event: { current: pick(g.r, ['x', 5, null, []]), previous: {} },
    })),
  ],
  [
    'zd: identity value of a wrong type',
    zendeskShaped('either', (e, g) => ({
      ...e,
      type: 'zen:event-type/user.identity_created',
      event: { identity: { type: 'email', value: pick(g.r, [5, null, {}, []]), primary: true } },
    })),
  ],
  [
    'zd: deep nesting in event',
    (g) => {
      const account = accountOf(g);
      return either(
        zendeskRequest(
          g,
          account,
          withRawMember(
            zendeskUnknownUserEvent(g),
            'event',
            'extra',
            nestedJson(pick(g.r, [1_000, 50_000]), chance(g.r, 0.5)),
          ),
        ),
      );
    },
  ],
  [
    'zd: deep nesting in detail',
    (g) =>
      either(
        zendeskRequest(
          g,
          accountOf(g),
          withRawMember(
            zendeskUnknownUserEvent(g),
            'detail',
            'extra',
            nestedJson(pick(g.r, [1_000, 50_000]), chance(g.r, 0.5)),
          ),
        ),
      ),
  ],
  [
    'zd: unused type, garbage event',
    zendeskShaped('either', (e, g) => ({
      ...e,
      type: 'zen:event-type:user.last_login_changed',
      event: pick(g.r, [{}, { x: [] }]),
    })),
  ],
];

// ---- encodings ---------------------------------------------------------------------------------

/** A valid event to either endpoint, signed over the bytes sent (or the plain JSON), with the content type replaced when given. */
function encoded(
  g: Gen,
  options: {
    bytes?: (plain: Buffer) => Buffer;
    signOver?: 'sent' | 'plain';
    contentType?: string | null;
    headers?: Array<[string, string]>;
  },
): WireRequest {
  const account = accountOf(g);
  const toZendesk = chance(g.r, 0.5);
  const plain = json(toZendesk ? zendeskNameEvent(g, account) : storeganiseUserEvent(g, account));
  const sent = options.bytes ? options.bytes(plain) : plain;
  const signed = options.signOver === 'plain' ? plain : sent;
  const timestamp = zendeskTimestamp();
  const request = toZendesk
    ? zendeskRequest(g, account, sent, { timestamp, signature: signZendesk(account.zendeskSecret, timestamp, signed) })
    : storeganiseRequest(g, sent, { signature: signStoreganise(g.t.storeganiseSecret, signed) });
  const headers =
    options.contentType === undefined
      ? request.headers
      : request.headers.filter(([name]) => name.toLowerCase() !== 'content-type');
  if (options.contentType !== undefined && options.contentType !== null)
    headers.push(['Content-Type', options.contentType]);
  return { ...request, headers: [...headers, ...(options.headers ?? [])] };
}

/** A valid signed event with extra header lines and its body replaced. */
function reframed(
  g: Gen,
  headers: Array<[string, string]>,
  body: Buffer | null,
  contentLength?: WireRequest['contentLength'],
): WireRequest {
  const request = encoded(g, {});
  return {
    ...request,
    headers: [...request.headers, ...headers],
    body: body ?? request.body,
    ...(contentLength === undefined ? {} : { contentLength }),
  };
}

const utf16 = (plain: Buffer): Buffer =>
  Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(plain.toString('utf8'), 'utf16le')]);

const encodings: Array<[string, Mutation]> = [
  ...(
    [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['br', brotliCompressSync],
      ['GZIP', gzipSync],
      ['x-gzip', gzipSync],
      ['identity, gzip', gzipSync],
      ['gzip, gzip', (b: Buffer) => gzipSync(gzipSync(b))],
      ['compress', (b: Buffer) => b],
      ['x-unknown', (b: Buffer) => b],
      ['', (b: Buffer) => b],
    ] as Array<[string, (b: Buffer) => Buffer]>
  ).map(([coding, compress]): [string, Mutation] => [
    `content-encoding ${JSON.stringify(coding)}`,
    (g) =>
      refuse(
        encoded(g, {
          bytes: compress,
          signOver: chance(g.r, 0.5) ? 'sent' : 'plain',
          headers: [['Content-Encoding', coding]],
        }),
      ),
  ]),
  ['content-encoding identity', (g) => either(encoded(g, { headers: [['Content-Encoding', 'identity']] }))],
  ['gzip bomb', (g) => refuse(encoded(g, { bytes: gzipBomb, headers: [['Content-Encoding', 'gzip']] }))],
  ...[
    null,
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/jsonx',
    'application/xml',
    'text/json',
    '*/*',
    'application',
  ].map((type): [string, Mutation] => [
    `content-type ${String(type)}`,
    (g) => refuse(encoded(g, { contentType: type })),
  ]),
  ...[
    'application/json; charset=utf-8',
    'application/json; charset=latin1',
    'APPLICATION/JSON',
    'application/json;;;',
    'application/json; charset="klingon"',
    'application/vnd.api+json',
  ].map((type): [string, Mutation] => [`content-type ${type}`, (g) => either(encoded(g, { contentType: type }))]),
  ['UTF-16 body', (g) => refuse(encoded(g, { bytes: utf16, contentType: 'application/json; charset=utf-16' }))],
  [
    'UTF-8 byte order mark',
    (g) => either(encoded(g, { bytes: (b) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), b]) })),
  ],
  [
    'latin1 bytes in a name',
    (g) =>
      either(
        encoded(g, {
          bytes: (b) =>
            withBytes(
              b.toString('utf8'),
              '"previous":"',
              Buffer.concat([Buffer.from('"previous":"'), Buffer.from([0xe9, 0xff])]),
            ),
        }),
      ),
  ],
  [
    'chunked',
    (g) => {
      const request = encoded(g, {});
      const body = request.body ?? Buffer.alloc(0);
      const chunked = Buffer.concat([
        Buffer.from(`${body.length.toString(16)}\r\n`),
        body,
        Buffer.from('\r\n0\r\n\r\n'),
      ]);
      return either({
        ...request,
        headers: [...request.headers, ['Transfer-Encoding', 'chunked']],
        contentLength: null,
        body: chunked,
      });
    },
  ],
  [
    'chunked with a bad size',
    (g) => refuse(reframed(g, [['Transfer-Encoding', 'chunked']], Buffer.from('zz\r\n{}\r\n0\r\n\r\n'), null)),
  ],
  [
    'chunked and Content-Length',
    (g) => refuse(reframed(g, [['Transfer-Encoding', 'chunked']], Buffer.from('2\r\n{}\r\n0\r\n\r\n'))),
  ],
  ...['50000000', '1048577', '99999999999999999999999', '-1', 'abc', '1, 2', '0x10', '1e3'].map(
    (length): [string, Mutation] => [
      `declared length ${length}, no body`,
      (g) => ({ ...refuse({ ...encoded(g, {}), contentLength: length, withholdBody: true }), timeoutMs: 5_000 }),
    ],
  ),
  [
    'two Content-Length headers',
    (g) =>
      refuse(
        reframed(
          g,
          [
            ['Content-Length', '1'],
            ['Content-Length', '2'],
          ],
          null,
          null,
        ),
      ),
  ],
  ['declared length shorter than the body', (g) => refuse({ ...encoded(g, {}), contentLength: 20 })],
  ['Expect: 100-continue', (g) => either(encoded(g, { headers: [['Expect', '100-continue']] }))],
  ['Expect: something else', (g) => either(encoded(g, { headers: [['Expect', 'tea']] }))],
  ['a NUL in a header', (g) => refuse(encoded(g, { headers: [['X-Trace', 'a\u0000b']] }))],
  ['a space in a header name', (g) => refuse(encoded(g, { headers: [['X Trace', 'a']] }))],
  ['an obsolete folded header', (g) => refuse(encoded(g, { headers: [['X-Trace', 'a\r\n b']] }))],
  [
    '100 headers',
    (g) => either(encoded(g, { headers: Array.from({ length: 100 }, (_, i): [string, string] => [`X-H${i}`, 'v']) })),
  ],
  [
    'codec gzip',
    (g) => refuse(codecRequest(g, { body: gzipSync(g.t.codecBody), headers: [['Content-Encoding', 'gzip']] })),
  ],
  [
    'codec charset',
    (g) =>
      refuse(
        codecRequest(g, {
          contentType: `application/json; charset=${pick(g.r, ['latin1', 'utf-16', 'klingon', 'ascii'])}`,
        }),
      ),
  ],
  ['codec text/plain', (g) => refuse(codecRequest(g, { contentType: 'text/plain' }))],
  [
    'codec declared 5 MB',
    (g) => ({
      ...refuse({ ...codecRequest(g, {}), contentLength: 5 * 1024 * 1024, withholdBody: true }),
      timeoutMs: 5_000,
    }),
  ],
];

// ---- routing -----------------------------------------------------------------------------------

const bare = (
  method: string,
  target: string,
  headers: Array<[string, string]> = [],
  body: Buffer | null = null,
): WireRequest => ({ method, target, headers, body });

/** A valid signed Storeganise event, sent to `target`. */
const storeganiseTo = (g: Gen, target: string): WireRequest =>
  storeganiseRequest(g, json(storeganiseUserEvent(g)), { target });

const routing: Array<[string, Mutation]> = [
  ...['GET', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'PROPFIND', 'SEARCH'].map((method): [string, Mutation] => [
    `${method} on a webhook`,
    (g) =>
      refuse({
        ...storeganiseTo(g, pick(g.r, ['/addon/storeganise', `/addon/zendesk/${accountOf(g).subdomain}`])),
        method,
      }),
  ]),
  [
    'OPTIONS on a webhook',
    (g) => either(bare('OPTIONS', pick(g.r, ['/addon/storeganise', `/addon/zendesk/${accountOf(g).subdomain}`]))),
  ],
  ['unknown method', (g) => refuse(bare(pick(g.r, ['FOO', 'GETT', 'post', 'P\u00d6ST']), '/addon/storeganise'))],
  ['CONNECT', (g) => ({ ...refuse(bare('CONNECT', `127.0.0.1:${pick(g.r, [22, 80, 443])}`)), mayClose: true })],
  [
    'TLS hello',
    () => ({
      ...refuse({
        method: '',
        target: '',
        headers: [],
        body: null,
        raw: Buffer.from(
          '160301002a0100002603030000000000000000000000000000000000000000000000000000000000000000000000',
          'hex',
        ),
      }),
      mayClose: true,
    }),
  ],
  [
    'not HTTP',
    () => ({
      ...refuse({ method: '', target: '', headers: [], body: null, raw: Buffer.from('HELLO\r\n\r\n') }),
      mayClose: true,
    }),
  ],
  ...[
    '',
    '..',
    '.',
    '%2e%2e',
    '%2E',
    'a.b',
    'a%2Fb',
    '%C3%A9t%C3%A9',
    '%E0%A4%A',
    '%zz',
    '%00',
    '%',
    '-acme',
    'acme-',
    'a'.repeat(64),
    'a'.repeat(300),
    '..%2F..%2Faddon%2Fstoreganise',
    ';x',
  ].map((sub): [string, Mutation] => [
    `zendesk subdomain ${JSON.stringify(sub.slice(0, 20))}`,
    (g) => refuse(zendeskRequest(g, accountOf(g), json(zendeskNameEvent(g)), { target: `/addon/zendesk/${sub}` })),
  ]),
  [
    'unknown zendesk subdomain',
    (g) =>
      refuse(
        zendeskRequest(g, accountOf(g), json(zendeskUnknownUserEvent(g)), {
          target: `/addon/zendesk/${subdomainTag(g.n)}`,
          secret: `secret-${hex(g.r, 8)}`,
        }),
      ),
  ],
  [
    'zendesk subdomain in capitals, bad signature',
    (g) =>
      refuse(
        zendeskRequest(g, accountOf(g), json(zendeskNameEvent(g)), {
          target: `/addon/zendesk/${accountOf(g).subdomain.toUpperCase()}`,
          secret: 'wrong',
        }),
      ),
  ],
  [
    'zendesk subdomain in capitals, signed',
    (g) =>
      either(
        zendeskRequest(g, accountOf(g), json(zendeskNameEvent(g)), {
          target: `/addon/zendesk/${accountOf(g).subdomain.toUpperCase()}`,
        }),
      ),
  ],
  ...[
    '/addon/storeganise/',
    '/ADDON/STOREGANISE',
    '/addon/storeganise?x=1',
    '/addon/storeganise?',
    'http://evil.example/addon/storeganise',
  ].map((target): [string, Mutation] => [`webhook at ${target}`, (g) => either(storeganiseTo(g, target))]),
  ...[
    '/addon/storeganise/x',
    '//addon/storeganise',
    '/addon//storeganise',
    '/addon/storeganise%00',
    '/addon/storeganise;x',
    '/addon/storeganis',
    '/addon/storeganise?x=%zz',
    '/addon/storeganise?%E0%A4%A',
    '/addon/zendesk/../storeganise',
    '/addon/zendesk',
    '/addon',
    '/addon/%2e%2e/storeganise',
    '*',
    'addon/storeganise',
  ].map((target): [string, Mutation] => [`webhook at ${target}`, (g) => refuse(storeganiseTo(g, target))]),
  ...[
    '/',
    '/admin',
    '/.env',
    '/.git/config',
    '/api',
    '/operator',
    '/operator/accounts',
    '/codec',
    '/oauth',
    '/oauth/zendesk',
    '/metricsx',
    '/healthz/..%2F..%2Fetc%2Fpasswd',
    '/%2e%2e/%2e%2e/etc/passwd',
    '/status/acme',
  ].map((target): [string, Mutation] => [`GET ${target}`, () => refuse(bare('GET', target))]),
  ...['/healthz', '/readyz', '/metrics', '/HEALTHZ', '/healthz?x=1'].map((target): [string, Mutation] => [
    `GET ${target}`,
    () => either(bare('GET', target)),
  ]),
  ['HEAD /healthz', () => either(bare('HEAD', '/healthz'))],
  ['a 20 kB path', (g) => refuse(bare('GET', `/${'a'.repeat(pick(g.r, [9_000, 20_000]))}`))],
  ['a 20 kB query', (g) => either(bare('GET', `/healthz?${'q=1&'.repeat(pick(g.r, [2_000, 5_000]))}`))],
  ['a bad escape in the query', () => refuse(bare('GET', '/oauth/zendesk/authorize?account=%E0%A4%A'))],
  ['no Host header', () => either({ ...bare('GET', '/healthz'), headers: [['Host', '']] })],
  [
    'a Host of another site',
    (g) => {
      const request = storeganiseTo(g, '/addon/storeganise');
      return either({ ...request, headers: [...request.headers, ['Host', 'evil.example']] });
    },
  ],
  [
    'HTTP/1.0',
    () =>
      either({ method: '', target: '', headers: [], body: null, raw: Buffer.from('GET /healthz HTTP/1.0\r\n\r\n') }),
  ],
  [
    'HTTP/2 preface',
    () => ({
      ...refuse({
        method: '',
        target: '',
        headers: [],
        body: null,
        raw: Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      }),
      mayClose: true,
    }),
  ],
];

// ---- apiUrl (SSRF) -----------------------------------------------------------------------------

/** A signed Storeganise event for a real customer whose `apiUrl` is replaced. */
const withApiUrl =
  (expect: Expectation, apiUrl: (account: FuzzAccount, g: Gen) => string): Mutation =>
  (g) => {
    const account = accountOf(g);
    const event = { ...storeganiseUserEvent(g, account), apiUrl: apiUrl(account, g) };
    return { expect, request: storeganiseRequest(g, json(event)) };
  };

const parts = (account: FuzzAccount): { origin: string; host: string; port: string; sub: string; path: string } => {
  const url = new URL(account.apiUrl);
  return { origin: url.origin, host: url.hostname, port: url.port, sub: account.subdomain, path: url.pathname };
};

const apiUrls: Array<[string, Mutation]> = [
  ['the trap host', withApiUrl('refuse', (a, g) => `${g.t.trapOrigin}${parts(a).path}`)],
  ['localhost', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', 'localhost'))],
  ['127.0.0.2', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '127.0.0.2'))],
  ['IPv6 loopback', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '[::1]'))],
  ['IPv4-mapped IPv6', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '[::ffff:127.0.0.1]'))],
  ['0.0.0.0', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '0.0.0.0'))],
  ['evil.example', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', 'evil.example'))],
  ['userinfo', withApiUrl('refuse', (a) => a.apiUrl.replace('://', '://user:pass@'))],
  [
    'userinfo naming the host',
    withApiUrl(
      'refuse',
      (a, g) => `http://${parts(a).host}:${parts(a).port}@${new URL(g.t.trapOrigin).host}${parts(a).path}`,
    ),
  ],
  [
    'fragment hiding the host',
    withApiUrl('refuse', (a, g) => `${g.t.trapOrigin}#@${parts(a).host}:${parts(a).port}${parts(a).path}`),
  ],
  [
    'backslash before @',
    withApiUrl(
      'refuse',
      (a, g) => `http://${parts(a).host}:${parts(a).port}\\@${new URL(g.t.trapOrigin).host}${parts(a).path}`,
    ),
  ],
  ['a tab in the host', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '127.0.\t0.1'))],
  [
    'a newline in the port',
    withApiUrl('refuse', (a) =>
      a.apiUrl.replace(`:${parts(a).port}`, `:${parts(a).port.slice(0, 2)}\n${parts(a).port.slice(2)}`),
    ),
  ],
  ['backslashes', withApiUrl('refuse', (a) => a.apiUrl.replaceAll('/', '\\'))],
  ['no port', withApiUrl('refuse', (a) => a.apiUrl.replace(`:${parts(a).port}`, ''))],
  ['port 80', withApiUrl('refuse', (a) => a.apiUrl.replace(`:${parts(a).port}`, ':80'))],
  ['port 0', withApiUrl('refuse', (a) => a.apiUrl.replace(`:${parts(a).port}`, ':0'))],
  ['port out of range', withApiUrl('refuse', (a) => a.apiUrl.replace(`:${parts(a).port}`, ':65536'))],
  ['another port', withApiUrl('refuse', (a) => a.apiUrl.replace(`:${parts(a).port}`, `:${Number(parts(a).port) + 1}`))],
  [
    'subdomain in capitals',
    withApiUrl('refuse', (a) => a.apiUrl.replace(`/${a.subdomain}/`, `/${a.subdomain.toUpperCase()}/`)),
  ],
  ['path in capitals', withApiUrl('refuse', (a) => a.apiUrl.replace(/\/api$/, '/API'))],
  ['path in mixed case', withApiUrl('refuse', (a) => a.apiUrl.replace(/\/api$/, '/Api/'))],
  ['./ segment', withApiUrl('refuse', (a) => a.apiUrl.replace(/\/api$/, '/./api'))],
  ['../ segment', withApiUrl('refuse', (a) => `${parts(a).origin}/x/..${parts(a).path}`)],
  ['trailing /..', withApiUrl('refuse', (a) => `${a.apiUrl}/..`)],
  ['trailing /.', withApiUrl('refuse', (a) => `${a.apiUrl}/.`)],
  ['%2e segment', withApiUrl('refuse', (a) => `${parts(a).origin}/%2e${parts(a).path}`)],
  ['%2e%2e segment', withApiUrl('refuse', (a) => `${parts(a).origin}/x/%2e%2e${parts(a).path}`)],
  ['encoded letter', withApiUrl('refuse', (a) => a.apiUrl.replace(/\/api$/, '/%61pi'))],
  ['encoded slash', withApiUrl('refuse', (a) => a.apiUrl.replace(/\/api$/, '%2Fapi'))],
  ['encoded NUL', withApiUrl('refuse', (a) => `${a.apiUrl}%00`)],
  ['raw NUL', withApiUrl('refuse', (a) => `${a.apiUrl}\u0000`)],
  ['a tab inside', withApiUrl('refuse', (a) => a.apiUrl.replace('/api', '/a\tpi'))],
  ['a newline inside', withApiUrl('refuse', (a) => a.apiUrl.replace('/api', '/a\npi'))],
  ['leading space', withApiUrl('refuse', (a) => ` ${a.apiUrl}`)],
  ['trailing space', withApiUrl('refuse', (a) => `${a.apiUrl} `)],
  ['query', withApiUrl('refuse', (a, g) => `${a.apiUrl}?${pick(g.r, ['', 'x=1', 'url=http://evil.example'])}`)],
  ['fragment', withApiUrl('refuse', (a) => `${a.apiUrl}#frag`)],
  ['deeper path', withApiUrl('refuse', (a) => `${a.apiUrl}/v1/admin`)],
  ['https', withApiUrl('refuse', (a) => a.apiUrl.replace('http:', 'https:'))],
  [
    'other schemes',
    withApiUrl('refuse', (a, g) =>
      a.apiUrl.replace('http:', pick(g.r, ['ftp:', 'file:', 'gopher:', 'ws:', 'javascript:'])),
    ),
  ],
  ['one slash', withApiUrl('refuse', (a) => a.apiUrl.replace('://', ':/'))],
  ['no scheme', withApiUrl('refuse', (a) => a.apiUrl.replace('http:', ''))],
  ['fullwidth host', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', 'ｌｏｃａｌｈｏｓｔ'))],
  ['3,000 characters', withApiUrl('refuse', (a) => `${a.apiUrl}${'/x'.repeat(1_500)}`)],
  ['empty', withApiUrl('refuse', () => '')],
  ["another account's apiUrl", withApiUrl('refuse', (a, g) => otherAccount(g, a).apiUrl)],
  [
    'an account nobody has',
    withApiUrl('refuse', (a, g) => a.apiUrl.replace(`/${a.subdomain}/`, `/${subdomainTag(g.n)}/`)),
  ],
  [
    'scheme and host in capitals',
    withApiUrl('either', (a) => a.apiUrl.replace('http://127.0.0.1', 'HTTP://127.0.0.1')),
  ],
  ['trailing slash', withApiUrl('either', (a) => `${a.apiUrl}/`)],
  ['decimal IPv4', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '2130706433'))],
  ['hex IPv4', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '0x7f000001'))],
  ['short IPv4', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '127.1'))],
  ['octal IPv4', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '0177.0.0.1'))],
  ['fullwidth digits', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '１２７.０.０.１'))],
  ['empty userinfo', withApiUrl('refuse', (a) => a.apiUrl.replace('://', '://@'))],
  ['a trailing dot on the host', withApiUrl('refuse', (a) => a.apiUrl.replace('127.0.0.1', '127.0.0.1.'))],
  [
    "another account's add-on id",
    (g) => {
      const account = accountOf(g);
      return refuse(
        storeganiseRequest(g, json({ ...storeganiseUserEvent(g, account), addonId: otherAccount(g, account).addonId })),
      );
    },
  ],
  [
    'an add-on id nobody has',
    (g) => refuse(storeganiseRequest(g, json({ ...storeganiseUserEvent(g), addonId: hex(g.r, 24) }))),
  ],
  [
    'an activation for an account nobody has',
    (g) =>
      refuse(
        storeganiseRequest(
          g,
          json({
            ...storeganiseUserEvent(g),
            type: 'addon.installed',
            data: {},
            apiUrl: accountOf(g).apiUrl.replace(`/${accountOf(g).subdomain}/`, `/${subdomainTag(g.n)}/`),
            addonId: hex(g.r, 24),
          }),
        ),
      ),
  ],
];

// ---- OAuth -------------------------------------------------------------------------------------

const authorize = (query: string): WireRequest => bare('GET', `/oauth/zendesk/authorize${query}`);
const callback = (query: string): WireRequest => bare('GET', `/oauth/zendesk/callback${query}`);
const q = encodeURIComponent;

function tampered(g: Gen, state: string): string {
  const at = Math.floor(g.r() * state.length);
  switch (Math.floor(g.r() * 5)) {
    case 0:
      return `${state.slice(0, at)}${state[at] === 'A' ? 'B' : 'A'}${state.slice(at + 1)}`;
    case 1:
      return state.slice(0, at);
    case 2:
      return `${state}${hex(g.r, 4)}`;
    case 3:
      return state.split('').reverse().join('');
    default:
      return Buffer.from(state).toString('base64');
  }
}

const oauth: Array<[string, Mutation]> = [
  ['authorize without an account', () => refuse(authorize(''))],
  ['authorize, empty account', () => refuse(authorize('?account='))],
  ['authorize, unknown account', (g) => refuse(authorize(`?account=${subdomainTag(g.n)}`))],
  [
    'authorize, account twice',
    (g) => refuse(authorize(`?account=${accountOf(g).subdomain}&account=${otherAccount(g, accountOf(g)).subdomain}`)),
  ],
  ['authorize, account as an array', (g) => refuse(authorize(`?account[]=${accountOf(g).subdomain}`))],
  ['authorize, account as an object', (g) => refuse(authorize(`?account[x]=${accountOf(g).subdomain}`))],
  ['authorize, bad escape', () => refuse(authorize('?account=%zz'))],
  [
    'authorize, hostile account',
    (g) => refuse(authorize(`?account=${q(hostile(g.r).toWellFormed().slice(0, 2_000))}`)),
  ],
  ['authorize, dot segments', () => refuse(authorize('?account=..%2F..%2Foperator'))],
  ['authorize, known account', (g) => either(authorize(`?account=${accountOf(g).subdomain}`))],
  [
    'authorize, known account in capitals',
    (g) => either(authorize(`?account=${accountOf(g).subdomain.toUpperCase()}`)),
  ],
  ['callback without a state', () => refuse(callback('?code=abc'))],
  ['callback, garbage state', (g) => refuse(callback(`?state=${hex(g.r, 40)}&code=abc`))],
  [
    'callback, tampered state',
    (g) => refuse(callback(`?state=${q(tampered(g, pick(g.r, g.t.oauthStates)))}&code=abc`)),
  ],
  ['callback, a state sealed elsewhere', (g) => refuse(callback(`?state=${q(g.t.foreignState)}&code=abc`))],
  [
    'callback, genuine state and a made-up code',
    (g) => refuse(callback(`?state=${q(pick(g.r, g.t.oauthStates))}&code=${hex(g.r, 16)}`)),
  ],
  ['callback, genuine state and no code', (g) => refuse(callback(`?state=${q(pick(g.r, g.t.oauthStates))}`))],
  [
    'callback, genuine state and an error',
    (g) =>
      refuse(
        callback(
          `?state=${q(pick(g.r, g.t.oauthStates))}&error=access_denied&error_description=${q(hostile(g.r).toWellFormed().slice(0, 500))}`,
        ),
      ),
  ],
  [
    'callback, genuine state twice',
    (g) => refuse(callback(`?state=${q(pick(g.r, g.t.oauthStates))}&state=${q(pick(g.r, g.t.oauthStates))}&code=abc`)),
  ],
  ['callback, code as an array', (g) => refuse(callback(`?state=${q(pick(g.r, g.t.oauthStates))}&code[]=a&code[]=b`))],
  ['callback, 8 kB state', (g) => refuse(callback(`?state=${'A'.repeat(pick(g.r, [4_000, 8_000]))}&code=abc`))],
  [
    'callback, JSON state',
    () => refuse(callback(`?state=${q('{"account":"x","nonce":"n","expiresAt":9e15,"verifier":"v"}')}&code=abc`)),
  ],
  ['POST callback', (g) => refuse({ ...callback(`?state=${q(pick(g.r, g.t.oauthStates))}&code=abc`), method: 'POST' })],
];

// ---- operator and codec --------------------------------------------------------------------------

function codecRequest(
  g: Gen,
  options: { target?: string; body?: Buffer | string; contentType?: string; headers?: Array<[string, string]> },
): WireRequest {
  const body = options.body ?? g.t.codecBody;
  return {
    method: 'POST',
    target: options.target ?? `/codec/t/${g.t.operatorToken}/decode`,
    headers: [['Content-Type', options.contentType ?? 'application/json'], ...(options.headers ?? [])],
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  };
}

const operator = (g: Gen, method: string, path: string, authorization: string | null): WireRequest =>
  bare(method, path, authorization === null ? [] : [['Authorization', authorization]]);

const noForeignCors = (answer: WireAnswer): string | null =>
  answer.headers['access-control-allow-origin'] !== undefined ||
  answer.headers['access-control-allow-credentials'] !== undefined
    ? 'CORS granted to a foreign origin'
    : null;

const WRONG_AUTHORIZATION = (g: Gen): string | null =>
  pick(g.r, [
    null,
    '',
    'Bearer',
    'Bearer ',
    `Bearer  ${g.t.operatorToken}`,
    `Bearer ${g.t.operatorToken} x`,
    `Bearer ${g.t.operatorToken.slice(0, -1)}`,
    `Bearer ${g.t.operatorToken}x`,
    `Basic ${Buffer.from(`operator:${g.t.operatorToken}`).toString('base64')}`,
    `Token ${g.t.operatorToken}`,
    `Bearer=${g.t.operatorToken}`,
    `Bearer ${'a'.repeat(600)}`,
    `Bearer ${g.t.operatorToken},Bearer ${g.t.operatorToken}`,
    `Bearer ${g.t.operatorToken}\u00e9`,
  ]);

const operatorCodec: Array<[string, Mutation]> = [
  [
    'operator GET, wrong credentials',
    (g) => refuse(operator(g, 'GET', `/operator/accounts/${accountOf(g).subdomain}`, WRONG_AUTHORIZATION(g))),
  ],
  [
    'operator GET, token in the query',
    (g) =>
      refuse(
        operator(
          g,
          'GET',
          `/operator/accounts/${accountOf(g).subdomain}?token=${g.t.operatorToken}&access_token=${g.t.operatorToken}`,
          null,
        ),
      ),
  ],
  [
    'operator GET, token in the path',
    (g) => refuse(operator(g, 'GET', `/operator/${g.t.operatorToken}/accounts/${accountOf(g).subdomain}`, null)),
  ],
  [
    'operator GET, token as a cookie',
    (g) =>
      refuse({
        ...operator(g, 'GET', `/operator/accounts/${accountOf(g).subdomain}`, null),
        headers: [['Cookie', `token=${g.t.operatorToken}`]],
      }),
  ],
  [
    'operator GET',
    (g) => either(operator(g, 'GET', `/operator/accounts/${accountOf(g).subdomain}`, `Bearer ${g.t.operatorToken}`)),
  ],
  [
    'operator GET, unknown account',
    (g) => refuse(operator(g, 'GET', `/operator/accounts/${subdomainTag(g.n)}`, `Bearer ${g.t.operatorToken}`)),
  ],
  ...['..', '%2e%2e', '%zz', 'A%2FB', '%C3%A9', 'a'.repeat(100), '-x'].map((sub): [string, Mutation] => [
    `operator GET, subdomain ${sub.slice(0, 12)}`,
    (g) => refuse(operator(g, 'GET', `/operator/accounts/${sub}`, `Bearer ${g.t.operatorToken}`)),
  ]),
  ...['..', '.', '%2e%2e', 'a%2Fb', '%zz', '..%2F..', 'x'.repeat(65), '%00'].map((id): [string, Mutation] => [
    `resync, user ${id.slice(0, 12)}`,
    (g) =>
      refuse(
        operator(
          g,
          'POST',
          `/operator/accounts/${accountOf(g).subdomain}/customers/${id}/resync`,
          `Bearer ${g.t.operatorToken}`,
        ),
      ),
  ]),
  [
    'resync, a user nobody has',
    (g) =>
      refuse(
        operator(
          g,
          'POST',
          `/operator/accounts/${accountOf(g).subdomain}/customers/${userTag(g.n)}/resync`,
          `Bearer ${g.t.operatorToken}`,
        ),
      ),
  ],
  [
    'resync, wrong credentials',
    (g) =>
      refuse(
        operator(
          g,
          'POST',
          `/operator/accounts/${accountOf(g).subdomain}/customers/${customerOf(g, accountOf(g)).sgId}/resync`,
          WRONG_AUTHORIZATION(g),
        ),
      ),
  ],
  [
    'resync',
    (g) => {
      const account = accountOf(g);
      return either(
        operator(
          g,
          'POST',
          `/operator/accounts/${account.subdomain}/customers/${customerOf(g, account).sgId}/resync`,
          `Bearer ${g.t.operatorToken}`,
        ),
      );
    },
  ],
  [
    'recheck-settings, wrong credentials',
    (g) =>
      refuse(
        operator(g, 'POST', `/operator/accounts/${accountOf(g).subdomain}/recheck-settings`, WRONG_AUTHORIZATION(g)),
      ),
  ],
  [
    'recheck-settings',
    (g) =>
      either(
        operator(
          g,
          'POST',
          `/operator/accounts/${accountOf(g).subdomain}/recheck-settings`,
          `Bearer ${g.t.operatorToken}`,
        ),
      ),
  ],
  // Never with the right token: it would stop the account syncing.
  [
    'disconnect, wrong credentials',
    (g) =>
      refuse(operator(g, 'POST', `/operator/accounts/${accountOf(g).subdomain}/disconnect`, WRONG_AUTHORIZATION(g))),
  ],
  [
    'disconnect, GET',
    (g) =>
      refuse(
        operator(g, 'GET', `/operator/accounts/${accountOf(g).subdomain}/disconnect`, `Bearer ${g.t.operatorToken}`),
      ),
  ],
  [
    'operator with a body',
    (g) =>
      refuse({
        ...operator(g, 'POST', `/operator/accounts/${accountOf(g).subdomain}/disconnect`, null),
        body: Buffer.from('{"confirm":true}'),
        headers: [['Content-Type', 'application/json']],
      }),
  ],
  ['codec decode', (g) => either(codecRequest(g, {}))],
  [
    'codec encode',
    (g) =>
      either(
        codecRequest(g, {
          target: `/codec/t/${g.t.operatorToken}/encode`,
          body: '{"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"IngiCg=="}]}',
        }),
      ),
  ],
  [
    'codec with the header token',
    (g) =>
      either(codecRequest(g, { target: '/codec/decode', headers: [['Authorization', `Bearer ${g.t.operatorToken}`]] })),
  ],
  ['codec without a token', (g) => refuse(codecRequest(g, { target: '/codec/decode' }))],
  [
    'codec, wrong header token',
    (g) =>
      refuse(
        codecRequest(g, {
          target: '/codec/encode',
          headers: [['Authorization', WRONG_AUTHORIZATION(g) ?? 'Bearer x']],
        }),
      ),
  ],
  [
    'codec, wrong path token',
    (g) =>
      refuse(
        codecRequest(g, {
          target: `/codec/t/${pick(g.r, [g.t.operatorToken.slice(1), `${g.t.operatorToken}x`, 'x', hex(g.r, 32)])}/decode`,
        }),
      ),
  ],
  ['codec, empty path token', (g) => refuse(codecRequest(g, { target: '/codec/t//decode' }))],
  [
    'codec, path token with a bad escape',
    (g) => refuse(codecRequest(g, { target: `/codec/t/${g.t.operatorToken}%zz/decode` })),
  ],
  [
    'codec, encoded path token',
    (g) =>
      either(
        codecRequest(g, {
          target: `/codec/t/${g.t.operatorToken.replace(/[a-z]/, (c) => `%${c.charCodeAt(0).toString(16)}`)}/decode`,
        }),
      ),
  ],
  [
    'codec, unknown operation',
    (g) =>
      refuse(
        codecRequest(g, {
          target: `/codec/t/${g.t.operatorToken}/${pick(g.r, ['decrypt', 'decode/x', '..', 'encode%00', 'decode.json'])}`,
        }),
      ),
  ],
  ['codec, operation in capitals', (g) => either(codecRequest(g, { target: `/codec/t/${g.t.operatorToken}/DECODE` }))],
  ...[
    '',
    '{"payloads":',
    'null',
    '[]',
    '{}',
    '{"payloads":5}',
    '{"payloads":[5]}',
    '{"payloads":[{"data":5}]}',
    '{"payloads":[{"data":"###"}]}',
    '{"payloads":[{"data":"AAAA-_8="}]}',
    '{"payloads":[{"metadata":{"encoding":5}}]}',
    '{"payloads":[{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA=="},"data":"AAAA"}]}',
    '{"payloads":[{"metadata":{"encoding":"YmluYXJ5L2VuY3J5cHRlZA==","encryption-key-id":"bm9rZXk="},"data":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}]}',
    '{"payloads":[{"data":"AA\\ud800A"}]}',
  ].map((body): [string, Mutation] => [`codec body ${body.slice(0, 40)}`, (g) => refuse(codecRequest(g, { body }))]),
  [
    'codec, 50,000 payloads',
    (g) =>
      refuse(
        codecRequest(g, {
          body: JSON.stringify({ payloads: Array.from({ length: 50_000 }, () => ({ data: '###' })) }),
        }),
      ),
  ],
  [
    'codec, tampered payload',
    (g) =>
      refuse(
        codecRequest(g, {
          body: g.t.codecBody.replace(/"data":"(.)/, (_m, c: string) => `"data":"${c === 'A' ? 'B' : 'A'}`),
        }),
      ),
  ],
  [
    'codec preflight, foreign origin',
    (g) => ({
      ...either({
        ...bare('OPTIONS', `/codec/t/${g.t.operatorToken}/decode`),
        headers: [
          [
            'Origin',
            pick(g.r, [
              'https://evil.example',
              'null',
              `${g.t.webUiOrigin}.evil.example`,
              `${g.t.webUiOrigin}/`,
              g.t.webUiOrigin.replace('localhost', '127.0.0.1'),
            ]),
          ],
          ['Access-Control-Request-Method', 'POST'],
        ],
      }),
      check: noForeignCors,
    }),
  ],
  [
    'codec call, foreign origin',
    (g) => ({ ...either(codecRequest(g, { headers: [['Origin', 'https://evil.example']] })), check: noForeignCors }),
  ],
  [
    'codec preflight, the Web UI',
    (g) => ({
      ...either({
        ...bare('OPTIONS', `/codec/t/${g.t.operatorToken}/decode`),
        headers: [
          ['Origin', g.t.webUiOrigin],
          ['Access-Control-Request-Method', 'POST'],
        ],
      }),
      check: (answer) =>
        answer.headers['access-control-allow-origin'] === g.t.webUiOrigin ? null : 'CORS not granted to the Web UI',
    }),
  ],
];

// ---- hostile Unicode in correctly signed events --------------------------------------------------

/** `expect` for a value placed in an id field with `pattern`. */
const asId = (value: string, pattern: RegExp): Expectation => (pattern.test(value) ? 'either' : 'refuse');

const unicode: Array<[string, Mutation]> = [
  [
    'sg: event id',
    (g) => {
      const id = `${eventTag(g.n)}${hostile(g.r)}`;
      return { expect: asId(id, EVENT_ID), request: storeganiseRequest(g, json({ ...storeganiseUserEvent(g), id })) };
    },
  ],
  [
    'sg: userId',
    (g) => {
      const userId = `${userTag(g.n)}${hostile(g.r)}`;
      return {
        expect: asId(userId, STOREGANISE_ID),
        request: storeganiseRequest(g, json(withData(storeganiseUserEvent(g), { userId, changedKeys: ['firstName'] }))),
      };
    },
  ],
  [
    'sg: addonId',
    (g) =>
      refuse(
        storeganiseRequest(g, json({ ...storeganiseUserEvent(g), addonId: `${accountOf(g).addonId}${hostile(g.r)}` })),
      ),
  ],
  [
    'sg: type',
    (g) => {
      const type = `user.updated${hostile(g.r)}`;
      return {
        expect: asId(type, EVENT_TYPE),
        request: storeganiseRequest(g, json({ ...storeganiseUserEvent(g), type })),
      };
    },
  ],
  [
    'sg: apiUrl',
    (g) =>
      refuse(
        storeganiseRequest(g, json({ ...storeganiseUserEvent(g), apiUrl: `${accountOf(g).apiUrl}${hostile(g.r)}` })),
      ),
  ],
  [
    'sg: changed key',
    (g) => {
      const key = hostile(g.r);
      return {
        expect: key.length <= 200 ? 'either' : 'refuse',
        request: storeganiseRequest(
          g,
          json(
            withData(storeganiseUserEvent(g), {
              userId: customerOf(g, accountOf(g)).sgId,
              changedKeys: ['firstName', key],
            }),
          ),
        ),
      };
    },
  ],
  [
    'sg: created',
    (g) => {
      const created = hostile(g.r);
      return {
        expect: created.length <= 64 ? 'either' : 'refuse',
        request: storeganiseRequest(g, json({ ...storeganiseUserEvent(g), created })),
      };
    },
  ],
  [
    'sg: raw bytes in the event id',
    (g) =>
      refuse(
        storeganiseRequest(
          g,
          withBytes(
            JSON.stringify({ ...storeganiseUserEvent(g), id: `${eventTag(g.n)}@@` }),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
  [
    'sg: raw bytes in the userId',
    (g) =>
      refuse(
        storeganiseRequest(
          g,
          withBytes(
            JSON.stringify(
              withData(storeganiseUserEvent(g), { userId: `${userTag(g.n)}@@`, changedKeys: ['firstName'] }),
            ),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
  [
    'sg: raw bytes in a changed key',
    (g) =>
      either(
        storeganiseRequest(
          g,
          withBytes(
            JSON.stringify(
              withData(storeganiseUserEvent(g), {
                userId: customerOf(g, accountOf(g)).sgId,
                changedKeys: ['firstName', 'k@@'],
              }),
            ),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
  [
    'zd: event id',
    (g) => {
      const id = `${eventTag(g.n)}${hostile(g.r)}`;
      const account = accountOf(g);
      return {
        expect: asId(id, EVENT_ID),
        request: zendeskRequest(g, account, json({ ...zendeskUnknownUserEvent(g), id })),
      };
    },
  ],
  [
    'zd: detail.id',
    (g) =>
      refuse(
        zendeskRequest(
          g,
          accountOf(g),
          json(withDetail(zendeskUnknownUserEvent(g), { id: `${zendeskUserTag(g.n)}${hostile(g.r)}` })),
        ),
      ),
  ],
  [
    'zd: type',
    (g) => {
      const type = `zen:event-type:user.name_changed${hostile(g.r)}`;
      return {
        expect: asId(type, EVENT_TYPE),
        request: zendeskRequest(g, accountOf(g), json({ ...zendeskUnknownUserEvent(g), type })),
      };
    },
  ],
  ...(['external_id', 'email'] as const).map((field): [string, Mutation] => [
    `zd: ${field}`,
    (g) => {
      const account = accountOf(g);
      const event = chance(g.r, 0.3) ? zendeskNameEvent(g, account) : zendeskUnknownUserEvent(g);
      return either(zendeskRequest(g, account, json(withDetail(event, { [field]: hostile(g.r) }))));
    },
  ]),
  [
    'zd: name',
    (g) => {
      const account = accountOf(g);
      const event = chance(g.r, 0.3) ? zendeskNameEvent(g, account) : zendeskUnknownUserEvent(g);
      return either(
        zendeskRequest(g, account, json({ ...event, event: { current: hostile(g.r), previous: hostile(g.r) } })),
      );
    },
  ],
  [
    'zd: identity value',
    (g) => {
      const account = accountOf(g);
      const value = hostile(g.r);
      return either(
        zendeskRequest(
          g,
          account,
          json({
            ...zendeskUnknownUserEvent(g),
            type: 'zen:event-type/user.identity_changed',
            event: {
              current: { id: 1, type: pick(g.r, ['email', 'phone_number', hostile(g.r)]), value, primary: true },
              previous: { id: 1, type: 'email', value: 'a@example.com', primary: true },
            },
          }),
        ),
      );
    },
  ],
  [
    'zd: subject',
    (g) => {
      const subject = `zen:user:${hostile(g.r)}`;
      return {
        expect: subject.length <= 256 ? 'either' : 'refuse',
        request: zendeskRequest(g, accountOf(g), json({ ...zendeskUnknownUserEvent(g), subject })),
      };
    },
  ],
  [
    'zd: account_id',
    (g) => {
      const value = hostile(g.r);
      return {
        expect: value.length <= 64 ? 'either' : 'refuse',
        request: zendeskRequest(g, accountOf(g), json({ ...zendeskUnknownUserEvent(g), account_id: value })),
      };
    },
  ],
  [
    'zd: time',
    (g) => {
      const time = hostile(g.r);
      return {
        expect: time.length <= 64 ? 'either' : 'refuse',
        request: zendeskRequest(g, accountOf(g), json({ ...zendeskUnknownUserEvent(g), time })),
      };
    },
  ],
  [
    'zd: raw bytes in the event id',
    (g) =>
      refuse(
        zendeskRequest(
          g,
          accountOf(g),
          withBytes(
            JSON.stringify({ ...zendeskUnknownUserEvent(g), id: `${eventTag(g.n)}@@` }),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
  [
    'zd: raw bytes in the name',
    (g) =>
      either(
        zendeskRequest(
          g,
          accountOf(g),
          withBytes(
            JSON.stringify({ ...zendeskUnknownUserEvent(g), event: { current: 'Raw @@ Bytes' } }),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
  [
    'zd: raw bytes in external_id',
    (g) =>
      either(
        zendeskRequest(
          g,
          accountOf(g),
          withBytes(
            JSON.stringify(withDetail(zendeskUnknownUserEvent(g), { external_id: 'ext@@' })),
            '@@',
            pick(g.r, RAW_BYTES),
          ),
        ),
      ),
  ],
];

// ---- valid ---------------------------------------------------------------------------------------

const valid: Array<[string, Mutation]> = [
  [
    'storeganise user.updated',
    (g) => ({ expect: 'accept', request: storeganiseRequest(g, json(storeganiseUserEvent(g))) }),
  ],
  [
    'zendesk user.name_changed',
    (g) => {
      const account = accountOf(g);
      return { expect: 'accept', request: zendeskRequest(g, account, json(zendeskNameEvent(g, account))) };
    },
  ],
];

const MUTATIONS: Record<FuzzClass, Array<[string, Mutation]>> = {
  signatures,
  bodies,
  encodings,
  routing,
  'api-url': apiUrls,
  oauth,
  'operator-codec': operatorCodec,
  unicode,
  valid,
};

/** How often each class of hostile request is drawn; valid events are interleaved at a fixed interval instead. */
const WEIGHTS: Record<Exclude<FuzzClass, 'valid'>, number> = {
  signatures: 14,
  bodies: 14,
  encodings: 11,
  routing: 12,
  'api-url': 12,
  oauth: 8,
  'operator-codec': 12,
  unicode: 13,
};

/** Requests that hold a connection for the server's whole request timeout: only a few per run. */
export const SLOW_CASES_MAX = 6;

/** The `n`th request of the run: every `validEvery`th a valid event, otherwise a mutation of a randomly drawn class. */
export function generateCase(n: number, r: Random, t: FuzzTarget, validEvery: number, slowSoFar: number): FuzzCase {
  const g: Gen = { n, r, t };
  let fuzzClass: FuzzClass = 'valid';
  if ((n + 1) % validEvery !== 0) {
    const total = Object.values(WEIGHTS).reduce((a, b) => a + b, 0);
    let draw = r() * total;
    for (const [name, weight] of Object.entries(WEIGHTS) as Array<[Exclude<FuzzClass, 'valid'>, number]>) {
      draw -= weight;
      if (draw < 0) {
        fuzzClass = name;
        break;
      }
    }
  }
  // A body that never arrives: answered 408 (or closed) by the server's request timeout.
  if (fuzzClass === 'encodings' && slowSoFar < SLOW_CASES_MAX && chance(r, 0.003)) {
    const request = {
      ...storeganiseRequest(g, json(storeganiseUserEvent(g))),
      contentLength: 5_000,
      withholdBody: true,
    };
    return { fuzzClass, label: 'a body that never comes', expect: 'refuse', request, timeoutMs: 40_000 };
  }
  const [label, mutate] = pick(r, MUTATIONS[fuzzClass]);
  const { timeoutMs, ...made } = mutate(g);
  return { fuzzClass, label, timeoutMs: timeoutMs ?? DEFAULT_TIMEOUT_MS, ...made };
}

/** The slow case is recognised by its label, so the runner can count them. */
export const isSlowCase = (c: FuzzCase): boolean => c.label === 'a body that never comes';

/** Text a person might type into a name, for the edits made through the sandboxes during the run. */
export const hostileName = (r: Random): string => hostile(r);

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { accountOf, HttpError, parseInput } from './http';
import { isoSeconds, type SandboxContext, type ZendeskAccount } from './state';
import type { TokenResponse } from './wire';

export const OAuthClientSchema = z.object({
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  /** Exact redirect URLs the client may use; empty accepts any. */
  redirectUris: z.array(z.url()).default([]),
  name: z.string().min(1).optional(),
});
export type OAuthClient = z.infer<typeof OAuthClientSchema>;

export type GrantOrigin = 'authorization_code' | 'refresh_token' | 'control';

export interface Grant {
  readonly id: number;
  readonly account: string;
  readonly clientId: string | null;
  readonly scopes: string[];
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly origin: GrantOrigin;
  readonly issuedAtMs: number;
  readonly expiresAtMs: number;
  readonly refreshExpiresAtMs: number;
  readonly rotatedFromId: number | null;
  /** When its refresh token was exchanged; the pair is dead from then on (rotation). */
  refreshedAtMs: number | null;
  revokedAtMs: number | null;
  lastUsedAtMs: number | null;
}

export interface RefreshAttempt {
  readonly atMs: number;
  readonly account: string;
  /** The grant the presented refresh token belonged to; null for a token the sandbox never issued. */
  readonly grantId: number | null;
  readonly outcome: 'rotated' | 'invalid_grant';
}

interface PendingConsent {
  readonly id: string;
  readonly account: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scopes: string[];
  readonly state: string | undefined;
  readonly codeChallenge: string | null;
}

interface AuthorizationCode extends Omit<PendingConsent, 'id' | 'state'> {
  readonly expiresAtMs: number;
  used: boolean;
}

const CODE_LIFETIME_MS = 120_000;
const REFRESH_LIFETIME_SECONDS = 30 * 24 * 3600;

function secretToken(): string {
  return randomBytes(32).toString('hex');
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** OAuth clients (sandbox-wide), consents, codes and token grants (per account). */
export class OAuthStore {
  readonly clients = new Map<string, OAuthClient>();
  private readonly consents = new Map<string, PendingConsent>();
  private readonly codes = new Map<string, AuthorizationCode>();
  private readonly grants: Grant[] = [];
  private readonly attempts: RefreshAttempt[] = [];
  private lastGrantId = 0;

  /** What outlives a restart: the clients and every grant. Consents and codes live two minutes and do not. */
  snapshot(): { clients: OAuthClient[]; grants: Grant[]; lastGrantId: number } {
    return {
      clients: [...this.clients.values()],
      grants: this.grants.map((g) => ({ ...g })),
      lastGrantId: this.lastGrantId,
    };
  }

  restore(saved: { clients: OAuthClient[]; grants: Grant[]; lastGrantId: number }): void {
    this.reset();
    for (const client of saved.clients) this.clients.set(client.clientId, client);
    this.grants.push(...saved.grants);
    this.lastGrantId = Math.max(saved.lastGrantId, ...saved.grants.map((g) => g.id));
  }

  reset(): void {
    this.clients.clear();
    this.consents.clear();
    this.codes.clear();
    this.grants.length = 0;
    this.attempts.length = 0;
  }

  issue(
    account: ZendeskAccount,
    clientId: string | null,
    scopes: string[],
    origin: GrantOrigin,
    requested: TokenLifetimes = {},
    rotatedFromId: number | null = null,
  ): Grant {
    const now = Date.now();
    // The account setting caps the lifetime so tests can force expiry whatever a client asks for.
    const expiresIn = Math.min(account.settings.accessTokenTtlSeconds, requested.expiresIn ?? Infinity);
    const refreshExpiresIn = Math.min(REFRESH_LIFETIME_SECONDS, requested.refreshExpiresIn ?? Infinity);
    const grant: Grant = {
      id: ++this.lastGrantId,
      account: account.subdomain,
      clientId,
      scopes,
      accessToken: secretToken(),
      refreshToken: secretToken(),
      origin,
      issuedAtMs: now,
      expiresAtMs: now + expiresIn * 1000,
      refreshExpiresAtMs: now + refreshExpiresIn * 1000,
      rotatedFromId,
      refreshedAtMs: null,
      revokedAtMs: null,
      lastUsedAtMs: null,
    };
    this.grants.push(grant);
    return grant;
  }

  /** A grant whose access token is live for this account, or undefined. */
  authenticate(account: string, accessToken: string): Grant | undefined {
    const now = Date.now();
    return this.grants.find(
      (g) => g.account === account && sameSecret(g.accessToken, accessToken) && isLive(g) && g.expiresAtMs > now,
    );
  }

  revoke(grant: Grant): void {
    grant.revokedAtMs ??= Date.now();
  }

  revokeAccount(account: string): number {
    const live = this.grants.filter((g) => g.account === account && isLive(g));
    for (const grant of live) this.revoke(grant);
    return live.length;
  }

  startConsent(consent: Omit<PendingConsent, 'id'>): PendingConsent {
    const pending = { ...consent, id: secretToken() };
    this.consents.set(pending.id, pending);
    return pending;
  }

  takeConsent(id: string, account: string): PendingConsent | undefined {
    const consent = this.consents.get(id);
    if (!consent || consent.account !== account) return undefined;
    this.consents.delete(id);
    return consent;
  }

  issueCode(consent: PendingConsent): string {
    const code = randomBytes(16).toString('hex');
    const { id: _id, state: _state, ...rest } = consent;
    this.codes.set(code, { ...rest, expiresAtMs: Date.now() + CODE_LIFETIME_MS, used: false });
    return code;
  }

  exchangeCode(account: ZendeskAccount, request: CodeTokenRequest): Grant {
    const client = this.authenticateClient(request.client_id, request.client_secret);
    const code = this.codes.get(request.code);
    if (!code || code.account !== account.subdomain || code.clientId !== client.clientId)
      throw invalidGrant('The authorization code is unknown');
    if (code.used) throw invalidGrant('The authorization code was already used');
    if (code.expiresAtMs < Date.now()) throw invalidGrant('The authorization code has expired');
    if (code.redirectUri !== request.redirect_uri)
      throw invalidGrant('redirect_uri does not match the authorization request');
    if (code.codeChallenge !== null) {
      const verifier = request.code_verifier ?? '';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (!sameSecret(computed, code.codeChallenge))
        throw invalidGrant('code_verifier does not match the code_challenge');
    }
    code.used = true;
    return this.issue(account, client.clientId, code.scopes, 'authorization_code', lifetimesOf(request));
  }

  /** Rotation: the presented pair dies and a new pair is issued; a dead refresh token is refused. */
  refresh(account: ZendeskAccount, request: RefreshTokenRequest): Grant {
    const client = this.authenticateClient(request.client_id, request.client_secret);
    const grant = this.grants.find(
      (g) => g.account === account.subdomain && sameSecret(g.refreshToken, request.refresh_token),
    );
    const now = Date.now();
    const usable =
      grant !== undefined && grant.clientId === client.clientId && isLive(grant) && grant.refreshExpiresAtMs > now;
    this.attempts.push({
      atMs: now,
      account: account.subdomain,
      grantId: grant?.id ?? null,
      outcome: usable ? 'rotated' : 'invalid_grant',
    });
    if (!usable) throw invalidGrant('The refresh token is invalid, expired, revoked or was already used');
    grant.refreshedAtMs = now;
    return this.issue(account, client.clientId, grant.scopes, 'refresh_token', lifetimesOf(request), grant.id);
  }

  grantsOf(account: string): Grant[] {
    return this.grants.filter((g) => g.account === account);
  }

  refreshAttemptsOf(account: string): RefreshAttempt[] {
    return this.attempts.filter((a) => a.account === account);
  }

  private authenticateClient(clientId: string, clientSecret: string | undefined): OAuthClient {
    const client = this.clients.get(clientId);
    if (!client || clientSecret === undefined || !sameSecret(client.clientSecret, clientSecret)) {
      throw new HttpError(401, {
        error: 'invalid_client',
        error_description: 'Client authentication failed: unknown client_id or wrong client_secret',
      });
    }
    return client;
  }
}

function isLive(grant: Grant): boolean {
  return grant.refreshedAtMs === null && grant.revokedAtMs === null;
}

interface TokenLifetimes {
  expiresIn?: number | undefined;
  refreshExpiresIn?: number | undefined;
}

function lifetimesOf(request: {
  expires_in?: number | undefined;
  refresh_token_expires_in?: number | undefined;
}): TokenLifetimes {
  return { expiresIn: request.expires_in, refreshExpiresIn: request.refresh_token_expires_in };
}

function invalidGrant(description: string): HttpError {
  return new HttpError(400, { error: 'invalid_grant', error_description: description });
}

export function tokenResponse(grant: Grant): TokenResponse {
  return {
    access_token: grant.accessToken,
    token_type: 'bearer',
    scope: grant.scopes.join(' '),
    expires_in: Math.round((grant.expiresAtMs - grant.issuedAtMs) / 1000),
    refresh_token: grant.refreshToken,
    refresh_token_expires_in: Math.round((grant.refreshExpiresAtMs - grant.issuedAtMs) / 1000),
  };
}

// --- The /oauth endpoints of an account -----------------------------------------------------------

const lifetime = z.coerce.number().int().min(1).optional();
const CodeTokenRequestSchema = z.object({
  grant_type: z.literal('authorization_code'),
  code: z.string().min(1),
  client_id: z.string().min(1),
  client_secret: z.string().optional(),
  redirect_uri: z.string().min(1),
  code_verifier: z.string().optional(),
  scope: z.string().optional(),
  expires_in: lifetime,
  refresh_token_expires_in: lifetime,
});
type CodeTokenRequest = z.infer<typeof CodeTokenRequestSchema>;

const RefreshTokenRequestSchema = z.object({
  grant_type: z.literal('refresh_token'),
  refresh_token: z.string().min(1),
  client_id: z.string().min(1),
  client_secret: z.string().optional(),
  scope: z.string().optional(),
  expires_in: lifetime,
  refresh_token_expires_in: lifetime,
});
type RefreshTokenRequest = z.infer<typeof RefreshTokenRequestSchema>;

const AuthorizeQuerySchema = z.object({
  response_type: z.string(),
  client_id: z.string().min(1),
  redirect_uri: z.url(),
  scope: z.string().default('read'),
  state: z.string().optional(),
  code_challenge: z.string().min(43).max(128).optional(),
  code_challenge_method: z.string().optional(),
});

const ConsentFormSchema = z.object({ consent_id: z.string().min(1), decision: z.enum(['allow', 'deny']) });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function htmlError(status: number, message: string): HttpError {
  return new HttpError(
    status,
    `<!doctype html><html><head><title>Authorization error</title></head><body><h1>Authorization error</h1><p>${escapeHtml(message)}</p></body></html>`,
    'html',
  );
}

function redirectWith(redirectUri: string, params: Record<string, string | undefined>): string {
  const url = new URL(redirectUri);
  for (const [key, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

function consentPage(account: ZendeskAccount, client: OAuthClient, consent: PendingConsent): string {
  const scopes = consent.scopes.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join('');
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Allow access to ${escapeHtml(account.displayName)}</title></head>
<body style="font-family: sans-serif; max-width: 32rem; margin: 3rem auto">
<h1>${escapeHtml(client.name ?? client.clientId)} wants to access ${escapeHtml(account.displayName)}</h1>
<p>Zendesk sandbox account <strong>${escapeHtml(account.subdomain)}</strong>. Requested scopes:</p>
<ul>${scopes}</ul>
<form method="post" action="../authorizations">
<input type="hidden" name="consent_id" value="${escapeHtml(consent.id)}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
</body></html>`;
}

export function oauthRoutes(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/authorizations/new', (req, res) => {
    const account = accountOf(ctx, req);
    const query = parseInput(AuthorizeQuerySchema, req.query, (issues) =>
      htmlError(
        400,
        `Invalid authorization request: ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      ),
    );
    const client = ctx.oauth.clients.get(query.client_id);
    if (!client) throw htmlError(400, `Unknown OAuth client ${query.client_id}`);
    if (client.redirectUris.length > 0 && !client.redirectUris.includes(query.redirect_uri)) {
      throw htmlError(400, `The redirect URL ${query.redirect_uri} is not registered for this client`);
    }
    // From here on the redirect URL is trusted, so errors go back to the client as OAuth errors.
    const fail = (error: string, description: string): void =>
      res.redirect(
        302,
        redirectWith(query.redirect_uri, { error, error_description: description, state: query.state }),
      );
    if (query.response_type !== 'code')
      return fail('unsupported_response_type', 'Only response_type=code is supported');
    if (query.code_challenge !== undefined && query.code_challenge_method !== 'S256') {
      return fail('invalid_request', 'code_challenge_method must be S256');
    }
    const consent = ctx.oauth.startConsent({
      account: account.subdomain,
      clientId: client.clientId,
      redirectUri: query.redirect_uri,
      scopes: query.scope.split(/\s+/).filter((s) => s !== ''),
      state: query.state,
      codeChallenge: query.code_challenge ?? null,
    });
    if (account.settings.autoApprove) {
      ctx.oauth.takeConsent(consent.id, account.subdomain);
      return res.redirect(
        302,
        redirectWith(consent.redirectUri, { code: ctx.oauth.issueCode(consent), state: consent.state }),
      );
    }
    res.type('html').send(consentPage(account, client, consent));
  });

  router.post('/authorizations', (req, res) => {
    const account = accountOf(ctx, req);
    const form = parseInput(ConsentFormSchema, req.body, () => htmlError(400, 'Invalid consent form'));
    const consent = ctx.oauth.takeConsent(form.consent_id, account.subdomain);
    if (!consent) throw htmlError(400, 'This authorization request is unknown or was already answered');
    const params =
      form.decision === 'allow'
        ? { code: ctx.oauth.issueCode(consent), state: consent.state }
        : { error: 'access_denied', error_description: 'The user denied access', state: consent.state };
    res.redirect(302, redirectWith(consent.redirectUri, params));
  });

  router.post('/tokens', (req, res) => {
    const account = accountOf(ctx, req);
    const invalidRequest = (issues: readonly z.core.$ZodIssue[]): HttpError =>
      new HttpError(400, {
        error: 'invalid_request',
        error_description: issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    const grantType = parseInput(z.object({ grant_type: z.string() }), req.body, invalidRequest).grant_type;
    let grant: Grant;
    if (grantType === 'authorization_code') {
      grant = ctx.oauth.exchangeCode(account, parseInput(CodeTokenRequestSchema, req.body, invalidRequest));
    } else if (grantType === 'refresh_token') {
      grant = ctx.oauth.refresh(account, parseInput(RefreshTokenRequestSchema, req.body, invalidRequest));
    } else {
      throw new HttpError(400, {
        error: 'unsupported_grant_type',
        error_description: `grant_type ${grantType} is not supported`,
      });
    }
    res.set('Cache-Control', 'no-store').json(tokenResponse(grant));
  });

  return router;
}

// --- Bearer authentication of /api/v2 ---------------------------------------------------------------

const grantsByRequest = new WeakMap<Request, Grant>();

const INVALID_TOKEN = {
  error: 'invalid_token',
  error_description: 'The access token provided is expired, revoked, malformed or invalid for other reasons.',
};

const FORBIDDEN = {
  error: 'Forbidden',
  description:
    'You do not have access to this page. Please contact the account owner of this help desk for further help.',
};

export function authenticate(ctx: SandboxContext) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const account = accountOf(ctx, req);
    const token = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '')?.[1];
    const grant = token === undefined ? undefined : ctx.oauth.authenticate(account.subdomain, token);
    if (!grant) throw new HttpError(401, INVALID_TOKEN);
    grant.lastUsedAtMs = Date.now();
    grantsByRequest.set(req, grant);
    next();
  };
}

/** Reads need `read` or `<resource>:read`; everything else `write` or `<resource>:write`. */
export function requireScope(resource: 'users' | 'webhooks') {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const access = req.method === 'GET' || req.method === 'HEAD' ? 'read' : 'write';
    const scopes = grantsByRequest.get(req)?.scopes ?? [];
    if (!scopes.includes(access) && !scopes.includes(`${resource}:${access}`)) throw new HttpError(403, FORBIDDEN);
    next();
  };
}

export function currentTokenApi(ctx: SandboxContext): Router {
  const router = Router();
  const currentGrant = (req: Request): Grant => {
    const grant = grantsByRequest.get(req);
    if (!grant) throw new HttpError(401, INVALID_TOKEN);
    return grant;
  };

  router.get('/oauth/tokens/current', (req, res) => {
    const account = accountOf(ctx, req);
    const grant = currentGrant(req);
    res.json({
      token: {
        id: grant.id,
        user_id: account.adminUserId,
        client_id: grant.clientId,
        token: grant.accessToken.slice(0, 10),
        refresh_token: null,
        scopes: grant.scopes,
        created_at: isoSeconds(grant.issuedAtMs),
        expires_at: isoSeconds(grant.expiresAtMs),
        used_at: grant.lastUsedAtMs === null ? null : isoSeconds(grant.lastUsedAtMs),
      },
    });
  });

  router.delete('/oauth/tokens/current', (req, res) => {
    ctx.oauth.revoke(currentGrant(req));
    res.status(204).end();
  });

  return router;
}

import type { ZendeskTokens } from '../adapters/zendesk';
import type { SealedGrant } from '../workflows/definitions';
import type { Keyring } from '../lib/crypto';

/** Seals the tokens of a Zendesk grant so they only ever exist in clear inside this process. */
export function sealGrant(keyring: Keyring, tokens: ZendeskTokens, issuedAt: number): SealedGrant {
  return {
    sealedAccessToken: keyring.seal(tokens.accessToken),
    sealedRefreshToken: tokens.refreshToken === null ? null : keyring.seal(tokens.refreshToken),
    issuedAt,
    accessExpiresAt: tokens.accessExpiresAt,
    refreshExpiresAt: tokens.refreshExpiresAt,
    scope: tokens.scope,
  };
}

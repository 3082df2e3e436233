import { ApplicationFailure } from '@temporalio/common';
import { InvalidId, NetworkError } from '../adapters/http';
import { StaleRead } from './converge';
import { StoreganiseRejected, StoreganiseUnauthorized, StoreganiseUnavailable } from '../adapters/storeganise';
import { FailureType } from '../workflows/definitions';
import { ZendeskGrantRefused, ZendeskRateLimited, ZendeskRejected, ZendeskUnauthorized, ZendeskUnavailable } from '../adapters/zendesk';


/** A Zendesk call was refused with the token of this version. */
export class ZendeskNotAuthorized extends Error {
  constructor(readonly tokenVersion: number) {
    super('Zendesk access is missing or was revoked');
    this.name = 'ZendeskNotAuthorized';
  }
}

/**
 * Turns adapter errors into Temporal failures: a 429 retries after exactly its Retry-After,
 * outages retry with backoff, and problems a person must fix are not retried at all.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ZendeskNotAuthorized) {
    return ApplicationFailure.create({ type: FailureType.zendeskUnauthorized, message: err.message, nonRetryable: true, details: [{ tokenVersion: err.tokenVersion }] });
  }
  if (err instanceof ZendeskRateLimited) {
    return ApplicationFailure.create({ type: FailureType.zendeskRateLimited, message: err.message, nextRetryDelay: `${err.retryAfterSeconds}s` });
  }
  if (err instanceof ZendeskUnavailable || err instanceof StoreganiseUnavailable || err instanceof NetworkError || err instanceof StaleRead) {
    return ApplicationFailure.create({ type: FailureType.unavailable, message: err.message });
  }
  if (err instanceof ZendeskRejected || err instanceof StoreganiseRejected || err instanceof ZendeskGrantRefused || err instanceof InvalidId) {
    return ApplicationFailure.create({ type: FailureType.rejected, message: err.message, nonRetryable: true });
  }
  if (err instanceof StoreganiseUnauthorized) {
    return ApplicationFailure.create({ type: FailureType.storeganiseUnauthorized, message: err.message, nonRetryable: true });
  }
  if (err instanceof ZendeskUnauthorized) {
    // Only reached outside `withZendesk`, which knows the token version; version 0 asks the account to re-check.
    return ApplicationFailure.create({ type: FailureType.zendeskUnauthorized, message: err.message, nonRetryable: true, details: [{ tokenVersion: 0 }] });
  }
  return err;
}

/** Wraps every function of an activity object so thrown adapter errors become typed failures. */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err);
      }
    };
  }
  return wrapped as T;
}

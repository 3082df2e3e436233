import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { InvalidId, NetworkError } from '../adapters/http';
import { StaleRead } from './converge';
import { StoreganiseRejected, StoreganiseUnauthorized, StoreganiseUnavailable } from '../adapters/storeganise';
import { FailureType } from '../workflows/definitions';
import {
  ZendeskGrantRefused,
  ZendeskRateLimited,
  ZendeskRejected,
  ZendeskUnauthorized,
  ZendeskUnavailable,
} from '../adapters/zendesk';

/**
 * How many attempts an error no rule below knows gets in a bounded activity (a customer's run)
 * before it stops retrying: such an error is a defect or a record the sync cannot handle, not an
 * outage, and the run then surfaces it as an admin task instead of retrying forever.
 */
export const UNEXPECTED_ATTEMPTS = 8;

/**
 * Turns adapter errors into Temporal failures: a 429 retries after exactly its Retry-After,
 * outages retry with backoff, problems a person must fix are not retried at all, and an
 * unexpected error retries `UNEXPECTED_ATTEMPTS` times when `bounded`, else with backoff.
 */
export function toFailure(err: unknown, attempt = 1, bounded = false): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof ZendeskRateLimited) {
    return ApplicationFailure.create({
      type: FailureType.zendeskRateLimited,
      message: err.message,
      nextRetryDelay: `${err.retryAfterSeconds}s`,
    });
  }
  if (
    err instanceof ZendeskUnavailable ||
    err instanceof StoreganiseUnavailable ||
    err instanceof NetworkError ||
    err instanceof StaleRead
  ) {
    return ApplicationFailure.create({ type: FailureType.unavailable, message: err.message });
  }
  if (
    err instanceof ZendeskRejected ||
    err instanceof StoreganiseRejected ||
    err instanceof ZendeskGrantRefused ||
    err instanceof InvalidId
  ) {
    return ApplicationFailure.create({ type: FailureType.rejected, message: err.message, nonRetryable: true });
  }
  if (err instanceof StoreganiseUnauthorized) {
    return ApplicationFailure.create({
      type: FailureType.storeganiseUnauthorized,
      message: err.message,
      nonRetryable: true,
    });
  }
  if (err instanceof ZendeskUnauthorized) {
    return ApplicationFailure.create({
      type: FailureType.zendeskUnauthorized,
      message: err.message,
      nonRetryable: true,
      details: [{ tokenVersion: err.tokenVersion }],
    });
  }
  const cause = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({
    type: FailureType.unexpected,
    message: `${cause.name}: ${cause.message}`,
    nonRetryable: bounded && attempt >= UNEXPECTED_ATTEMPTS,
    cause,
  });
}

const currentAttempt = (): number => {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (a script or a test)
  }
};

/**
 * Wraps every function of an activity object so thrown adapter errors become typed failures;
 * the `bounded` ones give up on an unexpected error after `UNEXPECTED_ATTEMPTS`.
 */
export function withFailureMapping<T extends Record<string, (...args: never[]) => Promise<unknown>>>(
  activities: T,
  bounded: readonly (keyof T)[] = [],
): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err, currentAttempt(), bounded.includes(name));
      }
    };
  }
  return wrapped as T;
}

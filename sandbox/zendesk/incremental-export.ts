import { Router } from 'express';
import { z } from 'zod';
import { takeFromWindow } from './budget';
import { accountBaseUrl, accountOf, badRequest, decodeCursor, encodeCursor, HttpError, parseInput } from './http';
import { identityJson, userJson } from './records';
import type { SandboxContext, UserRecord, ZendeskAccount } from './state';

/** `include=identities`: the users' identities sideloaded as a top-level `identities` array. */
export const IncludeSchema = z
  .string()
  .optional()
  .transform(
    (list) =>
      new Set(
        (list ?? '')
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part !== ''),
      ),
  );

const ExportQuerySchema = z.object({
  start_time: z.coerce.number().int().min(0).optional(),
  cursor: z.string().optional(),
  per_page: z.coerce.number().int().min(1).max(1000).default(1000),
  include: IncludeSchema,
});

/** The identities of the users of a page, for the `identities` sideload. */
export function sideloadedIdentities(base: string, account: ZendeskAccount, users: readonly UserRecord[]) {
  return users.flatMap((u) => account.identitiesOf(u.id).map((i) => identityJson(base, i)));
}

/** A position in the change stream: after a change sequence number, or from a moment on (first call). */
const PositionSchema = z.union([z.object({ afterSeq: z.number().int() }), z.object({ fromMs: z.number().int() })]);
type Position = z.infer<typeof PositionSchema>;

function decodePosition(cursor: string): Position {
  try {
    return PositionSchema.parse(JSON.parse(decodeCursor(cursor)));
  } catch {
    throw badRequest('cursor is not a cursor this endpoint issued');
  }
}

/**
 * Cursor-based incremental user export. Users come in the order they last changed, deleted ones
 * included, and a change younger than `exportMinAgeSeconds` (Zendesk: one minute) is held back
 * until a later call, as is a `start_time` that recent. At most `exportRateLimitPerMinute` calls a
 * minute (Zendesk: 10), else 429 with `Retry-After`; `include=identities` sideloads the identities.
 */
export function incrementalExportApi(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/incremental/users/cursor', (req, res) => {
    const account = accountOf(ctx, req);
    const base = accountBaseUrl(req, account);
    // Zendesk's own limit for incremental exports, on top of the account-wide budget.
    const limit = account.settings.exportRateLimitPerMinute;
    if (takeFromWindow(account.exportBudget, limit, 60_000) === null) {
      const waitSeconds = Math.max(1, Math.ceil((account.exportBudget.windowStartMs + 60_000 - Date.now()) / 1000));
      res.setHeader('Retry-After', String(waitSeconds));
      throw new HttpError(
        429,
        `Rate limit for incremental exports exceeded (${limit} per minute). Please wait ${waitSeconds} seconds.`,
        'text',
      );
    }
    const query = parseInput(ExportQuerySchema, req.query);
    const nowMs = Date.now();
    const minAgeSeconds = account.settings.exportMinAgeSeconds;
    let position: Position;
    if (query.cursor !== undefined) {
      position = decodePosition(query.cursor);
    } else if (query.start_time !== undefined) {
      if (query.start_time * 1000 > nowMs - minAgeSeconds * 1000) {
        throw badRequest(`start_time must be at least ${minAgeSeconds} seconds in the past`);
      }
      position = { fromMs: query.start_time * 1000 };
    } else {
      throw badRequest('Pass start_time on the first call and cursor afterwards');
    }

    const candidates = [...account.users.values()]
      .filter((u) => ('afterSeq' in position ? u.changeSeq > position.afterSeq : u.updatedAtMs >= position.fromMs))
      .sort((a, b) => a.changeSeq - b.changeSeq);
    const settledBefore = nowMs - minAgeSeconds * 1000;
    const firstUnsettled = candidates.findIndex((u) => u.updatedAtMs > settledBefore);
    const eligible = firstUnsettled < 0 ? candidates : candidates.slice(0, firstUnsettled);
    const page = eligible.slice(0, query.per_page);
    const last = page[page.length - 1];
    const afterCursor = last
      ? encodeCursor(JSON.stringify({ afterSeq: last.changeSeq }))
      : encodeCursor(JSON.stringify(position));
    const beforeCursor = query.cursor ?? null;
    const include = query.include.has('identities') ? '&include=identities' : '';
    const urlFor = (cursor: string): string =>
      `${base}/api/v2/incremental/users/cursor.json?cursor=${cursor}&per_page=${query.per_page}${include}`;
    res.json({
      users: page.map((u) => userJson(base, account, u)),
      ...(query.include.has('identities') ? { identities: sideloadedIdentities(base, account, page) } : {}),
      after_url: urlFor(afterCursor),
      after_cursor: afterCursor,
      before_url: beforeCursor === null ? null : urlFor(beforeCursor),
      before_cursor: beforeCursor,
      end_of_stream: page.length === eligible.length,
    });
  });

  return router;
}

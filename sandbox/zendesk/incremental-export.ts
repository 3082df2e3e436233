import { Router } from 'express';
import { z } from 'zod';
import { accountBaseUrl, accountOf, badRequest, decodeCursor, encodeCursor, parseInput } from './http';
import { userJson } from './records';
import type { SandboxContext } from './state';

const ExportQuerySchema = z.object({
  start_time: z.coerce.number().int().min(0).optional(),
  cursor: z.string().optional(),
  per_page: z.coerce.number().int().min(1).max(1000).default(1000),
});

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
 * until a later call, as is a `start_time` that recent.
 */
export function incrementalExportApi(ctx: SandboxContext): Router {
  const router = Router();

  router.get('/incremental/users/cursor', (req, res) => {
    const account = accountOf(ctx, req);
    const base = accountBaseUrl(req, account);
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
    const afterCursor = last ? encodeCursor(JSON.stringify({ afterSeq: last.changeSeq })) : encodeCursor(JSON.stringify(position));
    const beforeCursor = query.cursor ?? null;
    const urlFor = (cursor: string): string =>
      `${base}/api/v2/incremental/users/cursor.json?cursor=${cursor}&per_page=${query.per_page}`;
    res.json({
      users: page.map((u) => userJson(base, account, u)),
      after_url: urlFor(afterCursor),
      after_cursor: afterCursor,
      before_url: beforeCursor === null ? null : urlFor(beforeCursor),
      before_cursor: beforeCursor,
      end_of_stream: page.length === eligible.length,
    });
  });

  return router;
}

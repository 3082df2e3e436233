import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { AccountDirectory } from '../client/accounts';
import { SyncLog, SyncLogTail, quoted, type LogEntry } from '../client/sync-log';
import type { Config } from '../lib/config';
import { HttpError } from './http-errors';
import type { Metrics } from './metrics';
import { operatorOnly } from './operator-auth';
import { SubdomainSchema } from './schemas';
import { AccessGrants, cookieOf, formToken, hasOperatorToken, setGrantCookie, type Grant } from './status-access';
import { FullSyncControls, type FullSyncAnswer } from './status-full-sync';
import { messagePage, searchPage, statusPage, timelinePage, type Access, type StatusView } from './status-page';

export const STATUS_COOKIE = 'sgzs_status';
/** An engineer's browser session on the page, with the full-sync controls. */
export const OPERATE_LINK_TTL_MS = 12 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;
const CUSTOMER_KEY = /^(?:sg|zd):[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const ANY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const EXPORT_MAX_RUNS = 100_000;

interface Visitor {
  access: Access;
  /** The grant the browser holds (for its forms' CSRF token); null for an Authorization header. */
  grant: string | null;
}

/** Security headers of every page: nothing loads but the page itself, and its address goes to no other site. */
function pageHeaders(res: Response): string {
  const nonce = randomBytes(16).toString('base64');
  res.setHeader(
    'Content-Security-Policy',
    `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`,
  );
  res.setHeader('Cache-Control', 'no-store');
  // Same-origin only: the forms' Origin header stays meaningful (no-referrer would make it `null`).
  res.setHeader('Referrer-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.type('html');
  return nonce;
}

const LOG_COLUMNS = [
  'at',
  'eventId',
  'workflowId',
  'customer',
  'storeganiseId',
  'zendeskId',
  'source',
  'direction',
  'fields',
  'outcome',
  'conflictResolved',
  'resumed',
  'coalesced',
  'reason',
] as const;

function exportRow(entry: LogEntry): Record<(typeof LOG_COLUMNS)[number], string | number | boolean | null> {
  return { ...entry, at: new Date(entry.at).toISOString(), fields: entry.fields.join(' ') };
}

/** A CSV cell: quoted, and never read as a formula by a spreadsheet. */
function csvCell(value: string | number | boolean | null): string {
  const text = value === null ? '' : String(value);
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return `"${safe.replace(/"/g, '""')}"`;
}

/**
 * The per-account status page and the sync log's export, for the engineer (operator token, or a
 * browser session it opened with a signed link) and for the storage operator (a signed, expiring,
 * read-only link). Also feeds the sync-log metrics of /metrics, and notes each Zendesk delivery.
 */
export function statusRouter(deps: {
  client: Client;
  config: Config;
  directory: AccountDirectory;
  metrics: Metrics;
}): Router {
  const { client, config, directory, metrics } = deps;
  const router = express.Router();
  const grants = new AccessGrants(config.keyring);
  const log = new SyncLog(client, config.temporal.taskQueue);
  const secure = config.publicUrl.startsWith('https:');
  const fullSync = new FullSyncControls(client, config.temporal.taskQueue, directory);
  /** Zendesk deliveries this API accepted, by account: the freshest "last delivery" there is. */
  const deliveries = new Map<string, number>();

  metrics.attachSyncLog({
    tail: new SyncLogTail(log),
    async fullSyncProgress() {
      const accounts: string[] = [];
      for await (const info of client.workflow.list({
        query: `WorkflowType = 'accountWorkflow' AND ExecutionStatus = 'Running' AND TaskQueue = ${quoted(config.temporal.taskQueue)}`,
        pageSize: 500,
      })) {
        accounts.push(info.workflowId.replace(/^account:/, ''));
      }
      const found: Array<{ account: string; running: boolean; counts: Record<string, number> }> = [];
      for (const account of accounts) {
        const answer = await fullSync.progress(account);
        if (answer.kind !== 'progress') continue;
        const p = answer.progress;
        const counts = {
          done: p.done,
          total: p.total,
          linked: p.linked,
          created: p.created,
          repaired: p.repaired,
          conflicts: p.conflicts,
          errors: p.errors,
        };
        found.push({ account, running: answer.running, counts });
      }
      return found;
    },
  });

  // Seen on the way to the ingress (this router is mounted before it): never answers, never throws.
  router.post('/addon/zendesk/:subdomain', (req: Request, res: Response, next: NextFunction) => {
    const subdomain = String(req.params.subdomain).toLowerCase();
    res.on('finish', () => {
      if (res.statusCode >= 200 && res.statusCode < 300 && deliveries.size < 100_000)
        deliveries.set(subdomain, Date.now());
    });
    next();
  });

  const subdomainOf = (req: Request): string | null => {
    const parsed = SubdomainSchema.safeParse(String(req.params.subdomain).toLowerCase());
    return parsed.success ? parsed.data : null;
  };

  /** Who is asking: the operator token (a header), or a grant for this account (a cookie); null answers the refusal. */
  const visitor = (req: Request, res: Response, subdomain: string): Visitor | null => {
    if (hasOperatorToken(req, config.operatorToken)) return { access: 'operate', grant: null };
    const token = cookieOf(req, STATUS_COOKIE);
    const grant: Grant | null = grants.verify(token);
    if (grant !== null && token !== undefined && grant.account === subdomain && grant.scope !== 'codec') {
      return { access: grant.scope === 'status-operate' ? 'operate' : 'read', grant: token };
    }
    const nonce = pageHeaders(res);
    res
      .status(401)
      .send(
        messagePage(
          'Status link needed',
          token === undefined
            ? 'This page opens through a status link. Ask the engineer who runs the sync for one.'
            : 'Your status link has expired or is not for this account. Ask the engineer who runs the sync for a new one.',
          nonce,
        ),
      );
    return null;
  };

  const badRequest = (res: Response, message: string): void => {
    const nonce = pageHeaders(res);
    res.status(400).send(messagePage('Bad request', message, nonce));
  };

  const webUiRunUrl = (access: Access): StatusView['webUiRunUrl'] => {
    const ui = config.temporalUiUrl;
    if (access !== 'operate' || ui === null) return null;
    return (workflowId) =>
      `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
  };

  router.get('/status/:subdomain', async (req: Request, res: Response) => {
    const subdomain = subdomainOf(req);
    if (subdomain === null) return badRequest(res, 'Not an account name.');
    // A signed link: its grant becomes this browser's cookie, and the address loses it.
    if (typeof req.query.grant === 'string') {
      const grant = grants.verify(req.query.grant);
      if (grant === null || grant.account !== subdomain || grant.scope === 'codec') {
        const nonce = pageHeaders(res);
        res
          .status(401)
          .send(
            messagePage(
              'Link expired or invalid',
              'This status link has expired or is not valid. Ask the engineer who runs the sync for a new one.',
              nonce,
            ),
          );
        return;
      }
      setGrantCookie(res, {
        name: STATUS_COOKIE,
        value: req.query.grant,
        path: `/status/${subdomain}`,
        expiresAt: grant.expiresAt,
        secure,
        sameSite: 'Lax',
      });
      res.setHeader('Referrer-Policy', 'no-referrer');
      res.redirect(303, `/status/${subdomain}`);
      return;
    }
    const who = visitor(req, res, subdomain);
    if (who === null) return;
    const entry = await directory.get(subdomain);
    if (entry === null) {
      const nonce = pageHeaders(res);
      res.status(404).send(messagePage('Unknown account', `No account ${subdomain} is served here.`, nonce));
      return;
    }
    const now = Date.now();
    const hourEnd = Math.ceil((now + 1) / HOUR_MS) * HOUR_MS;
    const dayEnd = Math.ceil((now + 1) / DAY_MS) * DAY_MS;
    const [facts, retentionDays, day, week, hours, days, progress, repairs, recent, reconciliation] = await Promise.all(
      [
        log.connectionFacts(subdomain),
        log.retentionDays(config.temporal.namespace),
        log.totals(subdomain, now - DAY_MS, now + 1),
        log.totals(subdomain, now - 7 * DAY_MS, now + 1),
        log.chart(subdomain, hourEnd, HOUR_MS, 24),
        log.chart(subdomain, dayEnd, DAY_MS, 7),
        fullSync.progress(subdomain),
        log.runs(subdomain, { outcome: 'repaired', limit: 10 }),
        log.recentEvents(subdomain, 100),
        log.reconciliation(subdomain).catch(() => null),
      ],
    );
    const seen = deliveries.get(subdomain);
    const lastDelivery =
      seen !== undefined && (facts.lastZendeskEventRun === null || seen >= facts.lastZendeskEventRun)
        ? { at: seen, how: 'received by this API' }
        : facts.lastZendeskEventRun === null
          ? null
          : { at: facts.lastZendeskEventRun, how: 'the latest Zendesk event that led a run' };
    const notice =
      typeof req.query.notice === 'string' && /^[\w .,:;'()-]{1,200}$/.test(req.query.notice) ? req.query.notice : null;
    const view: StatusView = {
      account: subdomain,
      access: who.access,
      now,
      connection: {
        state: entry.connection,
        webhookRegistered: entry.webhookId !== null,
        lastDelivery,
        settingsProblems: entry.settings === null ? null : entry.settings.ok ? [] : entry.settings.problems,
        pausedForAuthorization: facts.pausedForAuthorization,
        pausedForSettings: facts.pausedForSettings,
      },
      retention: { days: retentionDays, wantedDays: config.syncLogRetentionDays },
      totals: { day, week },
      chart: { hours, days },
      fullSync: progress,
      reconciliation,
      repairs,
      events: recent.entries,
      entitiesUnanswered: recent.entitiesUnanswered,
      formToken: who.access === 'operate' && who.grant !== null ? formToken(who.grant) : null,
      webUiRunUrl: webUiRunUrl(who.access),
      notice,
    };
    const nonce = pageHeaders(res);
    res.send(statusPage(view, nonce));
  });

  router.get('/status/:subdomain/customers/:customer', async (req: Request, res: Response) => {
    const subdomain = subdomainOf(req);
    if (subdomain === null) return badRequest(res, 'Not an account name.');
    const who = visitor(req, res, subdomain);
    if (who === null) return;
    const customer = String(req.params.customer);
    if (!CUSTOMER_KEY.test(customer)) return badRequest(res, 'A customer is sg:{Storeganise id} or zd:{Zendesk id}.');
    const timeline = await log.customerTimeline(subdomain, customer);
    const nonce = pageHeaders(res);
    res.send(
      timelinePage(
        { account: subdomain, customer, ...timeline, now: Date.now(), webUiRunUrl: webUiRunUrl(who.access) },
        nonce,
      ),
    );
  });

  router.get('/status/:subdomain/search', async (req: Request, res: Response) => {
    const subdomain = subdomainOf(req);
    if (subdomain === null) return badRequest(res, 'Not an account name.');
    const who = visitor(req, res, subdomain);
    if (who === null) return;
    const id = typeof req.query.id === 'string' ? req.query.id.trim() : '';
    if (!ANY_ID.test(id))
      return badRequest(res, 'Search by a Storeganise id or a Zendesk id: letters, digits, _ or -.');
    const customers = await log.findCustomers(subdomain, id);
    if (customers.length === 1 && customers[0] !== undefined) {
      res.redirect(303, `/status/${subdomain}/customers/${encodeURIComponent(customers[0])}`);
      return;
    }
    const nonce = pageHeaders(res);
    res.send(searchPage({ account: subdomain, id, customers }, nonce));
  });

  /** The log as NDJSON or CSV: every run the namespace keeps (or one customer's whole timeline). */
  router.get(/^\/status\/([a-z0-9-]{1,63})\/log\.(ndjson|csv)$/i, async (req: Request, res: Response) => {
    const params = req.params as Record<string, string | undefined>;
    const parsed = SubdomainSchema.safeParse(String(params[0]).toLowerCase());
    if (!parsed.success) return badRequest(res, 'Not an account name.');
    const subdomain = parsed.data;
    const who = visitor(req, res, subdomain);
    if (who === null) return;
    const customer = typeof req.query.customer === 'string' ? req.query.customer : undefined;
    if (customer !== undefined && !CUSTOMER_KEY.test(customer))
      return badRequest(res, 'customer must be sg:{Storeganise id} or zd:{Zendesk id}.');
    const days = typeof req.query.days === 'string' ? Number(req.query.days) : undefined;
    if (days !== undefined && (!Number.isInteger(days) || days < 1 || days > 3650))
      return badRequest(res, 'days must be a whole number of days from 1 to 3650.');
    const since = days === undefined ? undefined : Date.now() - days * DAY_MS;
    const entries =
      customer === undefined
        ? await log.runs(subdomain, { limit: EXPORT_MAX_RUNS, ...(since === undefined ? {} : { since }) })
        : (await log.customerTimeline(subdomain, customer, EXPORT_MAX_RUNS)).entries.filter(
            (e) => since === undefined || e.at >= since,
          );
    const format = String(params[1]).toLowerCase();
    const name = `sync-log-${subdomain}${customer === undefined ? '' : `-${customer.replace(':', '-')}`}-${new Date().toISOString().slice(0, 10)}.${format}`;
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    if (format === 'csv') {
      res.type('text/csv; charset=utf-8');
      const lines = [
        LOG_COLUMNS.join(','),
        ...entries.map((e) => LOG_COLUMNS.map((c) => csvCell(exportRow(e)[c])).join(',')),
      ];
      res.send(`${lines.join('\r\n')}\r\n`);
    } else {
      res.type('application/x-ndjson; charset=utf-8');
      res.send(entries.map((e) => `${JSON.stringify(exportRow(e))}\n`).join(''));
    }
  });

  // ---- full-sync controls: the engineer's browser session only, same-origin forms with a token bound to the session
  const formBody = express.urlencoded({ extended: false, limit: '2kb', inflate: false });
  const controlled =
    (act: (subdomain: string) => Promise<FullSyncAnswer>, done: string) => async (req: Request, res: Response) => {
      const subdomain = subdomainOf(req);
      if (subdomain === null) return badRequest(res, 'Not an account name.');
      const who = visitor(req, res, subdomain);
      if (who === null) return;
      const origin = req.get('origin');
      const ownOrigins = [new URL(config.publicUrl).origin, `${req.protocol}://${req.get('host') ?? ''}`];
      const csrf = (req.body as Record<string, unknown> | undefined)?.csrf;
      if (
        who.access !== 'operate' ||
        who.grant === null ||
        (origin !== undefined && !ownOrigins.includes(origin)) ||
        typeof csrf !== 'string' ||
        csrf !== formToken(who.grant)
      ) {
        const nonce = pageHeaders(res);
        res
          .status(403)
          .send(
            messagePage(
              'Not allowed',
              'Full syncs are started and cancelled from the operator view of this page (a link the engineer opens with the operator token).',
              nonce,
            ),
          );
        return;
      }
      const answer = await act(subdomain);
      const notice = answer.kind === 'error' ? `Full sync: ${answer.message}` : done;
      res.redirect(
        303,
        `/status/${subdomain}?notice=${encodeURIComponent(notice.replace(/[^\w .,:;'()-]/g, ' ').slice(0, 200))}`,
      );
    };
  router.post(
    '/status/:subdomain/full-sync',
    formBody,
    controlled((s) => fullSync.start(s), 'Full sync started'),
  );
  router.post(
    '/status/:subdomain/full-sync/cancel',
    formBody,
    controlled((s) => fullSync.cancel(s), 'Full sync cancelled'),
  );

  // ---- links, minted with the operator token (curl, `npm start`): a browser never needs the token itself
  const guard = operatorOnly(config.operatorToken);
  const mint = (scope: 'status-read' | 'status-operate', ttlMs: number) => async (req: Request, res: Response) => {
    const subdomain = subdomainOf(req);
    if (subdomain === null)
      throw new HttpError(400, 'invalid_subdomain', 'subdomain must be a Storeganise subdomain', 'subdomain');
    if ((await directory.get(subdomain, { fresh: true })) === null)
      throw new HttpError(404, 'unknown_account', `No account ${subdomain}`);
    const { grant, expiresAt } = grants.issue(scope, subdomain, ttlMs);
    res.setHeader('Cache-Control', 'no-store');
    res.json({
      url: `${config.publicUrl}/status/${subdomain}?grant=${grant}`,
      access: scope === 'status-read' ? 'read' : 'operate',
      expiresAt: new Date(expiresAt).toISOString(),
    });
  };
  router.post('/status/:subdomain/link', guard, mint('status-read', config.statusLinkTtlMs));
  router.post('/status/:subdomain/operator-link', guard, mint('status-operate', OPERATE_LINK_TTL_MS));

  return router;
}

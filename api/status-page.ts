import type { ChartBucket, LogEntry, OutcomeTotals, Reconciliation } from '../client/sync-log';
import type { ConnectionState } from '../workflows/definitions';
import type { FullSyncAnswer } from './status-full-sync';

/**
 * The status page, rendered on the server: plain HTML and an inline SVG chart, readable on a
 * phone and without JavaScript (a small script only refreshes the live parts every few seconds).
 * Everything shown is an identifier, a count, a field name or a rule: no personal data.
 */

export const esc = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

export type Access = 'read' | 'operate';

export interface StatusView {
  account: string;
  access: Access;
  now: number;
  connection: {
    state: ConnectionState;
    webhookRegistered: boolean;
    /** The latest Zendesk delivery accepted, and who saw it. */
    lastDelivery: { at: number; how: string } | null;
    settingsProblems: string[] | null;
    pausedForAuthorization: number;
    pausedForSettings: number;
  };
  retention: { days: number | null; wantedDays: number };
  totals: { day: OutcomeTotals; week: OutcomeTotals };
  chart: { hours: ChartBucket[]; days: ChartBucket[] };
  fullSync: FullSyncAnswer;
  reconciliation: Reconciliation | null;
  repairs: LogEntry[];
  events: LogEntry[];
  entitiesUnanswered: number;
  /** The CSRF token of the page's forms; null for read-only access. */
  formToken: string | null;
  /** Base of a run's page in the Temporal Web UI, for the engineer; null for read-only access or when unknown. */
  webUiRunUrl: ((workflowId: string) => string) | null;
  notice: string | null;
}

const STYLE = `
:root{color-scheme:light dark;--ok:#1a7f37;--muted:#8b949e;--bad:#cf222e;--line:#d0d7de;--bg2:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--line:#30363d;--bg2:#161b22}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,sans-serif;margin:0 auto;max-width:72rem;padding:0.75rem;line-height:1.45}
h1{font-size:1.35rem;margin:0.2rem 0 0.6rem}h2{font-size:1.1rem;margin:1.4rem 0 0.5rem;border-bottom:1px solid var(--line);padding-bottom:0.2rem}
a{color:inherit}
.muted{color:var(--muted)}.bad{color:var(--bad)}.ok{color:var(--ok)}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:0.6rem}
.card{border:1px solid var(--line);border-radius:6px;padding:0.6rem 0.8rem;background:var(--bg2)}
.card b{display:block;font-size:0.8rem;text-transform:uppercase;letter-spacing:0.03em;color:var(--muted)}
table{border-collapse:collapse;width:100%;font-size:0.9rem}
th,td{text-align:left;padding:0.3rem 0.4rem;border-bottom:1px solid var(--line);vertical-align:top}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.outcome{display:inline-block;padding:0 0.4rem;border-radius:1rem;border:1px solid var(--line);white-space:nowrap;font-size:0.82rem}
.o-synced,.o-linked,.o-repaired{border-color:var(--ok);color:var(--ok)}
.o-conflict,.o-rejected,.o-failed,.o-paused{border-color:var(--bad);color:var(--bad)}
.o-deleted{border-color:#9a6700;color:#9a6700}
form.inline{display:inline}
input[type=search]{padding:0.35rem;font-size:1rem;max-width:100%;width:18rem}
button{padding:0.35rem 0.8rem;font-size:0.95rem;cursor:pointer}
progress{width:100%;height:1.2rem}
svg{max-width:100%;height:auto}
code{font-size:0.85em;word-break:break-all}
@media (max-width:44rem){
  table.log thead{display:none}
  table.log tr{display:block;border-bottom:1px solid var(--line);padding:0.35rem 0}
  table.log td{display:block;border:0;padding:0.1rem 0}
  table.log td[data-label]::before{content:attr(data-label) ": ";color:var(--muted);font-size:0.8rem}
}`;

/** Refreshes the parts marked `data-live` from the same URL every few seconds; the page works without it. */
const LIVE_SCRIPT = `(() => {
  const every = 5000;
  const refresh = async () => {
    const typing = document.activeElement && ['INPUT', 'TEXTAREA'].includes(document.activeElement.tagName);
    if (!document.hidden && !typing) {
      try {
        const res = await fetch(location.href, { credentials: 'same-origin', headers: { 'x-live-refresh': '1' } });
        if (res.ok) {
          const fresh = new DOMParser().parseFromString(await res.text(), 'text/html');
          for (const part of document.querySelectorAll('[data-live]')) {
            const next = fresh.getElementById(part.id);
            if (next) part.replaceWith(document.adoptNode(next));
          }
          document.body.dataset.refreshedAt = new Date().toISOString();
        }
      } catch (err) { /* offline for a moment: the next round tries again */ }
    }
    setTimeout(refresh, every);
  };
  setTimeout(refresh, every);
})();`;

export function layout(options: { title: string; nonce: string; body: string; live: boolean }): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(options.title)}</title>
<meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="same-origin">
<style nonce="${options.nonce}">${STYLE}</style></head><body>${options.body}
${options.live ? `<script nonce="${options.nonce}">${LIVE_SCRIPT}</script>` : ''}</body></html>`;
}

const pad = (n: number): string => String(n).padStart(2, '0');
export function utc(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}
export function ago(ms: number, now: number): string {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 36 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}
const time = (ms: number, now: number): string =>
  `<time datetime="${new Date(ms).toISOString()}" title="${utc(ms)} UTC">${esc(ago(ms, now))}</time>`;

const DIRECTION_LABEL: Record<string, string> = {
  'storeganise-to-zendesk': 'Storeganise → Zendesk',
  'zendesk-to-storeganise': 'Zendesk → Storeganise',
  'both-ways': 'both ways',
  none: '—',
};

export function outcomeLabel(entry: Pick<LogEntry, 'outcome' | 'conflictResolved' | 'resumed'>): string {
  const base =
    entry.conflictResolved && entry.outcome === 'synced'
      ? 'conflict resolved'
      : entry.outcome === 'conflict'
        ? 'conflict task'
        : entry.outcome;
  return entry.resumed ? `${base}, resumed` : base;
}

const badge = (entry: LogEntry): string =>
  `<span class="outcome o-${esc(entry.outcome)}" data-outcome="${esc(entry.outcome)}">${esc(outcomeLabel(entry))}</span>`;

export function customerLink(
  account: string,
  entry: Pick<LogEntry, 'customer' | 'storeganiseId' | 'zendeskId'>,
): string {
  const href = `/status/${encodeURIComponent(account)}/customers/${encodeURIComponent(entry.customer)}`;
  const ids = [
    entry.storeganiseId === null ? null : `SG ${entry.storeganiseId}`,
    entry.zendeskId === null ? null : `ZD ${entry.zendeskId}`,
  ].filter((x): x is string => x !== null);
  return `<a class="customer" href="${esc(href)}">${esc(ids.join(' · ') || entry.customer)}</a>`;
}

export function eventTable(
  account: string,
  entries: LogEntry[],
  now: number,
  webUiRunUrl: StatusView['webUiRunUrl'],
  options: { showCustomer: boolean },
): string {
  if (entries.length === 0) return '<p class="muted">No events in the log yet.</p>';
  const rows = entries.map((e) => {
    const run =
      e.workflowId !== null && webUiRunUrl !== null
        ? ` <a class="muted" href="${esc(webUiRunUrl(e.workflowId))}">run</a>`
        : '';
    return `<tr data-event="${esc(e.eventId)}">
<td data-label="When">${time(e.at, now)}</td>
${options.showCustomer ? `<td data-label="Customer">${customerLink(account, e)}</td>` : ''}
<td data-label="Outcome">${badge(e)}</td>
<td data-label="Direction">${esc(DIRECTION_LABEL[e.direction ?? 'none'] ?? e.direction ?? '—')}</td>
<td data-label="Fields">${esc(e.fields.join(', ') || '—')}</td>
<td data-label="Reason">${esc(e.reason)}${run}<br><code class="muted">${esc(e.eventId)}</code></td></tr>`;
  });
  return `<table class="log"><thead><tr><th>When</th>${options.showCustomer ? '<th>Customer</th>' : ''}<th>Outcome</th><th>Direction</th><th>Fields</th><th>Reason</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

const CATEGORY_COLOUR = { changed: '#2da44e', unchanged: '#8c959f', attention: '#cf222e' } as const;

/** Stacked bars per bucket (changed, nothing to write, needs attention), as inline SVG. */
export function chartSvg(id: string, title: string, buckets: ChartBucket[], label: (b: ChartBucket) => string): string {
  const width = 600;
  const height = 160;
  const top = 16;
  const bottom = 22;
  const max = Math.max(1, ...buckets.map((b) => b.changed + b.unchanged + b.attention));
  const slot = width / Math.max(1, buckets.length);
  const bar = Math.max(2, slot * 0.7);
  const scale = (n: number): number => (n / max) * (height - top - bottom);
  const bars = buckets.map((b, i) => {
    const x = i * slot + (slot - bar) / 2;
    let y = height - bottom;
    const parts = (['changed', 'unchanged', 'attention'] as const).map((category) => {
      const h = scale(b[category]);
      y -= h;
      return h > 0
        ? `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}" fill="${CATEGORY_COLOUR[category]}" data-category="${category}"></rect>`
        : '';
    });
    const total = b.changed + b.unchanged + b.attention;
    const tick =
      i % Math.ceil(buckets.length / 8) === 0
        ? `<text x="${(x + bar / 2).toFixed(1)}" y="${height - 6}" font-size="10" text-anchor="middle" fill="currentColor">${esc(label(b))}</text>`
        : '';
    return `<g data-bucket="${new Date(b.start).toISOString()}"><title>${esc(`${label(b)}: ${total} runs, ${b.changed} changed, ${b.unchanged} nothing to write, ${b.attention} need attention`)}</title>${parts.join('')}${tick}</g>`;
  });
  return `<svg id="${esc(id)}" class="chart" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(title)}" xmlns="http://www.w3.org/2000/svg">
<text x="0" y="11" font-size="11" fill="currentColor">${esc(title)} (max ${max})</text>
<line x1="0" y1="${height - bottom}" x2="${width}" y2="${height - bottom}" stroke="#8c959f" stroke-width="0.5"></line>${bars.join('')}</svg>`;
}

const percent = (rate: number | null): string =>
  rate === null ? '—' : `${(rate * 100).toFixed(rate === 1 ? 0 : 1)} %`;

function totalsTable(day: OutcomeTotals, week: OutcomeTotals): string {
  const names = [...new Set([...Object.keys(day.byOutcome), ...Object.keys(week.byOutcome)])].filter(
    (n) => (day.byOutcome[n] ?? 0) + (week.byOutcome[n] ?? 0) > 0,
  );
  const label = (n: string): string => (n === 'conflict' ? 'conflict task' : n);
  const rows = names.map(
    (n) =>
      `<tr data-outcome="${esc(n)}"><td>${esc(label(n))}</td><td class="num">${day.byOutcome[n] ?? 0}</td><td class="num">${week.byOutcome[n] ?? 0}</td></tr>`,
  );
  return `<table class="totals"><thead><tr><th>Outcome of runs</th><th class="num">24 h</th><th class="num">7 days</th></tr></thead><tbody>${rows.join('')}
<tr><th>all runs</th><th class="num">${day.closed}</th><th class="num">${week.closed}</th></tr>
<tr><th>success rate</th><th class="num" id="success-24h">${percent(day.successRate)}</th><th class="num" id="success-7d">${percent(week.successRate)}</th></tr></tbody></table>
<p class="muted">Success: the run ended as the rules say (written, nothing to write, deleted respected). Needs attention: a conflict or refused write that raised an admin task, or a run that failed. Echoes and duplicates start no run and are not counted here; they are in the events below.</p>`;
}

function fullSyncSection(view: StatusView): string {
  const { fullSync, access, account, formToken } = view;
  const control = (action: 'start' | 'cancel', text: string): string =>
    access === 'operate' && formToken !== null
      ? `<form class="inline" method="post" action="/status/${esc(encodeURIComponent(account))}/full-sync${action === 'cancel' ? '/cancel' : ''}"><input type="hidden" name="csrf" value="${esc(formToken)}"><button type="submit" id="full-sync-${action}">${esc(text)}</button></form>`
      : '';
  if (fullSync.kind === 'error') return `<p class="bad">Full sync: ${esc(fullSync.message)}</p>`;
  const readOnly =
    access === 'read'
      ? '<p class="muted">Read-only link: the engineer running the sync starts and cancels full syncs.</p>'
      : '';
  if (fullSync.kind === 'none')
    return `<p>No full sync has run for this account.</p>${control('start', 'Start a full sync')}${readOnly}`;
  const { progress: p, running } = fullSync;
  const total = p.total;
  const bar =
    total > 0
      ? `<progress id="full-sync-progress" value="${p.done}" max="${total}">${p.done} of ${total}</progress>`
      : `<progress id="full-sync-progress">${p.done}</progress>`;
  return `<p>State: <strong id="full-sync-state">${esc(p.state)}</strong> — <span id="full-sync-done">${p.done}</span> of ${p.total} customers${total > 0 ? ` (${Math.floor((p.done / total) * 100)} %)` : ''}</p>${bar}
<p class="muted">linked ${p.linked} · created ${p.created} · repaired ${p.repaired} · conflicts ${p.conflicts} · errors ${p.errors}</p>
${running ? control('cancel', 'Cancel the full sync') : control('start', 'Start a full sync')}${readOnly}`;
}

function reconciliationLine(view: StatusView): string {
  const r = view.reconciliation;
  if (r === null)
    return '<p id="reconciliation-last-run">Last run: <span class="muted">not available in this version yet (no reconciliation runs for this account)</span></p>';
  const last = r.lastRun ?? null;
  const lastText =
    last === null
      ? '<span class="muted">none yet</span>'
      : `${time(Date.parse(last.finishedAt ?? last.startedAt), view.now)}: ${last.checked ?? 0} pairs compared, ${last.queued ?? 0} queued, ${last.repaired ?? 0} repaired${last.errors ? `, <span class="bad">${last.errors} errors</span>` : ''}`;
  const next = r.nextRunAt
    ? ` · next ${esc(utc(Date.parse(r.nextRunAt)))} UTC`
    : r.intervalMs === null
      ? ' · <span class="muted">off (RECONCILE_INTERVAL)</span>'
      : '';
  const totals = r.totals ? ` · ${r.totals.runs} runs, ${r.totals.repaired} repairs since it started` : '';
  return `<p id="reconciliation-last-run">Last run: ${lastText} <span class="muted">(${esc(r.state)}${next}${totals})</span></p>`;
}

export function statusPage(view: StatusView, nonce: string): string {
  const { account, now, connection: c } = view;
  const sub = esc(encodeURIComponent(account));
  const connection = {
    connected: '<span class="ok">authorized</span>',
    'awaiting-authorization': '<span class="bad">awaiting authorization</span>',
    disconnected: '<span class="bad">disconnected</span>',
  }[c.state];
  const delivery =
    c.lastDelivery === null
      ? '<span class="muted">no Zendesk delivery seen yet</span>'
      : `last delivery ${time(c.lastDelivery.at, now)} <span class="muted">(${esc(c.lastDelivery.how)})</span>`;
  const problems =
    c.settingsProblems === null
      ? '<span class="muted">not read yet</span>'
      : c.settingsProblems.length === 0
        ? '<span class="ok">none</span>'
        : `<ul class="bad">${c.settingsProblems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>Fix them in the add-on settings; the "zendesk: Invalid settings" task names each.`;
  const paused = c.pausedForAuthorization + c.pausedForSettings;
  const pausedText =
    paused === 0
      ? '<span class="ok">none</span>'
      : `<span class="bad">${c.pausedForAuthorization} waiting for authorization, ${c.pausedForSettings} waiting for valid settings</span><br>${c.pausedForAuthorization > 0 ? 'Open the link in the newest "zendesk: Authorize Zendesk OAuth connection" task: paused work resumes by itself. ' : ''}${c.pausedForSettings > 0 ? 'Fix the settings: paused work resumes within 30 s.' : ''}`;
  const retention =
    view.retention.days === null
      ? `<span class="muted">unknown (wanted: ${view.retention.wantedDays} days)</span>`
      : view.retention.days + 1e-9 < view.retention.wantedDays
        ? `<span class="bad">${Math.round(view.retention.days * 10) / 10} days — less than SYNC_LOG_RETENTION_DAYS (${view.retention.wantedDays}); raise the namespace's retention</span>`
        : `${Math.round(view.retention.days * 10) / 10} days`;
  const hourLabel = (b: ChartBucket): string => `${pad(new Date(b.start).getUTCHours())}h`;
  const dayLabel = (b: ChartBucket): string =>
    `${pad(new Date(b.start).getUTCMonth() + 1)}-${pad(new Date(b.start).getUTCDate())}`;
  const repairs =
    view.repairs.length === 0
      ? '<p class="muted">No repair in the log.</p>'
      : eventTable(account, view.repairs, now, view.webUiRunUrl, { showCustomer: true });
  const unanswered =
    view.entitiesUnanswered > 0
      ? `<p class="muted">${view.entitiesUnanswered} customers' echoes and coalesced events could not be read (no worker answered); their runs are shown.</p>`
      : '';
  const body = `<header><h1>Sync status: ${esc(account)}</h1>
<p class="muted">${view.access === 'operate' ? 'Operator view' : 'Read-only view'} · times in UTC on hover · <a href="/status/${sub}">refresh</a>${view.notice === null ? '' : ` · <strong>${esc(view.notice)}</strong>`}</p></header>
<section id="connection" data-live><h2>Connection</h2><div class="grid">
<div class="card"><b>Zendesk</b>${connection}</div>
<div class="card"><b>Webhook</b>${c.webhookRegistered ? 'registered' : '<span class="bad">not registered</span>'}; ${delivery}</div>
<div class="card"><b>Settings problems</b>${problems}</div>
<div class="card"><b>Paused work</b>${pausedText}</div>
<div class="card"><b>Log kept</b>${retention}</div></div></section>
<section id="outcomes" data-live><h2>Outcomes</h2>
${chartSvg('chart-24h', 'Runs per hour, last 24 hours (UTC)', view.chart.hours, hourLabel)}
${chartSvg('chart-7d', 'Runs per day, last 7 days (UTC)', view.chart.days, dayLabel)}
<p class="muted"><span class="ok">■</span> changed · <span class="muted">■</span> nothing to write · <span class="bad">■</span> needs attention</p>
${totalsTable(view.totals.day, view.totals.week)}</section>
<section id="full-sync" data-live><h2>Full sync</h2>${fullSyncSection(view)}</section>
<section id="reconciliation" data-live><h2>Reconciliation</h2>
${reconciliationLine(view)}
<p>Repairs (differences no webhook explained, written): <strong>${view.totals.day.byOutcome.repaired ?? 0}</strong> in 24 h, <strong>${view.totals.week.byOutcome.repaired ?? 0}</strong> in 7 days.</p>${repairs}</section>
<section id="search"><h2>Find a customer</h2>
<form method="get" action="/status/${sub}/search"><label>Storeganise or Zendesk id <input type="search" name="id" required maxlength="64" pattern="[A-Za-z0-9_\\-]+" autocomplete="off"></label> <button type="submit">Show timeline</button></form></section>
<section id="events" data-live><h2>Last ${view.events.length} events</h2>${unanswered}${eventTable(account, view.events, now, view.webUiRunUrl, { showCustomer: true })}
<p>Export the log (every run kept, ${view.retention.wantedDays} days): <a href="/status/${sub}/log.ndjson">NDJSON</a> · <a href="/status/${sub}/log.csv">CSV</a></p></section>`;
  return layout({ title: `Sync status: ${account}`, nonce, body, live: true });
}

export function timelinePage(
  options: {
    account: string;
    customer: string;
    entries: LogEntry[];
    entityAnswered: boolean;
    now: number;
    webUiRunUrl: StatusView['webUiRunUrl'];
  },
  nonce: string,
): string {
  const { account, customer, entries, now } = options;
  const sub = esc(encodeURIComponent(account));
  const first = entries[0];
  const ids = first === undefined ? esc(customer) : customerLink(account, first);
  const exportBase = `/status/${sub}/log`;
  const query = `?customer=${esc(encodeURIComponent(customer))}`;
  const body = `<header><p><a href="/status/${sub}">← ${esc(account)}</a></p><h1>Customer timeline: ${ids}</h1>
<p class="muted">Every event of this customer the log keeps, newest first: each run with its cause (the event), what it decided and wrote; echoes and coalesced events from the customer's own record${options.entityAnswered ? '' : ' (not readable right now: no worker answered)'}.</p></header>
<section id="timeline" data-live>${eventTable(account, entries, now, options.webUiRunUrl, { showCustomer: false })}</section>
<p>Export: <a href="${exportBase}.ndjson${query}">NDJSON</a> · <a href="${exportBase}.csv${query}">CSV</a></p>`;
  return layout({ title: `Timeline ${customer} (${account})`, nonce, body, live: true });
}

export function searchPage(options: { account: string; id: string; customers: string[] }, nonce: string): string {
  const sub = esc(encodeURIComponent(options.account));
  const list =
    options.customers.length === 0
      ? `<p>No customer with the id <code>${esc(options.id)}</code> in this account's log (it keeps ${esc('the retention period')}).</p>`
      : `<ul>${options.customers.map((c) => `<li>${customerLink(options.account, { customer: c, storeganiseId: c.startsWith('sg:') ? c.slice(3) : null, zendeskId: c.startsWith('zd:') ? c.slice(3) : null })}</li>`).join('')}</ul>`;
  const body = `<p><a href="/status/${sub}">← ${esc(options.account)}</a></p><h1>Search: ${esc(options.id)}</h1>${list}`;
  return layout({ title: `Search ${options.id}`, nonce, body, live: false });
}

export function messagePage(title: string, text: string, nonce: string): string {
  return layout({ title, nonce, body: `<h1>${esc(title)}</h1><p>${esc(text)}</p>`, live: false });
}

import type { Client } from '@temporalio/client';
import { customerStatusQuery } from '../workflows/definitions';
import { setTimeout as sleep } from 'node:timers/promises';
import { AUTHORIZE_TASK_TITLE } from '../domain/tasks';
import type { StoreganiseSandboxClient } from './storeganise/client';
import type { AccountSettingsPatch, ZendeskSandboxClient } from './zendesk/client';

// The add-on installed against the sandboxes, as the tests and the benchmark need it: both
// accounts, the operator's authorize click, and waiting until every change has been synced.

/** The Zendesk dropdown the customer status is written to, with the option values the sync uses. */
export function customerStatusField(key: string) {
  return {
    key,
    title: 'Customer status',
    type: 'dropdown' as const,
    custom_field_options: [
      { name: 'Active', value: 'active' },
      { name: 'New prospect', value: 'new_prospect' },
      { name: 'Deactivated', value: 'deactivated' },
    ],
  };
}

export interface SandboxInstallation {
  /** Storeganise subdomain: the account key of the service. */
  subdomain: string;
  zendeskSubdomain: string;
  addonId: string;
}

export interface InstallationInput {
  subdomain: string;
  zendeskSubdomain: string;
  /** The service's PUBLIC_URL: where Storeganise sends the add-on webhooks. */
  publicUrl: string;
  addonApiKey: string;
  webhookSecret: string;
  /** Null: no status dropdown in Zendesk. */
  statusFieldKey: string | null;
  /** Add-on settings replacing the defaults. */
  settings?: Record<string, unknown>;
  zendesk?: AccountSettingsPatch;
}

/** Creates both sandbox accounts and installs the add-on, which sends the activation webhook. */
export async function installAddon(
  sandboxes: { zendesk: ZendeskSandboxClient; storeganise: StoreganiseSandboxClient },
  input: InstallationInput,
): Promise<SandboxInstallation> {
  await sandboxes.zendesk.createAccount({
    subdomain: input.zendeskSubdomain,
    autoApprove: true,
    ...input.zendesk,
    userFields: input.statusFieldKey === null ? [] : [customerStatusField(input.statusFieldKey)],
  });
  const created = await sandboxes.storeganise.createAccount({
    subdomain: input.subdomain,
    addonApiKey: input.addonApiKey,
    webhookUrl: `${input.publicUrl}/addon/storeganise`,
    webhookSecret: input.webhookSecret,
    settings: {
      zendesk_instance: input.zendeskSubdomain,
      zendesk_defaultCountryCode: '+81',
      zendesk_statusFieldKey: input.statusFieldKey ?? '',
      zendesk_nameFormat: 'first_last',
      ...input.settings,
    },
  });
  await sandboxes.storeganise.emitInstalled(input.subdomain);
  return { subdomain: input.subdomain, zendeskSubdomain: input.zendeskSubdomain, addonId: created.addonId };
}

/**
 * The link of the newest open authorize task of the account; once every one is closed (the account
 * was authorized), the newest closed one's, since authorizing again is allowed at any time. Null
 * while the account has none.
 */
export async function authorizeLink(storeganise: StoreganiseSandboxClient, subdomain: string): Promise<string | null> {
  const tasks = (await storeganise.listJobs(subdomain, { type: 'task' })).filter(
    (t) => t.data.title === AUTHORIZE_TASK_TITLE,
  );
  const open = tasks.filter((t) => t.state !== 'completed');
  const desc = (open.at(-1) ?? tasks.at(-1))?.data.desc;
  return typeof desc === 'string' ? (/https?:\/\/\S+/.exec(desc)?.[0] ?? null) : null;
}

/** Follows an authorize link like the operator's browser: the service, Zendesk's consent (auto-approved), the callback. */
export async function authorizeThroughSandbox(link: string): Promise<{ status: number; body: string }> {
  const toZendesk = await fetch(link, { redirect: 'manual' });
  const consent = toZendesk.headers.get('location');
  if (toZendesk.status !== 302 || !consent)
    throw new Error(`the authorize link answered ${toZendesk.status}: ${await toZendesk.text()}`);
  const back = await fetch(consent, { redirect: 'manual' });
  const callback = back.headers.get('location');
  if (back.status !== 302 || !callback)
    throw new Error(`the Zendesk consent answered ${back.status}: ${await back.text()}`);
  const done = await fetch(callback);
  return { status: done.status, body: await done.text() };
}

/**
 * Follows an authorize link like the operator's browser when the sandbox Zendesk shows its consent
 * page (the demo account does), and clicks Allow; an auto-approving account skips the page.
 */
export async function authorizeWithConsent(link: string): Promise<{ status: number; body: string }> {
  const toZendesk = await fetch(link, { redirect: 'manual' });
  const consentUrl = toZendesk.headers.get('location');
  if (toZendesk.status !== 302 || !consentUrl)
    throw new Error(`the authorize link answered ${toZendesk.status}: ${await toZendesk.text()}`);
  const page = await fetch(consentUrl, { redirect: 'manual' });
  let callback = page.headers.get('location');
  if (page.status === 200) {
    const consentId = /name="consent_id" value="([^"]+)"/.exec(await page.text())?.[1];
    if (consentId === undefined) throw new Error('the sandbox consent page holds no consent form');
    const allow = await fetch(new URL('../authorizations', consentUrl), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ consent_id: consentId, decision: 'allow' }).toString(),
      redirect: 'manual',
    });
    callback = allow.headers.get('location');
    if (allow.status !== 302 || !callback)
      throw new Error(`Allow on the consent page answered ${allow.status}: ${await allow.text()}`);
  } else if (page.status !== 302 || !callback) {
    throw new Error(`the Zendesk consent answered ${page.status}: ${await page.text()}`);
  }
  const done = await fetch(callback);
  return { status: done.status, body: await done.text() };
}

const EVENT_WORKFLOW_TYPES = ['syncCustomer', 'syncStoreganiseRentalEvent'];

export async function runningEventWorkflows(client: Client, subdomain: string): Promise<number> {
  const types = EVENT_WORKFLOW_TYPES.map((t) => `'${t}'`).join(', ');
  return (
    await client.workflow.count(
      `SyncAccount = '${subdomain}' AND ExecutionStatus = 'Running' AND WorkflowType IN (${types})`,
    )
  ).count;
}

/**
 * Events queued or running on the account's customer workflows, and conflicts waiting for an
 * event still on its way, asked of each customer (visibility lags; a query does not).
 */
async function pendingOnCustomers(client: Client, subdomain: string): Promise<number> {
  let pending = 0;
  for await (const customer of client.workflow.list({
    query: `SyncAccount = '${subdomain}' AND ExecutionStatus = 'Running' AND WorkflowType = 'customerWorkflow'`,
  })) {
    try {
      const status = await client.workflow.getHandle(customer.workflowId).query(customerStatusQuery);
      pending += status.queued + (status.running === null ? 0 : 1) + status.deferred.length;
    } catch {
      // A customer that cannot answer (closed meanwhile, or no worker to replay it) has nothing it could start.
    }
  }
  return pending;
}

/**
 * Waits until the sandboxes have delivered every webhook, no event workflow of the account runs and
 * no customer workflow holds a queued event or a waiting conflict, echoes included. A queued
 * event reaches its customer before the webhook is answered, and the customer starts it within
 * one workflow task: a few quiet looks in a row mean nothing is left in flight.
 */
export async function settleAccount(
  client: Client,
  sandboxes: Array<{ idle(): Promise<void> }>,
  subdomain: string,
  timeoutMs: number,
  stillAlive?: () => void,
): Promise<void> {
  let quietChecks = 0;
  const deadline = Date.now() + timeoutMs;
  while (quietChecks < 3) {
    stillAlive?.();
    if (Date.now() > deadline)
      throw new Error(
        `account ${subdomain} did not settle in ${timeoutMs} ms: ${await runningEventWorkflows(client, subdomain)} event workflows still running`,
      );
    await Promise.all(sandboxes.map((s) => s.idle()));
    const quiet =
      (await runningEventWorkflows(client, subdomain)) === 0 && (await pendingOnCustomers(client, subdomain)) === 0;
    quietChecks = quiet ? quietChecks + 1 : 0;
    await sleep(150);
  }
}

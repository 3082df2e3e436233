import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  log,
  makeContinueAsNewFunc,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities';
import { webhookRegistrationTask } from '../domain/tasks';
import {
  ACCOUNT_MEMO_KEY,
  accountQuery,
  authorizeSignal,
  disconnectUpdate,
  NON_RETRYABLE_TYPES,
  obtainAccessTokenUpdate,
  raiseAdminTaskUpdate,
  recheckSettingsSignal,
  registerAccountSignal,
  reportUnauthorizedUpdate,
  settingsFixedSignal,
  storeGrantUpdate,
  waitForValidSettingsUpdate,
  type AccessTokenResult,
  type AccountDirectoryEntry,
  type AccountRef,
  type AccountSettingsView,
  type AccountView,
  type ConnectionState,
  FailureType,
  type SealedGrant,
  ZENDESK_RATE_LIMIT_MEMO_KEY,
  zendeskRateLimitedSignal,
  type ZendeskRateLimit,
} from './definitions';
import { Mutex } from './mutex';

const acts = proxyActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '1 minute', nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

/**
 * Closing a task nobody needs any more is worth a few tries, not an account stuck behind an endpoint
 * that is only assumed (see the Storeganise adapter): after the last try the task stays open.
 */
const taskActs = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 seconds',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 4, nonRetryableErrorTypes: NON_RETRYABLE_TYPES },
});

/** While events wait for valid settings, the account re-reads them this often. */
const SETTINGS_RECHECK_MS = 30_000;
/** After a refused activation or webhook registration the next attempt waits this long, doubling up to the maximum. */
const RETRY_BASE_MS = 1_000;
const RETRY_MAX_MS = 10 * 60_000;
const retryDelay = (failures: number): number => Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
/** How long a raised task's key silences the same problem; after that, a recurrence raises a new task. */
const TASK_MEMORY_MS = 7 * 24 * 60 * 60_000;
/** An unexpired token refused this soon after it was issued means the grant itself is revoked: refreshing would loop. */
const FRESH_TOKEN_MS = 60_000;
const MAX_REFRESH_MARGIN_MS = 5 * 60_000;
/** How often the add-on settings are read again, so the memo the API and the runs use stays current. */
const SETTINGS_REFRESH_MS = 60_000;
/**
 * Marks the version that publishes the account's directory entry as its memo and keeps the
 * settings in it; histories recorded before it replay without either.
 */
const DIRECTORY_PATCH = 'account-directory-memo';
/** Marks the version that closes the open authorize tasks once an authorization succeeds. */
const CLOSE_AUTHORIZE_TASKS_PATCH = 'close-authorize-tasks';
/**
 * Marks the version that holds the Zendesk 429 gate for every worker (ZENDESK_RATE_LIMIT_MEMO_KEY);
 * histories recorded before it replay without the memo updates.
 */
const RATE_GATE_PATCH = 'account-zendesk-rate-gate';

export interface AccountWorkflowInput {
  account: AccountRef;
  /** Carried over by continue-as-new; absent on the first run. */
  state?: AccountState;
}

export interface AccountState {
  account: AccountRef;
  activated: boolean;
  connection: ConnectionState;
  grant: (SealedGrant & { version: number }) | null;
  /** Bumped on every new access token, so a 401 can tell an old token from the current one. */
  tokenVersion: number;
  /** Successful authorizations so far: one authorize task is raised per lost connection. */
  authorizations: number;
  authorizeTaskRaisedFor: number | null;
  webhook: { id: string; sealedSecret: string } | null;
  webhookWanted: boolean;
  /** OAuth `state` nonces already redeemed, with their expiry (epoch ms). */
  usedStateNonces: Record<string, number>;
  waitingForAuthorization: string[];
  waitingForSettings: string[];
  settingsProblems: string[] | null;
  raisedTasks: Record<string, number>;
  /** The settings as last read (absent in states carried over from before the directory memo). */
  settings?: AccountSettingsView | null;
  /** The latest Zendesk 429 block a worker reported (absent before the shared gate). */
  zendeskRateLimit?: ZendeskRateLimit | null;
  /** Job ids of the authorize tasks raised and not yet closed (absent in states carried over from before). */
  openAuthorizeTasks?: string[];
  /** Authorize tasks an authorization made obsolete, waiting to be marked done in Storeganise. */
  authorizeTasksToClose?: string[];
}

export function directoryEntryOf(state: AccountState): AccountDirectoryEntry {
  return {
    ...state.account,
    connection: state.connection,
    sealedWebhookSecret: state.webhook?.sealedSecret ?? null,
    webhookId: state.webhook?.id ?? null,
    settings: state.settings ?? null,
  };
}

function newAccountState(account: AccountRef): AccountState {
  return {
    account,
    activated: false,
    connection: 'awaiting-authorization',
    grant: null,
    tokenVersion: 0,
    authorizations: 0,
    authorizeTaskRaisedFor: null,
    webhook: null,
    webhookWanted: false,
    usedStateNonces: {},
    waitingForAuthorization: [],
    waitingForSettings: [],
    settingsProblems: null,
    raisedTasks: {},
  };
}

function refreshAt(grant: SealedGrant): number | null {
  if (grant.accessExpiresAt === null) return null;
  const margin = Math.min(MAX_REFRESH_MARGIN_MS, (grant.accessExpiresAt - grant.issuedAt) / 3);
  return grant.accessExpiresAt - margin;
}

function failureOf(err: unknown): { type: string | null; message: string } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return { type: cause.type ?? null, message: cause.message };
  return { type: null, message: cause instanceof Error ? cause.message : String(cause) };
}

async function signalAll(workflowIds: string[], signal: typeof authorizeSignal | typeof settingsFixedSignal): Promise<void> {
  // A waiter terminated by an operator can no longer be signalled; the others still are.
  await Promise.allSettled(workflowIds.map((id) => getExternalWorkflowHandle(id).signal(signal)));
}

/**
 * One per Storeganise account, for as long as the installation serves it: registration, first
 * activation, the Zendesk grant (refreshed one at a time), the self-registered webhook, and the
 * event workflows parked until authorization or valid settings.
 */
export async function accountWorkflow(input: AccountWorkflowInput): Promise<void> {
  const state = input.state ?? newAccountState(input.account);
  const mutex = new Mutex();
  let recheckRequested = false;
  const ref = (): AccountRef => state.account;

  // Both run inside the mutex; a task counts as raised once Storeganise took it, so a refused attempt is made again.
  const raiseAuthorizeTaskOnce = async (): Promise<void> => {
    if (state.authorizeTaskRaisedFor === state.authorizations) return;
    const taskId = await acts.raiseAuthorizeTask(ref());
    state.authorizeTaskRaisedFor = state.authorizations;
    state.openAuthorizeTasks = [...(state.openAuthorizeTasks ?? []), taskId];
  };
  const raiseSettingsTaskOnce = async (problems: string[]): Promise<void> => {
    if (state.settingsProblems?.join('\n') !== problems.join('\n')) await acts.raiseInvalidSettingsTask(ref(), problems);
    state.settingsProblems = problems;
  };
  let published = '';
  /** Publishes what the API and the runs read without a worker: the directory entry, as the memo. */
  const publish = (): void => {
    if (!patched(DIRECTORY_PATCH)) return;
    const entry = directoryEntryOf(state);
    const serialised = JSON.stringify(entry);
    if (serialised === published) return;
    published = serialised;
    upsertMemo({ [ACCOUNT_MEMO_KEY]: entry });
  };
  const checkSettings = async (): Promise<AccountSettingsView> => {
    const result = await acts.checkSettings(ref());
    // Results recorded by the previous version carried the manual secret in clear: not kept.
    if (result.ok && !('webhookSecretFingerprint' in result.settings)) return result;
    const before = state.settings;
    // A secret sealed again has a new ciphertext: keep the old one while it is the same secret.
    const unchangedSecret = result.ok && before?.ok && result.settings.webhookSecretFingerprint === before.settings.webhookSecretFingerprint;
    state.settings = unchangedSecret && before?.ok ? { ok: true, settings: { ...result.settings, sealedWebhookSecret: before.settings.sealedWebhookSecret } } : result;
    publish();
    return result;
  };
  const setGrant = (grant: SealedGrant): void => {
    state.grant = { ...grant, version: ++state.tokenVersion };
  };
  const loseGrant = async (): Promise<void> => {
    state.grant = null;
    if (state.connection === 'connected') state.connection = 'awaiting-authorization';
    publish();
    await raiseAuthorizeTaskOnce();
  };
  const refreshGrant = async (): Promise<void> => {
    const refreshToken = state.grant?.sealedRefreshToken;
    if (!refreshToken) return loseGrant();
    const result = await acts.refreshZendeskGrant(ref(), refreshToken);
    if (result.status === 'ok') setGrant(result.grant);
    else await loseGrant();
  };
  const ensureFreshToken = async (): Promise<void> => {
    const due = state.grant ? refreshAt(state.grant) : null;
    if (due !== null && Date.now() >= due) await refreshGrant();
  };
  const tokenResult = (): AccessTokenResult =>
    state.grant
      ? { status: 'ok', sealedAccessToken: state.grant.sealedAccessToken, tokenVersion: state.grant.version, usableUntil: refreshAt(state.grant) }
      : { status: 'unauthorized', tokenVersion: state.tokenVersion };

  setHandler(registerAccountSignal, ({ apiUrl, addonId }) => {
    state.account = { ...state.account, apiUrl, addonId };
    publish();
  });
  setHandler(recheckSettingsSignal, () => {
    recheckRequested = true;
  });
  // The block is published as soon as it is reported; workers read it before every Zendesk call.
  const publishRateLimit = (limit: ZendeskRateLimit): void => {
    if (!patched(RATE_GATE_PATCH)) return;
    upsertMemo({ [ZENDESK_RATE_LIMIT_MEMO_KEY]: limit });
  };
  setHandler(zendeskRateLimitedSignal, (limit) => {
    const current = state.zendeskRateLimit;
    if (current && current.instance === limit.instance && current.until >= limit.until) return;
    state.zendeskRateLimit = limit;
    publishRateLimit(limit);
  });
  // A memo does not follow continue-as-new: a block still in force is published again.
  if (state.zendeskRateLimit && state.zendeskRateLimit.until > Date.now()) publishRateLimit(state.zendeskRateLimit);
  setHandler(
    accountQuery,
    (): AccountView => ({
      ...state.account,
      connection: state.connection,
      sealedWebhookSecret: state.webhook?.sealedSecret ?? null,
      webhookId: state.webhook?.id ?? null,
      usedStateNonces: Object.keys(state.usedStateNonces),
      pausedForAuthorization: state.waitingForAuthorization.length,
      pausedForSettings: state.waitingForSettings.length,
      settingsProblems: state.settingsProblems,
    }),
  );
  setHandler(obtainAccessTokenUpdate, () =>
    mutex.run(async () => {
      await ensureFreshToken();
      return tokenResult();
    }),
  );
  setHandler(reportUnauthorizedUpdate, ({ tokenVersion, workflowId }) =>
    mutex.run(async () => {
      if (state.grant && state.grant.version !== tokenVersion) return 'retry';
      if (state.grant) {
        const expired = state.grant.accessExpiresAt !== null && Date.now() >= state.grant.accessExpiresAt;
        if (!expired && Date.now() - state.grant.issuedAt < FRESH_TOKEN_MS) await loseGrant();
        else await refreshGrant();
        if (state.grant) return 'retry';
      }
      if (!state.waitingForAuthorization.includes(workflowId)) state.waitingForAuthorization.push(workflowId);
      if (state.connection !== 'disconnected') await raiseAuthorizeTaskOnce();
      return 'paused';
    }),
  );
  setHandler(
    storeGrantUpdate,
    ({ stateNonce, stateExpiresAt, grant }) =>
      mutex.run(async () => {
        // Two updates for one link can both pass the validator; only a Temporal failure rejects the second
        // without failing the workflow task (and with it every update of the account).
        if (state.usedStateNonces[stateNonce] !== undefined) throw ApplicationFailure.nonRetryable('this authorization link was already used');
        state.usedStateNonces[stateNonce] = stateExpiresAt;
        setGrant(grant);
        state.authorizations++;
        state.connection = 'connected';
        state.webhookWanted = true;
        // The operator acted on the open authorize tasks: they are closed, so an open one always means "act now".
        if ((state.openAuthorizeTasks ?? []).length > 0 && patched(CLOSE_AUTHORIZE_TASKS_PATCH)) {
          state.authorizeTasksToClose = [...(state.authorizeTasksToClose ?? []), ...(state.openAuthorizeTasks ?? [])];
          state.openAuthorizeTasks = [];
        }
        publish();
        const waiters = state.waitingForAuthorization;
        state.waitingForAuthorization = [];
        await signalAll(waiters, authorizeSignal);
      }),
    {
      validator: ({ stateNonce }: { stateNonce: string }) => {
        if (state.usedStateNonces[stateNonce] !== undefined) throw new Error('this authorization link was already used');
      },
    },
  );
  setHandler(waitForValidSettingsUpdate, ({ workflowId }) =>
    mutex.run(async () => {
      const result = await checkSettings();
      if (result.ok) {
        state.settingsProblems = null;
        return 'retry';
      }
      if (!state.waitingForSettings.includes(workflowId)) state.waitingForSettings.push(workflowId);
      await raiseSettingsTaskOnce(result.problems);
      return 'paused';
    }),
  );
  setHandler(raiseAdminTaskUpdate, ({ key, task }) =>
    mutex.run(async () => {
      if (state.raisedTasks[key] !== undefined) return 'already-raised';
      await acts.createAdminTask(ref(), task);
      state.raisedTasks[key] = Date.now();
      return 'raised';
    }),
  );
  setHandler(disconnectUpdate, () =>
    mutex.run(async () => {
      await ensureFreshToken();
      await acts.disconnectZendesk(ref(), state.grant?.sealedAccessToken ?? null, state.webhook?.id ?? null);
      state.grant = null;
      state.webhook = null;
      state.webhookWanted = false;
      state.connection = 'disconnected';
      publish();
    }),
  );

  // A refusal from Storeganise (e.g. the add-on disabled meanwhile) must not end the account: it is tried again later.
  for (let failures = 0; !state.activated; ) {
    try {
      await mutex.run(async () => {
        await acts.ensureUserCustomFields(ref());
        const settings = await checkSettings();
        if (!settings.ok) await raiseSettingsTaskOnce(settings.problems);
        await raiseAuthorizeTaskOnce();
        state.activated = true;
      });
    } catch (err) {
      failures++;
      log.warn('account activation failed; trying again later', { account: state.account.subdomain, failures, reason: failureOf(err).message });
      await sleep(retryDelay(failures));
    }
  }

  publish();
  const shouldRoll = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000;
  let settingsRefreshAt = Date.now() + SETTINGS_REFRESH_MS;
  let webhookFailures = 0;
  let webhookRetryAt = 0;
  const webhookDue = (): boolean => state.webhookWanted && state.grant !== null && Date.now() >= webhookRetryAt;
  const tasksToClose = (): boolean => (state.authorizeTasksToClose ?? []).length > 0;
  for (;;) {
    const ready = () => recheckRequested || webhookDue() || shouldRoll() || tasksToClose();
    const wakeUps = [
      ...(state.waitingForSettings.length > 0 ? [SETTINGS_RECHECK_MS] : []),
      ...(state.webhookWanted && webhookRetryAt > Date.now() ? [webhookRetryAt - Date.now()] : []),
      ...(patched(DIRECTORY_PATCH) ? [Math.max(1, settingsRefreshAt - Date.now())] : []),
    ];
    if (wakeUps.length > 0) await condition(ready, Math.min(...wakeUps));
    else await condition(ready);

    if (webhookDue()) {
      try {
        await mutex.run(async () => {
          await ensureFreshToken();
          if (!state.grant) return;
          const { webhookId, sealedSecret } = await acts.registerZendeskWebhook(ref(), state.grant.sealedAccessToken);
          state.webhook = { id: webhookId, sealedSecret };
          state.webhookWanted = false;
          publish();
        });
        webhookFailures = 0;
      } catch (err) {
        // Refused (e.g. the person who authorized is not a Zendesk admin): users keep syncing, the
        // registration is tried again with backoff, and the operator is told once per streak.
        webhookFailures++;
        webhookRetryAt = Date.now() + retryDelay(webhookFailures);
        const failure = failureOf(err);
        log.warn('Zendesk webhook registration failed; trying again later', { account: state.account.subdomain, failures: webhookFailures, reason: failure.message });
        if (webhookFailures === 1 && failure.type !== FailureType.zendeskUnauthorized) {
          await mutex
            .run(() => acts.createAdminTask(ref(), webhookRegistrationTask(state.account.addonId, failure.message)))
            .catch((taskErr: unknown) => log.warn('could not raise the webhook task', { account: state.account.subdomain, reason: failureOf(taskErr).message }));
        }
      }
    }
    if (tasksToClose()) {
      const taskIds = state.authorizeTasksToClose ?? [];
      state.authorizeTasksToClose = [];
      for (const taskId of taskIds) {
        try {
          const outcome = await taskActs.completeAdminTask(ref(), taskId);
          log.info('authorize task closed', { account: state.account.subdomain, taskId, outcome });
        } catch (err) {
          log.warn('could not close the authorize task; it stays open', { account: state.account.subdomain, taskId, reason: failureOf(err).message });
        }
      }
    }
    const refreshDue = patched(DIRECTORY_PATCH) && Date.now() >= settingsRefreshAt;
    if (recheckRequested || refreshDue || state.waitingForSettings.length > 0) {
      recheckRequested = false;
      if (refreshDue) settingsRefreshAt = Date.now() + SETTINGS_REFRESH_MS;
      try {
        await mutex.run(async () => {
          const result = await checkSettings();
          if (!result.ok) return raiseSettingsTaskOnce(result.problems);
          state.settingsProblems = null;
          const waiters = state.waitingForSettings;
          state.waitingForSettings = [];
          await signalAll(waiters, settingsFixedSignal);
        });
      } catch (err) {
        // E.g. the add-on disabled meanwhile: the parked events stay parked until a later recheck succeeds.
        log.warn('settings recheck failed', { account: state.account.subdomain, reason: failureOf(err).message });
      }
    }
    const now = Date.now();
    for (const [nonce, expiresAt] of Object.entries(state.usedStateNonces)) if (expiresAt < now) delete state.usedStateNonces[nonce];
    for (const [key, raisedAt] of Object.entries(state.raisedTasks)) if (now - raisedAt > TASK_MEMORY_MS) delete state.raisedTasks[key];
    if (shouldRoll()) {
      await condition(allHandlersFinished);
      // The next run starts with the directory entry, so the API never sees the account without one.
      const next = patched(DIRECTORY_PATCH) ? makeContinueAsNewFunc<typeof accountWorkflow>({ memo: { [ACCOUNT_MEMO_KEY]: directoryEntryOf(state) } }) : continueAsNew<typeof accountWorkflow>;
      await next({ account: state.account, state });
    }
  }
}

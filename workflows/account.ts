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
  type PauseDecision,
  FailureType,
  type SealedGrant,
  ZENDESK_RATE_LIMIT_MEMO_KEY,
  zendeskRateLimitedSignal,
  type ZendeskRateLimit,
} from './definitions';
import { Mutex } from './mutex';

const acts = proxyActivities<SyncActivities>({
  startToCloseTimeout: '1 minute',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
});

/**
 * Closing a task nobody needs any more is worth a few tries, not an account stuck behind an endpoint
 * that is only assumed (see the Storeganise adapter): after the last try the task stays open.
 */
const taskActs = proxyActivities<SyncActivities>({
  startToCloseTimeout: '30 seconds',
  retry: {
    initialInterval: '1 second',
    backoffCoefficient: 2,
    maximumInterval: '10 seconds',
    maximumAttempts: 4,
    nonRetryableErrorTypes: NON_RETRYABLE_TYPES,
  },
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
/**
 * Marks the version that starts the account's reconciliation and initial import after the first
 * authorization (and on the first step of an account authorized before it), and wakes the
 * reconciliation after every later authorization so the gap of a pause or disconnect is covered.
 */
const BULK_WORK_PATCH = 'reconcile-and-import';

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
  /** The reconciliation and the initial import, once started (absent in states carried over from before). */
  bulk?: BulkWorkState;
}

export interface BulkWorkState {
  reconcileStarted: boolean;
  importStarted: boolean;
  /** Authorizations after which a reconciliation run was asked for, and how many were passed on. */
  wakesWanted: number;
  wakesSent: number;
}

const noBulkWork = (): BulkWorkState => ({
  reconcileStarted: false,
  importStarted: false,
  wakesWanted: 0,
  wakesSent: 0,
});

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

async function signalAll(
  workflowIds: string[],
  signal: typeof authorizeSignal | typeof settingsFixedSignal,
): Promise<void> {
  // A waiter terminated by an operator can no longer be signalled; the others still are.
  await Promise.allSettled(workflowIds.map((id) => getExternalWorkflowHandle(id).signal(signal)));
}

const shouldRoll = (): boolean => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 2_000;

/**
 * The account's state and what each message does to it. Handlers that call activities run one
 * at a time (`mutex`); the main loop (`Account.run`) does the timed work between messages.
 */
class Account {
  readonly state: AccountState;
  private readonly mutex = new Mutex();
  private recheckRequested = false;
  /** True once this execution runs the version with reconciliation and import (BULK_WORK_PATCH). */
  private bulkArmed = false;
  private published = '';

  constructor(input: AccountWorkflowInput) {
    this.state = input.state ?? newAccountState(input.account);
  }

  private get ref(): AccountRef {
    return this.state.account;
  }

  // ---- state changes shared by handlers and the loop (callers hold the mutex) ----

  /** A task counts as raised once Storeganise took it, so a refused attempt is made again. */
  private async raiseAuthorizeTaskOnce(): Promise<void> {
    const { state } = this;
    if (state.authorizeTaskRaisedFor === state.authorizations) return;
    const taskId = await acts.raiseAuthorizeTask(this.ref);
    state.authorizeTaskRaisedFor = state.authorizations;
    state.openAuthorizeTasks = [...(state.openAuthorizeTasks ?? []), taskId];
  }

  private async raiseSettingsTaskOnce(problems: string[]): Promise<void> {
    if (this.state.settingsProblems?.join('\n') !== problems.join('\n'))
      await acts.raiseInvalidSettingsTask(this.ref, problems);
    this.state.settingsProblems = problems;
  }

  /** Publishes what the API and the runs read without a worker: the directory entry, as the memo. */
  publish(): void {
    if (!patched(DIRECTORY_PATCH)) return;
    const entry = directoryEntryOf(this.state);
    const serialised = JSON.stringify(entry);
    if (serialised === this.published) return;
    this.published = serialised;
    upsertMemo({ [ACCOUNT_MEMO_KEY]: entry });
  }

  private async checkSettings(): Promise<AccountSettingsView> {
    const result = await acts.checkSettings(this.ref);
    // Results recorded by the previous version carried the manual secret in clear: not kept.
    if (result.ok && !('webhookSecretFingerprint' in result.settings)) return result;
    const before = this.state.settings;
    // A secret sealed again has a new ciphertext: keep the old one while it is the same secret.
    const unchangedSecret =
      result.ok && before?.ok && result.settings.webhookSecretFingerprint === before.settings.webhookSecretFingerprint;
    this.state.settings =
      unchangedSecret && before?.ok
        ? { ok: true, settings: { ...result.settings, sealedWebhookSecret: before.settings.sealedWebhookSecret } }
        : result;
    this.publish();
    return result;
  }

  private setGrant(grant: SealedGrant): void {
    this.state.grant = { ...grant, version: ++this.state.tokenVersion };
  }

  private async loseGrant(): Promise<void> {
    this.state.grant = null;
    if (this.state.connection === 'connected') this.state.connection = 'awaiting-authorization';
    this.publish();
    await this.raiseAuthorizeTaskOnce();
  }

  private async refreshGrant(): Promise<void> {
    const refreshToken = this.state.grant?.sealedRefreshToken;
    if (!refreshToken) return this.loseGrant();
    const result = await acts.refreshZendeskGrant(this.ref, refreshToken);
    if (result.status === 'ok') this.setGrant(result.grant);
    else await this.loseGrant();
  }

  private async ensureFreshToken(): Promise<void> {
    const due = this.state.grant ? refreshAt(this.state.grant) : null;
    if (due !== null && Date.now() >= due) await this.refreshGrant();
  }

  private tokenResult(): AccessTokenResult {
    const { grant, tokenVersion } = this.state;
    return grant
      ? {
          status: 'ok',
          sealedAccessToken: grant.sealedAccessToken,
          tokenVersion: grant.version,
          usableUntil: refreshAt(grant),
        }
      : { status: 'unauthorized', tokenVersion };
  }

  /** The block is published as soon as it is reported; workers read it before every Zendesk call. */
  private publishRateLimit(limit: ZendeskRateLimit): void {
    if (!patched(RATE_GATE_PATCH)) return;
    upsertMemo({ [ZENDESK_RATE_LIMIT_MEMO_KEY]: limit });
  }

  // ---- handlers ----

  registerHandlers(): void {
    const { state, mutex } = this;
    setHandler(registerAccountSignal, ({ apiUrl, addonId }) => {
      state.account = { ...state.account, apiUrl, addonId };
      this.publish();
    });
    setHandler(recheckSettingsSignal, () => {
      this.recheckRequested = true;
    });
    setHandler(zendeskRateLimitedSignal, (limit) => {
      const current = state.zendeskRateLimit;
      if (current && current.instance === limit.instance && current.until >= limit.until) return;
      state.zendeskRateLimit = limit;
      this.publishRateLimit(limit);
    });
    // A memo does not follow continue-as-new: a block still in force is published again.
    if (state.zendeskRateLimit && state.zendeskRateLimit.until > Date.now())
      this.publishRateLimit(state.zendeskRateLimit);
    setHandler(accountQuery, (): AccountView => ({
      ...state.account,
      connection: state.connection,
      sealedWebhookSecret: state.webhook?.sealedSecret ?? null,
      webhookId: state.webhook?.id ?? null,
      usedStateNonces: Object.keys(state.usedStateNonces),
      pausedForAuthorization: state.waitingForAuthorization.length,
      pausedForSettings: state.waitingForSettings.length,
      settingsProblems: state.settingsProblems,
    }));
    setHandler(obtainAccessTokenUpdate, () =>
      mutex.run(async () => {
        await this.ensureFreshToken();
        return this.tokenResult();
      }),
    );
    setHandler(reportUnauthorizedUpdate, ({ tokenVersion, workflowId }) =>
      mutex.run(() => this.reportUnauthorized(tokenVersion, workflowId)),
    );
    setHandler(storeGrantUpdate, (grant) => mutex.run(() => this.storeGrant(grant)), {
      validator: ({ stateNonce }: { stateNonce: string }) => {
        if (state.usedStateNonces[stateNonce] !== undefined)
          throw new Error('this authorization link was already used');
      },
    });
    setHandler(waitForValidSettingsUpdate, ({ workflowId }) =>
      mutex.run(async () => {
        const result = await this.checkSettings();
        if (result.ok) {
          state.settingsProblems = null;
          return 'retry';
        }
        if (!state.waitingForSettings.includes(workflowId)) state.waitingForSettings.push(workflowId);
        await this.raiseSettingsTaskOnce(result.problems);
        return 'paused';
      }),
    );
    setHandler(raiseAdminTaskUpdate, ({ key, task }) =>
      mutex.run(async () => {
        if (state.raisedTasks[key] !== undefined) return 'already-raised';
        await acts.createAdminTask(this.ref, task);
        state.raisedTasks[key] = Date.now();
        return 'raised';
      }),
    );
    setHandler(disconnectUpdate, () =>
      mutex.run(async () => {
        await this.ensureFreshToken();
        await acts.disconnectZendesk(this.ref, state.grant?.sealedAccessToken ?? null, state.webhook?.id ?? null);
        state.grant = null;
        state.webhook = null;
        state.webhookWanted = false;
        state.connection = 'disconnected';
        this.publish();
      }),
    );
  }

  private async reportUnauthorized(tokenVersion: number, workflowId: string): Promise<PauseDecision> {
    const { state } = this;
    if (state.grant && state.grant.version !== tokenVersion) return 'retry';
    if (state.grant) {
      const expired = state.grant.accessExpiresAt !== null && Date.now() >= state.grant.accessExpiresAt;
      if (!expired && Date.now() - state.grant.issuedAt < FRESH_TOKEN_MS) await this.loseGrant();
      else await this.refreshGrant();
      if (state.grant) return 'retry';
    }
    if (!state.waitingForAuthorization.includes(workflowId)) state.waitingForAuthorization.push(workflowId);
    if (state.connection !== 'disconnected') await this.raiseAuthorizeTaskOnce();
    return 'paused';
  }

  private async storeGrant({
    stateNonce,
    stateExpiresAt,
    grant,
  }: {
    stateNonce: string;
    stateExpiresAt: number;
    grant: SealedGrant;
  }): Promise<void> {
    const { state } = this;
    // Two updates for one link can both pass the validator; only a Temporal failure rejects the second
    // without failing the workflow task (and with it every update of the account).
    if (state.usedStateNonces[stateNonce] !== undefined)
      throw ApplicationFailure.nonRetryable('this authorization link was already used');
    state.usedStateNonces[stateNonce] = stateExpiresAt;
    this.setGrant(grant);
    state.authorizations++;
    state.connection = 'connected';
    state.webhookWanted = true;
    if (patched(BULK_WORK_PATCH)) {
      this.bulkArmed = true;
      const bulk = state.bulk ?? noBulkWork();
      // After the first authorization the reconciliation starts (with the import); after a later one it runs now.
      state.bulk = bulk.reconcileStarted ? { ...bulk, wakesWanted: bulk.wakesWanted + 1 } : bulk;
    }
    // The operator acted on the open authorize tasks: they are closed, so an open one always means "act now".
    if ((state.openAuthorizeTasks ?? []).length > 0 && patched(CLOSE_AUTHORIZE_TASKS_PATCH)) {
      state.authorizeTasksToClose = [...(state.authorizeTasksToClose ?? []), ...(state.openAuthorizeTasks ?? [])];
      state.openAuthorizeTasks = [];
    }
    this.publish();
    const waiters = state.waitingForAuthorization;
    state.waitingForAuthorization = [];
    await signalAll(waiters, authorizeSignal);
  }

  // ---- the main loop ----

  /** A refusal from Storeganise (e.g. the add-on disabled meanwhile) must not end the account: it is tried again later. */
  async activate(): Promise<void> {
    for (let failures = 0; !this.state.activated;) {
      try {
        await this.mutex.run(async () => {
          await acts.ensureUserCustomFields(this.ref);
          const settings = await this.checkSettings();
          if (!settings.ok) await this.raiseSettingsTaskOnce(settings.problems);
          await this.raiseAuthorizeTaskOnce();
          this.state.activated = true;
        });
      } catch (err) {
        failures++;
        log.warn('account activation failed; trying again later', {
          account: this.state.account.subdomain,
          failures,
          reason: failureOf(err).message,
        });
        await sleep(retryDelay(failures));
      }
    }
    this.publish();
  }

  private settingsRefreshAt = 0;
  private webhookFailures = 0;
  private webhookRetryAt = 0;
  private bulkFailures = 0;
  private bulkRetryAt = 0;

  private webhookDue(): boolean {
    return this.state.webhookWanted && this.state.grant !== null && Date.now() >= this.webhookRetryAt;
  }

  private tasksToClose(): boolean {
    return (this.state.authorizeTasksToClose ?? []).length > 0;
  }

  private bulkWanted(): boolean {
    const { state } = this;
    const bulk = state.bulk ?? noBulkWork();
    return (
      this.bulkArmed &&
      state.connection === 'connected' &&
      state.grant !== null &&
      (!bulk.reconcileStarted || !bulk.importStarted || bulk.wakesWanted > bulk.wakesSent)
    );
  }

  private bulkDue(): boolean {
    return this.bulkWanted() && Date.now() >= this.bulkRetryAt;
  }

  /** Waits for work, does it, and continues as new before the history grows long. Never returns. */
  async run(): Promise<never> {
    const { state } = this;
    this.settingsRefreshAt = Date.now() + SETTINGS_REFRESH_MS;
    for (;;) {
      if (!this.bulkArmed) this.bulkArmed = patched(BULK_WORK_PATCH);
      const ready = () =>
        this.recheckRequested || this.webhookDue() || shouldRoll() || this.tasksToClose() || this.bulkDue();
      const wakeUps = [
        ...(state.waitingForSettings.length > 0 ? [SETTINGS_RECHECK_MS] : []),
        ...(state.webhookWanted && this.webhookRetryAt > Date.now() ? [this.webhookRetryAt - Date.now()] : []),
        ...(this.bulkWanted() && this.bulkRetryAt > Date.now() ? [this.bulkRetryAt - Date.now()] : []),
        ...(patched(DIRECTORY_PATCH) ? [Math.max(1, this.settingsRefreshAt - Date.now())] : []),
      ];
      if (wakeUps.length > 0) await condition(ready, Math.min(...wakeUps));
      else await condition(ready);

      if (this.webhookDue()) await this.registerWebhook();
      if (this.bulkDue()) await this.startBulkWork();
      if (this.tasksToClose()) await this.closeAuthorizeTasks();
      const refreshDue = patched(DIRECTORY_PATCH) && Date.now() >= this.settingsRefreshAt;
      if (this.recheckRequested || refreshDue || state.waitingForSettings.length > 0) {
        this.recheckRequested = false;
        if (refreshDue) this.settingsRefreshAt = Date.now() + SETTINGS_REFRESH_MS;
        await this.recheckSettings();
      }
      forgetExpired(state, Date.now());
      if (shouldRoll()) {
        await condition(allHandlersFinished);
        // The next run starts with the directory entry, so the API never sees the account without one.
        const next = patched(DIRECTORY_PATCH)
          ? makeContinueAsNewFunc<typeof accountWorkflow>({ memo: { [ACCOUNT_MEMO_KEY]: directoryEntryOf(state) } })
          : continueAsNew<typeof accountWorkflow>;
        await next({ account: state.account, state });
      }
    }
  }

  private async registerWebhook(): Promise<void> {
    const { state } = this;
    try {
      await this.mutex.run(async () => {
        await this.ensureFreshToken();
        if (!state.grant) return;
        const { webhookId, sealedSecret } = await acts.registerZendeskWebhook(this.ref, state.grant.sealedAccessToken);
        state.webhook = { id: webhookId, sealedSecret };
        state.webhookWanted = false;
        this.publish();
      });
      this.webhookFailures = 0;
    } catch (err) {
      // Refused (e.g. the person who authorized is not a Zendesk admin): users keep syncing, the
      // registration is tried again with backoff, and the operator is told once per streak.
      this.webhookFailures++;
      this.webhookRetryAt = Date.now() + retryDelay(this.webhookFailures);
      const failure = failureOf(err);
      log.warn('Zendesk webhook registration failed; trying again later', {
        account: state.account.subdomain,
        failures: this.webhookFailures,
        reason: failure.message,
      });
      if (this.webhookFailures === 1 && failure.type !== FailureType.zendeskUnauthorized) {
        await this.mutex
          .run(() => acts.createAdminTask(this.ref, webhookRegistrationTask(state.account.addonId, failure.message)))
          .catch((taskErr: unknown) =>
            log.warn('could not raise the webhook task', {
              account: state.account.subdomain,
              reason: failureOf(taskErr).message,
            }),
          );
      }
    }
  }

  private async startBulkWork(): Promise<void> {
    const bulk = this.state.bulk ?? noBulkWork();
    const wakes = bulk.wakesWanted;
    try {
      await taskActs.startBulkWork(this.ref, {
        reconcile: !bulk.reconcileStarted,
        importCustomers: !bulk.importStarted,
        reconcileNow: bulk.reconcileStarted && wakes > bulk.wakesSent,
      });
      // An authorization that came in meanwhile still wakes the reconciliation at the next turn.
      this.state.bulk = { ...(this.state.bulk ?? bulk), reconcileStarted: true, importStarted: true, wakesSent: wakes };
      this.bulkFailures = 0;
    } catch (err) {
      this.bulkFailures++;
      this.bulkRetryAt = Date.now() + retryDelay(this.bulkFailures);
      log.warn('could not start the reconciliation or the import; trying again later', {
        account: this.state.account.subdomain,
        failures: this.bulkFailures,
        reason: failureOf(err).message,
      });
    }
  }

  private async closeAuthorizeTasks(): Promise<void> {
    const taskIds = this.state.authorizeTasksToClose ?? [];
    this.state.authorizeTasksToClose = [];
    for (const taskId of taskIds) {
      try {
        const outcome = await taskActs.completeAdminTask(this.ref, taskId);
        log.info('authorize task closed', { account: this.state.account.subdomain, taskId, outcome });
      } catch (err) {
        log.warn('could not close the authorize task; it stays open', {
          account: this.state.account.subdomain,
          taskId,
          reason: failureOf(err).message,
        });
      }
    }
  }

  private async recheckSettings(): Promise<void> {
    const { state } = this;
    try {
      await this.mutex.run(async () => {
        const result = await this.checkSettings();
        if (!result.ok) return this.raiseSettingsTaskOnce(result.problems);
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
}

/** Forgets used OAuth nonces past their expiry, and task keys past TASK_MEMORY_MS: a recurrence then raises a new task. */
export function forgetExpired(state: Pick<AccountState, 'usedStateNonces' | 'raisedTasks'>, now: number): void {
  for (const [nonce, expiresAt] of Object.entries(state.usedStateNonces))
    if (expiresAt < now) delete state.usedStateNonces[nonce];
  for (const [key, raisedAt] of Object.entries(state.raisedTasks))
    if (now - raisedAt > TASK_MEMORY_MS) delete state.raisedTasks[key];
}

/**
 * One per Storeganise account, for as long as the installation serves it: registration, first
 * activation, the Zendesk grant (refreshed one at a time), the self-registered webhook, the
 * reconciliation and import it starts, and the event workflows parked until authorization or
 * valid settings.
 */
export async function accountWorkflow(input: AccountWorkflowInput): Promise<void> {
  const account = new Account(input);
  account.registerHandlers();
  await account.activate();
  await account.run();
}

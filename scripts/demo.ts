import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { ZENDESK_USER_ID_FIELD } from '../adapters/storeganise';
import { EMAIL_CONFLICT_TITLE } from '../domain/tasks';
import { DEMO_ACCOUNT, DEMO_STATUS_FIELD_KEY } from '../sandbox/demo';
import { authorizeWithConsent } from '../sandbox/installation';
import { StoreganiseSandboxClient, type SandboxSgUser } from '../sandbox/storeganise/client';
import { ZendeskSandboxClient, type SandboxZendeskUser } from '../sandbox/zendesk/client';

// `npm run demo`: a guided walk through what the sync does, against a running `npm start`. It acts
// the way people would (an admin in Storeganise, an agent in Zendesk) through the sandboxes' control
// APIs, and waits for the sync to carry each change across, printing how long that took. A step
// that does not happen in time stops the walk with a non-zero exit.

/** The demo account's Zendesk instance has the same name (`zendesk_instance` of its add-on). */
const ZENDESK_INSTANCE = DEMO_ACCOUNT;

class DemoSetupError extends Error {}
class StepNotSeen extends Error {}

interface DemoSettings {
  apiUrl: string;
  zendeskUrl: string;
  storeganiseUrl: string;
  operatorToken: string | null;
  operatorTokenSource: string;
  stepTimeoutMs: number;
}

const blank = (value: string | undefined): boolean => value === undefined || value.trim() === '';

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  if (blank(env[name])) return fallback;
  const port = Number(String(env[name]).trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new DemoSetupError(`${name}: must be a port number (1-65535), got "${env[name]}"`);
  return port;
}

/** The same variables `npm start` reads, so the demo finds what it started. */
function settingsFrom(env: NodeJS.ProcessEnv): DemoSettings {
  const timeout = blank(env.DEMO_STEP_TIMEOUT_SECONDS) ? 60 : Number(env.DEMO_STEP_TIMEOUT_SECONDS);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new DemoSetupError(
      `DEMO_STEP_TIMEOUT_SECONDS: must be a number of seconds, got "${env.DEMO_STEP_TIMEOUT_SECONDS}"`,
    );
  const tokenFile = path.join(path.resolve(blank(env.DATA_DIR) ? './.data' : String(env.DATA_DIR)), 'operator-token');
  let operatorToken: string | null = blank(env.OPERATOR_TOKEN) ? null : String(env.OPERATOR_TOKEN).trim();
  if (operatorToken === null) {
    try {
      operatorToken = readFileSync(tokenFile, 'utf8').trim();
    } catch {
      // Without it the account's state is not checked first; the steps themselves still tell.
      operatorToken = null;
    }
  }
  return {
    apiUrl: `http://127.0.0.1:${portFrom(env, 'PORT', 3000)}`,
    zendeskUrl: `http://127.0.0.1:${portFrom(env, 'SANDBOX_ZENDESK_PORT', 4010)}`,
    storeganiseUrl: `http://127.0.0.1:${portFrom(env, 'SANDBOX_STOREGANISE_PORT', 4020)}`,
    operatorToken,
    operatorTokenSource: blank(env.OPERATOR_TOKEN) ? tokenFile : 'OPERATOR_TOKEN',
    stepTimeoutMs: timeout * 1000,
  };
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const print = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/** The walk: numbered steps, each an action and what must follow from it on the other side. */
class Tour {
  private done = 0;

  constructor(private readonly timeoutMs: number) {}

  /** Runs `act`, then polls `seen` until it answers (a description of what happened) or the time is up. */
  async step(
    title: string,
    act: () => Promise<string>,
    waitingFor: string,
    seen: () => Promise<string | null>,
  ): Promise<void> {
    const number = this.done + 1;
    print(`${String(number).padStart(2)}. ${title}`);
    const did = await act();
    print(`    ${did}`);
    const started = Date.now();
    for (;;) {
      const outcome = await seen();
      if (outcome !== null) {
        print(`    → ${outcome} (${seconds(Date.now() - started)})`);
        this.done++;
        return;
      }
      if (Date.now() - started > this.timeoutMs)
        throw new StepNotSeen(
          `step ${number} did not happen: ${waitingFor} was not seen within ${seconds(this.timeoutMs)}`,
        );
      await sleep(200);
    }
  }

  get steps(): number {
    return this.done;
  }
}

const AccountAnswer = z.looseObject({ connection: z.string() });

async function accountConnection(settings: DemoSettings): Promise<string | null> {
  if (settings.operatorToken === null) return null;
  const res = await fetch(`${settings.apiUrl}/operator/accounts/${DEMO_ACCOUNT}`, {
    headers: { authorization: `Bearer ${settings.operatorToken}` },
  });
  const text = await res.text();
  if (res.status === 404)
    throw new DemoSetupError(
      `the service does not know the demo account yet (${text.slice(0, 200)}); was it started with \`npm start\`, with the sandboxes?`,
    );
  if (res.status === 401)
    throw new DemoSetupError(
      `the API refused the operator token from ${settings.operatorTokenSource}; set OPERATOR_TOKEN to the one \`npm start\` uses`,
    );
  if (!res.ok)
    throw new DemoSetupError(`GET /operator/accounts/${DEMO_ACCOUNT} answered ${res.status}: ${text.slice(0, 200)}`);
  return AccountAnswer.parse(JSON.parse(text)).connection;
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(3_000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    // Nothing listening there.
    return false;
  }
}

/** Everything the walk needs is up, and the demo account may write to Zendesk; authorizes it through the sandbox when it may not. */
async function preflight(settings: DemoSettings, tour: Tour): Promise<void> {
  if (!(await answers(`${settings.apiUrl}/readyz`))) {
    throw new DemoSetupError(
      `the API does not answer at ${settings.apiUrl}/readyz: start \`npm start\` in another terminal first (with the same PORT)`,
    );
  }
  for (const [name, url, variable] of [
    ['sandbox Zendesk', settings.zendeskUrl, 'SANDBOX_ZENDESK_PORT'],
    ['sandbox Storeganise', settings.storeganiseUrl, 'SANDBOX_STOREGANISE_PORT'],
  ] as const) {
    if (!(await answers(`${url}/_sandbox/accounts/${DEMO_ACCOUNT}`))) {
      throw new DemoSetupError(
        `the ${name} with the demo account does not answer at ${url}: the demo needs \`npm start\` with its sandboxes (same ${variable})`,
      );
    }
  }
  const connection = await accountConnection(settings);
  if (connection === 'connected') return;
  if (connection === null)
    print(`(no operator token in ${settings.operatorTokenSource}: the account's connection is not checked first)`);
  else {
    await tour.step(
      'Authorize the demo account in Zendesk',
      async () => {
        const link = `${settings.apiUrl}/oauth/zendesk/authorize?account=${DEMO_ACCOUNT}`;
        const result = await authorizeWithConsent(link);
        if (result.status !== 200)
          throw new DemoSetupError(`the authorization ended with ${result.status}: ${result.body.slice(0, 300)}`);
        return `the account was ${connection}: followed ${link} and clicked Allow on the sandbox consent page`;
      },
      'the connection',
      async () => ((await accountConnection(settings)) === 'connected' ? 'connected' : null),
    );
  }
}

const fullName = (user: SandboxSgUser): string => `${user.firstName} ${user.lastName}`;

async function walk(settings: DemoSettings): Promise<void> {
  const zendesk = new ZendeskSandboxClient(settings.zendeskUrl);
  const storeganise = new StoreganiseSandboxClient(settings.storeganiseUrl);
  const tour = new Tour(settings.stepTimeoutMs);
  const started = Date.now();
  print(
    `A walk through the sync on the demo account: Storeganise ${settings.storeganiseUrl}, Zendesk ${settings.zendeskUrl}, API ${settings.apiUrl}`,
  );
  print();
  await preflight(settings, tour);

  const tag = randomBytes(3).toString('hex');
  const email = `mio.kobayashi.${tag}@example.jp`;
  // Someone who once wrote to support and is no customer; made first, so the sync has long seen them when step 4 uses the address.
  const requesterEmail = `sora.ito.${tag}@example.jp`;
  const requesterId = (
    await zendesk.createUser(ZENDESK_INSTANCE, {
      name: 'Sora Ito',
      email: requesterEmail,
      role: 'end-user',
      verified: true,
      skip_verify_email: true,
    })
  ).id;
  print(
    `(Zendesk requester ${requesterId} "Sora Ito" <${requesterEmail}> wrote to support: someone who is not a customer)`,
  );
  let sgId = '';
  let zdId = 0;
  const zdUser = (): Promise<SandboxZendeskUser> => zendesk.getUser(ZENDESK_INSTANCE, zdId);
  const sgUser = (): Promise<SandboxSgUser> => storeganise.getUser(DEMO_ACCOUNT, sgId);

  await tour.step(
    'A new customer signs up in Storeganise',
    async () => {
      const user = await storeganise.createUser(DEMO_ACCOUNT, { firstName: 'Mio', lastName: 'Kobayashi', email });
      sgId = user.id;
      return `created Storeganise user ${sgId}: ${fullName(user)} <${email}>`;
    },
    'a linked Zendesk user',
    async () => {
      const pointer = (await sgUser()).customFields?.[ZENDESK_USER_ID_FIELD];
      if (typeof pointer !== 'string') return null;
      zdId = Number(pointer);
      const user = await zdUser();
      if (user.external_id !== sgId) return null;
      return `in Zendesk as end user ${zdId} "${user.name}" <${user.email ?? ''}>, status ${String(user.user_fields[DEMO_STATUS_FIELD_KEY])}; linked both ways (zendesk_userId, external_id)`;
    },
  );

  await tour.step(
    'An agent corrects the name in Zendesk',
    async () => {
      await zendesk.updateUser(ZENDESK_INSTANCE, zdId, { name: 'Mio Tanaka' });
      return `Zendesk user ${zdId}: name "Mio Tanaka"`;
    },
    'the new name in Storeganise',
    async () => {
      const user = await sgUser();
      return user.firstName === 'Mio' && user.lastName === 'Tanaka'
        ? `in Storeganise: firstName "${user.firstName}", lastName "${user.lastName}"`
        : null;
    },
  );

  await tour.step(
    'The front desk types a phone number in local format in Storeganise',
    async () => {
      await storeganise.updateUser(DEMO_ACCOUNT, sgId, { phone: '090-1234-5678' });
      return 'Storeganise phone "090-1234-5678" (the account\'s default calling code is +81)';
    },
    'the number in Zendesk',
    async () => {
      const user = await zdUser();
      const stored = (await sgUser()).phone;
      return user.phone === '+819012345678'
        ? `in Zendesk as ${user.phone}; Storeganise keeps "${stored ?? ''}" as typed (the same number: no write back)`
        : null;
    },
  );

  const conflictsBefore = (await storeganise.listJobs(DEMO_ACCOUNT, { type: 'task' })).filter(
    (t) => t.data.title === EMAIL_CONFLICT_TITLE && t.data.targetId === sgId,
  ).length;
  await tour.step(
    'Storeganise gets an email address another Zendesk user already has',
    async () => {
      await storeganise.updateUser(DEMO_ACCOUNT, sgId, { email: requesterEmail });
      return `the customer's Storeganise email was changed to <${requesterEmail}>, the address of Zendesk requester ${requesterId} "Sora Ito"`;
    },
    `a "${EMAIL_CONFLICT_TITLE}" admin task`,
    async () => {
      const tasks = (await storeganise.listJobs(DEMO_ACCOUNT, { type: 'task' })).filter(
        (t) => t.data.title === EMAIL_CONFLICT_TITLE && t.data.targetId === sgId,
      );
      const task = tasks[conflictsBefore];
      if (task === undefined) return null;
      const zendeskEmail = (await zdUser()).email;
      const desc = typeof task.data.desc === 'string' ? (task.data.desc.split('\n')[0] ?? '') : '';
      return `admin task "${EMAIL_CONFLICT_TITLE}" in Storeganise: ${desc} Zendesk user ${zdId} keeps <${zendeskEmail ?? ''}>`;
    },
  );
  // Put back, as the admin would after reading the task: the address agrees with Zendesk again.
  await storeganise.updateUser(DEMO_ACCOUNT, sgId, { email });
  print(`    (the Storeganise email was put back to <${email}>)`);

  await tour.step(
    'The customer moves into a unit',
    async () => {
      const { unitRental } = await storeganise.moveIn(DEMO_ACCOUNT, { userId: sgId });
      return `Storeganise move-in: rental ${unitRental.id} is ${unitRental.state}`;
    },
    'the status "active" in Zendesk',
    async () => {
      const status = (await zdUser()).user_fields[DEMO_STATUS_FIELD_KEY];
      return status === 'active' ? `Zendesk user ${zdId}: ${DEMO_STATUS_FIELD_KEY} "active"` : null;
    },
  );

  await tour.step(
    'An admin disables the customer in Storeganise',
    async () => {
      await storeganise.updateUser(DEMO_ACCOUNT, sgId, { disabled: true });
      return `Storeganise user ${sgId}: disabled`;
    },
    'the suspension in Zendesk',
    async () => {
      const user = await zdUser();
      if (
        !user.suspended ||
        user.user_fields[DEMO_STATUS_FIELD_KEY] !== 'deactivated' ||
        !/Storeganise/.test(user.notes)
      )
        return null;
      const note = user.notes.trim().split('\n').at(-1) ?? '';
      return `Zendesk user ${zdId}: suspended, ${DEMO_STATUS_FIELD_KEY} "deactivated", note "${note}"`;
    },
  );

  print();
  print(`All ${tour.steps} steps happened, in ${seconds(Date.now() - started)}.`);
  print(`The customer is Storeganise user ${sgId} and Zendesk user ${zdId}. Look at both sides:`);
  print(`  curl ${settings.storeganiseUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/users/${sgId}`);
  print(`  curl ${settings.zendeskUrl}/_sandbox/accounts/${ZENDESK_INSTANCE}/users/${zdId}`);
  print(`Each change ran as a workflow: npm run temporal -- workflow list --query "SyncCustomer = 'sg:${sgId}'"`);
}

async function main(): Promise<void> {
  try {
    await walk(settingsFrom(process.env));
  } catch (err) {
    const explained = err instanceof DemoSetupError || err instanceof StepNotSeen;
    process.stderr.write(
      `\ndemo failed: ${explained ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if (err instanceof StepNotSeen) {
      process.stderr.write('Look at the `npm start` output (worker and API lines), and at the open admin tasks:\n');
      process.stderr.write(
        `  curl '${settingsFrom(process.env).storeganiseUrl}/_sandbox/accounts/${DEMO_ACCOUNT}/jobs?type=task'\n`,
      );
    }
    process.exit(1);
  }
}

void main();

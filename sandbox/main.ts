import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Keyring } from '../lib/crypto';
import { UnreadableStateFile } from './common/state-file';
import { DEMO_ACCOUNT, DEMO_ADDON_ID, refreshDemo, sandboxSecretsFrom, seedDemo, type SandboxSecrets } from './demo';
import { startStoreganiseSandbox, type StoreganiseSandbox } from './storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from './zendesk';

const HOST = '127.0.0.1';

class SandboxSettingError extends Error {}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new SandboxSettingError(`${name}: must be a port number (0-65535), got "${raw}"`);
  return port;
}

/** Where each sandbox keeps its records between runs; none unless SANDBOX_STATE_DIR is set (`npm start` sets it). */
function stateFilesFrom(env: NodeJS.ProcessEnv): { zendesk: string; storeganise: string } | null {
  const dir = env.SANDBOX_STATE_DIR?.trim();
  if (dir === undefined || dir === '') return null;
  const files = { zendesk: path.resolve(dir, 'zendesk.json'), storeganise: path.resolve(dir, 'storeganise.json') };
  const [zendesk, storeganise] = [existsSync(files.zendesk), existsSync(files.storeganise)];
  // Each side holds pointers to the other's records: one side alone would link customers to nobody.
  if (zendesk !== storeganise) {
    const [present, missing] = zendesk ? [files.zendesk, files.storeganise] : [files.storeganise, files.zendesk];
    throw new SandboxSettingError(
      `${present} is there but ${missing} is not; the two belong together. Delete ${present} too, or start from scratch with \`npm start -- --reset\`.`,
    );
  }
  return files;
}

/** What `npm run api` and `npm run worker` need to talk to these sandboxes, ready for an `.env` file. */
function envSnippet(
  zendesk: { urlTemplate: string },
  storeganise: { urlTemplate: string },
  secrets: SandboxSecrets,
  publicUrl: string,
): string[] {
  return [
    '# Sandbox Zendesk and Storeganise (npm run sandbox)',
    `STOREGANISE_URL_TEMPLATE=${storeganise.urlTemplate}`,
    `ZENDESK_URL_TEMPLATE=${zendesk.urlTemplate}`,
    `SG_ADDON_API_KEY=${secrets.SG_ADDON_API_KEY}`,
    `SG_WEBHOOK_SECRET=${secrets.SG_WEBHOOK_SECRET}`,
    `ZENDESK_CLIENT_ID=${secrets.ZENDESK_CLIENT_ID}`,
    `ZENDESK_CLIENT_SECRET=${secrets.ZENDESK_CLIENT_SECRET}`,
    '# Where the sandboxes send webhooks and the OAuth redirect: the API',
    `PUBLIC_URL=${publicUrl}`,
    '# A Temporal server, e.g. `npm run temporal -- server start-dev` in another terminal',
    'TEMPORAL_ADDRESS=127.0.0.1:7233',
    '# Generated for you now: keep them once chosen (data encrypted under a key needs that key)',
    `ENCRYPTION_KEY=${Keyring.generateSpec()}`,
    `OPERATOR_TOKEN=${randomBytes(24).toString('base64url')}`,
  ];
}

function sandboxSummary(
  zendesk: ZendeskSandbox,
  storeganise: StoreganiseSandbox,
  demo: { apiUrl: string; kept: boolean } | null,
  env: string[],
  stateDir: string | null,
): string {
  const lines = [
    `Sandbox Zendesk      ${zendesk.url}   (control API ${zendesk.url}/_sandbox)`,
    `Sandbox Storeganise  ${storeganise.url}   (control API ${storeganise.url}/_sandbox)`,
    stateDir === null
      ? 'Records are kept in memory only (set SANDBOX_STATE_DIR to keep them between runs).'
      : `Records are kept in ${stateDir}.`,
  ];
  if (demo !== null) {
    lines.push(
      '',
      `Demo account "${DEMO_ACCOUNT}" on both sides (add-on id ${DEMO_ADDON_ID})${demo.kept ? ', kept from the last run' : ''}:`,
      `  Zendesk instance     ${zendesk.urlTemplate.replace('{subdomain}', DEMO_ACCOUNT)}`,
      `  Storeganise API      ${storeganise.urlTemplate.replace('{subdomain}', DEMO_ACCOUNT)}`,
      `  add-on webhooks to   ${demo.apiUrl}/addon/storeganise`,
      `  activate it with     curl -X POST ${storeganise.url}/_sandbox/accounts/${DEMO_ACCOUNT}/installed`,
    );
  }
  lines.push(
    '',
    'To run `npm run api` and `npm run worker` against them, put these lines in .env and load it',
    'into the shell first (`set -a; . ./.env; set +a`):',
    '',
    ...env,
  );
  return lines.join('\n');
}

async function hasDemo(storeganise: StoreganiseSandbox): Promise<boolean> {
  return (await storeganise.client.listAccounts()).some((account) => account.subdomain === DEMO_ACCOUNT);
}

/**
 * `npm run sandbox`: both sandboxes on fixed ports, seeded with the demo unless SANDBOX_DEMO=0,
 * keeping their records in SANDBOX_STATE_DIR when it is set.
 */
async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const zendeskPort = portFrom(env, 'SANDBOX_ZENDESK_PORT', 4010);
  const storeganisePort = portFrom(env, 'SANDBOX_STOREGANISE_PORT', 4020);
  const stateFiles = stateFilesFrom(env);
  const zendesk = await startZendeskSandbox({
    port: zendeskPort,
    host: HOST,
    ...(stateFiles === null ? {} : { stateFile: stateFiles.zendesk }),
  });
  const storeganise = await startStoreganiseSandbox({
    port: storeganisePort,
    host: HOST,
    ...(stateFiles === null ? {} : { stateFile: stateFiles.storeganise }),
  }).catch(async (err: unknown) => {
    await zendesk.close();
    throw err;
  });

  let closing = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    console.log(`Sandbox stopping (${signal})`);
    // Closing writes each sandbox's state file one last time.
    Promise.all([zendesk.close(), storeganise.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('Sandbox did not close cleanly:', err);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, stop);

  const seedWanted = env.SANDBOX_DEMO?.trim() !== '0';
  const apiUrl = (env.PUBLIC_URL?.trim() || 'http://localhost:3000').replace(/\/+$/, '');
  const secrets = sandboxSecretsFrom(env);
  let kept = false;
  if (seedWanted) {
    kept = zendesk.restored && (await hasDemo(storeganise));
    if (kept) await refreshDemo(zendesk.client, storeganise.client, { apiUrl, secrets });
    else await seedDemo(zendesk.client, storeganise.client, { apiUrl, secrets });
  }
  const stateDir = stateFiles === null ? null : path.dirname(stateFiles.zendesk);
  // Under `npm start` (SANDBOX_SUMMARY=0) the start prints its own summary, with the values it gives the api and worker.
  if (env.SANDBOX_SUMMARY?.trim() === '0')
    console.log(
      `Sandboxes ready on ${zendesk.url} and ${storeganise.url}${kept ? ', with the records kept from the last run' : ''}`,
    );
  else
    console.log(
      sandboxSummary(
        zendesk,
        storeganise,
        seedWanted ? { apiUrl, kept } : null,
        envSnippet(zendesk, storeganise, secrets, apiUrl),
        stateDir,
      ),
    );
}

main().catch((err: unknown) => {
  const explained = err instanceof SandboxSettingError || err instanceof UnreadableStateFile;
  console.error(explained ? err.message : err);
  process.exit(explained ? 78 : 1);
});

import { DEMO_ACCOUNT, DEMO_ADDON_ID, sandboxSecretsFrom, seedDemo } from './demo';
import { startStoreganiseSandbox, type StoreganiseSandbox } from './storeganise';
import { startZendeskSandbox, type ZendeskSandbox } from './zendesk';

const HOST = '127.0.0.1';

class SandboxSettingError extends Error {}

function portFrom(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new SandboxSettingError(`${name}: must be a port number (0-65535), got "${raw}"`);
  return port;
}

function sandboxSummary(zendesk: ZendeskSandbox, storeganise: StoreganiseSandbox, demo: { apiUrl: string } | null): string {
  const lines = [
    `Sandbox Zendesk      ${zendesk.url}   (control API ${zendesk.url}/_sandbox)`,
    `Sandbox Storeganise  ${storeganise.url}   (control API ${storeganise.url}/_sandbox)`,
    '',
    'Point the service at them with:',
    `  ZENDESK_URL_TEMPLATE=${zendesk.urlTemplate}`,
    `  STOREGANISE_URL_TEMPLATE=${storeganise.urlTemplate}`,
  ];
  if (demo !== null) {
    lines.push(
      '',
      `Demo account "${DEMO_ACCOUNT}" on both sides (add-on id ${DEMO_ADDON_ID}):`,
      `  Zendesk instance     ${zendesk.urlTemplate.replace('{subdomain}', DEMO_ACCOUNT)}`,
      `  Storeganise API      ${storeganise.urlTemplate.replace('{subdomain}', DEMO_ACCOUNT)}`,
      `  add-on webhooks to   ${demo.apiUrl}/addon/storeganise`,
      `  activate it with     curl -X POST ${storeganise.url}/_sandbox/accounts/${DEMO_ACCOUNT}/installed`,
    );
  }
  return lines.join('\n');
}

/** `npm run sandbox`: both sandboxes on fixed ports, seeded with the demo unless SANDBOX_DEMO=0. */
async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const zendeskPort = portFrom(env, 'SANDBOX_ZENDESK_PORT', 4010);
  const storeganisePort = portFrom(env, 'SANDBOX_STOREGANISE_PORT', 4020);
  const zendesk = await startZendeskSandbox({ port: zendeskPort, host: HOST });
  const storeganise = await startStoreganiseSandbox({ port: storeganisePort, host: HOST }).catch(async (err: unknown) => {
    await zendesk.close();
    throw err;
  });

  let closing = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    console.log(`Sandbox stopping (${signal})`);
    Promise.all([zendesk.close(), storeganise.close()]).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('Sandbox did not close cleanly:', err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  const seedWanted = env.SANDBOX_DEMO?.trim() !== '0';
  const apiUrl = (env.PUBLIC_URL?.trim() || 'http://localhost:3000').replace(/\/+$/, '');
  if (seedWanted) await seedDemo(zendesk.client, storeganise.client, { apiUrl, secrets: sandboxSecretsFrom(env) });
  console.log(sandboxSummary(zendesk, storeganise, seedWanted ? { apiUrl } : null));
}

main().catch((err: unknown) => {
  console.error(err instanceof SandboxSettingError ? err.message : err);
  process.exit(err instanceof SandboxSettingError ? 78 : 1);
});

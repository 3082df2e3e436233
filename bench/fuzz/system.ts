import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { Keyring } from '../../lib/crypto';
import { dataConverterFor } from '../../lib/data-converter';
import { EncryptionCodec } from '../../lib/payload-codec';
import type { SandboxInstallation } from '../../sandbox/installation';
import { seedLinkedUsers } from '../chaos/load';
import { ChaosSystem } from '../chaos/system';
import type { FuzzAccount, FuzzTarget } from './cases';

export const WEB_UI_ORIGIN = 'http://localhost:8233';

/** A loopback server no request of the product may reach: it counts what it gets. */
export class Trap {
  requests = 0;
  private constructor(
    private readonly server: http.Server,
    readonly origin: string,
  ) {}

  static async start(): Promise<Trap> {
    let trap: Trap | null = null;
    const server = http.createServer((_req, res) => {
      if (trap) trap.requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (typeof address !== 'object' || address === null) throw new Error('the trap server has no port');
    trap = new Trap(server, `http://127.0.0.1:${address.port}`);
    return trap;
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export interface FuzzSystem {
  chaos: ChaosSystem;
  /** A client with the installation's data converter, for visibility and the customers' queries. */
  client: Client;
  target: FuzzTarget;
  installations: SandboxInstallation[];
  trap: Trap;
  port: number;
  close(): Promise<void>;
}

/**
 * The chaos run's system (Temporal dev server, sandboxes in this process, the real api and worker
 * processes), with the operator endpoints and the codec's Web UI origin switched on, two accounts
 * authorized, and linked customers seeded in each.
 */
export async function startFuzzSystem(options: {
  logLevel: string;
  users: number;
  note: (line: string) => void;
  onStarted: (system: ChaosSystem) => void;
}): Promise<FuzzSystem> {
  const { note } = options;
  const operatorToken = `fuzz-operator-${randomBytes(12).toString('hex')}`;
  const trap = await Trap.start();
  let chaos: ChaosSystem | null = null;
  let connection: Connection | null = null;
  try {
    chaos = await ChaosSystem.start({
      logLevel: options.logLevel,
      note,
      onStarted: (system) => {
        // ChaosSystem.start takes no extra variables; its services read this object when they start, just after this call.
        Object.assign(system.env, { OPERATOR_TOKEN: operatorToken, TEMPORAL_UI_URL: WEB_UI_ORIGIN });
        options.onStarted(system);
      },
    });
    const started = chaos;
    connection = await Connection.connect({ address: started.temporal.address });
    const keyring = Keyring.fromSpec(started.env.ENCRYPTION_KEY ?? '');
    const client = new Client({ connection, namespace: 'default', dataConverter: dataConverterFor(keyring) });

    const installations: SandboxInstallation[] = [];
    const accounts: FuzzAccount[] = [];
    for (const subdomain of ['fuzz-a', 'fuzz-b']) {
      note(`installing and authorizing account ${subdomain}, seeding ${options.users} linked customers ...`);
      const installation = await started.installAccount(subdomain);
      const users = await seedLinkedUsers(started, installation, options.users, note);
      const [webhook] = await started.zendesk.client.webhooks(installation.zendeskSubdomain);
      if (webhook === undefined) throw new Error(`no Zendesk webhook was registered for ${subdomain}`);
      const sgUsers = new Map((await started.storeganise.client.listUsers(subdomain)).map((u) => [u.id, u]));
      installations.push(installation);
      accounts.push({
        subdomain,
        zendeskSubdomain: installation.zendeskSubdomain,
        addonId: installation.addonId,
        apiUrl: started.storeganise.urlTemplate.replace('{subdomain}', subdomain),
        zendeskSecret: webhook.signingSecret,
        customers: users.map((u) => {
          const sg = sgUsers.get(u.storeganiseId);
          return {
            sgId: u.storeganiseId,
            zdId: u.zendeskId,
            email: sg?.email ?? '',
            name: `${sg?.firstName ?? ''} ${sg?.lastName ?? ''}`.trim(),
          };
        }),
      });
    }

    const target: FuzzTarget = {
      storeganiseSecret: started.env.SG_WEBHOOK_SECRET ?? '',
      operatorToken,
      webUiOrigin: WEB_UI_ORIGIN,
      accounts,
      trapOrigin: trap.origin,
      oauthStates: await issuedStates(started.publicUrl, accounts[0]?.subdomain ?? '', 6),
      foreignState: Keyring.fromSpec(Keyring.generateSpec()).seal(
        JSON.stringify({ account: 'fuzz-a', nonce: 'n', expiresAt: Date.now() + 3_600_000, verifier: 'v' }),
      ),
      codecBody: await codecBody(keyring),
    };
    const owned = { chaos: started, connection };
    return {
      chaos: started,
      client,
      target,
      installations,
      trap,
      port: Number(started.env.PORT),
      close: async () => {
        await owned.connection.close();
        await owned.chaos.close();
        await trap.close();
      },
    };
  } catch (err) {
    await connection?.close();
    await chaos?.close();
    await trap.close();
    throw err;
  }
}

/** Genuine `state` values, from the authorize link's redirects to Zendesk. */
async function issuedStates(publicUrl: string, subdomain: string, count: number): Promise<string[]> {
  const states: string[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(`${publicUrl}/oauth/zendesk/authorize?account=${subdomain}`, { redirect: 'manual' });
    const state = new URL(res.headers.get('location') ?? 'http://x/').searchParams.get('state');
    if (res.status !== 302 || state === null) throw new Error(`the authorize link answered ${res.status}`);
    states.push(state);
  }
  return states;
}

/** What the Web UI sends the codec: one payload, encrypted with the installation's key. */
async function codecBody(keyring: Keyring): Promise<string> {
  const [payload] = await new EncryptionCodec(keyring).encode([
    { metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from(JSON.stringify('fuzz')) },
  ]);
  return JSON.stringify({
    payloads: [
      {
        metadata: Object.fromEntries(
          Object.entries(payload?.metadata ?? {}).map(([k, v]) => [
            k,
            Buffer.from(v ?? new Uint8Array()).toString('base64'),
          ]),
        ),
        data: Buffer.from(payload?.data ?? new Uint8Array()).toString('base64'),
      },
    ],
  });
}

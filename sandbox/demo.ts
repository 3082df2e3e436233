import type { StoreganiseSandboxClient } from './storeganise/client';
import type { SandboxUserInput, ZendeskSandboxClient } from './zendesk/client';
import { customerStatusField } from './installation';

/** Subdomain of the demo business on both sides. */
export const DEMO_ACCOUNT = 'demo';
/** Fixed so that an account workflow kept in DATA_DIR recognises the re-seeded add-on after a restart. */
export const DEMO_ADDON_ID = '64656d6f0000000000000001';
export const DEMO_STATUS_FIELD_KEY = 'customer_status';

/** The credentials the sandboxes and the service share when no real configuration is given. */
export interface SandboxSecrets {
  SG_ADDON_API_KEY: string;
  SG_WEBHOOK_SECRET: string;
  ZENDESK_CLIENT_ID: string;
  ZENDESK_CLIENT_SECRET: string;
}

export const DEFAULT_SANDBOX_SECRETS: Readonly<SandboxSecrets> = {
  SG_ADDON_API_KEY: 'sandbox-addon-api-key',
  SG_WEBHOOK_SECRET: 'sandbox-webhook-signing-secret',
  ZENDESK_CLIENT_ID: 'sg-zendesk-sync-sandbox',
  ZENDESK_CLIENT_SECRET: 'sandbox-oauth-client-secret',
};

/** Each secret from the environment when set (non-blank), else the fixed sandbox default. */
export function sandboxSecretsFrom(env: NodeJS.ProcessEnv): SandboxSecrets {
  const pick = (name: keyof SandboxSecrets): string => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? DEFAULT_SANDBOX_SECRETS[name] : value;
  };
  return {
    SG_ADDON_API_KEY: pick('SG_ADDON_API_KEY'),
    SG_WEBHOOK_SECRET: pick('SG_WEBHOOK_SECRET'),
    ZENDESK_CLIENT_ID: pick('ZENDESK_CLIENT_ID'),
    ZENDESK_CLIENT_SECRET: pick('ZENDESK_CLIENT_SECRET'),
  };
}

export interface DemoOptions {
  /** Base URL of the sync service's API (PUBLIC_URL): webhooks and the OAuth redirect point there. */
  apiUrl: string;
  secrets: SandboxSecrets;
}

type RentalStory = 'occupied' | 'ended' | 'reserved';

interface DemoCustomer {
  firstName: string;
  lastName: string;
  email: string;
  /** Local numbers are entered the way a Japanese front desk would; the account's default is +81. */
  phone?: string;
  language?: string;
  rental?: RentalStory;
  /** Fixed unit so every seed looks the same. */
  unitId?: string;
}

const DEMO_CUSTOMERS: readonly DemoCustomer[] = [
  {
    firstName: 'Emma',
    lastName: 'Clarke',
    email: 'emma.clarke@example.com',
    phone: '+44 20 7946 0321',
    rental: 'occupied',
    unitId: '64656d6f0000000000000101',
  },
  {
    firstName: '花子',
    lastName: '佐藤',
    email: 'hanako.sato@example.jp',
    phone: '090-3412-7788',
    language: 'ja',
    rental: 'reserved',
    unitId: '64656d6f0000000000000102',
  },
  {
    firstName: 'Daniel',
    lastName: 'Okafor',
    email: 'daniel.okafor@example.com',
    phone: '03-5412-0198',
    rental: 'ended',
    unitId: '64656d6f0000000000000103',
  },
  { firstName: 'Lucía', lastName: 'Fernández', email: 'lucia.fernandez@example.com', phone: '+34 622 418 903' },
];

/** People who contacted support but never rented: they exist only in Zendesk. */
const ZENDESK_ONLY_END_USERS: ReadonlyArray<SandboxUserInput & { name: string }> = [
  { name: 'Kenji Watanabe', email: 'kenji.watanabe@example.jp', phone: '+81 80 2345 6789' },
  { name: 'Olivia Bennett', email: 'olivia.bennett@example.com' },
];

const STATUS_FIELD = { ...customerStatusField(DEMO_STATUS_FIELD_KEY), description: 'Set by the Storeganise sync' };

export interface DemoSeed {
  storeganiseUsers: Array<{ id: string; email: string; rental: RentalStory | null }>;
  zendeskUsers: Array<{ id: number; email: string | null }>;
}

/**
 * Seeds the demo business into fresh sandboxes: the Zendesk instance with its status field, the
 * OAuth client, a few end users, and the Storeganise account with customers and rentals.
 */
export async function seedDemo(
  zendesk: ZendeskSandboxClient,
  storeganise: StoreganiseSandboxClient,
  options: DemoOptions,
): Promise<DemoSeed> {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const { secrets } = options;
  await zendesk.registerOAuthClient({
    clientId: secrets.ZENDESK_CLIENT_ID,
    clientSecret: secrets.ZENDESK_CLIENT_SECRET,
    redirectUris: [`${apiUrl}/oauth/zendesk/callback`],
    name: 'Storeganise customer sync',
  });
  // No auto-approval: a newcomer following the authorize link sees the consent page, as in Zendesk.
  await zendesk.createAccount({
    subdomain: DEMO_ACCOUNT,
    name: 'Demo Self Storage',
    autoApprove: false,
    userFields: [STATUS_FIELD],
  });
  const zendeskUsers: DemoSeed['zendeskUsers'] = [];
  for (const user of ZENDESK_ONLY_END_USERS) {
    const created = await zendesk.createUser(DEMO_ACCOUNT, {
      ...user,
      role: 'end-user',
      verified: true,
      skip_verify_email: true,
    });
    zendeskUsers.push({ id: created.id, email: created.email });
  }

  await storeganise.createAccount({
    subdomain: DEMO_ACCOUNT,
    addonId: DEMO_ADDON_ID,
    addonApiKey: secrets.SG_ADDON_API_KEY,
    webhookSecret: secrets.SG_WEBHOOK_SECRET,
    settings: {
      zendesk_instance: DEMO_ACCOUNT,
      zendesk_defaultCountryCode: '+81',
      zendesk_statusFieldKey: DEMO_STATUS_FIELD_KEY,
      zendesk_nameFormat: 'first_last',
    },
  });
  const storeganiseUsers: DemoSeed['storeganiseUsers'] = [];
  for (const customer of DEMO_CUSTOMERS) {
    const { rental = null, unitId, ...profile } = customer;
    const user = await storeganise.createUser(DEMO_ACCOUNT, profile);
    if (rental !== null) await tellRentalStory(storeganise, user.id, rental, unitId);
    storeganiseUsers.push({ id: user.id, email: user.email, rental });
  }
  // The webhook URL comes last so seeding sends nothing: the service meets the account through
  // its activation, not through a burst of user.created events it cannot act on yet.
  await storeganise.updateAccount(DEMO_ACCOUNT, { webhookUrl: `${apiUrl}/addon/storeganise` });
  return { storeganiseUsers, zendeskUsers };
}

/**
 * A demo kept from an earlier run, brought in line with this run's settings: the API's address
 * (webhooks and the OAuth redirect) and the shared secrets may have changed in between. Its
 * records (customers, links, grants, webhooks) are left as they are.
 */
export async function refreshDemo(
  zendesk: ZendeskSandboxClient,
  storeganise: StoreganiseSandboxClient,
  options: DemoOptions,
): Promise<void> {
  const apiUrl = options.apiUrl.replace(/\/+$/, '');
  const { secrets } = options;
  await zendesk.registerOAuthClient({
    clientId: secrets.ZENDESK_CLIENT_ID,
    clientSecret: secrets.ZENDESK_CLIENT_SECRET,
    redirectUris: [`${apiUrl}/oauth/zendesk/callback`],
    name: 'Storeganise customer sync',
  });
  await storeganise.updateAccount(DEMO_ACCOUNT, {
    addonApiKey: secrets.SG_ADDON_API_KEY,
    webhookSecret: secrets.SG_WEBHOOK_SECRET,
    webhookUrl: `${apiUrl}/addon/storeganise`,
  });
}

async function tellRentalStory(
  storeganise: StoreganiseSandboxClient,
  userId: string,
  story: RentalStory,
  unitId: string | undefined,
): Promise<void> {
  const unit = unitId === undefined ? {} : { unitId };
  switch (story) {
    case 'reserved':
      await storeganise.reserveUnit(DEMO_ACCOUNT, { userId, ...unit });
      return;
    case 'occupied':
      await storeganise.moveIn(DEMO_ACCOUNT, { userId, ...unit });
      return;
    case 'ended': {
      const { unitRental } = await storeganise.moveIn(DEMO_ACCOUNT, { userId, ...unit });
      await storeganise.moveOut(DEMO_ACCOUNT, { unitRentalId: unitRental.id });
      return;
    }
  }
}

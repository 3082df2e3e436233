import assert from 'node:assert/strict';
import path from 'node:path';
import { ConfigError, loadConfig } from '../lib/config';
import { Keyring } from '../lib/crypto';

/** The smallest environment a production process starts with. */
const minimal = (): Record<string, string> => ({
  TEMPORAL_ADDRESS: 'temporal.internal:7233',
  ENCRYPTION_KEY: Keyring.generateSpec(),
  SG_ADDON_API_KEY: 'addon-key-0123456789',
  SG_WEBHOOK_SECRET: 'webhook-secret-0123456789',
  ZENDESK_CLIENT_ID: 'sg-zendesk-sync',
  ZENDESK_CLIENT_SECRET: 'client-secret-0123456789',
});

function problemsOf(env: Record<string, string | undefined>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `a ConfigError, not ${String(err)}`);
    return err.message;
  }
  assert.fail('the configuration was accepted');
}

describe('Configuration from environment variables', () => {
  describe('defaults from the contract', () => {
    it('a minimal environment starts with the documented defaults', () => {
      const config = loadConfig(minimal());
      assert.equal(config.port, 3000);
      assert.equal(config.publicUrl, 'http://localhost:3000');
      assert.deepEqual(config.temporal, { address: 'temporal.internal:7233', namespace: 'default', taskQueue: 'user-sync' });
      assert.equal(config.dataDir, path.resolve('./.data'));
      assert.equal(config.storeganise.urlTemplate, 'https://{subdomain}.storeganise.com/api');
      assert.equal(config.zendesk.urlTemplate, 'https://{subdomain}.zendesk.com');
      assert.equal(config.logLevel, 'info');
      assert.equal(config.operatorToken, null, 'operator endpoints are off unless a token is set');
    });

    it('PUBLIC_URL follows PORT unless given, without a trailing slash', () => {
      assert.equal(loadConfig({ ...minimal(), PORT: '8080' }).publicUrl, 'http://localhost:8080');
      assert.equal(loadConfig({ ...minimal(), PORT: '8080', PUBLIC_URL: 'https://sync.example.com/' }).publicUrl, 'https://sync.example.com');
    });

    it('blank values count as unset', () => {
      const config = loadConfig({ ...minimal(), PORT: '', TEMPORAL_NAMESPACE: ' ', LOG_LEVEL: '' });
      assert.equal(config.port, 3000);
      assert.equal(config.temporal.namespace, 'default');
      assert.equal(config.logLevel, 'info');
    });

    it('every documented variable is read', () => {
      const env: Record<string, string> = {
        ...minimal(),
        PORT: '4000',
        PUBLIC_URL: 'https://sync.example.com',
        TEMPORAL_NAMESPACE: 'sync',
        TEMPORAL_TASK_QUEUE: 'sync-queue',
        DATA_DIR: '/var/lib/sync',
        STOREGANISE_URL_TEMPLATE: 'http://127.0.0.1:4020/{subdomain}/api',
        ZENDESK_URL_TEMPLATE: 'http://127.0.0.1:4010/zendesk/{subdomain}',
        LOG_LEVEL: 'debug',
        OPERATOR_TOKEN: 'operator-token-0123456789',
      };
      const config = loadConfig(env);
      assert.equal(config.port, 4000);
      assert.equal(config.publicUrl, 'https://sync.example.com');
      assert.deepEqual(config.temporal, { address: 'temporal.internal:7233', namespace: 'sync', taskQueue: 'sync-queue' });
      assert.equal(config.dataDir, '/var/lib/sync');
      assert.deepEqual(config.storeganise, { urlTemplate: env.STOREGANISE_URL_TEMPLATE, addonApiKey: env.SG_ADDON_API_KEY, webhookSecret: env.SG_WEBHOOK_SECRET });
      assert.deepEqual(config.zendesk, { urlTemplate: env.ZENDESK_URL_TEMPLATE, clientId: env.ZENDESK_CLIENT_ID, clientSecret: env.ZENDESK_CLIENT_SECRET });
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.operatorToken, env.OPERATOR_TOKEN);
    });

    it('TEMPORAL_UI_URL gives the Web UI origin the codec grants CORS to; unset grants none', () => {
      assert.equal(loadConfig(minimal()).temporalUiOrigin, null);
      assert.equal(loadConfig({ ...minimal(), TEMPORAL_UI_URL: '' }).temporalUiOrigin, null);
      assert.equal(loadConfig({ ...minimal(), TEMPORAL_UI_URL: 'http://localhost:8233' }).temporalUiOrigin, 'http://localhost:8233');
      assert.equal(loadConfig({ ...minimal(), TEMPORAL_UI_URL: 'https://Temporal.Example.com:443/namespaces/default/' }).temporalUiOrigin, 'https://temporal.example.com');
    });

    it('ENCRYPTION_KEY may list older keys after the current one', () => {
      const [current, older] = [Keyring.generateSpec(), Keyring.generateSpec()];
      const config = loadConfig({ ...minimal(), ENCRYPTION_KEY: `${current},${older}` });
      assert.equal(config.keyring.current.id, Keyring.fromSpec(current).current.id);
      assert.ok(config.keyring.byId(Keyring.fromSpec(older).current.id), 'the older key still decrypts');
    });
  });

  describe('invalid or missing variables', () => {
    const cases: Array<{ variable: string; value: string | undefined; expected: RegExp }> = [
      { variable: 'TEMPORAL_ADDRESS', value: undefined, expected: /host:port/ },
      { variable: 'TEMPORAL_ADDRESS', value: 'http://temporal:7233', expected: /host:port/ },
      { variable: 'ENCRYPTION_KEY', value: undefined, expected: /32 random bytes/ },
      { variable: 'ENCRYPTION_KEY', value: 'c2hvcnQ=', expected: /32 bytes/ },
      { variable: 'SG_ADDON_API_KEY', value: undefined, expected: /required/ },
      { variable: 'SG_WEBHOOK_SECRET', value: undefined, expected: /required/ },
      { variable: 'SG_WEBHOOK_SECRET', value: 'short', expected: /at least 8/ },
      { variable: 'ZENDESK_CLIENT_ID', value: undefined, expected: /required/ },
      { variable: 'ZENDESK_CLIENT_SECRET', value: undefined, expected: /required/ },
      { variable: 'PORT', value: 'eighty', expected: /port number from 1 to 65535/ },
      { variable: 'PORT', value: '70000', expected: /port number from 1 to 65535/ },
      { variable: 'PUBLIC_URL', value: 'sync.example.com', expected: /absolute http\(s\) URL/ },
      { variable: 'STOREGANISE_URL_TEMPLATE', value: 'https://acme.storeganise.com/api', expected: /\{subdomain\}/ },
      { variable: 'ZENDESK_URL_TEMPLATE', value: '{subdomain}.zendesk.com', expected: /absolute http\(s\) URL/ },
      { variable: 'LOG_LEVEL', value: 'verbose', expected: /debug.*info.*warn.*error/ },
      { variable: 'OPERATOR_TOKEN', value: 'too-short', expected: /at least 16/ },
      { variable: 'TEMPORAL_UI_URL', value: 'localhost:8233', expected: /absolute http\(s\) URL of the Temporal Web UI/ },
      { variable: 'TEMPORAL_UI_URL', value: 'ftp://temporal.example.com', expected: /absolute http\(s\) URL of the Temporal Web UI/ },
    ];

    for (const { variable, value, expected } of cases) {
      it(`${variable} ${value === undefined ? 'missing' : `= "${value}"`} is named with what is expected`, () => {
        const env: Record<string, string | undefined> = { ...minimal(), [variable]: value };
        if (value === undefined) delete env[variable];
        const message = problemsOf(env);
        const line = message.split('\n').find((l) => l.includes(`${variable}:`));
        assert.ok(line, `the message names ${variable}:\n${message}`);
        assert.match(line, expected);
      });
    }

    it('one message names every offending variable at once', () => {
      const message = problemsOf({
        PORT: 'eighty',
        ENCRYPTION_KEY: 'not-a-key',
        STOREGANISE_URL_TEMPLATE: 'nowhere',
        LOG_LEVEL: 'loud',
      });
      for (const variable of [
        'PORT',
        'TEMPORAL_ADDRESS',
        'ENCRYPTION_KEY',
        'SG_ADDON_API_KEY',
        'SG_WEBHOOK_SECRET',
        'STOREGANISE_URL_TEMPLATE',
        'ZENDESK_CLIENT_ID',
        'ZENDESK_CLIENT_SECRET',
        'LOG_LEVEL',
      ]) {
        assert.ok(message.includes(`${variable}:`), `${variable} is named:\n${message}`);
      }
      assert.ok(!message.includes('PUBLIC_URL'), 'variables that are fine are not named');
    });
  });
});

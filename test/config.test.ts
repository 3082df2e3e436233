import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
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
      assert.deepEqual(config.temporal, {
        address: 'temporal.internal:7233',
        namespace: 'default',
        taskQueue: 'user-sync',
      });
      assert.equal(config.dataDir, path.resolve('./.data'));
      assert.equal(config.storeganise.urlTemplate, 'https://{subdomain}.storeganise.com/api');
      assert.equal(config.zendesk.urlTemplate, 'https://{subdomain}.zendesk.com');
      assert.equal(config.logLevel, 'info');
      assert.equal(config.operatorToken, null, 'operator endpoints are off unless a token is set');
    });

    it('PUBLIC_URL follows PORT unless given, without a trailing slash', () => {
      assert.equal(loadConfig({ ...minimal(), PORT: '8080' }).publicUrl, 'http://localhost:8080');
      assert.equal(
        loadConfig({ ...minimal(), PORT: '8080', PUBLIC_URL: 'https://sync.example.com/' }).publicUrl,
        'https://sync.example.com',
      );
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
      assert.deepEqual(config.temporal, {
        address: 'temporal.internal:7233',
        namespace: 'sync',
        taskQueue: 'sync-queue',
      });
      assert.equal(config.dataDir, '/var/lib/sync');
      assert.deepEqual(config.storeganise, {
        urlTemplate: env.STOREGANISE_URL_TEMPLATE,
        addonApiKey: env.SG_ADDON_API_KEY,
        webhookSecret: env.SG_WEBHOOK_SECRET,
      });
      assert.deepEqual(config.zendesk, {
        urlTemplate: env.ZENDESK_URL_TEMPLATE,
        clientId: env.ZENDESK_CLIENT_ID,
        clientSecret: env.ZENDESK_CLIENT_SECRET,
      });
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.operatorToken, env.OPERATOR_TOKEN);
    });

    it('TEMPORAL_UI_URL gives the Web UI origin the codec grants CORS to; unset grants none', () => {
      assert.equal(loadConfig(minimal()).temporalUiOrigin, null);
      assert.equal(loadConfig({ ...minimal(), TEMPORAL_UI_URL: '' }).temporalUiOrigin, null);
      assert.equal(
        loadConfig({ ...minimal(), TEMPORAL_UI_URL: 'http://localhost:8233' }).temporalUiOrigin,
        'http://localhost:8233',
      );
      assert.equal(
        loadConfig({ ...minimal(), TEMPORAL_UI_URL: 'https://Temporal.Example.com:443/namespaces/default/' })
          .temporalUiOrigin,
        'https://temporal.example.com',
      );
    });

    it('ENCRYPTION_KEY may list older keys after the current one', () => {
      const [current, older] = [Keyring.generateSpec(), Keyring.generateSpec()];
      const config = loadConfig({ ...minimal(), ENCRYPTION_KEY: `${current},${older}` });
      assert.equal(config.keyring.current.id, Keyring.fromSpec(current).current.id);
      assert.ok(config.keyring.byId(Keyring.fromSpec(older).current.id), 'the older key still decrypts');
    });
  });

  describe('listening and start-up', () => {
    it('HOST defaults to every interface; TEMPORAL_STARTUP_WAIT_SECONDS to a minute', () => {
      const config = loadConfig(minimal());
      assert.equal(config.host, '0.0.0.0');
      assert.equal(config.temporalStartupWaitMs, 60_000);
      assert.equal(
        loadConfig({ ...minimal(), HOST: '127.0.0.1', TEMPORAL_STARTUP_WAIT_SECONDS: '5' }).host,
        '127.0.0.1',
      );
      assert.equal(loadConfig({ ...minimal(), HOST: '::' }).host, '::');
      assert.equal(loadConfig({ ...minimal(), TEMPORAL_STARTUP_WAIT_SECONDS: '5' }).temporalStartupWaitMs, 5_000);
    });
  });

  describe('the Temporal connection (read through @temporalio/envconfig)', () => {
    let dir = '';
    before(() => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'config-test-'));
    });
    after(() => rmSync(dir, { recursive: true, force: true }));
    const file = (name: string, text: string): string => {
      const location = path.join(dir, name);
      writeFileSync(location, text);
      return location;
    };

    it('a plain address is plaintext, and the summary names it', () => {
      const { options, summary } = loadConfig(minimal()).temporalConnection;
      assert.deepEqual(options, { address: 'temporal.internal:7233' });
      assert.equal(summary, 'temporal.internal:7233 (plaintext)');
    });

    it('TEMPORAL_API_KEY turns TLS on (Temporal Cloud), and the key is never in the summary', () => {
      const key = 'cloud-api-key-0123456789abcdef';
      const config = loadConfig({
        ...minimal(),
        TEMPORAL_ADDRESS: 'us-east-1.aws.api.temporal.io:7233',
        TEMPORAL_NAMESPACE: 'sync.a1b2c',
        TEMPORAL_API_KEY: key,
      });
      assert.equal(config.temporalConnection.options.apiKey, key);
      assert.equal(config.temporalConnection.options.tls, true);
      assert.equal(config.temporal.namespace, 'sync.a1b2c');
      assert.equal(config.temporalConnection.summary, 'us-east-1.aws.api.temporal.io:7233 (TLS, API key)');
      assert.equal(
        loadConfig({ ...minimal(), TEMPORAL_API_KEY: key, TEMPORAL_TLS: 'false' }).temporalConnection.options.tls,
        false,
        'TEMPORAL_TLS=false wins',
      );
    });

    it('mTLS takes a client certificate and key, by path or as PEM text, and a server CA and name', () => {
      const cert = file('client.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      const key = file('client.key', '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
      const ca = file('ca.pem', '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n');
      const config = loadConfig({
        ...minimal(),
        TEMPORAL_TLS_CLIENT_CERT_PATH: cert,
        TEMPORAL_TLS_CLIENT_KEY_PATH: key,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: ca,
        TEMPORAL_TLS_SERVER_NAME: 'temporal.internal',
      });
      const { tls } = config.temporalConnection.options;
      assert.ok(typeof tls === 'object' && tls !== null, 'TLS is configured');
      const text = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? []).toString('utf8');
      assert.match(text(tls.clientCertPair?.crt), /BEGIN CERTIFICATE/);
      assert.match(text(tls.clientCertPair?.key), /BEGIN PRIVATE KEY/);
      assert.match(text(tls.serverRootCACertificate), /MIIC/);
      assert.equal(tls.serverNameOverride, 'temporal.internal');
      assert.equal(config.temporalConnection.summary, 'temporal.internal:7233 (mTLS)');
      const inline = loadConfig({
        ...minimal(),
        TEMPORAL_TLS_CLIENT_CERT_DATA: '-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----',
        TEMPORAL_TLS_CLIENT_KEY_DATA: '-----BEGIN PRIVATE KEY-----\nY\n-----END PRIVATE KEY-----',
      });
      assert.equal(inline.temporalConnection.summary, 'temporal.internal:7233 (mTLS)');
    });

    it('a client certificate without its key (or the reverse) is named', () => {
      const cert = file('lonely.pem', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
      assert.match(
        problemsOf({ ...minimal(), TEMPORAL_TLS_CLIENT_CERT_PATH: cert }),
        /TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_CLIENT_KEY_DATA: required with a client certificate/,
      );
      assert.match(
        problemsOf({ ...minimal(), TEMPORAL_TLS_CLIENT_KEY_DATA: 'pem' }),
        /TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CLIENT_CERT_DATA: required with a client key/,
      );
    });

    it('a profile of the config file gives address, namespace and credentials; the variables override it', () => {
      const toml = file(
        'temporal.toml',
        [
          '[profile.default]',
          'address = "localhost:7233"',
          '',
          '[profile.cloud]',
          'address = "sync.a1b2c.tmprl.cloud:7233"',
          'namespace = "sync.a1b2c"',
          'api_key = "profile-key-0123456789"',
          '',
        ].join('\n'),
      );
      const { TEMPORAL_ADDRESS: _address, ...withoutAddress } = minimal();
      const cloud = loadConfig({ ...withoutAddress, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'cloud' });
      assert.equal(cloud.temporal.address, 'sync.a1b2c.tmprl.cloud:7233');
      assert.equal(cloud.temporal.namespace, 'sync.a1b2c');
      assert.equal(cloud.temporalConnection.options.apiKey, 'profile-key-0123456789');
      assert.equal(cloud.temporalConnection.summary, "sync.a1b2c.tmprl.cloud:7233 (TLS, API key, profile 'cloud')");
      const overridden = loadConfig({
        ...minimal(),
        TEMPORAL_CONFIG_FILE: toml,
        TEMPORAL_PROFILE: 'cloud',
        TEMPORAL_NAMESPACE: 'other',
      });
      assert.equal(overridden.temporal.address, 'temporal.internal:7233');
      assert.equal(overridden.temporal.namespace, 'other');
      assert.equal(
        loadConfig({ ...withoutAddress, TEMPORAL_CONFIG_FILE: toml }).temporal.address,
        'localhost:7233',
        'the default profile without TEMPORAL_PROFILE',
      );
      assert.match(
        problemsOf({ ...withoutAddress, TEMPORAL_CONFIG_FILE: toml, TEMPORAL_PROFILE: 'staging' }),
        /TEMPORAL_PROFILE.*Profile 'staging' not found/,
      );
    });

    it('blank Temporal variables count as unset, as a compose .env leaves them', () => {
      const config = loadConfig({
        ...minimal(),
        TEMPORAL_API_KEY: '',
        TEMPORAL_TLS: ' ',
        TEMPORAL_TLS_CLIENT_CERT_PATH: '',
        TEMPORAL_PROFILE: '',
        TEMPORAL_CONFIG_FILE: '',
      });
      assert.deepEqual(config.temporalConnection.options, { address: 'temporal.internal:7233' });
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
      {
        variable: 'TEMPORAL_UI_URL',
        value: 'localhost:8233',
        expected: /absolute http\(s\) URL of the Temporal Web UI/,
      },
      {
        variable: 'TEMPORAL_UI_URL',
        value: 'ftp://temporal.example.com',
        expected: /absolute http\(s\) URL of the Temporal Web UI/,
      },
      { variable: 'HOST', value: 'http://0.0.0.0', expected: /IP address or host name to listen on/ },
      { variable: 'TEMPORAL_STARTUP_WAIT_SECONDS', value: 'forever', expected: /number of seconds/ },
      { variable: 'TEMPORAL_TLS', value: 'yes', expected: /true or false/ },
      {
        variable: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
        value: '/nonexistent/client.pem',
        expected: /no such file: \/nonexistent\/client.pem/,
      },
      { variable: 'TEMPORAL_CONFIG_FILE', value: '/nonexistent/temporal.toml', expected: /no such file/ },
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

import express from 'express';
import { Faults } from '../common/faults';
import { listen } from '../common/http-server';
import { RequestLog } from '../common/request-log';
import { StateFile } from '../common/state-file';
import { WebhookOutbox } from '../common/webhook-outbox';
import { adminApi } from './admin-api';
import { StoreganiseSandboxClient } from './client';
import { controlApi } from './control';
import { errorHandler, routeNotFound } from './errors';
import { restoreStoreganise, storeganiseSnapshot } from './persistence';
import { AccountRegistry } from './state';
import { AddonWebhookPublisher, STOREGANISE_RETRY_DELAYS_MS, storeganiseRetryRule } from './webhooks';

export * from './client';
export { signWebhookBody } from './webhooks';

export interface StoreganiseSandbox {
  readonly url: string;
  /** `${url}/{subdomain}/api` */
  readonly urlTemplate: string;
  readonly client: StoreganiseSandboxClient;
  /** True when the records were read back from `stateFile` (a restart), false for an empty sandbox. */
  readonly restored: boolean;
  /** Resolves once no webhook is queued, held or in flight. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreganiseSandboxOptions {
  port?: number;
  host?: string;
  /** Waits before each webhook retry; tests shorten the default 1 s, 2 s, 4 s. */
  webhookRetryDelaysMs?: readonly number[];
  /** Keep the records in this JSON file: read at start when it exists, written after every request and on close. */
  stateFile?: string;
}

/** Starts a stand-in for Storeganise: per-business admin APIs under `/{subdomain}/api`, control API under `/_sandbox`. */
export async function startStoreganiseSandbox(options: StoreganiseSandboxOptions = {}): Promise<StoreganiseSandbox> {
  const requestLog = new RequestLog();
  const faults = new Faults();
  const outbox = new WebhookOutbox(
    storeganiseRetryRule(options.webhookRetryDelaysMs ?? STOREGANISE_RETRY_DELAYS_MS),
    faults,
  );
  // The listening address is known only after binding; webhooks are sent only after that.
  let baseUrl = '';
  const apiUrlOf = (subdomain: string): string => `${baseUrl}/${encodeURIComponent(subdomain)}/api`;
  const registry = new AccountRegistry(new AddonWebhookPublisher(outbox, apiUrlOf));

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use('/_sandbox', controlApi({ registry, requestLog, faults, outbox, apiUrlOf }));
  app.use('/:subdomain/api', adminApi({ registry, requestLog, faults }));
  app.use(routeNotFound);
  app.use(errorHandler);

  let stateFile: StateFile | null = null;
  let restored = false;
  if (options.stateFile !== undefined) {
    const saved = StateFile.read(options.stateFile);
    if (saved !== null) restoreStoreganise(registry, saved, options.stateFile);
    restored = saved !== null;
    stateFile = new StateFile(options.stateFile, () => storeganiseSnapshot(registry));
  }
  const server = await listen(
    stateFile === null ? app : stateFile.around(app),
    options.port ?? 0,
    options.host ?? '127.0.0.1',
  );
  baseUrl = server.url;
  return {
    url: server.url,
    urlTemplate: `${server.url}/{subdomain}/api`,
    client: new StoreganiseSandboxClient(server.url),
    restored,
    idle: () => outbox.idle(),
    close: async () => {
      outbox.close();
      await server.close();
      stateFile?.close();
    },
  };
}

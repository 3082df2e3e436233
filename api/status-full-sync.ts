import type { Client } from '@temporalio/client';
import type { AccountDirectory } from '../client/accounts';
import { cancelFullSync, fullSyncView, startFullSync } from '../client/full-sync';
import type { FullSyncProgress } from '../workflows/definitions';

export type FullSyncAnswer =
  | { kind: 'progress'; progress: FullSyncProgress; running: boolean }
  /** The account has had no full sync yet. */
  | { kind: 'none' }
  | { kind: 'error'; message: string };

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** The status page's full-sync controls: the same services as the operator endpoints (api/full-sync.ts). */
export class FullSyncControls {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly directory: AccountDirectory,
  ) {}

  async progress(subdomain: string): Promise<FullSyncAnswer> {
    try {
      const view = await fullSyncView(this.client, subdomain);
      return view === null ? { kind: 'none' } : { kind: 'progress', progress: view.progress, running: view.running };
    } catch (err) {
      return { kind: 'error', message: `its progress could not be read: ${messageOf(err)}` };
    }
  }

  async start(subdomain: string): Promise<FullSyncAnswer> {
    const entry = await this.directory.get(subdomain, { fresh: true });
    if (entry === null) return { kind: 'error', message: `no account ${subdomain}` };
    if (entry.connection === 'disconnected')
      return { kind: 'error', message: 'Zendesk is disconnected: authorize it again first' };
    try {
      await startFullSync(this.client, this.taskQueue, {
        subdomain: entry.subdomain,
        apiUrl: entry.apiUrl,
        addonId: entry.addonId,
      });
    } catch (err) {
      return { kind: 'error', message: `it could not be started: ${messageOf(err)}` };
    }
    return this.progress(subdomain);
  }

  async cancel(subdomain: string): Promise<FullSyncAnswer> {
    try {
      if ((await cancelFullSync(this.client, subdomain)) === null) return { kind: 'error', message: 'none is running' };
    } catch (err) {
      return { kind: 'error', message: `it could not be cancelled: ${messageOf(err)}` };
    }
    return this.progress(subdomain);
  }
}

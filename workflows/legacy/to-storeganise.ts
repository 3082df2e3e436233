import { hasStoreganiseWrites, planStoreganiseUpdate, targetIsNewer, type SyncBase } from './plan';
import { changedKeysOf } from './echo';
import type { SyncField } from '../../domain/records';
import { emailConflictTask, syncErrorTask } from '../../domain/tasks';
import { acts, rejectionReason, type EventRun, type SyncOutcome } from './event-run';

/**
 * Zendesk → Storeganise for one Zendesk user: re-read it, find the Storeganise customer (external
 * id, then primary email; never created), and write only what differs in one `PUT`.
 */
export async function syncCustomerToStoreganise(
  run: EventRun,
  zendeskUserId: string,
  fields: readonly SyncField[],
  base: SyncBase,
  options: { otherSideQueued: boolean },
): Promise<SyncOutcome> {
  const { account } = run;
  const read = await run.read(() => acts.readForStoreganiseSync(account, zendeskUserId, fields));
  if (read.kind === 'gone') return { result: run.result('gone', read.reason) };
  const { settings, user: zd, contacts, lookup } = read;
  const instance = settings.zendeskInstance;
  if (lookup.kind === 'none') return { result: run.result('unlinked', `not a Storeganise customer: ${lookup.reason}`) };
  const sg = lookup.customer;
  run.note(`found Storeganise user ${sg.id} by ${lookup.via}`);

  let nextBase: SyncBase = base;
  try {
    if (zd.externalId === null || zd.externalId.toLowerCase() !== sg.id.toLowerCase()) {
      await run.zendesk(() =>
        acts.updateZendeskCustomer(account, instance, zd.id, { user: { externalId: sg.id }, primaryEmail: null }),
      );
      run.zendeskWrites++;
      run.wroteZendesk({ userId: zd.id, created: false, externalId: sg.id });
      run.note('stored the Storeganise id on the Zendesk user');
    }
    const plan = planStoreganiseUpdate(zd, contacts, sg, {
      settings,
      fields,
      base,
      targetIsNewer: targetIsNewer(zd.updatedAt, sg.updatedAt, options.otherSideQueued),
    });
    let { changes } = plan;
    nextBase = plan.base;
    if (hasStoreganiseWrites(changes)) {
      run.note(`Storeganise differs in: ${Object.keys(changes).join(', ')}`);
      const write = await run.step(() => acts.writeStoreganiseCustomer(account, sg.id, changes));
      if (write.outcome === 'email-conflict') {
        nextBase = { ...nextBase, email: base.email };
        await run.raiseTask(
          ['email-conflict', sg.id, zd.id, write.email.toLowerCase()],
          emailConflictTask({
            email: write.email,
            storeganiseUserId: sg.id,
            zendeskUserId: zd.id,
            holder: write.holder && {
              storeganiseUserId: write.holder.storeganiseUserId,
              zendeskUserId: write.holder.zendeskUserId,
            },
            refusedBy: 'Storeganise',
          }),
        );
        const { email: _refused, ...rest } = changes;
        changes = rest;
        if (hasStoreganiseWrites(changes)) await run.step(() => acts.writeStoreganiseCustomer(account, sg.id, changes));
      }
      if (hasStoreganiseWrites(changes)) {
        run.storeganiseWrites++;
        run.wroteStoreganise(changedKeysOf(changes));
      }
      if (write.outcome === 'email-conflict')
        return {
          result: run.result('conflict', 'the email belongs to another Storeganise customer: not overwritten'),
          base: nextBase,
        };
    }
  } catch (err) {
    const reason = rejectionReason(err);
    if (reason === null) throw err;
    await run.raiseTask(
      ['sync-error', sg.id, reason],
      syncErrorTask({ storeganiseUserId: sg.id, zendeskUserId: zd.id, reason }),
    );
    return { result: run.result('rejected', 'a write was rejected: raised a Sync error task') };
  }
  const wrote = run.zendeskWrites + run.storeganiseWrites > 0;
  return {
    result: run.result(
      wrote ? 'synced' : 'unchanged',
      wrote ? undefined : 'Storeganise already matches: nothing written',
    ),
    base: nextBase,
  };
}

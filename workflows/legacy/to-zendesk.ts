import {
  baseOfNewZendeskUser,
  hasZendeskWrites,
  planNewZendeskUser,
  planZendeskUpdate,
  targetIsNewer,
  type SyncBase,
} from './plan';
import type { SyncField } from '../../domain/records';
import { emailConflictTask, syncErrorTask } from '../../domain/tasks';
import { acts, rejectionReason, type EventRun, type SyncOutcome } from './event-run';

/**
 * Storeganise → Zendesk for one customer: read Storeganise, find the Zendesk counterpart (stored
 * pointer, then external id, then email), and write only what differs for the given fields.
 */
export async function syncCustomerToZendesk(
  run: EventRun,
  userId: string,
  fields: readonly SyncField[],
  base: SyncBase,
  options: { mayCreate: boolean; otherSideQueued: boolean },
): Promise<SyncOutcome> {
  const { account } = run;
  const read = await run.read(() => acts.readForZendeskSync(account, userId, fields));
  if (read.kind === 'gone') return { result: run.result('gone', 'the Storeganise user no longer exists') };
  const { settings, customer: sg, status, lookup } = read;
  const instance = settings.zendeskInstance;
  try {
    switch (lookup.kind) {
      case 'deleted':
        return {
          result: run.result(
            'unlinked',
            `the linked Zendesk user ${lookup.pointer} was deleted and no active user holds the email: nothing is created`,
          ),
        };
      case 'email-taken':
        await run.raiseTask(
          ['email-conflict', sg.id, lookup.holder.zendeskUserId, (sg.email ?? '').toLowerCase()],
          emailConflictTask({
            email: sg.email ?? '',
            storeganiseUserId: sg.id,
            zendeskUserId: null,
            holder: lookup.holder,
            refusedBy: 'Zendesk',
          }),
        );
        return { result: run.result('conflict', 'the email belongs to a Zendesk user linked to another customer') };
      case 'none': {
        if (!options.mayCreate)
          return { result: run.result('unlinked', 'no Zendesk counterpart; this event does not create one') };
        const newUser = planNewZendeskUser(sg, status ?? 'new_prospect', { settings, now: new Date() });
        const created = await run.zendesk(() => acts.createZendeskCustomer(account, instance, newUser));
        if (created.outcome === 'email-taken') {
          await run.raiseTask(
            [
              'email-conflict',
              sg.id,
              created.conflict.holder?.zendeskUserId ?? '',
              created.conflict.email.toLowerCase(),
            ],
            emailConflictTask({
              ...created.conflict,
              storeganiseUserId: sg.id,
              zendeskUserId: null,
              refusedBy: 'Zendesk',
            }),
          );
          return { result: run.result('conflict', 'Zendesk refused the new user: its email belongs to another user') };
        }
        if (created.outcome === 'created') {
          run.zendeskWrites++;
          run.wroteZendesk({
            userId: created.user.id,
            created: true,
            name: newUser.name,
            externalId: newUser.externalId,
            ...(newUser.phone ? { phone: newUser.phone } : {}),
            ...(newUser.email ? { email: newUser.email } : {}),
          });
        }
        run.note(
          created.outcome === 'created'
            ? `created Zendesk user ${created.user.id}`
            : `found Zendesk user ${created.user.id} created earlier`,
        );
        await run.step(() =>
          acts.writeStoreganiseCustomer(account, sg.id, { customFields: { zendesk_userId: created.user.id } }),
        );
        run.storeganiseWrites++;
        return { result: run.result('synced', 'linked both ways'), base: baseOfNewZendeskUser(newUser, settings) };
      }
      case 'linked': {
        const zd = lookup.user;
        run.note(
          `found Zendesk user ${zd.id} by ${lookup.via}${lookup.stalePointer ? ` (stale pointer ${lookup.stalePointer} repaired)` : ''}`,
        );
        const plan = planZendeskUpdate(sg, zd, status, {
          settings,
          fields,
          base,
          now: new Date(),
          targetIsNewer: targetIsNewer(sg.updatedAt, zd.updatedAt, options.otherSideQueued),
        });
        let nextBase = plan.base;
        if (hasZendeskWrites(plan)) {
          run.note(
            `Zendesk differs in: ${[...Object.keys(plan.user), ...(plan.primaryEmail ? ['primary email'] : [])].join(', ')}`,
          );
          const write = await run.zendesk(() => acts.updateZendeskCustomer(account, instance, zd.id, plan));
          if (write.outcome === 'rejected') throw new RejectedWrite(write.reason, zd.id);
          if (write.userWritten) run.zendeskWrites++;
          if (write.emailWritten) run.zendeskWrites++;
          const { name, phone, externalId } = plan.user;
          run.wroteZendesk({
            userId: zd.id,
            created: false,
            ...(write.userWritten && name !== undefined ? { name } : {}),
            ...(write.userWritten && phone !== undefined ? { phone } : {}),
            ...(write.userWritten && externalId !== undefined ? { externalId } : {}),
            ...(write.emailWritten && plan.primaryEmail ? { email: plan.primaryEmail } : {}),
          });
          if (write.conflict) {
            nextBase = { ...nextBase, email: base.email };
            await run.raiseTask(
              ['email-conflict', sg.id, write.conflict.holder?.zendeskUserId ?? '', write.conflict.email.toLowerCase()],
              emailConflictTask({
                ...write.conflict,
                storeganiseUserId: sg.id,
                zendeskUserId: zd.id,
                refusedBy: 'Zendesk',
              }),
            );
          }
        }
        const pointer = plan.storeganisePointer;
        if (pointer !== null) {
          await run.step(() =>
            acts.writeStoreganiseCustomer(account, sg.id, { customFields: { zendesk_userId: pointer } }),
          );
          run.storeganiseWrites++;
        }
        const wrote = run.zendeskWrites + run.storeganiseWrites > 0;
        return {
          result: run.result(
            wrote ? 'synced' : 'unchanged',
            wrote ? undefined : 'Zendesk already matches: nothing written',
          ),
          base: nextBase,
        };
      }
    }
  } catch (err) {
    const reason = err instanceof RejectedWrite ? err.message : rejectionReason(err);
    if (reason === null) throw err;
    const zendeskUserId =
      err instanceof RejectedWrite ? err.zendeskUserId : lookup.kind === 'linked' ? lookup.user.id : null;
    await run.raiseTask(
      ['sync-error', sg.id, reason],
      syncErrorTask({ storeganiseUserId: sg.id, zendeskUserId, reason }),
    );
    return { result: run.result('rejected', 'a write was rejected: raised a Sync error task') };
  }
}

class RejectedWrite extends Error {
  constructor(
    message: string,
    readonly zendeskUserId: string,
  ) {
    super(message);
  }
}

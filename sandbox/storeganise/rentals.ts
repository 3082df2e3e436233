import { Router } from 'express';
import { z } from 'zod';
import { requestAccount } from './auth';
import { CustomFieldPatchSchema, mergeCustomFields } from './custom-fields';
import { SgApiError, notFound, parseInput } from './errors';
import { createJob, findJob } from './jobs';
import { IncludeSchema, InstantSchema, LimitSchema, OffsetSchema, page } from './paging';
import { RentalStateSchema, type SandboxUnitRental } from './records';
import { newObjectId, nowIso, today, type Account, type EventPublisher, type Job, type UnitRental } from './state';
import { findUser, userView } from './users';

const ObjectIdSchema = z.string().regex(/^[0-9a-f]{24}$/, 'must be a 24-character hex id');

export const MoveInSchema = z.strictObject({
  userId: z.string().min(1),
  unitId: ObjectIdSchema.optional(),
  /** Completes the move-in of an existing reservation instead of renting a new unit. */
  unitRentalId: z.string().min(1).optional(),
});
export const ReservationSchema = z.strictObject({ userId: z.string().min(1), unitId: ObjectIdSchema.optional() });
export const MoveOutSchema = z.strictObject({ unitRentalId: z.string().min(1) });
export const TransferSchema = z.strictObject({ unitRentalId: z.string().min(1), newUnitId: ObjectIdSchema.optional() });
export const RentalPatchSchema = z.strictObject({
  state: RentalStateSchema.optional(),
  customFields: CustomFieldPatchSchema.optional(),
});
const AdminRentalPatchSchema = z.strictObject({ customFields: CustomFieldPatchSchema });

export const RentalFilterSchema = z.object({
  ownerId: z.string().optional(),
  /** One state or a comma-separated list. */
  state: z
    .string()
    .transform((list) => list.split(',').map((s) => s.trim()))
    .optional(),
  siteId: z.string().optional(),
  unitId: z.string().optional(),
  updatedAfter: InstantSchema.optional(),
});
export type RentalFilter = z.input<typeof RentalFilterSchema>;
const ListRentalsQuerySchema = RentalFilterSchema.extend({
  limit: LimitSchema,
  offset: OffsetSchema,
  include: IncludeSchema,
});
const GetRentalQuerySchema = z.object({ include: IncludeSchema });

export function findRental(account: Account, id: string): UnitRental {
  const rental = account.rentals.get(id);
  if (!rental) throw notFound('Unit rental', id);
  return rental;
}

export function listRentals(account: Account, filter: z.infer<typeof RentalFilterSchema>): UnitRental[] {
  return [...account.rentals.values()].filter(
    (r) =>
      (filter.ownerId === undefined || r.ownerId === filter.ownerId) &&
      (filter.state === undefined || filter.state.includes(r.state)) &&
      (filter.siteId === undefined || r.siteId === filter.siteId) &&
      (filter.unitId === undefined || r.unitId === filter.unitId) &&
      (filter.updatedAfter === undefined || Date.parse(r.updated) > filter.updatedAfter),
  );
}

const unitName = (unitId: string): string => `U-${unitId.slice(-4).toUpperCase()}`;

export function rentalView(account: Account, rental: UnitRental, include: ReadonlySet<string>): SandboxUnitRental {
  const owner = include.has('owner') ? account.users.get(rental.ownerId) : undefined;
  return {
    id: rental.id,
    unitId: rental.unitId,
    siteId: rental.siteId,
    ownerId: rental.ownerId,
    state: rental.state,
    startDate: rental.startDate,
    ...(rental.endDate === undefined ? {} : { endDate: rental.endDate }),
    ...(rental.moveInJobId === undefined ? {} : { moveInJobId: rental.moveInJobId }),
    price: rental.price,
    deposit: rental.deposit,
    ...(include.has('customFields') ? { customFields: { ...rental.customFields } } : {}),
    ...(include.has('unit')
      ? {
          unit: {
            id: rental.unitId,
            name: unitName(rental.unitId),
            siteId: rental.siteId,
            state: rental.state === 'ended' || rental.state === 'cancelled' ? 'available' : rental.state,
          },
        }
      : {}),
    ...(owner ? { owner: userView(account, owner, include.has('customFields')) } : {}),
    created: rental.created,
    updated: rental.updated,
  };
}

function assertUnitFree(account: Account, unitId: string, exceptRentalId?: string): void {
  const taken = [...account.rentals.values()].some(
    (r) => r.unitId === unitId && r.id !== exceptRentalId && (r.state === 'reserved' || r.state === 'occupied'),
  );
  if (taken) throw new SgApiError(409, `Unit ${unitId} is not available`);
}

function newRental(account: Account, ownerId: string, unitId: string, state: UnitRental['state']): UnitRental {
  assertUnitFree(account, unitId);
  const created = nowIso();
  const rental: UnitRental = {
    id: newObjectId(),
    unitId,
    siteId: account.siteId,
    ownerId,
    state,
    startDate: today(),
    endDate: undefined,
    moveInJobId: undefined,
    price: 120,
    deposit: 0,
    customFields: {},
    created,
    updated: created,
  };
  account.rentals.set(rental.id, rental);
  return rental;
}

function setRentalState(rental: UnitRental, state: UnitRental['state'], at: string): void {
  rental.state = state;
  if (state === 'ended' && rental.endDate === undefined) rental.endDate = at.slice(0, 10);
  rental.updated = at;
}

const completedStep = (type: string, result: Record<string, unknown>, at: string) => ({
  id: newObjectId(),
  type,
  state: 'completed',
  completedAt: at,
  result,
});

/** A booking: a `reserved` rental and the still open move-in job that will occupy it. */
export function reserveUnit(
  account: Account,
  events: EventPublisher,
  input: z.infer<typeof ReservationSchema>,
): { job: Job; unitRental: UnitRental } {
  const owner = findUser(account, input.userId);
  const rental = newRental(account, owner.id, input.unitId ?? newObjectId(), 'reserved');
  const job = createJob(account, {
    type: 'unit_moveIn',
    state: 'ready',
    ownerId: owner.id,
    data: { unitId: rental.unitId, startDate: rental.startDate, unitRentalId: rental.id },
    steps: [completedStep('start', { unitId: rental.unitId, unitRentalId: rental.id }, rental.created)],
  });
  rental.moveInJobId = job.id;
  events.publish(account, 'job.unit_moveIn.created', { jobId: job.id }, job.created);
  return { job, unitRental: rental };
}

export function moveIn(
  account: Account,
  events: EventPublisher,
  input: z.infer<typeof MoveInSchema>,
): { job: Job; unitRental: UnitRental } {
  const owner = findUser(account, input.userId);
  const at = nowIso();
  let rental: UnitRental;
  let job: Job;
  if (input.unitRentalId !== undefined) {
    rental = findRental(account, input.unitRentalId);
    if (rental.ownerId !== owner.id) throw new SgApiError(400, `Unit rental ${rental.id} belongs to another user`);
    if (rental.state !== 'reserved')
      throw new SgApiError(409, `Unit rental ${rental.id} is ${rental.state}, not reserved`);
    rental.startDate = at.slice(0, 10);
    setRentalState(rental, 'occupied', at);
    job =
      rental.moveInJobId === undefined
        ? createJob(account, { type: 'unit_moveIn', state: 'completed', ownerId: owner.id, data: {} })
        : findJob(account, rental.moveInJobId);
  } else {
    rental = newRental(account, owner.id, input.unitId ?? newObjectId(), 'occupied');
    job = createJob(account, { type: 'unit_moveIn', state: 'completed', ownerId: owner.id, data: {} });
  }
  const result = {
    unitId: rental.unitId,
    unitRentalId: rental.id,
    ownerId: owner.id,
    siteId: rental.siteId,
    startDate: rental.startDate,
  };
  job.state = 'completed';
  job.data = { unitId: rental.unitId, startDate: rental.startDate, unitRentalId: rental.id };
  job.result = result;
  job.steps = [...(job.steps ?? []).filter((s) => s.type === 'start'), completedStep('complete', result, at)];
  job.updated = nowIso();
  rental.moveInJobId = job.id;
  events.publish(account, 'job.unit_moveIn.completed', { jobId: job.id, unitRentalId: rental.id }, job.updated);
  return { job, unitRental: rental };
}

function requireOccupied(rental: UnitRental): void {
  if (rental.state !== 'occupied')
    throw new SgApiError(409, `Unit rental ${rental.id} is ${rental.state}, not occupied`);
}

export function moveOut(
  account: Account,
  events: EventPublisher,
  input: z.infer<typeof MoveOutSchema>,
): { job: Job; unitRental: UnitRental } {
  const rental = findRental(account, input.unitRentalId);
  requireOccupied(rental);
  const at = nowIso();
  setRentalState(rental, 'ended', at);
  const result = { unitId: rental.unitId, unitRentalId: rental.id, endDate: rental.endDate };
  const job = createJob(account, {
    type: 'unit_moveOut',
    state: 'completed',
    ownerId: rental.ownerId,
    data: { unitRentalId: rental.id, moveOutDate: rental.endDate },
    result,
    steps: [completedStep('complete', result, at)],
  });
  events.publish(account, 'job.unit_moveOut.completed', { jobId: job.id, unitRentalId: rental.id }, at);
  return { job, unitRental: rental };
}

export function transferUnit(
  account: Account,
  events: EventPublisher,
  input: z.infer<typeof TransferSchema>,
): { job: Job; oldRental: UnitRental; newRental: UnitRental } {
  const oldRental = findRental(account, input.unitRentalId);
  requireOccupied(oldRental);
  const newUnitId = input.newUnitId ?? newObjectId();
  assertUnitFree(account, newUnitId);
  const at = nowIso();
  setRentalState(oldRental, 'ended', at);
  const next = newRental(account, oldRental.ownerId, newUnitId, 'occupied');
  const result = { unitId: newUnitId, unitRentalId: next.id, oldRentalId: oldRental.id };
  const job = createJob(account, {
    type: 'unit_transfer',
    state: 'completed',
    ownerId: oldRental.ownerId,
    data: { oldRentalId: oldRental.id, newUnitId, newRentalId: next.id, transferDate: next.startDate },
    result,
    steps: [completedStep('complete', result, at)],
  });
  const ids = { jobId: job.id, oldRentalId: oldRental.id, newRentalId: next.id };
  events.publish(account, 'job.unit_transfer.completed', ids, at);
  return { job, oldRental, newRental: next };
}

/** Edits a rental; emits `unitRental.updated` with the keys that really changed, or nothing. */
export function updateRental(
  account: Account,
  events: EventPublisher,
  id: string,
  patch: z.infer<typeof RentalPatchSchema>,
): UnitRental {
  const rental = findRental(account, id);
  const merged = mergeCustomFields(account, 'unitRental', rental.customFields, patch.customFields ?? {});
  const changedKeys: string[] = [];
  const at = nowIso();
  if (patch.state !== undefined && patch.state !== rental.state) {
    if (patch.state === 'reserved' || patch.state === 'occupied') assertUnitFree(account, rental.unitId, rental.id);
    const hadEndDate = rental.endDate !== undefined;
    setRentalState(rental, patch.state, at);
    changedKeys.push('state');
    if (!hadEndDate && rental.endDate !== undefined) changedKeys.push('endDate');
  }
  changedKeys.push(...merged.changedKeys);
  if (changedKeys.length === 0) return rental;
  rental.customFields = merged.values;
  rental.updated = at;
  events.publish(account, 'unitRental.updated', { unitRentalId: rental.id, changedKeys }, at);
  return rental;
}

export function rentalsRouter(events: EventPublisher): Router {
  const router = Router();
  router.get('/unit-rentals', (req, res) => {
    const account = requestAccount(req);
    const query = parseInput(ListRentalsQuerySchema, req.query, 'query');
    res.json(page(listRentals(account, query), query).map((rental) => rentalView(account, rental, query.include)));
  });
  router.get('/unit-rentals/:id', (req, res) => {
    const account = requestAccount(req);
    const query = parseInput(GetRentalQuerySchema, req.query, 'query');
    res.json(rentalView(account, findRental(account, req.params.id), query.include));
  });
  router.put('/unit-rentals/:id', (req, res) => {
    const account = requestAccount(req);
    const patch = parseInput(AdminRentalPatchSchema, req.body, 'body');
    const rental = updateRental(account, events, req.params.id, patch);
    res.json(rentalView(account, rental, new Set(['customFields'])));
  });
  return router;
}

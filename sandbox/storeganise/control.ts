import express, { Router } from 'express';
import { z } from 'zod';
import { ChangesQuerySchema } from '../common/change-log';
import { FaultSettingsSchema, type Faults } from '../common/faults';
import type { RequestLog } from '../common/request-log';
import type { WebhookOutbox } from '../common/webhook-outbox';
import { CustomFieldModelSchema } from './records';
import {
  createCustomField,
  customFieldView,
  deleteCustomField,
  listCustomFields,
  NewCustomFieldSchema,
} from './custom-fields';
import { parseInput, routeNotFound } from './errors';
import { JobFilterSchema, jobView, listJobs, setJobState } from './jobs';
import {
  MoveInSchema,
  MoveOutSchema,
  RentalFilterSchema,
  RentalPatchSchema,
  ReservationSchema,
  TransferSchema,
  listRentals,
  moveIn,
  moveOut,
  rentalView,
  reserveUnit,
  transferUnit,
  updateRental,
} from './rentals';
import { AddonStateSchema, type SandboxSgAccount } from './records';
import { nowIso, type Account, type AccountRegistry, type UnitRental } from './state';
import { NewUserSchema, UserPatchSchema, createUser, findUser, updateUser, userView } from './users';

const SubdomainSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'must be a lowercase DNS label (letters, digits, hyphens)');
// The add-on header joins id and key with `|`, so neither may contain one.
const AddonIdSchema = z.string().regex(/^[^|\s]+$/, 'must not contain "|" or spaces');
const SecretSchema = z.string().min(1);
const WebhookUrlSchema = z.url({ protocol: /^https?$/ });

const NewAccountSchema = z.strictObject({
  subdomain: SubdomainSchema,
  addonId: AddonIdSchema.optional(),
  addonApiKey: SecretSchema,
  adminApiKey: SecretSchema.optional(),
  addonState: AddonStateSchema.optional(),
  webhookUrl: WebhookUrlSchema.optional(),
  webhookSecret: SecretSchema,
  settings: z.record(z.string(), z.unknown()).optional(),
  /** Sends `addon.installed` right away, as installing the add-on in the admin UI does. */
  emitInstalled: z.boolean().default(false),
});

const AccountPatchSchema = z.strictObject({
  addonApiKey: SecretSchema.optional(),
  adminApiKey: SecretSchema.nullable().optional(),
  addonState: AddonStateSchema.optional(),
  webhookUrl: WebhookUrlSchema.nullable().optional(),
  webhookSecret: SecretSchema.optional(),
  /** Replaces all settings; like saving the add-on form, this sends no webhook. */
  settings: z.record(z.string(), z.unknown()).optional(),
});

const JobPatchSchema = z.strictObject({ state: z.string().min(1) });
const CustomFieldsQuerySchema = z.object({ model: CustomFieldModelSchema.optional() });
const DeleteCustomFieldQuerySchema = z.object({ model: CustomFieldModelSchema.default('user') });
const RequestsQuerySchema = z.object({
  account: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  sinceSeq: z.string().regex(/^\d+$/).transform(Number).optional(),
});

const EVERYTHING = new Set(['customFields']);

export interface ControlDeps {
  registry: AccountRegistry;
  requestLog: RequestLog;
  faults: Faults;
  outbox: WebhookOutbox;
  apiUrlOf: (subdomain: string) => string;
}

/** The sandbox's own API: set up businesses and act in them the way an operator would in the admin UI. */
export function controlApi(deps: ControlDeps): Router {
  const { registry, requestLog, faults, outbox } = deps;
  const router = Router();
  router.use(express.json({ limit: '5mb' }));

  const accountView = (account: Account): SandboxSgAccount => ({
    subdomain: account.subdomain,
    apiUrl: deps.apiUrlOf(account.subdomain),
    addonId: account.addonId,
    addonApiKey: account.addonApiKey,
    adminApiKey: account.adminApiKey,
    addonState: account.addonState,
    webhookUrl: account.webhookUrl,
    webhookSecret: account.webhookSecret,
    settings: structuredClone(account.settings),
    siteId: account.siteId,
    created: account.created,
  });
  const rentalOut = (account: Account, rental: UnitRental) => rentalView(account, rental, EVERYTHING);

  router.post('/reset', (_req, res) => {
    registry.clear();
    requestLog.clear();
    faults.clear();
    outbox.clear();
    res.status(204).end();
  });
  router.post('/idle', async (_req, res) => {
    await outbox.idle();
    res.status(204).end();
  });
  router.get('/requests', (req, res) => {
    res.json(requestLog.list(parseInput(RequestsQuerySchema, req.query, 'query')));
  });

  router.get('/accounts', (_req, res) => {
    res.json(registry.list().map(accountView));
  });
  router.post('/accounts', (req, res) => {
    const { emitInstalled, ...input } = parseInput(NewAccountSchema, req.body, 'body');
    const account = registry.create(input);
    if (emitInstalled) registry.publish(account, 'addon.installed', { addonId: account.addonId }, nowIso());
    res.status(201).json(accountView(account));
  });
  router.get('/accounts/:sub', (req, res) => {
    res.json(accountView(registry.require(req.params.sub)));
  });
  router.patch('/accounts/:sub', (req, res) => {
    const account = registry.require(req.params.sub);
    const patch = parseInput(AccountPatchSchema, req.body, 'body');
    if (patch.addonApiKey !== undefined) account.addonApiKey = patch.addonApiKey;
    if (patch.adminApiKey !== undefined) account.adminApiKey = patch.adminApiKey;
    if (patch.addonState !== undefined) account.addonState = patch.addonState;
    if (patch.webhookUrl !== undefined) account.webhookUrl = patch.webhookUrl;
    if (patch.webhookSecret !== undefined) account.webhookSecret = patch.webhookSecret;
    if (patch.settings !== undefined) {
      account.settings = patch.settings;
      account.settingsUpdated = new Date().toISOString();
    }
    res.json(accountView(account));
  });
  router.post('/accounts/:sub/installed', (req, res) => {
    const account = registry.require(req.params.sub);
    registry.publish(account, 'addon.installed', { addonId: account.addonId }, nowIso());
    res.status(204).end();
  });

  router.get('/accounts/:sub/users', (req, res) => {
    const account = registry.require(req.params.sub);
    res.json([...account.users.values()].map((user) => userView(account, user, true)));
  });
  router.post('/accounts/:sub/users', (req, res) => {
    const account = registry.require(req.params.sub);
    const user = createUser(account, registry, parseInput(NewUserSchema, req.body, 'body'), 'control');
    res.status(201).json(userView(account, user, true));
  });
  router.get('/accounts/:sub/users/:id', (req, res) => {
    const account = registry.require(req.params.sub);
    res.json(userView(account, findUser(account, req.params.id), true));
  });
  router.patch('/accounts/:sub/users/:id', (req, res) => {
    const account = registry.require(req.params.sub);
    const user = updateUser(account, registry, req.params.id, parseInput(UserPatchSchema, req.body, 'body'), 'control');
    res.json(userView(account, user, true));
  });

  router.post('/accounts/:sub/reservations', (req, res) => {
    const account = registry.require(req.params.sub);
    const { job, unitRental } = reserveUnit(account, registry, parseInput(ReservationSchema, req.body, 'body'));
    res.status(201).json({ job: jobView(job), unitRental: rentalOut(account, unitRental) });
  });
  router.post('/accounts/:sub/move-ins', (req, res) => {
    const account = registry.require(req.params.sub);
    const { job, unitRental } = moveIn(account, registry, parseInput(MoveInSchema, req.body, 'body'));
    res.status(201).json({ job: jobView(job), unitRental: rentalOut(account, unitRental) });
  });
  router.post('/accounts/:sub/move-outs', (req, res) => {
    const account = registry.require(req.params.sub);
    const { job, unitRental } = moveOut(account, registry, parseInput(MoveOutSchema, req.body, 'body'));
    res.status(201).json({ job: jobView(job), unitRental: rentalOut(account, unitRental) });
  });
  router.post('/accounts/:sub/transfers', (req, res) => {
    const account = registry.require(req.params.sub);
    const moved = transferUnit(account, registry, parseInput(TransferSchema, req.body, 'body'));
    res.status(201).json({
      job: jobView(moved.job),
      oldRental: rentalOut(account, moved.oldRental),
      newRental: rentalOut(account, moved.newRental),
    });
  });
  router.get('/accounts/:sub/unit-rentals', (req, res) => {
    const account = registry.require(req.params.sub);
    const filter = parseInput(RentalFilterSchema, req.query, 'query');
    res.json(listRentals(account, filter).map((rental) => rentalOut(account, rental)));
  });
  router.patch('/accounts/:sub/unit-rentals/:id', (req, res) => {
    const account = registry.require(req.params.sub);
    const rental = updateRental(account, registry, req.params.id, parseInput(RentalPatchSchema, req.body, 'body'));
    res.json(rentalOut(account, rental));
  });

  router.get('/accounts/:sub/jobs', (req, res) => {
    const account = registry.require(req.params.sub);
    res.json(listJobs(account, parseInput(JobFilterSchema, req.query, 'query')).map(jobView));
  });
  router.patch('/accounts/:sub/jobs/:id', (req, res) => {
    const account = registry.require(req.params.sub);
    const { state } = parseInput(JobPatchSchema, req.body, 'body');
    res.json(jobView(setJobState(account, req.params.id, state)));
  });

  router.get('/accounts/:sub/custom-fields', (req, res) => {
    const account = registry.require(req.params.sub);
    const { model } = parseInput(CustomFieldsQuerySchema, req.query, 'query');
    res.json(listCustomFields(account, model).map(customFieldView));
  });
  router.post('/accounts/:sub/custom-fields', (req, res) => {
    const account = registry.require(req.params.sub);
    res
      .status(201)
      .json(customFieldView(createCustomField(account, parseInput(NewCustomFieldSchema, req.body, 'body'))));
  });
  router.delete('/accounts/:sub/custom-fields/:code', (req, res) => {
    const account = registry.require(req.params.sub);
    const { model } = parseInput(DeleteCustomFieldQuerySchema, req.query, 'query');
    deleteCustomField(account, model, req.params.code);
    res.status(204).end();
  });

  router.get('/accounts/:sub/events', (req, res) => {
    res.json(registry.require(req.params.sub).events);
  });
  router.get('/accounts/:sub/changes', (req, res) => {
    const account = registry.require(req.params.sub);
    res.json(account.changes.list(parseInput(ChangesQuerySchema, req.query, 'query')));
  });
  router.get('/accounts/:sub/deliveries', (req, res) => {
    res.json(outbox.deliveries(registry.require(req.params.sub).subdomain));
  });
  router.get('/accounts/:sub/faults', (req, res) => {
    res.json(faults.get(registry.require(req.params.sub).subdomain));
  });
  router.put('/accounts/:sub/faults', (req, res) => {
    const account = registry.require(req.params.sub);
    res.json(faults.set(account.subdomain, parseInput(FaultSettingsSchema, req.body, 'body')));
  });

  router.use(routeNotFound);
  return router;
}

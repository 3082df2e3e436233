import { Router } from 'express';
import { z } from 'zod';
import { requestAccount } from './auth';
import { notFound, parseInput } from './errors';
import { LimitSchema, OffsetSchema, page } from './paging';
import { JOB_TARGET_TYPES, type SandboxJob } from './records';
import { newObjectId, nowIso, type Account, type Job, type JobStep } from './state';

/** Admin tasks are the only job type the admin API lets a caller create here. */
export const NewTaskSchema = z.strictObject({
  type: z.literal('task'),
  ownerId: z.string().nullable().default(null),
  data: z.looseObject({
    targetType: z.enum(JOB_TARGET_TYPES),
    targetId: z.string().min(1),
    title: z.string().regex(/\S/, 'must not be blank'),
    desc: z.string().default(''),
  }),
});

export const JobFilterSchema = z.object({
  type: z.string().optional(),
  state: z.string().optional(),
  ownerId: z.string().optional(),
});
export type JobFilter = z.infer<typeof JobFilterSchema>;

const ListJobsQuerySchema = JobFilterSchema.extend({ limit: LimitSchema, offset: OffsetSchema });

export interface NewJob {
  type: string;
  state: string;
  ownerId: string | null;
  data: Record<string, unknown>;
  result?: Record<string, unknown>;
  steps?: JobStep[];
}

export function createJob(account: Account, input: NewJob): Job {
  const created = nowIso();
  const job: Job = {
    id: newObjectId(),
    type: input.type,
    state: input.state,
    ownerId: input.ownerId,
    data: input.data,
    result: input.result,
    steps: input.steps,
    created,
    updated: created,
  };
  account.jobs.set(job.id, job);
  return job;
}

export function findJob(account: Account, id: string): Job {
  const job = account.jobs.get(id);
  if (!job) throw notFound('Job', id);
  return job;
}

export function setJobState(account: Account, id: string, state: string): Job {
  const job = findJob(account, id);
  if (job.state !== state) {
    job.state = state;
    job.updated = nowIso();
  }
  return job;
}

/** An admin task is one step; completing it completes the task, as the admin UI's "Complete" does. */
const StepPatchSchema = z.looseObject({ state: z.enum(['ready', 'completed', 'cancelled']) });

export function setJobStepState(account: Account, jobId: string, stepId: string, state: string): Job {
  const job = findJob(account, jobId);
  const step = job.steps?.find((s) => s.id === stepId);
  if (!job.steps || !step) throw notFound('Job step', stepId);
  if (step.state === state) return job;
  const now = nowIso();
  step.state = state;
  if (state === 'completed') step.completedAt = now;
  else delete step.completedAt;
  const states = new Set(job.steps.map((s) => s.state));
  job.state =
    states.size === 1 && states.has('completed') ? 'completed' : states.has('cancelled') ? 'cancelled' : 'ready';
  job.updated = now;
  return job;
}

export function listJobs(account: Account, filter: JobFilter): Job[] {
  return [...account.jobs.values()].filter(
    (job) =>
      (filter.type === undefined || job.type === filter.type) &&
      (filter.state === undefined || job.state === filter.state) &&
      (filter.ownerId === undefined || job.ownerId === filter.ownerId),
  );
}

export const jobView = (job: Job): SandboxJob => ({
  id: job.id,
  type: job.type,
  state: job.state,
  ownerId: job.ownerId,
  data: { ...job.data },
  ...(job.result === undefined ? {} : { result: { ...job.result } }),
  ...(job.steps === undefined ? {} : { steps: job.steps.map((step) => ({ ...step })) }),
  created: job.created,
  updated: job.updated,
});

export function jobsRouter(): Router {
  const router = Router();
  router.get('/jobs', (req, res) => {
    const query = parseInput(ListJobsQuerySchema, req.query, 'query');
    res.json(page(listJobs(requestAccount(req), query), query).map(jobView));
  });
  router.get('/jobs/:id', (req, res) => {
    res.json(jobView(findJob(requestAccount(req), req.params.id)));
  });
  router.post('/jobs', (req, res) => {
    const task = parseInput(NewTaskSchema, req.body, 'body');
    const job = createJob(requestAccount(req), {
      type: task.type,
      state: 'ready',
      ownerId: task.ownerId,
      data: task.data,
      steps: [{ id: newObjectId(), type: 'task', state: 'ready' }],
    });
    res.status(201).json(jobView(job));
  });
  router.put('/jobs/:id/steps/:stepId', (req, res) => {
    const { state } = parseInput(StepPatchSchema, req.body, 'body');
    res.json(jobView(setJobStepState(requestAccount(req), req.params.id, req.params.stepId, state)));
  });
  return router;
}

/**
 * The environment the runtime image (Dockerfile, last stage) gives the built api and worker, so
 * the benchmark (`BENCH_WORKER=dist`) and the built-process tests run them as production does.
 * `test/compose.test.ts` checks the Dockerfile sets exactly these.
 *
 * Memory, measured with `npm run bench -- --rate 10 --changes 300` and `BENCH_WORKER=dist`: the
 * worker peaked at 455 MiB without them, 410 MiB with MALLOC_ARENA_MAX=2 (glibc otherwise keeps a
 * malloc arena per native thread of the Temporal core) and 322 MiB with both (V8's young
 * generation, per isolate, capped at 2 MiB semi-spaces), at the same CPU per edit.
 */
export const RUNTIME_IMAGE_ENV = {
  NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=2',
  MALLOC_ARENA_MAX: '2',
} as const;

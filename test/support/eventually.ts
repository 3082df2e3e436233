import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `probe` until it stops throwing (an assertion) and returns its value; on timeout the last
 * assertion error is thrown, so a failing test says what it was waiting for.
 */
export async function eventually<T>(
  probe: () => Promise<T> | T,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await sleep(options.intervalMs ?? 100);
    }
  }
}

export { sleep };

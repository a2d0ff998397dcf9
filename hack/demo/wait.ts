// Polling with a deadline: the demo waits for the cluster to converge, never forever.
import { setTimeout as sleep } from 'node:timers/promises';
import { DemoFailure } from './narrator.ts';

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  const detail = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new DemoFailure(`timed out after ${timeoutMs / 1000}s waiting for ${what}${detail}`);
}

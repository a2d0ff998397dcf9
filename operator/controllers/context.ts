// What every controller shares: the caches, the writer, metrics, a logger and the clock.
import type { Logger } from 'pino';
import type { Caches } from '../kube/caches.ts';
import type { Actions } from './actions.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { Revoker } from './revoke.ts';

export interface ControllerContext {
  caches: Caches;
  actions: Actions;
  revoker: Revoker;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Epoch ms; injectable for tests. */
  now: () => number;
}

/** Milliseconds until `at` for a requeue, or undefined when there is nothing to wait for. */
export function requeueAt(
  at: number | undefined,
  now: number,
): { requeueAfterMs: number } | undefined {
  if (at === undefined || !Number.isFinite(at)) return undefined;
  // +1 ms: decisions are valid while now < validUntil, so look just after it.
  return { requeueAfterMs: Math.max(0, at - now) + 1 };
}

// The shape of a controller, in the manner of controller-runtime's builder: a name, how
// many keys it reconciles at once, the watches that turn cache events into its keys, and
// the reconciler. The runtime (startControllers, on the elected leader) gives each one a
// work queue, runs its watches and stops it when leadership ends.
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { type ReconcileResult, WorkQueue } from '../kube/workqueue.ts';

export type { ReconcileResult } from '../kube/workqueue.ts';

/** Where a watch puts keys: now, or after a delay (batching, time-driven work). */
export interface Enqueue {
  add(key: string): void;
  addAfter(key: string, delayMs: number): void;
}

/** Subscribes to a source of changes, enqueueing keys; returns the unsubscribe. */
export type Watch = (queue: Enqueue) => () => void;

export interface Controller {
  name: string;
  concurrency: number;
  watches: Watch[];
  /** Every key to look at once when the controller starts (level-triggered). */
  initialKeys(): Iterable<string>;
  /** `signal` aborts when the controller stops; the result may ask for a later look. */
  reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult | undefined>;
}

export interface RunningController {
  queue: WorkQueue;
  stop(): Promise<void>;
}

/**
 * Subscribes the controller's watches to a new queue. Reconciling starts with start(),
 * after the caches have synced, so the first pass sees a full cache.
 */
export function prepareController(
  c: Controller,
  opts: { registry: Registry; logger: Logger; timed: (name: string) => () => void },
): RunningController & { start(): void } {
  const queue = new WorkQueue({
    name: c.name,
    concurrency: c.concurrency,
    registry: opts.registry,
    logger: opts.logger.child({ controller: c.name }),
  });
  const unsubscribe = c.watches.map((watch) => watch(queue));
  return {
    queue,
    start() {
      queue.start(async (key, signal) => {
        const end = opts.timed(c.name);
        try {
          return await c.reconcile(key, signal);
        } finally {
          end();
        }
      });
      for (const key of c.initialKeys()) queue.add(key);
    },
    async stop() {
      for (const u of unsubscribe) u();
      await queue.stop();
    },
  };
}

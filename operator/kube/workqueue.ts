// A controller work queue: keys (not events) so bursts collapse, one worker per key at a
// time, failed keys retried with per-key exponential backoff, and delayed requeue for
// time-driven work (an attestation going stale, a grant expiring).
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { Backoff } from './backoff.ts';
import { kubeMetrics } from './metrics.ts';

/** What a reconcile returns: when to look at the key again even if nothing changes. */
export interface ReconcileResult {
  requeueAfterMs?: number;
}
/**
 * Reconciles one key; a rejection retries it with backoff. `signal` aborts when the queue
 * stops (leadership lost, shutdown): a reconcile should stop writing as soon as it can.
 */
export type Reconciler = (key: string, signal: AbortSignal) => Promise<ReconcileResult | undefined>;

export interface WorkQueueOptions {
  name: string;
  /** Keys processed at once (never the same key twice at once). */
  concurrency?: number;
  /** Retry delays per key: initialMs doubling up to maxMs. */
  retry?: { initialMs?: number; maxMs?: number };
  registry?: Registry;
  logger?: Logger;
}

export class WorkQueue {
  readonly name: string;
  #opts: WorkQueueOptions;
  #ready = new Set<string>(); // insertion-ordered, de-duplicated
  #processing = new Set<string>();
  #dirty = new Set<string>(); // added again while being processed
  #delayed = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  #failures = new Map<string, Backoff>();
  #worker: Reconciler | undefined;
  #stopped = false;
  readonly #abort = new AbortController();
  #idleWaiters: (() => void)[] = [];
  #metrics;

  constructor(opts: WorkQueueOptions) {
    this.name = opts.name;
    this.#opts = opts;
    this.#metrics = opts.registry ? kubeMetrics(opts.registry) : undefined;
  }

  /** Keys ready or being processed. */
  get depth(): number {
    return this.#ready.size;
  }

  add(key: string): void {
    if (this.#stopped) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    this.#ready.add(key);
    this.#updateDepth();
    this.#pump();
  }

  /** Adds key after delayMs; an earlier pending delay for the same key wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.#stopped) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + delayMs;
    const pending = this.#delayed.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#delayed.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.#delayed.set(key, { at, timer });
  }

  /** Times a key has failed in a row. */
  retries(key: string): number {
    return this.#failures.get(key)?.attempt ?? 0;
  }

  start(worker: Reconciler): void {
    this.#worker = worker;
    this.#pump();
  }

  /** Stops taking keys and waits for those in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const { timer } of this.#delayed.values()) clearTimeout(timer);
    this.#delayed.clear();
    this.#ready.clear();
    this.#updateDepth();
    await this.idle();
  }

  /** Resolves when nothing is ready or in flight (delayed keys do not count). */
  idle(): Promise<void> {
    if (this.#ready.size === 0 && this.#processing.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #pump(): void {
    const worker = this.#worker;
    if (!worker || this.#stopped) return;
    const limit = this.#opts.concurrency ?? 4;
    while (this.#processing.size < limit && this.#ready.size > 0) {
      const key = this.#ready.values().next().value as string;
      this.#ready.delete(key);
      this.#processing.add(key);
      void this.#process(worker, key);
    }
    this.#updateDepth();
  }

  async #process(worker: Reconciler, key: string): Promise<void> {
    try {
      const result = await worker(key, this.#abort.signal);
      this.#failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      // Stopped mid-reconcile: not a failure; whoever runs the queue next starts over.
      if (this.#abort.signal.aborted) return;
      let backoff = this.#failures.get(key);
      if (!backoff) {
        backoff = new Backoff({
          initialMs: this.#opts.retry?.initialMs ?? 100,
          maxMs: this.#opts.retry?.maxMs ?? 60_000,
        });
        this.#failures.set(key, backoff);
      }
      const delay = backoff.next();
      this.#metrics?.queueRetries.inc({ queue: this.name });
      this.#opts.logger?.warn(
        { queue: this.name, key, err: (err as Error).message, retryInMs: delay },
        'reconcile failed; retrying',
      );
      this.addAfter(key, delay);
    } finally {
      this.#processing.delete(key);
      if (this.#dirty.delete(key)) this.add(key);
      this.#pump();
      if (this.#ready.size === 0 && this.#processing.size === 0) {
        for (const w of this.#idleWaiters.splice(0)) w();
      }
    }
  }

  #updateDepth(): void {
    this.#metrics?.queueDepth.set({ queue: this.name }, this.#ready.size);
  }
}

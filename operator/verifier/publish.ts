// The publish loop of `trustgate attest publish`: per node, read the nonce trustgate
// expects, read the posture source, sign, apply; then again every interval. I/O comes in
// through PublishSteps so the loop's timing (interval, backoff, giving up) is tested alone.
//
// A node whose source or write keeps failing is given up after maxFailures consecutive
// failures, and the others keep publishing: one broken posture source must not let the
// whole fleet go stale. When every node has been given up (bad credentials, API down for
// long) the loop ends with an error, so the process exits non-zero and is restarted.
import { Backoff, sleep } from '../kube/backoff.ts';

export interface PublishSteps {
  /** One round for a node: read nonce, read posture, sign, apply. Throws on failure. */
  publish(node: string, signal: AbortSignal): Promise<void>;
  sleep?(ms: number, signal: AbortSignal): Promise<void>;
  random?(): number;
}

export interface PublishOptions {
  nodes: string[];
  intervalMs: number;
  /** Consecutive failures of a node before it is given up (>= 1). */
  maxFailures: number;
  /** One successful round per node, then stop (retrying failures up to maxFailures). */
  once?: boolean;
  /** First retry delay; doubles up to the interval. */
  initialBackoffMs?: number;
}

export type PublishEvent =
  | { type: 'published'; node: string }
  | { type: 'failed'; node: string; failures: number; retryInMs: number; error: string }
  | { type: 'gave-up'; node: string; failures: number; error: string };

export interface PublishOutcome {
  published: number;
  gaveUp: { node: string; failures: number; error: string }[];
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

async function publishNode(
  node: string,
  opts: PublishOptions,
  steps: PublishSteps,
  onEvent: (e: PublishEvent) => void,
  signal: AbortSignal,
  outcome: PublishOutcome,
): Promise<void> {
  const wait = steps.sleep ?? sleep;
  const backoff = new Backoff({
    initialMs: Math.min(opts.initialBackoffMs ?? 1_000, opts.intervalMs),
    maxMs: opts.intervalMs,
    random: steps.random,
  });
  while (!signal.aborted) {
    try {
      await steps.publish(node, signal);
      backoff.reset();
      outcome.published++;
      onEvent({ type: 'published', node });
      if (opts.once) return;
      await wait(opts.intervalMs, signal);
    } catch (err) {
      if (signal.aborted) return;
      const failures = backoff.attempt + 1;
      if (failures >= opts.maxFailures) {
        outcome.gaveUp.push({ node, failures, error: message(err) });
        onEvent({ type: 'gave-up', node, failures, error: message(err) });
        return;
      }
      const retryInMs = backoff.next();
      onEvent({ type: 'failed', node, failures, retryInMs, error: message(err) });
      await wait(retryInMs, signal);
    }
  }
}

/** Runs until `signal` aborts (or, with once, every node is done); never throws. */
export async function runPublisher(
  opts: PublishOptions,
  steps: PublishSteps,
  onEvent: (e: PublishEvent) => void,
  signal: AbortSignal,
): Promise<PublishOutcome> {
  const outcome: PublishOutcome = { published: 0, gaveUp: [] };
  await Promise.all(opts.nodes.map((n) => publishNode(n, opts, steps, onEvent, signal, outcome)));
  return outcome;
}

/** Exit status: with once, any node given up fails the run; looping, only all of them. */
export function publishFailed(opts: PublishOptions, outcome: PublishOutcome): boolean {
  if (outcome.gaveUp.length === 0) return false;
  return opts.once === true || outcome.gaveUp.length === opts.nodes.length;
}

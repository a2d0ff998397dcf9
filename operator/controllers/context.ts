// What every controller shares: the caches, the writer, metrics, a logger and the clock.
import type { Logger } from 'pino';
import type { WorkloadGrant } from '../api/types.generated.ts';
import type { Caches } from '../kube/caches.ts';
import type { Actions } from './actions.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { ReportStore } from './report-store.ts';
import type { Revoker } from './revoke.ts';

export type RevocationRecord = NonNullable<NonNullable<WorkloadGrant['status']>['lastRevocation']>;

/**
 * Revocations waiting to be written to grant status. Many drifting nodes touch the same
 * grants at once; collecting them here turns N conflicting writes per grant into one,
 * made by the grant controller (the durable record of a drift lives on the node).
 */
export class GrantRevocations {
  readonly #pending = new Map<string, RevocationRecord>();
  readonly #listeners = new Set<(grantKey: string) => void>();

  /** The grant controller's watch: called with each grant that has a record to write. */
  subscribe(listener: (grantKey: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  note(grantKey: string, r: RevocationRecord): void {
    const prior = this.#pending.get(grantKey);
    this.#pending.set(
      grantKey,
      prior
        ? {
            ...r,
            node: [prior.node, r.node].filter(Boolean).join(', ').slice(0, 253),
            podsRemoved: (prior.podsRemoved ?? 0) + (r.podsRemoved ?? 0),
            secretsDeleted: (prior.secretsDeleted ?? 0) + (r.secretsDeleted ?? 0),
            serviceAccountRotated: prior.serviceAccountRotated || r.serviceAccountRotated,
          }
        : r,
    );
    for (const l of this.#listeners) l(grantKey);
  }

  peek(grantKey: string): RevocationRecord | undefined {
    return this.#pending.get(grantKey);
  }

  /** Drops the record once written (unless a newer one arrived meanwhile). */
  written(grantKey: string, r: RevocationRecord): void {
    if (this.#pending.get(grantKey) === r) this.#pending.delete(grantKey);
  }
}

export interface ControllerContext {
  caches: Caches;
  actions: Actions;
  revoker: Revoker;
  metrics: ControllerMetrics;
  logger: Logger;
  /** Epoch ms; injectable for tests. */
  now: () => number;
  grantRevocations: GrantRevocations;
  /** Where PolicyReports are written; also says whether reporting is on (the condition). */
  reports: ReportStore;
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

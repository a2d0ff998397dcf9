// Revocation: remove the governed pods (their bound tokens die with them), delete legacy
// token Secrets of the affected service accounts, and recreate service accounts whose
// grant asks for it. Shared by drift (per node) and grant expiry (per service account).
import type { V1Pod } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { type Caches, saKey } from '../kube/caches.ts';
import type { PodLite } from '../kube/trim.ts';
import { workloadGovernance } from '../trust/index.ts';
import type { Actions } from './actions.ts';
import type { ControllerMetrics } from './metrics.ts';
import type { EnforcementSettings } from './settings.ts';

export interface RevocationScope {
  policy: EndpointTrustPolicy;
  settings: EnforcementSettings;
  /** The drifted node, for drift; undefined for a grant expiry. */
  node?: string;
  reason: string;
  /** Rotate service accounts whose grant sets rotateServiceAccount (first pass only). */
  rotate: boolean;
}

export interface RevocationCounts {
  podsRemoved: number;
  secretsDeleted: number;
  rotated: string[];
  /** namespace/serviceAccount → pods removed for it. */
  perServiceAccount: Map<string, number>;
}

const POD_CONCURRENCY = 32;

/**
 * Pods on `pods` governed by the policy right now (exempted pods are not), and when the
 * first exemption sparing one of the others ends (then they are governed again).
 */
export function governedPods(
  caches: Caches,
  policy: EndpointTrustPolicy,
  pods: PodLite[],
  now: number,
): PodLite[] & { exemptUntil?: number } {
  const governed: PodLite[] & { exemptUntil?: number } = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const g = workloadGovernance(
      policy,
      p as V1Pod,
      caches.namespaceLabels(p.metadata.namespace),
      now,
      { exemptions: caches.exemptionSource },
    );
    if (g.governed) governed.push(p);
    else if (g.exemption)
      governed.exemptUntil = Math.min(governed.exemptUntil ?? Infinity, g.validUntil);
  }
  return governed;
}

export class Revoker {
  readonly #caches: Caches;
  readonly #actions: Actions;
  readonly #metrics: ControllerMetrics;
  readonly #logger: Logger | undefined;

  constructor(caches: Caches, actions: Actions, metrics: ControllerMetrics, logger?: Logger) {
    this.#caches = caches;
    this.#actions = actions;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** Runs every action once; each is idempotent, so a rerun after a crash is harmless. */
  async revoke(
    scope: RevocationScope,
    pods: PodLite[],
    serviceAccounts: Iterable<string>,
  ): Promise<RevocationCounts> {
    const { settings } = scope;
    const policyName = scope.policy.metadata.name ?? '';
    const counts: RevocationCounts = {
      podsRemoved: 0,
      secretsDeleted: 0,
      rotated: [],
      perServiceAccount: new Map(),
    };
    const nodeRef = scope.node
      ? {
          apiVersion: 'v1',
          kind: 'Node',
          name: scope.node,
          uid: this.#caches.nodes.get(scope.node)?.metadata.uid,
        }
      : undefined;
    // Pods first: they hold the live tokens.
    if (settings.podAction !== 'None') {
      await forEachLimited(pods, POD_CONCURRENCY, async (pod) => {
        if (!(await this.#actions.removePod(pod, settings.podAction))) return;
        counts.podsRemoved++;
        const sa = saKey(pod.metadata.namespace, pod.spec.serviceAccountName);
        counts.perServiceAccount.set(sa, (counts.perServiceAccount.get(sa) ?? 0) + 1);
        this.#metrics.revocations.inc({ action: settings.podAction });
        void this.#actions.event(
          {
            apiVersion: 'v1',
            kind: 'Pod',
            name: pod.metadata.name,
            namespace: pod.metadata.namespace,
            uid: pod.metadata.uid,
          },
          'Warning',
          'TrustRevoked',
          `${settings.podAction} by trustgate: ${scope.reason} (policy ${policyName})`,
        );
      });
    }
    const accounts = [...new Set(serviceAccounts)];
    if (settings.deleteLegacyTokenSecrets) {
      for (const sa of accounts) {
        const [ns = '', name = ''] = sa.split('/');
        for (const secret of this.#caches.legacyTokenSecretsOf(ns, name)) {
          if (!(await this.#actions.deleteSecret(ns, secret.metadata.name))) continue;
          counts.secretsDeleted++;
          this.#metrics.revocations.inc({ action: 'DeleteLegacyTokenSecret' });
        }
      }
    }
    if (scope.rotate) {
      for (const sa of accounts) {
        const [ns = '', name = ''] = sa.split('/');
        const wantsRotation = this.#caches
          .grantsFor(ns, name)
          .some((g) => g.spec.policyRef?.name === policyName && g.spec.rotateServiceAccount);
        if (!wantsRotation) continue;
        await this.#actions.rotateServiceAccount(ns, name);
        counts.rotated.push(sa);
        this.#metrics.revocations.inc({ action: 'RotateServiceAccount' });
      }
    }
    const acted = counts.podsRemoved + counts.secretsDeleted + counts.rotated.length;
    if (acted > 0) {
      this.#logger?.info(
        {
          policy: policyName,
          node: scope.node,
          reason: scope.reason,
          podsRemoved: counts.podsRemoved,
          secretsDeleted: counts.secretsDeleted,
          rotated: counts.rotated,
        },
        'revoked',
      );
      if (nodeRef) {
        void this.#actions.event(
          nodeRef,
          'Warning',
          'TrustRevoked',
          `policy ${policyName}: ${scope.reason}; removed ${counts.podsRemoved} pods (${settings.podAction}), deleted ${counts.secretsDeleted} legacy token secrets, rotated ${counts.rotated.length} service accounts`,
        );
      }
    }
    return counts;
  }
}

async function forEachLimited<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (err) {
        errors.push(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.length) throw errors[0];
}

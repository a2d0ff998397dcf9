// AdmissionCaches over the informer caches every replica keeps (operator/kube/caches.ts).
import type { EndpointTrustPolicy } from '../operator/api/types.generated.ts';
import type { Caches } from '../operator/kube/caches.ts';
import type { AdmissionCaches } from './caches.ts';

export function admissionCachesFrom(caches: Caches): AdmissionCaches {
  // The policy list is read on every review; rebuild it only when a policy changes.
  let policies: EndpointTrustPolicy[] | undefined;
  const invalidate = () => {
    policies = undefined;
  };
  caches.policies.on({ add: invalidate, update: invalidate, delete: invalidate });
  return {
    synced: () => caches.synced(),
    policies: () => {
      policies ??= [...caches.policies.list()];
      return policies;
    },
    grants: (namespace, serviceAccount) => caches.grantsFor(namespace, serviceAccount),
    namespaceLabels: (namespace) => {
      const ns = caches.namespaces.get(namespace);
      if (!ns) return undefined;
      return { ...ns.metadata.labels, 'kubernetes.io/metadata.name': namespace };
    },
    pod: (namespace, name) => caches.pods.get(name, namespace),
    isLegacyTokenSecret: (namespace, name) => caches.isLegacyTokenSecret(namespace, name),
    nodeDecision: (node, policy, now) => caches.trust.admissionDecision(node, policy, now),
    exemptions: caches.exemptionSource,
  };
}

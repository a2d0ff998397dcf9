// What the admission handlers read: a read-only view of the informer caches (implemented by
// operator/kube/caches.ts from informers, and by snapshotCaches() below from plain objects
// in tests and benchmarks). Every read is in memory; no handler makes an API call.
import type {
  EndpointTrustPolicy,
  TrustExemption,
  WorkloadGrant,
} from '../operator/api/types.generated.ts';
import {
  type ExemptionSource,
  exemptionSource,
  type Labels,
  type NodeDecision,
  type TrustIndex,
} from '../operator/trust/index.ts';

/** The fields of a cached (trimmed) pod the handlers read. */
export interface CachedPod {
  metadata: { name: string; namespace: string; labels?: Record<string, string>; uid?: string };
  spec: { nodeName?: string; serviceAccountName?: string };
}

export interface AdmissionCaches {
  /** True once every cache the decisions need has listed and is watching. */
  synced(): boolean;
  /** Every EndpointTrustPolicy. */
  policies(): readonly EndpointTrustPolicy[];
  /** WorkloadGrants in the namespace naming the service account. */
  grants(namespace: string, serviceAccount: string): readonly WorkloadGrant[];
  /** Labels of a namespace; undefined when the namespace is not (yet) in the cache. */
  namespaceLabels(namespace: string): Record<string, string> | undefined;
  /** A pod by namespace and name (trimmed); undefined when not cached. */
  pod(namespace: string, name: string): CachedPod | undefined;
  /** Whether the Secret is of type kubernetes.io/service-account-token. */
  isLegacyTokenSecret(namespace: string, name: string): boolean;
  /**
   * Trust of a node under a policy at `now` (TrustIndex.admissionDecision: a refreshed
   * attestation still being checked does not interrupt a verified, fresh decision).
   */
  nodeDecision(node: string, policy: string, now: number): NodeDecision;
  /** TrustExemptions (live or not: the decision compares expiresAt with now). */
  exemptions: ExemptionSource;
}

export interface CacheSnapshot {
  synced?: boolean;
  policies?: EndpointTrustPolicy[];
  grants?: WorkloadGrant[];
  /** Namespace name -> labels (kubernetes.io/metadata.name is added as the API server does). */
  namespaces?: Record<string, Labels>;
  pods?: CachedPod[];
  /** `namespace/name` of Secrets of type kubernetes.io/service-account-token. */
  legacyTokenSecrets?: string[];
  /** Node decisions; fed with the same policies, nodes and attestations. */
  trust: TrustIndex;
  exemptions?: TrustExemption[];
  /** trustgate's namespace, whose exemptions reach every namespace (default trustgate-system). */
  trustgateNamespace?: string;
}

/** AdmissionCaches over plain objects (unit tests, fuzzing, benchmarks). */
export function snapshotCaches(s: CacheSnapshot): AdmissionCaches {
  const grants = new Map<string, WorkloadGrant[]>();
  for (const g of s.grants ?? []) {
    const key = `${g.metadata?.namespace ?? ''}/${g.spec?.serviceAccountName ?? ''}`;
    const list = grants.get(key) ?? [];
    list.push(g);
    grants.set(key, list);
  }
  const pods = new Map(
    (s.pods ?? []).map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p]),
  );
  const legacy = new Set(s.legacyTokenSecrets ?? []);
  const policies = s.policies ?? [];
  return {
    synced: () => s.synced ?? true,
    policies: () => policies,
    grants: (ns, sa) => grants.get(`${ns}/${sa}`) ?? [],
    namespaceLabels: (ns) => {
      const labels = s.namespaces?.[ns];
      return labels === undefined ? undefined : { ...labels, 'kubernetes.io/metadata.name': ns };
    },
    pod: (ns, name) => pods.get(`${ns}/${name}`),
    isLegacyTokenSecret: (ns, name) => legacy.has(`${ns}/${name}`),
    nodeDecision: (node, policy, now) => s.trust.admissionDecision(node, policy, now),
    exemptions: exemptionSource(s.exemptions ?? [], s.trustgateNamespace ?? 'trustgate-system'),
  };
}

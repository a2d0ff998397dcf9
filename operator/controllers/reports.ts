// The report controllers: PolicyReports (one per namespace and policy, for the governed
// pods there) and ClusterPolicyReports (one per node, its trust under each policy whose
// pool holds it). Both are level-triggered and batched: any change to pods, grants,
// namespaces, nodes, attestations or policies puts the namespace (or node) on the queue
// after REPORT_BATCH_MS, so a burst becomes one look, and a look that changes no result
// writes nothing (ReportStore). Pods are judged by podDecisions, the webhook's own pod
// decision, in Enforce and Audit mode alike; a policy change re-scans every namespace, so
// pods that ran before the policy existed are reported too.
import type { V1Pod } from '@kubernetes/client-node';
import { podDecisions } from '../../webhook/handlers/pods.ts';
import { admissionCachesFrom } from '../../webhook/kube-caches.ts';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import {
  nodeReport,
  nodeReportName,
  nodeResults,
  podResults,
  policyReport,
  policyReportName,
  ResultSet,
  ruleCount,
} from '../reports/build.ts';
import { type NodeDecision, REASON } from '../trust/index.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, Enqueue, ReconcileResult } from './controller.ts';
import type { ReportStore } from './report-store.ts';

/** Changes within this window make one report look (per namespace, per node). */
export const REPORT_BATCH_MS = 1000;
const PENDING_RETRY_MS = 50;
const YIELD_EVERY_PODS = 500;
const FINISHED = new Set(['Succeeded', 'Failed']);

const pending = (d: NodeDecision | undefined) =>
  d?.reasons.some((r) => r.code === REASON.VerificationPending) ?? false;

/** Every key, after the batch delay: a policy changed, or reporting just became possible. */
const all = (q: Enqueue, keys: () => Iterable<string>) => () => {
  for (const k of keys()) q.addAfter(k, REPORT_BATCH_MS);
};

export function policyReportController(
  ctx: ControllerContext,
  store: ReportStore,
  apiAudiences: readonly string[],
): Controller {
  const { caches } = ctx;
  const namespaces = () => [...caches.namespaces.list()].map((n) => n.metadata.name);
  const later = (q: Enqueue) => (o: { metadata: { namespace?: string } }) =>
    o.metadata.namespace && q.addAfter(o.metadata.namespace, REPORT_BATCH_MS);
  return {
    name: 'policyreport',
    concurrency: 4,
    watches: [
      (q) => caches.pods.on({ add: later(q), update: later(q), delete: later(q) }),
      (q) => caches.grants.on({ add: later(q), update: later(q), delete: later(q) }),
      (q) => caches.tokenSecrets.on({ add: later(q), delete: later(q) }),
      (q) => {
        const ns = (n: { metadata: { name: string } }) =>
          q.addAfter(n.metadata.name, REPORT_BATCH_MS);
        return caches.namespaces.on({ add: ns, update: ns });
      },
      (q) => {
        const scan = all(q, namespaces);
        return caches.policies.on({ add: scan, update: scan, delete: scan });
      },
      // A node's trust changed: the namespaces of the pods on it.
      (q) =>
        caches.trust.onChange((node) => {
          for (const p of caches.podsOnNode(node))
            q.addAfter(p.metadata.namespace, REPORT_BATCH_MS);
        }),
      (q) => store.onChange(all(q, namespaces)),
    ],
    initialKeys: namespaces,
    reconcile: policyReportReconciler(ctx, store, apiAudiences),
  };
}

export function policyReportReconciler(
  ctx: ControllerContext,
  store: ReportStore,
  apiAudiences: readonly string[],
) {
  const { caches } = ctx;
  const admission = admissionCachesFrom(caches);
  return async function reconcileNamespace(ns: string): Promise<ReconcileResult | undefined> {
    if (!(await store.ready())) return undefined;
    await caches.trust.settled();
    const now = ctx.now();
    const labels = admission.namespaceLabels(ns);
    const byPolicy = new Map<string, ResultSet>();
    let soonest = Number.POSITIVE_INFINITY;
    const pods = labels ? caches.pods.byIndex('namespace', ns) : [];
    for (const [i, pod] of pods.entries()) {
      // A namespace of thousands of pods must not hold up revocation on the same loop.
      if (i > 0 && i % YIELD_EVERY_PODS === 0) await new Promise((r) => setImmediate(r));
      if (pod.metadata.deletionTimestamp || FINISHED.has(pod.status?.phase ?? '')) continue;
      const decisions = podDecisions(
        pod as unknown as V1Pod,
        ns,
        labels ?? {},
        admission,
        now,
        apiAudiences,
      );
      if (decisions.some((d) => pending(d.node))) return { requeueAfterMs: PENDING_RETRY_MS };
      for (const d of decisions) {
        soonest = Math.min(soonest, d.workload.validUntil, d.node?.validUntil ?? soonest);
      }
      const ref = {
        name: pod.metadata.name,
        namespace: ns,
        uid: pod.metadata.uid,
        serviceAccount: pod.spec.serviceAccountName,
      };
      // A pod that passes everything, past a full report of problems and earlier names, is
      // only counted.
      const passing = decisions.filter(
        (d) =>
          d.workload.reasons.length === 0 &&
          (!d.node || d.node.trusted) &&
          byPolicy
            .get(d.policy.metadata?.name ?? '')
            ?.countPasses(ref.name, ruleCount(d.policy, d.node !== undefined)),
      );
      const rest = passing.length ? decisions.filter((d) => !passing.includes(d)) : decisions;
      for (const r of podResults(ref, rest)) {
        const set = byPolicy.get(r.policy) ?? new ResultSet();
        byPolicy.set(r.policy, set);
        set.add(r);
      }
    }
    const policies = new Map<string, EndpointTrustPolicy>(
      [...caches.policies.list()].map((p) => [p.metadata.name ?? '', p]),
    );
    const names = new Set(store.names('PolicyReport', ns));
    for (const policy of byPolicy.keys()) names.add(policyReportName(policy));
    for (const name of names) {
      const policyName = [...byPolicy.keys()].find((p) => policyReportName(p) === name);
      const policy = policyName === undefined ? undefined : policies.get(policyName);
      const results = policyName === undefined ? undefined : byPolicy.get(policyName);
      await store.apply('PolicyReport', ns, name, (previous) =>
        policy && results
          ? policyReport({ namespace: ns, policy, results, previous, now })
          : undefined,
      );
    }
    return requeueAt(soonest, now);
  };
}

export function clusterPolicyReportController(
  ctx: ControllerContext,
  store: ReportStore,
): Controller {
  const { caches } = ctx;
  const nodes = () => [...caches.nodes.list()].map((n) => n.metadata.name);
  return {
    name: 'clusterpolicyreport',
    concurrency: 8,
    watches: [
      (q) => caches.trust.onChange((node) => q.addAfter(node, REPORT_BATCH_MS)),
      (q) => {
        const node = (n: { metadata: { name: string } }) =>
          q.addAfter(n.metadata.name, REPORT_BATCH_MS);
        return caches.nodes.on({ add: node, update: node, delete: node });
      },
      (q) => {
        const scan = all(q, nodes);
        return caches.policies.on({ add: scan, update: scan, delete: scan });
      },
      (q) => store.onChange(all(q, nodes)),
    ],
    initialKeys: nodes,
    reconcile: clusterPolicyReportReconciler(ctx, store),
  };
}

export function clusterPolicyReportReconciler(ctx: ControllerContext, store: ReportStore) {
  const { caches } = ctx;
  const trust = caches.trust;
  return async function reconcileNode(name: string): Promise<ReconcileResult | undefined> {
    if (!(await store.ready())) return undefined;
    await trust.settled();
    const now = ctx.now();
    const node = caches.nodes.get(name);
    const decisions: { policy: EndpointTrustPolicy; decision: NodeDecision }[] = [];
    for (const p of node ? trust.policiesForNode(name) : []) {
      const policy = trust.policy(p);
      if (!policy) continue;
      const decision = trust.decision(name, p, now);
      if (pending(decision)) return { requeueAfterMs: PENDING_RETRY_MS };
      decisions.push({ policy, decision });
    }
    const ref = { name, uid: node?.metadata.uid };
    await store.apply('ClusterPolicyReport', undefined, nodeReportName(name), (previous) =>
      decisions.length
        ? nodeReport({ node: ref, results: nodeResults(ref, decisions), previous, now })
        : undefined,
    );
    return requeueAt(Math.min(...decisions.map((d) => d.decision.validUntil)), now);
  };
}

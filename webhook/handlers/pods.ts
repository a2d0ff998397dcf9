// pods CREATE and pods/ephemeralcontainers UPDATE: every policy that governs the pod must
// be satisfied (grant, token limits, no legacy token Secrets) and, when the pod names its
// node, the node must be trusted under that policy. Tokens without an audience are judged
// as the API server's (apiAudiences), which is not kube's default on every cluster.
// podDecisions is the same judgement for a pod already in the cache: the leader's
// PolicyReports (operator/controllers/reports.ts) call it, so a report says what the
// webhook says.
import type { V1Pod } from '@kubernetes/client-node';
import type { EndpointTrustPolicy } from '../../operator/api/types.generated.ts';
import {
  type ExemptedPolicy,
  evaluateWorkload,
  type NodeDecision,
  serviceAccountOf,
  type WorkloadDecision,
} from '../../operator/trust/index.ts';
import type { AdmissionCaches } from '../caches.ts';
import type { AdmissionRequest, Verdict } from '../codec.ts';
import {
  isObj,
  isVerdict,
  malformed,
  namespaceLabels,
  notReady,
  policiesGoverning,
  policyName,
  requestNamespace,
  verdictFromFindings,
} from './common.ts';

/** What one governing policy decided about a pod: the workload half, and its node's trust. */
export interface PodDecision {
  policy: EndpointTrustPolicy;
  workload: WorkloadDecision;
  /** Present when the pod names its node. */
  node?: NodeDecision;
}

/** The decision of every policy that governs the pod now (none: not governed). */
export function podDecisions(...args: Parameters<typeof podJudgement>): PodDecision[] {
  return podJudgement(...args).decisions;
}

/** podDecisions, plus the policies a break-glass exemption lifts for this pod. */
function podJudgement(
  pod: V1Pod,
  namespace: string,
  labels: Record<string, string>,
  caches: AdmissionCaches,
  now: number,
  apiAudiences: readonly string[],
): { decisions: PodDecision[]; exempted: ExemptedPolicy[] } {
  const sa = serviceAccountOf(pod);
  const named = pod.spec?.nodeName as unknown;
  const nodeName = typeof named === 'string' && named !== '' ? named : undefined;
  const { governing, exempted } = policiesGoverning(caches, pod, labels, now);
  const decisions = governing.map((policy) => ({
    policy,
    workload: evaluateWorkload({
      pod,
      namespaceLabels: labels,
      policy,
      grants: caches.grants(namespace, sa),
      now,
      isLegacyTokenSecret: (ns, name) => caches.isLegacyTokenSecret(ns, name),
      apiAudiences,
      namespace,
      exemptions: caches.exemptions,
    }),
    node: nodeName ? caches.nodeDecision(nodeName, policyName(policy), now) : undefined,
  }));
  return { decisions, exempted };
}

export function admitPod(
  req: AdmissionRequest,
  caches: AdmissionCaches,
  now: number,
  apiAudiences: readonly string[],
): Verdict {
  const object = req.object;
  if (!isObj(object)) {
    return malformed('the pod: request.object is missing');
  }
  if (!caches.synced()) return notReady();
  const metadata = isObj(object.metadata) ? object.metadata : {};
  const namespace = requestNamespace(req, metadata);
  const labels = namespaceLabels(caches, namespace);
  if (isVerdict(labels)) return labels;
  const spec = isObj(object.spec) ? object.spec : {};
  const pod = { ...object, metadata: { ...metadata, namespace }, spec } as unknown as V1Pod;
  const { decisions, exempted } = podJudgement(pod, namespace, labels, caches, now, apiAudiences);
  const findings = decisions.map((d) => ({
    policy: d.policy,
    reasons: [...d.workload.reasons, ...(d.node && !d.node.trusted ? d.node.reasons : [])],
  }));
  return verdictFromFindings(findings, exempted);
}

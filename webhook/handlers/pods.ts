// pods CREATE and pods/ephemeralcontainers UPDATE: every policy that governs the pod must
// be satisfied (grant, token limits, no legacy token Secrets) and, when the pod names its
// node, the node must be trusted under that policy. Tokens without an audience are judged
// as the API server's (apiAudiences), which is not kube's default on every cluster.
import type { V1Pod } from '@kubernetes/client-node';
import { evaluateWorkload, serviceAccountOf } from '../../operator/trust/index.ts';
import type { AdmissionCaches } from '../caches.ts';
import type { AdmissionRequest, Verdict } from '../codec.ts';
import {
  isObj,
  isVerdict,
  malformed,
  namespaceLabels,
  notReady,
  type PolicyFinding,
  policiesGoverning,
  policyName,
  requestNamespace,
  verdictFromFindings,
} from './common.ts';

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
  const sa = serviceAccountOf(pod);
  const nodeName =
    typeof spec.nodeName === 'string' && spec.nodeName !== '' ? spec.nodeName : undefined;
  const findings: PolicyFinding[] = [];
  const { governing, exempted } = policiesGoverning(caches, pod, labels, now);
  for (const policy of governing) {
    const workload = evaluateWorkload({
      pod,
      namespaceLabels: labels,
      policy,
      grants: caches.grants(namespace, sa),
      now,
      isLegacyTokenSecret: (ns, name) => caches.isLegacyTokenSecret(ns, name),
      apiAudiences,
      namespace,
      exemptions: caches.exemptions,
    });
    const reasons = [...workload.reasons];
    if (nodeName) {
      const node = caches.nodeDecision(nodeName, policyName(policy), now);
      if (!node.trusted) reasons.push(...node.reasons);
    }
    findings.push({ policy, reasons });
  }
  return verdictFromFindings(findings, exempted);
}

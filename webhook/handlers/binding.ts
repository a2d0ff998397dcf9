// pods/binding CREATE (and the older bindings resource): the scheduler may not place a
// governed pod on a node that is not trusted under the policy that governs it (untrusted,
// unattested, stale, or outside the policy's node pool). The pod is read from the cache:
// the Binding only names it and the target node.
import type { V1Pod } from '@kubernetes/client-node';
import type { AdmissionCaches } from '../caches.ts';
import type { AdmissionRequest, Verdict } from '../codec.ts';
import { allow } from '../codec.ts';
import {
  isObj,
  isVerdict,
  malformed,
  namespaceLabels,
  namespaceMayBeGoverned,
  notReady,
  type PolicyFinding,
  policiesGoverning,
  policyName,
  requestNamespace,
  verdictFromFindings,
} from './common.ts';

export function admitBinding(req: AdmissionRequest, caches: AdmissionCaches, now: number): Verdict {
  const object = isObj(req.object) ? req.object : {};
  const metadata = isObj(object.metadata) ? object.metadata : {};
  const target = isObj(object.target) ? object.target : {};
  const podName = req.name || (typeof metadata.name === 'string' ? metadata.name : '');
  const node = typeof target.name === 'string' ? target.name : '';
  if (!podName || !node) {
    return malformed('the binding: it names no pod or no target node');
  }
  if (!caches.synced()) return notReady();
  const namespace = requestNamespace(req, metadata);
  const labels = namespaceLabels(caches, namespace);
  if (isVerdict(labels)) return labels;
  const cached = caches.pod(namespace, podName);
  if (!cached) {
    // A pod just created may not have reached the cache; the scheduler retries.
    return namespaceMayBeGoverned(caches, labels)
      ? notReady(`pod ${namespace}/${podName} is not in its cache yet`)
      : allow();
  }
  const pod = cached as unknown as V1Pod;
  const { governing, exempted } = policiesGoverning(caches, pod, labels, now, node);
  const findings: PolicyFinding[] = governing.map((policy) => {
    const decision = caches.nodeDecision(node, policyName(policy), now);
    return { policy, reasons: decision.trusted ? [] : decision.reasons };
  });
  return verdictFromFindings(findings, exempted);
}

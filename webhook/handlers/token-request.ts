// serviceaccounts/token CREATE (TokenRequest). Two checks:
// - a kubelet (system:node:<name>) asking for a token bound to a governed pod must run on
//   a node trusted under the pod's policies, so projected tokens stop being refreshed the
//   moment a node drifts;
// - for any requester, the token of a governed service account (its bound pod is governed,
//   or a WorkloadGrant names it) must keep to an active grant's audiences and lifetime.
// The token limits reuse the workload decision on a stand-in pod that projects exactly the
// requested token, so pods and TokenRequests are held to the same rules.
import type { V1Pod } from '@kubernetes/client-node';
import type { EndpointTrustPolicy } from '../../operator/api/types.generated.ts';
import { type ExemptedPolicy, evaluateWorkload, type Reason } from '../../operator/trust/index.ts';
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
  verdictFromFindings,
} from './common.ts';

const NODE_USER = /^system:node:(.+)$/;
/** TokenRequest's default lifetime when expirationSeconds is not set. */
const DEFAULT_EXPIRATION_SECONDS = 3600;

interface RequestedToken {
  audiences: string[];
  expirationSeconds: number;
  boundPod?: string;
}

function readTokenRequest(object: unknown): RequestedToken | string {
  if (!isObj(object)) return 'request.object is missing';
  const spec = isObj(object.spec) ? object.spec : {};
  const audiences = spec.audiences ?? [];
  if (!Array.isArray(audiences) || audiences.some((a) => typeof a !== 'string')) {
    return 'spec.audiences is not a list of strings';
  }
  const exp = spec.expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
  if (typeof exp !== 'number' || !Number.isFinite(exp))
    return 'spec.expirationSeconds is not a number';
  const ref = isObj(spec.boundObjectRef) ? spec.boundObjectRef : undefined;
  const boundPod = ref?.kind === 'Pod' && typeof ref.name === 'string' ? ref.name : undefined;
  return { audiences: audiences as string[], expirationSeconds: exp, boundPod };
}

/** A pod that projects exactly the requested token(s): one source per audience. */
function standInPod(
  namespace: string,
  sa: string,
  token: RequestedToken,
  labels?: Record<string, string>,
  requested: (string | undefined)[] = token.audiences,
): V1Pod {
  // No audience (undefined) stands for the API server's default audience.
  const audiences: (string | undefined)[] = requested.length > 0 ? requested : [undefined];
  return {
    metadata: { namespace, name: token.boundPod, labels },
    spec: {
      serviceAccountName: sa,
      containers: [],
      volumes: [
        {
          name: 'requested',
          projected: {
            sources: audiences.map((audience) => ({
              serviceAccountToken: {
                audience,
                expirationSeconds: token.expirationSeconds,
                path: 'token',
              },
            })),
          },
        },
      ],
    },
  };
}

export function admitTokenRequest(
  req: AdmissionRequest,
  caches: AdmissionCaches,
  now: number,
  apiAudiences: readonly string[],
): Verdict {
  const sa = req.name;
  const namespace = req.namespace;
  const token = readTokenRequest(req.object);
  if (typeof token === 'string' || !sa) {
    return malformed(
      `the TokenRequest: ${typeof token === 'string' ? token : 'no service account name'}`,
    );
  }
  if (!caches.synced()) return notReady();
  const labels = namespaceLabels(caches, namespace);
  if (isVerdict(labels)) return labels;

  // Policies governing the bound pod (node must be trusted under them).
  let podPolicies: EndpointTrustPolicy[] = [];
  let podLabels: Record<string, string> | undefined;
  const kubelet = NODE_USER.exec(req.userInfo.username)?.[1];
  // The node a bound pod's token is for: the kubelet asking, else the pod's own.
  let node = kubelet;
  if (token.boundPod) {
    const cached = caches.pod(namespace, token.boundPod);
    if (!cached) {
      // Unknown pod: judge the request as if it came for an unlabelled pod of the namespace.
      podPolicies = policiesGoverning(
        caches,
        standInPod(namespace, sa, token),
        labels,
        now,
        node,
      ).governing;
      if (podPolicies.length > 0 && kubelet) {
        return notReady(`pod ${namespace}/${token.boundPod} is not in its cache yet`);
      }
    } else {
      podLabels = cached.metadata.labels;
      node ??= cached.spec.nodeName;
      podPolicies = policiesGoverning(
        caches,
        cached as unknown as V1Pod,
        labels,
        now,
        node,
      ).governing;
    }
  }
  // Policies the service account holds grants for govern its tokens too.
  const byName = new Map(caches.policies().map((p) => [policyName(p), p]));
  const governing = new Map(podPolicies.map((p) => [policyName(p), p]));
  for (const grant of caches.grants(namespace, sa)) {
    const ref = grant.spec?.policyRef?.name;
    const policy = ref ? byName.get(ref) : undefined;
    if (policy && !governing.has(ref as string)) governing.set(ref as string, policy);
  }

  // The API server's own audiences were filled in for a request that named none.
  const requested = [
    ...new Set(token.audiences.map((a) => (apiAudiences.includes(a) ? undefined : a))),
  ];
  const pod = standInPod(namespace, sa, token, podLabels, requested);
  const subject = `pod ${namespace}/${token.boundPod ?? '(unnamed)'} (service account ${sa})`;
  const restate = (r: Reason): Reason =>
    r.message.startsWith(subject)
      ? {
          ...r,
          message: `TokenRequest for service account ${namespace}/${sa}${token.boundPod ? ` bound to pod ${token.boundPod}` : ''}${r.message.slice(subject.length)}`,
        }
      : r;
  const findings: PolicyFinding[] = [];
  const exempted: ExemptedPolicy[] = [];
  for (const policy of governing.values()) {
    // Governance is settled above; the workload rules only judge the token and the grant.
    const scoped = {
      ...policy,
      spec: { ...policy.spec, workloadSelector: undefined },
    } as EndpointTrustPolicy;
    const workload = evaluateWorkload({
      pod,
      namespaceLabels: labels,
      policy: scoped,
      grants: caches.grants(namespace, sa),
      now,
      apiAudiences,
      namespace,
      exemptions: caches.exemptions,
      node,
    });
    if (!workload.governed) {
      // A live exemption lifts the policy.
      if (workload.exemption) exempted.push({ policy, exemption: workload.exemption });
      continue;
    }
    const reasons = workload.reasons.map(restate);
    if (kubelet && podPolicies.includes(policy)) {
      const node = caches.nodeDecision(kubelet, policyName(policy), now);
      if (!node.trusted) reasons.push(...node.reasons);
    }
    findings.push({ policy, reasons });
  }
  return verdictFromFindings(findings, exempted);
}

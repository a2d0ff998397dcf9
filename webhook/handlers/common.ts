// Shared by the handlers: the not-ready and malformed answers, the request's namespace, namespace labels from the cache, and the
// step from per-policy findings to one verdict (Enforce denies, Audit warns).
import type { V1Pod } from '@kubernetes/client-node';
import type { EndpointTrustPolicy } from '../../operator/api/types.generated.ts';
import {
  type ExemptedPolicy,
  isoTime,
  podGovernance,
  type Reason,
  selectorMatches,
} from '../../operator/trust/index.ts';
import type { AdmissionCaches } from '../caches.ts';
import { allow, deny, type Verdict } from '../codec.ts';

export const NOT_READY = 'trustgate is not ready: caches not synced';

/** Fail closed while trustgate cannot decide; 503 tells clients to try again. */
export function notReady(detail?: string): Verdict {
  return deny(detail ? `trustgate is not ready: ${detail}` : NOT_READY, {
    code: 503,
    statusReason: 'ServiceUnavailable',
    reasonCodes: ['NotReady'],
  });
}

/** Deny what trustgate cannot read (400): a request it cannot parse is never admitted. */
export function malformed(message: string): Verdict {
  return deny(`trustgate cannot read ${message}`, {
    code: 400,
    statusReason: 'BadRequest',
    reasonCodes: ['MalformedObject'],
  });
}

/** The request's namespace, else the object's own metadata.namespace ('' when neither). */
export function requestNamespace(
  req: { namespace?: string },
  metadata: Record<string, unknown>,
): string {
  return req.namespace || (typeof metadata.namespace === 'string' ? metadata.namespace : '');
}

export const policyName = (p: EndpointTrustPolicy) => p.metadata?.name ?? '';
export const policyMode = (p: EndpointTrustPolicy): 'Enforce' | 'Audit' =>
  p.spec?.enforcement?.mode === 'Audit' ? 'Audit' : 'Enforce';

type Obj = Record<string, unknown>;
export const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Labels of the namespace as the policies see them. A namespace missing from the cache is
 * only a problem when some policy selects namespaces by label: then trustgate cannot tell
 * whether the request is governed and answers not ready (fail closed).
 */
export function namespaceLabels(
  caches: AdmissionCaches,
  namespace: string,
): Record<string, string> | Verdict {
  const labels = caches.namespaceLabels(namespace);
  if (labels) return labels;
  const selective = caches
    .policies()
    .some((p) => !selectorIsEmpty(p.spec?.workloadSelector?.namespaceSelector));
  if (selective) return notReady(`namespace ${namespace} is not in its cache yet`);
  return { 'kubernetes.io/metadata.name': namespace };
}

function selectorIsEmpty(s: { matchLabels?: object; matchExpressions?: unknown[] } | undefined) {
  return (
    !s || (Object.keys(s.matchLabels ?? {}).length === 0 && (s.matchExpressions ?? []).length === 0)
  );
}

export const isVerdict = (v: unknown): v is Verdict => isObj(v) && typeof v.allowed === 'boolean';

/** Whether any policy could govern some pod of the namespace (selectors only, no exemptions). */
export function namespaceMayBeGoverned(caches: AdmissionCaches, labels: Record<string, string>) {
  return caches
    .policies()
    .some((p) => selectorMatches(p.spec?.workloadSelector?.namespaceSelector, labels));
}

/** The policies governing the pod on `node` (default its own), and those exemptions lift. */
export function policiesGoverning(
  caches: AdmissionCaches,
  pod: V1Pod,
  labels: Record<string, string>,
  now: number,
  node?: string,
): { governing: EndpointTrustPolicy[]; exempted: ExemptedPolicy[] } {
  return podGovernance({
    pod,
    namespaceLabels: labels,
    policies: caches.policies(),
    now,
    exemptions: caches.exemptions,
    node,
  });
}

/** What one policy found about the request; no reasons means it is satisfied. */
export interface PolicyFinding {
  policy: EndpointTrustPolicy;
  reasons: Reason[];
}

const MAX_REASONS_IN_MESSAGE = 8;

function joined(reasons: Reason[]): string {
  const shown = reasons.slice(0, MAX_REASONS_IN_MESSAGE).map((r) => r.message);
  const more = reasons.length - shown.length;
  return shown.join('. ') + (more > 0 ? `. (${more} more)` : '');
}

/**
 * One verdict from every governing policy's findings: any Enforce policy with a reason
 * denies; Audit policies only add warnings and an audit annotation.
 */
export function verdictFromFindings(
  findings: PolicyFinding[],
  exempted: readonly ExemptedPolicy[] = [],
): Verdict {
  const verdict = verdictFromPolicies(findings);
  if (!verdict.allowed || exempted.length === 0) return verdict;
  // Break-glass is visible: to the requester (warning), the audit log and trustgate's log.
  const lifted = exempted.map(({ policy, exemption }) => ({
    policy: policyName(policy),
    exemption: exemption.name,
    reason: exemption.reason,
  }));
  return {
    ...verdict,
    exempted: lifted,
    warnings: [
      ...verdict.warnings,
      ...exempted.map(
        ({ policy, exemption }) =>
          `trustgate: policy ${policyName(policy)} lifted by exemption ${exemption.name} until ${isoTime(exemption.expiresAt)}: ${exemption.reason}`,
      ),
    ],
    auditAnnotations: { ...verdict.auditAnnotations, exempted: JSON.stringify(lifted) },
  };
}

function verdictFromPolicies(findings: PolicyFinding[]): Verdict {
  if (findings.length === 0) return allow();
  const enforced = findings.filter(
    (f) => f.reasons.length > 0 && policyMode(f.policy) === 'Enforce',
  );
  // Denying policies first: the first one labels the metric.
  const policies = [...new Set([...enforced, ...findings].map((f) => policyName(f.policy)))];
  const audited = findings.filter((f) => f.reasons.length > 0 && policyMode(f.policy) === 'Audit');
  const auditAnnotations: Record<string, string> = { policies: policies.join(',') };
  const warnings: string[] = [];
  if (audited.length > 0) {
    auditAnnotations['audit-violations'] = JSON.stringify(
      audited.map((f) => ({ policy: policyName(f.policy), reasons: f.reasons.map((r) => r.code) })),
    );
    for (const f of audited) {
      for (const r of f.reasons) {
        warnings.push(
          `trustgate audit (policy ${policyName(f.policy)}, not enforced): ${r.message}`,
        );
      }
    }
  }
  const reasonCodes = [...new Set(findings.flatMap((f) => f.reasons.map((r) => r.code)))];
  if (enforced.length > 0) {
    return deny(joined(enforced.flatMap((f) => f.reasons)), {
      warnings,
      auditAnnotations,
      policies,
      reasonCodes,
    });
  }
  return allow({ warnings, auditAnnotations, policies, reasonCodes });
}

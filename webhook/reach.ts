// Which workload requests the API server sends trustgate, derived from the policies (pure).
// What no policy can govern never waits on trustgate: with no EndpointTrustPolicy there is
// no workloads webhook at all; otherwise one webhook per distinct namespaceSelector, so a
// namespace no policy's workloadSelector matches is never sent, and (through
// matchConditions) pod creations whose labels no policy's podSelector matches are not
// either. Bindings and TokenRequests carry no pod labels, so they are scoped by namespace.
// Groups made only of Audit policies fail open: Audit never denies, so an outage must not.
import type { EndpointTrustPolicy } from '../operator/api/types.generated.ts';

type Selector = NonNullable<
  NonNullable<EndpointTrustPolicy['spec']['workloadSelector']>['podSelector']
>;
type Requirement = NonNullable<Selector['matchExpressions']>[number];

/** One workloads webhook: whom it matches and how it fails. */
export interface WorkloadReach {
  /** `<first policy>.workloads.trustgate.dev`: a denial names the policy group. */
  name: string;
  /** The policies' namespaceSelector (exclusions are added by the registration). */
  namespaceSelector: Selector;
  /** CEL, true for every request this webhook must see; undefined: all of them. */
  matchCondition?: string;
  failurePolicy: 'Fail' | 'Ignore';
  /** Names of the policies this webhook serves (sorted). */
  policies: string[];
}

export const WORKLOADS_WEBHOOK_SUFFIX = 'workloads.trustgate.dev';
/**
 * Past this many distinct namespace selectors, one webhook over every namespace: each
 * matching webhook is a call per request, and the API server runs them all.
 */
export const MAX_WORKLOAD_WEBHOOKS = 16;

/** Canonical JSON of a selector: same selector, same text, whatever the key order. */
function canonical(selector: Selector | undefined): string {
  const labels = Object.entries(selector?.matchLabels ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const expressions = (selector?.matchExpressions ?? [])
    .map((e) => ({ key: e.key, operator: e.operator, values: [...(e.values ?? [])].sort() }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return JSON.stringify({ labels, expressions });
}

const isEmpty = (s: Selector | undefined) =>
  !Object.keys(s?.matchLabels ?? {}).length && !(s?.matchExpressions ?? []).length;

/** A CEL string literal (JSON escaping is valid CEL escaping for these characters). */
const lit = (s: string) => JSON.stringify(s);

function requirementCel(r: Requirement): string {
  const has = `(${lit(r.key)} in labels)`;
  const values = `[${(r.values ?? []).map(lit).join(', ')}]`;
  switch (r.operator) {
    case 'In':
      return `(${has} && labels[${lit(r.key)}] in ${values})`;
    case 'NotIn':
      return `(!${has} || !(labels[${lit(r.key)}] in ${values}))`;
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return `!${has}`;
  }
}

/** CEL over `labels` (a map) that is true exactly when the selector matches them. */
export function selectorCel(selector: Selector): string {
  const terms = [
    ...Object.entries(selector.matchLabels ?? {}).map(
      ([k, v]) => `((${lit(k)} in labels) && labels[${lit(k)}] == ${lit(v)})`,
    ),
    ...(selector.matchExpressions ?? []).map(requirementCel),
  ];
  return terms.length ? terms.join(' && ') : 'true';
}

/**
 * Pod creations and ephemeral-container updates are sent only when a podSelector of the
 * group matches the pod's labels; every other request of the rules is sent.
 */
function podCondition(selectors: Selector[]): string | undefined {
  if (selectors.some(isEmpty)) return undefined;
  const pods = selectors.map((s) => `(${selectorCel(s)})`).join(' || ');
  return [
    // subResource is absent, not empty, on a plain pod creation: has() first.
    "!(request.resource.resource == 'pods' && (!has(request.subResource) || request.subResource == '' || request.subResource == 'ephemeralcontainers'))",
    `[object.metadata].all(m, [has(m.labels) ? m.labels : {}].all(labels, ${pods}))`,
  ].join(' || ');
}

/** The workloads webhooks for these policies (none when there are none). */
export function workloadReach(
  policies: EndpointTrustPolicy[],
  failurePolicy: 'Fail' | 'Ignore' = 'Fail',
): WorkloadReach[] {
  const groups = new Map<string, EndpointTrustPolicy[]>();
  const nameOf = (p: EndpointTrustPolicy) => p.metadata.name ?? '';
  for (const p of [...policies].sort((a, b) => nameOf(a).localeCompare(nameOf(b)))) {
    const key = canonical(p.spec.workloadSelector?.namespaceSelector);
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const reach = (members: EndpointTrustPolicy[], namespaceSelector: Selector): WorkloadReach => {
    const enforcing = members.some((p) => (p.spec.enforcement?.mode ?? 'Enforce') === 'Enforce');
    const condition = podCondition(members.map((p) => p.spec.workloadSelector?.podSelector ?? {}));
    return {
      name: `${members[0] ? nameOf(members[0]) : 'all'}.${WORKLOADS_WEBHOOK_SUFFIX}`,
      namespaceSelector,
      ...(condition ? { matchCondition: condition } : {}),
      failurePolicy: enforcing ? failurePolicy : 'Ignore',
      policies: members.map(nameOf),
    };
  };
  if (groups.size > MAX_WORKLOAD_WEBHOOKS) {
    const all = [...groups.values()].flat();
    return [{ ...reach(all, {}), name: WORKLOADS_WEBHOOK_SUFFIX }];
  }
  return [...groups.values()].map((members) =>
    reach(members, members[0]?.spec.workloadSelector?.namespaceSelector ?? {}),
  );
}

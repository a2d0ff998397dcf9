// Break-glass: whether an exemption lifts a policy for a pod right now. The one answer to
// "is this exempt", used by the webhook, the drift controller and the CLI. Two sources:
// TrustExemption resources and (for compatibility, until v1beta1) a policy's
// spec.exemptions. An exemption whose expiry is unreadable, past, or more than
// MAX_EXEMPTION_SECONDS after its creation never applies: the resources webhook fails
// open, so a bound the API server could not check is enforced here.
import { MAX_EXEMPTION_SECONDS } from '../api/crds.ts';
import type { EndpointTrustPolicy, TrustExemption } from '../api/types.generated.ts';
import { type Labels, selectorMatches } from './selectors.ts';
import { parseTimestamp } from './time.ts';

export const MAX_EXEMPTION_MS = MAX_EXEMPTION_SECONDS * 1000;

/** The exemption that lifted a policy: `namespace/name` for a TrustExemption, `policy/name` otherwise. */
export interface AppliedExemption {
  name: string;
  expiresAt: number;
  reason: string;
}

/** What an exemption is matched against. */
export interface ExemptionSubject {
  namespace: string;
  labels: Labels;
  serviceAccount: string;
  /** The pod's node, the binding's target or the kubelet asking; undefined = not on a node. */
  node?: string;
}

/** The TrustExemptions that may select pods of a namespace (its own and cluster-wide ones). */
export interface ExemptionSource {
  forNamespace(namespace: string): Iterable<TrustExemption>;
}

export const NO_EXEMPTIONS: ExemptionSource = { forNamespace: () => [] };

/**
 * An ExemptionSource over a plain list. Exemptions in `clusterNamespace` (trustgate's own)
 * select pods of every namespace; others only pods of their own namespace.
 */
export function exemptionSource(
  exemptions: Iterable<TrustExemption>,
  clusterNamespace: string,
): ExemptionSource {
  const byNamespace = new Map<string, TrustExemption[]>();
  for (const e of exemptions) {
    const ns = e.metadata?.namespace ?? '';
    byNamespace.set(ns, [...(byNamespace.get(ns) ?? []), e]);
  }
  return scopedSource((ns) => byNamespace.get(ns) ?? [], clusterNamespace);
}

/** Own namespace first, then trustgate's namespace (cluster-wide), each once. */
export function scopedSource(
  inNamespace: (namespace: string) => Iterable<TrustExemption>,
  clusterNamespace: string,
): ExemptionSource {
  return {
    *forNamespace(namespace) {
      yield* inNamespace(namespace);
      if (namespace !== clusterNamespace) yield* inNamespace(clusterNamespace);
    },
  };
}

/**
 * Until when an exemption applies at `now`, or undefined when it does not (expired, expiry
 * unreadable, or longer than allowed from its creation — or from now, for a manifest not
 * yet created).
 */
export function exemptionLiveUntil(
  expiresAtText: unknown,
  createdText: unknown,
  now: number,
): number | undefined {
  const expiresAt = parseTimestamp(expiresAtText);
  if (expiresAt === undefined || now >= expiresAt) return undefined;
  // client-node's types say Date; objects read as JSON carry the RFC 3339 text.
  const created =
    createdText === undefined
      ? now
      : createdText instanceof Date
        ? createdText.getTime()
        : parseTimestamp(createdText);
  if (created === undefined || expiresAt - created > MAX_EXEMPTION_MS) return undefined;
  return expiresAt;
}

function selectsSubject(e: TrustExemption, policy: string, s: ExemptionSubject): boolean {
  const spec = e.spec;
  if (!spec) return false;
  const listed = (names: string[] | undefined, value: string | undefined) =>
    !names || names.length === 0 || (value !== undefined && names.includes(value));
  return (
    listed(spec.policies, policy) &&
    listed(spec.serviceAccountNames, s.serviceAccount) &&
    listed(spec.nodeNames, s.node) &&
    selectorMatches(spec.podSelector, s.labels)
  );
}

/** The live exemption that lifts `policy` for the subject; the longest-lasting one when several do. */
export function applicableExemption(
  policy: EndpointTrustPolicy,
  subject: ExemptionSubject,
  source: ExemptionSource,
  now: number,
): AppliedExemption | undefined {
  const policyName = policy.metadata?.name ?? '';
  let best: AppliedExemption | undefined;
  const consider = (candidate: AppliedExemption) => {
    if (!best || candidate.expiresAt > best.expiresAt) best = candidate;
  };
  for (const ex of policy.spec?.exemptions ?? []) {
    // Policy exemptions predate the 7-day bound; only their expiry is checked.
    const expiresAt = parseTimestamp(ex.expiresAt);
    if (expiresAt === undefined || now >= expiresAt) continue;
    const names = ex.namespaces ?? [];
    if (names.length === 0 && !ex.podSelector) continue;
    if (names.length > 0 && !names.includes(subject.namespace)) continue;
    if (ex.podSelector && !selectorMatches(ex.podSelector, subject.labels)) continue;
    consider({ name: `${policyName}/${ex.name}`, expiresAt, reason: ex.reason });
  }
  for (const e of source.forNamespace(subject.namespace)) {
    const expiresAt = exemptionLiveUntil(e.spec?.expiresAt, e.metadata?.creationTimestamp, now);
    if (expiresAt === undefined || !selectsSubject(e, policyName, subject)) continue;
    consider({
      name: `${e.metadata?.namespace}/${e.metadata?.name}`,
      expiresAt,
      reason: e.spec.reason,
    });
  }
  return best;
}

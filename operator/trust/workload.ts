// The workload decision: is a pod governed by a policy (selectors, break-glass exemptions),
// does its service account hold an active grant for the policy, do its projected tokens keep
// to the grant's audiences and lifetimes, and does it use legacy token Secrets.
import type { V1Pod } from '@kubernetes/client-node';
import type { EndpointTrustPolicy, WorkloadGrant } from '../api/types.generated.ts';
import {
  type AppliedExemption,
  applicableExemption,
  type ExemptionSource,
  NO_EXEMPTIONS,
} from './exemptions.ts';
import { grantMaxExpirationSeconds, workloadSettings } from './policy-settings.ts';
import { REASON, type Reason, type ReasonCode, show } from './reasons.ts';
import { type Labels, selectorMatches } from './selectors.ts';
import { type Instant, isoTime, parseTimestamp, toMillis } from './time.ts';

/**
 * The audience kube-apiserver gives a token that names none when its service-account issuer
 * is the in-cluster default. Clusters with another issuer (managed OIDC issuers) use that.
 */
export const DEFAULT_API_SERVER_AUDIENCE = 'https://kubernetes.default.svc.cluster.local';
/** A projected token without expirationSeconds lives one hour (the API default). */
export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
/**
 * The ServiceAccount admission plugin writes 3607 into the kube-api-access volume it adds to
 * every pod: one hour plus a 7 s marker it uses to spot stale-token use. It means one hour.
 */
const ADMISSION_PLUGIN_EXPIRATION_SECONDS = 3607;

export interface Governance {
  governed: boolean;
  /** The exemption that lifts the policy, while it lasts. */
  exemption?: AppliedExemption;
  /** Epoch ms when the answer changes with time alone (an exemption ends); else Infinity. */
  validUntil: number;
}

interface PodShape {
  namespace: string;
  labels: Labels;
}

function podShape(pod: V1Pod, namespace?: string): PodShape {
  return {
    namespace: namespace ?? pod.metadata?.namespace ?? 'default',
    labels: pod.metadata?.labels,
  };
}

/** Where the pod is judged: the exemptions in force and the node it is on or bound to. */
export interface GovernanceContext {
  exemptions?: ExemptionSource;
  /** Default: the pod's spec.nodeName. */
  node?: string;
}

/** Whether the policy governs the pod now: selectors match and no live exemption applies. */
export function workloadGovernance(
  policy: EndpointTrustPolicy,
  pod: V1Pod,
  namespaceLabels: Labels,
  nowInstant: Instant,
  context: GovernanceContext = {},
): Governance {
  const now = toMillis(nowInstant);
  const { namespace, labels } = podShape(pod);
  const selector = policy.spec?.workloadSelector;
  if (
    !selectorMatches(selector?.namespaceSelector, namespaceLabels) ||
    !selectorMatches(selector?.podSelector, labels)
  ) {
    return { governed: false, validUntil: Number.POSITIVE_INFINITY };
  }
  const exemption = applicableExemption(
    policy,
    {
      namespace,
      labels,
      serviceAccount: serviceAccountOf(pod),
      node: context.node ?? (pod.spec?.nodeName || undefined),
    },
    context.exemptions ?? NO_EXEMPTIONS,
    now,
  );
  if (exemption) return { governed: false, exemption, validUntil: exemption.expiresAt };
  return { governed: true, validUntil: Number.POSITIVE_INFINITY };
}

/** A policy that selects the pod but is lifted by an exemption. */
export interface ExemptedPolicy {
  policy: EndpointTrustPolicy;
  exemption: AppliedExemption;
}

/** The policies that govern a pod now, and those an exemption lifts. */
export function podGovernance(
  input: {
    pod: V1Pod;
    namespaceLabels: Labels;
    policies: Iterable<EndpointTrustPolicy>;
    now: Instant;
  } & GovernanceContext,
): { governing: EndpointTrustPolicy[]; exempted: ExemptedPolicy[] } {
  const governing: EndpointTrustPolicy[] = [];
  const exempted: ExemptedPolicy[] = [];
  for (const policy of input.policies) {
    const g = workloadGovernance(policy, input.pod, input.namespaceLabels, input.now, input);
    if (g.governed) governing.push(policy);
    else if (g.exemption) exempted.push({ policy, exemption: g.exemption });
  }
  return { governing, exempted };
}

/** The policies that govern a pod now (selector match, not exempted). */
export function governingPolicies(
  input: Parameters<typeof podGovernance>[0],
): EndpointTrustPolicy[] {
  return podGovernance(input).governing;
}

/** Secret names the pod refers to: volumes, projected sources, env and envFrom. */
export function referencedSecretNames(pod: V1Pod): Set<string> {
  const names = new Set<string>();
  const spec = pod.spec;
  for (const v of spec?.volumes ?? []) {
    if (v.secret?.secretName) names.add(v.secret.secretName);
    for (const s of v.projected?.sources ?? []) if (s.secret?.name) names.add(s.secret.name);
  }
  const containers = [
    ...(spec?.containers ?? []),
    ...(spec?.initContainers ?? []),
    ...(spec?.ephemeralContainers ?? []),
  ];
  for (const c of containers) {
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef?.name;
      if (ref) names.add(ref);
    }
    for (const e of c.envFrom ?? []) if (e.secretRef?.name) names.add(e.secretRef.name);
  }
  return names;
}

export interface ProjectedToken {
  volume: string;
  audience: string | undefined;
  expirationSeconds: number;
}

/** The service-account tokens the pod asks the kubelet to project. */
export function projectedTokens(pod: V1Pod): ProjectedToken[] {
  const out: ProjectedToken[] = [];
  for (const v of pod.spec?.volumes ?? []) {
    for (const s of v.projected?.sources ?? []) {
      const t = s.serviceAccountToken;
      if (!t) continue;
      const requested = t.expirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
      out.push({
        volume: v.name,
        audience: t.audience || undefined,
        expirationSeconds:
          requested === ADMISSION_PLUGIN_EXPIRATION_SECONDS
            ? DEFAULT_TOKEN_EXPIRATION_SECONDS
            : requested,
      });
    }
  }
  return out;
}

export type LegacySecretLookup =
  | ((namespace: string, name: string) => boolean)
  | ReadonlySet<string>;

export interface WorkloadInput {
  pod: V1Pod;
  namespaceLabels: Labels;
  policy: EndpointTrustPolicy;
  /** Grants in the pod's namespace (others are ignored). */
  grants: Iterable<WorkloadGrant>;
  now: Instant;
  /**
   * Which Secrets are legacy service-account token Secrets (type
   * kubernetes.io/service-account-token): a lookup, or the set of such names in the pod's
   * namespace. Omitted: none are known.
   */
  isLegacyTokenSecret?: LegacySecretLookup;
  /**
   * The audiences the API server gives a token that names none (its --api-audiences, by
   * default its service-account issuer); default [DEFAULT_API_SERVER_AUDIENCE].
   */
  apiAudiences?: readonly string[];
  /** Override the pod's namespace (a pod in a CREATE request may not carry one). */
  namespace?: string;
  /** TrustExemptions in force (the policy's own spec.exemptions always count). */
  exemptions?: ExemptionSource;
  /** The node the pod is judged on; default its spec.nodeName. */
  node?: string;
}

export interface WorkloadDecision {
  policy: string;
  governed: boolean;
  allowed: boolean;
  reasons: Reason[];
  exemption?: AppliedExemption;
  /** The active grant that allows the pod, when one does. */
  grant?: string;
  /** Epoch ms when the answer changes with time alone (grant window, exemption); else Infinity. */
  validUntil: number;
}

export function serviceAccountOf(pod: V1Pod): string {
  return pod.spec?.serviceAccountName || pod.spec?.serviceAccount || 'default';
}

function podLabel(pod: V1Pod, namespace: string): string {
  const name =
    pod.metadata?.name ??
    (pod.metadata?.generateName ? `${pod.metadata.generateName}*` : '(unnamed)');
  return `pod ${namespace}/${name} (service account ${serviceAccountOf(pod)})`;
}

function grantWindow(grant: WorkloadGrant): { notBefore: number; notAfter: number } | undefined {
  const v = grant.spec?.validity;
  const notBefore =
    v?.notBefore === undefined ? Number.NEGATIVE_INFINITY : parseTimestamp(v.notBefore);
  const notAfter =
    v?.notAfter === undefined ? Number.POSITIVE_INFINITY : parseTimestamp(v.notAfter);
  // An unreadable window makes the grant unusable (fail closed).
  if (notBefore === undefined || notAfter === undefined) return undefined;
  return { notBefore, notAfter };
}

const listed = (items: readonly string[]) => items.map((a) => show(a)).join(', ');

function tokenProblems(
  tokens: ProjectedToken[],
  grant: WorkloadGrant | undefined,
  policyMax: number,
  apiAudiences: readonly string[],
): Array<[ReasonCode, string, string]> {
  const out: Array<[ReasonCode, string, string]> = [];
  const max = Math.min(
    policyMax,
    grant ? grantMaxExpirationSeconds(grant) : Number.POSITIVE_INFINITY,
  );
  const granted = grant?.spec?.audiences ?? [];
  for (const t of tokens) {
    if (t.expirationSeconds > max) {
      out.push([
        REASON.TokenExpirationTooLong,
        `projected token ${t.volume} lives ${t.expirationSeconds}s`,
        `allows at most ${max}s`,
      ]);
    }
    if (!grant) continue;
    // A token without audience gets the API server's; a grant that lists audiences must list
    // one of those too, so a grant narrowed to e.g. vault cannot also talk to the API server.
    const allowed =
      t.audience === undefined
        ? granted.length === 0 || apiAudiences.some((a) => granted.includes(a))
        : granted.includes(t.audience);
    if (!allowed) {
      out.push([
        REASON.AudienceNotGranted,
        t.audience === undefined
          ? `projected token ${t.volume} has no audience, so the API server's (${listed(apiAudiences)})`
          : `projected token ${t.volume} has audience ${show(t.audience)}`,
        granted.length === 0
          ? `(grant ${grant.metadata?.name}) allows only the API server's default audience`
          : `(grant ${grant.metadata?.name}) allows audiences ${listed(granted)}`,
      ]);
    }
  }
  return out;
}

/** Decides whether a pod may run under a policy; not governed means allowed. */
export function evaluateWorkload(input: WorkloadInput): WorkloadDecision {
  const { pod, policy } = input;
  const now = toMillis(input.now);
  const policyName = policy.metadata?.name ?? '';
  const namespace = input.namespace ?? podShape(pod).namespace;
  const scopedPod: V1Pod = input.namespace
    ? { ...pod, metadata: { ...pod.metadata, namespace: input.namespace } }
    : pod;
  const governance = workloadGovernance(policy, scopedPod, input.namespaceLabels, now, input);
  if (!governance.governed) {
    return {
      policy: policyName,
      governed: false,
      allowed: true,
      reasons: [],
      exemption: governance.exemption,
      validUntil: governance.validUntil,
    };
  }
  const settings = workloadSettings(policy);
  const who = podLabel(pod, namespace);
  const reasons: Reason[] = [];
  const add = (code: ReasonCode, found: string, requires: string) =>
    reasons.push({ code, message: `${who}: ${found}; policy ${policyName} ${requires}` });
  const sa = serviceAccountOf(pod);
  const candidates = [...input.grants].filter(
    (g) =>
      (g.metadata?.namespace === undefined || g.metadata.namespace === namespace) &&
      g.spec?.serviceAccountName === sa &&
      g.spec?.policyRef?.name === policyName,
  );
  const windows = candidates.map((g) => ({ grant: g, window: grantWindow(g) }));
  const active = windows.filter(
    (w) => w.window && now >= w.window.notBefore && now < w.window.notAfter,
  );
  let validUntil = Number.POSITIVE_INFINITY;
  const tokens = projectedTokens(pod);
  const apiAudiences = input.apiAudiences ?? [DEFAULT_API_SERVER_AUDIENCE];
  let chosen: WorkloadGrant | undefined;
  let tokenFindings: Array<[ReasonCode, string, string]> = [];
  if (active.length > 0) {
    // The pod is allowed when one active grant covers all its tokens.
    for (const { grant } of active) {
      const problems = tokenProblems(tokens, grant, settings.maxExpirationSeconds, apiAudiences);
      if (!chosen || problems.length < tokenFindings.length) {
        chosen = grant;
        tokenFindings = problems;
      }
      if (problems.length === 0) break;
    }
    validUntil = Math.min(...active.map((a) => a.window?.notAfter ?? Number.POSITIVE_INFINITY));
  } else {
    tokenFindings = tokenProblems(tokens, undefined, settings.maxExpirationSeconds, apiAudiences);
    if (settings.requireGrant) {
      const future = windows.filter((w) => w.window && now < w.window.notBefore);
      if (candidates.length === 0) {
        add(
          REASON.GrantMissing,
          'no WorkloadGrant names the service account',
          'requires an active grant',
        );
      } else if (future.length > 0) {
        const start = Math.min(
          ...future.map((w) => w.window?.notBefore ?? Number.POSITIVE_INFINITY),
        );
        add(
          REASON.GrantNotYetValid,
          `its grant becomes active at ${isoTime(start)}`,
          'requires an active grant',
        );
        validUntil = start;
      } else {
        add(
          REASON.GrantExpired,
          'its grants have expired or have an unreadable window',
          'requires an active grant',
        );
      }
    }
  }
  for (const [code, found, requires] of tokenFindings) add(code, found, requires);
  if (!settings.allowLegacyTokenSecrets && input.isLegacyTokenSecret) {
    const lookup = input.isLegacyTokenSecret;
    const isLegacy =
      typeof lookup === 'function'
        ? (n: string) => lookup(namespace, n)
        : (n: string) => lookup.has(n);
    for (const name of referencedSecretNames(pod)) {
      if (isLegacy(name)) {
        add(
          REASON.LegacyTokenSecret,
          `it uses the legacy service-account token Secret ${name}`,
          'forbids long-lived token Secrets',
        );
      }
    }
  }
  return {
    policy: policyName,
    governed: true,
    allowed: reasons.length === 0,
    reasons,
    grant: chosen?.metadata?.name,
    validUntil,
  };
}

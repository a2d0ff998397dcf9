// The pure half of trustgate's PolicyReports: decisions in, report objects out. The
// decisions come from the functions the webhook itself calls (webhook/handlers/pods.ts
// podDecisions, TrustIndex), so a report's message is the webhook's reason word for word.
// No I/O and no clock: `now` is passed in, and a result keeps the timestamp of the report
// it replaces while its outcome and message stay the same, so an unchanged report
// compares equal and is never rewritten.
import { createHash } from 'node:crypto';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { canonical } from '../controllers/conditions.ts';
import { enforcementSettings } from '../controllers/settings.ts';
import type { NodeDecision, ReasonCode, WorkloadDecision } from '../trust/index.ts';
import { workloadSettings } from '../trust/policy-settings.ts';
import {
  type ObjectReference,
  type PolicyReportObject,
  REPORT_API_VERSION,
  type ReportResult,
  type ReportResultValue,
  type ReportSeverity,
  type ReportSummary,
} from './types.ts';

export const REPORT_SOURCE = 'trustgate';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const POLICY_LABEL = 'trustgate.dev/policy';
/** Results kept in one report (about 0.5 KiB each; etcd refuses objects over 1.5 MiB). */
export const MAX_RESULTS = 1000;
export const OMITTED_ANNOTATION = 'trustgate.dev/results-omitted';

export const RULE = {
  nodeTrust: 'node-trust',
  workloadGrant: 'workload-grant',
  tokenLimits: 'token-limits',
  legacyTokenSecrets: 'legacy-token-secrets',
} as const;
export type Rule = (typeof RULE)[keyof typeof RULE];

const RULE_INFO: Record<Rule, { category: string; severity: ReportSeverity }> = {
  'node-trust': { category: 'Node Trust', severity: 'high' },
  'workload-grant': { category: 'Workload Identity', severity: 'high' },
  'token-limits': { category: 'Workload Identity', severity: 'medium' },
  'legacy-token-secrets': { category: 'Workload Identity', severity: 'high' },
};

/** Which rule a workload reason belongs to; any other reason is about the node. */
const RULE_OF: Partial<Record<ReasonCode, Rule>> = {
  GrantMissing: RULE.workloadGrant,
  GrantNotYetValid: RULE.workloadGrant,
  GrantExpired: RULE.workloadGrant,
  TokenExpirationTooLong: RULE.tokenLimits,
  AudienceNotGranted: RULE.tokenLimits,
  LegacyTokenSecret: RULE.legacyTokenSecrets,
};

/** A result before it is given a timestamp. */
export type ResultDraft = Omit<ReportResult, 'timestamp'>;

export interface PodRef {
  name: string;
  namespace: string;
  uid?: string;
  serviceAccount: string;
}

export interface PodPolicyDecision {
  policy: EndpointTrustPolicy;
  workload: WorkloadDecision;
  node?: NodeDecision;
}

const joined = (messages: string[]) => messages.join('. ');
const policyNameOf = (p: EndpointTrustPolicy) => p.metadata?.name ?? '';

function draft(
  policy: EndpointTrustPolicy,
  rule: Rule,
  result: ReportResultValue,
  message: string,
  resource: ObjectReference,
  properties: Record<string, string>,
): ResultDraft {
  return {
    source: REPORT_SOURCE,
    policy: policyNameOf(policy),
    rule,
    ...RULE_INFO[rule],
    // Audit failures are `fail`, as Kyverno reports them: the workload breaks the policy
    // whatever the mode, and the FAIL column is what Enforce would deny. Kyverno keeps
    // `warn` for unscored policies; properties.enforcement says which mode is in force.
    result,
    scored: true,
    message,
    resources: [resource],
    properties,
  };
}

/**
 * One result per rule the policy applies to the pod: workload-grant (when the policy
 * requires a grant), token-limits, legacy-token-secrets (unless allowed) and node-trust
 * (once the pod has a node).
 */
export function podResults(pod: PodRef, decisions: PodPolicyDecision[]): ResultDraft[] {
  const resource: ObjectReference = {
    apiVersion: 'v1',
    kind: 'Pod',
    name: pod.name,
    namespace: pod.namespace,
    ...(pod.uid ? { uid: pod.uid } : {}),
  };
  const who = `pod ${pod.namespace}/${pod.name} (service account ${pod.serviceAccount})`;
  const out: ResultDraft[] = [];
  for (const { policy, workload, node } of decisions) {
    const name = policyNameOf(policy);
    const settings = workloadSettings(policy);
    // Each rule carries only what it is about, so one rule's change leaves the others equal.
    const properties = (rule: Rule, codes: string[]): Record<string, string> => ({
      enforcement: enforcementSettings(policy).mode,
      serviceAccount: pod.serviceAccount,
      ...(rule === RULE.workloadGrant && workload.grant ? { grant: workload.grant } : {}),
      ...(rule === RULE.nodeTrust && node ? { node: node.node } : {}),
      ...(codes.length ? { reasons: codes.join(',') } : {}),
    });
    const rules: [Rule, string][] = [];
    if (settings.requireGrant) {
      rules.push([
        RULE.workloadGrant,
        `${who}: grant ${workload.grant ?? ''} is active; policy ${name} requires an active grant`,
      ]);
    }
    rules.push([
      RULE.tokenLimits,
      `${who}: its projected tokens keep to policy ${name}'s audiences and lifetime`,
    ]);
    if (!settings.allowLegacyTokenSecrets) {
      rules.push([
        RULE.legacyTokenSecrets,
        `${who}: it uses no legacy service-account token Secret; policy ${name} forbids them`,
      ]);
    }
    for (const [rule, passMessage] of rules) {
      const reasons = workload.reasons.filter((r) => (RULE_OF[r.code] ?? RULE.nodeTrust) === rule);
      out.push(
        reasons.length
          ? draft(
              policy,
              rule,
              'fail',
              joined(reasons.map((r) => r.message)),
              resource,
              properties(
                rule,
                reasons.map((r) => r.code),
              ),
            )
          : draft(policy, rule, 'pass', passMessage, resource, properties(rule, [])),
      );
    }
    if (node) {
      out.push(
        node.trusted
          ? draft(
              policy,
              RULE.nodeTrust,
              'pass',
              `${who}: node ${node.node} is trusted under policy ${name}`,
              resource,
              properties(RULE.nodeTrust, []),
            )
          : draft(
              policy,
              RULE.nodeTrust,
              'fail',
              joined(node.reasons.map((r) => r.message)),
              resource,
              properties(
                RULE.nodeTrust,
                node.reasons.map((r) => r.code),
              ),
            ),
      );
    }
  }
  return out;
}

/** How many results podResults gives the pod under the policy (its applicable rules). */
export function ruleCount(policy: EndpointTrustPolicy, hasNode: boolean): number {
  const settings = workloadSettings(policy);
  return (
    1 +
    (settings.requireGrant ? 1 : 0) +
    (settings.allowLegacyTokenSecrets ? 0 : 1) +
    (hasNode ? 1 : 0)
  );
}

/** One node-trust result per policy whose pool holds the node. */
export function nodeResults(
  node: { name: string; uid?: string },
  decisions: { policy: EndpointTrustPolicy; decision: NodeDecision }[],
): ResultDraft[] {
  const resource: ObjectReference = {
    apiVersion: 'v1',
    kind: 'Node',
    name: node.name,
    ...(node.uid ? { uid: node.uid } : {}),
  };
  return decisions.map(({ policy, decision }) => {
    const codes = decision.reasons.map((r) => r.code);
    const properties: Record<string, string> = {
      enforcement: enforcementSettings(policy).mode,
      ...(codes.length ? { reasons: codes.join(',') } : {}),
    };
    return decision.trusted
      ? draft(
          policy,
          RULE.nodeTrust,
          'pass',
          `node ${node.name} is trusted under policy ${policyNameOf(policy)}`,
          resource,
          properties,
        )
      : draft(
          policy,
          RULE.nodeTrust,
          'fail',
          joined(decision.reasons.map((r) => r.message)),
          resource,
          properties,
        );
  });
}

/** A result's identity for carrying its timestamp: everything but the timestamp. */
const identity = (r: ResultDraft | ReportResult) => {
  const { timestamp: _t, ...rest } = r as ReportResult;
  return canonical(rest);
};

const ORDER: Record<ReportResultValue, number> = { error: 0, fail: 1, warn: 2, skip: 3, pass: 4 };
const byOrder = (a: ResultDraft, b: ResultDraft) =>
  ORDER[a.result] - ORDER[b.result] ||
  (a.resources[0]?.name ?? '').localeCompare(b.resources[0]?.name ?? '') ||
  a.policy.localeCompare(b.policy) ||
  a.rule.localeCompare(b.rule);

/**
 * The results of one report as they are found: every one counted in the summary, at most
 * 2 × MAX_RESULTS held at a time (problems first), so a namespace of 30,000 pods never
 * holds 120,000 results in memory.
 */
export class ResultSet {
  readonly summary: ReportSummary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  #drafts: ResultDraft[] = [];
  #total = 0;
  /** Sorted and holding MAX_RESULTS since the last compaction, nothing added after. */
  #full = false;

  static of(drafts: Iterable<ResultDraft>): ResultSet {
    const set = new ResultSet();
    for (const d of drafts) set.add(d);
    return set;
  }

  add(d: ResultDraft): void {
    this.summary[d.result]++;
    this.#total++;
    this.#drafts.push(d);
    this.#full = false;
    if (this.#drafts.length >= 2 * MAX_RESULTS) this.#compact();
  }

  get total(): number {
    return this.#total;
  }

  /**
   * Whether `count` passing results of the named resource would all be cut anyway: the
   * set already holds a full report that sorts before them. They are then only counted,
   * never built, which keeps a look at a large namespace from making garbage.
   */
  countPasses(resourceName: string, count: number): boolean {
    const last = this.#full ? this.#drafts[MAX_RESULTS - 1] : undefined;
    if (last?.result !== 'pass') return false;
    if ((last.resources[0]?.name ?? '').localeCompare(resourceName) >= 0) return false;
    this.summary.pass += count;
    this.#total += count;
    return true;
  }

  /** The results a report lists, in order: problems first, then by resource, policy, rule. */
  kept(): ResultDraft[] {
    this.#compact();
    return this.#drafts;
  }

  #compact(): void {
    this.#drafts = this.#drafts.sort(byOrder).slice(0, MAX_RESULTS);
    this.#full = this.#drafts.length === MAX_RESULTS;
  }
}

function finish(
  input: ResultDraft[] | ResultSet,
  previous: PolicyReportObject | undefined,
  now: number,
): { results: ReportResult[]; summary: ReportSummary; omitted: number } {
  const set = input instanceof ResultSet ? input : ResultSet.of(input);
  const kept = set.kept();
  const seen = new Map((previous?.results ?? []).map((r) => [identity(r), r.timestamp]));
  const stamp = { seconds: Math.floor(now / 1000), nanos: 0 };
  const results = kept.map((d) => ({ ...d, timestamp: seen.get(identity(d)) ?? stamp }));
  return { results, summary: { ...set.summary }, omitted: set.total - kept.length };
}

function labelValue(v: string): string | undefined {
  return /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v) && v.length <= 63 ? v : undefined;
}

/**
 * The PolicyReport of one policy in one namespace, owned by the policy: deleting the
 * policy garbage-collects its reports in every namespace.
 */
export function policyReport(input: {
  namespace: string;
  policy: EndpointTrustPolicy;
  results: ResultDraft[] | ResultSet;
  previous?: PolicyReportObject;
  now: number;
}): PolicyReportObject {
  const name = policyNameOf(input.policy);
  const { results, summary, omitted } = finish(input.results, input.previous, input.now);
  const policyLabel = labelValue(name);
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'PolicyReport',
    metadata: {
      name: policyReportName(name),
      namespace: input.namespace,
      labels: {
        [MANAGED_BY_LABEL]: REPORT_SOURCE,
        ...(policyLabel ? { [POLICY_LABEL]: policyLabel } : {}),
      },
      ...(omitted ? { annotations: { [OMITTED_ANNOTATION]: String(omitted) } } : {}),
      ownerReferences: input.policy.metadata?.uid
        ? [
            {
              apiVersion: 'trustgate.dev/v1alpha1',
              kind: 'EndpointTrustPolicy',
              name,
              uid: input.policy.metadata.uid,
              controller: true,
            },
          ]
        : undefined,
    },
    summary,
    results,
  };
}

/** The ClusterPolicyReport of one node, owned by the Node (deleted with it). */
export function nodeReport(input: {
  node: { name: string; uid?: string };
  results: ResultDraft[];
  previous?: PolicyReportObject;
  now: number;
}): PolicyReportObject {
  const { results, summary } = finish(input.results, input.previous, input.now);
  const ref = { apiVersion: 'v1', kind: 'Node', name: input.node.name };
  return {
    apiVersion: REPORT_API_VERSION,
    kind: 'ClusterPolicyReport',
    metadata: {
      name: nodeReportName(input.node.name),
      labels: { [MANAGED_BY_LABEL]: REPORT_SOURCE },
      ownerReferences: input.node.uid ? [{ ...ref, uid: input.node.uid }] : undefined,
    },
    scope: ref,
    summary,
    results,
  };
}

export const policyReportName = (policy: string) => `trustgate-${policy}`.slice(0, 253);
export const nodeReportName = (node: string) => `trustgate-node-${node}`.slice(0, 253);

/**
 * What a write would change: labels, annotations, owners, scope, summary and results
 * without their timestamps. Equal fingerprints mean no write.
 */
export function reportFingerprint(r: PolicyReportObject): string {
  const content = {
    labels: r.metadata.labels,
    annotations: r.metadata.annotations?.[OMITTED_ANNOTATION],
    owners: r.metadata.ownerReferences?.map((o) => o.uid),
    scope: r.scope,
    summary: r.summary,
    results: (r.results ?? []).map(identity),
  };
  return createHash('sha256')
    .update(canonical(JSON.parse(JSON.stringify(content))))
    .digest('hex');
}

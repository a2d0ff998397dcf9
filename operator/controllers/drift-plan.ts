// Pure drift decisions for one node: given the trust decisions under each governing
// policy, what is recorded on the node, which taint it carries, and which policies'
// revocations run now. The taint is NoSchedule once a policy that asks for it revokes;
// before that, and under policies that do not taint, an untrusted node still carries a
// PreferNoSchedule taint: the pods/binding webhook refuses it from the first moment, and
// without a hint the scheduler keeps choosing it (an empty node scores high). The record
// lives on the node itself (annotation trustgate.dev/revocation), written together with
// the taint before any pod is touched, so a leader that dies mid-revocation leaves enough
// behind for the next one to finish.
import type { NodeDecision } from '../trust/index.ts';
import { REASON } from '../trust/index.ts';
import type { Taint } from './actions.ts';
import type { EnforcementSettings } from './settings.ts';

export const REVOCATION_ANNOTATION = 'trustgate.dev/revocation';
export const UNTRUSTED_TAINT_KEY = 'trustgate.dev/untrusted';
export const TRUST_LABEL_PREFIX = 'trust.trustgate.dev/';

export type Phase = 'grace' | 'revoking' | 'revoked' | 'audit';

export interface PolicyDrift {
  /** When trust was lost (ISO). */
  since: string;
  phase: Phase;
  /** Reason codes of the untrusted decision. */
  reasons: string[];
  /** Service accounts (namespace/name) of the governed pods, captured before removal. */
  serviceAccounts?: string[];
  /** When the revocation finished. */
  revokedAt?: string;
}

/** Per policy name. */
export type DriftRecord = Record<string, PolicyDrift>;

export function parseDriftRecord(annotation: string | undefined): DriftRecord {
  if (!annotation) return {};
  try {
    const parsed = JSON.parse(annotation) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as DriftRecord)
      : {};
  } catch {
    return {};
  }
}

export interface PolicyInput {
  policy: string;
  decision: NodeDecision;
  settings: EnforcementSettings;
}

export interface NodePlan {
  record: DriftRecord;
  /** Policies whose revocation must run (again) now. */
  revoke: string[];
  /** Policies newly reported in Audit mode. */
  audit: string[];
  /** Policies under which the node became trusted again. */
  recovered: string[];
  /** Policies that just started their grace period. */
  started: string[];
  /** Our taint the node should carry (NoSchedule or PreferNoSchedule), if any. */
  taint: Taint | undefined;
  /** Desired trust labels (null removes). */
  labels: Record<string, string | null>;
  /** When to look again even if nothing changes (epoch ms). */
  requeueAt: number | undefined;
}

export function planNode(input: {
  node: { name: string; creationTimestamp?: string; labels?: Record<string, string> };
  policies: PolicyInput[];
  record: DriftRecord;
  now: number;
}): NodePlan {
  const { now } = input;
  const record: DriftRecord = {};
  const plan: NodePlan = {
    record,
    revoke: [],
    audit: [],
    recovered: [],
    started: [],
    taint: undefined,
    labels: {},
    requeueAt: undefined,
  };
  const wake = (at: number) => {
    if (Number.isFinite(at) && at > now) plan.requeueAt = Math.min(plan.requeueAt ?? at, at);
  };
  const created = Date.parse(input.node.creationTimestamp ?? '') || 0;
  const governed = new Set<string>();
  for (const { policy, decision, settings } of input.policies) {
    governed.add(policy);
    plan.labels[`${TRUST_LABEL_PREFIX}${policy}`] = decision.trusted ? 'true' : 'false';
    const prior = input.record[policy];
    if (decision.trusted) {
      if (prior) plan.recovered.push(policy);
      wake(decision.validUntil);
      continue;
    }
    const codes = decision.reasons.map((r) => r.code);
    let startAt = 0;
    if (codes.includes(REASON.NotAttested)) {
      // A node that has never attested gets the bootstrap grace from its creation.
      startAt = created + settings.bootstrapGracePeriodMs;
      if (!prior && startAt > now) {
        wake(startAt);
        continue;
      }
    }
    const since = prior?.since ?? new Date(lostAt(decision, now)).toISOString();
    const actAt = Math.max(Date.parse(since) + settings.gracePeriodMs, startAt);
    if (settings.mode === 'Audit') {
      record[policy] = { since, phase: 'audit', reasons: codes };
      if (prior?.phase !== 'audit') plan.audit.push(policy);
      continue;
    }
    if (actAt > now) {
      record[policy] = { since, phase: 'grace', reasons: codes };
      if (!prior) plan.started.push(policy);
      wake(actAt);
      continue;
    }
    const done = prior?.phase === 'revoked';
    record[policy] = {
      ...prior,
      since,
      phase: done ? 'revoked' : 'revoking',
      reasons: codes,
    };
    // Re-run while untrusted: level-triggered, catches anything that slipped onto the node.
    plan.revoke.push(policy);
  }
  // Trust labels of policies that no longer govern the node are removed.
  for (const key of Object.keys(input.node.labels ?? {})) {
    if (!key.startsWith(TRUST_LABEL_PREFIX)) continue;
    if (!governed.has(key.slice(TRUST_LABEL_PREFIX.length))) plan.labels[key] = null;
  }
  plan.taint = taintFor(input.policies, record);
  return plan;
}

/**
 * NoSchedule, valued with the first (by name) policy whose drift actions run and that asks
 * for the taint; else PreferNoSchedule with the first Enforce policy that finds the node
 * untrusted, in any phase (bootstrap grace, grace, revoking with `taint: false`). Audit
 * policies admit bindings, so they leave scheduling alone.
 */
function taintFor(policies: PolicyInput[], record: DriftRecord): Taint | undefined {
  const first = (names: string[]) => names.sort()[0];
  const hard = first(
    policies
      .filter((i) => {
        const phase = record[i.policy]?.phase;
        return i.settings.taint && (phase === 'revoking' || phase === 'revoked');
      })
      .map((i) => i.policy),
  );
  if (hard) return { key: UNTRUSTED_TAINT_KEY, value: hard, effect: 'NoSchedule' };
  const soft = first(
    policies
      .filter((i) => i.settings.mode === 'Enforce' && !i.decision.trusted)
      .map((i) => i.policy),
  );
  return soft ? { key: UNTRUSTED_TAINT_KEY, value: soft, effect: 'PreferNoSchedule' } : undefined;
}

/** When trust was lost: the exact freshness deadline for a stale attestation, else now. */
function lostAt(decision: NodeDecision, now: number): number {
  const freshUntil = decision.attestation?.freshUntil;
  const stale = decision.reasons.some((r) => r.code === REASON.Stale || r.code === REASON.Expired);
  if (stale && freshUntil !== undefined && freshUntil <= now) return freshUntil;
  return now;
}

const isOurs = (t: Taint) =>
  t.key === UNTRUSTED_TAINT_KEY && (t.effect === 'NoSchedule' || t.effect === 'PreferNoSchedule');

/** The taint list with ours (one at most, either effect) set to `taint`, or removed. */
export function withTaint(taints: Taint[] | undefined, taint: Taint | undefined, now: number) {
  const others = (taints ?? []).filter((t) => !isOurs(t));
  const ours = (taints ?? []).filter(isOurs);
  if (!taint) return { taints: others, changed: ours.length > 0 };
  const [only, ...more] = ours;
  if (only && !more.length && only.value === taint.value && only.effect === taint.effect)
    return { taints: taints ?? [], changed: false };
  return {
    taints: [...others, { ...taint, timeAdded: new Date(now).toISOString() }],
    changed: true,
  };
}

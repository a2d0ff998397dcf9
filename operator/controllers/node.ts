// Node controller: per node, for every policy whose pool holds it — trust labels, drift
// bookkeeping, the untrusted taint, revocation after the grace period, recovery.
// Level-triggered: it reads the caches, plans with the pure planNode, and applies.
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { saKey } from '../kube/caches.ts';
import { REASON } from '../trust/index.ts';
import type { NodeForPatch } from './actions.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import {
  type DriftRecord,
  type NodePlan,
  type PolicyInput,
  parseDriftRecord,
  planNode,
  REVOCATION_ANNOTATION,
  withTaint,
} from './drift-plan.ts';
import { governedPods, type RevocationCounts } from './revoke.ts';
import { enforcementSettings } from './settings.ts';

const PENDING_RETRY_MS = 50;

/** Nodes drift in batches; each reconcile mostly waits on the API server. */
export function nodeController(ctx: ControllerContext, concurrency = 64): Controller {
  const { caches } = ctx;
  // A pod landing on (or changing on) a drifted node is handled at once: it should not be there.
  const onDriftedNode = (p: { spec: { nodeName?: string } }, add: (key: string) => void) => {
    const node = p.spec.nodeName ? caches.nodes.get(p.spec.nodeName) : undefined;
    if (node?.metadata.annotations?.[REVOCATION_ANNOTATION]) add(node.metadata.name);
  };
  return {
    name: 'node',
    concurrency,
    watches: [
      (q) => caches.trust.onChange((node) => q.add(node)),
      (q) =>
        caches.nodes.on({
          add: (n) => q.add(n.metadata.name),
          update: (n) => q.add(n.metadata.name),
        }),
      (q) =>
        caches.pods.on({
          add: (p) => onDriftedNode(p, (k) => q.add(k)),
          update: (p) => onDriftedNode(p, (k) => q.add(k)),
        }),
      // An exemption shortened or deleted may leave pods on drifted nodes ungoverned no more.
      (q) => {
        const drifted = () => {
          for (const n of caches.nodes.list()) {
            if (n.metadata.annotations?.[REVOCATION_ANNOTATION]) q.add(n.metadata.name);
          }
        };
        return caches.exemptions.on({ update: drifted, delete: drifted });
      },
    ],
    initialKeys: () => [...caches.nodes.list()].map((n) => n.metadata.name),
    reconcile: nodeReconciler(ctx),
  };
}

export function nodeReconciler(ctx: ControllerContext) {
  const { caches, revoker, metrics, logger } = ctx;
  const trust = caches.trust;
  // Revocations finished by this process (node|policy → record), so a reconcile that runs
  // on a cache not yet showing our own write does not start them over.
  const finished = new Map<string, { since: string; revokedAt?: string }>();

  return async function reconcileNode(
    name: string,
    signal: AbortSignal,
  ): Promise<ReconcileResult | undefined> {
    const node = caches.nodes.get(name);
    if (!node) return undefined;
    await trust.settled();
    const now = ctx.now();
    const inputs: (PolicyInput & { object: EndpointTrustPolicy })[] = [];
    for (const policy of trust.policiesForNode(name)) {
      const object = trust.policy(policy);
      if (!object) continue;
      const decision = trust.decision(name, policy, now);
      if (decision.reasons.some((r) => r.code === REASON.VerificationPending)) {
        return { requeueAfterMs: PENDING_RETRY_MS };
      }
      inputs.push({ policy, decision, settings: enforcementSettings(object), object });
    }
    const prior = parseDriftRecord(node.metadata.annotations?.[REVOCATION_ANNOTATION]);
    const plan = planNode({
      node: {
        name,
        creationTimestamp: node.metadata.creationTimestamp,
        labels: node.metadata.labels,
      },
      policies: inputs,
      record: prior,
      now,
    });
    for (const [policy, rec] of Object.entries(plan.record)) {
      const done = finished.get(`${name}|${policy}`);
      if (rec.phase === 'revoking' && done?.since === rec.since) {
        rec.phase = 'revoked';
        rec.revokedAt = done.revokedAt;
      }
    }
    for (const key of finished.keys()) {
      const [n = '', p = ''] = key.split('|');
      if (n === name && !plan.record[p]) finished.delete(key);
    }
    // Capture whom a revocation affects before any pod is removed, so a rerun after a
    // crash still knows which service accounts' secrets and grants to handle.
    const podsByPolicy = new Map<string, ReturnType<typeof governedPods>>();
    // Pods spared by an exemption are revoked when it ends: look again then.
    let exemptUntil = plan.requeueAt;
    for (const policy of plan.revoke) {
      const input = inputs.find((i) => i.policy === policy);
      const rec = plan.record[policy];
      if (!input || !rec) continue;
      const pods = governedPods(caches, input.object, caches.podsOnNode(name), now);
      podsByPolicy.set(policy, pods);
      if (pods.exemptUntil !== undefined)
        exemptUntil = Math.min(exemptUntil ?? Infinity, pods.exemptUntil);
      const accounts = new Set(rec.serviceAccounts ?? []);
      for (const p of pods) accounts.add(saKey(p.metadata.namespace, p.spec.serviceAccountName));
      if (accounts.size) rec.serviceAccounts = [...accounts].sort();
    }
    await writeNode(ctx, name, plan, now);
    reportTransitions(ctx, name, plan, inputs);

    let wroteRevoked = false;
    for (const policy of plan.revoke) {
      const input = inputs.find((i) => i.policy === policy);
      const rec = plan.record[policy];
      if (!input || !rec) continue;
      // Leadership lost: leave the rest to the next leader, which finds the record.
      signal.throwIfAborted();
      const first = rec.phase === 'revoking';
      const reason = input.decision.reasons.map((r) => r.message).join('; ') || 'untrusted';
      const counts = await revoker.revoke(
        { policy: input.object, settings: input.settings, node: name, reason, rotate: first },
        podsByPolicy.get(policy) ?? [],
        rec.serviceAccounts ?? [],
      );
      if (!first && counts.podsRemoved + counts.secretsDeleted === 0) continue;
      const doneAt = ctx.now();
      if (first) {
        rec.phase = 'revoked';
        rec.revokedAt = new Date(doneAt).toISOString();
        metrics.driftToRevocation.observe(Math.max(0, doneAt - Date.parse(rec.since)) / 1000);
        finished.set(`${name}|${policy}`, { since: rec.since, revokedAt: rec.revokedAt });
        wroteRevoked = true;
      }
      noteOnGrants(ctx, policy, rec.serviceAccounts ?? [], {
        time: new Date(doneAt).toISOString(),
        node: name,
        reason,
        counts,
      });
    }
    if (wroteRevoked) await writeNode(ctx, name, plan, ctx.now());
    logger.debug({ node: name, record: plan.record }, 'node reconciled');
    return requeueAt(exemptUntil, now);
  };
}

/** One merge patch (resourceVersion precondition): labels, the drift record, the taint. */
async function writeNode(ctx: ControllerContext, name: string, plan: NodePlan, now: number) {
  const cached = ctx.caches.nodes.get(name);
  await ctx.actions.patchNode(name, cached, (node: NodeForPatch) => {
    const labels: Record<string, string | null> = {};
    for (const [k, v] of Object.entries(plan.labels)) {
      const has = node.metadata.labels?.[k];
      if (v === null ? has !== undefined : has !== v) labels[k] = v;
    }
    const annotations: Record<string, string | null> = {};
    const current = node.metadata.annotations?.[REVOCATION_ANNOTATION];
    const wanted = Object.keys(plan.record).length ? JSON.stringify(plan.record) : null;
    if ((current ?? null) !== wanted) annotations[REVOCATION_ANNOTATION] = wanted;
    const taints = withTaint(node.spec?.taints, plan.taint, now);
    if (!Object.keys(labels).length && !Object.keys(annotations).length && !taints.changed) {
      return undefined;
    }
    const patch: Record<string, unknown> = { metadata: { labels, annotations } };
    if (taints.changed) patch.spec = { taints: taints.taints };
    return patch;
  });
}

function reportTransitions(
  ctx: ControllerContext,
  name: string,
  plan: NodePlan,
  inputs: PolicyInput[],
) {
  const nodeRef = {
    apiVersion: 'v1',
    kind: 'Node',
    name,
    uid: ctx.caches.nodes.get(name)?.metadata.uid,
  };
  const why = (p: string) =>
    inputs
      .find((i) => i.policy === p)
      ?.decision.reasons.map((r) => r.message)
      .join('; ') ?? '';
  for (const p of plan.started) {
    void ctx.actions.event(
      nodeRef,
      'Warning',
      'TrustLost',
      `policy ${p}: ${why(p)}; grace period started`,
    );
  }
  for (const p of plan.audit) {
    ctx.metrics.revocations.inc({ action: 'AuditReport' });
    ctx.logger.warn({ node: name, policy: p, reason: why(p) }, 'drift (audit mode: report only)');
    void ctx.actions.event(
      nodeRef,
      'Warning',
      'TrustLostAudit',
      `policy ${p} (Audit): ${why(p)}; no action taken`,
    );
  }
  for (const p of plan.recovered) {
    ctx.logger.info({ node: name, policy: p }, 'node trusted again');
    void ctx.actions.event(
      nodeRef,
      'Normal',
      'TrustRestored',
      `policy ${p}: node is trusted again`,
    );
  }
  for (const [p, rec] of Object.entries(plan.record)) {
    if (rec.phase === 'revoking') {
      ctx.logger.warn({ node: name, policy: p, reasons: rec.reasons }, 'revoking');
    }
  }
}

/** Queues lastRevocation for every grant of the affected service accounts under the policy. */
function noteOnGrants(
  ctx: ControllerContext,
  policy: string,
  serviceAccounts: string[],
  r: { time: string; node: string; reason: string; counts: RevocationCounts },
) {
  for (const sa of serviceAccounts) {
    const [ns = '', saName = ''] = sa.split('/');
    for (const grant of ctx.caches.grantsFor(ns, saName)) {
      if (grant.spec.policyRef?.name !== policy) continue;
      ctx.grantRevocations.note(`${ns}/${grant.metadata.name}`, {
        time: r.time,
        node: r.node,
        policy,
        reason: r.reason,
        podsRemoved: r.counts.perServiceAccount.get(sa) ?? 0,
        secretsDeleted: r.counts.secretsDeleted,
        serviceAccountRotated: r.counts.rotated.includes(sa),
      });
    }
  }
}

export type { DriftRecord };

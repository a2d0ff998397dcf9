// NodeAttestation controller: evaluates the attestation under every policy whose pool
// holds the node, writes what it read and decided to status, issues the nonce a policy
// asks for, and comes back exactly when the answer goes stale (expiry is drift with no
// new event).
import { randomBytes } from 'node:crypto';
import { GROUP, VERSION } from '../api/crds.ts';
import type { NodeAttestation, NodeAttestationStatus } from '../api/types.generated.ts';
import { resourcePath } from '../kube/rest.ts';
import { attestationSettings, type NodeDecision, nonceToPublish, REASON } from '../trust/index.ts';
import { type ConditionInput, sameJson, setConditions } from './conditions.ts';
import { type ControllerContext, requeueAt } from './context.ts';
import type { Controller, ReconcileResult } from './controller.ts';
import { attestationReady } from './ready.ts';

const PENDING_RETRY_MS = 50;

export function attestationController(ctx: ControllerContext, concurrency = 16): Controller {
  const { caches } = ctx;
  const key = (a: NodeAttestation) => a.metadata.name ?? '';
  return {
    name: 'nodeattestation',
    concurrency,
    watches: [
      // A decision changed (policy, key, node labels): the status says what was decided.
      (q) =>
        caches.trust.onChange((node) => {
          if (caches.attestations.get(node)) q.add(node);
        }),
      (q) => caches.attestations.on({ add: (a) => q.add(key(a)), update: (a) => q.add(key(a)) }),
    ],
    initialKeys: () => [...caches.attestations.list()].map(key),
    reconcile: attestationReconciler(ctx),
  };
}

export function attestationReconciler(ctx: ControllerContext) {
  const { caches, actions, metrics } = ctx;
  const trust = caches.trust;

  return async function reconcileAttestation(name: string): Promise<ReconcileResult | undefined> {
    const attestation = caches.attestations.get(name);
    if (!attestation) return undefined;
    await trust.settled();
    const now = ctx.now();
    const decisions = trust.decisionsForNode(name, now);
    if (decisions.some((d) => d.reasons.some((r) => r.code === REASON.VerificationPending))) {
      return { requeueAfterMs: PENDING_RETRY_MS };
    }
    const path = resourcePath({ group: GROUP, version: VERSION, plural: 'nodeattestations', name });
    let status: NodeAttestationStatus = {};
    const wrote = await actions.updateStatus<NodeAttestation>(path, attestation, (current) => {
      // The nonce from the object being written, not the cached copy: a stale cache would
      // otherwise mint a second nonce over one a verifier may already have read.
      const s = desiredStatus(current, decisions, nextNonce(current, decisions, trust, now), now);
      status = s;
      return sameJson(withoutTimes(current.status), withoutTimes(s))
        ? undefined
        : (s as Record<string, unknown>);
    });
    if (wrote) {
      const result = !status.verified
        ? 'unverified'
        : decisions.length && decisions.every((d) => d.trusted)
          ? 'trusted'
          : 'untrusted';
      metrics.attestations.inc({ result });
      ctx.logger.info(
        {
          node: name,
          verified: status.verified,
          trustedBy: status.trustedBy,
          results: status.results?.map((r) => ({
            policy: r.policy,
            trusted: r.trusted,
            reasons: r.reasons?.map((x) => x.code),
          })),
        },
        'attestation evaluated',
      );
    }
    const soonest = Math.min(...decisions.map((d) => d.validUntil));
    return requeueAt(soonest, now);
  };
}

type Nonce = NonNullable<NodeAttestationStatus['nonce']> | undefined;

/** The nonce to publish: rotated after the strictest maxAge among policies that require one. */
function nextNonce(
  attestation: NodeAttestation,
  decisions: NodeDecision[],
  trust: ControllerContext['caches']['trust'],
  now: number,
): Nonce {
  let maxAge = Number.POSITIVE_INFINITY;
  for (const d of decisions) {
    const policy = trust.policy(d.policy);
    const settings = policy ? attestationSettings(policy) : undefined;
    if (settings && 'requireNonce' in settings && settings.requireNonce) {
      maxAge = Math.min(maxAge, settings.maxAgeMs);
    }
  }
  return nonceToPublish(attestation.status?.nonce, maxAge, now, () =>
    randomBytes(24).toString('base64url'),
  );
}

function desiredStatus(
  attestation: NodeAttestation,
  decisions: NodeDecision[],
  nonce: Nonce,
  now: number,
): NodeAttestationStatus {
  const old = attestation.status ?? {};
  const verified = decisions.find((d) => d.attestation)?.attestation;
  const iso = (ms: number | undefined) =>
    ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString();
  const results = decisions
    .map((d) => {
      const prior = old.results?.find((r) => r.policy === d.policy);
      const reasons = d.reasons.map((r) => ({ code: r.code, message: r.message }));
      const same = prior && prior.trusted === d.trusted && sameJson(prior.reasons ?? [], reasons);
      return {
        policy: d.policy,
        trusted: d.trusted,
        evaluatedAt: same && prior?.evaluatedAt ? prior.evaluatedAt : new Date(now).toISOString(),
        reasons,
      };
    })
    .sort((a, b) => a.policy.localeCompare(b.policy));
  const trustedBy = results
    .filter((r) => r.trusted)
    .map((r) => r.policy)
    .join(',');
  const freshUntil = decisions
    .map((d) => d.attestation?.freshUntil)
    .filter((t): t is number => t !== undefined);
  const allTrusted = decisions.length > 0 && decisions.every((d) => d.trusted);
  const firstProblem = decisions.find((d) => !d.trusted)?.reasons[0];
  const verifiedCondition: ConditionInput = verified
    ? {
        type: 'Verified',
        status: 'True',
        reason: 'SignatureVerified',
        message: `verified by ${verified.verifier}`,
      }
    : {
        type: 'Verified',
        status: 'False',
        reason: decisions.length
          ? (decisions[0]?.reasons[0]?.code ?? 'NotVerified')
          : 'NoGoverningPolicy',
        message: decisions.length
          ? (decisions[0]?.reasons[0]?.message ?? 'not verified')
          : 'no EndpointTrustPolicy governs this node',
      };
  const conditions: ConditionInput[] = [
    attestationReady(verifiedCondition),
    verifiedCondition,
    allTrusted
      ? {
          type: 'Trusted',
          status: 'True',
          reason: 'TrustedByAllPolicies',
          message: `trusted by ${trustedBy}`,
        }
      : {
          type: 'Trusted',
          status: 'False',
          reason: firstProblem?.code ?? 'NoGoverningPolicy',
          message: firstProblem?.message ?? 'no EndpointTrustPolicy governs this node',
        },
  ];
  const status: NodeAttestationStatus = {
    observedGeneration: attestation.metadata.generation,
    conditions: setConditions(old.conditions, conditions, attestation.metadata.generation, now),
    verified: verified !== undefined,
    verifier: verified?.verifier,
    keyID: verified?.keyID,
    issuer: verified?.issuer,
    issuedAt: iso(verified?.issuedAt),
    expiresAt: iso(freshUntil.length ? Math.min(...freshUntil) : undefined),
    earStatus: verified?.earStatus,
    posture: verified?.posture,
    nonce,
    trustedBy,
    results,
  };
  return JSON.parse(JSON.stringify(status)) as NodeAttestationStatus; // drop undefined
}

/** Status without the fields that only record when something was looked at. */
function withoutTimes(s: NodeAttestationStatus | undefined) {
  if (!s) return s;
  return { ...s, results: s.results?.map(({ evaluatedAt: _e, ...r }) => r) };
}

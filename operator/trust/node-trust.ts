// The node decision: node N is trusted under policy P when N is in P's pool and its
// attestation verifies against P's verifiers, names N, is fresh, carries the expected nonce
// when P asks for one, and its appraisal and posture meet P. Pure apart from jose's crypto.
import type { EndpointTrustPolicy, NodeAttestation } from '../api/types.generated.ts';
import { appraisedSubmods, checkAppraisal, worstStatus } from './appraisal.ts';
import { type JwksResolver, VerifierKeyring } from './keyring.ts';
import { type PublishedNonces, publishedNonces, type RetiredNonce } from './nonce.ts';
import { type AttestationSettings, attestationSettings, type EarTier } from './policy-settings.ts';
import { checkPostureRequirements } from './posture.ts';
import { type Finding, finding, nodeReason, REASON, type Reason, reason, show } from './reasons.ts';
import { type Labels, selectorMatches } from './selectors.ts';
import { type Instant, isoTime, toMillis } from './time.ts';
import {
  type TokenVerification,
  type VerifiedAttestation,
  verifyAttestationToken,
} from './verify-token.ts';

export interface NodeRef {
  name: string;
  /** The node's labels; when undefined the pool check is skipped (e.g. the CLI without labels). */
  labels?: Labels;
}

/** What the decision read from a verified token, for status and logs. */
export interface AttestationSummary {
  verifier: string;
  keyID: string | undefined;
  issuer: string | undefined;
  /** Epoch ms. */
  issuedAt: number;
  /** exp as epoch ms, when the token has one. */
  expiresAt: number | undefined;
  /** When the token stops being fresh under this policy: min(iat + maxAge, exp), epoch ms. */
  freshUntil: number;
  earStatus: EarTier | undefined;
  submods: string[];
  posture: Record<string, unknown> | undefined;
  nonce: string | undefined;
}

export interface NodeDecision {
  node: string;
  policy: string;
  trusted: boolean;
  /** Empty when trusted. */
  reasons: Reason[];
  /** Epoch ms of the evaluation. */
  evaluatedAt: number;
  /**
   * Epoch ms at which this answer may change with time alone (the attestation goes stale
   * or expires, or a future-dated one becomes current); Infinity when time cannot change it.
   * A cached answer must not be used at or after this instant.
   */
  validUntil: number;
  attestation?: AttestationSummary;
}

/** True when the node's labels match the policy's nodeSelector (empty selects every node). */
export function nodeInPool(node: { labels?: Labels }, policy: EndpointTrustPolicy): boolean {
  return selectorMatches(policy.spec?.nodeSelector, node.labels);
}

function untrusted(
  node: string,
  policy: string,
  now: number,
  reasons: Reason[],
  validUntil = Number.POSITIVE_INFINITY,
): NodeDecision {
  return { node, policy, trusted: false, reasons, evaluatedAt: now, validUntil };
}

/** A decision that needs no token: outside the pool, no attestation, a broken policy. */
export function decisionWithoutToken(
  node: NodeRef,
  policy: EndpointTrustPolicy,
  nowInstant: Instant,
  code:
    | typeof REASON.NotInNodePool
    | typeof REASON.NotAttested
    | typeof REASON.PolicyInvalid
    | typeof REASON.VerificationPending
    | typeof REASON.UnknownNode,
  found: string,
  requires: string,
): NodeDecision {
  const name = policy.metadata?.name ?? '';
  const now = toMillis(nowInstant);
  return untrusted(node.name, name, now, [
    nodeReason(node.name, name, finding(code, found, requires)),
  ]);
}

function checkTime(
  claims: VerifiedAttestation['claims'],
  settings: AttestationSettings,
  now: number,
  out: Finding[],
): { freshUntil: number; validUntil: number } {
  const iat = claims.iat * 1000;
  const freshUntil = Math.min(
    iat + settings.maxAgeMs,
    claims.exp === undefined ? Infinity : claims.exp * 1000,
  );
  // Instants at which the answer flips with time alone; the earliest one ahead of now bounds it.
  const changes: number[] = [];
  const notBefore = Math.max(iat, claims.nbf === undefined ? -Infinity : claims.nbf * 1000);
  if (notBefore - settings.clockSkewMs > now) {
    out.push(
      finding(
        REASON.IssuedInFuture,
        `the attestation is dated ${isoTime(notBefore)}, after now (${isoTime(now)})`,
        `allows a clock skew of ${settings.clockSkewMs / 1000}s`,
      ),
    );
    changes.push(notBefore - settings.clockSkewMs);
  }
  if (now >= iat + settings.maxAgeMs) {
    out.push(
      finding(
        REASON.Stale,
        `the attestation was issued ${isoTime(iat)}, ${Math.floor((now - iat) / 1000)}s ago`,
        `requires one younger than ${settings.maxAgeMs / 1000}s`,
      ),
    );
  } else {
    changes.push(iat + settings.maxAgeMs);
  }
  if (claims.exp !== undefined) {
    const exp = claims.exp * 1000;
    if (now >= exp) {
      out.push(
        finding(
          REASON.Expired,
          `the attestation expired at ${isoTime(exp)}`,
          'requires an unexpired one',
        ),
      );
    } else {
      changes.push(exp);
    }
  }
  return { freshUntil, validUntil: Math.min(...changes) };
}

/**
 * The nonce check. A token bound to the nonce just replaced still passes until
 * retiredAt + nonceOverlap, so a rotation does not fail the current token before the
 * verifier has had one interval to re-attest; that instant is pushed to `changes`.
 */
function checkNonce(
  claims: VerifiedAttestation['claims'],
  settings: AttestationSettings,
  nonces: PublishedNonces,
  now: number,
  out: Finding[],
  changes: number[],
): void {
  if (!settings.requireNonce) return;
  const { expectedNonce, previousNonce } = nonces;
  if (claims.nonce === undefined) {
    out.push(
      finding(
        REASON.NonceMissing,
        'the attestation has no eat_nonce',
        'requires the published nonce',
      ),
    );
  } else if (expectedNonce === undefined) {
    out.push(
      finding(
        REASON.NonceMismatch,
        'no nonce has been published for the node yet',
        'requires the published nonce',
      ),
    );
  } else if (claims.nonce === expectedNonce) {
    return;
  } else if (claims.nonce === previousNonce?.value) {
    const until = previousNonce.retiredAt + settings.nonceOverlapMs;
    if (now < until) {
      changes.push(until);
      return;
    }
    out.push(
      finding(
        REASON.NonceMismatch,
        `eat_nonce ${show(claims.nonce)} was replaced at ${isoTime(previousNonce.retiredAt)}`,
        `accepts a replaced nonce for ${settings.nonceOverlapMs / 1000}s`,
      ),
    );
  } else {
    out.push(
      finding(
        REASON.NonceMismatch,
        `eat_nonce ${show(claims.nonce)} is not the published nonce`,
        'requires the published nonce',
      ),
    );
  }
}

export interface EvaluateInput {
  node: NodeRef;
  policy: EndpointTrustPolicy;
  /** The result of verifyAttestationToken for the node's token under this policy's keyring. */
  verification: TokenVerification;
  now: Instant;
  /** The nonce trustgate published for the node (NodeAttestation status.nonce.value). */
  expectedNonce?: string;
  /** The nonce it replaced (status.nonce.previous). */
  previousNonce?: RetiredNonce;
}

/** The synchronous half of the decision: everything after the signature check. */
export function evaluateVerification(input: EvaluateInput): NodeDecision {
  const { node, policy, verification } = input;
  const now = toMillis(input.now);
  const policyName = policy.metadata?.name ?? '';
  const toReasons = (fs: Finding[]) => fs.map((f) => nodeReason(node.name, policyName, f));
  if (node.labels !== undefined && !nodeInPool(node, policy)) {
    return untrusted(node.name, policyName, now, [
      reason(
        REASON.NotInNodePool,
        `node ${node.name} is not in the node pool of policy ${policyName}`,
      ),
    ]);
  }
  const settings = attestationSettings(policy);
  if ('problem' in settings) {
    return untrusted(node.name, policyName, now, [
      reason(
        REASON.PolicyInvalid,
        `policy ${policyName} cannot be applied to node ${node.name}: ${settings.problem}`,
      ),
    ]);
  }
  if (!verification.ok)
    return untrusted(node.name, policyName, now, toReasons(verification.findings));
  const { claims } = verification.attestation;
  const out: Finding[] = [];
  if (claims.sub === undefined) {
    out.push(
      finding(REASON.MissingClaim, 'the attestation has no sub', `requires sub ${show(node.name)}`),
    );
  } else if (claims.sub !== node.name) {
    out.push(
      finding(
        REASON.SubjectMismatch,
        `the attestation is for ${show(claims.sub)}`,
        `requires sub ${show(node.name)}`,
      ),
    );
  }
  const time = checkTime(claims, settings, now, out);
  const { freshUntil } = time;
  const nonceChanges: number[] = [];
  checkNonce(claims, settings, input, now, out, nonceChanges);
  const validUntil = Math.min(time.validUntil, ...nonceChanges);
  out.push(...checkAppraisal(claims, settings));
  out.push(...checkPostureRequirements(settings.posture, claims.posture));
  const submods = appraisedSubmods(claims, settings);
  return {
    node: node.name,
    policy: policyName,
    trusted: out.length === 0,
    reasons: toReasons(out),
    evaluatedAt: now,
    validUntil,
    attestation: {
      verifier: verification.attestation.verifier,
      keyID: verification.attestation.keyID,
      issuer: claims.iss,
      issuedAt: claims.iat * 1000,
      expiresAt: claims.exp === undefined ? undefined : claims.exp * 1000,
      freshUntil,
      earStatus: worstStatus(submods.flatMap((s) => claims.submods[s]?.status ?? [])),
      submods,
      posture: claims.posture,
      nonce: claims.nonce,
    },
  };
}

export interface DecideInput {
  node: NodeRef;
  policy: EndpointTrustPolicy;
  /** The node's attestation: a NodeAttestation, its token, or undefined when it has none. */
  attestation: NodeAttestation | string | undefined;
  now: Instant;
  /** Reuse a keyring built for this policy (recommended: it caches imported keys). */
  keyring?: VerifierKeyring;
  /** Resolves the JWKS of verifiers that use jwksSecretRef when no keyring is given. */
  resolveJwks?: JwksResolver;
  /** Defaults to the NodeAttestation's status.nonce.value (and .previous). */
  expectedNonce?: string;
  previousNonce?: RetiredNonce;
}

/** The whole node decision: pool, signature, claims, freshness, nonce, appraisal, posture. */
export async function decideNodeTrust(input: DecideInput): Promise<NodeDecision> {
  const { node, policy, attestation } = input;
  if (node.labels !== undefined && !nodeInPool(node, policy)) {
    return evaluateVerification({ ...input, verification: { ok: false, findings: [] } });
  }
  const token = typeof attestation === 'string' ? attestation : attestation?.spec?.token;
  if (token === undefined) {
    return decisionWithoutToken(
      node,
      policy,
      input.now,
      REASON.NotAttested,
      'the node has no NodeAttestation',
      'requires a signed attestation (zero trust)',
    );
  }
  const keyring = input.keyring ?? VerifierKeyring.forPolicy(policy, input.resolveJwks);
  const verification = await verifyAttestationToken(token, keyring);
  const published = publishedNonces(typeof attestation === 'object' ? attestation : undefined);
  return evaluateVerification({
    node,
    policy,
    verification,
    now: input.now,
    expectedNonce: input.expectedNonce ?? published.expectedNonce,
    previousNonce:
      input.expectedNonce === undefined ? published.previousNonce : input.previousNonce,
  });
}

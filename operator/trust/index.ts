// The public API of the trust decision (see README.md in this folder).
export { checkAppraisal, worstStatus } from './appraisal.ts';
export {
  EAR_PROFILE,
  type EarAppraisal,
  type EarClaims,
  readEarClaims,
  STATUS_RANK,
  TIER_SEVERITY,
  tierOfClaim,
} from './ear.ts';
export {
  type AppliedExemption,
  applicableExemption,
  type ExemptionSource,
  type ExemptionSubject,
  exemptionLiveUntil,
  exemptionSource,
  MAX_EXEMPTION_MS,
  NO_EXEMPTIONS,
  scopedSource,
} from './exemptions.ts';
export {
  ASYMMETRIC_ALGORITHMS,
  type JwksResolver,
  JwksUnavailable,
  jwksFromSecretData,
  type KeyProblem,
  type KeyProblemCode,
  type SecretData,
  secretJwksResolver,
  VerifierKeyring,
} from './keyring.ts';
export {
  type AttestationSummary,
  type DecideInput,
  decideNodeTrust,
  type EvaluateInput,
  evaluateVerification,
  type NodeDecision,
  type NodeRef,
  nodeInPool,
} from './node-trust.ts';
export {
  nonceToPublish,
  type PublishedNonces,
  publishedNonces,
  type RetiredNonce,
} from './nonce.ts';
export { attestationSettings, GRANT_DEFAULTS, POLICY_DEFAULTS } from './policy-settings.ts';
export { checkPosture, checkPostureRequirements, claimAt, compareVersions } from './posture.ts';
export { REASON, type Reason, type ReasonCode } from './reasons.ts';
export { type LabelSelector, type Labels, selectorMatches } from './selectors.ts';
export { type Instant, isoTime, parseDuration, parseTimestamp } from './time.ts';
export { type ChangeListener, TrustIndex, type TrustIndexOptions } from './trust-index.ts';
export {
  FORBIDDEN_HEADERS,
  MAX_TOKEN_BYTES,
  type TokenVerification,
  type VerifiedAttestation,
  verifyAttestationToken,
} from './verify-token.ts';
export {
  DEFAULT_API_SERVER_AUDIENCE,
  type ExemptedPolicy,
  evaluateWorkload,
  type Governance,
  type GovernanceContext,
  governingPolicies,
  type LegacySecretLookup,
  podGovernance,
  projectedTokens,
  referencedSecretNames,
  serviceAccountOf,
  type WorkloadDecision,
  type WorkloadInput,
  workloadGovernance,
} from './workload.ts';

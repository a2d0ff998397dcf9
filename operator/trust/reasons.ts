// Every negative trust result carries reasons: a stable code for machines (alerts, status,
// metrics) and a sentence for people that names the node or identity, the policy and the
// requirement that failed. Codes never change meaning once released.

export const REASON = {
  // token shape and signature
  MalformedToken: 'MalformedToken',
  TokenTooLarge: 'TokenTooLarge',
  ForbiddenHeader: 'ForbiddenHeader',
  AlgorithmNotAllowed: 'AlgorithmNotAllowed',
  UnknownKey: 'UnknownKey',
  SignatureInvalid: 'SignatureInvalid',
  NoVerifierKeys: 'NoVerifierKeys',
  // claims
  IssuerMismatch: 'IssuerMismatch',
  SubjectMismatch: 'SubjectMismatch',
  ProfileMismatch: 'ProfileMismatch',
  MissingClaim: 'MissingClaim',
  InvalidClaim: 'InvalidClaim',
  NoSubmodules: 'NoSubmodules',
  // freshness
  IssuedInFuture: 'IssuedInFuture',
  Stale: 'Stale',
  Expired: 'Expired',
  NonceMissing: 'NonceMissing',
  NonceMismatch: 'NonceMismatch',
  // appraisal and posture
  StatusBelowMinimum: 'StatusBelowMinimum',
  TrustworthinessAboveCeiling: 'TrustworthinessAboveCeiling',
  PostureRequirementFailed: 'PostureRequirementFailed',
  // node and policy
  NotAttested: 'NotAttested',
  NotInNodePool: 'NotInNodePool',
  UnknownNode: 'UnknownNode',
  UnknownPolicy: 'UnknownPolicy',
  PolicyInvalid: 'PolicyInvalid',
  VerificationPending: 'VerificationPending',
  // workloads
  GrantMissing: 'GrantMissing',
  GrantNotYetValid: 'GrantNotYetValid',
  GrantExpired: 'GrantExpired',
  AudienceNotGranted: 'AudienceNotGranted',
  TokenExpirationTooLong: 'TokenExpirationTooLong',
  LegacyTokenSecret: 'LegacyTokenSecret',
} as const;

export type ReasonCode = (typeof REASON)[keyof typeof REASON];

export interface Reason {
  code: ReasonCode;
  message: string;
}

export function reason(code: ReasonCode, message: string): Reason {
  return { code, message };
}

/** A value as JSON for a message (strings quoted); long values are cut to stay readable. */
export function show(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * A failed check before it is tied to a node and policy: what was found and what the policy
 * requires. Verification results are shared by every policy with the same verifiers, so the
 * sentence is only written when a decision for one (node, policy) pair is made.
 */
export interface Finding {
  code: ReasonCode;
  /** What was found, e.g. `posture diskEncryption is false`. */
  found: string;
  /** What the policy requires, e.g. `requires Equals "true"`. */
  requires: string;
}

export function finding(code: ReasonCode, found: string, requires: string): Finding {
  return { code, found, requires };
}

/** `node runner-1: posture diskEncryption is false; policy ci-runners requires Equals "true"` */
export function nodeReason(node: string, policy: string, f: Finding): Reason {
  return { code: f.code, message: `node ${node}: ${f.found}; policy ${policy} ${f.requires}` };
}

// The policy fields the decision reads, with the CRD's schema defaults filled in. The
// defaults are read from operator/api/crds.ts (the single source of truth), so an object
// that skipped API-server defaulting (a file on disk, a test fixture) decides the same way.
import { CRDS, type TRUSTWORTHINESS_CATEGORIES } from '../api/crds.ts';
import type { JSONSchemaProps } from '../api/schema-builders.ts';
import type {
  EndpointTrustPolicy,
  EndpointTrustPolicySpec,
  WorkloadGrant,
} from '../api/types.generated.ts';
import { parseDuration } from './time.ts';

type Attestation = EndpointTrustPolicySpec['attestation'];
export type Verifier = Attestation['verifiers'][number];
export type PostureRequirement = NonNullable<Attestation['posture']>[number];
export type EarTier = 'none' | 'affirming' | 'warning' | 'contraindicated';
export type Category = (typeof TRUSTWORTHINESS_CATEGORIES)[number];

function specSchema(kind: string): JSONSchemaProps {
  const crd = CRDS.find((c) => c.kind === kind);
  if (!crd) throw new Error(`no CRD source for ${kind}`);
  return crd.spec;
}

/** The schema default at a dotted path under spec (e.g. attestation.maxAge; [] steps into items). */
function schemaDefault<T>(kind: string, path: string): T {
  let node: JSONSchemaProps | undefined = specSchema(kind);
  for (const part of path.split('.')) node = part === '[]' ? node?.items : node?.properties?.[part];
  if (node?.default === undefined) throw new Error(`${kind} spec.${path} has no default`);
  return node.default as T;
}

const POLICY = 'EndpointTrustPolicy';
export const POLICY_DEFAULTS = {
  maxAge: schemaDefault<string>(POLICY, 'attestation.maxAge'),
  clockSkew: schemaDefault<string>(POLICY, 'attestation.clockSkew'),
  requireNonce: schemaDefault<boolean>(POLICY, 'attestation.requireNonce'),
  nonceOverlap: schemaDefault<string>(POLICY, 'attestation.nonceOverlap'),
  minimumStatus: schemaDefault<'affirming' | 'warning' | 'none'>(
    POLICY,
    'attestation.minimumStatus',
  ),
  requireGrant: schemaDefault<boolean>(POLICY, 'workloadIdentity.requireGrant'),
  maxExpirationSeconds: schemaDefault<number>(POLICY, 'workloadIdentity.maxExpirationSeconds'),
  allowLegacyTokenSecrets: schemaDefault<boolean>(
    POLICY,
    'workloadIdentity.allowLegacyTokenSecrets',
  ),
  algorithms: schemaDefault<string[]>(POLICY, 'attestation.verifiers.[].algorithms'),
  jwksSecretKey: schemaDefault<string>(POLICY, 'attestation.verifiers.[].jwksSecretRef.key'),
} as const;
export const GRANT_DEFAULTS = {
  maxExpirationSeconds: schemaDefault<number>('WorkloadGrant', 'maxExpirationSeconds'),
} as const;

/** What the node decision needs from a policy, defaults applied and durations parsed. */
export interface AttestationSettings {
  maxAgeMs: number;
  clockSkewMs: number;
  requireNonce: boolean;
  /** How long a replaced nonce is still accepted after its rotation. */
  nonceOverlapMs: number;
  minimumStatus: 'affirming' | 'warning' | 'none';
  submods: string[];
  trustworthiness: Partial<Record<Category, EarTier>>;
  posture: PostureRequirement[];
}

/** Reads the attestation settings; a problem (unparseable duration) is returned as text. */
export function attestationSettings(
  policy: EndpointTrustPolicy,
): AttestationSettings | { problem: string } {
  const a = policy.spec?.attestation;
  if (!a || !Array.isArray(a.verifiers))
    return { problem: 'spec.attestation.verifiers is missing' };
  const maxAge = a.maxAge ?? POLICY_DEFAULTS.maxAge;
  const clockSkew = a.clockSkew ?? POLICY_DEFAULTS.clockSkew;
  const maxAgeMs = parseDuration(maxAge);
  const clockSkewMs = parseDuration(clockSkew);
  if (maxAgeMs === undefined || maxAgeMs <= 0) {
    return { problem: `spec.attestation.maxAge ${JSON.stringify(maxAge)} is not a duration` };
  }
  if (clockSkewMs === undefined) {
    return { problem: `spec.attestation.clockSkew ${JSON.stringify(clockSkew)} is not a duration` };
  }
  const nonceOverlap = a.nonceOverlap ?? POLICY_DEFAULTS.nonceOverlap;
  const nonceOverlapMs = parseDuration(nonceOverlap);
  if (nonceOverlapMs === undefined) {
    return {
      problem: `spec.attestation.nonceOverlap ${JSON.stringify(nonceOverlap)} is not a duration`,
    };
  }
  return {
    maxAgeMs,
    clockSkewMs,
    requireNonce: a.requireNonce ?? POLICY_DEFAULTS.requireNonce,
    nonceOverlapMs,
    minimumStatus: a.minimumStatus ?? POLICY_DEFAULTS.minimumStatus,
    submods: a.submods ?? [],
    trustworthiness: a.trustworthiness ?? {},
    posture: a.posture ?? [],
  };
}

export function verifierAlgorithms(verifier: Verifier): string[] {
  return verifier.algorithms ?? POLICY_DEFAULTS.algorithms;
}

export function workloadSettings(policy: EndpointTrustPolicy) {
  const w = policy.spec?.workloadIdentity ?? {};
  return {
    requireGrant: w.requireGrant ?? POLICY_DEFAULTS.requireGrant,
    maxExpirationSeconds: w.maxExpirationSeconds ?? POLICY_DEFAULTS.maxExpirationSeconds,
    allowLegacyTokenSecrets: w.allowLegacyTokenSecrets ?? POLICY_DEFAULTS.allowLegacyTokenSecrets,
  };
}

export function grantMaxExpirationSeconds(grant: WorkloadGrant): number {
  return grant.spec?.maxExpirationSeconds ?? GRANT_DEFAULTS.maxExpirationSeconds;
}

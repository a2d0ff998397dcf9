// Shared fixtures for the trust tests: real keys, real signed tokens, and a policy.
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import type {
  EndpointTrustPolicy,
  NodeAttestation,
} from '../../../operator/api/types.generated.ts';
import { EAR_PROFILE } from '../../../operator/trust/index.ts';

export const NOW = Date.parse('2026-11-25T12:00:00Z');
export const NOW_S = NOW / 1000;
export const ISSUER = 'https://verifier.example';
export const NODE = 'runner-1';

export interface TestKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg = 'ES256'): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: privateKey as CryptoKey, publicJwk };
}

export function earClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    eat_profile: EAR_PROFILE,
    iat: NOW_S - 60,
    iss: ISSUER,
    sub: NODE,
    'ear.verifier-id': { build: 'edr-verifier 1.4.0', developer: 'https://verifier.example' },
    submods: {
      node: {
        'ear.status': 'affirming',
        'ear.trustworthiness-vector': { hardware: 2, executables: 2, configuration: 2 },
      },
    },
    posture: {
      diskEncryption: true,
      secureBoot: true,
      patchAgeDays: 3,
      edr: { healthy: true, version: '7.2.1' },
      enrollment: 'managed',
    },
    ...overrides,
  };
}

export async function sign(
  key: TestKey,
  claims: Record<string, unknown> = earClaims(),
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header })
    .sign(key.privateKey);
}

export const b64url = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

export function policy(
  keys: JWK[],
  attestation: Partial<EndpointTrustPolicy['spec']['attestation']> = {},
  extra: Partial<EndpointTrustPolicy['spec']> = {},
): EndpointTrustPolicy {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'EndpointTrustPolicy',
    metadata: { name: 'ci-runners', resourceVersion: '1', generation: 1 },
    spec: {
      nodeSelector: { matchLabels: { pool: 'ci' } },
      attestation: {
        verifiers: [{ name: 'corp-edr', issuer: ISSUER, jwks: { keys }, algorithms: ['ES256'] }],
        maxAge: '5m',
        trustworthiness: { hardware: 'affirming', executables: 'affirming' },
        posture: [
          { key: 'diskEncryption', operator: 'Equals', values: ['true'] },
          { key: 'patchAgeDays', operator: 'LessThanOrEqual', values: ['14'] },
          { key: 'edr.version', operator: 'VersionAtLeast', values: ['7.0'] },
        ],
        ...attestation,
      },
      ...extra,
    },
  };
}

export function attestation(token: string, nonce?: string, node = NODE): NodeAttestation {
  return {
    apiVersion: 'trustgate.dev/v1alpha1',
    kind: 'NodeAttestation',
    metadata: { name: node },
    spec: { token },
    ...(nonce ? { status: { nonce: { value: nonce } } } : {}),
  };
}

export const CI_NODE = { name: NODE, labels: { pool: 'ci' } };

// Signing an EAR attestation result (compact JWS) for a node: shared by `attest sign`
// (one token, printed) and `attest publish` (a token per node per interval, applied).
import { type CryptoKey, type KeyObject, SignJWT } from 'jose';
import { EAR_PROFILE } from '../trust/index.ts';

export interface SigningKey {
  key: CryptoKey | KeyObject | Uint8Array;
  alg: string;
  kid?: string;
}

/** One submodule's appraisal, as EAR writes it. */
export interface EarSubmod {
  'ear.status': string;
  'ear.trustworthiness-vector'?: Record<string, number>;
}

export interface EarResult {
  node: string;
  /** Seconds since the epoch. */
  iat: number;
  exp?: number;
  issuer: string;
  verifierId: { build: string; developer: string };
  nonce?: string;
  submods: Record<string, EarSubmod>;
  posture?: Record<string, unknown>;
}

/** The token's claims: veraison/ear with trustgate's posture object. */
export function earPayload(r: EarResult): Record<string, unknown> {
  return {
    eat_profile: EAR_PROFILE,
    iat: r.iat,
    ...(r.exp === undefined ? {} : { exp: r.exp }),
    iss: r.issuer,
    sub: r.node,
    'ear.verifier-id': r.verifierId,
    ...(r.nonce === undefined ? {} : { eat_nonce: r.nonce }),
    submods: r.submods,
    ...(r.posture ? { posture: r.posture } : {}),
  };
}

export function signEar(r: EarResult, key: SigningKey): Promise<string> {
  return new SignJWT(earPayload(r))
    .setProtectedHeader({ alg: key.alg, typ: 'JWT', ...(key.kid ? { kid: key.kid } : {}) })
    .sign(key.key);
}

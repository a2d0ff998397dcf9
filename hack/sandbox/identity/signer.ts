// The sandbox's service-account signing key: an RS256 key pair made at start (kube's
// usual key type), its key id derived from the public key as kube derives it, and the
// public JWKS that /openid/v1/jwks would serve. The private key never leaves this module.
import { createHash, webcrypto } from 'node:crypto';
import { compactVerify, decodeJwt, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export const SIGNING_ALG = 'RS256';

export interface JsonWebKeySet {
  keys: JWK[];
}

export interface TokenSigner {
  readonly keyId: string;
  sign(claims: Record<string, unknown>): Promise<string>;
  /** Verifies the signature only; returns the payload or throws. */
  verifySignature(token: string): Promise<Record<string, unknown>>;
  jwks(): JsonWebKeySet;
}

/** kube's keyIDFromPublicKey: base64url(SHA-256(DER SubjectPublicKeyInfo)). */
export async function keyIdOf(publicKey: webcrypto.CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', publicKey);
  return createHash('sha256').update(Buffer.from(der)).digest('base64url');
}

export async function createTokenSigner(): Promise<TokenSigner> {
  const { publicKey, privateKey } = await generateKeyPair(SIGNING_ALG, { modulusLength: 2048 });
  const keyId = await keyIdOf(publicKey as webcrypto.CryptoKey);
  const jwk: JWK = { ...(await exportJWK(publicKey)), use: 'sig', alg: SIGNING_ALG, kid: keyId };
  return {
    keyId,
    sign: (claims) =>
      new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: keyId }).sign(privateKey),
    async verifySignature(token) {
      await compactVerify(token, publicKey, { algorithms: [SIGNING_ALG] });
      return decodeJwt(token) as Record<string, unknown>;
    },
    jwks: () => ({ keys: [{ ...jwk }] }),
  };
}

/** The payload of a compact JWT without verifying it, or undefined when it is not one. */
export function peekClaims(token: string): Record<string, unknown> | undefined {
  if (token.split('.').length !== 3) return undefined;
  try {
    return decodeJwt(token) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

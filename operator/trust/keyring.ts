// A policy's verifier keys, imported once and reused: importing a JWK into WebCrypto costs
// more than verifying a signature, so decisions only look keys up by kid.
import { type CryptoKey, importJWK, type JWK } from 'jose';
import { SIGNING_ALGORITHMS } from '../api/crds.ts';
import type { EndpointTrustPolicy } from '../api/types.generated.ts';
import { POLICY_DEFAULTS, type Verifier, verifierAlgorithms } from './policy-settings.ts';

/** Asymmetric JWS algorithms only: `none` and HMAC can never verify an attestation. */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set(SIGNING_ALGORITHMS);

/**
 * Looks up the JWKS of a verifier that names a Secret (jwksSecretRef): the parsed JWKS,
 * a JwksUnavailable saying why there is none, or undefined when nothing is known.
 */
export type JwksResolver = (verifier: Verifier) => unknown;

/** Why a verifier has no usable keys, or skipped some: a code for conditions, and text. */
export type KeyProblemCode =
  | 'JwksSecretNotFound'
  /** Reported by the caller that watches Secrets: trustgate is refused this one. */
  | 'JwksSecretForbidden'
  | 'JwksSecretKeyMissing'
  | 'JwksUnparsable'
  | 'PrivateKeyInJwks'
  | 'UnusableKey'
  | 'NoKeys';

export interface KeyProblem {
  code: KeyProblemCode;
  message: string;
}

/** A resolver's answer when a verifier's JWKS Secret cannot give a JWKS. */
export class JwksUnavailable {
  readonly problem: KeyProblem;
  constructor(code: KeyProblemCode, message: string) {
    this.problem = { code, message };
  }
}

export interface KeyEntry {
  verifier: string;
  issuer: string;
  kid: string | undefined;
  jwk: JWK;
  /** The algorithms this key may verify: the verifier's allow-list, narrowed by the key's alg. */
  algorithms: ReadonlySet<string>;
}

export interface VerifierKeys {
  name: string;
  issuer: string;
  keys: KeyEntry[];
  /** Why the verifier has no usable keys, or skipped some of them. */
  problems: KeyProblem[];
}

const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
/** JWK members that only private (or symmetric) keys have. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function readVerifier(verifier: Verifier, resolve: JwksResolver | undefined): VerifierKeys {
  const out: VerifierKeys = {
    name: verifier.name,
    issuer: verifier.issuer,
    keys: [],
    problems: [],
  };
  const allowed = verifierAlgorithms(verifier).filter((a) => ASYMMETRIC_ALGORITHMS.has(a));
  const problem = (code: KeyProblemCode, message: string) => out.problems.push({ code, message });
  const jwks = verifier.jwks ?? (verifier.jwksSecretRef ? resolve?.(verifier) : undefined);
  if (jwks instanceof JwksUnavailable) {
    problem(jwks.problem.code, `verifier ${verifier.name}: ${jwks.problem.message}`);
    return out;
  }
  if (jwks === undefined) {
    problem(
      verifier.jwksSecretRef ? 'JwksSecretNotFound' : 'NoKeys',
      verifier.jwksSecretRef
        ? `the JWKS Secret ${verifier.jwksSecretRef.name} of verifier ${verifier.name} is not available`
        : `verifier ${verifier.name} has no JWKS`,
    );
    return out;
  }
  const keys = (jwks as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) {
    problem('JwksUnparsable', `the JWKS of verifier ${verifier.name} has no keys array`);
    return out;
  }
  keys.forEach((raw: unknown, i) => {
    const jwk = raw as JWK;
    const label = `key ${typeof jwk?.kid === 'string' ? jwk.kid : `#${i}`} of verifier ${verifier.name}`;
    if (typeof jwk !== 'object' || jwk === null) {
      problem('JwksUnparsable', `${label} is not a JSON object`);
    } else if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      // Refused whatever its type: a private key here means it has leaked into the cluster.
      problem(
        'PrivateKeyInJwks',
        `${label} carries private key material; a policy holds public keys only (remove it and rotate the key)`,
      );
    } else if (!PUBLIC_KEY_TYPES.has(jwk.kty as string)) {
      problem('UnusableKey', `${label} is not an EC, RSA or OKP public key`);
    } else if (jwk.use !== undefined && jwk.use !== 'sig') {
      problem('UnusableKey', `${label} is not a signing key (use ${jwk.use})`);
    } else {
      const algorithms = new Set(allowed.filter((a) => jwk.alg === undefined || jwk.alg === a));
      out.keys.push({
        verifier: verifier.name,
        issuer: verifier.issuer,
        kid: typeof jwk.kid === 'string' ? jwk.kid : undefined,
        jwk: { ...jwk },
        algorithms,
      });
    }
  });
  if (out.keys.length === 0 && out.problems.length === 0) {
    problem('NoKeys', `the JWKS of verifier ${verifier.name} is empty`);
  }
  return out;
}

/**
 * The keys of a policy's verifiers with their imported CryptoKeys cached. Build one per
 * (policy verifiers, resolved JWKS) and reuse it for every token; `fingerprint` identifies
 * the inputs so callers can share keyrings between policies with the same verifiers.
 */
export class VerifierKeyring {
  readonly verifiers: VerifierKeys[];
  readonly fingerprint: string;
  readonly #byKid = new Map<string, KeyEntry[]>();
  readonly #imported = new Map<KeyEntry, Map<string, Promise<CryptoKey>>>();

  constructor(verifiers: Verifier[], resolve?: JwksResolver) {
    this.verifiers = verifiers.map((v) => readVerifier(v, resolve));
    this.fingerprint = JSON.stringify(
      this.verifiers.map((v) => [
        v.name,
        v.issuer,
        v.problems,
        v.keys.map((k) => [k.jwk, [...k.algorithms]]),
      ]),
    );
    for (const entry of this.verifiers.flatMap((v) => v.keys)) {
      if (entry.kid === undefined) continue;
      const list = this.#byKid.get(entry.kid) ?? [];
      list.push(entry);
      this.#byKid.set(entry.kid, list);
    }
  }

  static forPolicy(policy: EndpointTrustPolicy, resolve?: JwksResolver): VerifierKeyring {
    return new VerifierKeyring(policy.spec?.attestation?.verifiers ?? [], resolve);
  }

  get hasKeys(): boolean {
    return this.verifiers.some((v) => v.keys.length > 0);
  }

  /**
   * The keys a token header may select: those whose kid equals the header's kid, plus the
   * single kid-less key of a verifier that has only one key. A header without kid selects
   * the keys of verifiers that hold exactly one key. Never a key from the token itself.
   */
  candidates(kid: string | undefined): KeyEntry[] {
    const found = kid === undefined ? [] : [...(this.#byKid.get(kid) ?? [])];
    for (const v of this.verifiers) {
      const only = v.keys.length === 1 ? v.keys[0] : undefined;
      if (only && (kid === undefined || only.kid === undefined)) found.push(only);
    }
    return found;
  }

  /**
   * Keys that parse as JWKs but cannot be used: each key is imported once for its first
   * allowed algorithm (cached like every import), and a failure is reported, not thrown.
   */
  async importProblems(): Promise<KeyProblem[]> {
    const out: KeyProblem[] = [];
    for (const v of this.verifiers) {
      for (const entry of v.keys) {
        const label = `key ${entry.kid ?? '(no kid)'} of verifier ${v.name}`;
        const alg = [...entry.algorithms][0];
        if (!alg) {
          out.push({
            code: 'UnusableKey',
            message: `${label} allows none of the verifier's algorithms`,
          });
          continue;
        }
        try {
          await this.cryptoKey(entry, alg);
        } catch (err) {
          const why = err instanceof Error ? err.message : 'error';
          out.push({ code: 'JwksUnparsable', message: `${label} cannot be imported (${why})` });
        }
      }
    }
    return out;
  }

  /** The CryptoKey for an entry and algorithm, imported on first use. */
  cryptoKey(entry: KeyEntry, alg: string): Promise<CryptoKey> {
    let perAlg = this.#imported.get(entry);
    if (!perAlg) {
      perAlg = new Map();
      this.#imported.set(entry, perAlg);
    }
    let key = perAlg.get(alg);
    if (!key) {
      key = importJWK({ ...entry.jwk, alg }, alg) as Promise<CryptoKey>;
      perAlg.set(alg, key);
    }
    return key;
  }
}

/** The `data` of a Secret as the API returns it: base64 values by key. */
export type SecretData = Readonly<Record<string, string>> | undefined;

/** Reads a JWKS from a Secret's base64 data, or says why it cannot. */
export function jwksFromSecretData(data: SecretData, key: string): unknown {
  const encoded = data?.[key];
  if (encoded === undefined) {
    return new JwksUnavailable('JwksSecretKeyMissing', `its JWKS Secret has no key "${key}"`);
  }
  try {
    return JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'));
  } catch {
    return new JwksUnavailable('JwksUnparsable', `key "${key}" of its JWKS Secret is not JSON`);
  }
}

/** A resolver for jwksSecretRef verifiers over a Secret lookup (no I/O of its own). */
export function secretJwksResolver(
  lookup: (namespace: string, name: string) => SecretData,
  defaultNamespace: string,
): JwksResolver {
  return (verifier) => {
    const ref = verifier.jwksSecretRef;
    if (!ref) return undefined;
    const namespace = ref.namespace ?? defaultNamespace;
    const data = lookup(namespace, ref.name);
    if (data === undefined) {
      return new JwksUnavailable(
        'JwksSecretNotFound',
        `its JWKS Secret ${namespace}/${ref.name} does not exist (or trustgate cannot read it)`,
      );
    }
    return jwksFromSecretData(data, ref.key ?? POLICY_DEFAULTS.jwksSecretKey);
  };
}

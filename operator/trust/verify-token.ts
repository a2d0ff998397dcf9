// Verifies a NodeAttestation token against a policy's verifier keys and reads its EAR
// claims. The header is checked before any key is touched: size, shape, no key material or
// key URLs, no crit extensions, an asymmetric algorithm the chosen verifier allows. jose
// then checks the signature with a key from the policy, never from the token.
import { compactVerify, errors } from 'jose';
import { type EarClaims, readEarClaims } from './ear.ts';
import { ASYMMETRIC_ALGORITHMS, type VerifierKeyring } from './keyring.ts';
import { type Finding, finding, REASON, show } from './reasons.ts';

/** Tokens longer than this are rejected before parsing (the CRD allows no more either). */
export const MAX_TOKEN_BYTES = 16 * 1024;

/** Header parameters that carry or point to keys; trustgate never takes a key from a token. */
export const FORBIDDEN_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const;

const SEGMENT_RE = /^[A-Za-z0-9_-]+$/;
const decoder = new TextDecoder('utf-8', { fatal: true });

export interface VerifiedAttestation {
  verifier: string;
  keyID: string | undefined;
  alg: string;
  claims: EarClaims;
}

export type TokenVerification =
  | { ok: true; attestation: VerifiedAttestation }
  | { ok: false; findings: Finding[] };

const fail = (...findings: Finding[]): TokenVerification => ({ ok: false, findings });
const VALID_SIGNATURE = 'requires a valid signature from one of its verifiers';

function decodeSegment(segment: string): unknown {
  // base64url without padding never has a length of 1 modulo 4.
  if (!SEGMENT_RE.test(segment) || segment.length % 4 === 1) throw new Error('not base64url');
  return JSON.parse(decoder.decode(Buffer.from(segment, 'base64url')));
}

interface CheckedHeader {
  alg: string;
  kid: string | undefined;
}

function checkHeader(token: string): CheckedHeader | Finding {
  const parts = token.split('.');
  // The signature may be empty here so that `alg: none` is reported as a refused algorithm.
  const [head = '', body = '', signature = ''] = parts;
  if (
    parts.length !== 3 ||
    !SEGMENT_RE.test(head) ||
    !SEGMENT_RE.test(body) ||
    !(signature === '' || SEGMENT_RE.test(signature))
  ) {
    return finding(
      REASON.MalformedToken,
      'the token is not a compact JWS (three base64url parts)',
      VALID_SIGNATURE,
    );
  }
  let header: unknown;
  try {
    header = decodeSegment(head);
  } catch {
    return finding(
      REASON.MalformedToken,
      'the token header is not base64url JSON',
      VALID_SIGNATURE,
    );
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    return finding(REASON.MalformedToken, 'the token header is not a JSON object', VALID_SIGNATURE);
  }
  const h = header as Record<string, unknown>;
  for (const name of FORBIDDEN_HEADERS) {
    if (name in h) {
      return finding(
        REASON.ForbiddenHeader,
        `the token header carries ${name}`,
        'takes keys only from its verifiers, never from a token',
      );
    }
  }
  if ('crit' in h) {
    return finding(
      REASON.ForbiddenHeader,
      `the token header marks ${show(h.crit)} critical`,
      'understands no critical header extensions',
    );
  }
  if (typeof h.alg !== 'string' || !ASYMMETRIC_ALGORITHMS.has(h.alg)) {
    return finding(
      REASON.AlgorithmNotAllowed,
      `the token is signed with alg ${show(h.alg)}`,
      'accepts asymmetric signatures only',
    );
  }
  if (h.kid !== undefined && typeof h.kid !== 'string') {
    return finding(
      REASON.MalformedToken,
      `the token kid is ${show(h.kid)}`,
      'requires a string kid',
    );
  }
  return { alg: h.alg, kid: h.kid as string | undefined };
}

function isFinding(x: CheckedHeader | Finding): x is Finding {
  return 'code' in x;
}

/** Verifies a token against the keyring and reads its EAR claims and issuer. */
export async function verifyAttestationToken(
  token: string,
  keyring: VerifierKeyring,
): Promise<TokenVerification> {
  if (typeof token !== 'string' || token.length === 0) {
    return fail(finding(REASON.MalformedToken, 'the token is empty', VALID_SIGNATURE));
  }
  if (token.length > MAX_TOKEN_BYTES) {
    return fail(
      finding(
        REASON.TokenTooLarge,
        `the token is ${token.length} bytes`,
        `accepts at most ${MAX_TOKEN_BYTES}`,
      ),
    );
  }
  const header = checkHeader(token);
  if (isFinding(header)) return fail(header);
  if (!keyring.hasKeys) {
    const problems = keyring.verifiers.flatMap((v) => v.problems.map((p) => p.message)).join('; ');
    return fail(
      finding(REASON.NoVerifierKeys, `no verifier key is available (${problems})`, VALID_SIGNATURE),
    );
  }
  const candidates = keyring.candidates(header.kid);
  const kidText = header.kid === undefined ? 'no kid' : `kid ${show(header.kid)}`;
  if (candidates.length === 0) {
    return fail(
      finding(
        REASON.UnknownKey,
        `the token names ${kidText}, which no verifier holds`,
        VALID_SIGNATURE,
      ),
    );
  }
  const usable = candidates.filter((c) => c.algorithms.has(header.alg));
  if (usable.length === 0) {
    return fail(
      finding(
        REASON.AlgorithmNotAllowed,
        `the token is signed with ${header.alg} under ${kidText}`,
        `allows ${[...new Set(candidates.flatMap((c) => [...c.algorithms]))].join(', ') || 'no algorithm'} for that key`,
      ),
    );
  }
  let last: Finding | undefined;
  for (const entry of usable) {
    let payload: Uint8Array;
    try {
      const key = await keyring.cryptoKey(entry, header.alg);
      ({ payload } = await compactVerify(token, key, { algorithms: [header.alg] }));
    } catch (err) {
      last = verifyFailure(err, entry.verifier, kidText);
      continue;
    }
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(payload));
    } catch {
      return fail(
        finding(REASON.MalformedToken, 'the token payload is not JSON', 'requires EAR claims'),
      );
    }
    const { claims, findings } = readEarClaims(body);
    if (claims && claims.iss === undefined) {
      findings.push(
        finding(REASON.MissingClaim, 'the token has no iss', `requires ${show(entry.issuer)}`),
      );
    } else if (claims && claims.iss !== entry.issuer) {
      findings.push(
        finding(
          REASON.IssuerMismatch,
          `the token was issued by ${show(claims.iss)}`,
          `requires ${show(entry.issuer)} for verifier ${entry.verifier}`,
        ),
      );
    }
    if (!claims || findings.length > 0) return fail(...findings);
    return {
      ok: true,
      attestation: { verifier: entry.verifier, keyID: entry.kid, alg: header.alg, claims },
    };
  }
  return fail(last as Finding);
}

function verifyFailure(err: unknown, verifier: string, kidText: string): Finding {
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return finding(
      REASON.SignatureInvalid,
      `the token signature does not verify with ${kidText} of verifier ${verifier}`,
      VALID_SIGNATURE,
    );
  }
  if (err instanceof errors.JWSInvalid) {
    return finding(REASON.MalformedToken, 'the token is not a valid JWS', VALID_SIGNATURE);
  }
  // Key import failures (a key that does not fit the algorithm) and anything else.
  return finding(
    REASON.SignatureInvalid,
    `the token cannot be verified with ${kidText} of verifier ${verifier} (${err instanceof Error ? err.message : 'error'})`,
    VALID_SIGNATURE,
  );
}

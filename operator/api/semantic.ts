// Checks on trustgate resources that an OpenAPI schema cannot express: the inline JWKS
// of a verifier holds usable asymmetric public keys, label selectors use kube's label
// syntax, exemptions and grant windows carry real times, a NodeAttestation token is a
// well-formed JWS for this node. Pure (no I/O); run after schema validation and
// defaulting (defaultedResource), e.g. by the admission webhook on CREATE and UPDATE.
// Messages never echo a token or key material.

import { decodeProtectedHeader, importJWK, type JWK } from 'jose';
import { type FieldError, fieldErrors, fieldPath } from '../schema/errors.ts';
import { dns1123LabelErrors, labelValueErrors, qualifiedNameErrors } from '../schema/names.ts';
import { API_VERSION, MAX_EXEMPTION_SECONDS, SIGNING_ALGORITHMS } from './crds.ts';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const ALGORITHMS: ReadonlySet<string> = new Set(SIGNING_ALGORITHMS);
const PUBLIC_KEY_TYPES = new Set(['EC', 'RSA', 'OKP']);
/** JWK members that only private keys carry. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];
const MIN_RSA_MODULUS_BYTES = 256; // jose refuses RSA keys under 2048 bits

/** Context for references between resources; absent lookups skip those checks. */
export interface SemanticContext {
  /** Looks up an EndpointTrustPolicy by name (from a cache); undefined when not found. */
  policy?: (name: string) => unknown;
  /** Now, for warnings about windows already over. */
  now?: Date;
}

/** Errors that make a trustgate resource unacceptable, with field paths. */
export async function semanticErrors(
  obj: unknown,
  ctx: Pick<SemanticContext, 'now'> = {},
): Promise<FieldError[]> {
  if (!isObj(obj) || obj.apiVersion !== API_VERSION) return [];
  const spec = isObj(obj.spec) ? obj.spec : {};
  switch (obj.kind) {
    case 'EndpointTrustPolicy':
      return policyErrors(spec);
    case 'WorkloadGrant':
      return grantErrors(spec);
    case 'NodeAttestation':
      return attestationErrors(spec, isObj(obj.metadata) ? obj.metadata : {});
    case 'TrustExemption':
      return exemptionErrors(spec, isObj(obj.metadata) ? obj.metadata : {}, ctx.now ?? new Date());
    default:
      return [];
  }
}

/** Things worth telling the writer that do not make the resource invalid (admission warnings). */
export function semanticWarnings(obj: unknown, ctx: SemanticContext = {}): string[] {
  if (!isObj(obj) || obj.apiVersion !== API_VERSION || !isObj(obj.spec)) return [];
  const spec = obj.spec;
  const now = (ctx.now ?? new Date()).getTime();
  const warnings: string[] = [];
  if (obj.kind === 'WorkloadGrant') {
    const ref = isObj(spec.policyRef) ? spec.policyRef.name : undefined;
    if (typeof ref === 'string' && ctx.policy) {
      const policy = ctx.policy(ref);
      if (policy === undefined) {
        warnings.push(
          `spec.policyRef.name: EndpointTrustPolicy "${ref}" does not exist (yet); the grant has no effect until it does`,
        );
      } else {
        const ceiling = readPolicyTokenCeiling(policy);
        const asked =
          typeof spec.maxExpirationSeconds === 'number' ? spec.maxExpirationSeconds : undefined;
        if (ceiling !== undefined && asked !== undefined && asked > ceiling) {
          warnings.push(
            `spec.maxExpirationSeconds: ${asked} exceeds policy "${ref}"'s ceiling of ${ceiling}; tokens are held to ${ceiling}`,
          );
        }
      }
    }
    const notAfter = isObj(spec.validity) ? Date.parse(String(spec.validity.notAfter)) : Number.NaN;
    if (!Number.isNaN(notAfter) && notAfter <= now) {
      warnings.push(
        'spec.validity.notAfter: the grant window is already over; the grant is not active',
      );
    }
  }
  if (obj.kind === 'TrustExemption') {
    const at = Date.parse(String(spec.expiresAt));
    if (!Number.isNaN(at) && at <= now) {
      warnings.push('spec.expiresAt: the exemption has already expired; it does not apply');
    }
  }
  if (obj.kind === 'EndpointTrustPolicy') {
    asArray(spec.exemptions).forEach((e, i) => {
      const at = isObj(e) ? Date.parse(String(e.expiresAt)) : Number.NaN;
      if (!Number.isNaN(at) && at <= now) {
        warnings.push(`spec.exemptions[${i}].expiresAt: the exemption has already expired`);
      }
    });
  }
  return warnings;
}

function readPolicyTokenCeiling(policy: unknown): number | undefined {
  const spec = isObj(policy) && isObj(policy.spec) ? policy.spec : undefined;
  const wi = spec && isObj(spec.workloadIdentity) ? spec.workloadIdentity : undefined;
  return typeof wi?.maxExpirationSeconds === 'number' ? wi.maxExpirationSeconds : undefined;
}

async function policyErrors(spec: Obj): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  selectorErrors(spec.nodeSelector, 'spec.nodeSelector', errors);
  const ws = isObj(spec.workloadSelector) ? spec.workloadSelector : {};
  selectorErrors(ws.namespaceSelector, 'spec.workloadSelector.namespaceSelector', errors);
  selectorErrors(ws.podSelector, 'spec.workloadSelector.podSelector', errors);
  const attestation = isObj(spec.attestation) ? spec.attestation : {};
  const verifiers = asArray(attestation.verifiers);
  for (const [i, v] of verifiers.entries()) {
    if (isObj(v)) errors.push(...(await verifierErrors(v, `spec.attestation.verifiers[${i}]`)));
  }
  for (const [i, e] of asArray(spec.exemptions).entries()) {
    if (!isObj(e)) continue;
    const at = `spec.exemptions[${i}]`;
    for (const [j, ns] of asArray(e.namespaces).entries()) {
      if (typeof ns !== 'string') continue;
      for (const msg of dns1123LabelErrors(ns)) {
        errors.push(fieldErrors.invalid(`${at}.namespaces[${j}]`, ns, msg));
      }
    }
    selectorErrors(e.podSelector, `${at}.podSelector`, errors);
    if (typeof e.expiresAt === 'string' && Number.isNaN(Date.parse(e.expiresAt))) {
      errors.push(fieldErrors.invalid(`${at}.expiresAt`, e.expiresAt, 'must be an RFC 3339 time'));
    }
  }
  return errors;
}

async function verifierErrors(v: Obj, path: string): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const algorithms = asArray(v.algorithms ?? ['ES256']).filter(
    (a): a is string => typeof a === 'string',
  );
  for (const [i, a] of algorithms.entries()) {
    if (!ALGORITHMS.has(a)) {
      errors.push(fieldErrors.notSupported(`${path}.algorithms[${i}]`, a, [...ALGORITHMS]));
    }
  }
  if (isObj(v.jwksSecretRef) && typeof v.jwksSecretRef.namespace === 'string') {
    for (const msg of dns1123LabelErrors(v.jwksSecretRef.namespace)) {
      errors.push(
        fieldErrors.invalid(`${path}.jwksSecretRef.namespace`, v.jwksSecretRef.namespace, msg),
      );
    }
  }
  if (!isObj(v.jwks)) return errors;
  const keys = asArray(v.jwks.keys);
  const kids = new Map<string, number>();
  for (const [i, raw] of keys.entries()) {
    const at = `${path}.jwks.keys[${i}]`;
    if (!isObj(raw)) {
      errors.push(fieldErrors.invalid(at, 'object', 'must be a JSON Web Key object'));
      continue;
    }
    const kid = raw.kid;
    if (kid !== undefined && typeof kid !== 'string') {
      errors.push(fieldErrors.invalid(`${at}.kid`, kid, 'must be a string'));
    } else if (typeof kid === 'string') {
      const first = kids.get(kid);
      if (first !== undefined) errors.push(fieldErrors.duplicate(`${at}.kid`, kid));
      else kids.set(kid, i);
    } else if (keys.length > 1) {
      errors.push(
        fieldErrors.required(
          `${at}.kid`,
          'a verifier with several keys needs a kid on each, so tokens can name theirs',
        ),
      );
    }
    const problem = await keyProblem(raw, algorithms);
    if (problem) errors.push(fieldErrors.invalid(at, describeKey(raw), problem));
  }
  return errors;
}

/** A key without its material, for messages: {"kty":"EC","crv":"P-256","kid":"k1"}. */
function describeKey(jwk: Obj): Obj {
  const out: Obj = {};
  for (const k of ['kty', 'crv', 'alg', 'kid', 'use']) if (jwk[k] !== undefined) out[k] = jwk[k];
  return out;
}

/** Why a JWK cannot verify any of the algorithms, or undefined when it can. */
async function keyProblem(jwk: Obj, algorithms: string[]): Promise<string | undefined> {
  if (jwk.kty === 'oct')
    return 'symmetric (oct) keys are not allowed: a policy holds asymmetric public keys only';
  if (!PUBLIC_KEY_TYPES.has(String(jwk.kty))) {
    return `kty must be one of "EC", "RSA", "OKP"`;
  }
  const priv = PRIVATE_MEMBERS.filter((m) => m in jwk);
  if (priv.length > 0) {
    return `is a private key (has ${priv.map((m) => `"${m}"`).join(', ')}); a policy must hold public keys only`;
  }
  if (jwk.use !== undefined && jwk.use !== 'sig')
    return `use must be "sig", not ${JSON.stringify(jwk.use)}`;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) {
    return 'key_ops must include "verify"';
  }
  if (jwk.alg !== undefined && !algorithms.includes(String(jwk.alg))) {
    return `the key's alg ${JSON.stringify(jwk.alg)} is not among the verifier's algorithms (${algorithms.join(', ')})`;
  }
  if (jwk.kty === 'RSA' && typeof jwk.n === 'string') {
    if (Buffer.from(jwk.n, 'base64url').length < MIN_RSA_MODULUS_BYTES) {
      return 'RSA keys must be 2048 bits or larger';
    }
  }
  const candidates = jwk.alg !== undefined ? [String(jwk.alg)] : algorithms;
  for (const alg of candidates) {
    try {
      await importJWK({ ...(jwk as JWK), alg }, alg);
      return undefined;
    } catch {
      // try the next algorithm
    }
  }
  return `is not a valid public key for any of the verifier's algorithms (${candidates.join(', ')})`;
}

/** kube label-selector syntax (ValidateLabelSelector): keys are qualified names, values label values. */
function selectorErrors(selector: unknown, path: string, errors: FieldError[]): void {
  if (!isObj(selector)) return;
  if (isObj(selector.matchLabels)) {
    const at = fieldPath.child(path, 'matchLabels');
    for (const [k, v] of Object.entries(selector.matchLabels)) {
      for (const msg of qualifiedNameErrors(k)) errors.push(fieldErrors.invalid(at, k, msg));
      if (typeof v === 'string') {
        for (const msg of labelValueErrors(v)) errors.push(fieldErrors.invalid(at, v, msg));
      }
    }
  }
  for (const [i, expr] of asArray(selector.matchExpressions).entries()) {
    if (!isObj(expr)) continue;
    const at = `${path}.matchExpressions[${i}]`;
    if (typeof expr.key === 'string') {
      for (const msg of qualifiedNameErrors(expr.key)) {
        errors.push(fieldErrors.invalid(`${at}.key`, expr.key, msg));
      }
    }
    for (const [j, value] of asArray(expr.values).entries()) {
      if (typeof value !== 'string') continue;
      for (const msg of labelValueErrors(value)) {
        errors.push(fieldErrors.invalid(`${at}.values[${j}]`, value, msg));
      }
    }
  }
}

/**
 * The 7-day bound, from creation (or from now when the object is not created yet). The
 * decision ignores a longer exemption anyway: this webhook fails open.
 */
function exemptionErrors(spec: Obj, metadata: Obj, now: Date): FieldError[] {
  const errors: FieldError[] = [];
  selectorErrors(spec.podSelector, 'spec.podSelector', errors);
  if (typeof spec.expiresAt !== 'string') return errors;
  const expiresAt = Date.parse(spec.expiresAt);
  if (Number.isNaN(expiresAt)) {
    errors.push(fieldErrors.invalid('spec.expiresAt', spec.expiresAt, 'must be an RFC 3339 time'));
    return errors;
  }
  const created = Date.parse(String(metadata.creationTimestamp));
  const from = Number.isNaN(created) ? now.getTime() : created;
  if (expiresAt - from > MAX_EXEMPTION_SECONDS * 1000) {
    errors.push(
      fieldErrors.invalid(
        'spec.expiresAt',
        spec.expiresAt,
        `must be at most ${MAX_EXEMPTION_SECONDS / 86400} days after the exemption's creation (${new Date(from).toISOString()}); break-glass is for incidents, renew it with a new exemption`,
      ),
    );
  }
  return errors;
}

function grantErrors(spec: Obj): FieldError[] {
  const errors: FieldError[] = [];
  const validity = isObj(spec.validity) ? spec.validity : {};
  for (const key of ['notBefore', 'notAfter']) {
    const v = validity[key];
    if (typeof v === 'string' && Number.isNaN(Date.parse(v))) {
      errors.push(fieldErrors.invalid(`spec.validity.${key}`, v, 'must be an RFC 3339 time'));
    }
  }
  return errors;
}

function attestationErrors(spec: Obj, metadata: Obj): FieldError[] {
  const token = spec.token;
  if (typeof token !== 'string') return [];
  const at = 'spec.token';
  // Values are never echoed: the message names the problem, not the token.
  const redacted = '<token>';
  let header: Obj;
  try {
    header = decodeProtectedHeader(token) as Obj;
  } catch {
    return [
      fieldErrors.invalid(at, redacted, 'the JWS protected header is not base64url-encoded JSON'),
    ];
  }
  const errors: FieldError[] = [];
  if (!ALGORITHMS.has(String(header.alg))) {
    errors.push(
      fieldErrors.invalid(
        at,
        redacted,
        `the JWS alg ${JSON.stringify(header.alg ?? null)} is not an allowed asymmetric algorithm`,
      ),
    );
  }
  for (const h of ['jwk', 'jku', 'x5u', 'x5c']) {
    if (h in header) {
      errors.push(
        fieldErrors.invalid(
          at,
          redacted,
          `the JWS header must not carry "${h}": keys come from the policy, never the token`,
        ),
      );
    }
  }
  const payloadPart = token.split('.')[1] ?? '';
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(payloadPart, 'base64url').toString('utf8'));
  } catch {
    errors.push(fieldErrors.invalid(at, redacted, 'the JWS payload is not base64url-encoded JSON'));
    return errors;
  }
  if (!isObj(payload)) {
    errors.push(
      fieldErrors.invalid(
        at,
        redacted,
        'the JWS payload must be a JSON object (an EAR claims set)',
      ),
    );
    return errors;
  }
  if (
    typeof metadata.name === 'string' &&
    payload.sub !== undefined &&
    payload.sub !== metadata.name
  ) {
    errors.push(
      fieldErrors.invalid(
        at,
        redacted,
        `the token's sub ${JSON.stringify(payload.sub)} is not this node (${metadata.name}); a NodeAttestation is named after the node it attests`,
      ),
    );
  }
  return errors;
}

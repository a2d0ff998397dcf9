// A stock IETF RATS EAR appraisal (draft-ietf-rats-ear, as Veraison's verifier emits it in
// JSON) as the posture source of `attest publish`: its submodules' ear.status and
// ear.trustworthiness-vector are carried over as they are, and the claims the verifier
// attached per submodule (ear.veraison.annotated-evidence, ear.veraison.policy-claims) become
// trustgate's posture object, so policies address them with dotted keys. Pure: no I/O.
import { EAR_STATUSES, TRUSTWORTHINESS_CATEGORIES } from '../api/crds.ts';
import type { EarSubmod } from './sign.ts';

export class AppraisalError extends Error {
  override name = 'AppraisalError';
}

/** What an appraisal contributes to trustgate's token; the rest (iss, sub) is the signer's. */
export interface MappedAppraisal {
  submods: Record<string, EarSubmod>;
  posture: Record<string, unknown>;
  /** The appraisal's iat (seconds), when it has one: the token keeps the appraisal's age. */
  iat?: number;
  nonce?: string;
  verifierId?: { build: string; developer: string };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// EAR's integer encoding of a status (its tier's lower bound).
const STATUS_BY_NUMBER: Record<number, string> = {
  0: 'none',
  2: 'affirming',
  32: 'warning',
  96: 'contraindicated',
};

/** Claims a verifier attaches to a submodule that trustgate reads as posture, in this order. */
const POSTURE_CLAIMS = ['ear.veraison.annotated-evidence', 'ear.veraison.policy-claims'];

/** True for a document shaped like an EAR appraisal rather than a plain posture object. */
export function isEarAppraisal(doc: Record<string, unknown>): boolean {
  return isObject(doc.submods) && ('eat_profile' in doc || 'ear.verifier-id' in doc);
}

function readSubmod(name: string, raw: unknown): EarSubmod {
  if (!isObject(raw)) throw new AppraisalError(`submods.${name} is not an object`);
  const rawStatus = raw['ear.status'];
  const status = typeof rawStatus === 'number' ? STATUS_BY_NUMBER[rawStatus] : rawStatus;
  if (typeof status !== 'string' || !(EAR_STATUSES as readonly string[]).includes(status)) {
    throw new AppraisalError(
      `submods.${name} ear.status is ${JSON.stringify(rawStatus)}; expected ${EAR_STATUSES.join(', ')}`,
    );
  }
  const rawVector = raw['ear.trustworthiness-vector'];
  if (rawVector === undefined) return { 'ear.status': status };
  if (!isObject(rawVector)) {
    throw new AppraisalError(`submods.${name} ear.trustworthiness-vector is not an object`);
  }
  const vector: Record<string, number> = {};
  for (const [category, value] of Object.entries(rawVector)) {
    // Unknown categories are dropped (EAR allows extensions; trustgate reads AR4SI's eight).
    if (!(TRUSTWORTHINESS_CATEGORIES as readonly string[]).includes(category)) continue;
    if (!Number.isInteger(value) || (value as number) < -128 || (value as number) > 127) {
      throw new AppraisalError(
        `submods.${name} trustworthiness ${category} is ${JSON.stringify(value)}; expected an integer from -128 to 127`,
      );
    }
    vector[category] = value as number;
  }
  return { 'ear.status': status, 'ear.trustworthiness-vector': vector };
}

/** Merges claim objects; the same key with different values in two submodules is an error. */
function mergePosture(into: Record<string, unknown>, claims: unknown, where: string): void {
  if (claims === undefined) return;
  if (!isObject(claims)) throw new AppraisalError(`${where} is not an object`);
  for (const [k, v] of Object.entries(claims)) {
    if (k in into && JSON.stringify(into[k]) !== JSON.stringify(v)) {
      throw new AppraisalError(`${where}: posture claim ${k} differs from another submodule's`);
    }
    into[k] = v;
  }
}

/** Maps a stock EAR appraisal onto trustgate's claims; throws AppraisalError saying what is wrong. */
export function mapEarAppraisal(doc: Record<string, unknown>): MappedAppraisal {
  if (!isObject(doc.submods) || Object.keys(doc.submods).length === 0) {
    throw new AppraisalError('the EAR appraisal has no submods');
  }
  const submods: Record<string, EarSubmod> = {};
  const posture: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(doc.submods)) {
    submods[name] = readSubmod(name, raw);
    for (const claim of POSTURE_CLAIMS) {
      mergePosture(posture, (raw as Record<string, unknown>)[claim], `submods.${name} ${claim}`);
    }
  }
  // trustgate's own extension, when the verifier already writes it, is merged the same way.
  if (doc.posture !== undefined) mergePosture(posture, doc.posture, 'posture');
  const { iat, eat_nonce: nonce } = doc;
  if (iat !== undefined && (typeof iat !== 'number' || !Number.isFinite(iat))) {
    throw new AppraisalError(`iat is ${JSON.stringify(iat)}; expected a NumericDate`);
  }
  if (nonce !== undefined && typeof nonce !== 'string') {
    throw new AppraisalError(`eat_nonce is ${JSON.stringify(nonce)}; expected a string`);
  }
  const id = doc['ear.verifier-id'];
  const verifierId =
    isObject(id) && typeof id.build === 'string' && typeof id.developer === 'string'
      ? { build: id.build, developer: id.developer }
      : undefined;
  return {
    submods,
    posture,
    ...(iat === undefined ? {} : { iat: Math.floor(iat) }),
    ...(nonce === undefined ? {} : { nonce }),
    ...(verifierId ? { verifierId } : {}),
  };
}

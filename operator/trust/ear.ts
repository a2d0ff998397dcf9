// The EAR (EAT Attestation Result) claims trustgate reads, as veraison/ear defines them:
// eat_profile, iat, ear.verifier-id {build, developer}, optional eat_nonce, and
// submods.<name>.{ear.status, ear.trustworthiness-vector}; plus trustgate's `posture`
// object. Anything outside the documented shapes and ranges is rejected (fail closed).
import { TRUSTWORTHINESS_CATEGORIES } from '../api/crds.ts';
import type { Category, EarTier } from './policy-settings.ts';
import { type Finding, finding, REASON, show } from './reasons.ts';

export const EAR_PROFILE = 'tag:github.com,2023:veraison/ear';

/** EAR tiers from best to worst for ceilings: none < affirming < warning < contraindicated. */
export const TIER_SEVERITY: Record<EarTier, number> = {
  none: 0,
  affirming: 1,
  warning: 2,
  contraindicated: 3,
};

/** ear.status from most to least trustworthy: affirming > warning > none > contraindicated. */
export const STATUS_RANK: Record<EarTier, number> = {
  affirming: 3,
  warning: 2,
  none: 1,
  contraindicated: 0,
};

// EAR serialises a status by name; its parser also takes the tier's integer.
const STATUS_BY_NUMBER: Record<number, EarTier> = {
  0: 'none',
  2: 'affirming',
  32: 'warning',
  96: 'contraindicated',
};

/** The tier of an AR4SI trustworthiness claim value, per veraison/ear's ranges. */
export function tierOfClaim(value: number): EarTier {
  if (value >= -1 && value <= 1) return 'none';
  if ((value >= -32 && value <= -2) || (value >= 2 && value <= 31)) return 'affirming';
  if ((value >= -96 && value <= -33) || (value >= 32 && value <= 95)) return 'warning';
  return 'contraindicated';
}

export interface EarAppraisal {
  status: EarTier;
  /** Claim values per category; a missing category is 0 (no claim), as EAR says. */
  vector: Record<Category, number>;
}

export interface EarClaims {
  iss?: string;
  sub?: string;
  /** Seconds since the epoch. */
  iat: number;
  exp?: number;
  nbf?: number;
  verifierId: { build: string; developer: string };
  nonce?: string;
  submods: Record<string, EarAppraisal>;
  posture?: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumericDate = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

function readStatus(value: unknown): EarTier | undefined {
  if (typeof value === 'string' && Object.hasOwn(TIER_SEVERITY, value)) return value as EarTier;
  if (typeof value === 'number') return STATUS_BY_NUMBER[value];
  return undefined;
}

function readAppraisal(name: string, value: unknown, out: Finding[]): EarAppraisal | undefined {
  const where = `submods.${name}`;
  if (!isObject(value)) {
    out.push(
      finding(REASON.InvalidClaim, `${where} is not an object`, 'requires an EAR appraisal'),
    );
    return undefined;
  }
  const rawStatus = value['ear.status'];
  if (rawStatus === undefined) {
    out.push(finding(REASON.MissingClaim, `${where} has no ear.status`, 'requires one'));
    return undefined;
  }
  const status = readStatus(rawStatus);
  if (!status) {
    out.push(
      finding(
        REASON.InvalidClaim,
        `${where} ear.status is ${show(rawStatus)}`,
        'requires none, affirming, warning or contraindicated',
      ),
    );
    return undefined;
  }
  const vector = Object.fromEntries(TRUSTWORTHINESS_CATEGORIES.map((c) => [c, 0])) as Record<
    Category,
    number
  >;
  const rawVector = value['ear.trustworthiness-vector'];
  if (rawVector !== undefined) {
    if (!isObject(rawVector)) {
      out.push(
        finding(
          REASON.InvalidClaim,
          `${where} ear.trustworthiness-vector is not an object`,
          'requires AR4SI claims',
        ),
      );
      return undefined;
    }
    for (const category of TRUSTWORTHINESS_CATEGORIES) {
      const claim = rawVector[category];
      if (claim === undefined) continue;
      if (!Number.isInteger(claim) || (claim as number) < -128 || (claim as number) > 127) {
        out.push(
          finding(
            REASON.InvalidClaim,
            `${where} trustworthiness ${category} is ${show(claim)}`,
            'requires an integer from -128 to 127',
          ),
        );
        return undefined;
      }
      vector[category] = claim as number;
    }
  }
  return { status, vector };
}

/** Reads and checks the EAR shape of a verified payload; findings say what is wrong. */
export function readEarClaims(payload: unknown): { claims?: EarClaims; findings: Finding[] } {
  const out: Finding[] = [];
  if (!isObject(payload)) {
    out.push(
      finding(
        REASON.MalformedToken,
        'the token payload is not a JSON object',
        'requires EAR claims',
      ),
    );
    return { findings: out };
  }
  const profile = payload.eat_profile;
  if (profile === undefined) {
    out.push(
      finding(REASON.MissingClaim, 'the token has no eat_profile', `requires ${show(EAR_PROFILE)}`),
    );
  } else if (profile !== EAR_PROFILE) {
    out.push(
      finding(
        REASON.ProfileMismatch,
        `eat_profile is ${show(profile)}`,
        `requires ${show(EAR_PROFILE)}`,
      ),
    );
  }
  const { iat, exp, nbf, iss, sub } = payload;
  if (iat === undefined) {
    out.push(finding(REASON.MissingClaim, 'the token has no iat', 'requires an issue time'));
  } else if (!isNumericDate(iat)) {
    out.push(finding(REASON.InvalidClaim, `iat is ${show(iat)}`, 'requires a NumericDate'));
  }
  for (const [name, v] of [
    ['exp', exp],
    ['nbf', nbf],
  ] as const) {
    if (v !== undefined && !isNumericDate(v)) {
      out.push(finding(REASON.InvalidClaim, `${name} is ${show(v)}`, 'requires a NumericDate'));
    }
  }
  for (const [name, v] of [
    ['iss', iss],
    ['sub', sub],
  ] as const) {
    if (v !== undefined && typeof v !== 'string') {
      out.push(finding(REASON.InvalidClaim, `${name} is ${show(v)}`, 'requires a string'));
    }
  }
  const verifierId = payload['ear.verifier-id'];
  if (verifierId === undefined) {
    out.push(finding(REASON.MissingClaim, 'the token has no ear.verifier-id', 'requires one'));
  } else if (
    !isObject(verifierId) ||
    typeof verifierId.build !== 'string' ||
    typeof verifierId.developer !== 'string'
  ) {
    out.push(
      finding(
        REASON.InvalidClaim,
        `ear.verifier-id is ${show(verifierId)}`,
        'requires {build, developer} strings',
      ),
    );
  }
  const nonce = payload.eat_nonce;
  // EAR bounds a nonce to 8..88 characters.
  if (nonce !== undefined && (typeof nonce !== 'string' || nonce.length < 8 || nonce.length > 88)) {
    out.push(
      finding(REASON.InvalidClaim, `eat_nonce is ${show(nonce)}`, 'requires 8 to 88 characters'),
    );
  }
  const posture = payload.posture;
  if (posture !== undefined && !isObject(posture)) {
    out.push(finding(REASON.InvalidClaim, `posture is ${show(posture)}`, 'requires an object'));
  }
  const submods: Record<string, EarAppraisal> = {};
  const rawSubmods = payload.submods;
  if (rawSubmods === undefined || (isObject(rawSubmods) && Object.keys(rawSubmods).length === 0)) {
    out.push(
      finding(REASON.NoSubmodules, 'the token appraises no submodules', 'requires at least one'),
    );
  } else if (!isObject(rawSubmods)) {
    out.push(finding(REASON.InvalidClaim, 'submods is not an object', 'requires EAR appraisals'));
  } else {
    for (const [name, value] of Object.entries(rawSubmods)) {
      const appraisal = readAppraisal(name, value, out);
      if (appraisal) submods[name] = appraisal;
    }
  }
  if (out.length > 0) return { findings: out };
  return {
    findings: out,
    claims: {
      iss: iss as string | undefined,
      sub: sub as string | undefined,
      iat: iat as number,
      exp: exp as number | undefined,
      nbf: nbf as number | undefined,
      verifierId: verifierId as EarClaims['verifierId'],
      nonce: nonce as string | undefined,
      submods,
      posture: posture as Record<string, unknown> | undefined,
    },
  };
}

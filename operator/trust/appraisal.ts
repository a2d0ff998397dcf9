// The verifier's appraisal: every appraised submodule's ear.status must reach the policy's
// minimum, and each trustworthiness category must stay within the policy's ceiling.
import { TRUSTWORTHINESS_CATEGORIES } from '../api/crds.ts';
import { type EarClaims, STATUS_RANK, TIER_SEVERITY, tierOfClaim } from './ear.ts';
import type { AttestationSettings, EarTier } from './policy-settings.ts';
import { type Finding, finding, REASON } from './reasons.ts';

/** The least trustworthy status among the given submodules. */
export function worstStatus(statuses: EarTier[]): EarTier | undefined {
  let worst: EarTier | undefined;
  for (const s of statuses) if (!worst || STATUS_RANK[s] < STATUS_RANK[worst]) worst = s;
  return worst;
}

/** The submodule names the policy appraises: its list, or every submodule in the token. */
export function appraisedSubmods(claims: EarClaims, settings: AttestationSettings): string[] {
  return settings.submods.length > 0 ? settings.submods : Object.keys(claims.submods);
}

export function checkAppraisal(claims: EarClaims, settings: AttestationSettings): Finding[] {
  const out: Finding[] = [];
  for (const name of appraisedSubmods(claims, settings)) {
    const appraisal = claims.submods[name];
    if (!appraisal) {
      out.push(
        finding(
          REASON.MissingClaim,
          `the token has no submodule ${name}`,
          `appraises submodule ${name}`,
        ),
      );
      continue;
    }
    if (STATUS_RANK[appraisal.status] < STATUS_RANK[settings.minimumStatus]) {
      out.push(
        finding(
          REASON.StatusBelowMinimum,
          `submodule ${name} has ear.status ${appraisal.status}`,
          `requires at least ${settings.minimumStatus}`,
        ),
      );
    }
    for (const category of TRUSTWORTHINESS_CATEGORIES) {
      const ceiling = settings.trustworthiness[category];
      if (!ceiling) continue;
      const value = appraisal.vector[category];
      const tier = tierOfClaim(value);
      if (TIER_SEVERITY[tier] > TIER_SEVERITY[ceiling]) {
        out.push(
          finding(
            REASON.TrustworthinessAboveCeiling,
            `submodule ${name} trustworthiness ${category} is ${value} (${tier})`,
            `allows at most ${ceiling}`,
          ),
        );
      }
    }
  }
  return out;
}

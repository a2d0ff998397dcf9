// Posture requirements: plain claims from the endpoint (diskEncryption, patchAgeDays,
// edr.version, ...) compared with the policy's string values. A claim that is missing, null,
// or of a type the operator cannot compare fails every operator except DoesNotExist.
import type { PostureRequirement } from './policy-settings.ts';
import { type Finding, finding, REASON, show } from './reasons.ts';

const NUMBER_RE = /^-?\d+(\.\d+)?$/;
const VERSION_RE = /^v?\d+(\.\d+)*$/;

/** The value at a dotted path of own properties; undefined when any step is missing or null. */
export function claimAt(posture: Record<string, unknown> | undefined, key: string): unknown {
  let node: unknown = posture;
  for (const part of key.split('.')) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    if (!Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node === null ? undefined : node;
}

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && NUMBER_RE.test(v)) return Number(v);
  return undefined;
}

function asVersion(v: unknown): number[] | undefined {
  const text = typeof v === 'number' && Number.isFinite(v) && v >= 0 ? String(v) : v;
  if (typeof text !== 'string' || !VERSION_RE.test(text)) return undefined;
  return text.replace(/^v/, '').split('.').map(Number);
}

/** Compares dotted versions numerically, missing parts counting as 0 (14.2 == 14.2.0). */
export function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

function describe(req: PostureRequirement): string {
  const values = req.values ?? [];
  if (req.operator === 'Exists' || req.operator === 'DoesNotExist')
    return `requires ${req.operator}`;
  if (req.operator === 'In' || req.operator === 'NotIn') {
    return `requires ${req.operator} ${values.map((v) => show(v)).join(', ')}`;
  }
  return `requires ${req.operator} ${show(values[0])}`;
}

/** Why the claim fails the requirement, or undefined when it holds. */
function failure(req: PostureRequirement, claim: unknown): string | undefined {
  const values = req.values ?? [];
  const [first] = values;
  if (req.operator === 'DoesNotExist') return claim === undefined ? undefined : 'is present';
  if (claim === undefined) return 'is missing';
  switch (req.operator) {
    case 'Exists':
      return undefined;
    case 'Equals':
    case 'NotEquals': {
      if (first === undefined || values.length !== 1)
        return 'cannot be compared (the policy gives no single value)';
      if (!isScalar(claim)) return `is ${show(claim)}, not a single value`;
      const equal = String(claim) === first;
      return equal === (req.operator === 'Equals') ? undefined : `is ${show(claim)}`;
    }
    case 'In':
    case 'NotIn': {
      if (values.length === 0) return 'cannot be compared (the policy gives no values)';
      if (!isScalar(claim)) return `is ${show(claim)}, not a single value`;
      const member = values.includes(String(claim));
      return member === (req.operator === 'In') ? undefined : `is ${show(claim)}`;
    }
    case 'LessThanOrEqual':
    case 'GreaterThanOrEqual': {
      const limit = asNumber(first);
      if (limit === undefined || values.length !== 1)
        return 'cannot be compared (the policy value is not a number)';
      const n = asNumber(claim);
      if (n === undefined) return `is ${show(claim)}, not a number`;
      const ok = req.operator === 'LessThanOrEqual' ? n <= limit : n >= limit;
      return ok ? undefined : `is ${show(claim)}`;
    }
    case 'VersionAtLeast': {
      const least = asVersion(first);
      if (!least || values.length !== 1)
        return 'cannot be compared (the policy value is not a version)';
      const v = asVersion(claim);
      if (!v) return `is ${show(claim)}, not a dotted version`;
      return compareVersions(v, least) >= 0 ? undefined : `is ${show(claim)}`;
    }
    default:
      return `cannot be compared (unknown operator ${show(req.operator)})`;
  }
}

/** Checks one requirement; a finding when it fails. */
export function checkPosture(
  req: PostureRequirement,
  posture: Record<string, unknown> | undefined,
): Finding | undefined {
  const problem = failure(req, claimAt(posture, req.key));
  if (problem === undefined) return undefined;
  return finding(REASON.PostureRequirementFailed, `posture ${req.key} ${problem}`, describe(req));
}

/** Checks every requirement; all must hold. */
export function checkPostureRequirements(
  requirements: readonly PostureRequirement[],
  posture: Record<string, unknown> | undefined,
): Finding[] {
  const out: Finding[] = [];
  for (const req of requirements) {
    const f = checkPosture(req, posture);
    if (f) out.push(f);
  }
  return out;
}

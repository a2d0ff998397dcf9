// The kstatus-style Ready condition of each kind, decided from what its controller already
// knows (pure). Ready says whether the object does what it asks for, for the generation
// it names; Argo CD and Flux read it (docs/gitops.md), and so does `kubectl wait`.
import type { KeyProblem, KeyProblemCode } from '../trust/index.ts';
import type { ConditionInput } from './conditions.ts';

/** Reasons in the order a person should fix them: a leaked private key first. */
const KEY_PROBLEM_ORDER: KeyProblemCode[] = [
  'PrivateKeyInJwks',
  'JwksSecretForbidden',
  'JwksSecretNotFound',
  'JwksSecretKeyMissing',
  'JwksUnparsable',
  'UnusableKey',
  'NoKeys',
];

/**
 * A policy is Ready when its settings are valid and every key of every verifier is
 * usable. Any problem makes it Ready=False, even when other keys still work: the policy
 * in force is not the one written.
 */
export function policyReady(
  settingsProblem: string | undefined,
  keyProblems: KeyProblem[],
  counts: { trusted: number; governed: number },
): ConditionInput {
  if (settingsProblem) {
    return { type: 'Ready', status: 'False', reason: 'Invalid', message: settingsProblem };
  }
  if (keyProblems.length) {
    const rank = (p: KeyProblem) => KEY_PROBLEM_ORDER.indexOf(p.code);
    const sorted = [...keyProblems].sort((a, b) => rank(a) - rank(b));
    return {
      type: 'Ready',
      status: 'False',
      reason: sorted[0]?.code ?? 'NoKeys',
      message: sorted.map((p) => p.message).join('; '),
    };
  }
  return {
    type: 'Ready',
    status: 'True',
    reason: 'Reconciled',
    message: `${counts.trusted} of ${counts.governed} governed nodes trusted`,
  };
}

/** A grant is Ready while it is Active: its reason says why not (PolicyNotFound, Expired…). */
export function grantReady(active: ConditionInput): ConditionInput {
  return { ...active, type: 'Ready' };
}

/**
 * A NodeAttestation is Ready when its token verified and was evaluated under the policies
 * that govern the node. Ready does not mean trusted: a verified attestation of a
 * non-compliant node is Ready, and its results (and Trusted condition) say it is not
 * trusted. Not verified (bad signature, unknown key, no governing policy) is Ready=False.
 */
export function attestationReady(verified: ConditionInput): ConditionInput {
  return verified.status === 'True'
    ? { type: 'Ready', status: 'True', reason: 'Evaluated', message: verified.message }
    : { ...verified, type: 'Ready' };
}

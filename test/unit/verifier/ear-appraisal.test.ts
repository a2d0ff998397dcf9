// A stock EAR appraisal (as Veraison emits it) mapped onto trustgate's token claims, and
// the token it yields checked by trustgate's own decision.
import { describe, expect, test } from '@jest/globals';
import type { NodeAttestation } from '../../../operator/api/types.generated.ts';
import { earResultFor } from '../../../operator/cli/commands/publish.ts';
import { decideNodeTrust, REASON } from '../../../operator/trust/index.ts';
import {
  AppraisalError,
  isEarAppraisal,
  mapEarAppraisal,
} from '../../../operator/verifier/ear-appraisal.ts';
import { signEar } from '../../../operator/verifier/sign.ts';
import { CI_NODE, ISSUER, makeKey, NOW, policy } from '../trust/fixtures.ts';
import { VERAISON_EAR } from './fixtures.ts';

const flags = {
  issuer: ISSUER,
  status: 'affirming',
  submod: 'node',
  'verifier-build': 'trustgate-cli',
  'verifier-developer': 'https://trustgate.dev',
};

describe('mapEarAppraisal', () => {
  test('keeps status and AR4SI vector, drops unknown categories, merges claims into posture', () => {
    expect(isEarAppraisal(VERAISON_EAR)).toBe(true);
    expect(isEarAppraisal({ diskEncryption: true })).toBe(false);
    expect(mapEarAppraisal(VERAISON_EAR)).toEqual({
      submods: {
        PSA_IOT: {
          'ear.status': 'affirming',
          'ear.trustworthiness-vector': {
            'instance-identity': 2,
            configuration: 2,
            executables: 2,
            hardware: 2,
          },
        },
      },
      posture: {
        'psa-security-lifecycle': 12288,
        diskEncryption: true,
        patchAgeDays: 3,
        edr: { version: '7.4.2', healthy: true },
      },
      iat: VERAISON_EAR.iat,
      nonce: 'n-0123456789abcdef',
      verifierId: VERAISON_EAR['ear.verifier-id'],
    });
  });

  test("EAR's integer statuses; bad statuses, vectors and conflicting claims are refused", () => {
    const with_ = (submods: unknown) => ({ ...VERAISON_EAR, submods });
    expect(mapEarAppraisal(with_({ a: { 'ear.status': 32 } })).submods.a).toEqual({
      'ear.status': 'warning',
    });
    expect(() => mapEarAppraisal(with_({ a: { 'ear.status': 'great' } }))).toThrow(
      /submods.a ear.status is "great"/,
    );
    expect(() =>
      mapEarAppraisal(
        with_({ a: { 'ear.status': 2, 'ear.trustworthiness-vector': { hardware: 300 } } }),
      ),
    ).toThrow(AppraisalError);
    expect(() =>
      mapEarAppraisal(
        with_({
          a: { 'ear.status': 2, 'ear.veraison.policy-claims': { x: 1 } },
          b: { 'ear.status': 2, 'ear.veraison.policy-claims': { x: 2 } },
        }),
      ),
    ).toThrow(/posture claim x differs/);
    expect(() => mapEarAppraisal(with_({}))).toThrow(/no submods/);
  });

  test('signed by publish, the appraisal is trusted by a policy on its claims', async () => {
    const key = await makeKey('k1');
    const result = earResultFor(CI_NODE.name, VERAISON_EAR, 'n-0123456789abcdef', flags, NOW);
    expect(result.iat).toBe(VERAISON_EAR.iat); // the appraisal's age, not the signing time
    const token = await signEar(result, { key: key.privateKey, alg: 'ES256', kid: 'k1' });
    const p = policy([key.publicJwk], { requireNonce: true });
    const na: NodeAttestation = {
      apiVersion: 'trustgate.dev/v1alpha1',
      kind: 'NodeAttestation',
      metadata: { name: CI_NODE.name },
      spec: { token },
      status: { nonce: { value: 'n-0123456789abcdef' } },
    };
    const d = await decideNodeTrust({ node: CI_NODE, policy: p, attestation: na, now: NOW });
    expect(d.reasons).toEqual([]);
    expect(d.attestation?.submods).toEqual(['PSA_IOT']);
    const contraindicated = {
      ...VERAISON_EAR,
      submods: { PSA_IOT: { ...VERAISON_EAR.submods.PSA_IOT, 'ear.status': 'contraindicated' } },
    };
    const bad = await signEar(
      earResultFor(CI_NODE.name, contraindicated, 'n-0123456789abcdef', flags, NOW),
      { key: key.privateKey, alg: 'ES256', kid: 'k1' },
    );
    const denied = await decideNodeTrust({
      node: CI_NODE,
      policy: p,
      attestation: { ...na, spec: { token: bad } },
      now: NOW,
    });
    expect(denied.reasons.map((r) => r.code)).toContain(REASON.StatusBelowMinimum);
  });

  test('an appraisal made against another nonce is not re-signed with the current one', () => {
    expect(() => earResultFor('n', VERAISON_EAR, 'n-other-nonce-xyz', flags, NOW)).toThrow(
      /not the nonce trustgate expects/,
    );
  });

  test('plain posture takes status, vector and submodule from the flags', () => {
    const r = earResultFor(
      'n',
      { diskEncryption: true },
      undefined,
      { ...flags, vector: 'hardware=2' },
      NOW,
      60_000,
    );
    expect(r).toEqual({
      node: 'n',
      issuer: ISSUER,
      verifierId: { build: 'trustgate-cli', developer: 'https://trustgate.dev' },
      nonce: undefined,
      submods: {
        node: { 'ear.status': 'affirming', 'ear.trustworthiness-vector': { hardware: 2 } },
      },
      posture: { diskEncryption: true },
      iat: Math.floor(NOW / 1000),
      exp: Math.floor(NOW / 1000) + 60,
    });
  });
});

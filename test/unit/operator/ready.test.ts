import { describe, expect, it } from '@jest/globals';
import { attestationReady, grantReady, policyReady } from '../../../operator/controllers/ready.ts';
import { VerifierKeyring } from '../../../operator/trust/index.ts';
import { makeKey } from '../trust/fixtures.ts';

const counts = { trusted: 1, governed: 2 };

describe('policyReady', () => {
  it('is True with valid settings and usable keys', () => {
    expect(policyReady(undefined, [], counts)).toMatchObject({
      status: 'True',
      message: '1 of 2 governed nodes trusted',
    });
  });

  it('is False for invalid settings first, then the most urgent key problem', () => {
    const problems = [
      { code: 'JwksSecretNotFound' as const, message: 'no secret' },
      { code: 'PrivateKeyInJwks' as const, message: 'leaked' },
    ];
    expect(policyReady('bad maxAge', problems, counts)).toMatchObject({
      status: 'False',
      reason: 'Invalid',
    });
    expect(policyReady(undefined, problems, counts)).toEqual({
      type: 'Ready',
      status: 'False',
      reason: 'PrivateKeyInJwks',
      message: 'leaked; no secret',
    });
  });

  it('reports a private JWK, an unparsable key and a missing Secret with their codes', async () => {
    const key = await makeKey('k1');
    const keyring = new VerifierKeyring(
      [
        { name: 'a', issuer: 'i', jwks: { keys: [{ ...key.publicJwk, d: 'PRIVATE-MATERIAL' }] } },
        { name: 'b', issuer: 'i', jwks: { keys: [{ ...key.publicJwk, x: 'AAAA' }] } },
        { name: 'c', issuer: 'i', jwksSecretRef: { name: 's' } },
      ] as never,
      () => undefined,
    );
    const problems = [
      ...keyring.verifiers.flatMap((v) => v.problems),
      ...(await keyring.importProblems()),
    ];
    expect(problems.map((p) => p.code).sort()).toEqual([
      'JwksSecretNotFound',
      'JwksUnparsable',
      'PrivateKeyInJwks',
    ]);
    expect(JSON.stringify(problems)).not.toContain('PRIVATE-MATERIAL');
  });
});

describe('grantReady and attestationReady', () => {
  it('a grant is Ready exactly when Active, with its reason', () => {
    const active = {
      type: 'Active',
      status: 'False' as const,
      reason: 'PolicyNotFound',
      message: 'm',
    };
    expect(grantReady(active)).toEqual({ ...active, type: 'Ready' });
  });

  it('an attestation is Ready when verified, whatever its trust', () => {
    expect(
      attestationReady({
        type: 'Verified',
        status: 'True',
        reason: 'SignatureVerified',
        message: 'by v',
      }),
    ).toEqual({ type: 'Ready', status: 'True', reason: 'Evaluated', message: 'by v' });
    expect(
      attestationReady({
        type: 'Verified',
        status: 'False',
        reason: 'UnknownKey',
        message: 'kid k',
      }),
    ).toMatchObject({ type: 'Ready', status: 'False', reason: 'UnknownKey' });
  });
});

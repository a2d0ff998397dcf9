import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  decideNodeTrust,
  REASON,
  tierOfClaim,
  VerifierKeyring,
} from '../../../operator/trust/index.ts';
import { CI_NODE, earClaims, makeKey, NOW, policy, sign, type TestKey } from './fixtures.ts';

let a: TestKey;
let b: TestKey;
beforeAll(async () => {
  a = await makeKey('a1');
  b = await makeKey('b1');
});

describe('AR4SI tiers (veraison/ear ranges)', () => {
  test.each([
    [0, 'none'],
    [1, 'none'],
    [-1, 'none'],
    [2, 'affirming'],
    [31, 'affirming'],
    [-2, 'affirming'],
    [-32, 'affirming'],
    [32, 'warning'],
    [95, 'warning'],
    [-33, 'warning'],
    [-96, 'warning'],
    [96, 'contraindicated'],
    [127, 'contraindicated'],
    [-97, 'contraindicated'],
    [-128, 'contraindicated'],
  ])('%i is %s', (value, tier) => {
    expect(tierOfClaim(value)).toBe(tier);
  });
});

describe('VerifierKeyring', () => {
  test('two verifiers: the kid picks the verifier, whose issuer must match', async () => {
    const p = policy([a.publicJwk]);
    p.spec.attestation.verifiers.push({
      name: 'second',
      issuer: 'https://second.example',
      jwks: { keys: [b.publicJwk] },
      algorithms: ['ES256'],
    });
    const keyring = VerifierKeyring.forPolicy(p);
    const viaB = await decideNodeTrust({
      node: CI_NODE,
      policy: p,
      keyring,
      now: NOW,
      attestation: await sign(b, earClaims({ iss: 'https://second.example' })),
    });
    expect(viaB).toMatchObject({ trusted: true, attestation: { verifier: 'second', keyID: 'b1' } });
    const crossed = await decideNodeTrust({
      node: CI_NODE,
      policy: p,
      keyring,
      now: NOW,
      attestation: await sign(b),
    });
    expect(crossed.reasons.map((r) => r.code)).toEqual([REASON.IssuerMismatch]);
  });

  test('a single kid-less key serves tokens with or without kid', async () => {
    const { kid: _drop, ...noKid } = a.publicJwk;
    const p = policy([noKid]);
    expect(
      (await decideNodeTrust({ node: CI_NODE, policy: p, now: NOW, attestation: await sign(a) }))
        .trusted,
    ).toBe(true);
    expect(
      (
        await decideNodeTrust({
          node: CI_NODE,
          policy: p,
          now: NOW,
          attestation: await sign(a, earClaims(), { kid: undefined }),
        })
      ).trusted,
    ).toBe(true);
  });

  test('private and symmetric keys in a policy are never used', async () => {
    const p = policy([
      { ...a.publicJwk, d: 'secret' },
      { kty: 'oct', k: 'c2VjcmV0', kid: 'a1' },
    ]);
    const keyring = VerifierKeyring.forPolicy(p);
    expect(keyring.hasKeys).toBe(false);
    expect(keyring.verifiers[0]?.problems).toHaveLength(2);
    const d = await decideNodeTrust({
      node: CI_NODE,
      policy: p,
      keyring,
      now: NOW,
      attestation: await sign(a),
    });
    expect(d.reasons.map((r) => r.code)).toEqual([REASON.NoVerifierKeys]);
  });

  test('keyrings with the same inputs share a fingerprint; different keys do not', () => {
    expect(VerifierKeyring.forPolicy(policy([a.publicJwk])).fingerprint).toBe(
      VerifierKeyring.forPolicy(policy([a.publicJwk])).fingerprint,
    );
    expect(VerifierKeyring.forPolicy(policy([a.publicJwk])).fingerprint).not.toBe(
      VerifierKeyring.forPolicy(policy([b.publicJwk])).fingerprint,
    );
  });

  test('an unparseable maxAge is a policy error, not a crash', async () => {
    const d = await decideNodeTrust({
      node: CI_NODE,
      policy: policy([a.publicJwk], { maxAge: 'forever' }),
      now: NOW,
      attestation: await sign(a),
    });
    expect(d.reasons.map((r) => r.code)).toEqual([REASON.PolicyInvalid]);
  });
});
